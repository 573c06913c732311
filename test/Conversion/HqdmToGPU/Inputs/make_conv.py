"""Writes a float MLIR module with one hqdm.conv2d per requested shape.

    make_conv.py OUT.mlir N:C:H:W:F:K[:STRIDE[:PAD[:DILATION]]] [...]
        [--no-bias] [--seed S] [--forward]

Function @conv<i>(x: [N, C, H, W] f32) -> [N, F, OH, OW] f32 is a K x K
convolution (one group) with the given stride, padding and dilation (the
same along H and W; defaults 1, K // 2, 1), weights ~ N(0, 1/(C K^2)) with
a few outlier input channels x8, and a bias ~ N(0, 0.1).
"""
import argparse

import numpy as np


def dense(values):
    return ", ".join(f"{v:.6e}" for v in values.reshape(-1))


def nested(values):
    if values.ndim == 1:
        return "[" + dense(values) + "]"
    return "[" + ", ".join(nested(v) for v in values) + "]"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("shapes", nargs="+")
    parser.add_argument("--no-bias", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--forward", action="store_true",
                        help="name the (single) function @forward")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    lines = []
    for i, shape in enumerate(args.shapes):
        fields = [int(s) for s in shape.split(":")]
        n, c, h, w, f, k = fields[:6]
        stride = fields[6] if len(fields) > 6 else 1
        pad = fields[7] if len(fields) > 7 else k // 2
        dilation = fields[8] if len(fields) > 8 else 1
        oh = (h + 2 * pad - dilation * (k - 1) - 1) // stride + 1
        ow = (w + 2 * pad - dilation * (k - 1) - 1) // stride + 1
        weight = rng.normal(0, 1 / np.sqrt(c * k * k), (f, c, k, k)).astype(np.float32)
        weight[:, rng.choice(c, size=max(1, c // 32), replace=False)] *= 8
        bias = rng.normal(0, 0.1, f).astype(np.float32)
        x_type = f"tensor<{n}x{c}x{h}x{w}xf32>"
        w_type = f"tensor<{f}x{c}x{k}x{k}xf32>"
        y_type = f"tensor<{n}x{f}x{oh}x{ow}xf32>"
        attrs = (f'name = "conv{i}", strides = array<i64: {stride}, {stride}>, '
                 f"padding = array<i64: {pad}, {pad}>, "
                 f"dilations = array<i64: {dilation}, {dilation}>")
        fname = "forward" if args.forward else f"conv{i}"
        lines.append(f"func.func @{fname}(%x: {x_type}) -> {y_type} {{")
        lines.append(f"  %w = arith.constant dense<{nested(weight)}> : {w_type}")
        if args.no_bias:
            lines.append(f"  %y = hqdm.conv2d %x, %w {{{attrs}}} : "
                         f"({x_type}, {w_type}) -> {y_type}")
        else:
            lines.append(f"  %b = arith.constant dense<[{dense(bias)}]> : tensor<{f}xf32>")
            lines.append(f"  %y = hqdm.conv2d %x, %w bias(%b) {{{attrs}}} : "
                         f"({x_type}, {w_type}, tensor<{f}xf32>) -> {y_type}")
        lines.append(f"  return %y : {y_type}")
        lines.append("}")
    with open(args.out, "w") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
