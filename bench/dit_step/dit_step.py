#!/usr/bin/env python3
"""One DiT-XL/2 denoising step: hqdm's W4A8 and W4A4 whole-model libraries
against the same architecture in PyTorch BF16 (eager and torch.compile), on
one GPU, in one run (issue 7).

Runs on the GPU machine (CUDA driver, PyTorch, numpy; no MLIR, no network),
on what bench/dit_step/prepare.py wrote on the development machine
(OUT/manifest.json, the xz-compressed libraries, libhqdm_cuda_runtime.so):

    python bench/dit_step/dit_step.py [OUT] [--batches 1,8] [--reps 50]
        [--warmup 10] [--compile-modes default,reduce-overhead]
        [--no-compile] [--only TEXT] [--json FILE] [--dry-run]

(bash bench/dit_step/run.sh runs it with the runtime rebuilt for the local
machine when it can be.) The runtime is $HQDM_CUDA_RUNTIME, else the one in
OUT/runtime. --dry-run needs no GPU: it unpacks every library, writes its
random weights file and has the runtime check it against the library (in a
child process whose driver does not exist, so the load stops, with the
runtime's message, exactly where it would touch the device), and builds and
runs the PyTorch model once on the CPU; it prints no timings.

What is measured, per batch:
- hqdm, per case (scheme): the library is decompressed and checked against
  its SHA-256; its weights file is written from the header in the manifest
  with random values (integer tensors: random bytes, i.e. int8 weight
  levels in [-128, 127] packed four to an i32; float tensors: uniform in
  [1e-3, 1e-2]): only the sizes are real, which is what a step's time
  depends on. It is loaded with hqdm.aot.DeviceModel (the runtime checks
  the file against the library and uploads it once), given random inputs
  (x ~ N(0, 1), t and y uniform integers in [0, 1000)), and stepped: the
  first step eager, the second captured into a CUDA graph, every later one
  a replay. Each case runs in a child process, because the runtime ends
  its process on a CUDA error: a failing case is reported and the others
  go on.
- PyTorch: hqdm/models/dit.py's DiT-XL/2 (the architecture hqdm compiled,
  with facebookresearch/DiT's parameter shapes and its attention written as
  two matmuls and a softmax) in bfloat16 on the GPU, parameters random
  N(0, 0.02), in inference mode; the timestep embedding is cast to bf16
  before the MLP (the reference code computes it in f32). Rows: eager;
  eager with the attention as torch's scaled_dot_product_attention (as
  timm's Attention runs in the original DiT); torch.compile in each
  --compile-modes mode (dynamic=False, compiled anew per batch). A mode that
  fails to compile is reported as failed and the run goes on.
- Order: the eager rows, the hqdm cases, then the torch.compile rows (the
  slowest to start); rows not begun within --time-budget seconds are
  reported as skipped, and every finished row is saved at once, so that a
  run cut short by a time limit keeps its table.
- Time per step: CUDA events on PyTorch's current stream around each step,
  each step synchronized (hqdm's step is synchronous: its events bracket
  the call), after --warmup steps: the median, minimum and maximum of
  --reps steps; also the host's wall time per step (median).
- Weight memory: hqdm, the device bytes the runtime holds for the weights
  (each tensor 256-byte aligned) and the weights file's data bytes;
  PyTorch, the bytes of the parameters and buffers.
- Kernels per step: hqdm, the nodes of the captured graph
  (hqdm_model_graph_nodes: kernels and copies) and the compile-time count
  (manifest); for both, the CUDA kernels (and copies/memsets) that
  torch.profiler (CUPTI) sees in one step.

The table (markdown) goes to stdout, with the device, the driver, the
versions, the date and the command; --json (default OUT/results-<time>.json)
gets everything. Ratios are PyTorch BF16 eager's time over the row's time at
the same batch, measured in the same run (> 1: faster than eager).
"""

import argparse
import datetime
import hashlib
import json
import lzma
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "python"))


class BenchError(RuntimeError):
    pass


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr,
          flush=True)


def require_gpu():
    import torch
    if not torch.cuda.is_available():
        raise BenchError("no CUDA GPU visible to PyTorch (torch.cuda."
                         "is_available() is False): this bench needs one")
    return torch


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------

