#!/usr/bin/env python3
# ===- make_models.py - Test models in torch-mlir linalg-on-tensors IR ------===#
#
# Makes and checks the models in this directory (see README.md):
#
#   dit_block      DiT block, D=64, 2 heads, N=16 tokens, batch 2, adaLN-Zero
#   unet_resblock  latent-diffusion ResBlock, 32 channels, 8x8, batch 2, emb 64
#   mlp            Linear(64,128) -> GELU(tanh) -> Linear(128,64) on [16,64]
#
# Sub-commands:
#
#   export [NAME...]      (needs torch + iree-base-compiler: see README.md)
#       Builds the PyTorch modules with the seeded weights below, imports them
#       with torch-mlir's FX importer and lowers them with torch-mlir's
#       pipelines to linalg-on-tensors, checks that the IR uses only upstream
#       dialects and that MLIR 22's mlir-opt parses it, appends a @main that
#       builds the seeded inputs and prints @forward's result, and writes
#       <NAME>.mlir. It also checks the numpy reference against PyTorch.
#
#   reference NAME        (numpy only)
#       Prints the float64 numpy forward of NAME (one value per line).
#
#   check NAME OUTPUT     (numpy only)
#       OUTPUT is what mlir-runner printed for <NAME>.mlir's @main. Compares
#       it with the numpy forward; fails unless the max relative error
#       (max |out - ref| / max |ref|) is below CHECK_TOLERANCE (2e-5).
#
# The weights and inputs are generated with numpy (seeded), so `reference`
# and `check` need no PyTorch; `export` copies the same arrays into the
# torch modules.
#
# ===----------------------------------------------------------------------===#

import argparse
import math
import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MLIR_OPT = "/usr/lib/llvm-22/bin/mlir-opt"
MODELS = ("dit_block", "unet_resblock", "mlp")

# ---------------------------------------------------------------------------
# Seeded parameters and inputs, with outliers
# ---------------------------------------------------------------------------


def _normal(rng, shape, std):
    return (rng.standard_normal(shape) * std).astype(np.float32)


def dit_block_params():
    """Weights of DiTBlock(D=64, heads=2, mlp_ratio=4); PyTorch layouts."""
    D, Hd = 64, 256
    rng = np.random.default_rng(1001)
    p = {}
    # adaLN_modulation[1] = Linear(D, 6D): rows are [shift_msa | scale_msa |
    # gate_msa | shift_mlp | scale_mlp | gate_mlp], D rows each.
    w = _normal(rng, (6 * D, D), 0.5 / math.sqrt(D))
    b = _normal(rng, (6 * D,), 0.1)
    b[2 * D:3 * D] += 0.3   # gate_msa centred at 0.3
    b[5 * D:6 * D] += 0.3   # gate_mlp centred at 0.3
    # A few large per-channel shift/scale values (strong rows + large bias).
    for chunk, ch, bias in ((0, 9, 4.0), (0, 33, -4.0),     # shift_msa
                            (1, 9, 3.0), (1, 47, 3.0),      # scale_msa
                            (3, 21, -5.0),                  # shift_mlp
                            (4, 21, 3.0), (4, 58, 2.5)):    # scale_mlp
        w[chunk * D + ch] *= 6.0
        b[chunk * D + ch] = bias
    p["adaLN_modulation.1.weight"], p["adaLN_modulation.1.bias"] = w, b
    p["attn.qkv.weight"] = _normal(rng, (3 * D, D), 1.0 / math.sqrt(D))
    p["attn.qkv.bias"] = _normal(rng, (3 * D,), 0.02)
    p["attn.proj.weight"] = _normal(rng, (D, D), 1.0 / math.sqrt(D))
    p["attn.proj.bias"] = _normal(rng, (D,), 0.02)
    w1 = _normal(rng, (Hd, D), 1.0 / math.sqrt(D))
    b1 = _normal(rng, (Hd,), 0.02)
    # Large-norm rows that also read the residual stream's outlier channels
    # with their (persistent) signs: their pre-activations are large and
    # mostly positive, so these post-GELU channels (fc2's input) are outliers.
    for r in DIT_FC1_OUTLIER_ROWS:
        w1[r] *= 6.0
        for i, ch in enumerate(DIT_X_OUTLIER_CHANNELS):
            w1[r, ch] += 0.5 if i % 2 == 0 else -0.5
        b1[r] = 1.5
    p["mlp.fc1.weight"], p["mlp.fc1.bias"] = w1, b1
    p["mlp.fc2.weight"] = _normal(rng, (D, Hd), 1.0 / math.sqrt(Hd))
    p["mlp.fc2.bias"] = _normal(rng, (D,), 0.02)
    return p


