#!/usr/bin/env python3
"""Output SQNR of a model quantized by hqdm-quantize, against its float run.

  quality.py --hqdm-opt PATH --runner "CMD" MODEL.mlir [--bits]
             [--schemes w8a8,w4a8,w4a4,w4a3] [--modes none,single,double]
             [--options "block=32 ..."] [--expect "w4a4:single-none>=3"]...

For the float model and for every scheme x Hadamard mode, runs
`hqdm-opt MODEL [--hqdm-quantize=...] --hqdm-lower-to-cpu | RUNNER` (the
model's @main prints its output with printMemrefF32), and prints a table of
SQNR = 10 log10(sum y^2 / sum (y - y_q)^2) in dB.

Each --expect "SCHEME:MODE_A-MODE_B>=DB" requires SQNR(MODE_A) - SQNR(MODE_B)
>= DB for that scheme, and "SCHEME:MODE>=DB" an absolute SQNR; the script
exits 1 if any expectation fails.
"""

import argparse
import re
import shlex
import subprocess
import sys

import numpy as np

MEMREF = re.compile(r"Unranked Memref base@ = \S+ rank = \d+ offset = \d+ "
                    r"sizes = \[([^\]]*)\] strides = \[[^\]]*\] data =")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)")


def run(hqdm_opt, runner, model, pipeline, bits=False):
    """Compiles and runs the model; returns the printed output (all memrefs
    concatenated, as float64)."""
    opt = [hqdm_opt, model] + pipeline + ["--hqdm-lower-to-cpu"]
    lowered = subprocess.run(opt, check=True, capture_output=True, text=True)
    result = subprocess.run(shlex.split(runner), input=lowered.stdout,
                            check=True, capture_output=True, text=True)
    headers = list(MEMREF.finditer(result.stdout))
    if not headers:
        sys.exit(f"{model}: the program printed no memref")
    values = []
    for h, nxt in zip(headers, headers[1:] + [None]):
        body = result.stdout[h.end(): nxt.start() if nxt else None]
        values += [float(t) for t in NUMBER.findall(body)]
    if bits:  # f32 bit patterns printed with printMemrefI32
        return np.array(values, dtype=np.int64).astype(np.int32) \
            .view(np.float32).astype(np.float64)
    return np.array(values)


def sqnr(ref, test):
    if ref.shape != test.shape:
        sys.exit(f"output sizes differ: {ref.shape} vs {test.shape}")
    noise = np.sum((ref - test) ** 2)
    return np.inf if noise == 0 else 10 * np.log10(np.sum(ref ** 2) / noise)


def check(expect, table):
    m = re.fullmatch(r"(\w+):(\w+)(?:-(\w+))?>=([-\d.]+)", expect)
    if not m:
        sys.exit(f"bad --expect '{expect}'")
    scheme, a, b, bound = m.group(1), m.group(2), m.group(3), float(m.group(4))
    value = table[scheme][a] - (table[scheme][b] if b else 0.0)
    what = f"{scheme} {a}" + (f" - {b}" if b else "")
    ok = value >= bound
    print(f"expect {what} >= {bound:g} dB: {value:.2f} dB, "
          f"{'ok' if ok else 'FAIL'}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--hqdm-opt", required=True)
    ap.add_argument("--runner", required=True)
    ap.add_argument("--schemes", default="w8a8,w4a8,w4a4,w4a3")
    ap.add_argument("--modes", default="none,single,double")
    ap.add_argument("--options", default="")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--bits", action="store_true",
                    help="the model prints f32 bit patterns as i32 "
                         "(programs.py), not printMemrefF32 text")
    args = ap.parse_args()

    reference = run(args.hqdm_opt, args.runner, args.model, [], args.bits)
    schemes = args.schemes.split(",")
    modes = args.modes.split(",")
    table = {}
    for scheme in schemes:
        table[scheme] = {}
        for mode in modes:
            options = f"scheme={scheme} hadamard={mode} {args.options}".strip()
            out = run(args.hqdm_opt, args.runner, args.model,
                      [f"--hqdm-quantize={options}"], args.bits)
            table[scheme][mode] = sqnr(reference, out)

    print(f"output SQNR (dB) of {args.model.split('/')[-1]} vs float"
          + (f", options '{args.options}'" if args.options else ""))
    print("| scheme | " + " | ".join(modes) + " |")
    print("|---" * (len(modes) + 1) + "|")
    for scheme in schemes:
        print(f"| {scheme.upper()} | "
              + " | ".join(f"{table[scheme][m]:.2f}" for m in modes) + " |")
    ok = all([check(e, table) for e in args.expect])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
