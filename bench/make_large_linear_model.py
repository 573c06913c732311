#!/usr/bin/env python3
"""A stack of DiT-XL/2-sized Linear layers in torch-mlir's linalg form, with
its weights in a safetensors file (numpy only).

Each block, on x [B, T, D] and the conditioning c [B, D]:

    mod = adaLN(c)                       # 2-D Linear D -> 6D (transpose + matmul + bias)
    h   = qkv(x)[..., :D]                # 3-D Linear D -> 3D (transpose + broadcast
    h   = proj(h)                        #   + batch_matmul + bias), as torch-mlir
    h   = fc2(gelu_tanh(fc1(h)))         #   emits aten.linear on a 3-D input
    x   = x + h * (1 + mod[:, None, :D]) + mod[:, None, D:2D]

The weights are `arith.constant dense_resource<blocks.N.attn.qkv.weight>`
(PyTorch state_dict names) without a dialect_resources trailer, and the
module carries `hqdm.weights = "<the safetensors file>"` unless --no-attr.
With --inline the same weights go into the trailer instead (for comparing
the two ways of giving weights). With --main a @main builds seeded inputs,
calls @forward and prints the result; `reference` recomputes that output
with numpy from the safetensors file.

    make_large_linear_model.py make --depth 28 -o dit.mlir --weights dit.safetensors
    make_large_linear_model.py make --depth 1 --hidden 64 --tokens 4 --main ...
    make_large_linear_model.py reference dit.safetensors --depth 1 ... > ref.txt

DiT-XL/2: D = 1152, T = 256 tokens, MLP 4D = 4608, 28 blocks (675M
parameters with the embedders; these layers hold 669M).
"""

import argparse
import os
import sys

import numpy as np
import safetensors.numpy

GELU_B = 0.7977240352174656


def layer_shapes(depth, d, mlp):
    """(name, [out, in]) of every Linear, in state_dict order."""
    shapes = []
    for n in range(depth):
        p = f"blocks.{n}"
        shapes += [
            (f"{p}.adaLN_modulation.1", [6 * d, d]),
            (f"{p}.attn.qkv", [3 * d, d]),
            (f"{p}.attn.proj", [d, d]),
            (f"{p}.mlp.fc1", [mlp, d]),
            (f"{p}.mlp.fc2", [d, mlp]),
        ]
    return shapes