def time_steps(torch, step, warmup, reps):
    """Times `step` (a callable running one step): CUDA events on the
    current stream around each, synchronized; returns milliseconds."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    events, host = [], []
    for _ in range(reps):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        t0 = time.perf_counter()
        start.record()
        step()
        end.record()
        end.synchronize()
        host.append((time.perf_counter() - t0) * 1e3)
        events.append((start, end))
    ms = [s.elapsed_time(e) for s, e in events]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms),
            "max_ms": max(ms), "host_median_ms": statistics.median(host),
            "reps": reps, "warmup": warmup}


def count_kernels(torch, step):
    """CUDA activity of one step as torch.profiler (CUPTI) sees it:
    {"kernels": N, "copies": M} or {"error": text}."""
    try:
        from torch.profiler import ProfilerActivity, profile
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            step()
            torch.cuda.synchronize()
        kernels = copies = 0
        for event in prof.events():
            if event.device_type != torch.autograd.DeviceType.CUDA:
                continue
            name = event.name.lower()
            if name.startswith(("memcpy", "memset")):
                copies += 1
            else:
                kernels += 1
        return {"kernels": kernels, "copies": copies}
    except Exception as e:  # the count is optional; the timing is not
        return {"error": f"{type(e).__name__}: {e}"}


# --------------------------------------------------------------------------
# hqdm (one case per child process)
# --------------------------------------------------------------------------

DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16",
          "BF16": None, "I64": "int64", "I32": "int32", "I16": "int16",
          "I8": "int8", "U64": "uint64", "U32": "uint32", "U16": "uint16",
          "U8": "uint8", "BOOL": "bool"}


def write_random_weights(case, path, seed):
    """The case's weights file with random values: its header (tensor
    names, dtypes, shapes, offsets) from the manifest, so that the runtime
    finds the tensor list the library was compiled for."""
    import numpy as np
    weights = case["weights"]
    header = dict(weights["header"])
    header["__metadata__"] = dict(weights["metadata"])
    header["__metadata__"]["values"] = (
        "random (bench/dit_step): integers random bytes, floats "
        "uniform(1e-3, 1e-2); only the sizes are real")
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(seed)
    order = sorted(weights["header"].items(),
                   key=lambda kv: kv[1]["data_offsets"][0])
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        position = 0
        for name, tensor in order:
            begin, end = tensor["data_offsets"]
            if begin != position:
                raise BenchError(f"{case['name']}: tensor {name} starts at "
                                 f"{begin}, not {position}")
            dtype = tensor["dtype"]
            count = math.prod(tensor["shape"])
            if dtype in ("F32", "F64", "F16"):
                data = rng.uniform(1e-3, 1e-2, count).astype(DTYPES[dtype])
            elif dtype == "BF16":
                # The top half of an f32 is its bf16.
                f32 = rng.uniform(1e-3, 1e-2, count).astype(np.float32)
                data = (f32.view(np.uint32) >> 16).astype(np.uint16)
            elif dtype == "BOOL":
                data = rng.integers(0, 2, count, dtype=np.uint8)
            else:
                data = rng.integers(0, 256, end - begin, dtype=np.uint8)
            raw = data.tobytes()
            if len(raw) != end - begin:
                raise BenchError(f"{case['name']}: tensor {name} needs "
                                 f"{end - begin} bytes, generated {len(raw)}")
            f.write(raw)
            position = end
        if position != weights["data_bytes"]:
            raise BenchError(f"{case['name']}: {position} bytes of data, the "
                             f"manifest says {weights['data_bytes']}")


def unpack_library(out, case, run_dir):
    library = run_dir / case["library"][:-len(".xz")]
    with lzma.open(out / case["library"], "rb") as src, \
            open(library, "wb") as dst:
        shutil.copyfileobj(src, dst)
    if sha256(library) != case["library_sha256"]:
        raise BenchError(f"{library}: SHA-256 differs from the manifest")
    return library


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def prepare_case(args):
    """The case's library, unpacked, and its random weights file."""
    out = Path(args.out)
    manifest = json.loads((out / "manifest.json").read_text())
    case = next(c for c in manifest["cases"] if c["name"] == args.hqdm_case)
    run_dir = out / "run"
    run_dir.mkdir(exist_ok=True)
    log(f"{case['name']}: unpacking the library, writing random weights")
    library = unpack_library(out, case, run_dir)
    weights = run_dir / case["weights"]["file"]
    write_random_weights(case, weights, seed=case["batch"])
    return case, library, weights


