"""`hqdm eval`: float and quantized diffusion models along the same sampling
trajectories.

    hqdm eval --model tiny-dit --sampler ddim --steps 20 --samples 4 \\
        --schemes w8a8,w4a8,w4a4,w4a3 --out eval/

For every (scheme, method) of the grid the model is compiled with hqdm-opt
(`hqdm-quantize` with the options of METHODS, see docs/Evaluation.md) into a
CPU shared library and run twice:

* teacher-forced: on the inputs x_t (with t and y, the CFG batch) that the
  float model saw along its own trajectory; the output SQNR against the
  float model's output on the same inputs, per sampler step, and its mean
  over the steps;
* free-running: its own sampling loop from the same initial noise, with the
  same per-step sampler noise and classes; the PSNR of its final sample
  against the float model's final sample, with a fixed peak (--psnr-peak,
  default 2.0: the width of the [-1, 1] data range; the samples are clipped
  to it with --clip-denoised, the default).

The float reference is the same model compiled by the same tools without
hqdm-quantize. Per-layer SQNR: the teacher-forced output SQNR of the whole
model when only that layer is quantized (hqdm-quantize's `config` keeps every
other layer in floating point), for one scheme and method
(--layer-scheme, --layer-method), on a subset of the steps (--layer-steps).
Calibrated methods use statistics gathered by hqdm.calibrate on separate
trajectories of the float model (other noise and classes: --calib-samples,
--calib-steps).

Outputs (--out): results.json (every figure), results.md (the tables),
PNG plots (activation histograms before/after the Hadamard, activation
scales per step, per-layer SQNR, per-step SQNR, final samples) and a work/
directory with the imported model, the calibration set and statistics, the
quantized IR's remarks and one log per job (hqdm-opt's warnings); the
compiled models' files too with --keep-work.

Exit status: 0 when every configuration ran, 3 when some failed (they are
marked in the tables and results.json), 1 on an error before the grid runs
(bad option, missing weights, the float model or a calibration failing),
2 on usage errors.
"""

import argparse
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np

ALL_SCHEMES = ("w8a8", "w4a8", "w4a4", "w4a3")

# key: (label, hqdm-quantize options, calibration kind or None, per-scheme)
# Calibration kinds are the --options of hqdm.calibrate (CALIBRATIONS).
METHODS = {
    "rtn": ("RTN", "hadamard=none", None, True),
    "had1": ("+ single H", "hadamard=single", None, True),
    "had2": ("+ double H", "hadamard=double", None, True),
    "static": ("static scales", "hadamard=none activation=static", "none",
               True),
    "ta": ("time-aware", "hadamard=none activation=per-step groups=0", "none",
           True),
    "hqdm": ("HQ-DM", "hadamard=single time-aware=rotated groups=0",
             "single", True),
    "taq": ("TaQ-DiT", "hadamard=none taq=true activation=static "
            "activation-symmetric=false", "taq", True),
    # Identities (scheme-independent): the reference compiled again, and
    # hqdm-quantize with every layer kept in floating point.
    "float": ("float (reference path)", None, None, False),
    "keep-fp": ("hqdm-quantize, all FP", "hadamard=none", None, False),
}
DEFAULT_METHODS = ("rtn", "had1", "had2", "static", "ta", "hqdm", "taq",
                   "keep-fp")
CALIBRATIONS = {
    "none": "hadamard=none",
    "single": "hadamard=single",
    "taq": "hadamard=none taq=true",
}
QUICK = dict(samples=1, steps=4, calib_samples=1, calib_steps=4,
             schemes="w8a8,w4a4", methods="float,rtn,hqdm",
             layer_steps=2, layer_limit=1, layer_method="rtn")


class EvalError(RuntimeError):
    """An evaluation that cannot go on, with the reason."""


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------

def sqnr_db(reference, value):
    """10 log10(sum ref^2 / sum (value - ref)^2), in float64; inf when equal."""
    ref = np.asarray(reference, np.float64)
    err = float(np.sum((np.asarray(value, np.float64) - ref) ** 2))
    sig = float(np.sum(ref ** 2))
    if err == 0:
        return math.inf
    if sig == 0:
        return -math.inf
    return 10.0 * math.log10(sig / err)


def psnr_db(reference, value, peak=2.0):
    """10 log10(peak^2 / MSE) over all elements; inf when equal. `peak`:
    a number, or "range" for max(reference) - min(reference)."""
    ref = np.asarray(reference, np.float64)
    mse = float(np.mean((np.asarray(value, np.float64) - ref) ** 2))
    if peak == "range":
        peak = float(ref.max() - ref.min())
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(float(peak) ** 2 / mse)


def _finite(x):
    """JSON-safe: inf and nan become strings."""
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.generic):
        return _finite(x.item())
    return x


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------

def _csv(text):
    return [s.strip().lower() for s in text.split(",") if s.strip()]


def parse_schemes(text):
    schemes = _csv(text)
    for s in schemes:
        m = re.fullmatch(r"w(\d+)a(\d+)", s)
        if not m or not all(2 <= int(b) <= 16 for b in m.groups()):
            raise EvalError("unknown scheme {!r}: use wNaM with N, M in "
                            "[2, 16] (e.g. {})".format(s, ",".join(ALL_SCHEMES)))
    if not schemes:
        raise EvalError("--schemes is empty")
    return schemes


def parse_methods(text):
    methods = _csv(text)
    for m in methods:
        if m not in METHODS:
            raise EvalError("unknown method {!r}: one of {}".format(
                m, ", ".join(METHODS)))
    if not methods:
        raise EvalError("--methods is empty")
    return methods


def method_options(method, scheme, *, calibration=None, config=None,
                   timestep_arg=1):
    """The hqdm-quantize option string of (method, scheme), or None for the
    float reference."""
    label, options, calib, _ = METHODS[method]
    if options is None:
        return None
    parts = ["scheme=" + scheme, options]
    if calib is not None:
        if calibration is None:
            raise EvalError("method {} needs a calibration file".format(method))
        parts += ["timestep-arg={}".format(timestep_arg),
                  "calibration={}".format(calibration)]
    if config is not None:
        parts.append("config={}".format(config))
    return " ".join(parts)


def grid(schemes, methods):
    """[(key, scheme, method)]: scheme-independent methods once."""
    out = []
    for m in methods:
        if not METHODS[m][3]:
            out.append(("{}".format(m), None, m))
    for s in schemes:
        for m in methods:
            if METHODS[m][3]:
                out.append(("{}/{}".format(s, m), s, m))
    return out


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------

