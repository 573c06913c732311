#!/usr/bin/env python3
# ===- make_models.py - Test models in torch-mlir linalg-on-tensors IR ------===#
#
# Makes and checks the models in this directory (see README.md):
#
#   dit_block      DiT block, D=64, 2 heads, N=16 tokens, batch 2, adaLN-Zero
#   unet_resblock  latent-diffusion ResBlock, 32 channels, 8x8, batch 2, emb 64
#   mlp            Linear(64,128) -> GELU(tanh) -> Linear(128,64) on [16,64]
#   dit_mlp        MLP half of a DiT block conditioned on the timestep:
#                  @forward(x [2,16,64] f32, t [2] i64), c = t_embedder(t)
#   dit_block_t    dit_block conditioned on c = TimestepEmbedder(t):
#                  @forward(x [2,16,64] f32, t [2] i64)
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
#   calibration NAME OUT.npz [--steps 20] [--calls 4] [--seed 3001]
#               [--spacing linspace|trailing]  (numpy only; dit_mlp, dit_block_t)
#       Writes @forward inputs along a sampling trajectory: for each sampler
#       timestep (descending), --calls batches x_t = sqrt(abar_t) x0 +
#       sqrt(1 - abar_t) eps (DDPM linear betas 1e-4..0.02 over 1000 steps),
#       t filled with the timestep. Keys arg0 (x, f32 [steps*calls,2,16,64])
#       and arg1 (t, int64 [steps*calls,2]). Use another --seed (e.g. 4001)
#       for an evaluation set.
#
#   drift NAME [--steps 20] [--calls 4] [--seed 3001]  (numpy only)
#       Prints per-step statistics of fc2's input (post-GELU) over the same
#       calibration set, from the numpy forward.
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
MODELS = ("dit_block", "unet_resblock", "mlp", "dit_mlp", "dit_block_t")

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


# --- Timestep-conditioned models (dit_mlp, dit_block_t) ---------------------
#
# c = TimestepEmbedder(t) (facebookresearch/DiT): the sinusoidal frequency
# embedding of t (dim 256, max_period 10000; [cos | sin]) -> Linear(256, 64)
# -> SiLU -> Linear(64, 64). dit_block_t is dit_block with these weights
# added; dit_mlp is its MLP half with the same weights (adaLN rows 3D:6D).
#
# Time dependence: a few hidden units of the embedder read the low-frequency
# sin components (frequency indices 96..127, where sin(f*t) rises
# monotonically over t in [0, 999]); they drive the "time channels" of c,
# which rise smoothly from about 0.46 at t=0 to about 4.2 at t=999. The
# adaLN shift_mlp and scale_mlp rows read those channels so that the
# modulation (1 + scale_mlp and shift_mlp) at t=0 is DIT_T_MOD_GAIN_0 = 0.3
# times that at t=999: fc1's input and the post-GELU activations (fc2's
# input) grow with t (absmax about 4x from t=0 to t=999; see README.md).
TEMB_DIM = 256                        # frequency_embedding_size
TEMB_TIME_HIDDEN = (2, 19, 36, 53)    # mlp.0 rows reading low-freq sin(f*t)
TEMB_TIME_CHANNELS = (3, 30, 45, 60)  # c channels driven by those units
TEMB_LOWFREQ = range(96, 128)         # frequency indices (f <= 1e-3)


def t_embedder_params():
    """TimestepEmbedder(hidden 64, frequency_embedding_size 256) weights,
    keys as in DiT's `t_embedder` (mlp.0 = Linear(256,64), mlp.2 =
    Linear(64,64))."""
    D, F, half = 64, TEMB_DIM, TEMB_DIM // 2
    rng = np.random.default_rng(1004)
    # Columns [cos f_0..f_127 | sin f_0..f_127], f_i = 10000^(-i/128): damp
    # the high frequencies (which vary erratically with t) relative to the
    # low ones.
    col = 0.3 + 0.7 * np.arange(half) / (half - 1)
    w1 = _normal(rng, (D, F), 1.0 / math.sqrt(F)) * np.tile(col, 2)
    b1 = _normal(rng, (D,), 0.05)
    for j, r in enumerate(TEMB_TIME_HIDDEN):
        w1[r] *= 0.2
        w1[r, half + TEMB_LOWFREQ.start:] += 0.35 + 0.03 * j
        b1[r] = 0.0
    w2 = _normal(rng, (D, D), 1.0 / math.sqrt(D))
    b2 = _normal(rng, (D,), 0.05)
    for k in TEMB_TIME_CHANNELS:
        w2[k] *= 0.2
        w2[k, list(TEMB_TIME_HIDDEN)] += 0.2
        b2[k] = 0.5
    return {"mlp.0.weight": w1.astype(np.float32),
            "mlp.0.bias": b1.astype(np.float32),
            "mlp.2.weight": w2.astype(np.float32),
            "mlp.2.bias": b2.astype(np.float32)}