DIT_X_OUTLIER_CHANNELS = (5, 17, 38, 50)
DIT_FC1_OUTLIER_ROWS = (11, 77, 140, 203)
RES_X_OUTLIER_CHANNELS = (3, 21, 29)
MLP_X_OUTLIER_CHANNELS = (7, 40)
MLP_FC1_OUTLIER_ROWS = (5, 60, 99)


def _outlier_channels(rng, x, axis, channels, mag):
    """Sets the given channels to a signed offset of size `mag` plus noise of
    std mag/10, so they are about `mag` times the N(0,1) channels."""
    for i, ch in enumerate(channels):
        sign = 1.0 if i % 2 == 0 else -1.0
        idx = [slice(None)] * x.ndim
        idx[axis] = ch
        shape = x[tuple(idx)].shape
        x[tuple(idx)] = sign * mag + rng.standard_normal(shape) * (mag / 10)
    return x


def dit_block_inputs():
    rng = np.random.default_rng(2001)
    x = rng.standard_normal((2, 16, 64))
    x = _outlier_channels(rng, x, 2, DIT_X_OUTLIER_CHANNELS, 20.0)
    c = rng.standard_normal((2, 64))
    return [x.astype(np.float32), c.astype(np.float32)]


def unet_resblock_params():
    C, E = 32, 64
    rng = np.random.default_rng(1002)
    p = {}
    p["in_norm.weight"] = (1.0 + _normal(rng, (C,), 0.1)).astype(np.float32)
    p["in_norm.bias"] = _normal(rng, (C,), 0.1)
    p["in_conv.weight"] = _normal(rng, (C, C, 3, 3), 1.0 / math.sqrt(9 * C))
    p["in_conv.bias"] = _normal(rng, (C,), 0.02)
    p["emb_linear.weight"] = _normal(rng, (C, E), 1.0 / math.sqrt(E))
    p["emb_linear.bias"] = _normal(rng, (C,), 0.05)
    p["out_norm.weight"] = (1.0 + _normal(rng, (C,), 0.1)).astype(np.float32)
    p["out_norm.bias"] = _normal(rng, (C,), 0.1)
    p["out_conv.weight"] = _normal(rng, (C, C, 3, 3), 1.0 / math.sqrt(9 * C))
    p["out_conv.bias"] = _normal(rng, (C,), 0.02)
    return p


def unet_resblock_inputs():
    rng = np.random.default_rng(2002)
    x = rng.standard_normal((2, 32, 8, 8))
    x = _outlier_channels(rng, x, 1, RES_X_OUTLIER_CHANNELS, 15.0)
    emb = rng.standard_normal((2, 64))
    return [x.astype(np.float32), emb.astype(np.float32)]


def mlp_params():
    rng = np.random.default_rng(1003)
    w1 = _normal(rng, (128, 64), 1.0 / math.sqrt(64))
    b1 = _normal(rng, (128,), 0.02)
    for r in MLP_FC1_OUTLIER_ROWS:
        w1[r] *= 6.0
        b1[r] = 1.5
    return {"fc1.weight": w1, "fc1.bias": b1,
            "fc2.weight": _normal(rng, (64, 128), 1.0 / math.sqrt(128)),
            "fc2.bias": _normal(rng, (64,), 0.02)}


def mlp_inputs():
    rng = np.random.default_rng(2003)
    x = rng.standard_normal((16, 64))
    x = _outlier_channels(rng, x, 1, MLP_X_OUTLIER_CHANNELS, 20.0)
    return [x.astype(np.float32)]


PARAMS = {"dit_block": dit_block_params, "unet_resblock": unet_resblock_params,
          "mlp": mlp_params}
INPUTS = {"dit_block": dit_block_inputs, "unet_resblock": unet_resblock_inputs,
          "mlp": mlp_inputs}

# ---------------------------------------------------------------------------
# numpy float64 forwards (independent of PyTorch)
# ---------------------------------------------------------------------------


def _f64(p):
    return {k: v.astype(np.float64) for k, v in p.items()}


def _linear(x, w, b):
    return x @ w.T + b


def _silu(x):
    return x / (1.0 + np.exp(-x))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi)
                                    * (x + 0.044715 * x ** 3)))