def layer_names(module, args, named=True):
    """{hqdm layer name: torch module name}. With named weights hqdm-raise
    names a layer after its weight, i.e. its torch module name. With inline
    weights it numbers linears and convolutions separately in program order
    (linear_0, ..., conv2d_0, ...), which for a traced module is the order
    in which they are called; one forward pass with hooks records that
    order."""
    import torch
    order = []
    hooks = []
    for name, mod in module.named_modules():
        kind = ("linear" if isinstance(mod, torch.nn.Linear) else
                "conv2d" if isinstance(mod, torch.nn.Conv2d) else None)
        if kind:
            hooks.append(mod.register_forward_hook(
                lambda m, i, o, n=name, k=kind: order.append((k, n, m))))
    try:
        with torch.no_grad():
            module(*args)
    finally:
        for h in hooks:
            h.remove()
    counters, names, channels = {}, {}, {}
    for kind, name, mod in order:
        i = counters.get(kind, 0)
        counters[kind] = i + 1
        key = name if named else "{}_{}".format(kind, i)
        names[key] = name
        channels[key] = (
            mod.in_features if kind == "linear" else mod.in_channels)
    return names, channels


def in_scope(torch_name, scope):
    if scope == "all":
        return True
    # "blocks": the transformer blocks' qkv, proj, fc1, fc2 (TaQ-DiT's
    # scope); embedders, adaLN modulation and the final layer stay FP.
    return torch_name.startswith("blocks.") and "adaLN" not in torch_name


def _randomize_zero_params(module, seed, std=0.02):
    """A freshly initialised DiT is adaLN-Zero: its modulation and final
    linears are zero and it outputs zeros. Redraw every all-zero parameter
    (except pos_embed) from N(0, std^2) so that a random model has signal."""
    import torch
    g = torch.Generator().manual_seed(seed + 7919)
    redrawn = []
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name != "pos_embed" and p.numel() and bool(torch.all(p == 0)):
                p.copy_(torch.randn(p.shape, generator=g) * std)
                redrawn.append(name)
    return redrawn


def build_model(spec, options, batch, seed):
    """(torch module, example args, description dict)."""
    from . import zoo
    opts = list(options)
    desc = {"spec": spec, "options": opts}
    if spec == "tiny-dit":
        weights = zoo.TINY_DIT / "tiny_dit.safetensors"
        config = zoo.TINY_DIT / "config.json"
        if not weights.is_file() or not config.is_file():
            raise EvalError(
                "tiny-dit: the trained weights are missing ({} or {} does not "
                "exist); train them with python/tools/train_tiny_dit.py, or "
                "evaluate a randomised model, e.g. --model dit:DiT-T/2 "
                "--option input_size=16 --option num_classes=4 --option "
                "in_channels=3".format(weights, config))
        desc["weights"] = str(weights)
    has_checkpoint = spec == "tiny-dit" or any(
        o.startswith("checkpoint=") for o in opts)
    try:
        module, args = zoo.build(spec, opts + ["batch={}".format(batch)],
                                 seed=seed)
    except zoo.ZooError as e:
        raise EvalError("model {}: {}".format(spec, e)) from None
    for attr in ("in_channels", "num_classes"):
        if not hasattr(module, attr):
            raise EvalError("model {}: hqdm eval samples class-conditional "
                            "diffusion models with forward(x, t, y) (a DiT); "
                            "it has no {}".format(spec, attr))
    if len(args) != 3:
        raise EvalError("model {}: forward must take (x, t, y)".format(spec))
    if not has_checkpoint:
        desc["weights"] = "random"
        desc["redrawn"] = _randomize_zero_params(module, seed)
    desc["config"] = getattr(module, "config", None)
    return module, args, desc


def _image_size(module):
    return getattr(module, "input_size", None) or getattr(module, "image_size")


# --------------------------------------------------------------------------
# Sampling with a compiled model
# --------------------------------------------------------------------------

class _Compiled:
    """A compiled model as the sampler calls it (torch in, torch out)."""

    def __init__(self, compiled, num_classes, record=None, progress=None):
        self.compiled = compiled
        self.num_classes = num_classes
        self.record = record
        self.progress = progress

    def __call__(self, x, t, y):
        import torch
        args = [a.detach().cpu().numpy() for a in (x, t, y)]
        out = self.compiled(*args)
        if self.record is not None:
            self.record.append((args, out))
        if self.progress:
            self.progress()
        return torch.from_numpy(np.ascontiguousarray(out))


def sample(model_fn, setup, record=None, progress=None):
    """The final sample [n, C, H, W] of a sampling loop with `model_fn`
    (numpy (x, t, y) -> output); `record` gets (inputs, output) per step."""
    import torch
    from .diffusion import create_diffusion
    diffusion = create_diffusion(str(setup["steps"]),
                                 learn_sigma=setup["learn_sigma"])
    wrapper = _Compiled(model_fn, setup["num_classes"], record, progress=progress)
    noise = torch.from_numpy(setup["noise"])
    step_noises = [torch.from_numpy(z) for z in setup["step_noises"]]
    x = diffusion.sample(wrapper, noise.shape, torch.from_numpy(setup["y"]),
                         sampler=setup["sampler"], eta=setup["eta"],
                         cfg_scale=setup["cfg_scale"],
                         null_class=setup["num_classes"],
                         clip_denoised=setup["clip_denoised"], noise=noise,
                         step_noises=step_noises)
    return x.numpy()


# --------------------------------------------------------------------------
# Jobs (run in worker processes)
# --------------------------------------------------------------------------

def _compile(mlir, quantize, work_dir, hqdm_opt, name, weights=None):
    from .compiler import compile as hqdm_compile
    return hqdm_compile(str(mlir), quantize=quantize, work_dir=str(work_dir),
                        hqdm_opt=hqdm_opt, name=name, weights=weights)


def _calls_bar(queue, key):
    if queue is None:
        return None
    return lambda: queue.put((key, 1))


def job_float(spec):
    """Compile the float model and run its sampling loop: the reference
    inputs and outputs of every step and the final sample."""
    t0 = time.time()
    model = _compile(spec["mlir"], None, spec["work"], spec["hqdm_opt"],
                     "float", spec.get("weights"))
    t1 = time.time()
    record = []
    final = sample(model, spec["setup"], record,
                   _calls_bar(spec.get("queue"), spec["key"]))
    model.close()
    _clean(spec)
    return {"inputs": [r[0] for r in record],
            "outputs": [r[1] for r in record], "final": final,
            "compile_s": t1 - t0, "run_s": time.time() - t1}


def job_config(spec):
    """Compile one configuration; run it teacher-forced on the reference
    inputs (all or a subset of the steps), and, unless spec["free"] is
    false, its own sampling loop."""
    t0 = time.time()
    model = _compile(spec["mlir"], spec["quantize"], spec["work"],
                     spec["hqdm_opt"], "model", spec.get("weights"))
    t1 = time.time()
    bar = _calls_bar(spec.get("queue"), spec["key"])
    outputs = []
    for args in spec["inputs"]:
        outputs.append(model(*args))
        if bar:
            bar()
    result = {"outputs": outputs, "compile_s": t1 - t0}
    if spec.get("free", True):
        record = []
        result["final"] = sample(model, spec["setup"], record, bar)
        result["trajectory"] = [r[0][0] for r in record]
    model.close()
    _clean(spec)
    result["run_s"] = time.time() - t1
    return result