# Gain of the MLP modulation at t=0 relative to t=999 (see below).
DIT_T_MOD_GAIN_0 = 0.3


def dit_block_t_params():
    """dit_block's weights plus `t_embedder.*`, with the adaLN shift_mlp and
    scale_mlp rows rewritten to depend on c's time channels.

    With tau(t) = sum of SiLU(c[k]) over the time channels (it rises
    smoothly from 1.16 at t=0 to 16.75 at t=999), row d of these
    chunks becomes, up to small terms from c's other channels,
        1 + scale_mlp[d](t) = m_d * g(t),   shift_mlp[d](t) = s_d * g(t),
    with g linear in tau, g(999) = 1 and g(0) = DIT_T_MOD_GAIN_0. m_d is
    1.6 + dit_block's scale_mlp bias (so ~4.6 and ~4.1 on channels 21 and
    58) and s_d is dit_block's shift_mlp bias (-5 on channel 21). The other
    columns of these rows are scaled by 0.25 (and the x6 outlier rows by a
    further 1/6) so that the high-frequency, erratic part of c moves them
    little."""
    D = 64
    p = dit_block_params()
    te = t_embedder_params()
    ef = {k: v.astype(np.float64) for k, v in te.items()}
    tc = list(TEMB_TIME_CHANNELS)
    tau0, tau1 = (_silu(_t_embedder(ef, np.array([t]), prefix=""))[0, tc]
                  .sum() for t in (0, NUM_TRAIN_TIMESTEPS - 1))
    w = p["adaLN_modulation.1.weight"].astype(np.float64)
    b = p["adaLN_modulation.1.bias"].astype(np.float64)
    for chunk, ch in ((3, 21), (4, 21), (4, 58)):
        w[chunk * D + ch] /= 6.0
    w[3 * D:5 * D] *= 0.25
    for chunk, at1 in ((3, b[3 * D:4 * D]),            # shift_mlp = s_d g
                       (4, 1.6 + b[4 * D:5 * D])):     # 1 + scale = m_d g
        slope = at1 * (1.0 - DIT_T_MOD_GAIN_0) / (tau1 - tau0)
        rows = slice(chunk * D, (chunk + 1) * D)
        w[rows, tc] = slope[:, None]
        b[rows] = at1 - slope * tau1 - (1.0 if chunk == 4 else 0.0)
    p["adaLN_modulation.1.weight"] = w.astype(np.float32)
    p["adaLN_modulation.1.bias"] = b.astype(np.float32)
    for k, v in te.items():
        p["t_embedder." + k] = v
    return p


def dit_mlp_params():
    """The MLP half of dit_block_t: same t_embedder, fc1, fc2; adaLN rows
    [shift_mlp | scale_mlp | gate_mlp] (rows 3D:6D)."""
    D = 64
    p = dit_block_t_params()
    q = {k: v for k, v in p.items()
         if k.startswith("t_embedder.") or k.startswith("mlp.")}
    q["adaLN_modulation.1.weight"] = p["adaLN_modulation.1.weight"][3 * D:]
    q["adaLN_modulation.1.bias"] = p["adaLN_modulation.1.bias"][3 * D:]
    return q


# Timesteps of the lit tests' @main (int64, as DiT's sampler passes them).
DIT_T_TEST_TIMESTEPS = (999, 451)


def _dit_t_inputs(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 16, 64))
    x = _outlier_channels(rng, x, 2, DIT_X_OUTLIER_CHANNELS, 20.0)
    return [x.astype(np.float32),
            np.array(DIT_T_TEST_TIMESTEPS, dtype=np.int64)]


def dit_mlp_inputs():
    return _dit_t_inputs(2004)


def dit_block_t_inputs():
    return _dit_t_inputs(2005)


PARAMS = {"dit_block": dit_block_params, "unet_resblock": unet_resblock_params,
          "mlp": mlp_params, "dit_mlp": dit_mlp_params,
          "dit_block_t": dit_block_t_params}