def _layer_norm(x, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def _group_norm(x, groups, gamma, beta, eps):
    B, C, H, W = x.shape
    g = x.reshape(B, groups, -1)
    mu = g.mean(-1, keepdims=True)
    var = ((g - mu) ** 2).mean(-1, keepdims=True)
    y = ((g - mu) / np.sqrt(var + eps)).reshape(B, C, H, W)
    return y * gamma[None, :, None, None] + beta[None, :, None, None]


def _conv3x3_pad1(x, w, b):
    B, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((B, w.shape[0], H, W))
    for kh in range(3):
        for kw in range(3):
            out += np.einsum("bchw,oc->bohw", xp[:, :, kh:kh + H, kw:kw + W],
                             w[:, :, kh, kw])
    return out + b[None, :, None, None]


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def dit_block_ref(x, c):
    p = _f64(dit_block_params())
    x, c = x.astype(np.float64), c.astype(np.float64)
    B, N, D = x.shape
    heads, hd = 2, D // 2
    mod = _linear(_silu(c), p["adaLN_modulation.1.weight"],
                  p["adaLN_modulation.1.bias"])
    (shift_msa, scale_msa, gate_msa,
     shift_mlp, scale_mlp, gate_mlp) = np.split(mod, 6, axis=1)

    def modulate(h, shift, scale):
        return h * (1 + scale[:, None, :]) + shift[:, None, :]

    h = modulate(_layer_norm(x, 1e-6), shift_msa, scale_msa)
    qkv = _linear(h, p["attn.qkv.weight"], p["attn.qkv.bias"])
    qkv = qkv.reshape(B, N, 3, heads, hd).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * hd ** -0.5, qkv[1], qkv[2]
    a = _softmax(q @ k.transpose(0, 1, 3, 2)) @ v
    a = a.transpose(0, 2, 1, 3).reshape(B, N, D)
    a = _linear(a, p["attn.proj.weight"], p["attn.proj.bias"])
    x = x + gate_msa[:, None, :] * a
    h = modulate(_layer_norm(x, 1e-6), shift_mlp, scale_mlp)
    h = _gelu_tanh(_linear(h, p["mlp.fc1.weight"], p["mlp.fc1.bias"]))
    h = _linear(h, p["mlp.fc2.weight"], p["mlp.fc2.bias"])
    return x + gate_mlp[:, None, :] * h


def unet_resblock_ref(x, emb):
    p = _f64(unet_resblock_params())
    x, emb = x.astype(np.float64), emb.astype(np.float64)
    h = _silu(_group_norm(x, 8, p["in_norm.weight"], p["in_norm.bias"], 1e-5))
    h = _conv3x3_pad1(h, p["in_conv.weight"], p["in_conv.bias"])
    e = _linear(_silu(emb), p["emb_linear.weight"], p["emb_linear.bias"])
    h = h + e[:, :, None, None]
    h = _silu(_group_norm(h, 8, p["out_norm.weight"], p["out_norm.bias"],
                          1e-5))
    h = _conv3x3_pad1(h, p["out_conv.weight"], p["out_conv.bias"])
    return x + h


def mlp_ref(x):
    p = _f64(mlp_params())
    h = _gelu_tanh(_linear(x.astype(np.float64), p["fc1.weight"],
                           p["fc1.bias"]))
    return _linear(h, p["fc2.weight"], p["fc2.bias"])


REFS = {"dit_block": dit_block_ref, "unet_resblock": unet_resblock_ref,
        "mlp": mlp_ref}


def reference(name):
    return REFS[name](*INPUTS[name]())


# ---------------------------------------------------------------------------
# PyTorch modules (export only)
# ---------------------------------------------------------------------------


def torch_modules():
    import torch
    import torch.nn as nn

    def modulate(x, shift, scale):   # facebookresearch/DiT models.py
        return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)

    class Attention(nn.Module):
        """timm Attention with fused_attn=False, qkv_bias=True, no q/k norm,
        no dropout."""

        def __init__(self, dim, num_heads):
            super().__init__()
            self.num_heads = num_heads
            self.head_dim = dim // num_heads
            self.scale = self.head_dim ** -0.5
            self.qkv = nn.Linear(dim, dim * 3, bias=True)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            B, N, C = x.shape
            qkv = self.qkv(x).reshape(B, N, 3, self.num_heads,
                                      self.head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            attn = attn.softmax(dim=-1)
            x = attn @ v
            x = x.transpose(1, 2).reshape(B, N, C)
            return self.proj(x)

    class Mlp(nn.Module):   # timm Mlp with GELU(approximate="tanh")
        def __init__(self, dim, hidden):
            super().__init__()
            self.fc1 = nn.Linear(dim, hidden)
            self.act = nn.GELU(approximate="tanh")
            self.fc2 = nn.Linear(hidden, dim)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class DiTBlock(nn.Module):   # facebookresearch/DiT models.py
        def __init__(self, hidden_size, num_heads, mlp_ratio=4.0):
            super().__init__()
            self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False,
                                      eps=1e-6)
            self.attn = Attention(hidden_size, num_heads)
            self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False,
                                      eps=1e-6)
            self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True))

        def forward(self, x, c):
            (shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp,
             gate_mlp) = self.adaLN_modulation(c).chunk(6, dim=1)
            x = x + gate_msa.unsqueeze(1) * self.attn(
                modulate(self.norm1(x), shift_msa, scale_msa))
            x = x + gate_mlp.unsqueeze(1) * self.mlp(
                modulate(self.norm2(x), shift_mlp, scale_mlp))
            return x

    class ResBlock(nn.Module):
        """latent-diffusion openaimodel.ResBlock (dims=2, out_channels ==
        channels, use_scale_shift_norm=False, no up/down, identity skip,
        dropout 0), with GroupNorm(8, 32) instead of GroupNorm32(32, C)."""

        def __init__(self, channels, emb_channels, groups=8):
            super().__init__()
            self.in_norm = nn.GroupNorm(groups, channels, eps=1e-5)
            self.in_act = nn.SiLU()
            self.in_conv = nn.Conv2d(channels, channels, 3, padding=1)
            self.emb_act = nn.SiLU()
            self.emb_linear = nn.Linear(emb_channels, channels)
            self.out_norm = nn.GroupNorm(groups, channels, eps=1e-5)
            self.out_act = nn.SiLU()
            self.out_conv = nn.Conv2d(channels, channels, 3, padding=1)

        def forward(self, x, emb):
            h = self.in_conv(self.in_act(self.in_norm(x)))
            emb_out = self.emb_linear(self.emb_act(emb))
            while len(emb_out.shape) < len(h.shape):
                emb_out = emb_out[..., None]
            h = h + emb_out
            h = self.out_conv(self.out_act(self.out_norm(h)))
            return x + h

    mods = {"dit_block": DiTBlock(64, 2), "unet_resblock": ResBlock(32, 64),
            "mlp": Mlp(64, 128)}
    for name, m in mods.items():
        sd = {k: torch.from_numpy(v) for k, v in PARAMS[name]().items()}
        m.load_state_dict(sd, strict=True)
        m.eval()
    return mods