def job_calibrate(spec):
    from .calibrate import calibrate
    t0 = time.time()
    calibrate(spec["mlir"], spec["data"], spec["out"], options=spec["options"],
              hqdm_opt=spec["hqdm_opt"], work_dir=spec["work"],
              keep_work=True, progress=False)
    _clean(spec)
    return {"stats": spec["out"], "run_s": time.time() - t0}


def _clean(spec):
    """Removes a job's build files (each inline-weight model leaves about
    70 MB of .mlir/.ll/.o) unless --keep-work."""
    if not spec.get("keep"):
        shutil.rmtree(spec["work"], ignore_errors=True)


JOBS = {"float": job_float, "config": job_config, "calibrate": job_calibrate}


def run_job(kind, spec):
    """Runs a job; returns ("ok", result) or ("failed", message). stderr of
    the job (hqdm-opt's warnings, remarks) goes to spec["log"]."""
    import torch
    torch.set_num_threads(1)
    log_path = spec.get("log")
    old = sys.stderr
    log = open(log_path, "w") if log_path else None
    if log:
        sys.stderr = log
    try:
        return "ok", JOBS[kind](spec)
    except Exception as e:  # reported by the caller, naming the job
        text = str(e).strip() or type(e).__name__
        if not _expected(e):
            text += "\n" + traceback.format_exc()
        return "failed", text
    finally:
        if log:
            sys.stderr = old
            log.close()


def _expected(e):
    from . import aot
    from .calibrate import CalibrationError
    from .compiler import CompileError
    return isinstance(e, (aot.AotError, CalibrationError, CompileError,
                          EvalError))


class Runner:
    """Runs jobs inline (jobs=1) or in a process pool, with one tqdm bar over
    the model calls of each phase."""

    def __init__(self, jobs, quiet, keep=False):
        self.jobs = jobs
        self.quiet = quiet
        self.keep = keep
        self.pool = None
        self.manager = None
        if jobs > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            ctx = mp.get_context("spawn")
            self.manager = ctx.Manager()
            self.queue = self.manager.Queue()
            self.pool = ProcessPoolExecutor(jobs, mp_context=ctx)

    def close(self):
        if self.pool is not None:
            self.pool.shutdown()
            self.manager.shutdown()

    def _bar(self, total, desc):
        from tqdm import tqdm
        return tqdm(total=total, desc=desc, unit="call", file=sys.stderr,
                    disable=self.quiet, dynamic_ncols=True)

    def run(self, jobs, desc):
        """jobs: [(key, kind, spec, calls)] -> {key: (status, result)}."""
        results = {}
        total = sum(j[3] for j in jobs)
        bar = self._bar(total, desc)
        try:
            if self.pool is None:
                for key, kind, spec, calls in jobs:
                    spec = dict(spec, key=key, keep=self.keep)
                    bar.set_postfix_str(key)
                    if kind == "calibrate":
                        results[key] = run_job(kind, spec)
                        bar.update(calls)
                    else:
                        q = _InlineQueue(bar)
                        results[key] = run_job(kind, dict(spec, queue=q))
                        bar.update(max(0, calls - q.count))
                return results
            futures = {}
            for key, kind, spec, calls in jobs:
                spec = dict(spec, key=key, keep=self.keep,
                            queue=None if kind == "calibrate" else self.queue)
                futures[self.pool.submit(run_job, kind, spec)] = (key, calls)
            counted = {}
            pending = set(futures)
            from concurrent.futures import FIRST_COMPLETED, wait
            while pending:
                done, pending = wait(pending, timeout=0.5,
                                     return_when=FIRST_COMPLETED)
                self._drain(bar, counted)
                for f in done:
                    key, calls = futures[f]
                    try:
                        results[key] = f.result()
                    except Exception as e:  # a worker that died
                        results[key] = ("failed", "worker failed: {}".format(e))
                    self._drain(bar, counted)
                    bar.update(max(0, calls - counted.get(key, 0)))
                    counted[key] = calls
                    bar.set_postfix_str(key)
            return results
        finally:
            bar.close()

    def _drain(self, bar, counted):
        import queue as queue_mod
        while True:
            try:
                key, n = self.queue.get_nowait()
            except queue_mod.Empty:
                return
            counted[key] = counted.get(key, 0) + n
            bar.update(n)


class _InlineQueue:
    def __init__(self, bar):
        self.bar = bar
        self.count = 0

    def put(self, item):
        self.count += item[1]
        self.bar.update(item[1])


# --------------------------------------------------------------------------
# What the compiler recorded: scale tables
# --------------------------------------------------------------------------

_LOC = re.compile(r'loc\("([^"]*)":(\d+):(\d+)\)\s*$')


def scale_tables(mlir, quantize, hqdm_opt, log=None):
    """{layer: {"steps": [...], "scales": [per calibrated step]}} for every
    layer whose activation scale is a calibrated constant or step table in
    the quantized IR of `mlir` under `quantize`. The layer of a
    hqdm.quantize op is found through its location, which the
    hqdm-quantize remarks name."""
    from . import aot
    cmd = [aot.find_hqdm_opt(hqdm_opt), str(mlir),
           "--hqdm-quantize=" + quantize, "--remarks-filter=hqdm-quantize",
           "--mlir-elide-elementsattrs-if-larger=4096",
           "--mlir-print-debuginfo", "--mlir-print-local-scope"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise EvalError("hqdm-opt failed on {!r}:\n{}".format(
            quantize, proc.stderr.strip()[-2000:]))
    if log:
        Path(log).write_text(proc.stderr)
    layer_at = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"(.*):(\d+):(\d+): remark: \[Passed\] Quantized .*"
                     r"layer '([^']+)'", line)
        if m:
            layer_at[(m.group(2), m.group(3))] = m.group(4)
    defs = {}
    steps = None
    uses = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        m = re.match(r"(%[\w.#]+) = (.*)$", line)
        if not m:
            continue
        name, rest = m.groups()
        defs[name] = rest
        if rest.startswith("hqdm.step_index") and steps is None:
            s = re.search(r"steps \[([^\]]*)\]", rest)
            steps = [float(v) for v in s.group(1).split(",")]
        if rest.startswith("hqdm.quantize "):
            ops = re.match(r"hqdm\.quantize (%[\w.#]+), (%[\w.#]+)", rest)
            loc = _LOC.search(rest)
            if ops and loc:
                uses.append((ops.group(2), (loc.group(2), loc.group(3))))

    def constant(name):
        d = defs.get(name, "")
        c = re.match(r"arith\.constant dense<\[?([^\]>]*)\]?>", d)
        if not c:
            return None
        return [float(v) for v in c.group(1).split(",")]

    tables = {}
    for scale, loc in uses:
        layer = layer_at.get(loc)
        if layer is None:
            continue
        d = defs.get(scale, "")
        if d.startswith("hqdm.step_select"):
            m = re.match(r"hqdm\.step_select (%[\w.#]+)\[", d)
            values = constant(m.group(1)) if m else None
            g = re.search(r"group_starts \[([^\]]*)\]", d)
            if values is None or steps is None:
                continue
            if g:
                starts = [int(v) for v in g.group(1).split(",")]
                per_step = []
                for i in range(len(steps)):
                    k = max(j for j, s in enumerate(starts) if s <= i)
                    per_step.append(values[k])
                values = per_step
            tables[layer] = {"steps": steps, "scales": values,
                             "kind": "per-step"}
        elif d.startswith("arith.constant"):
            values = constant(scale)
            if values and len(values) == 1:
                tables[layer] = {"steps": None, "scales": values,
                                 "kind": "static"}
    return tables


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------