INPUTS = {"dit_block": dit_block_inputs, "unet_resblock": unet_resblock_inputs,
          "mlp": mlp_inputs, "dit_mlp": dit_mlp_inputs,
          "dit_block_t": dit_block_t_inputs}

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


def _modulate(h, shift, scale):
    return h * (1 + scale[:, None, :]) + shift[:, None, :]


def _dit_mlp_half(p, x, shift_mlp, scale_mlp, gate_mlp, taps=None):
    """x + gate_mlp * mlp(modulate(norm2(x), shift_mlp, scale_mlp))."""
    h = _modulate(_layer_norm(x, 1e-6), shift_mlp, scale_mlp)
    h = _gelu_tanh(_linear(h, p["mlp.fc1.weight"], p["mlp.fc1.bias"]))
    if taps is not None:
        taps["fc2_in"] = h
    h = _linear(h, p["mlp.fc2.weight"], p["mlp.fc2.bias"])
    return x + gate_mlp[:, None, :] * h


def _dit_block_fwd(p, x, c, taps=None):
    B, N, D = x.shape
    heads, hd = 2, D // 2
    mod = _linear(_silu(c), p["adaLN_modulation.1.weight"],
                  p["adaLN_modulation.1.bias"])
    (shift_msa, scale_msa, gate_msa,
     shift_mlp, scale_mlp, gate_mlp) = np.split(mod, 6, axis=1)
    h = _modulate(_layer_norm(x, 1e-6), shift_msa, scale_msa)
    qkv = _linear(h, p["attn.qkv.weight"], p["attn.qkv.bias"])
    qkv = qkv.reshape(B, N, 3, heads, hd).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0] * hd ** -0.5, qkv[1], qkv[2]
    a = _softmax(q @ k.transpose(0, 1, 3, 2)) @ v
    a = a.transpose(0, 2, 1, 3).reshape(B, N, D)
    a = _linear(a, p["attn.proj.weight"], p["attn.proj.bias"])
    x = x + gate_msa[:, None, :] * a
    return _dit_mlp_half(p, x, shift_mlp, scale_mlp, gate_mlp, taps)


def dit_block_ref(x, c):
    p = _f64(dit_block_params())
    return _dit_block_fwd(p, x.astype(np.float64), c.astype(np.float64))


def timestep_embedding(t, dim=TEMB_DIM, max_period=10000):
    """DiT's TimestepEmbedder.timestep_embedding. The frequencies and the
    arguments t*f are rounded to float32 as PyTorch computes them (an f32
    argument near 999 is off by up to 3e-5 rad from the exact one); cos and
    sin are then taken in float64."""
    half = dim // 2
    freqs = np.exp(np.float32(-math.log(max_period))
                   * np.arange(half, dtype=np.float32) / np.float32(half))
    args = (np.asarray(t).astype(np.float32)[:, None] * freqs[None])
    args = args.astype(np.float64)
    return np.concatenate([np.cos(args), np.sin(args)], axis=-1)


def _t_embedder(p, t, prefix="t_embedder."):
    h = _linear(timestep_embedding(t), p[prefix + "mlp.0.weight"],
                p[prefix + "mlp.0.bias"])
    return _linear(_silu(h), p[prefix + "mlp.2.weight"],
                   p[prefix + "mlp.2.bias"])


def dit_block_t_ref(x, t, taps=None, p=None):
    p = _f64(dit_block_t_params()) if p is None else p
    c = _t_embedder(p, t)
    if taps is not None:
        taps["c"] = c
    return _dit_block_fwd(p, x.astype(np.float64), c, taps)


def dit_mlp_ref(x, t, taps=None, p=None):
    p = _f64(dit_mlp_params()) if p is None else p
    c = _t_embedder(p, t)
    mod = _linear(_silu(c), p["adaLN_modulation.1.weight"],
                  p["adaLN_modulation.1.bias"])
    shift_mlp, scale_mlp, gate_mlp = np.split(mod, 3, axis=1)
    if taps is not None:
        taps.update(c=c, shift_mlp=shift_mlp, scale_mlp=scale_mlp,
                    gate_mlp=gate_mlp)
    return _dit_mlp_half(p, x.astype(np.float64), shift_mlp, scale_mlp,
                         gate_mlp, taps)


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
        "mlp": mlp_ref, "dit_mlp": dit_mlp_ref, "dit_block_t": dit_block_t_ref}


def reference(name):
    return REFS[name](*INPUTS[name]())