# ---------------------------------------------------------------------------
# Import with torch-mlir (through iree-base-compiler's bundled copy)
# ---------------------------------------------------------------------------

# torch-mlir's python/torch_mlir/extras/fx_decomp_util.py DEFAULT_DECOMPOSITIONS
# (not shipped in iree-base-compiler), as used by torch_mlir.fx.export_and_import.
_DECOMP_NAMES = [
    "embedding_dense_backward", "native_layer_norm_backward", "slice_backward",
    "select_backward", "norm.ScalarOpt_dim", "native_group_norm",
    "upsample_bilinear2d.vec", "native_layer_norm", "masked_fill.Tensor",
    "masked_fill.Scalar", "t", "addmm", "_native_batch_norm_legit_functional",
    "_native_batch_norm_legit_no_training", "_native_batch_norm_legit",
    "_native_batch_norm_legit.no_stats", "squeeze.dims", "soft_margin_loss",
    "im2col", "_euclidean_dist", "index_copy", "index_copy_",
    "grid_sampler_2d", "log_sigmoid_forward", "unsafe_split.Tensor",
    "binary_cross_entropy", "dot", "_adaptive_avg_pool2d", "_prelu_kernel",
    "full", "logsumexp", "_log_softmax", "nll_loss_forward",
    "nll_loss_backward", "_to_copy", "_log_softmax_backward_data",
    "lift_fresh_copy.default", "_unsafe_index.Tensor", "linspace.default",
    "nan_to_num.default", "unbind", "diag", "xlogy",
    "_scaled_dot_product_flash_attention_for_cpu",
    "scaled_dot_product_attention",
]