def dry_run_case(args):
    """Child process without a GPU: the runtime must accept the random
    weights file and stop only where it needs the device."""
    from hqdm import aot
    case, library, weights = prepare_case(args)
    env = dict(os.environ, HQDM_CUDA_DRIVER="/nonexistent/libcuda.so.1",
               PYTHONPATH=str(ROOT / "python"))
    probe = subprocess.run(
        [sys.executable, "-c",
         "import sys; from hqdm import aot\n"
         "try:\n"
         f"    aot.DeviceModel({str(library)!r}, weights={str(weights)!r})\n"
         "except aot.AotError as e:\n"
         "    print('LOAD ERROR:', e); sys.exit(3)\n"],
        env=env, capture_output=True, text=True)
    # Nothing unpacked stays: OUT is what travels, and must stay small.
    weights.unlink()
    library.unlink()
    if probe.returncode == 1 and "hqdm CUDA runtime: cannot load" in probe.stderr:
        log(f"{case['name']}: the runtime accepts the random weights file "
            f"({case['weights']['tensors']} tensors, "
            f"{case['weights']['data_bytes'] / 2**20:.0f} MiB) and stops at "
            "the device, as it should without one")
        Path(args.json).write_text(json.dumps({"name": case["name"],
                                               "dry_run": "ok"}))
        return 0
    raise BenchError(f"{case['name']}: the load did not reach the device "
                     f"(exit {probe.returncode}):\n{probe.stdout}"
                     f"{probe.stderr}")


def run_hqdm_case(args):
    """Child process: one hqdm case; writes its result as JSON."""
    if args.dry_run:
        return dry_run_case(args)
    torch = require_gpu()
    import numpy as np
    from hqdm import aot
    case, library, weights = prepare_case(args)
    result = {"name": case["name"], "impl": f"hqdm {case['scheme']}",
              "batch": case["batch"]}
    torch.cuda.init()
    start = time.perf_counter()
    model = aot.DeviceModel(library, weights=weights)
    result["load_s"] = time.perf_counter() - start
    result["weight_tensors"] = model.weight_tensors()
    result["weight_device_bytes"] = model.weight_bytes()
    result["weight_file_data_bytes"] = case["weights"]["data_bytes"]
    rng = np.random.default_rng(case["batch"])
    batch = case["batch"]
    x = rng.standard_normal((batch, 4, 32, 32), dtype=np.float32)
    t = rng.integers(0, 1000, batch, dtype=np.int64)
    y = rng.integers(0, 1000, batch, dtype=np.int64)
    model.write_inputs(x, t, y)
    before = model.device_bytes()
    start = time.perf_counter()
    model.step()  # eager: loads the kernels
    result["first_step_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model.step()  # captured, then launched
    result["capture_step_s"] = time.perf_counter() - start
    result["graph_nodes"] = model.graph_nodes()
    result["timing"] = time_steps(torch, model.step, args.warmup, args.reps)
    result["profiler"] = count_kernels(torch, model.step)
    result["runtime_device_bytes"] = model.device_bytes()
    result["runtime_device_bytes_at_first_step"] = before
    output = model(x, t, y)
    result["outputs_finite"] = bool(np.all(np.isfinite(output)))
    result["compile_time_kernels"] = case["launches"]["kernels"]
    model.close()
    weights.unlink()
    library.unlink()
    Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def hqdm_rows(args, manifest):
    rows = []
    for case in manifest["cases"]:
        if case["batch"] not in args.batch_list or not selected(
                args, f"hqdm {case['scheme']}"):
            continue
        if not args.dry_run and over_budget(args):
            rows.append({"name": case["name"], "impl": f"hqdm {case['scheme']}",
                         "batch": case["batch"],
                         "error": "skipped: the run has used its time budget "
                                  f"(--time-budget {args.time_budget:.0f} s)"})
            args.save(rows[-1])
            continue
        log(f"hqdm: {case['name']} (child process)")
        result_path = Path(args.out) / "run" / f"{case['name']}.json"
        result_path.parent.mkdir(exist_ok=True)
        result_path.unlink(missing_ok=True)
        command = [sys.executable, __file__, args.out, "--hqdm-case",
                   case["name"], "--json", str(result_path),
                   "--reps", str(args.reps), "--warmup", str(args.warmup)]
        if args.dry_run:
            command.append("--dry-run")
        try:
            proc = subprocess.run(command, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  timeout=args.case_timeout)
        except subprocess.TimeoutExpired as e:
            stderr = e.stderr or ""
            if isinstance(stderr, bytes):
                stderr = stderr.decode(errors="replace")
            proc = subprocess.CompletedProcess(
                command, -9, "", stderr + f"\ntimed out after "
                f"{args.case_timeout:.0f} s (--case-timeout)")
        sys.stderr.write(proc.stderr)
        if proc.returncode == 0 and result_path.is_file():
            rows.append(json.loads(result_path.read_text()))
        else:
            rows.append({"name": case["name"],
                         "impl": f"hqdm {case['scheme']}",
                         "batch": case["batch"],
                         "error": f"exit status {proc.returncode}: "
                                  + proc.stderr.strip()[-1500:]})
        if not args.dry_run:
            args.save(rows[-1])
    return rows


# --------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------

def torch_model(torch, sdpa=False, seed=0, device="cuda"):
    """hqdm's DiT-XL/2 in bf16 (on the GPU) with random parameters."""
    from hqdm.models import dit
    torch.manual_seed(seed)
    with torch.device(device):
        model = dit.DiT_models["DiT-XL/2"]()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02)
        model.reset_pos_embed()
    model = model.to(torch.bfloat16).eval()

    def embed(self, t):
        emb = dit.timestep_embedding(t, self.frequency_embedding_size)
        return self.mlp(emb.to(self.mlp[0].weight.dtype))

    def attention(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        x = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))

    for module in model.modules():
        if isinstance(module, dit.TimestepEmbedder):
            module.forward = embed.__get__(module)
        if sdpa and isinstance(module, dit.Attention):
            module.forward = attention.__get__(module)
    return model