# ---------------------------------------------------------------------------
# Calibration sets along a sampling trajectory (dit_mlp, dit_block_t)
# ---------------------------------------------------------------------------

NUM_TRAIN_TIMESTEPS = 1000
TIMESTEP_MODELS = ("dit_mlp", "dit_block_t")


def ddpm_alphas_cumprod(T=NUM_TRAIN_TIMESTEPS):
    """abar_t for DDPM's linear beta schedule, beta from 1e-4 to 0.02 over T
    steps (float64, as guided_diffusion's get_named_beta_schedule("linear")
    with scale 1000/T = 1)."""
    betas = np.linspace(1e-4, 0.02, T, dtype=np.float64)
    return np.cumprod(1.0 - betas)


def sampler_timesteps(steps, spacing="linspace", T=NUM_TRAIN_TIMESTEPS):
    """The training timesteps a `steps`-step sampler visits, descending.

    linspace: guided_diffusion's space_timesteps(T, str(steps)), the
              respacing DiT's sample.py uses: start at 0, add the stride
              (T-1)/(steps-1) in float64 steps-1 times, Python round() each
              (half to even); both ends included. This is
              round(linspace(0, T-1, steps)) up to ties (identical for 20
              steps: 999, 946, 894, 841, ..., 158, 105, 53, 0).
    trailing: round(arange(T, 0, -T/steps)) - 1 (diffusers "trailing"):
              20 steps: 999, 949, ..., 99, 49.
    """
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be in [1, {T}]")
    if spacing == "linspace":
        stride = 1.0 if steps <= 1 else (T - 1) / (steps - 1)
        cur, taken = 0.0, []
        for _ in range(steps):
            taken.append(round(cur))
            cur += stride
        ts = np.array(taken[::-1])
    elif spacing == "trailing":
        ts = np.round(np.arange(T, 0, -T / steps)) - 1
    else:
        raise ValueError(f"unknown spacing {spacing!r}")
    return ts.astype(np.int64)


def structured_tokens(rng, batch=2, n=16, d=64):
    """A clean latent x0 as DiT block tokens [batch, n, d]: the n tokens are
    a 4x4 patch grid whose features are a smooth rank-4 function of the
    patch position (+ small noise), scaled to unit variance, and the
    residual-stream outlier channels of dit_block (5, 17, 38, 50) are set to
    +-20 (+ noise of std 2) as in the lit inputs."""
    side = int(round(math.sqrt(n)))
    yy, xx = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    pos = np.stack([yy.ravel(), xx.ravel()], -1) / max(side - 1, 1)
    out = np.empty((batch, n, d))
    for b in range(batch):
        # 4 smooth spatial patterns with random frequencies and phases.
        fr = rng.uniform(0.5, 2.0, (4, 2))
        ph = rng.uniform(0, 2 * math.pi, 4)
        basis = np.cos(math.pi * pos @ fr.T + ph)          # [n, 4]
        feats = rng.standard_normal((4, d))
        tok = basis @ feats + 0.3 * rng.standard_normal((n, d))
        out[b] = tok / tok.std()
    return _outlier_channels(rng, out, 2, DIT_X_OUTLIER_CHANNELS, 20.0)


def calibration_set(steps=20, calls=4, seed=3001, spacing="linspace"):
    """Returns (x [steps*calls, 2, 16, 64] f32, t [steps*calls, 2] int64,
    timesteps). Call s*calls + k is trajectory k at sampler step s: x_t =
    sqrt(abar_t) x0_k + sqrt(1 - abar_t) eps, with x0_k fixed along the
    trajectory and eps fresh for every call."""
    rng = np.random.default_rng(seed)
    ts = sampler_timesteps(steps, spacing)
    abar = ddpm_alphas_cumprod()
    x0 = [structured_tokens(rng) for _ in range(calls)]
    xs, tt = [], []
    for t in ts:
        for k in range(calls):
            eps = rng.standard_normal(x0[k].shape)
            xs.append(math.sqrt(abar[t]) * x0[k]
                      + math.sqrt(1 - abar[t]) * eps)
            tt.append(np.full((x0[k].shape[0],), t, dtype=np.int64))
    return (np.stack(xs).astype(np.float32), np.stack(tt).astype(np.int64),
            ts)