# Same pipelines, in the same order, as torch_mlir.fx.export_and_import(...,
# output_type="linalg-on-tensors") with its defaults (allow_non_finites=True).
TORCH_PIPELINE = ("builtin.module(func.func(torch-match-quantized-custom-ops),"
                  " torchdynamo-export-to-torch-backend-pipeline"
                  "{ extra-library=})")
LINALG_PIPELINE = ("builtin.module(torch-backend-to-linalg-on-tensors-backend-"
                   "pipeline{allow-non-finites=true})")

_FORBIDDEN = re.compile(r'(^|[\s="(])(torch|torch_c|tm_tensor|util|flow|hal|'
                        r'stream|iree_[a-z_]+|ml_program)\.[a-z_]', re.M)


def _decomposition_table():
    import torch
    from torch._decomp import get_decompositions
    ops = []
    for n in _DECOMP_NAMES:
        packet, _, overload = n.partition(".")
        if not hasattr(torch.ops.aten, packet):
            continue
        op = getattr(torch.ops.aten, packet)
        ops.append(getattr(op, overload) if overload else op)
    return get_decompositions(ops)


def import_to_linalg(module, args):
    import torch
    from iree.compiler import ir
    from iree.compiler.extras.fx_importer import FxImporter
    from iree.compiler.passmanager import PassManager

    prog = torch.export.export(module, tuple(args), strict=False)
    prog = prog.run_decompositions(_decomposition_table())
    ctx = ir.Context()
    imp = FxImporter(context=ctx)
    imp.import_frozen_program(prog, func_name="forward")
    with ctx:
        PassManager.parse(TORCH_PIPELINE).run(imp.module.operation)
        PassManager.parse(LINALG_PIPELINE).run(imp.module.operation)
    text = imp.module.operation.get_asm(enable_debug_info=False)
    bad = sorted({m.group(2) for m in _FORBIDDEN.finditer(text)})
    if bad:
        raise RuntimeError(f"non-upstream dialects left: {bad}")
    return text


def _hex(a):
    return "0x" + np.ascontiguousarray(a, dtype="<f4").tobytes().hex().upper()


def _ttype(shape):
    return "tensor<" + "x".join(str(d) for d in shape) + "xf32>"


def _mtype(shape):
    return "memref<" + "x".join(str(d) for d in shape) + "xf32>"


def main_func(inputs, out_shape):
    lines = ["  func.func private @printMemrefF32(memref<*xf32>) "
             "attributes {llvm.emit_c_interface}",
             "  func.func @main() {"]
    names = []
    for i, a in enumerate(inputs):
        lines.append(f'    %in{i} = arith.constant dense<"{_hex(a)}"> : '
                     f"{_ttype(a.shape)}")
        names.append(f"%in{i}")
    lines.append(f"    %r = call @forward({', '.join(names)}) : "
                 f"({', '.join(_ttype(a.shape) for a in inputs)}) -> "
                 f"{_ttype(out_shape)}")
    lines.append(f"    %m = bufferization.to_buffer %r : {_ttype(out_shape)} "
                 f"to {_mtype(out_shape)}")
    lines.append(f"    %u = memref.cast %m : {_mtype(out_shape)} to "
                 "memref<*xf32>")
    lines.append("    call @printMemrefF32(%u) : (memref<*xf32>) -> ()")
    lines.append("    return")
    lines.append("  }")
    return "\n".join(lines)


HEADERS = {
    "dit_block": "DiT block (facebookresearch/DiT DiTBlock; timm Attention "
                 "without fused SDPA): D=64, 2 heads, N=16, B=2.\n"
                 "@forward(x: [2,16,64], c: [2,64]) -> [2,16,64].",
    "unet_resblock": "latent-diffusion ResBlock: GroupNorm(8,32) -> SiLU -> "
                     "Conv3x3 -> + Linear(SiLU(emb)) -> GroupNorm -> SiLU ->\n"
                     "Conv3x3 -> + x. @forward(x: [2,32,8,8], emb: [2,64]) "
                     "-> [2,32,8,8].",
    "mlp": "Linear(64,128) -> GELU(tanh) -> Linear(128,64). "
           "@forward(x: [16,64]) -> [16,64].",
}