def torch_rows(args, torch, compiled):
    """The eager rows (compiled=False) or the torch.compile ones."""
    rows = []
    if not compiled:
        variants = [("torch bf16 eager", dict(sdpa=False), None),
                    ("torch bf16 eager (SDPA attention)", dict(sdpa=True),
                     None)]
    elif args.no_compile:
        variants = []
    else:
        variants = [(f"torch bf16 compile ({mode})", dict(sdpa=False), mode)
                    for mode in args.compile_modes.split(",") if mode]
    for batch in args.batch_list:
        gen = torch.Generator(device="cuda").manual_seed(batch)
        x = torch.randn(batch, 4, 32, 32, device="cuda", generator=gen,
                        dtype=torch.bfloat16)
        t = torch.randint(0, 1000, (batch,), device="cuda", generator=gen)
        y = torch.randint(0, 1000, (batch,), device="cuda", generator=gen)
        for impl, options, mode in variants:
            if not selected(args, impl):
                continue
            row = {"impl": impl, "batch": batch}
            rows.append(row)
            if over_budget(args):
                row["error"] = (f"skipped: the run has used its time budget "
                                f"(--time-budget {args.time_budget:.0f} s)")
                log(f"{impl}, batch {batch}: {row['error']}")
                continue
            log(f"{impl}, batch {batch}")
            model = None
            try:
                model = torch_model(torch, **options)
                params = list(model.parameters()) + list(model.buffers())
                row["weight_bytes"] = sum(p.numel() * p.element_size()
                                          for p in params)
                fn = model
                if mode is not None:
                    torch._dynamo.reset()
                    fn = torch.compile(model, mode=mode, dynamic=False)
                with torch.inference_mode():
                    start = time.perf_counter()
                    out = fn(x, t, y)
                    torch.cuda.synchronize()
                    row["first_step_s"] = time.perf_counter() - start

                    def step():
                        fn(x, t, y)
                    torch.cuda.reset_peak_memory_stats()
                    row["timing"] = time_steps(torch, step, args.warmup,
                                               args.reps)
                    row["max_memory_allocated"] = \
                        torch.cuda.max_memory_allocated()
                    row["profiler"] = count_kernels(torch, step)
                    row["outputs_finite"] = bool(torch.isfinite(out).all())
            except Exception as e:
                row["error"] = f"{type(e).__name__}: {e}"
                log(f"{impl}, batch {batch}: failed: {row['error'][:300]}")
                traceback.print_exc(file=sys.stderr)
            finally:
                del model
                torch.cuda.empty_cache()
                args.save(row)
    return rows


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def dry_run_torch(args, torch):
    """The PyTorch models, built and run once on the CPU at batch 1."""
    for sdpa in (False, True):
        model = torch_model(torch, sdpa=sdpa, device="cpu")
        x = torch.randn(1, 4, 32, 32, dtype=torch.bfloat16)
        t = torch.randint(0, 1000, (1,))
        y = torch.randint(0, 1000, (1,))
        with torch.inference_mode():
            out = model(x, t, y)
        if tuple(out.shape) != (1, 8, 32, 32) or out.dtype != torch.bfloat16:
            raise BenchError(f"the PyTorch model returned {tuple(out.shape)} "
                             f"{out.dtype}")
        log(f"PyTorch DiT-XL/2 (sdpa={sdpa}) runs on the CPU: "
            f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f} M "
            "parameters")
        del model


