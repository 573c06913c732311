"""Writes a float MLIR module with one hqdm.linear per requested shape.

    make_linear.py OUT.mlir M:N:K [M:N:K ...] [--no-bias] [--seed S] [--forward]
                   [--gelu none|tanh]

Function @fc<i>(x: [M, K] f32) -> [M, N] f32 computes x * W^T + b with
weights and bias drawn from a fixed-seed normal distribution (weights
~ N(0, 1/K), a few outlier input channels x8 so that clipping and rotation
matter); with --gelu, followed by hqdm.gelu of that approximation.
"""
import argparse

import numpy as np


def dense(values):
    body = ", ".join(f"{v:.6e}" for v in values.reshape(-1))
    return body


def matrix(values):
    rows = ", ".join("[" + dense(r) + "]" for r in values)
    return "[" + rows + "]"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("shapes", nargs="+")
    parser.add_argument("--no-bias", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--forward", action="store_true",
                        help="name the (single) function @forward")
    parser.add_argument("--gelu", choices=["none", "tanh"],
                        help="apply hqdm.gelu (approximate none or tanh)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    lines = []
    for i, shape in enumerate(args.shapes):
        m, n, k = (int(s) for s in shape.split(":"))
        w = rng.normal(0, 1 / np.sqrt(k), (n, k)).astype(np.float32)
        w[:, rng.choice(k, size=max(1, k // 32), replace=False)] *= 8
        b = rng.normal(0, 0.1, n).astype(np.float32)
        fname = "forward" if args.forward else f"fc{i}"
        lines.append(f"func.func @{fname}(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{")
        lines.append(f"  %w = arith.constant dense<{matrix(w)}> : tensor<{n}x{k}xf32>")
        if args.no_bias:
            lines.append(f'  %y = hqdm.linear %x, %w {{name = "fc{i}"}} : '
                         f"(tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>) -> tensor<{m}x{n}xf32>")
        else:
            lines.append(f"  %b = arith.constant dense<[{dense(b)}]> : tensor<{n}xf32>")
            lines.append(f'  %y = hqdm.linear %x, %w bias(%b) {{name = "fc{i}"}} : '
                         f"(tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<{m}x{n}xf32>")
        result = "%y"
        if args.gelu:
            lines.append(f"  %g = hqdm.gelu %y approximate {args.gelu} : tensor<{m}x{n}xf32>")
            result = "%g"
        lines.append(f"  return {result} : tensor<{m}x{n}xf32>")
        lines.append("}")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
