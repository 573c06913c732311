"""Writes a float attention in the form torch-mlir and hqdm-quantize leave it.

The IR is that of test/Models/dit_block.mlir's attention (timm Attention
without fused SDPA), at any size: the qkv projection's output [B, T, 3*H*D]
is split into q, k and v by an expand_shape to [B, T, 3, H, D], a transpose
to [3, B, H, T, D] and slices; q is multiplied by the scale; k is
transposed; the scores and the output are linalg.batch_matmul ops into
zero-filled inits, with hqdm.softmax between them; the heads are merged back
to [B, T, H*D].

Usage: make_attention.py OUT.mlir B:T:H:D [--variant V] [--dtype f32|f16]

Variants:
  q-scale       the scale multiplies q (torch-mlir's DiT form; the default)
  score-scale   the scale multiplies the scores
  mask          a mask argument [B, H, T, T] is added to the scores
  probs-used    the probabilities are also returned
"""
import argparse
import math


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("shape", help="B:T:H:D")
    parser.add_argument("--variant", default="q-scale",
                        choices=["q-scale", "score-scale", "mask", "probs-used"])
    parser.add_argument("--dtype", default="f32", choices=["f32", "f16"])
    args = parser.parse_args()
    b, t, h, d = map(int, args.shape.split(":"))
    bh, hd = b * h, h * d
    ty = args.dtype
    scale = 1.0 / math.sqrt(d)
    v = args.variant

    def tensor(*dims):
        return "tensor<" + "x".join(map(str, dims)) + f"x{ty}>"

    ident4 = "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>"
    par4 = '["parallel", "parallel", "parallel", "parallel"]'
    extra_args = f", %mask: {tensor(b, h, t, t)}" if v == "mask" else ""
    results = tensor(b, t, hd)
    if v == "probs-used":
        results = f"({tensor(b, t, hd)}, {tensor(b, h, t, t)})"
    lines = [
        f"// A float attention, B={b} T={t} H={h} D={d}, variant {v}, {ty}"
        " (make_attention.py).",
        "module {",
        f"  func.func @forward(%qkv: {tensor(b, t, 3 * hd)}{extra_args})"
        f" -> {results} {{",
        f"    %zero = arith.constant 0.000000e+00 : {ty}",
        f"    %scale = arith.constant {scale!r} : f64",
        f"    %e = tensor.expand_shape %qkv [[0], [1], [2, 3, 4]] output_shape"
        f" [{b}, {t}, 3, {h}, {d}] : {tensor(b, t, 3 * hd)} into"
        f" {tensor(b, t, 3, h, d)}",
        f"    %t0 = tensor.empty() : {tensor(3, b, h, t, d)}",
        f"    %tr = linalg.transpose ins(%e : {tensor(b, t, 3, h, d)})"
        f" outs(%t0 : {tensor(3, b, h, t, d)}) permutation = [2, 0, 3, 1, 4]",
    ]
    for i, name in enumerate("qkv"):
        lines.append(
            f"    %{name}s = tensor.extract_slice %tr[{i}, 0, 0, 0, 0]"
            f" [1, {b}, {h}, {t}, {d}] [1, 1, 1, 1, 1] :"
            f" {tensor(3, b, h, t, d)} to {tensor(1, b, h, t, d)}")
    lines += [
        f"    %q4 = tensor.collapse_shape %qs [[0, 1], [2], [3], [4]] :"
        f" {tensor(1, b, h, t, d)} into {tensor(b, h, t, d)}",
        f"    %k4 = tensor.collapse_shape %ks [[0, 1], [2], [3], [4]] :"
        f" {tensor(1, b, h, t, d)} into {tensor(b, h, t, d)}",
    ]
    q = "%q4"
    if v != "score-scale":
        lines += [
            f"    %e1 = tensor.empty() : {tensor(b, h, t, d)}",
            f"    %qsc = linalg.generic {{indexing_maps = [{ident4}, {ident4}],"
            f" iterator_types = {par4}}} ins(%q4 : {tensor(b, h, t, d)})"
            f" outs(%e1 : {tensor(b, h, t, d)}) {{",
            f"    ^bb0(%in: {ty}, %out: {ty}):",
            f"      %s = arith.truncf %scale : f64 to {ty}",
            f"      %m = arith.mulf %in, %s : {ty}",
            f"      linalg.yield %m : {ty}",
            f"    }} -> {tensor(b, h, t, d)}",
        ]
        q = "%qsc"
    lines += [
        f"    %e2 = tensor.empty() : {tensor(b, h, d, t)}",
        f"    %kt = linalg.transpose ins(%k4 : {tensor(b, h, t, d)})"
        f" outs(%e2 : {tensor(b, h, d, t)}) permutation = [0, 1, 3, 2]",
        f"    %q3 = tensor.collapse_shape {q} [[0, 1], [2], [3]] :"
        f" {tensor(b, h, t, d)} into {tensor(bh, t, d)}",
        f"    %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] :"
        f" {tensor(b, h, d, t)} into {tensor(bh, d, t)}",
        f"    %e3 = tensor.empty() : {tensor(bh, t, t)}",
        f"    %f3 = linalg.fill ins(%zero : {ty}) outs(%e3 : {tensor(bh, t, t)})"
        f" -> {tensor(bh, t, t)}",
        f"    %s3 = linalg.batch_matmul ins(%q3, %kt3 : {tensor(bh, t, d)},"
        f" {tensor(bh, d, t)}) outs(%f3 : {tensor(bh, t, t)}) ->"
        f" {tensor(bh, t, t)}",
        f"    %s4 = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape"
        f" [{b}, {h}, {t}, {t}] : {tensor(bh, t, t)} into {tensor(b, h, t, t)}",
        f"    %e6 = tensor.empty() : {tensor(b, h, t, t)}",
    ]
    scores = "%s4"
    if v == "score-scale":
        lines += [
            f"    %ssc = linalg.generic {{indexing_maps = [{ident4}, {ident4}],"
            f" iterator_types = {par4}}} ins(%s4 : {tensor(b, h, t, t)})"
            f" outs(%e6 : {tensor(b, h, t, t)}) {{",
            f"    ^bb0(%in: {ty}, %out: {ty}):",
            f"      %s = arith.truncf %scale : f64 to {ty}",
            f"      %m = arith.mulf %in, %s : {ty}",
            f"      linalg.yield %m : {ty}",
            f"    }} -> {tensor(b, h, t, t)}",
        ]
        scores = "%ssc"
    elif v == "mask":
        lines += [
            f"    %msk = linalg.generic {{indexing_maps = [{ident4}, {ident4},"
            f" {ident4}], iterator_types = {par4}}} ins(%s4, %mask :"
            f" {tensor(b, h, t, t)}, {tensor(b, h, t, t)})"
            f" outs(%e6 : {tensor(b, h, t, t)}) {{",
            f"    ^bb0(%in: {ty}, %in2: {ty}, %out: {ty}):",
            f"      %a = arith.addf %in, %in2 : {ty}",
            f"      linalg.yield %a : {ty}",
            f"    }} -> {tensor(b, h, t, t)}",
        ]
        scores = "%msk"
    lines += [
        f"    %p = hqdm.softmax {scores} {{name = \"softmax_0\"}} :"
        f" {tensor(b, h, t, t)}",
        f"    %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] :"
        f" {tensor(b, h, t, t)} into {tensor(bh, t, t)}",
        f"    %v3 = tensor.collapse_shape %vs [[0, 1, 2], [3], [4]] :"
        f" {tensor(1, b, h, t, d)} into {tensor(bh, t, d)}",
        f"    %e4 = tensor.empty() : {tensor(bh, t, d)}",
        f"    %f4 = linalg.fill ins(%zero : {ty}) outs(%e4 : {tensor(bh, t, d)})"
        f" -> {tensor(bh, t, d)}",
        f"    %o3 = linalg.batch_matmul ins(%p3, %v3 : {tensor(bh, t, t)},"
        f" {tensor(bh, t, d)}) outs(%f4 : {tensor(bh, t, d)}) ->"
        f" {tensor(bh, t, d)}",
        f"    %o4 = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape"
        f" [{b}, {h}, {t}, {d}] : {tensor(bh, t, d)} into {tensor(b, h, t, d)}",
        f"    %e5 = tensor.empty() : {tensor(b, t, h, d)}",
        f"    %ot = linalg.transpose ins(%o4 : {tensor(b, h, t, d)})"
        f" outs(%e5 : {tensor(b, t, h, d)}) permutation = [0, 2, 1, 3]",
        f"    %out = tensor.collapse_shape %ot [[0], [1], [2, 3]] :"
        f" {tensor(b, t, h, d)} into {tensor(b, t, hd)}",
    ]
    if v == "probs-used":
        lines.append(f"    return %out, %p : {tensor(b, t, hd)},"
                     f" {tensor(b, h, t, t)}")
    else:
        lines.append(f"    return %out : {tensor(b, t, hd)}")
    lines += ["  }", "}", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