def make_weights(depth, d, mlp, seed):
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, (out, k) in layer_shapes(depth, d, mlp):
        w = rng.standard_normal((out, k), dtype=np.float32)
        w *= np.float32(1.0 / np.sqrt(k))
        # A few outlier input channels, as real DiT weights have.
        cols = rng.choice(k, size=max(1, k // 64), replace=False)
        w[:, cols] *= np.float32(4.0)
        tensors[name + ".weight"] = w
        tensors[name + ".bias"] = (
            rng.standard_normal(out, dtype=np.float32) * np.float32(0.02))
    return tensors


class Emitter:
    def __init__(self):
        self.lines = []
        self.n = 0

    def fresh(self, prefix="v"):
        self.n += 1
        return f"%{prefix}{self.n}"

    def emit(self, line):
        self.lines.append("    " + line)


def t(shape):
    return "tensor<" + "x".join(str(s) for s in shape) + "xf32>"


def linear3d(e, x, w, b, bsz, tok, k, n):
    """torch-mlir's aten.linear on [B, T, K]: transpose, broadcast copy
    generic, batch_matmul into a zero fill, bias generic."""
    e0, tr, e1, bc, e2, z, mm, y = (e.fresh() for _ in range(8))
    e.emit(f"{e0} = tensor.empty() : {t([k, n])}")
    e.emit(f"{tr} = linalg.transpose ins({w} : {t([n, k])}) outs({e0} : "
           f"{t([k, n])}) permutation = [1, 0] ")
    e.emit(f"{e1} = tensor.empty() : {t([bsz, k, n])}")
    e.emit(f"{bc} = linalg.generic {{indexing_maps = [#map6, #map2], "
           f"iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} "
           f"ins({tr} : {t([k, n])}) outs({e1} : {t([bsz, k, n])}) {{")
    e.emit("^bb0(%in: f32, %out: f32):")
    e.emit("  linalg.yield %in : f32")
    e.emit(f"}} -> {t([bsz, k, n])}")
    e.emit(f"{e2} = tensor.empty() : {t([bsz, tok, n])}")
    e.emit(f"{z} = linalg.fill ins(%zero : f32) outs({e2} : "
           f"{t([bsz, tok, n])}) -> {t([bsz, tok, n])}")
    e.emit(f"{mm} = linalg.batch_matmul ins({x}, {bc} : {t([bsz, tok, k])}, "
           f"{t([bsz, k, n])}) outs({z} : {t([bsz, tok, n])}) -> "
           f"{t([bsz, tok, n])}")
    e.emit(f"{y} = linalg.generic {{indexing_maps = [#map2, #map7, #map2], "
           f"iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} "
           f"ins({mm}, {b} : {t([bsz, tok, n])}, {t([n])}) outs({e2} : "
           f"{t([bsz, tok, n])}) {{")
    e.emit("^bb0(%in: f32, %in_0: f32, %out: f32):")
    e.emit("  %s = arith.addf %in, %in_0 : f32")
    e.emit("  linalg.yield %s : f32")
    e.emit(f"}} -> {t([bsz, tok, n])}")
    return y


def linear2d(e, x, w, b, rows, k, n):
    """aten.linear on [B, K]: transpose, matmul into a zero fill, bias."""
    e0, tr, e1, z, mm, y = (e.fresh() for _ in range(6))
    e.emit(f"{e0} = tensor.empty() : {t([k, n])}")
    e.emit(f"{tr} = linalg.transpose ins({w} : {t([n, k])}) outs({e0} : "
           f"{t([k, n])}) permutation = [1, 0] ")
    e.emit(f"{e1} = tensor.empty() : {t([rows, n])}")
    e.emit(f"{z} = linalg.fill ins(%zero : f32) outs({e1} : {t([rows, n])})"
           f" -> {t([rows, n])}")
    e.emit(f"{mm} = linalg.matmul ins({x}, {tr} : {t([rows, k])}, "
           f"{t([k, n])}) outs({z} : {t([rows, n])}) -> {t([rows, n])}")
    e.emit(f"{y} = linalg.generic {{indexing_maps = [#map, #map1, #map], "
           f"iterator_types = [\"parallel\", \"parallel\"]}} ins({mm}, {b} : "
           f"{t([rows, n])}, {t([n])}) outs({e1} : {t([rows, n])}) {{")
    e.emit("^bb0(%in: f32, %in_0: f32, %out: f32):")
    e.emit("  %s = arith.addf %in, %in_0 : f32")
    e.emit("  linalg.yield %s : f32")
    e.emit(f"}} -> {t([rows, n])}")
    return y


def gelu(e, x, shape):
    e0, y = e.fresh(), e.fresh()
    e.emit(f"{e0} = tensor.empty() : {t(shape)}")
    e.emit(f"{y} = linalg.generic {{indexing_maps = [#map2, #map2], "
           f"iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} "
           f"ins({x} : {t(shape)}) outs({e0} : {t(shape)}) {{")
    e.emit("^bb0(%in: f32, %out: f32):")
    e.emit("  %p = math.fpowi %in, %c3_i64 : f32, i64")
    e.emit("  %m = arith.mulf %p, %c_044715 : f32")
    e.emit("  %a = arith.addf %in, %m : f32")
    e.emit("  %s = arith.mulf %a, %c_gelu_b : f32")
    e.emit("  %th = math.tanh %s : f32")
    e.emit("  %o = arith.addf %th, %one : f32")
    e.emit("  %hf = arith.mulf %o, %half : f32")
    e.emit("  %r = arith.mulf %in, %hf : f32")
    e.emit("  linalg.yield %r : f32")
    e.emit(f"}} -> {t(shape)}")
    return y


def slice_expand(e, v, bsz, width, offset, d):
    """mod[:, offset:offset+d] as [B, 1, d]."""
    s, x = e.fresh(), e.fresh()
    e.emit(f"{s} = tensor.extract_slice {v}[0, {offset}] [{bsz}, {d}] [1, 1] "
           f": {t([bsz, width])} to {t([bsz, d])}")
    e.emit(f"{x} = tensor.expand_shape {s} [[0], [1, 2]] output_shape "
           f"[{bsz}, 1, {d}] : {t([bsz, d])} into {t([bsz, 1, d])}")
    return x


def modulate_residual(e, x, h, scale, shift, shape):
    """x + h * (1 + scale) + shift, scale and shift [B, 1, D]."""
    e0, a, b2, c = e.fresh(), e.fresh(), e.fresh(), e.fresh()
    e.emit(f"{e0} = tensor.empty() : {t(shape)}")
    bsz, _, d = shape
    e.emit(f"{a} = linalg.generic {{indexing_maps = [#map2, #map5, #map2], "
           f"iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} "
           f"ins({h}, {scale} : {t(shape)}, {t([bsz, 1, d])}) outs({e0} : "
           f"{t(shape)}) {{")
    e.emit("^bb0(%in: f32, %in_0: f32, %out: f32):")
    e.emit("  %o = arith.addf %in_0, %one : f32")
    e.emit("  %r = arith.mulf %in, %o : f32")
    e.emit("  linalg.yield %r : f32")
    e.emit(f"}} -> {t(shape)}")
    e.emit(f"{b2} = linalg.generic {{indexing_maps = [#map2, #map5, #map2], "
           f"iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} "
           f"ins({a}, {shift} : {t(shape)}, {t([bsz, 1, d])}) outs({e0} : "
           f"{t(shape)}) {{")
    e.emit("^bb0(%in: f32, %in_0: f32, %out: f32):")
    e.emit("  %r = arith.addf %in, %in_0 : f32")
    e.emit("  linalg.yield %r : f32")
    e.emit(f"}} -> {t(shape)}")
    e.emit(f"{c} = linalg.generic {{indexing_maps = [#map2, #map2, #map2], "
           f"iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} "
           f"ins({x}, {b2} : {t(shape)}, {t(shape)}) outs({e0} : "
           f"{t(shape)}) {{")
    e.emit("^bb0(%in: f32, %in_0: f32, %out: f32):")
    e.emit("  %r = arith.addf %in, %in_0 : f32")
    e.emit("  linalg.yield %r : f32")
    e.emit(f"}} -> {t(shape)}")
    return c


def inputs(bsz, tok, d, seed):
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((bsz, tok, d)).astype(np.float32)
    c = rng.standard_normal((bsz, d)).astype(np.float32)
    return x, c


def hex_dense(a):
    return '"0x' + np.ascontiguousarray(a, dtype="<f4").tobytes().hex().upper() + '"'


def emit_module(args, tensors):
    d, mlp, bsz, tok = args.hidden, args.mlp, args.batch, args.tokens
    e = Emitter()
    # Weights first, as torch-mlir hoists them.
    consts = {}
    for i, (name, array) in enumerate(tensors.items()):
        v = f"%w{i}"
        consts[name] = v
        e.emit(f"{v} = arith.constant dense_resource<{name}> : "
               f"{t(list(array.shape))}")
    x = "%arg0"
    for n in range(args.depth):
        p = f"blocks.{n}"
        w = lambda s: consts[f"{p}.{s}"]
        mod = linear2d(e, "%arg1", w("adaLN_modulation.1.weight"),
                       w("adaLN_modulation.1.bias"), bsz, d, 6 * d)
        h = linear3d(e, x, w("attn.qkv.weight"), w("attn.qkv.bias"), bsz, tok,
                     d, 3 * d)
        s = e.fresh()
        e.emit(f"{s} = tensor.extract_slice {h}[0, 0, 0] [{bsz}, {tok}, {d}] "
               f"[1, 1, 1] : {t([bsz, tok, 3 * d])} to {t([bsz, tok, d])}")
        h = linear3d(e, s, w("attn.proj.weight"), w("attn.proj.bias"), bsz,
                     tok, d, d)
        h = linear3d(e, h, w("mlp.fc1.weight"), w("mlp.fc1.bias"), bsz, tok, d,
                     mlp)
        h = gelu(e, h, [bsz, tok, mlp])
        h = linear3d(e, h, w("mlp.fc2.weight"), w("mlp.fc2.bias"), bsz, tok,
                     mlp, d)
        scale = slice_expand(e, mod, bsz, 6 * d, 0, d)
        shift = slice_expand(e, mod, bsz, 6 * d, d, d)
        x = modulate_residual(e, x, h, scale, shift, [bsz, tok, d])

    out = []
    out.append("// Generated by bench/make_large_linear_model.py: "
               + " ".join(sys.argv[1:]))
    out += [
        "#map = affine_map<(d0, d1) -> (d0, d1)>",
        "#map1 = affine_map<(d0, d1) -> (d1)>",
        "#map2 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>",
        "#map5 = affine_map<(d0, d1, d2) -> (d0, 0, d2)>",
        "#map6 = affine_map<(d0, d1, d2) -> (d1, d2)>",
        "#map7 = affine_map<(d0, d1, d2) -> (d2)>",
    ]
    attr = ""
    if (args.weights or args.attr_path) and not args.no_attr \
            and not args.inline:
        attr = f' attributes {{hqdm.weights = "{args.attr_path or args.weights}"}}'
    out.append(f"module{attr} {{")
    out.append(f"  func.func @forward(%arg0: {t([bsz, tok, d])}, %arg1: "
               f"{t([bsz, d])}) -> {t([bsz, tok, d])} {{")
    out += [
        "    %zero = arith.constant 0.000000e+00 : f32",
        "    %one = arith.constant 1.000000e+00 : f32",
        "    %half = arith.constant 5.000000e-01 : f32",
        "    %c_044715 = arith.constant 4.471500e-02 : f32",
        f"    %c_gelu_b = arith.constant {GELU_B!r} : f32",
        "    %c3_i64 = arith.constant 3 : i64",
    ]
    out += e.lines
    out.append(f"    return {x} : {t([bsz, tok, d])}")
    out.append("  }")
    if args.main:
        xi, ci = inputs(bsz, tok, d, args.seed)
        out += [
            "  func.func private @printMemrefF32(memref<*xf32>) attributes "
            "{llvm.emit_c_interface}",
            "  func.func @main() {",
            f"    %x = arith.constant dense<{hex_dense(xi)}> : {t(xi.shape)}",
            f"    %c = arith.constant dense<{hex_dense(ci)}> : {t(ci.shape)}",
            f"    %r = call @forward(%x, %c) : ({t(xi.shape)}, {t(ci.shape)})"
            f" -> {t(xi.shape)}",
            f"    %m = bufferization.to_buffer %r : {t(xi.shape)} to "
            f"memref<{'x'.join(map(str, xi.shape))}xf32>",
            f"    %u = memref.cast %m : memref<{'x'.join(map(str, xi.shape))}"
            "xf32> to memref<*xf32>",
            "    call @printMemrefF32(%u) : (memref<*xf32>) -> ()",
            "    return",
            "  }",
        ]
    out.append("}")
    if args.inline:
        out.append("")
        out.append("{-#")
        out.append("  dialect_resources: {")
        out.append("    builtin: {")
        entries = []
        for name, array in tensors.items():
            raw = b"\x04\x00\x00\x00" + np.ascontiguousarray(
                array, dtype="<f4").tobytes()
            entries.append(f'      {name}: "0x{raw.hex().upper()}"')
        out.append(",\n".join(entries))
        out.append("    }")
        out.append("  }")
        out.append("#-}")
    return "\n".join(out) + "\n"


def forward(tensors, depth, x, c):
    x = x.astype(np.float64)
    c = c.astype(np.float64)
    d = x.shape[-1]
    for n in range(depth):
        p = f"blocks.{n}"
        w = lambda s: tensors[f"{p}.{s}"].astype(np.float64)
        mod = c @ w("adaLN_modulation.1.weight").T + w("adaLN_modulation.1.bias")
        h = x @ w("attn.qkv.weight").T + w("attn.qkv.bias")
        h = h[..., :d]
        h = h @ w("attn.proj.weight").T + w("attn.proj.bias")
        h = h @ w("mlp.fc1.weight").T + w("mlp.fc1.bias")
        h = 0.5 * h * (1 + np.tanh(GELU_B * (h + 0.044715 * h ** 3)))
        h = h @ w("mlp.fc2.weight").T + w("mlp.fc2.bias")
        x = x + h * (1 + mod[:, None, :d]) + mod[:, None, d:2 * d]
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("make", "reference"):
        s = sub.add_parser(name)
        s.add_argument("--depth", type=int, default=1)
        s.add_argument("--hidden", type=int, default=1152)
        s.add_argument("--mlp", type=int, default=0,
                       help="MLP width (default 4 * hidden)")
        s.add_argument("--tokens", type=int, default=256)
        s.add_argument("--batch", type=int, default=1)
        s.add_argument("--seed", type=int, default=0)
    m = sub.choices["make"]
    m.add_argument("-o", "--output", required=True, help="the .mlir file")
    m.add_argument("--weights", help="the safetensors file to write")
    m.add_argument("--attr-path",
                   help="the hqdm.weights path to record (default --weights)")
    m.add_argument("--no-attr", action="store_true",
                   help="no hqdm.weights module attribute")
    m.add_argument("--inline", action="store_true",
                   help="weights in the dialect_resources trailer instead")
    m.add_argument("--main", action="store_true",
                   help="add a @main printing @forward of seeded inputs")
    r = sub.choices["reference"]
    r.add_argument("weights_file")
    args = ap.parse_args()
    if not args.mlp:
        args.mlp = 4 * args.hidden

    if args.cmd == "reference":
        tensors = safetensors.numpy.load_file(args.weights_file)
        x, c = inputs(args.batch, args.tokens, args.hidden, args.seed)
        y = forward(tensors, args.depth, x, c)
        np.savetxt(sys.stdout, y.reshape(-1, y.shape[-1]), fmt="%.9g")
        return

    tensors = make_weights(args.depth, args.hidden, args.mlp, args.seed)
    if args.weights:
        safetensors.numpy.save_file(
            tensors, args.weights,
            metadata={"format": "pt",
                      "generator": "bench/make_large_linear_model.py"})
    with open(args.output, "w") as f:
        f.write(emit_module(args, tensors))


if __name__ == "__main__":
    main()