def write_calibration(name, path, steps, calls, seed, spacing):
    if name not in TIMESTEP_MODELS:
        raise SystemExit(f"calibration: {name} takes no timestep; one of "
                         f"{', '.join(TIMESTEP_MODELS)}")
    x, t, ts = calibration_set(steps, calls, seed, spacing)
    np.savez(path, arg0=x, arg1=t)
    print(f"{name}: wrote {path}: {x.shape[0]} calls ({steps} steps x "
          f"{calls}), {spacing} timesteps {ts[0]}..{ts[-1]}, seed {seed}; "
          f"arg0 {x.dtype}{list(x.shape)}, arg1 {t.dtype}{list(t.shape)}")


def drift(name, steps, calls, seed, spacing):
    """Prints, per sampler step, statistics of fc2's input (post-GELU) from
    the numpy forward over that step's calls of calibration_set(...)."""
    x, t, ts = calibration_set(steps, calls, seed, spacing)
    p = _f64(PARAMS[name]())
    ref = REFS[name]
    print(f"{name}: fc2 input (post-GELU) per step, {calls} calls of "
          f"[2,16,256] each, seed {seed}")
    print("    t   absmax     min  median-ch-absmax  top-4 channels (absmax)"
          "                   top-4 min")
    first = last = None
    for s, tv in enumerate(ts):
        hs = []
        for k in range(calls):
            taps = {}
            ref(x[s * calls + k], t[s * calls + k], taps, p)
            hs.append(taps["fc2_in"].reshape(-1, taps["fc2_in"].shape[-1]))
        h = np.concatenate(hs)
        chmax = np.abs(h).max(0)
        top = sorted(np.argsort(chmax)[::-1][:4].tolist())
        tops = " ".join(f"{c}:{chmax[c]:.1f}" for c in top)
        print(f"  {tv:4d}  {np.abs(h).max():7.2f}  {h.min():6.3f}  "
              f"{np.median(chmax):16.2f}  {tops:40s} {h[:, top].min():6.2f}")
        first = np.abs(h).max() if first is None else first
        last = np.abs(h).max()
    print(f"absmax t={ts[0]} / t={ts[-1]}: {first:.2f} / {last:.2f} = "
          f"{first / last:.2f}")


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

    class TimestepEmbedder(nn.Module):   # facebookresearch/DiT models.py
        def __init__(self, hidden_size, frequency_embedding_size=256):
            super().__init__()
            self.mlp = nn.Sequential(
                nn.Linear(frequency_embedding_size, hidden_size, bias=True),
                nn.SiLU(),
                nn.Linear(hidden_size, hidden_size, bias=True),
            )
            self.frequency_embedding_size = frequency_embedding_size

        @staticmethod
        def timestep_embedding(t, dim, max_period=10000):
            half = dim // 2
            freqs = torch.exp(
                -math.log(max_period) * torch.arange(start=0, end=half,
                                                     dtype=torch.float32)
                / half).to(device=t.device)
            args = t[:, None].float() * freqs[None]
            embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
            if dim % 2:
                embedding = torch.cat(
                    [embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
            return embedding

        def forward(self, t):
            t_freq = self.timestep_embedding(t, self.frequency_embedding_size)
            return self.mlp(t_freq)

    class DiTBlockT(DiTBlock):
        """DiTBlock conditioned on c = TimestepEmbedder(t) (no class
        embedding): forward(x, t)."""

        def __init__(self, hidden_size, num_heads):
            super().__init__(hidden_size, num_heads)
            self.t_embedder = TimestepEmbedder(hidden_size)

        def forward(self, x, t):
            return super().forward(x, self.t_embedder(t))

    class DiTMlpT(nn.Module):
        """The MLP half of DiTBlockT: x + gate_mlp * mlp(modulate(norm2(x),
        shift_mlp, scale_mlp)), with (shift, scale, gate) from adaLN
        Linear(D, 3D) on SiLU(TimestepEmbedder(t))."""

        def __init__(self, hidden_size, mlp_ratio=4.0):
            super().__init__()
            self.t_embedder = TimestepEmbedder(hidden_size)
            self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False,
                                      eps=1e-6)
            self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
            self.adaLN_modulation = nn.Sequential(
                nn.SiLU(), nn.Linear(hidden_size, 3 * hidden_size, bias=True))

        def forward(self, x, t):
            c = self.t_embedder(t)
            shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(
                3, dim=1)
            return x + gate_mlp.unsqueeze(1) * self.mlp(
                modulate(self.norm2(x), shift_mlp, scale_mlp))

    mods = {"dit_block": DiTBlock(64, 2), "unet_resblock": ResBlock(32, 64),
            "mlp": Mlp(64, 128), "dit_mlp": DiTMlpT(64),
            "dit_block_t": DiTBlockT(64, 2)}
    for name, m in mods.items():
        sd = {k: torch.from_numpy(v) for k, v in PARAMS[name]().items()}
        m.load_state_dict(sd, strict=True)
        m.eval()
    return mods


# ---------------------------------------------------------------------------
# Import with torch-mlir (through iree-base-compiler's bundled copy)
# ---------------------------------------------------------------------------

# The import route is hqdm's own (python/hqdm/importer.py): the same
# decomposition list, pipelines and dialect check, with parameters inline.
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))