def over_budget(args):
    return time.monotonic() - args.started > args.time_budget


def selected(args, impl):
    return not args.only or any(s in impl for s in args.only)


def mib(n):
    return f"{n / 2**20:.0f}" if n else "-"


def report(rows, context):
    lines = []
    eager = {r["batch"]: r["timing"]["median_ms"] for r in rows
             if r["impl"] == "torch bf16 eager" and "timing" in r}
    lines.append("| batch | implementation | ms/step (median) | min | max | "
                 "host ms | vs torch eager | weights MiB | kernels/step "
                 "(graph nodes / compile-time / profiler) |")
    lines.append("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for r in sorted(rows, key=lambda r: (r["batch"], order(r["impl"]))):
        if "error" in r:
            last = (r["error"].strip().splitlines() or [""])[-1][:160]
            last = last.replace("|", "/")
            lines.append(f"| {r['batch']} | {r['impl']} | failed: {last} "
                         "| | | | | | |")
            continue
        tm = r["timing"]
        ratio = (f"{eager[r['batch']] / tm['median_ms']:.2f}x"
                 if r["batch"] in eager else "n/a")
        prof = r.get("profiler", {})
        prof_text = (f"{prof['kernels']} (+{prof['copies']} copies)"
                     if "kernels" in prof else "n/a")
        if r["impl"].startswith("hqdm"):
            weights = mib(r["weight_device_bytes"])
            kernels = (f"{r['graph_nodes']} / {r['compile_time_kernels']} / "
                       f"{prof_text}")
        else:
            weights = mib(r["weight_bytes"])
            kernels = f"- / - / {prof_text}"
        lines.append(f"| {r['batch']} | {r['impl']} | {tm['median_ms']:.3f} | "
                     f"{tm['min_ms']:.3f} | {tm['max_ms']:.3f} | "
                     f"{tm['host_median_ms']:.3f} | {ratio} | {weights} | "
                     f"{kernels} |")
    text = "\n".join(context + [""] + lines)
    notes = [r for r in rows if r.get("outputs_finite") is False]
    if notes:
        text += "\n\nOutputs not finite (random weights): " + ", ".join(
            f"{r['impl']} batch {r['batch']}" for r in notes)
    return text


def order(impl):
    for i, prefix in enumerate(["torch bf16 eager", "torch bf16 eager (",
                                "torch bf16 compile", "hqdm w4a8",
                                "hqdm w4a4"]):
        if impl == prefix:
            return i
    for i, prefix in enumerate(["torch bf16 eager (", "torch bf16 compile",
                                "hqdm w4a8", "hqdm w4a4"]):
        if impl.startswith(prefix):
            return i + 1
    return 9


def context_lines(torch, args, manifest):
    props = torch.cuda.get_device_properties(0)
    driver = "unknown"
    try:
        driver = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    now = datetime.datetime.now(datetime.timezone.utc)
    return [
        f"- Device: {props.name} (sm_{props.major}{props.minor}, "
        f"{props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} "
        f"SMs), driver {driver}",
        f"- Date: {now.isoformat(timespec='seconds')}",
        f"- Command: {' '.join([Path(sys.executable).name] + sys.argv)}",
        f"- PyTorch {torch.__version__} (CUDA {torch.version.cuda}), Python "
        f"{platform.python_version()}, host {platform.node()}",
        f"- Libraries: prepared {manifest['created']} at commit "
        f"{manifest['commit'][:12]} ({manifest['command']}), chip "
        f"{manifest['chip']}",
        f"- DiT-XL/2, {manifest['model']['depth']} blocks, 256 tokens per "
        "image; random weights (only sizes are real); "
        f"{args.warmup} warm-up steps, median of {args.reps}",
    ]


def write_json(path, context, manifest, rows):
    cases = []
    for c in manifest["cases"]:
        case = {k: v for k, v in c.items() if k != "weights"}
        case["weights"] = {k: v for k, v in c["weights"].items()
                           if k != "header"}
        cases.append(case)
    text = json.dumps({"context": context, "manifest_cases": cases,
                       "rows": rows}, indent=1) + "\n"
    Path(path).write_text(text)
    runner = os.environ.get("OUT")
    if runner and Path(runner).is_dir():
        (Path(runner) / Path(path).name).write_text(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", nargs="?", default=str(HERE / "out"))
    p.add_argument("--batches", default=None,
                   help="comma-separated (default: every batch prepared)")
    p.add_argument("--reps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--compile-modes", default="default,reduce-overhead",
                   help="torch.compile modes, comma-separated")
    p.add_argument("--no-compile", action="store_true",
                   help="skip the torch.compile rows")
    p.add_argument("--only", action="append", default=[],
                   help="run only implementations whose name contains TEXT "
                   "(repeatable): e.g. 'hqdm', 'eager', 'w4a4'")
    p.add_argument("--json", default=None)
    p.add_argument("--dry-run", action="store_true",
                   help="check everything that needs no GPU; no timings")
    p.add_argument("--time-budget", type=float, default=480,
                   help="seconds after which the rows not yet started are "
                   "skipped (and reported so), so that the run ends with its "
                   "table inside a time limit such as the device runner's "
                   "10 minutes; torch.compile rows run last")
    p.add_argument("--case-timeout", type=float, default=240,
                   help="seconds an hqdm case may take before it is killed "
                   "and reported as failed")
    p.add_argument("--hqdm-case", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.started = time.monotonic()
    args.save = lambda row: None

    out = Path(args.out)
    runtime = out / "runtime" / "libhqdm_cuda_runtime.so"
    if not os.environ.get("HQDM_CUDA_RUNTIME") and runtime.is_file():
        os.environ["HQDM_CUDA_RUNTIME"] = str(runtime.resolve())
    manifest_path = out / "manifest.json"
    try:
        if not manifest_path.is_file():
            raise BenchError(f"no {manifest_path}: run bench/dit_step/"
                             "prepare.py on the development machine and "
                             f"bring {out} here")
        if args.hqdm_case:
            return run_hqdm_case(args)
        manifest = json.loads(manifest_path.read_text())
        if args.dry_run:
            import torch
            prepared = sorted({c["batch"] for c in manifest["cases"]})
            args.batch_list = ([int(b) for b in args.batches.split(",")]
                               if args.batches else prepared)
            rows = hqdm_rows(args, manifest)
            failed = [r for r in rows if "error" in r]
            for r in failed:
                print(f"dit_step.py: {r['name']}: {r['error']}",
                      file=sys.stderr)
            dry_run_torch(args, torch)
            print(f"dry run: {len(rows) - len(failed)} of {len(rows)} hqdm "
                  "cases load up to the device; the PyTorch model runs")
            return 1 if failed else 0
        torch = require_gpu()
        prepared = sorted({c["batch"] for c in manifest["cases"]})
        args.batch_list = ([int(b) for b in args.batches.split(",")]
                           if args.batches else prepared)
        context = context_lines(torch, args, manifest)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        json_path = Path(args.json or out / f"results-{stamp}.json")
        saved = []

        def save(row):
            # After every row, so that a run cut short keeps what it did.
            saved.append(row)
            write_json(json_path, context, manifest, saved)
            log(f"done: {row['impl']}, batch {row['batch']}: "
                + (f"{row['timing']['median_ms']:.3f} ms/step"
                   if "timing" in row else row.get("error", "")[:200]))
        args.save = save
        # The comparison the issue asks for first (eager, hqdm), then the
        # torch.compile rows, whose compile time is the longest.
        rows = torch_rows(args, torch, compiled=False)
        rows += hqdm_rows(args, manifest)
        rows += torch_rows(args, torch, compiled=True)
    except BenchError as e:
        print(f"dit_step.py: error: {e}", file=sys.stderr)
        return 1

    text = report(rows, context)
    print(text)
    write_json(json_path, context, manifest, rows)
    log(f"results: {json_path}")
    failed = [r for r in rows if "error" in r]
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
