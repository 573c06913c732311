"""Compares what printMemrefF32 printed with a numpy reference.

    compare.py PRINTED REFERENCE [--tolerance T]

PRINTED is mlir-runner's output (the "Unranked Memref ..." line, which may
be cut off, then the nested brackets), REFERENCE a text file of numbers (np.savetxt). Passes when
both hold the same number of values and every value is within T (default
1e-4) of the reference, relative to the largest reference magnitude
(printMemrefF32 prints 6 significant digits).
"""

import argparse
import re
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("printed")
    ap.add_argument("reference")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    text = open(args.printed).read()
    # Without the "Unranked Memref ... data =" line when it was cut off.
    if "data =" in text:
        text = text[text.index("data =") + len("data ="):]
    got = np.array([float(v) for v in re.findall(
        r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf", text)])
    want = np.loadtxt(args.reference).reshape(-1)
    if got.size != want.size:
        sys.exit(f"FAIL: {got.size} values printed, {want.size} expected")
    scale = np.abs(want).max()
    err = np.abs(got - want).max() / scale
    if not err <= args.tolerance:
        sys.exit(f"FAIL: max relative error {err:.3g} > {args.tolerance}")
    print(f"OK: {got.size} values, max error {err:.2g} of max |y| {scale:.3g}")


if __name__ == "__main__":
    main()
