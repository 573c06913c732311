"""Quantization error of compiled models, per sampler step.

    python -m hqdm.evaluate MODEL.mlir DATA --function forward \\
        --config "static=scheme=w4a8 activation=static calibration=s.json" \\
        --config "per-step=scheme=w4a8 activation=per-step calibration=s.json"

compiles MODEL once in float and once per configuration (`hqdm-quantize`
options), runs every call of DATA (one array per function argument with a
leading call dimension, as for calibration: .npz, .safetensors or a
directory of argN.npy) through each, and reports the SQNR of each
configuration's output against the float output: per step (calls grouped by
the first element of the timestep argument, noisiest first) and over all
calls, in dB: per step, their mean over the steps ("mean": every step
counts the same, as every step feeds the next), and over all calls at once
("all": dominated by the steps with the largest outputs).
"""

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import aot
from .calibrate import CalibrationError, read_data

_TENSOR = re.compile(r"tensor<((?:[0-9]+x)*)([a-z0-9]+)>")


def signature(mlir_path, function):
    """([(shape, dtype)] of the arguments, [(shape, dtype)] of the results)
    of @function, read from its declaration (static tensor types only)."""
    text = Path(mlir_path).read_text()
    m = re.search(r"func\.func @" + re.escape(function) +
                  r"\((.*?)\)\s*->\s*(\(.*?\)|tensor<[^>]*>)\s*(?:attributes.*?)?\{",
                  text)
    if not m:
        raise CalibrationError("{}: no function @{} with tensor results"
                               .format(mlir_path, function))

    def types(part):
        return [(tuple(int(d) for d in dims.split("x") if d), dtype)
                for dims, dtype in _TENSOR.findall(part)]

    return types(m.group(1)), types(m.group(2))


def sqnr(reference, value):
    error = float(np.sum((np.asarray(value, np.float64) - reference) ** 2))
    signal = float(np.sum(np.asarray(reference, np.float64) ** 2))
    return float("inf") if error == 0 else 10 * np.log10(signal / error)


def run_all(library, function, arrays, result_specs, progress=None):
    """Outputs of every call: a list (per result) of [calls, ...] arrays."""
    calls = len(arrays[0])
    outputs = [[] for _ in result_specs]
    for c in range(calls):
        results = library.call(function, *[a[c] for a in arrays],
                               results=result_specs)
        for i, r in enumerate(results):
            outputs[i].append(r)
        if progress:
            progress(c + 1, calls)
    return [np.stack(o) for o in outputs]


def evaluate(model, data, configs, function="forward", timestep_arg=None,
             hqdm_opt=None, work_dir=None, log=None, outputs=None):
    """{name: {"steps": [...], "sqnr": [...per step], "mean": dB, "total":
    dB}} for every (name, options) of `configs`, against the float model.
    When `outputs` is a dict, it receives every configuration's outputs
    ([calls, ...] arrays) and the float ones under "float"."""
    args, results = signature(model, function)
    raw = read_data(data)
    arrays = []
    for i, (shape, dtype) in enumerate(args):
        key = "arg{}".format(i)
        if key not in raw:
            raise CalibrationError("{}: no array '{}' for argument {} of @{}"
                                   .format(data, key, i, function))
        a = np.asarray(raw[key], dtype=aot.numpy_dtype(dtype))
        if a.shape[1:] != shape:
            raise CalibrationError(
                "{}: '{}' has calls of shape {}, @{} takes {}".format(
                    data, key, list(a.shape[1:]), function, list(shape)))
        arrays.append(a)
    if timestep_arg is None:
        steps = np.zeros(len(arrays[0]))
    else:
        steps = np.array([float(np.ravel(t)[0]) for t in arrays[timestep_arg]])
    order = sorted(set(steps.tolist()), reverse=True)

    work = Path(work_dir or tempfile.mkdtemp(prefix="hqdm-eval-"))
    specs = [(shape, dtype) for shape, dtype in results]

    def outputs_of(name, pipeline_args):
        if log:
            log("compiling {}".format(name))
        library = aot.compile_shared_library(model, work / name,
                                             hqdm_opt=hqdm_opt,
                                             pipeline_args=pipeline_args)
        with aot.Library(library) as lib:
            return run_all(lib, function, arrays, specs)[0]

    reference = outputs_of("float", []).astype(np.float64)
    if outputs is not None:
        outputs["float"] = reference
    report = {}
    for name, options in configs:
        out = outputs_of(name, ["--hqdm-quantize=" + options])
        if outputs is not None:
            outputs[name] = out
        per_step = [sqnr(reference[steps == s], out[steps == s]) for s in order]
        report[name] = {"steps": order, "sqnr": per_step,
                        "mean": float(np.mean(per_step)),
                        "total": sqnr(reference, out)}
    return report


def format_table(report):
    names = list(report)
    steps = report[names[0]]["steps"]
    width = max(10, max(len(n) for n in names) + 2)
    lines = ["{:>8}".format("step") + "".join("{:>{}}".format(n, width)
                                              for n in names)]
    for i, s in enumerate(steps):
        lines.append("{:>8g}".format(s) + "".join(
            "{:>{}.2f}".format(report[n]["sqnr"][i], width) for n in names))
    lines.append("{:>8}".format("mean") + "".join(
        "{:>{}.2f}".format(report[n]["mean"], width) for n in names))
    lines.append("{:>8}".format("all") + "".join(
        "{:>{}.2f}".format(report[n]["total"], width) for n in names))
    return "\n".join(lines)


def main(argv=None, prog="python -m hqdm.evaluate"):
    ap = argparse.ArgumentParser(
        prog=prog,
        description="Output SQNR (dB) of quantized configurations against "
                    "the float model, per sampler step.")
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--function", default="forward")
    ap.add_argument("--timestep-arg", type=int, default=None)
    ap.add_argument("--config", action="append", required=True,
                    metavar="NAME=OPTIONS",
                    help="a name and hqdm-quantize options (repeatable)")
    ap.add_argument("--hqdm-opt", default=None)
    ap.add_argument("--work-dir", default=None)
    args = ap.parse_args(argv)
    configs = []
    for c in args.config:
        name, sep, options = c.partition("=")
        if not sep or not name:
            ap.error("--config must be NAME=OPTIONS, got '{}'".format(c))
        configs.append((name, options))
    try:
        report = evaluate(args.model, args.data, configs,
                          function=args.function,
                          timestep_arg=args.timestep_arg,
                          hqdm_opt=args.hqdm_opt, work_dir=args.work_dir)
    except (CalibrationError, aot.AotError) as e:
        print("error: {}".format(e), file=sys.stderr)
        return 1
    print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