def assemble(name, linalg_text, inputs, out_shape, versions):
    # Insert @main and the print declaration at the end of the module body,
    # i.e. before the module's closing brace (the last "}" line before the
    # dialect_resources trailer).
    body, sep, trailer = linalg_text.partition("\n{-#")
    body = body.rstrip()
    assert body.endswith("\n}"), "unexpected module text"
    body = body[:-1] + main_func(inputs, out_shape) + "\n}\n"
    header = ["// " + l for l in HEADERS[name].splitlines()]
    header += [
        "//",
        "// Runs in float on the CPU and matches the numpy forward of the same "
        "module:",
        "// RUN: hqdm-opt %s --hqdm-lower-to-cpu | %run_main > %t.out",
        f"// RUN: %python %S/make_models.py check {name} %t.out",
        "//",
        "// @forward is REAL torch-mlir output (FX importer + "
        "torchdynamo-export-to-torch-backend-",
        "// pipeline + torch-backend-to-linalg-on-tensors-backend-pipeline), "
        "unedited except",
        "// that it was imported with func_name=\"forward\". @main (appended "
        "by make_models.py)",
        "// builds the seeded inputs, calls @forward and prints the result.",
        f"// Made by test/Models/make_models.py export ({versions}).",
        "// Regenerate and check as described in test/Models/README.md.",
        "",
    ]
    return "\n".join(header) + body + (sep + trailer if sep else "")


def _versions():
    import torch
    from importlib.metadata import version
    return (f"torch {torch.__version__}, iree-base-compiler "
            f"{version('iree-base-compiler')}")


def export(names):
    import torch
    mods = torch_modules()
    versions = _versions()
    for name in names:
        inputs = INPUTS[name]()
        targs = [torch.from_numpy(a) for a in inputs]
        with torch.no_grad():
            out = mods[name](*targs).numpy()
        ref = reference(name)
        err = np.abs(out - ref).max() / np.abs(ref).max()
        print(f"{name}: torch vs numpy reference: max rel error {err:.2e}")
        assert err < 1e-5, "numpy reference disagrees with the torch module"
        text = import_to_linalg(mods[name], targs)
        text = assemble(name, text, inputs, out.shape, versions)
        path = os.path.join(HERE, name + ".mlir")
        with open(path, "w") as f:
            f.write(text)
        subprocess.run([MLIR_OPT, path, "-o", os.devnull], check=True)
        print(f"{name}: wrote {path} ({len(text)} bytes); mlir-opt 22 parses it")


# ---------------------------------------------------------------------------
# Checking the runner's output
# ---------------------------------------------------------------------------

# Max relative error allowed by `check`. Measured: 2.6e-6 to 7.0e-6; about
# half of it comes from torch-mlir's GELU-tanh constant 0.7977240352174656
# (sqrt(2/pi) = 0.7978845608), the rest from f32 arithmetic and the 6
# significant digits that printMemrefF32 prints.
CHECK_TOLERANCE = 2e-5

_NUM = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|nan|inf)")


def parse_printed(text):
    data = text.split("data =", 1)[1]
    return np.array([float(t) for t in _NUM.findall(data)])


def check(name, output_path):
    with open(output_path) as f:
        out = parse_printed(f.read())
    ref = reference(name).ravel()
    if out.size != ref.size:
        print(f"{name}: FAIL: {out.size} values printed, {ref.size} expected")
        return 1
    err = np.abs(out - ref).max() / np.abs(ref).max()
    big = np.abs(ref) >= 0.01 * np.abs(ref).max()
    elem = (np.abs(out - ref)[big] / np.abs(ref)[big]).max()
    ok = err < CHECK_TOLERANCE
    print(f"{name}: {'ok' if ok else 'FAIL'}: {out.size} values, max rel "
          f"error {err:.2e} (max |out-ref| / max |ref|), max elementwise rel "
          f"error {elem:.2e} (over |ref| >= max |ref| / 100), max |ref| "
          f"{np.abs(ref).max():.3g}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description="Make and check the test models (see README.md).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("names", nargs="*", help="default: all of " + ", ".join(MODELS))
    r = sub.add_parser("reference")
    r.add_argument("name", choices=MODELS)
    c = sub.add_parser("check")
    c.add_argument("name", choices=MODELS)
    c.add_argument("output")
    a = ap.parse_args()
    if a.cmd == "export":
        unknown = [n for n in a.names if n not in MODELS]
        if unknown:
            ap.error(f"unknown model(s): {unknown}")
        export(a.names or list(MODELS))
        return 0
    if a.cmd == "reference":
        for v in reference(a.name).ravel():
            print(f"{v:.9g}")
        return 0
    return check(a.name, a.output)


if __name__ == "__main__":
    sys.exit(main())