def import_to_linalg(module, args):
    from hqdm.importer import import_module
    return import_module(module, args, func_name="forward").text


def _hex(a):
    return "0x" + np.ascontiguousarray(a, dtype="<f4").tobytes().hex().upper()


def _ttype(shape, elt="f32"):
    return "tensor<" + "x".join(str(d) for d in shape) + "x" + elt + ">"


def _mtype(shape):
    return "memref<" + "x".join(str(d) for d in shape) + "xf32>"


def main_func(inputs, out_shape):
    lines = ["  func.func private @printMemrefF32(memref<*xf32>) "
             "attributes {llvm.emit_c_interface}",
             "  func.func @main() {"]
    names = []
    for i, a in enumerate(inputs):
        if a.dtype == np.int64:   # timesteps: a readable list
            vals = ", ".join(str(int(v)) for v in a.ravel())
            lines.append(f"    %in{i} = arith.constant dense<[{vals}]> : "
                         f"{_ttype(a.shape, 'i64')}")
        else:
            lines.append(f'    %in{i} = arith.constant dense<"{_hex(a)}"> : '
                         f"{_ttype(a.shape)}")
        names.append(f"%in{i}")
    itypes = [_ttype(a.shape, "i64" if a.dtype == np.int64 else "f32")
              for a in inputs]
    lines.append(f"    %r = call @forward({', '.join(names)}) : "
                 f"({', '.join(itypes)}) -> "
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
    "dit_mlp": "MLP half of a timestep-conditioned DiT block: c = "
               "TimestepEmbedder(t) (sinusoidal dim 256 ->\n"
               "Linear(256,64) -> SiLU -> Linear(64,64)); shift, scale, gate "
               "= Linear(64,192)(SiLU(c));\n"
               "x + gate * fc2(GELU_tanh(fc1(modulate(LayerNorm(x), shift, "
               "scale)))), fc1 64->256, fc2 256->64.\n"
               "@forward(x: [2,16,64] f32, t: [2] i64) -> [2,16,64]. "
               "@main uses t = [999, 451].",
    "dit_block_t": "DiT block (as dit_block.mlir: D=64, 2 heads, N=16, B=2, "
                   "adaLN-Zero) conditioned on\n"
                   "c = TimestepEmbedder(t) computed inside @forward "
                   "(sinusoidal dim 256 -> Linear -> SiLU -> Linear).\n"
                   "@forward(x: [2,16,64] f32, t: [2] i64) -> [2,16,64]. "
                   "@main uses t = [999, 451].",
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
    k = sub.add_parser("calibration",
                       help="write a calibration set along a sampling "
                            "trajectory (timestep models)")
    k.add_argument("name", choices=TIMESTEP_MODELS)
    k.add_argument("out", help="output .npz (keys arg0 = x, arg1 = t)")
    k.add_argument("--steps", type=int, default=20)
    k.add_argument("--calls", type=int, default=4,
                   help="batches (trajectories) per step")
    k.add_argument("--seed", type=int, default=3001,
                   help="3001 for calibration; use another (e.g. 4001) for "
                        "an evaluation set")
    k.add_argument("--spacing", choices=("linspace", "trailing"),
                   default="linspace")
    d = sub.add_parser("drift",
                       help="post-GELU statistics per step of a "
                            "calibration set (numpy forward)")
    d.add_argument("name", choices=TIMESTEP_MODELS)
    d.add_argument("--steps", type=int, default=20)
    d.add_argument("--calls", type=int, default=4)
    d.add_argument("--seed", type=int, default=3001)
    d.add_argument("--spacing", choices=("linspace", "trailing"),
                   default="linspace")
    a = ap.parse_args()
    if a.cmd == "drift":
        drift(a.name, a.steps, a.calls, a.seed, a.spacing)
        return 0
    if a.cmd == "calibration":
        write_calibration(a.name, a.out, a.steps, a.calls, a.seed, a.spacing)
        return 0
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
