"""Compares two printMemrefF32 outputs element by element.

Usage: compare_outputs.py RAISED REFERENCE [RELATIVE_TOLERANCE]

Each file holds what mlir-runner printed for one @main: a header line with
the sizes, then the nested list of values. The check passes when both have
the same sizes and every pair of values agrees to the relative tolerance
(default 1e-5), with an absolute floor of 1e-7 for values near zero.
"""

import re
import sys


def read(path):
    text = open(path).read()
    sizes = re.search(r"sizes = \[([^\]]*)\]", text)
    if not sizes:
        sys.exit(f"{path}: no printed memref")
    data = text[text.index("data =") + len("data ="):]
    values = [float(v) for v in re.findall(r"[-+]?(?:nan|inf|[0-9.]+(?:e[-+]?[0-9]+)?)", data)]
    return sizes.group(1), values


def main():
    raised_path, reference_path = sys.argv[1], sys.argv[2]
    tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-5
    raised_sizes, raised = read(raised_path)
    reference_sizes, reference = read(reference_path)
    if raised_sizes != reference_sizes or len(raised) != len(reference):
        sys.exit(f"sizes differ: [{raised_sizes}] vs [{reference_sizes}]")
    worst = 0.0
    for i, (a, b) in enumerate(zip(raised, reference)):
        error = abs(a - b) / max(abs(a), abs(b), 1e-7 / tolerance)
        worst = max(worst, error)
        if not error <= tolerance:
            sys.exit(f"value {i}: {a} vs {b} (relative error {error:.2e})")
    print(f"ok: {len(raised)} values, max relative error {worst:.2e}")


if __name__ == "__main__":
    main()