def _fmt(v, digits=1):
    if isinstance(v, str):
        return v
    if v is None:
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return "{:.{}f}".format(v, digits)


def markdown(report):
    s = report["settings"]
    methods = s["methods"]
    lines = []
    lines.append("# hqdm eval: {}".format(report["model"]["spec"]))
    lines.append("")
    lines.append("Sampler {} {} steps, CFG {}, {} samples (model batch {}), "
                 "seed {}; scope {}; calibration {} samples x {} steps "
                 "(seed {}).".format(
                     s["sampler"], s["steps"], s["cfg_scale"], s["samples"],
                     s["batch"], s["seed"], s["scope"], s["calib_samples"],
                     s["calib_steps"], s["calib_seed"]))
    lines.append("")
    per_scheme = [m for m in methods if METHODS[m][3]]
    configs = report["configs"]

    def cell(key, field):
        c = configs.get(key)
        if c is None:
            return "-"
        if c["status"] != "ok":
            return "failed"
        return _fmt(c[field])

    for title, field in (("Mean per-step output SQNR (dB, teacher-forced)",
                          "mean_step_sqnr_db"),
                         ("Final-sample PSNR (dB, peak {})".format(
                             s["psnr_peak"]), "psnr_db")):
        lines.append("## " + title)
        lines.append("")
        lines.append("| scheme | " + " | ".join(METHODS[m][0]
                                                for m in per_scheme) + " |")
        lines.append("|---" * (len(per_scheme) + 1) + "|")
        for scheme in s["schemes"]:
            lines.append("| {} | ".format(scheme.upper()) + " | ".join(
                cell("{}/{}".format(scheme, m), field)
                for m in per_scheme) + " |")
        for m in methods:
            if not METHODS[m][3]:
                lines.append("")
                lines.append("{}: {}".format(METHODS[m][0], cell(m, field)))
        lines.append("")
    failed = [(k, c) for k, c in configs.items() if c["status"] != "ok"]
    if failed:
        lines.append("## Failed configurations")
        lines.append("")
        for k, c in failed:
            first = c["error"].strip().splitlines()
            lines.append("- {}: {}".format(k, first[-1] if first else "?"))
        lines.append("")
    pl = report.get("per_layer")
    if pl and pl.get("layers"):
        lines.append("## Per-layer SQNR ({}, {}; only that layer quantized; "
                     "steps {})".format(pl["scheme"].upper(),
                                        METHODS[pl["method"]][0],
                                        pl["step_indices"]))
        lines.append("")
        lines.append("| layer | module | SQNR (dB) |")
        lines.append("|---|---|---|")
        for name, v in pl["layers"].items():
            lines.append("| {} | {} | {} |".format(
                name, v["module"], v["status"] if v["status"] != "ok"
                else _fmt(v["sqnr_db"])))
        lines.append("")
    lines.append("## Per-step output SQNR (dB)")
    lines.append("")
    steps = report["float"]["timesteps"]
    keys = [k for k, c in configs.items() if c["status"] == "ok"]
    lines.append("| config | " + " | ".join(str(t) for t in steps) + " |")
    lines.append("|---" * (len(steps) + 1) + "|")
    for k in keys:
        lines.append("| {} | ".format(k) + " | ".join(
            _fmt(v) for v in configs[k]["step_sqnr_db"]) + " |")
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _merged_histogram(stats, layer, max_bins=None):
    """(edges, counts) of a layer's calibration histogram summed over the
    steps; merged down to at most max_bins bins."""
    entry = stats["layers"].get(layer)
    if entry is None or "histogram" not in entry:
        return None
    h = entry["histogram"]
    counts = np.sum(np.asarray(h["counts"], np.float64), axis=0)
    edges = np.linspace(h["low"], h["high"], h["bins"] + 1)
    if max_bins and len(counts) > max_bins:
        k = -(-len(counts) // max_bins)
        pad = (-len(counts)) % k
        counts = np.concatenate([counts, np.zeros(pad)]).reshape(-1, k).sum(1)
        width = (h["high"] - h["low"]) / h["bins"]
        edges = h["low"] + width * k * np.arange(len(counts) + 1)
    return edges, counts


def _spread(edges, counts):
    """max |x| over the RMS, from a histogram."""
    centers = 0.5 * (edges[1:] + edges[:-1])
    n = counts.sum()
    rms = math.sqrt(float((counts * centers ** 2).sum() / max(n, 1)))
    nz = np.nonzero(counts)[0]
    absmax = max(abs(edges[nz[0]]), abs(edges[nz[-1] + 1])) if len(nz) else 0
    return absmax / rms if rms else float("nan"), absmax, rms


def plot_histograms(stats_none, stats_single, layers, names, path):
    plt = _plt()
    fig, axes = plt.subplots(1, len(layers), figsize=(5.5 * len(layers), 3.8),
                             squeeze=False)
    info = {}
    for ax, layer in zip(axes[0], layers):
        info[layer] = {}
        for stats, label, color in ((stats_none, "before (no rotation)",
                                     "tab:red"),
                                    (stats_single, "after block-32 Hadamard",
                                     "tab:blue")):
            h = _merged_histogram(stats, layer) if stats else None
            if h is None:
                continue
            ratio, absmax, rms = _spread(*h)
            edges, counts = _merged_histogram(stats, layer, 160)
            info[layer][label] = {"absmax": absmax, "rms": rms,
                                  "absmax_over_rms": ratio}
            ax.stairs(counts, edges, color=color, alpha=0.8,
                      label="{} (max/RMS {:.1f})".format(label, ratio))
        ax.set_yscale("log")
        ax.set_title("{} input ({})".format(names.get(layer, layer), layer),
                     fontsize=9)
        ax.set_xlabel("activation value")
        ax.set_ylabel("count (all steps)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return info


def plot_scales(tables, layer, names, scheme, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for method, t in tables.items():
        if layer not in t:
            continue
        e = t[layer]
        label = "{} ({})".format(METHODS[method][0], e["kind"])
        if e["steps"] is None:
            ax.axhline(e["scales"][0], ls="--", lw=1.2, label=label,
                       color="C{}".format(list(METHODS).index(method)))
        else:
            ax.plot(e["steps"], e["scales"], marker="o", ms=3, label=label,
                    color="C{}".format(list(METHODS).index(method)))
    ax.invert_xaxis()
    ax.set_xlabel("timestep t (sampler order, left to right)")
    ax.set_ylabel("activation scale")
    ax.set_title("{} activation scales: {} ({})".format(
        scheme.upper(), names.get(layer, layer), layer), fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_layer_sqnr(per_layer, path):
    plt = _plt()
    items = [(k, v) for k, v in per_layer["layers"].items()
             if v["status"] == "ok"]
    fig, ax = plt.subplots(figsize=(max(6, 0.38 * len(items) + 2), 4))
    vals = [min(v["sqnr_db"], 200) for _, v in items]
    ax.bar(range(len(items)), vals, color="tab:blue")
    ax.set_xticks(range(len(items)))
    ax.set_xticklabels([v["module"] for _, v in items], rotation=70,
                       fontsize=7, ha="right")
    ax.set_ylabel("model output SQNR (dB)")
    ax.set_title("Only this layer quantized: {} {}".format(
        per_layer["scheme"].upper(), METHODS[per_layer["method"]][0]),
        fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_step_sqnr(report, path):
    plt = _plt()
    s = report["settings"]
    schemes = [sc for sc in s["schemes"] if any(
        report["configs"].get("{}/{}".format(sc, m), {}).get("status") == "ok"
        for m in s["methods"])]
    steps = report["float"]["timesteps"]
    fig, axes = plt.subplots(1, len(schemes), figsize=(4.2 * len(schemes), 3.6),
                             squeeze=False, sharey=True)
    for ax, scheme in zip(axes[0], schemes):
        for m in s["methods"]:
            if not METHODS[m][3]:
                continue
            c = report["configs"].get("{}/{}".format(scheme, m))
            if not c or c["status"] != "ok":
                continue
            ax.plot(steps, [min(v, 200) for v in c["step_sqnr_db"]],
                    marker=".", label=METHODS[m][0])
        ax.invert_xaxis()
        ax.set_title(scheme.upper())
        ax.set_xlabel("timestep t")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("output SQNR (dB)")
    if axes[0][-1].lines:
        axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_samples(finals, path, count=4):
    """Rows: configurations; columns: the first `count` samples."""
    plt = _plt()
    rows = list(finals.items())
    first = rows[0][1]
    if first.shape[1] not in (1, 3):
        return False
    count = min(count, first.shape[0])
    fig, axes = plt.subplots(len(rows), count,
                             figsize=(1.3 * count + 1.6, 1.3 * len(rows)),
                             squeeze=False)
    for r, (label, x) in enumerate(rows):
        for c in range(count):
            img = np.clip((x[c].transpose(1, 2, 0) + 1) / 2, 0, 1)
            ax = axes[r][c]
            ax.imshow(img[..., 0] if img.shape[2] == 1 else img,
                      cmap="gray" if img.shape[2] == 1 else None,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=7, rotation=0, ha="right",
                              va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------

def _default_hqdm_opt():
    env = os.environ.get("HQDM_OPT")
    if env:
        return env
    repo = Path(__file__).resolve().parents[2] / "build" / "bin" / "hqdm-opt"
    if repo.is_file():
        return str(repo)
    found = shutil.which("hqdm-opt")
    if found:
        return found
    raise EvalError("cannot find hqdm-opt: pass --hqdm-opt or set HQDM_OPT")


def _pick_layer(names, wanted, pattern):
    """A numbered layer from a torch name, a numbered name, or the middle
    block's layer matching `pattern`."""
    inverse = {v: k for k, v in names.items()}
    if wanted:
        if wanted in names:
            return wanted
        if wanted in inverse:
            return inverse[wanted]
        raise EvalError("--layer {!r}: no such layer; one of {}".format(
            wanted, ", ".join("{} ({})".format(v, k)
                              for k, v in names.items())))
    candidates = [k for k, v in names.items() if v.endswith(pattern)]
    if not candidates:
        return None
    return candidates[len(candidates) // 2 - (1 if len(candidates) > 1 and
                                              len(candidates) % 2 == 0 else 0)]


def build_parser(prog):
    p = argparse.ArgumentParser(
        prog=prog, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Float vs quantized models along the same sampling "
        "trajectories: per-step output SQNR, final-sample PSNR, per-layer "
        "SQNR, tables and plots.",
        epilog="methods: " + "; ".join(
            "{} = {} ({})".format(k, v[0], v[1] or "no hqdm-quantize")
            for k, v in METHODS.items()) + ". docs/Evaluation.md has the "
        "details.")
    p.add_argument("--model", default="tiny-dit",
                   help="hqdm.zoo spec (default tiny-dit: examples/tiny_dit)")
    p.add_argument("--option", action="append", default=[], metavar="K=V",
                   help="zoo option (constructor argument or checkpoint=FILE)")
    p.add_argument("--sampler", choices=("ddim", "ddpm"), default="ddim")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta")
    p.add_argument("--cfg-scale", default="1.5",
                   help="classifier-free guidance scale, or 'none'")
    p.add_argument("--samples", type=int, default=8,
                   help="samples per trajectory set (the model batch is "
                   "twice this with CFG)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--schemes", default=",".join(ALL_SCHEMES))
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                   help="comma-separated, of: " + ", ".join(METHODS))
    p.add_argument("--scope", choices=("blocks", "all"), default="blocks",
                   help="layers quantized: the blocks' qkv/proj/fc1/fc2 "
                   "(default) or every linear and conv")
    p.add_argument("--calib-samples", type=int, default=None,
                   help="calibration samples (a multiple of --samples; "
                   "default --samples)")
    p.add_argument("--calib-steps", type=int, default=None,
                   help="sampler steps recorded for calibration (default "
                   "--steps)")
    p.add_argument("--layer", default=None,
                   help="layers for the plots: comma-separated torch or hqdm "
                   "names (default the middle block's mlp.fc2 and attn.qkv)")
    p.add_argument("--layer-scheme", default="w4a4",
                   help="scheme of the per-layer SQNR and the scale plot")
    p.add_argument("--layer-method", default="hqdm",
                   help="method of the per-layer SQNR")
    p.add_argument("--layer-steps", type=int, default=5,
                   help="sampler steps (evenly spread) used for per-layer "
                   "SQNR; 0 skips it")
    p.add_argument("--layer-limit", type=int, default=0,
                   help="at most this many layers for per-layer SQNR (0: all)")
    p.add_argument("--psnr-peak", default="2.0",
                   help="PSNR peak: a number (default 2.0, the [-1, 1] data "
                   "range) or 'range' (the float sample's max - min)")
    p.add_argument("--no-clip", action="store_true",
                   help="do not clip predicted x0 to [-1, 1]")
    p.add_argument("--out", default="eval-out")
    p.add_argument("--inline-weights", action="store_true",
                   help="keep the weights inline in the IR instead of in a "
                   "safetensors file the IR names (layers are then named "
                   "linear_N instead of after their torch modules)")
    p.add_argument("--keep-work", action="store_true",
                   help="keep every compiled model's files under OUT/work")
    p.add_argument("--hqdm-opt", default=None)
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: the CPU count, at most 2)")
    p.add_argument("--quick", action="store_true",
                   help="a small subset for tests: 1 sample, 4 steps, "
                   "W8A8 and W4A4, float/rtn/hqdm, 1 layer (RTN)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def _settings(a, p):
    if a.quick:
        for k, v in QUICK.items():
            dest = k
            if getattr(a, dest) == p.get_default(dest):
                setattr(a, dest, v)
        if a.calib_samples is None:
            a.calib_samples = QUICK["calib_samples"]
        if a.calib_steps is None:
            a.calib_steps = QUICK["calib_steps"]
    if a.steps < 1:
        raise EvalError("--steps must be at least 1")
    if a.samples < 1:
        raise EvalError("--samples must be at least 1")
    a.calib_samples = a.calib_samples or a.samples
    a.calib_steps = a.calib_steps or a.steps
    if a.calib_samples % a.samples:
        raise EvalError("--calib-samples {} must be a multiple of --samples {} "
                        "(calibration calls have the compiled batch)".format(
                            a.calib_samples, a.samples))
    if not 1 <= a.calib_steps <= a.steps:
        raise EvalError("--calib-steps must be in [1, --steps]")
    if a.cfg_scale.lower() == "none":
        a.cfg = None
    else:
        try:
            a.cfg = float(a.cfg_scale)
        except ValueError:
            raise EvalError("--cfg-scale {!r}: a number or 'none'".format(
                a.cfg_scale)) from None
    if a.psnr_peak != "range":
        try:
            a.peak = float(a.psnr_peak)
        except ValueError:
            raise EvalError("--psnr-peak {!r}: a number or 'range'".format(
                a.psnr_peak)) from None
        if a.peak <= 0:
            raise EvalError("--psnr-peak must be positive")
    else:
        a.peak = "range"
    a.scheme_list = parse_schemes(a.schemes)
    a.method_list = parse_methods(a.methods)
    a.layer_scheme = parse_schemes(a.layer_scheme)[0]
    if a.layer_method not in METHODS or not METHODS[a.layer_method][3]:
        raise EvalError("--layer-method {!r}: one of {}".format(
            a.layer_method, ", ".join(k for k, v in METHODS.items() if v[3])))
    if a.jobs is None:
        a.jobs = max(1, min(2, os.cpu_count() or 1))
    if a.jobs < 1:
        raise EvalError("--jobs must be at least 1")
    return a


def main(argv=None, prog="hqdm eval"):
    p = build_parser(prog)
    a = p.parse_args(argv)
    try:
        a = _settings(a, p)
        return evaluate(a, argv)
    except EvalError as e:
        sys.stderr.write("{}: error: {}\n".format(prog, e))
        return 1


def evaluate(a, argv):
    import torch
    from .importer import ImportError_, import_module
    from .trajectories import record_trajectories, write_trajectories

    t_start = time.time()
    out = Path(a.out).resolve()
    work = out / "work"
    if re.search(r"[\s'\"{}]", str(work)):
        raise EvalError("--out {}: the path has spaces, quotes or braces, "
                        "which hqdm-quantize's option string cannot carry"
                        .format(out))
    work.mkdir(parents=True, exist_ok=True)
    # A private copy of hqdm-opt: the build may be replaced while we run.
    src_opt = Path(a.hqdm_opt or _default_hqdm_opt())
    if not src_opt.is_file():
        raise EvalError("hqdm-opt {} does not exist".format(src_opt))
    hqdm_opt = work / "hqdm-opt"
    shutil.copy2(src_opt, hqdm_opt)
    hqdm_opt = str(hqdm_opt)

    def say(msg):
        if not a.quiet:
            sys.stderr.write("hqdm eval: {}\n".format(msg))

    cfg = a.cfg
    batch = a.samples * (2 if cfg is not None else 1)
    module, args, desc = build_model(a.model, a.option, batch, a.seed)
    if desc.get("weights") == "random":
        say("random weights (no checkpoint); all-zero adaLN-Zero parameters "
            "redrawn from N(0, 0.02^2)")
    names, in_channels = layer_names(module, args,
                                     named=not a.inline_weights)
    num_classes = int(module.num_classes)
    learn_sigma = bool(getattr(module, "learn_sigma", False))
    size = _image_size(module)
    image_shape = (int(module.in_channels), int(size), int(size))

    # The module, imported once (weights inline).
    # Weights named (a safetensors file the IR references; layers are named
    # after their torch modules), or inline in the IR (--inline-weights).
    help_text = subprocess.run([hqdm_opt, "--help"], capture_output=True,
                               text=True).stdout
    weights = None
    if not a.inline_weights:
        if "--hqdm-load-weights" not in help_text:
            raise EvalError("{} has no --hqdm-load-weights: use "
                            "--inline-weights".format(src_opt))
        weights = work / "weights.safetensors"
    say("importing {} (batch {}, {} weights)".format(
        a.model, batch, "named" if weights else "inline"))
    try:
        imported = import_module(module, args, weights=weights)
    except ImportError_ as e:
        raise EvalError("importing {}: {}".format(a.model, e)) from None
    mlir = imported.save(work / "model.mlir")

    # Scope: a config file keeping out-of-scope layers in FP.
    scope_config = None
    scoped = [n for n, t in names.items() if in_scope(t, a.scope)]
    if not scoped:
        raise EvalError("scope {}: the model has no layer in it".format(a.scope))
    if a.scope != "all":
        scope_config = work / "scope.json"
        scope_config.write_text(json.dumps({
            "comment": "hqdm eval scope {}".format(a.scope),
            "layers": [{"match": "*", "keep": "fp"}] + [
                {"match": n, "keep": "quantized"} for n in scoped]}, indent=1))
    allfp_config = work / "all-fp.json"
    allfp_config.write_text(json.dumps(
        {"layers": [{"match": "*", "keep": "fp"}]}))

    # Noise, classes, and the sampler setup shared by every run.
    gen = torch.Generator().manual_seed(a.seed)
    shape = (a.samples,) + image_shape
    noise = torch.randn(shape, generator=gen).numpy()
    step_noises = [torch.randn(shape, generator=gen).numpy()
                   for _ in range(a.steps)]
    y = (np.arange(a.samples) % num_classes).astype(np.int64)
    setup = dict(steps=a.steps, sampler=a.sampler, eta=a.eta, cfg_scale=cfg,
                 num_classes=num_classes, learn_sigma=learn_sigma,
                 clip_denoised=not a.no_clip, noise=noise,
                 step_noises=step_noises, y=y)

    # Calibration data: the float (torch) model's own trajectories, with
    # other noise and classes.
    methods = a.method_list
    needed = sorted({METHODS[m][2] for m in methods if METHODS[m][2]} |
                    ({METHODS[a.layer_method][2]} - {None}
                     if a.layer_steps > 0 else set()))
    calib_seed = a.seed + 1000
    calib_data = work / "calibration.npz"
    if needed:
        say("recording calibration trajectories ({} samples, {} of {} steps)"
            .format(a.calib_samples, a.calib_steps, a.steps))
        arrays = record_trajectories(
            module, num_samples=a.calib_samples, num_steps=a.steps,
            num_recorded=a.calib_steps, cfg_scale=cfg, sampler=a.sampler,
            eta=a.eta, batch_size=a.samples, call_batch=batch, seed=calib_seed,
            learn_sigma=learn_sigma, num_classes=num_classes,
            clip_denoised=not a.no_clip, image_shape=image_shape)
        write_trajectories(calib_data, arrays)
        calib_calls = int(arrays["arg0"].shape[0])

    runner = Runner(a.jobs, a.quiet, a.keep_work)
    try:
        a.weights_file = str(weights) if weights else None
        return _run(a, argv, runner, say, t_start, out, work, hqdm_opt, mlir,
                    names, in_channels, scoped, scope_config, allfp_config,
                    setup, needed, calib_data,
                    calib_calls if needed else 0, desc, batch, module, args)
    finally:
        runner.close()


def _run(a, argv, runner, say, t_start, out, work, hqdm_opt, mlir, names,
         in_channels, scoped, scope_config, allfp_config, setup, needed,
         calib_data, calib_calls, desc, batch, module, args):
    import torch
    N = a.steps
    # Phase 1: calibrations and the float reference, side by side.
    jobs = [("float", "float", dict(mlir=str(mlir), work=str(work / "float"),
                                    hqdm_opt=hqdm_opt, setup=setup,
                                    weights=a.weights_file,
                                    log=str(work / "float.log")), N)]
    stats_files = {}
    for kind in needed:
        options = "{} timestep-arg=1".format(CALIBRATIONS[kind])
        if scope_config is not None:
            options += " config={}".format(scope_config)
        stats_files[kind] = work / "calib-{}.json".format(kind)
        jobs.append(("calibrate:" + kind, "calibrate", dict(
            mlir=str(mlir), data=str(calib_data), out=str(stats_files[kind]),
            options=options, hqdm_opt=hqdm_opt,
            work=str(work / "calib-{}".format(kind)),
            log=str(work / "calib-{}.log".format(kind))), 2 * calib_calls))
    say("phase 1: float reference and {} calibration(s), {} job(s) at a time"
        .format(len(needed), a.jobs))
    res = runner.run(jobs, "float + calibration")
    status, ref = res["float"]
    if status != "ok":
        raise EvalError("the float model failed (no hqdm-quantize):\n" + ref)
    calib_error = {}
    for kind in needed:
        st, r = res["calibrate:" + kind]
        if st != "ok":
            calib_error[kind] = r
            sys.stderr.write("hqdm eval: error: calibration {} ({}) failed:\n"
                             "{}\n".format(kind, CALIBRATIONS[kind], r))
    inputs = ref["inputs"]
    ref_out = [o.astype(np.float64) for o in ref["outputs"]]
    timesteps = [int(i[1][0]) for i in inputs]
    ref_final = ref["final"]

    # The compiled float against torch, on the reference inputs.
    with torch.no_grad():
        torch_out = [module(*[torch.from_numpy(v) for v in i]).numpy()
                     for i in inputs]
    torch_sqnr = sqnr_db(np.stack(ref_out), np.stack(torch_out))

    # Mapping check: the calibrated channel counts against the modules'.
    mapping_ok = True
    for kind, path in stats_files.items():
        if kind in calib_error:
            continue
        stats = json.loads(Path(path).read_text())
        for layer, e in stats["layers"].items():
            if layer in in_channels and e["channels"] != in_channels[layer]:
                mapping_ok = False
    if not mapping_ok:
        sys.stderr.write("hqdm eval: warning: the layer-name mapping does not "
                         "match the calibrated channel counts; module names "
                         "in the report may be wrong\n")

    # Phase 2: the grid and the per-layer runs.
    config_jobs = []
    configs = {}
    for key, scheme, method in grid(a.scheme_list, a.method_list):
        calib = METHODS[method][2]
        entry = {"scheme": scheme, "method": method,
                 "label": METHODS[method][0], "calibration": calib}
        configs[key] = entry
        if calib in calib_error:
            entry.update(status="failed", options=None,
                         error="calibration {} failed: {}".format(
                             calib, calib_error[calib]))
            continue
        config = allfp_config if method == "keep-fp" else scope_config
        options = method_options(method, scheme or "w8a8",
                                 calibration=stats_files.get(calib),
                                 config=config)
        entry["options"] = options
        safe = key.replace("/", "-")
        config_jobs.append((key, "config", dict(
            mlir=str(mlir), quantize=options, work=str(work / safe),
            hqdm_opt=hqdm_opt, inputs=inputs, setup=setup,
            weights=a.weights_file,
            log=str(work / (safe + ".log"))), 2 * N))

    per_layer = None
    layer_keys = []
    lm = a.layer_method
    if a.layer_steps > 0 and METHODS[lm][2] not in calib_error:
        k = min(a.layer_steps, N)
        idx = sorted({int(round(i * (N - 1) / max(k - 1, 1)))
                      for i in range(k)})
        layers = scoped[:a.layer_limit] if a.layer_limit else scoped
        per_layer = {"scheme": a.layer_scheme, "method": lm,
                     "step_indices": idx,
                     "timesteps": [timesteps[i] for i in idx],
                     "definition": "teacher-forced model output SQNR when "
                     "only this layer is quantized (config keeps the others "
                     "FP), over the listed steps", "layers": {}}
        for layer in layers:
            cfg_path = work / "layer-{}.json".format(layer)
            cfg_path.write_text(json.dumps({"layers": [
                {"match": "*", "keep": "fp"},
                {"match": layer, "keep": "quantized"}]}))
            options = method_options(
                lm, a.layer_scheme,
                calibration=stats_files.get(METHODS[lm][2]), config=cfg_path)
            key = "layer:" + layer
            layer_keys.append((key, layer, options))
            config_jobs.append((key, "config", dict(
                mlir=str(mlir), quantize=options,
                work=str(work / ("layer-" + layer)), hqdm_opt=hqdm_opt,
                inputs=[inputs[i] for i in idx], setup=setup, free=False,
                weights=a.weights_file,
                log=str(work / ("layer-{}.log".format(layer)))), len(idx)))

    say("phase 2: {} configuration(s) and {} per-layer run(s)".format(
        len([j for j in config_jobs if not j[0].startswith("layer:")]),
        len(layer_keys)))
    res = runner.run(config_jobs, "grid")

    failures = 0
    finals = {"float": ref_final}
    for key, entry in configs.items():
        if "status" in entry:
            failures += 1
            continue
        st, r = res[key]
        if st != "ok":
            failures += 1
            entry.update(status="failed", error=r)
            sys.stderr.write("hqdm eval: error: configuration {} ({}: "
                             "hqdm-quantize=\"{}\") failed:\n{}\n".format(
                                 key, entry["label"], entry["options"], r))
            continue
        step = [sqnr_db(ref_out[i], r["outputs"][i]) for i in range(N)]
        traj = [sqnr_db(inputs[i][0], r["trajectory"][i]) for i in range(N)]
        per_sample = [psnr_db(ref_final[j], r["final"][j], a.peak)
                      for j in range(ref_final.shape[0])]
        entry.update(status="ok", step_sqnr_db=step,
                     mean_step_sqnr_db=float(np.mean(step)),
                     all_steps_sqnr_db=sqnr_db(np.stack(ref_out),
                                               np.stack(r["outputs"])),
                     psnr_db=psnr_db(ref_final, r["final"], a.peak),
                     psnr_per_sample_db=per_sample,
                     final_sample_sqnr_db=sqnr_db(ref_final, r["final"]),
                     trajectory_input_sqnr_db=traj,
                     compile_s=r["compile_s"], run_s=r["run_s"])
        finals[key] = r["final"]
    if per_layer is not None:
        idx = per_layer["step_indices"]
        for key, layer, options in layer_keys:
            st, r = res[key]
            v = {"module": names.get(layer, layer), "options": options}
            if st != "ok":
                failures += 1
                v.update(status="failed", error=r)
                sys.stderr.write("hqdm eval: error: per-layer run {} failed "
                                 "(hqdm-quantize=\"{}\"):\n{}\n".format(
                                     layer, options, r))
            else:
                v.update(status="ok", sqnr_db=sqnr_db(
                    np.stack([ref_out[i] for i in idx]),
                    np.stack(r["outputs"])))
            per_layer["layers"][layer] = v

    # What the compiler recorded, and the plots.
    say("scale tables and plots")
    plot_layers = []
    if a.layer:
        plot_layers = [_pick_layer(names, w, None) for w in _csv_keep(a.layer)]
    else:
        for pattern in ("mlp.fc2", "attn.qkv"):
            pick = _pick_layer({k: v for k, v in names.items() if k in scoped}
                               or names, None, pattern)
            if pick:
                plot_layers.append(pick)
        if not plot_layers:
            plot_layers = scoped[:1]
    images = {}
    stats_none = _load(stats_files.get("none"), calib_error, "none")
    stats_single = _load(stats_files.get("single"), calib_error, "single")
    histogram_info = None
    if stats_none or stats_single:
        images["histograms"] = out / "activation_histograms.png"
        histogram_info = plot_histograms(stats_none, stats_single,
                                         plot_layers, names,
                                         images["histograms"])
    tables = {}
    scale_errors = {}
    for method in ("static", "ta", "hqdm", "taq"):
        calib = METHODS[method][2]
        if calib not in stats_files or calib in calib_error:
            continue
        options = method_options(method, a.layer_scheme,
                                 calibration=stats_files[calib],
                                 config=scope_config)
        try:
            tables[method] = scale_tables(
                mlir, options, hqdm_opt,
                log=work / "remarks-{}-{}.txt".format(a.layer_scheme, method))
        except EvalError as e:
            scale_errors[method] = str(e)
    scales = {layer: {m: t[layer] for m, t in tables.items() if layer in t}
              for layer in plot_layers}
    if tables and plot_layers:
        images["scales"] = out / "activation_scales.png"
        plot_scales(tables, plot_layers[0], names, a.layer_scheme,
                    images["scales"])
    if per_layer and any(v["status"] == "ok"
                         for v in per_layer["layers"].values()):
        images["per_layer"] = out / "layer_sqnr.png"
        plot_layer_sqnr(per_layer, images["per_layer"])

    report = {
        "command": "hqdm eval " + " ".join(argv if argv is not None
                                           else sys.argv[1:]),
        "settings": dict(
            model=a.model, options=a.option, sampler=a.sampler, steps=N,
            eta=a.eta, cfg_scale=a.cfg, samples=a.samples, batch=batch,
            seed=a.seed, schemes=a.scheme_list, methods=a.method_list,
            scope=a.scope, calib_samples=a.calib_samples,
            calib_steps=a.calib_steps, calib_seed=a.seed + 1000,
            psnr_peak=a.peak, clip_denoised=not a.no_clip,
            layer_scheme=a.layer_scheme, layer_method=a.layer_method,
            jobs=a.jobs, hqdm_opt=str(a.hqdm_opt or _default_hqdm_opt()),
            weights="named ({})".format(a.weights_file) if a.weights_file
            else "inline"),
        "model": desc,
        "names": names,
        "scope_layers": scoped,
        "methods": {m: {"label": METHODS[m][0], "options": METHODS[m][1],
                        "calibration": METHODS[m][2] and
                        CALIBRATIONS[METHODS[m][2]]} for m in a.method_list},
        "float": {"timesteps": timesteps,
                  "compile_s": ref["compile_s"], "run_s": ref["run_s"],
                  "compiled_vs_torch_sqnr_db": torch_sqnr},
        "configs": configs,
        "per_layer": per_layer,
        "plot_layers": {l: names.get(l, l) for l in plot_layers},
        "scales": scales,
        "scale_errors": scale_errors,
        "histograms": histogram_info,
        "calibration_errors": calib_error,
        "images": {k: str(v.name) for k, v in images.items()},
        "elapsed_s": None,
    }
    if any(c["status"] == "ok" for c in configs.values()):
        images["step_sqnr"] = out / "step_sqnr.png"
        plot_step_sqnr(report, images["step_sqnr"])
        show = {"float": ref_final}
        for m in a.method_list:
            key = "{}/{}".format(a.layer_scheme, m)
            if key in finals:
                show["{} {}".format(a.layer_scheme.upper(),
                                    METHODS[m][0])] = finals[key]
        if plot_samples(show, out / "samples.png"):
            images["samples"] = out / "samples.png"
        report["images"] = {k: str(v.name) for k, v in images.items()}
    report["elapsed_s"] = time.time() - t_start
    (out / "results.json").write_text(json.dumps(_finite(report), indent=1)
                                      + "\n")
    (out / "results.md").write_text(markdown(report))
    if not a.quiet:
        sys.stdout.write(markdown(report).split("## Per-layer")[0])
        say("wrote {} and {} ({:.0f} s)".format(out / "results.md",
                                                out / "results.json",
                                                report["elapsed_s"]))
    return 3 if failures else 0


def _csv_keep(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def _load(path, errors, kind):
    if path is None or kind in errors or not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text())


if __name__ == "__main__":
    sys.exit(main())
