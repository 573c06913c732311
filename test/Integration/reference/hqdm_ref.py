#!/usr/bin/env python3
"""Independent numpy reference of hqdm's numerics contract, and the generator
and checker of the numerical integration tests.

The reference functions (section "Reference semantics") are written from the
op descriptions in HqdmOps.td and the "Numerics contract" of DESIGN.md, not
from the C++ lowering: float arithmetic is done in float32 in the order the
contract states (the float layers, which the contract does not order, in
float64), integer accumulation in int64 (then checked to fit i32), and
the Hadamard rotation as a dense product with +-1 matrices built elsewhere
(`hadamard_ref.raw_hadamard`, an independent numpy construction following the
conventions of hqdm/Support/Hadamard.h).

Cases
-----
A case is a function registered with `@case(TOPIC)` that builds a `Kernel`:
its arguments (numpy values: tensors, or scalar steps), the hqdm ops under
test as MLIR text, and its results, each with the independent expectation.
Inputs come from a numpy generator seeded by the CRC-32 of the case name, so
`emit` and `check` regenerate exactly the same values.

Command line
------------
  hqdm_ref.py list [TOPIC]          the case names (of one topic)
  hqdm_ref.py emit CASE             a complete MLIR module on stdout
  hqdm_ref.py check CASE OUTPUT
                                    compares mlir-runner's output with numpy

The emitted module has `func.func @kernel(args) -> (results)` holding the ops
under test (a separate function, so that constants do not fold into them and
steps stay runtime values) and `func.func @main()` that calls it with
`arith.constant` inputs (floats written as exact hex bit patterns) and prints
every result with `printMemrefI32`: float results are extended to f32 and
bit-cast to i32, integer results are sign- or zero-extended to i32 (zero for
the unsigned levels of asymmetric schemes), so the printed data is exact. The
`index` of hqdm.step_index is returned from @kernel as a `tensor<i32>`.

`check` parses the `Unranked Memref ... data =` blocks, requires exactly one
per result with the expected sizes, and compares:
  * integers exactly;
  * floats with |got - expected| <= bound, elementwise. The bound is
    1e-6 * |expected| for values computed by one or two f32 operations
    (quantizers, scales), 1e-6 * max(|((acc*sx)*sw)*m|, |bias|) for the
    qlinear/qconv2d epilogue (any order of its f32 operations is within about
    5 * 2^-24 of the larger operand of the final sum, so cancellation with the
    bias cannot cause spurious failures), and 1e-6 * (the largest |expected|
    in the same Hadamard block) for Hadamard sums, whose f32 rounding errors
    scale with the magnitude of the block's partial sums, not with each
    output's own (possibly tiny) value. Results stored in f16 or bf16 allow
    one unit in the last place of the block's largest value instead (2^-10
    and 2^-7 relative): the f32 result is rounded once more to the narrow type.
    A zero magnitude gets the bound 1e-6 * FLT_MIN, i.e. must match zero.
  * float layers (linear, conv2d, gelu, silu, layer_norm, group_norm,
    softmax, modulate), whose references are computed in float64 from the
    op descriptions, with |got - expected| <= 1e-5 * magnitude, where the
    magnitude is the scale of the terms that the f32 computation rounds
    rather than the (possibly cancelled) result: sum |x| * |w| (+ |b|) for
    linear and conv2d (with the weight read through |R| when rotated, and the
    input too for an already rotated input), max(|y|, |x|) for GELU (1 +
    erf(.) and 1 + tanh(.) cancel for negative x), |x| * |1 + scale| +
    |shift| for modulate, (max |x| of the normalized slice) / std * |w| + |b|
    for the norms (the f32 mean and subtraction err in proportion to the
    slice's largest input), and |y| itself for silu and softmax (no
    cancellation). An n-term f32 sum errs by at most about n * 2^-24 of its
    magnitude, typically sqrt(n) * 2^-24, so 1e-5 holds with a wide margin
    for the sizes used (n <= 300) while a wrong formula, constant, axis or
    transposed rotation is off by far more. f16/bf16 results add one unit in
    the last place of |expected| (RTOL_NARROW). tensor_scale is a max and
    one f32 division, checked like the other scales.
  * the calibration ops: channel minima and maxima (one of the f32 inputs,
    +-inf for a channel without a number), histograms (from the bin formula
    in float64, and also from a binary search on the bin edges where those
    are exact) and step indices exactly; channel_shift like the quantizers
    (1e-6 relative: one f32 subtraction and one division, then the rounding
    to the result type); linear with input_shift as a float layer, with
    |x| + |s| in place of |x| in the magnitude.
A stage that consumes a float produced by a Hadamard sum (the single-Hadamard
cases) is checked against the reference applied to the *printed* value of that
stage (which is itself checked within tolerance), so that the exact integer
comparison of the quantized levels does not depend on the summation order.

Each result prints one line, e.g.
  quant_sym4_per_tensor.q: 512 values, max abs err 0, ok (ties: ...)
and the script exits 1 after listing the first mismatches (index, got,
expected, bound) of every failing result, or at once with an error if the
output is malformed (missing or extra memrefs, wrong sizes or counts).
"""

import argparse
import functools
import math
import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from hadamard_ref import raw_hadamard  # next to this script

F32 = np.float32
FLT_MIN = float(np.finfo(np.float32).tiny)

# Relative tolerances (see the module docstring).
RTOL_F32 = 1e-6
RTOL_FLOAT_LAYER = 1e-5
RTOL_NARROW = {"f32": RTOL_F32, "f16": 2.0**-10, "bf16": 2.0**-7}


class CaseError(Exception):
    """A case or an output that cannot be checked (not a numerical mismatch)."""


# ===----------------------------------------------------------------------=== #
# Element types
# ===----------------------------------------------------------------------=== #

FLOAT_TYPES = ("f16", "bf16", "f32")


def is_float(elt: str) -> bool:
    return elt in FLOAT_TYPES


def int_width(elt: str) -> int:
    assert elt.startswith("i"), elt
    return int(elt[1:])


def round_to(values, elt: str) -> np.ndarray:
    """Rounds float32 values to `elt` (round to nearest even), as float32."""
    v = np.asarray(values, dtype=F32)
    if elt == "f32":
        return v
    if elt == "f16":
        with np.errstate(over="ignore"):
            return v.astype(np.float16).astype(F32)
    if elt == "bf16":
        bits = v.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
        return rounded.astype(np.uint32).view(F32)
    raise ValueError(elt)


def tensor_type(shape, elt: str) -> str:
    dims = "".join(f"{d}x" for d in shape)
    return f"tensor<{dims}{elt}>"


def format_element(v, elt: str) -> str:
    """One element of a dense literal: exact hex bits for floats, the signed
    two's complement value for integers (unsigned levels wrap)."""
    if elt == "f32":
        return "0x%08X" % int(np.asarray(v, F32).view(np.uint32))
    if elt == "f16":
        return "0x%04X" % int(np.asarray(v, F32).astype(np.float16).view(np.uint16))
    if elt == "bf16":
        return "0x%04X" % (int(np.asarray(v, F32).view(np.uint32)) >> 16)
    width = int_width(elt)
    v = int(v)
    if not -(1 << (width - 1)) <= v < (1 << width):
        raise CaseError(f"{v} does not fit {elt}")
    return str(v - (1 << width) if v >= (1 << (width - 1)) else v)


def dense_literal(values: np.ndarray, elt: str) -> str:
    if elt in FLOAT_TYPES and not np.array_equal(round_to(values, elt), values,
                                                 equal_nan=True):
        raise CaseError(f"input values are not exact in {elt}")

    def nested(a, depth):
        if a.ndim == 0:
            return format_element(a, elt)
        sep = ", " if a.ndim == 1 else ",\n" + " " * (depth + 1)
        return "[" + sep.join(nested(sub, depth + 1) for sub in a) + "]"

    return "dense<" + nested(np.asarray(values), 6) + ">"


# ===----------------------------------------------------------------------=== #
# Reference semantics
# ===----------------------------------------------------------------------=== #


@dataclass(frozen=True)
class Scheme:
    """#hqdm.scheme: bits, symmetry, granularity and channel axis."""

    bits: int
    symmetric: bool = True
    granularity: str = "per_tensor"
    axis: int = 0

    @property
    def levels(self):
        if self.symmetric:
            return -(2 ** (self.bits - 1) - 1), 2 ** (self.bits - 1) - 1
        return 0, 2**self.bits - 1

    def mlir(self) -> str:
        return (f"<bits = {self.bits}, symmetric = {str(self.symmetric).lower()}, "
                f"granularity = {self.granularity}, axis = {self.axis}>")

    def param_shape(self, shape):
        """The shape of this scheme's scale (and zero point) for `shape`."""
        if self.granularity == "per_tensor":
            return ()
        if self.granularity == "per_channel":
            return (shape[self.axis],)
        return tuple(shape[:-1])

    def broadcast(self, param, shape):
        """`param` (a scale or zero point) reshaped to broadcast to `shape`."""
        param = np.asarray(param)
        assert param.shape == self.param_shape(shape), (param.shape, shape)
        if self.granularity == "per_channel":
            dims = [1] * len(shape)
            dims[self.axis] = shape[self.axis]
            return param.reshape(dims)
        if self.granularity == "per_token":
            return param[..., None]
        return param


def quantize(x, scale, zero_point, scheme: Scheme) -> np.ndarray:
    """Levels (int64, unsigned for asymmetric schemes):
    clamp(round_half_even(x / s) + z, lo, hi), z where s == 0."""
    x = np.asarray(x, F32)
    s = scheme.broadcast(np.asarray(scale, F32), x.shape)
    z = 0 if zero_point is None else scheme.broadcast(zero_point, x.shape)
    lo, hi = scheme.levels
    with np.errstate(divide="ignore", invalid="ignore"):
        rounded = np.rint(x / s)  # float32 division; rint rounds half to even
        levels = np.clip(rounded.astype(np.float64) + z, lo, hi)
        levels = np.where(s == 0, z, levels)
    return levels.astype(np.int64)


def dequantize(levels, scale, zero_point, scheme: Scheme, elt="f32"):
    """f32((q - z)) * s in float32, then rounded to the result type `elt`."""
    q = np.asarray(levels, np.int64)
    s = scheme.broadcast(np.asarray(scale, F32), q.shape)
    z = 0 if zero_point is None else scheme.broadcast(zero_point, q.shape)
    return round_to((q - z).astype(F32) * s, elt)


def token_scale(x, bits) -> np.ndarray:
    """max |x| over the last dimension / (2^(bits-1) - 1), in float32."""
    absmax = np.max(np.abs(np.asarray(x, F32)), axis=-1)
    return (absmax / F32(2 ** (bits - 1) - 1)).astype(F32)


def step_select(table, step, group_starts=None):
    """table[entry] where entry is the step (or the group containing it),
    clamped into the table."""
    entry = step
    if group_starts is not None:
        entry = int(np.searchsorted(group_starts, step, side="right")) - 1
    entry = min(max(entry, 0), table.shape[0] - 1)
    return table[entry]


def block_hadamard(x, h_raw, axis=-1, normalized=True):
    """y = x * blockdiag(H_raw, ..., H_raw) along `axis`, divided by sqrt(B)
    when normalized. Floats in float64 (unrounded), integers exactly in
    int64."""
    b = h_raw.shape[0]
    moved = np.moveaxis(np.asarray(x), axis, -1)
    blocks = moved.reshape(moved.shape[:-1] + (moved.shape[-1] // b, b))
    if np.issubdtype(blocks.dtype, np.integer):
        y = blocks.astype(np.int64) @ h_raw.astype(np.int64)
    else:
        y = blocks.astype(np.float64) @ h_raw.astype(np.float64)
        if normalized:
            y = y / np.sqrt(b)
    return np.moveaxis(y.reshape(moved.shape), -1, axis)


def check_i32(acc):
    if np.abs(acc).max(initial=0) >= 2**31:
        raise CaseError("the reference accumulator does not fit i32")
    return acc


def epilogue(acc, sx, sw, multiplier, bias, channel_axis):
    """((f32(acc) * sx) * sw[c]) * multiplier + bias[c] in float32. `sx` is
    already broadcast to acc; returns (y, |terms| magnitude for the bound)."""
    shape = [1] * acc.ndim
    shape[channel_axis] = -1
    sw = np.asarray(sw, F32)
    sw = sw.reshape(shape) if sw.ndim else sw
    product = ((acc.astype(F32) * sx) * sw) * F32(multiplier)
    if bias is None:
        return product, np.abs(product)
    b = np.asarray(bias, F32).reshape(shape)
    return product + b, np.maximum(np.abs(product), np.abs(b))


def qlinear(xq, wq, sx, sw, zx=None, zw=None, bias=None, multiplier=1.0):
    """acc[..., n] = sum_k (x - zx) * (w[n] - zw[n]) in int64 (checked to fit
    i32), then the f32 epilogue. Returns (y, magnitude)."""
    xq, wq = np.asarray(xq, np.int64), np.asarray(wq, np.int64)
    sx = np.asarray(sx, F32)
    xc = xq - (0 if zx is None else np.asarray(zx, np.int64)[..., None])
    wc = wq - (0 if zw is None else np.asarray(zw, np.int64)[..., None])
    acc = check_i32(xc @ wc.T)
    return epilogue(acc, sx[..., None] if sx.ndim else sx, sw, multiplier,
                    bias, acc.ndim - 1)


def conv_nchw(x, w, strides, padding, dilations):
    """The NCHW x FCHW convolution of PyTorch's Conv2d (one group) in x's
    dtype, zero padding on both sides of H and W."""
    (ph, pw), (sh, sv), (dh, dv) = padding, strides, dilations
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, hp, wp = xp.shape
    f, _, kh, kw = w.shape
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dv * (kw - 1) - 1) // sv + 1
    out = np.zeros((n, f, oh, ow), np.result_type(x, w))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                       j * dv: j * dv + sv * (ow - 1) + 1: sv]
            out += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return out


def qconv2d(xq, wq, sx, sw, zx=None, zw=None, bias=None, strides=(1, 1),
            padding=(0, 0), dilations=(1, 1), multiplier=1.0):
    """NCHW x FCHW convolution of centered levels; the padding is the real
    zero (the zero point, 0 after centering). Returns (y, magnitude)."""
    xc = np.asarray(xq, np.int64) - (0 if zx is None else int(zx))
    wc = np.asarray(wq, np.int64) - (
        0 if zw is None else np.asarray(zw, np.int64).reshape(-1, 1, 1, 1))
    acc = conv_nchw(xc, wc, strides, padding, dilations)
    return epilogue(check_i32(acc), np.asarray(sx, F32), sw, multiplier,
                    bias, 1)


# -- Float layers (float64 references, see the module docstring) ------------ #


def f64(v):
    return np.asarray(v, np.float64)


def rotate(w, block, axis):
    """(w * R, |w| * |R|) with R the normalized block Hadamard along `axis`:
    a weight read in a layer's input_rotation basis (or a rotated input),
    and the magnitude of its terms."""
    h = hadamard_matrix(block)
    return (block_hadamard(f64(w), h, axis),
            block_hadamard(np.abs(f64(w)), np.abs(h), axis))


def with_magnitude(v):
    """(v, |v|) for an array, or a (value, magnitude) pair from `rotate`."""
    return v if isinstance(v, tuple) else (f64(v), np.abs(f64(v)))


def linear(x, w, bias=None):
    """x * w^T + b over the last axis. Returns (y, magnitude) where the
    magnitude is |x| * |w|^T + |b|; `x` and `w` may be (value, magnitude)
    pairs from `rotate`."""
    (x, x_abs), (w, w_abs) = with_magnitude(x), with_magnitude(w)
    y, magnitude = x @ w.T, x_abs @ w_abs.T
    if bias is not None:
        y, magnitude = y + f64(bias), magnitude + np.abs(f64(bias))
    return y, magnitude


def conv2d(x, w, bias=None, strides=(1, 1), padding=(0, 0),
           dilations=(1, 1)):
    """PyTorch's Conv2d (one group) and its magnitude, as `linear`."""
    (x, x_abs), (w, w_abs) = with_magnitude(x), with_magnitude(w)
    y = conv_nchw(x, w, strides, padding, dilations)
    magnitude = conv_nchw(x_abs, w_abs, strides, padding, dilations)
    if bias is not None:
        b = f64(bias).reshape(1, -1, 1, 1)
        y, magnitude = y + b, magnitude + np.abs(b)
    return y, magnitude


def gelu(x, approximate):
    """0.5 x (1 + erf(x / sqrt(2))), or PyTorch's tanh form
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
    x = f64(x)
    if approximate == "tanh":
        inner = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1 + np.tanh(inner))
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / np.sqrt(2)))


def silu(x):
    x = f64(x)
    return x / (1 + np.exp(-x))


def normalize(x, axes, epsilon):
    """(x - mean) / sqrt(var + eps) over `axes` with the biased variance.
    Returns (y, magnitude) with magnitude = max |x| over the slice / std (at
    least |y|)."""
    x = f64(x)
    mean = x.mean(axis=axes, keepdims=True)
    std = np.sqrt(x.var(axis=axes, keepdims=True) + float(F32(epsilon)))
    y = (x - mean) / std
    magnitude = np.abs(x).max(axis=axes, keepdims=True) / std
    return y, np.maximum(magnitude, np.abs(y))


def affine(y, magnitude, weight, bias, shape):
    """y * weight + bias (either may be None), both reshaped to `shape`."""
    if weight is not None:
        w = f64(weight).reshape(shape)
        y, magnitude = y * w, magnitude * np.abs(w)
    if bias is not None:
        b = f64(bias).reshape(shape)
        y, magnitude = y + b, magnitude + np.abs(b)
    return y, magnitude


def layer_norm(x, epsilon, weight=None, bias=None):
    """Over the last dimension; weight and bias [D]."""
    return affine(*normalize(x, -1, epsilon), weight, bias, (-1,))


def group_norm(x, groups, epsilon, weight=None, bias=None):
    """Each (sample, group of C / groups channels) over its channels and the
    trailing dimensions; weight and bias [C]."""
    x = f64(x)
    n, c = x.shape[:2]
    grouped = x.reshape((n, groups, c // groups) + x.shape[2:])
    y, magnitude = normalize(grouped, tuple(range(2, grouped.ndim)), epsilon)
    return affine(y.reshape(x.shape), magnitude.reshape(x.shape), weight,
                  bias, (1, c) + (1,) * (x.ndim - 2))


def softmax(x, axis):
    x = f64(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def modulate(x, shift, scale):
    """x * (1 + scale[b]) + shift[b] with [B, D] shift and scale broadcast
    over the middle dimensions of x [B, ..., D]. Returns (y, magnitude)."""
    x = f64(x)
    middle = (x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],)
    shift, scale = f64(shift).reshape(middle), f64(scale).reshape(middle)
    y = x * (1 + scale) + shift
    return y, np.abs(x) * np.abs(1 + scale) + np.abs(shift)


def tensor_scale(x, bits):
    """max |x| over the whole tensor / (2^(bits-1) - 1), in float32."""
    absmax = np.max(np.abs(np.asarray(x, F32)))
    return np.asarray(absmax / F32(2 ** (bits - 1) - 1), F32)


# -- Calibration ops -------------------------------------------------------- #


def channel_range(x, axis):
    """(min, max) of each channel along `axis` over every other dimension, as
    float32, NaNs skipped (np.fmin/np.fmax); a channel without a number
    keeps +inf/-inf."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, 0)
    rows = x.reshape(x.shape[0], -1)
    lo = np.fmin.reduce(rows, axis=1, initial=np.inf)
    hi = np.fmax.reduce(rows, axis=1, initial=-np.inf)
    return lo.astype(F32), hi.astype(F32)


def histogram(x, bins, low, high):
    """Counts per bin of bin = clamp(floor((x - low) * bins / (high - low)),
    0, bins - 1) over every element in float64 (+-inf in the end bins), NaNs
    not counted."""
    x = np.asarray(x, np.float64).ravel()
    x = x[~np.isnan(x)]
    with np.errstate(invalid="ignore"):
        position = np.floor((x - low) * bins / (high - low))
    b = np.clip(position, 0, bins - 1).astype(np.int64)
    return np.bincount(b, minlength=bins)


def histogram_by_edges(x, bins, low, high):
    """The same histogram from the bin edges low + k (high - low) / bins and
    a binary search (x in bin k when edge k <= x < edge k + 1): independent
    of the float formula, and equal to it where the edges are exact."""
    x = np.asarray(x, np.float64).ravel()
    x = x[~np.isnan(x)]
    edges = low + np.arange(bins + 1) * ((high - low) / bins)
    b = np.searchsorted(edges, x, side="right") - 1
    return np.bincount(np.clip(b, 0, bins - 1), minlength=bins)


def step_index(t, steps):
    """The index of the step nearest to float64(t), the first on a tie."""
    d = np.abs(float(t) - np.asarray(steps, np.float64))
    return int(np.flatnonzero(d == d.min())[0])


def channel_shift(x, shift, divisor, axis, elt):
    """(x - shift[c]) / divisor[c] in float32, rounded to `elt`."""
    shape = [1] * np.ndim(x)
    shape[axis] = -1
    s = np.asarray(shift, F32).reshape(shape)
    d = np.asarray(divisor, F32).reshape(shape)
    return round_to((np.asarray(x, F32) - s) / d, elt)


# ===----------------------------------------------------------------------=== #
# Hadamard matrices
# ===----------------------------------------------------------------------=== #

@functools.lru_cache(maxsize=None)
def hadamard_matrix(order: int) -> np.ndarray:
    """H_raw(order) from the independent `hadamard_ref.raw_hadamard`, checked
    to be a +-1 matrix with H H^T = n I."""
    h = np.asarray(raw_hadamard(order), dtype=np.int64)
    if h.shape != (order, order) or not np.all(np.abs(h) == 1):
        raise CaseError(f"H_raw({order}) is not an {order}x{order} +-1 matrix")
    if not np.array_equal(h @ h.T, order * np.eye(order, dtype=np.int64)):
        raise CaseError(f"H_raw({order}) is not a Hadamard matrix")
    return h


# ===----------------------------------------------------------------------=== #
# Expectations
# ===----------------------------------------------------------------------=== #


@dataclass
class Expected:
    """Expected values; `bound` (absolute, elementwise) is None for exact."""

    values: np.ndarray
    bound: Optional[np.ndarray] = None
    note: str = ""


def exact(values, note="") -> Expected:
    return Expected(np.asarray(values), None, note)


def relative(values, magnitude=None, rtol=RTOL_F32, note="") -> Expected:
    values = np.asarray(values, np.float64)
    magnitude = np.abs(values) if magnitude is None else np.abs(magnitude)
    return Expected(values, rtol * np.maximum(magnitude, FLT_MIN), note)


def float_layer(values, magnitude, elt="f32", note="") -> Expected:
    """Bound: RTOL_FLOAT_LAYER * magnitude, plus one unit in the last place
    of |expected| for f16/bf16 results."""
    values = np.asarray(values, np.float64)
    bound = RTOL_FLOAT_LAYER * np.maximum(np.abs(magnitude), FLT_MIN)
    if elt != "f32":
        bound = bound + RTOL_NARROW[elt] * np.abs(values)
    return Expected(values, bound, note)


def block_relative(values, block, axis, elt) -> Expected:
    """Bound: rtol(elt) * max |expected| over the same Hadamard block."""
    values = np.asarray(values, np.float64)
    moved = np.moveaxis(np.abs(values), axis, -1)
    blocks = moved.reshape(moved.shape[:-1] + (moved.shape[-1] // block, block))
    peak = np.broadcast_to(blocks.max(axis=-1, keepdims=True), blocks.shape)
    peak = np.moveaxis(peak.reshape(moved.shape), -1, axis)
    return Expected(values, RTOL_NARROW[elt] * np.maximum(peak, FLT_MIN))


# ===----------------------------------------------------------------------=== #
# Kernels: arguments, ops and results of one case
# ===----------------------------------------------------------------------=== #


@dataclass
class Value:
    """An SSA value of the kernel: its name and its type."""

    name: str
    shape: tuple
    elt: str  # element type; "i64"/"index"/"i32" scalars have shape None

    @property
    def ref(self) -> str:
        return "%" + self.name

    @property
    def type(self) -> str:
        return self.elt if self.shape is None else tensor_type(self.shape, self.elt)


@dataclass
class Result:
    value: Value
    expect: Callable[[dict], Expected]  # given the printed results so far
    unsigned: bool = False  # integer levels read with zero extension


@dataclass
class Kernel:
    """The body of @kernel under construction: its arguments with their
    values, the op lines, and the results with their expectations. The op
    methods append one hqdm op each and return its result Value."""

    args: list = field(default_factory=list)  # (Value, numpy value)
    lines: list = field(default_factory=list)
    results: list = field(default_factory=list)

    def arg(self, name, value, elt) -> Value:
        value = np.asarray(value)
        v = Value(name, value.shape, elt)
        self.args.append((v, value))
        return v

    def scalar(self, name, value: int, type_: str) -> Value:
        v = Value(name, None, type_)
        self.args.append((v, value))
        return v

    def op(self, name, shape, elt, text) -> Value:
        self.lines.append(f"%{name} = {text}")
        return Value(name, tuple(shape), elt)

    def result(self, value: Value, expect, unsigned=False):
        self.results.append(Result(value, expect, unsigned))

    # -- hqdm ops ---------------------------------------------------------- #

    def quantize(self, name, x, s, z, scheme, elt) -> Value:
        return self._quantizer("quantize", name, x, s, z, scheme, elt)

    def dequantize(self, name, q, s, z, scheme, elt) -> Value:
        return self._quantizer("dequantize", name, q, s, z, scheme, elt)

    def fake_quant(self, name, x, s, z, scheme) -> Value:
        return self._quantizer("fake_quant", name, x, s, z, scheme, x.elt)

    def _quantizer(self, op, name, x, s, z, scheme, elt) -> Value:
        operands = [x, s] + ([z] if z is not None else [])
        return self.op(name, x.shape, elt,
                       f"hqdm.{op} {', '.join(o.ref for o in operands)} "
                       f"{scheme.mlir()} : ({', '.join(o.type for o in operands)})"
                       f" -> {tensor_type(x.shape, elt)}")

    def token_scale(self, name, x, bits) -> Value:
        out = x.shape[:-1]
        return self.op(name, out, "f32",
                       f"hqdm.token_scale {x.ref} <bits = {bits}> : {x.type} -> "
                       f"{tensor_type(out, 'f32')}")

    def step_select(self, name, table, step, group_starts=None) -> Value:
        out = table.shape[1:]
        groups = ("" if group_starts is None else
                  f" group_starts [{', '.join(map(str, group_starts))}]")
        return self.op(name, out, table.elt,
                       f"hqdm.step_select {table.ref}[{step.ref}]{groups} : "
                       f"{table.type}, {step.type} -> "
                       f"{tensor_type(out, table.elt)}")

    def step_index(self, name, t, steps) -> Value:
        """hqdm.step_index, its index result returned as a tensor<i32> (so
        that @main can print it)."""
        self.lines.append(f"%{name}_index = hqdm.step_index {t.ref} steps "
                          f"[{', '.join(map(f64_literal, steps))}] : {t.type}")
        self.lines.append(f"%{name}_i32 = arith.index_cast %{name}_index : "
                          f"index to i32")
        return self.op(name, (), "i32",
                       f"tensor.from_elements %{name}_i32 : tensor<i32>")

    def observe(self, name, x, axis=None, histogram=None):
        """hqdm.observe with `histogram` = (bins, low, high) or None. Returns
        the Values (channel_min, channel_max[, histogram])."""
        channels = x.shape[-1 if axis is None else axis]
        attrs = {"name": f'"{name}"'}
        if axis is not None:
            attrs["axis"] = f"{axis} : i64"
        outs = [Value(f"{name}_min", (channels,), "f32"),
                Value(f"{name}_max", (channels,), "f32")]
        if histogram is not None:
            bins, low, high = histogram
            attrs.update(bins=f"{bins} : i64", low=f64_attr(low),
                         high=f64_attr(high))
            outs.append(Value(f"{name}_hist", (bins,), "i32"))
        self.lines.append(
            f"{', '.join(o.ref for o in outs)} = hqdm.observe {x.ref}"
            f"{attr_dict(attrs)} : {x.type} -> "
            f"{', '.join(o.type for o in outs)}")
        return outs

    def channel_shift(self, name, x, shift, divisor, axis=None) -> Value:
        attrs = {} if axis is None else {"axis": f"{axis} : i64"}
        return self._float_op("channel_shift", name, x.shape, x,
                              [shift, divisor], {}, attrs)

    def hadamard(self, name, x, block, elt, axis=-1, normalized=True) -> Value:
        return self.op(name, x.shape, elt,
                       f"hqdm.hadamard {x.ref} <block = {block}, normalized = "
                       f"{str(normalized).lower()}> {{axis = {axis} : i64}} : "
                       f"{x.type} -> {tensor_type(x.shape, elt)}")

    def _layer(self, op, name, shape, x, w, sx, sw, zx, zw, bias, attrs):
        operands = [x, w, sx, sw]
        text = f"hqdm.{op} {x.ref}, {w.ref} scales({sx.ref}, {sw.ref})"
        for keyword, v in (("input_zero_point", zx), ("weight_zero_point", zw),
                           ("bias", bias)):
            if v is not None:
                operands.append(v)
                text += f" {keyword}({v.ref})"
        text += attr_dict(attrs)
        text += (f" : ({', '.join(o.type for o in operands)}) -> "
                 f"{tensor_type(shape, 'f32')}")
        return self.op(name, shape, "f32", text)

    def qlinear(self, name, x, w, sx, sw, zx=None, zw=None, bias=None,
                multiplier=None) -> Value:
        attrs = {} if multiplier is None else {"multiplier": f32_attr(multiplier)}
        return self._layer("qlinear", name, x.shape[:-1] + (w.shape[0],), x, w,
                           sx, sw, zx, zw, bias, attrs)

    def qconv2d(self, name, x, w, sx, sw, out_hw, zx=None, zw=None, bias=None,
                strides=(1, 1), padding=(0, 0), dilations=(1, 1),
                multiplier=None) -> Value:
        attrs = {"strides": i64_array(strides), "padding": i64_array(padding),
                 "dilations": i64_array(dilations)}
        if multiplier is not None:
            attrs["multiplier"] = f32_attr(multiplier)
        shape = (x.shape[0], w.shape[0]) + tuple(out_hw)
        return self._layer("qconv2d", name, shape, x, w, sx, sw, zx, zw, bias,
                           attrs)

    # Float layers: results have the input's element type.

    def _float_op(self, op, name, shape, x, operands, keywords, attrs):
        """`hqdm.op x, operands... keyword(v)... {attrs} : (types) -> type`;
        `keywords` maps keywords to optional values."""
        text = f"hqdm.{op} " + ", ".join(o.ref for o in [x] + operands)
        present = [x] + operands
        for keyword, v in keywords.items():
            if v is not None:
                present.append(v)
                text += f" {keyword}({v.ref})"
        text += (f"{attr_dict(attrs)} : ({', '.join(o.type for o in present)})"
                 f" -> {tensor_type(shape, x.elt)}")
        return self.op(name, shape, x.elt, text)

    def linear(self, name, x, w, bias=None, rotation=None, input_shift=None,
               activation_scales=None) -> Value:
        attrs = ({} if rotation is None
                 else {"input_rotation": hadamard_attr(rotation)})
        if input_shift is not None:
            attrs["input_shift"] = (f"{dense_literal(input_shift, 'f32')} : "
                                    f"{tensor_type(input_shift.shape, 'f32')}")
        if activation_scales is not None:
            attrs["activation_scales"] = activation_scales
        return self._float_op("linear", name, x.shape[:-1] + (w.shape[0],), x,
                              [w], {"bias": bias}, attrs)

    def conv2d(self, name, x, w, out_hw, bias=None, strides=(1, 1),
               padding=(0, 0), dilations=(1, 1), rotation=None) -> Value:
        attrs = {"strides": i64_array(strides), "padding": i64_array(padding),
                 "dilations": i64_array(dilations)}
        if rotation is not None:
            attrs["input_rotation"] = hadamard_attr(rotation)
        shape = (x.shape[0], w.shape[0]) + tuple(out_hw)
        return self._float_op("conv2d", name, shape, x, [w], {"bias": bias},
                              attrs)

    def layer_norm(self, name, x, epsilon, weight=None, bias=None) -> Value:
        return self._float_op("layer_norm", name, x.shape, x, [],
                              {"weight": weight, "bias": bias},
                              {"epsilon": f32_attr(epsilon)})

    def group_norm(self, name, x, groups, epsilon, weight=None,
                   bias=None) -> Value:
        return self._float_op("group_norm", name, x.shape, x, [],
                              {"weight": weight, "bias": bias},
                              {"groups": f"{groups} : i64",
                               "epsilon": f32_attr(epsilon)})

    def modulate(self, name, x, shift, scale) -> Value:
        return self._float_op("modulate", name, x.shape, x, [shift, scale],
                              {}, {})

    def gelu(self, name, x, approximate) -> Value:
        return self.op(name, x.shape, x.elt,
                       f"hqdm.gelu {x.ref} approximate {approximate} : {x.type}")

    def silu(self, name, x) -> Value:
        return self.op(name, x.shape, x.elt, f"hqdm.silu {x.ref} : {x.type}")

    def softmax(self, name, x, axis) -> Value:
        return self.op(name, x.shape, x.elt,
                       f"hqdm.softmax {x.ref} {{axis = {axis} : i64}} : {x.type}")

    def tensor_scale(self, name, x, bits) -> Value:
        return self.op(name, (), "f32",
                       f"hqdm.tensor_scale {x.ref} <bits = {bits}> : {x.type} "
                       f"-> tensor<f32>")


def attr_dict(attrs) -> str:
    if not attrs:
        return ""
    return " {" + ", ".join(f"{k} = {v}" for k, v in attrs.items()) + "}"


def hadamard_attr(block) -> str:
    return f"#hqdm.hadamard<block = {block}>"


def f32_attr(v) -> str:
    return "0x%08X : f32" % int(np.asarray(v, F32).view(np.uint32))


def f64_attr(v) -> str:
    """An exact f64 attribute (its bit pattern)."""
    return "0x%016X : f64" % int(np.asarray(v, np.float64).view(np.uint64))


def f64_literal(v) -> str:
    """A decimal literal that parses back to the double `v` (Python's
    shortest round-trip form)."""
    return repr(float(v))


def i64_array(values) -> str:
    return f"array<i64: {', '.join(map(str, values))}>"


# ===----------------------------------------------------------------------=== #
# Module emission
# ===----------------------------------------------------------------------=== #


def identity_maps(rank):
    dims = ", ".join(f"d{i}" for i in range(rank))
    m = f"affine_map<({dims}) -> ({dims})>"
    return m, ", ".join(['"parallel"'] * rank)


def print_result(i, ref, r: Result) -> list:
    """Lines of @main that print the kernel result `ref` as i32 data."""
    v = r.value
    i32 = tensor_type(v.shape, "i32")
    memref = i32.replace("tensor<", "memref<")
    lines = []
    if v.elt != "i32":
        if is_float(v.elt):
            ext = "" if v.elt == "f32" else f"%x = arith.extf %a : {v.elt} to f32\n    "
            body = f"{ext}%c = arith.bitcast {'%x' if ext else '%a'} : f32 to i32"
        else:
            ext = "extui" if r.unsigned else "extsi"
            body = f"%c = arith.{ext} %a : {v.elt} to i32"
        m, iters = identity_maps(len(v.shape))
        lines += [
            f"%e{i} = tensor.empty() : {i32}",
            f"%c{i} = linalg.generic {{indexing_maps = [{m}, {m}], "
            f"iterator_types = [{iters}]}} ins({ref} : {v.type}) "
            f"outs(%e{i} : {i32}) {{",
            f"  ^bb0(%a: {v.elt}, %o: i32):",
            f"    {body}",
            "    linalg.yield %c : i32",
            f"  }} -> {i32}",
        ]
        ref = f"%c{i}"
    lines += [
        f"%m{i} = bufferization.to_buffer {ref} : {i32} to {memref}",
        f"%u{i} = memref.cast %m{i} : {memref} to memref<*xi32>",
        f"call @printMemrefI32(%u{i}) : (memref<*xi32>) -> ()",
    ]
    return lines


def emit_module(name: str, k: Kernel) -> str:
    arg_decls = ", ".join(f"{v.ref}: {v.type}" for v, _ in k.args)
    result_types = ", ".join(r.value.type for r in k.results)
    out = [f"// Generated by `hqdm_ref.py emit {name}` (seed {seed_of(name)}).",
           "func.func private @printMemrefI32(memref<*xi32>) "
           "attributes {llvm.emit_c_interface}",
           "",
           f"func.func @kernel({arg_decls}) -> ({result_types}) {{"]
    out += ["  " + line for line in k.lines]
    out += [f"  return {', '.join(r.value.ref for r in k.results)} : {result_types}",
            "}", "", "func.func @main() {"]
    for v, value in k.args:
        if v.shape is not None:
            literal = dense_literal(value, v.elt)
        elif v.elt == "f64":
            literal = "0x%016X" % int(
                np.asarray(value, np.float64).view(np.uint64))
        elif is_float(v.elt):
            literal = format_element(value, v.elt)
        else:
            literal = f"{int(value)}"
        out.append(f"  %a_{v.name} = arith.constant {literal} : {v.type}")
    arg_types = ", ".join(v.type for v, _ in k.args)
    out.append(f"  %r:{len(k.results)} = call @kernel("
               f"{', '.join('%a_' + v.name for v, _ in k.args)}) : "
               f"({arg_types}) -> ({result_types})")
    for i, r in enumerate(k.results):
        out += ["  " + line for line in print_result(i, f"%r#{i}", r)]
    out += ["  return", "}", ""]
    return "\n".join(out)


# ===----------------------------------------------------------------------=== #
# Checking
# ===----------------------------------------------------------------------=== #

MEMREF = re.compile(r"Unranked Memref base@ = \S+ rank = (\d+) offset = \d+ "
                    r"sizes = \[([^\]]*)\] strides = \[[^\]]*\] data =")


def parse_output(text: str) -> list:
    """The printed memrefs, in order, as (sizes, int64 data)."""
    headers = list(MEMREF.finditer(text))
    printed = []
    for h, nxt in zip(headers, headers[1:] + [None]):
        sizes = tuple(int(s) for s in h.group(2).split(",") if s.strip())
        if len(sizes) != int(h.group(1)):
            raise CaseError(f"malformed memref header: {h.group(0)}")
        data = text[h.end(): nxt.start() if nxt else len(text)]
        values = np.array([int(t) for t in re.findall(r"-?\d+", data)],
                          dtype=np.int64)
        if values.size != int(np.prod(sizes)):
            raise CaseError(f"memref of sizes {list(sizes)} printed "
                            f"{values.size} values")
        printed.append((sizes, values.reshape(sizes)))
    return printed


def decode(r: Result, data: np.ndarray) -> np.ndarray:
    if is_float(r.value.elt):
        return data.astype(np.int32).view(F32).astype(np.float64)
    return data


def compare(label: str, got: np.ndarray, exp: Expected) -> bool:
    """Prints the result line (and mismatches); returns True if it passed."""
    expected = np.asarray(exp.values)
    if got.shape != expected.shape:
        print(f"{label}: shape {got.shape}, expected {expected.shape}, FAIL")
        return False
    with np.errstate(invalid="ignore"):  # inf - inf where both are inf
        err = np.where(got == expected, 0.0,
                       np.abs(got.astype(np.float64) -
                              expected.astype(np.float64)))
    if exp.bound is None:
        bad = got != expected
    else:
        bad = ~(err <= exp.bound)  # NaN is a mismatch
    max_err = np.nan_to_num(err, nan=np.inf).max(initial=0)
    note = f" ({exp.note})" if exp.note else ""
    if not bad.any():
        print(f"{label}: {got.size} values, max abs err {max_err:.3g}, ok{note}")
        return True
    print(f"{label}: {got.size} values, {int(bad.sum())} mismatches, "
          f"max abs err {max_err:.6g}, FAIL{note}")
    for idx in ([()] if bad.ndim == 0 else list(zip(*np.nonzero(bad))))[:10]:
        bound = "" if exp.bound is None else f", bound {exp.bound[idx]:.3g}"
        print(f"  at {list(map(int, idx))}: got {got[idx].item()!r}, "
              f"expected {expected[idx].item()!r}{bound}")
    return False


def check_case(name: str, k: Kernel, text: str) -> bool:
    printed = parse_output(text)
    if len(printed) != len(k.results):
        raise CaseError(f"{name}: the output has {len(printed)} memrefs, "
                        f"expected {len(k.results)}")
    got, ok = {}, True
    for r, (sizes, data) in zip(k.results, printed):
        label = f"{name}.{r.value.name}"
        if sizes != r.value.shape:
            raise CaseError(f"{label}: printed sizes {list(sizes)}, expected "
                            f"{list(r.value.shape)}")
        got[r.value.name] = decode(r, data)
        ok &= compare(label, got[r.value.name], r.expect(got))
    return ok


# ===----------------------------------------------------------------------=== #
# Input generation
# ===----------------------------------------------------------------------=== #


def seed_of(name: str) -> int:
    return zlib.crc32(name.encode())


# Mantissa bits of dyadic scales per input type: (k + 0.5) * s must be exact
# for the levels k of the schemes used with that type (up to 16 bits in f32,
# 8 in f16, 5 in bf16).
SCALE_MANTISSA = {"f32": 7, "f16": 3, "bf16": 2}


def dyadic_scales(rng, shape, elt="f32"):
    """Scales m * 2^e with m odd and at most SCALE_MANTISSA[elt] bits wide,
    so that exact .5 ties (k + 0.5) * s can be built in `elt`."""
    m = 2 * rng.integers(0, 2 ** (SCALE_MANTISSA[elt] - 1), size=shape) + 1
    e = rng.integers(-10, -4, size=shape)
    return (m * np.exp2(e)).astype(F32)


def quantizer_input(rng, s, z, scheme: Scheme, infinities=False):
    """x whose x / s covers: values across and beyond the level range, exact
    .5 ties (even and odd integer part), exact levels, zeros, values far out
    of range (clamped), and optionally +-inf. `s`, `z` are broadcast."""
    lo, hi = scheme.levels
    z = np.zeros(s.shape, np.int64) if z is None else np.broadcast_to(z, s.shape)
    t_lo, t_hi = lo - z, hi - z  # the unclamped range of round(x / s)
    span = (t_hi - t_lo).astype(np.float64)
    kind = rng.choice(5, size=s.shape, p=[0.35, 0.3, 0.1, 0.1, 0.15])
    k = np.floor(rng.uniform(t_lo - 1.5, t_hi + 1.5))
    sign = rng.choice([-1.0, 1.0], size=s.shape)
    t = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [rng.uniform(t_lo - 0.2 * span, t_hi + 0.2 * span), k + 0.5, k,
         np.zeros(s.shape)],
        sign * (rng.uniform(3, 1000, size=s.shape) * (span + 1)))
    s_gen = np.where(s == 0, F32(0.0625), s)
    x = t.astype(F32) * s_gen
    if infinities:
        x.flat[:2] = [np.inf, -np.inf]
    return x


def rounding_note(x, s, z, scheme: Scheme) -> str:
    """Counts the inputs that prove round-half-even (exact ties whose level
    differs from rounding half away from zero) and clamping."""
    s = np.broadcast_to(s, x.shape)
    z = 0 if z is None else z
    lo, hi = scheme.levels
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (x / s).astype(np.float64)
        half_even = np.rint(t) + z
        half_away = np.sign(t) * np.floor(np.abs(t) + 0.5) + z
        tie = (s != 0) & np.isfinite(t) & (t - np.floor(t) == 0.5)
        in_range = (half_even >= lo) & (half_even <= hi)
    decisive = tie & (np.clip(half_even, lo, hi) != np.clip(half_away, lo, hi))
    clamped = (s != 0) & ~in_range
    return (f"exact ties: {int(tie.sum())}, {int(decisive.sum())} where half-even "
            f"differs from half-away; clamped: {int(clamped.sum())}; "
            f"zero scale: {int((s == 0).sum())}")


def random_levels(rng, shape, scheme: Scheme):
    lo, hi = scheme.levels
    return rng.integers(lo, hi + 1, size=shape)


def activations(rng, shape, outliers=True):
    """Normal f32 values with a few outlier channels (last dimension)."""
    x = rng.standard_normal(shape)
    if outliers:
        x[..., rng.choice(shape[-1], size=max(1, shape[-1] // 16),
                          replace=False)] *= 20
    return x.astype(F32)


# ===----------------------------------------------------------------------=== #
# Cases
# ===----------------------------------------------------------------------=== #

CASES: dict = {}  # name -> (topic, builder(rng) -> Kernel)


def case(topic):
    def register(fn):
        CASES[fn.__name__] = (topic, fn)
        return fn
    return register


# -- quantize / dequantize / fake_quant ------------------------------------- #


# fake_quant is checked bit for bit against the printed dequantize(quantize).
SAME_AS_DQ = "fake_quant == dequantize(quantize), bit for bit"


def static_quantizer(rng, shape, scheme: Scheme, storage, *, dyadic=True,
                     zero_scale=False, infinities=False, elt="f32",
                     scale=None, zero_point=None) -> Kernel:
    """quantize, dequantize(quantize) and fake_quant with static scales."""
    pshape = scheme.param_shape(shape)
    if scale is None:
        scale = (dyadic_scales(rng, pshape, elt) if dyadic
                 else rng.uniform(0.01, 0.3, size=pshape).astype(F32))
    if zero_scale:
        scale.flat[len(scale.flat) // 2] = 0
    lo, hi = scheme.levels
    if not scheme.symmetric and zero_point is None:
        zero_point = rng.integers(lo + (hi - lo) // 4, hi - (hi - lo) // 4 + 1,
                                  size=pshape)
    sb = scheme.broadcast(scale, shape)
    zb = None if zero_point is None else scheme.broadcast(zero_point, shape)
    x = round_to(quantizer_input(rng, np.broadcast_to(sb, shape), zb, scheme,
                                 infinities), elt)

    k = Kernel()
    xv = k.arg("x", x, elt)
    sv = k.arg("s", scale, "f32")
    zv = None if zero_point is None else k.arg("z", zero_point, "i32")
    q = k.quantize("q", xv, sv, zv, scheme, storage)
    d = k.dequantize("dq", q, sv, zv, scheme, elt)
    f = k.fake_quant("fq", xv, sv, zv, scheme)
    levels = quantize(x, scale, zero_point, scheme)
    k.result(q, lambda got: exact(levels, rounding_note(x, sb, zb, scheme)),
             unsigned=not scheme.symmetric)
    k.result(d, lambda got: relative(dequantize(levels, scale, zero_point,
                                                scheme, elt)))
    k.result(f, lambda got: exact(got["dq"], SAME_AS_DQ))
    return k


@case("quantize")
def quant_sym4_per_tensor(rng):
    return static_quantizer(rng, (16, 32), Scheme(4), "i4")


@case("quantize")
def quant_sym3_per_tensor(rng):
    # A full-mantissa scale: the f32 division rounds; +-inf clamp.
    return static_quantizer(rng, (16, 24), Scheme(3), "i4", dyadic=False,
                            infinities=True)


@case("quantize")
def quant_sym8_per_tensor(rng):
    return static_quantizer(rng, (8, 64), Scheme(8), "i8")


@case("quantize")
def quant_asym8_per_tensor(rng):
    # Levels >= 128 in i8: the printer and dequantize must zero-extend.
    return static_quantizer(rng, (8, 64), Scheme(8, symmetric=False), "i8",
                            infinities=True, zero_point=np.array(131))


@case("quantize")
def quant_asym3_per_tensor(rng):
    return static_quantizer(rng, (12, 20), Scheme(3, symmetric=False), "i8",
                            dyadic=False, infinities=True)


@case("quantize")
def quant_asym3_zero_scale(rng):
    # s = 0 never divides: every level is the zero point, every value 0.
    return static_quantizer(rng, (4, 16), Scheme(3, symmetric=False), "i8",
                            scale=np.array(0, F32), zero_point=np.array(5))


@case("quantize")
def quant_asym4_per_channel_axis0(rng):
    return static_quantizer(rng, (12, 40), Scheme(4, False, "per_channel", 0),
                            "i8", zero_scale=True)


@case("quantize")
def quant_sym4_per_channel_axis1(rng):
    return static_quantizer(rng, (3, 10, 16), Scheme(4, True, "per_channel", 1),
                            "i4", zero_scale=True)


@case("quantize")
def quant_asym4_per_channel_axis2_i4(rng):
    # Unsigned 4-bit levels in i4: 8..15 are negative as signed i4.
    return static_quantizer(rng, (4, 6, 16), Scheme(4, False, "per_channel", 2),
                            "i4", zero_scale=True)


@case("quantize")
def quant_sym8_per_channel_i16(rng):
    return static_quantizer(rng, (8, 50), Scheme(8, True, "per_channel", 0),
                            "i16")


@case("quantize")
def quant_asym16_per_channel_i16(rng):
    # 16-bit unsigned levels in i16 (up to 65535).
    return static_quantizer(rng, (40, 6), Scheme(16, False, "per_channel", 1),
                            "i16", zero_scale=True)


@case("quantize")
def quant_asym4_per_tensor_bf16(rng):
    return static_quantizer(rng, (8, 32), Scheme(4, symmetric=False), "i8",
                            elt="bf16")


def token_quantizer(rng, lead, width, bits, storage, elt="f32") -> Kernel:
    """token_scale, then quantize / dequantize / fake_quant per token.

    Each token gets a dyadic scale s and one element of magnitude
    (2^(bits-1) - 1) * s, so the dynamic scale is exactly s and the .5 ties
    built from it are exact. The last token is all zeros (scale 0)."""
    scheme = Scheme(bits, granularity="per_token")
    qmax = scheme.levels[1]
    s = dyadic_scales(rng, lead, elt)
    k_ = rng.integers(-qmax, qmax, size=lead + (width,))
    t = np.where(rng.random(k_.shape) < 0.4, k_ + 0.5,
                 rng.uniform(-qmax, qmax, size=k_.shape))
    t[..., 0] = qmax * rng.choice([-1, 1], size=lead)
    x = round_to((t.astype(F32) * s[..., None]).astype(F32), elt)
    x.reshape(-1, width)[-1] = 0
    scale = token_scale(x, bits)
    if not np.array_equal(scale.reshape(-1)[:-1], s.reshape(-1)[:-1]):
        raise CaseError("token scales are not the dyadic ones")

    k = Kernel()
    xv = k.arg("x", x, elt)
    sv = k.token_scale("s", xv, bits)
    q = k.quantize("q", xv, sv, None, scheme, storage)
    d = k.dequantize("dq", q, sv, None, scheme, elt)
    f = k.fake_quant("fq", xv, sv, None, scheme)
    levels = quantize(x, scale, None, scheme)
    k.result(sv, lambda got: relative(scale))
    k.result(q, lambda got: exact(levels, rounding_note(
        x, scale[..., None], None, scheme)))
    k.result(d, lambda got: relative(dequantize(levels, scale, None, scheme, elt)))
    k.result(f, lambda got: exact(got["dq"], SAME_AS_DQ))
    return k


@case("quantize")
def quant_sym8_per_token(rng):
    return token_quantizer(rng, (24,), 64, 8, "i8")


@case("quantize")
def quant_sym4_per_token_3d(rng):
    return token_quantizer(rng, (2, 5), 48, 4, "i4")


@case("quantize")
def quant_sym3_per_token(rng):
    return token_quantizer(rng, (16,), 32, 3, "i4")


@case("quantize")
def quant_sym8_per_token_f16(rng):
    return token_quantizer(rng, (8,), 64, 8, "i8", elt="f16")


def dequantize_levels(rng, shape, scheme, storage, elt) -> Kernel:
    """dequantize of given levels spanning the whole range (no quantize)."""
    pshape = scheme.param_shape(shape)
    levels = random_levels(rng, shape, scheme)
    scale = rng.uniform(0.001, 0.1, size=pshape).astype(F32)
    lo, hi = scheme.levels
    zp = None if scheme.symmetric else rng.integers(lo, hi + 1, size=pshape)
    k = Kernel()
    qv = k.arg("q", levels, storage)
    sv = k.arg("s", scale, "f32")
    zv = None if zp is None else k.arg("z", zp, "i32")
    d = k.dequantize("dq", qv, sv, zv, scheme, elt)
    k.result(d, lambda got: relative(dequantize(levels, scale, zp, scheme, elt)))
    return k


@case("quantize")
def dequant_asym4_i4_per_channel(rng):
    return dequantize_levels(rng, (16, 20), Scheme(4, False, "per_channel", 1),
                             "i4", "f32")


@case("quantize")
def dequant_asym8_i8_per_token_f16(rng):
    return dequantize_levels(rng, (6, 40), Scheme(8, False, "per_token"),
                             "i8", "f16")


# -- hadamard --------------------------------------------------------------- #


def hadamard_case(rng, specs) -> Kernel:
    """One hadamard per spec (name, shape, block, in elt, out elt, axis);
    float inputs are activations, integer ones levels (with both extremes)."""
    k = Kernel()
    for name, shape, block, elt, out, axis in specs:
        if is_float(elt):
            x = round_to(activations(rng, shape), elt)
        else:
            width = int_width(elt)
            x = rng.integers(-(1 << (width - 1)), 1 << (width - 1), size=shape)
            x.flat[:2] = [-(1 << (width - 1)), (1 << (width - 1)) - 1]
        xv = k.arg("x_" + name, x, elt)
        y = k.hadamard(name, xv, block, out, axis, normalized=is_float(elt))

        def expect(got, x=x, block=block, elt=elt, out=out, axis=axis):
            h = hadamard_matrix(block)
            ref = block_hadamard(x, h, axis, normalized=is_float(elt))
            if is_float(elt):
                return block_relative(ref, block, axis, out)
            if np.abs(ref).max() >= 2 ** (int_width(out) - 1):
                raise CaseError(f"{out} cannot hold the raw transform")
            return exact(ref)
        k.result(y, expect)
    return k


def full_orders(rng, orders, rows=3):
    return hadamard_case(rng, [(f"h{n}", (rows, n), n, "f32", "f32", -1)
                               for n in orders])


@case("hadamard")
def had_block32(rng):
    return hadamard_case(rng, [("y", (4, 128), 32, "f32", "f32", -1)])


@case("hadamard")
def had_block1152(rng):
    return hadamard_case(rng, [("y", (2, 2304), 1152, "f32", "f32", -1)])


@case("hadamard")
def had_orders_small(rng):
    return full_orders(rng, [12, 20, 28, 36, 40])


@case("hadamard")
def had_orders_medium(rng):
    return full_orders(rng, [52, 60, 64, 72, 108, 140])


@case("hadamard")
def had_orders_williamson(rng):
    return full_orders(rng, [156, 172])


@case("hadamard")
def had_orders_large(rng):
    return full_orders(rng, [768, 1536], rows=2)


@case("hadamard")
def had_axis1_nchw(rng):
    # Channels of an NCHW tensor: blocks of 24 = 12 x 2, and a full 16.
    return hadamard_case(rng, [
        ("blocks", (2, 48, 3, 5), 24, "f32", "f32", 1),
        ("full", (1, 16, 4, 4), 16, "f32", "f32", 1)])


@case("hadamard")
def had_raw_integer(rng):
    # normalized = false on levels: exact integers in a wider type.
    return hadamard_case(rng, [
        ("i8_to_i16", (8, 64), 64, "i8", "i16", -1),
        ("i8_to_i32", (2, 2304), 1152, "i8", "i32", -1),
        ("i4_to_i16", (6, 2, 96), 96, "i4", "i16", -1)])


@case("hadamard")
def had_f16_bf16(rng):
    return hadamard_case(rng, [
        ("f16", (4, 96), 96, "f16", "f16", -1),
        ("bf16", (4, 128), 64, "bf16", "bf16", -1)])


# -- qlinear ---------------------------------------------------------------- #


def with_bias(rng, k, n):
    b = rng.standard_normal(n).astype(F32)
    return k.arg("b", b, "f32"), b


def dynamic_qlinear(rng, *, tokens, K, N, wscheme: Scheme, wstorage,
                    bias=False) -> Kernel:
    """token_scale + per-token 8-bit quantize + qlinear with per-channel
    weights (zero points when asymmetric)."""
    x = activations(rng, (tokens, K))
    wq = random_levels(rng, (N, K), wscheme)
    sw = rng.uniform(0.005, 0.05, size=N).astype(F32)
    lo, hi = wscheme.levels
    zw = None if wscheme.symmetric else rng.integers(lo, hi + 1, size=N)
    k = Kernel()
    xv = k.arg("x", x, "f32")
    wv = k.arg("w", wq, wstorage)
    swv = k.arg("sw", sw, "f32")
    zwv = None if zw is None else k.arg("zw", zw, "i32")
    bv, b = with_bias(rng, k, N) if bias else (None, None)
    sxv = k.token_scale("sx", xv, 8)
    xq = k.quantize("xq", xv, sxv, None, Scheme(8, granularity="per_token"), "i8")
    y = k.qlinear("y", xq, wv, sxv, swv, zw=zwv, bias=bv)
    sx = token_scale(x, 8)
    levels = quantize(x, sx, None, Scheme(8, granularity="per_token"))
    k.result(sxv, lambda got: relative(sx))
    k.result(xq, lambda got: exact(levels))
    k.result(y, lambda got: relative(*qlinear(levels, wq, sx, sw, zw=zw, bias=b)))
    return k


@case("qlinear")
def ql_w4_sym_per_token(rng):
    return dynamic_qlinear(rng, tokens=16, K=64, N=32, wscheme=Scheme(4),
                           wstorage="i4")


@case("qlinear")
def ql_w4_asym_zp_per_token_bias(rng):
    # Unsigned 4-bit weight levels in i4 (8..15 read by zero extension).
    return dynamic_qlinear(rng, tokens=16, K=64, N=32,
                           wscheme=Scheme(4, symmetric=False), wstorage="i4",
                           bias=True)


@case("qlinear")
def ql_w8_asym_zp_per_token(rng):
    return dynamic_qlinear(rng, tokens=8, K=80, N=24,
                           wscheme=Scheme(8, symmetric=False), wstorage="i8")


def static_qlinear(rng, *, lead, K, N, per_token, wscheme, wstorage) -> Kernel:
    """qlinear on given unsigned 8-bit input levels (stored in i8, many >= 128)
    with input zero points, per-tensor or per-token; weights per channel or
    per tensor; bias."""
    xscheme = Scheme(8, symmetric=False)
    xq = random_levels(rng, lead + (K,), xscheme)
    pshape = lead if per_token else ()
    sx = rng.uniform(0.01, 0.05, size=pshape).astype(F32)
    zx = rng.integers(90, 170, size=pshape)
    wq = random_levels(rng, (N, K), wscheme)
    wshape = (N,) if wscheme.granularity == "per_channel" else ()
    sw = rng.uniform(0.005, 0.05, size=wshape).astype(F32)
    zw = None if wscheme.symmetric else rng.integers(0, 2**wscheme.bits, size=wshape)
    k = Kernel()
    xv = k.arg("xq", xq, "i8")
    wv = k.arg("w", wq, wstorage)
    sxv = k.arg("sx", sx, "f32")
    swv = k.arg("sw", sw, "f32")
    zxv = k.arg("zx", zx, "i32")
    zwv = None if zw is None else k.arg("zw", zw, "i32")
    bv, b = with_bias(rng, k, N)
    y = k.qlinear("y", xv, wv, sxv, swv, zx=zxv, zw=zwv, bias=bv)
    k.result(y, lambda got: relative(*qlinear(xq, wq, sx, sw, zx, zw, b)))
    return k


@case("qlinear")
def ql_a8_asym_per_tensor_zp(rng):
    return static_qlinear(rng, lead=(12,), K=96, N=20, per_token=False,
                          wscheme=Scheme(8, granularity="per_channel"),
                          wstorage="i8")


@case("qlinear")
def ql_3d_per_token_zp(rng):
    # [B, T, K] input, per-token scales and zero points [B, T]; per-tensor
    # asymmetric 4-bit weights.
    return static_qlinear(rng, lead=(2, 5), K=48, N=24, per_token=True,
                          wscheme=Scheme(4, symmetric=False), wstorage="i8")


def single_hadamard_qlinear(rng, *, tokens, K, N, block, abits, dynamic,
                            wscheme: Scheme, astorage) -> Kernel:
    """HQ-DM single Hadamard: x_q = Q_a(x H_B), W_rot = (Q_w(W) - z) H_raw,
    y = qlinear(x_q, W_rot, multiplier 1/sqrt(B)) + b.

    The levels are checked against the reference quantizer applied to the
    printed rotation (see the module docstring); W_rot exactly; y with the
    contract's formula. The note reports how close y is to the unrotated
    dequantized layer x (sw W_int)^T, the identity the rotation preserves."""
    x = activations(rng, (tokens, K))
    wq = random_levels(rng, (N, K), wscheme)
    sw = rng.uniform(0.005, 0.05, size=N).astype(F32)
    zw = None if wscheme.symmetric else rng.integers(0, 2**wscheme.bits, size=N)
    w_int = wq - (0 if zw is None else zw[:, None])
    multiplier = F32(1 / np.sqrt(block))
    xscheme = Scheme(abits, granularity="per_token" if dynamic else "per_tensor")
    k = Kernel()
    xv = k.arg("x", x, "f32")
    wv = k.arg("w_int", w_int, "i8")
    swv = k.arg("sw", sw, "f32")
    bv, b = with_bias(rng, k, N)
    xr = k.hadamard("xr", xv, block, "f32")
    if dynamic:
        sxv = k.token_scale("sx", xr, abits)
    else:
        sx_static = F32(np.abs(x).max() / 2 / xscheme.levels[1])
        sxv = k.arg("sx", sx_static, "f32")
    xq = k.quantize("xq", xr, sxv, None, xscheme, astorage)
    wr = k.hadamard("w_rot", wv, block, "i16", normalized=False)
    y = k.qlinear("y", xq, wr, sxv, swv, bias=bv, multiplier=multiplier)

    h = hadamard_matrix(block)
    w_rot = block_hadamard(w_int, h)

    def scale(got):
        return token_scale(got["xr"], abits) if dynamic else sx_static

    def expect_y(got):
        s = scale(got)
        ref, magnitude = qlinear(got["xq"], w_rot, s, sw, bias=b,
                                 multiplier=multiplier)
        w_float = w_int * sw[:, None]
        # x_q W_rot^T / sqrt(B) = (x_q H^T) W_int^T, and x_q s_x H^T ~ x.
        x_back = block_hadamard(got["xq"] * (s[:, None] if dynamic else s), h.T)
        unrotated = x_back @ w_float.T + b
        float_layer = x.astype(np.float64) @ w_float.T + b
        distance = (np.linalg.norm(ref - float_layer) /
                    np.linalg.norm(float_layer))
        note = (f"identity: equals (x_q s_x H^T) (sw W_int)^T + b to "
                f"{np.abs(ref - unrotated).max():.2g}; relative distance to "
                f"the float layer x (sw W_int)^T + b: {distance:.3f}")
        return relative(ref, magnitude, note=note)

    k.result(xr, lambda got: block_relative(block_hadamard(x, h), block, -1,
                                            "f32"))
    if dynamic:
        k.result(sxv, lambda got: relative(scale(got)))
    k.result(xq, lambda got: exact(quantize(got["xr"], scale(got), None,
                                            xscheme)))
    k.result(wr, lambda got: exact(w_rot))
    k.result(y, expect_y)
    return k


@case("qlinear")
def ql_single_hadamard_b32(rng):
    # W4A8, per-token dynamic activations, asymmetric weights folded to W_int.
    return single_hadamard_qlinear(rng, tokens=8, K=64, N=16, block=32,
                                   abits=8, dynamic=True,
                                   wscheme=Scheme(4, symmetric=False),
                                   astorage="i8")


@case("qlinear")
def ql_single_hadamard_b72(rng):
    # W4A4 with a static per-tensor scale, block 72 = 36 x 2 over K = 144.
    return single_hadamard_qlinear(rng, tokens=6, K=144, N=12, block=72,
                                   abits=4, dynamic=False, wscheme=Scheme(4),
                                   astorage="i4")


# -- qconv2d ---------------------------------------------------------------- #


def conv_case(rng, *, x_shape, w_shape, strides=(1, 1), padding=(0, 0),
              dilations=(1, 1), xscheme=Scheme(8), wscheme=Scheme(4),
              wstorage="i4", per_channel=True, bias=True, multiplier=None):
    """qconv2d on given levels; asymmetric schemes get zero points (the
    input's rank 0, the weight's per output channel)."""
    xq = random_levels(rng, x_shape, xscheme)
    wq = random_levels(rng, w_shape, wscheme)
    f = w_shape[0]
    sx = F32(rng.uniform(0.01, 0.05))
    sw = rng.uniform(0.005, 0.05, size=(f,) if per_channel else ()).astype(F32)
    zx = None if xscheme.symmetric else np.array(117)
    zw = None if wscheme.symmetric else rng.integers(0, 2**wscheme.bits, size=f)
    out_hw = [(x_shape[2 + i] + 2 * padding[i] - dilations[i] * (w_shape[2 + i] - 1)
               - 1) // strides[i] + 1 for i in range(2)]
    k = Kernel()
    xv = k.arg("xq", xq, "i8")
    wv = k.arg("w", wq, wstorage)
    sxv = k.arg("sx", sx, "f32")
    swv = k.arg("sw", sw, "f32")
    zxv = None if zx is None else k.arg("zx", zx, "i32")
    zwv = None if zw is None else k.arg("zw", zw, "i32")
    bv, b = with_bias(rng, k, f) if bias else (None, None)
    y = k.qconv2d("y", xv, wv, sxv, swv, out_hw, zx=zxv, zw=zwv, bias=bv,
                  strides=strides, padding=padding, dilations=dilations,
                  multiplier=multiplier)
    k.result(y, lambda got: relative(*qconv2d(
        xq, wq, sx, sw, zx, zw, b, strides, padding, dilations,
        1.0 if multiplier is None else multiplier)))
    return k


@case("qconv2d")
def qc_3x3_pad1_stride2(rng):
    return conv_case(rng, x_shape=(1, 8, 9, 9), w_shape=(4, 8, 3, 3),
                     strides=(2, 2), padding=(1, 1))


@case("qconv2d")
def qc_stride1_no_padding(rng):
    return conv_case(rng, x_shape=(2, 6, 7, 7), w_shape=(5, 6, 3, 3),
                     wscheme=Scheme(8), wstorage="i8", per_channel=False,
                     bias=False)


@case("qconv2d")
def qc_dilation2(rng):
    return conv_case(rng, x_shape=(1, 4, 10, 10), w_shape=(3, 4, 3, 3),
                     padding=(2, 2), dilations=(2, 2), multiplier=0.5)


@case("qconv2d")
def qc_asym_zero_points_padding(rng):
    # Unsigned 8-bit input with zero point 117: the padding must be 117 (the
    # real zero). Unsigned 4-bit weights in i4 with per-channel zero points;
    # a 3x2 kernel, padding [1, 2], strides [1, 2].
    return conv_case(rng, x_shape=(2, 5, 8, 7), w_shape=(6, 5, 3, 2),
                     strides=(1, 2), padding=(1, 2),
                     xscheme=Scheme(8, symmetric=False),
                     wscheme=Scheme(4, symmetric=False))


@case("qconv2d")
def qc_single_hadamard(rng):
    """Single Hadamard per kernel tap along C_in: x rotated on the channel
    axis (NCHW axis 1), the integer weight rotated exactly on its axis 1,
    multiplier 1/sqrt(16). Checked stage by stage like the qlinear cases."""
    c, block = 16, 16
    h = hadamard_matrix(block)
    x = activations(rng, (1, c, 6, 6), outliers=False)
    wq = random_levels(rng, (4, c, 3, 3), Scheme(4))
    sw = rng.uniform(0.005, 0.05, size=4).astype(F32)
    sx = F32(np.abs(x).max() / 127)
    scheme = Scheme(8)
    k = Kernel()
    xv = k.arg("x", x, "f32")
    wv = k.arg("w", wq, "i4")
    sxv = k.arg("sx", sx, "f32")
    swv = k.arg("sw", sw, "f32")
    xr = k.hadamard("xr", xv, block, "f32", axis=1)
    xq = k.quantize("xq", xr, sxv, None, scheme, "i8")
    wr = k.hadamard("w_rot", wv, block, "i16", axis=1, normalized=False)
    y = k.qconv2d("y", xq, wr, sxv, swv, (6, 6), padding=(1, 1),
                  multiplier=0.25)
    w_rot = block_hadamard(wq, h, 1)
    k.result(xr, lambda got: block_relative(block_hadamard(x, h, 1), block, 1,
                                            "f32"))
    k.result(xq, lambda got: exact(quantize(got["xr"], sx, None, scheme)))
    k.result(wr, lambda got: exact(w_rot))
    k.result(y, lambda got: relative(*qconv2d(
        got["xq"], w_rot, sx, sw, padding=(1, 1), multiplier=0.25)))
    return k


# -- float layers ----------------------------------------------------------- #


def output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def rotation_results(k, block, axis, x, w, xv, layer, reference, elt="f32"):
    """The results of a layer with input_rotation = block along `axis`: on
    the input as given (the weight read as W * R), and, in f32, on the input
    rotated by hqdm.hadamard, which must give back the unrotated layer (the
    identity the rotation preserves; the printed unrotated result is "y").
    `layer(name, input, rotation)` emits the op; `reference(x, w)` returns
    (y, magnitude) and takes (value, |value|) pairs from `rotate`."""
    yr = layer("y_rotated_weight", xv, block)
    k.result(yr, lambda got: float_layer(
        *reference(x, rotate(w, block, axis)), elt))
    if elt != "f32":
        return
    xr = k.hadamard("xr", xv, block, "f32", axis=axis)
    yi = layer("y_identity", xr, block)
    expected = reference(x, w)[0]
    magnitude = reference(rotate(x, block, axis), rotate(w, block, axis))[1]

    def expect(got):
        gap = np.abs(got["y_identity"] - got["y"]).max()
        return float_layer(expected, magnitude, note=(
            f"identity: layer(x H) {{input_rotation}} differs from the printed "
            f"layer(x) by at most {gap:.2g}"))
    k.result(yi, expect)


def linear_case(rng, *, lead, K, N, bias=True, block=None,
                elt="f32") -> Kernel:
    """hqdm.linear on activations with outlier channels; with `block`, also
    the input_rotation results of `rotation_results`."""
    x = round_to(activations(rng, lead + (K,)), elt)
    w = round_to(rng.standard_normal((N, K)) / np.sqrt(K), elt)
    b = round_to(rng.standard_normal(N), elt) if bias else None
    k = Kernel()
    xv = k.arg("x", x, elt)
    wv = k.arg("w", w, elt)
    bv = None if b is None else k.arg("b", b, elt)
    y = k.linear("y", xv, wv, bv)
    k.result(y, lambda got: float_layer(*linear(x, w, b), elt))
    if block is not None:
        rotation_results(
            k, block, -1, x, w, xv,
            lambda name, xin, r: k.linear(name, xin, wv, bv, rotation=r),
            lambda xr, wr: linear(xr, wr, b), elt)
    return k


@case("float-layers")
def fl_linear_bias(rng):
    return linear_case(rng, lead=(6,), K=40, N=24)


@case("float-layers")
def fl_linear_3d_no_bias(rng):
    return linear_case(rng, lead=(2, 5), K=48, N=16, bias=False)


@case("float-layers")
def fl_linear_rotation_b32(rng):
    # [B, T, K] input, K = 64 in two blocks of 32 (a symmetric Sylvester H).
    return linear_case(rng, lead=(2, 4), K=64, N=20, block=32)


@case("float-layers")
def fl_linear_rotation_b12(rng):
    # Block 12 (Paley, not symmetric: W * R and W * R^T differ) over K = 48.
    return linear_case(rng, lead=(5,), K=48, N=12, block=12)


@case("float-layers")
def fl_linear_bf16_rotation(rng):
    # bf16 operands: the weight is rotated and the layer computed in f32.
    return linear_case(rng, lead=(4,), K=64, N=8, block=32, elt="bf16")


def conv_float_case(rng, *, x_shape, w_shape, strides=(1, 1), padding=(0, 0),
                    dilations=(1, 1), block=None) -> Kernel:
    """hqdm.conv2d with bias; with `block`, also the input_rotation results
    of `rotation_results` along the channels (axis 1)."""
    x = activations(rng, x_shape, outliers=False)
    fan_in = np.prod(w_shape[1:])
    w = (rng.standard_normal(w_shape) / np.sqrt(fan_in)).astype(F32)
    window = {"strides": strides, "padding": padding, "dilations": dilations}
    out_hw = [output_size(x_shape[2 + i], w_shape[2 + i], strides[i],
                          padding[i], dilations[i]) for i in range(2)]
    k = Kernel()
    xv = k.arg("x", x, "f32")
    wv = k.arg("w", w, "f32")
    bv, b = with_bias(rng, k, w_shape[0])
    y = k.conv2d("y", xv, wv, out_hw, bv, **window)
    k.result(y, lambda got: float_layer(*conv2d(x, w, b, **window)))
    if block is not None:
        rotation_results(
            k, block, 1, x, w, xv,
            lambda name, xin, r: k.conv2d(name, xin, wv, out_hw, bv,
                                          rotation=r, **window),
            lambda xr, wr: conv2d(xr, wr, b, **window))
    return k


@case("float-layers")
def fl_conv_window(rng):
    # A 3x2 kernel, padding [1, 2], strides [2, 1], dilations [1, 2].
    return conv_float_case(rng, x_shape=(2, 6, 9, 8), w_shape=(5, 6, 3, 2),
                           strides=(2, 1), padding=(1, 2), dilations=(1, 2))


@case("float-layers")
def fl_conv_rotation_b16(rng):
    # Block 16 over C = 32 channels, every kernel tap of a 3x3 kernel.
    return conv_float_case(rng, x_shape=(1, 32, 6, 6), w_shape=(8, 32, 3, 3),
                           padding=(1, 1), block=16)


@case("float-layers")
def fl_gelu(rng):
    """Both GELU forms on normal values, a tail of large negative ones (where
    1 + erf and 1 + tanh cancel) and a few special points."""
    x = np.concatenate([rng.standard_normal(220) * 3,
                        rng.uniform(-10, -4, size=30),
                        [0.0, 1e-3, -1e-3, 8.0, -8.0, 20.0]])
    x = x.astype(F32).reshape(4, 64)
    k = Kernel()
    xv = k.arg("x", x, "f32")
    magnitude = np.abs(x)
    for form in ("none", "tanh"):
        y = k.gelu(f"gelu_{form}", xv, form)
        k.result(y, lambda got, form=form: float_layer(
            gelu(x, form), np.maximum(magnitude, np.abs(gelu(x, form))),
            note=(f"the forms differ by up to "
                  f"{np.abs(gelu(x, 'tanh') - gelu(x, 'none')).max():.2g}")))
    return k


@case("float-layers")
def fl_silu(rng):
    x = np.concatenate([rng.standard_normal(100) * 4,
                        rng.uniform(-20, -8, size=20)]).astype(F32)
    k = Kernel()
    y = k.silu("y", k.arg("x", x.reshape(3, 40), "f32"))
    k.result(y, lambda got: float_layer(silu(x.reshape(3, 40)),
                                        silu(x.reshape(3, 40))))
    return k


def layer_norm_case(rng, shape, epsilon, affine, elt="f32") -> Kernel:
    """layer_norm of activations with outlier channels and an offset; the
    first row varies by about 1e-3 only, so that epsilon matters."""
    x = activations(rng, shape) + 0.5
    x.reshape(-1, shape[-1])[0] = 0.5 + 1e-3 * rng.standard_normal(shape[-1])
    x = round_to(x, elt)
    d = shape[-1]
    w = round_to(1 + 0.2 * rng.standard_normal(d), elt) if affine else None
    b = round_to(0.5 * rng.standard_normal(d), elt) if affine else None
    k = Kernel()
    xv = k.arg("x", x, elt)
    wv = None if w is None else k.arg("weight", w, elt)
    bv = None if b is None else k.arg("bias", b, elt)
    y = k.layer_norm("y", xv, epsilon, wv, bv)
    k.result(y, lambda got: float_layer(*layer_norm(x, epsilon, w, b), elt))
    return k


@case("float-layers")
def fl_layer_norm(rng):
    # DiT's norms: no affine, epsilon 1e-6, [B, T, D].
    return layer_norm_case(rng, (2, 5, 48), 1e-6, affine=False)


@case("float-layers")
def fl_layer_norm_affine(rng):
    return layer_norm_case(rng, (6, 40), 1e-5, affine=True)


@case("float-layers")
def fl_layer_norm_f16_affine(rng):
    return layer_norm_case(rng, (4, 32), 1e-5, affine=True, elt="f16")


@case("float-layers")
def fl_group_norm_affine(rng):
    # 8 groups of 4 channels over [2, 32, 5, 6], one channel group offset.
    x = activations(rng, (2, 32, 5, 6), outliers=False)
    x[:, 4:8] += 3
    c = x.shape[1]
    w = (1 + 0.2 * rng.standard_normal(c)).astype(F32)
    b = (0.5 * rng.standard_normal(c)).astype(F32)
    k = Kernel()
    xv = k.arg("x", x, "f32")
    y = k.group_norm("y", xv, 8, 1e-5, k.arg("weight", w, "f32"),
                     k.arg("bias", b, "f32"))
    k.result(y, lambda got: float_layer(*group_norm(x, 8, 1e-5, w, b)))
    return k


@case("float-layers")
def fl_softmax(rng):
    """Softmax along the last axis and along axis 1. One row is offset by 90,
    where exp overflows f32 unless the maximum is subtracted first."""
    x = (3 * rng.standard_normal((3, 6, 40))).astype(F32)
    x[0, 0] += 90
    k = Kernel()
    xv = k.arg("x", x, "f32")
    for axis in (2, 1):
        y = k.softmax(f"softmax_axis{axis}", xv, axis)
        k.result(y, lambda got, axis=axis: float_layer(
            softmax(x, axis), softmax(x, axis)))
    return k


@case("float-layers")
def fl_modulate(rng):
    x = activations(rng, (2, 7, 48))
    shift = (0.5 * rng.standard_normal((2, 48))).astype(F32)
    scale = (0.5 * rng.standard_normal((2, 48))).astype(F32)
    k = Kernel()
    y = k.modulate("y", k.arg("x", x, "f32"), k.arg("shift", shift, "f32"),
                   k.arg("scale", scale, "f32"))
    k.result(y, lambda got: float_layer(*modulate(x, shift, scale)))
    return k


@case("float-layers")
def fl_tensor_scale(rng):
    # An 8-bit scale of activations, and a 4-bit scale of zeros (scale 0).
    x = activations(rng, (3, 5, 7))
    zeros = np.zeros((4, 6), F32)
    k = Kernel()
    s = k.tensor_scale("s8", k.arg("x", x, "f32"), 8)
    z = k.tensor_scale("s4_zeros", k.arg("zeros", zeros, "f32"), 4)
    k.result(s, lambda got: relative(tensor_scale(x, 8)))
    k.result(z, lambda got: exact(tensor_scale(zeros, 4)))
    return k


# -- step_select ------------------------------------------------------------ #


def distinct_table(rng, shape):
    """Distinct positive dyadic scales, so a wrong entry cannot match."""
    n = int(np.prod(shape))
    values = (rng.permutation(np.arange(1, n + 1)) + 64) * np.exp2(-10)
    return values.reshape(shape).astype(F32)


def step_selects(rng, table_shape, steps, step_type, group_starts=None):
    table = distinct_table(rng, table_shape)
    k = Kernel()
    tv = k.arg("table", table, "f32")
    for i, step in enumerate(steps):
        sv = k.scalar(f"step{i}", step, step_type)
        r = k.step_select(f"s{i}_step{step}".replace("-", "m"), tv, sv,
                          group_starts)
        k.result(r, lambda got, step=step: exact(
            step_select(table, step, group_starts)))
    return k


@case("step-select")
def ss_per_step(rng):
    # First, middle and last step; below and above the table (clamped).
    return step_selects(rng, (50,), [0, 24, 49, -3, 50, 1000], "i64")


@case("step-select")
def ss_groups(rng):
    # Groups [0, 10), [10, 30), [30, ...) with an i32 step.
    return step_selects(rng, (3,), [-5, 0, 9, 10, 29, 30, 49, 200], "i32",
                        group_starts=[0, 10, 30])


@case("step-select")
def ss_per_channel_table_fake_quant(rng):
    """A [T, N] table (per step and channel) selected with an index step and
    used as the per-channel scale (axis 1) of an 8-bit fake_quant."""
    t, n = 20, 8
    table = distinct_table(rng, (t, n))
    scheme = Scheme(8, granularity="per_channel", axis=1)
    k = Kernel()
    tv = k.arg("table", table, "f32")
    x = quantizer_input(rng, np.broadcast_to(table[7], (6, n)), None, scheme)
    xv = k.arg("x", x, "f32")
    for step in (7, 25, -1):
        sv = k.scalar(f"step_{step}".replace("-", "m"), step, "index")
        name = f"{step}".replace("-", "m")
        s = k.step_select(f"s_{name}", tv, sv)
        f = k.fake_quant(f"fq_{name}", xv, s, None, scheme)
        row = step_select(table, step)
        k.result(s, lambda got, row=row: exact(row))
        k.result(f, lambda got, row=row: relative(dequantize(
            quantize(x, row, None, scheme), row, None, scheme)))
    return k


@case("step-select")
def ss_groups_fake_quant(rng):
    """Grouped tables feeding quantizers: a [4] table with groups
    [0, 5, 20, 35] as the per-tensor scale of an asymmetric 4-bit fake_quant,
    and a [3, 16] table with groups [0, 10, 30] as the per-channel (axis 0)
    scale of a symmetric 4-bit fake_quant, at step 22."""
    step = 22
    k = Kernel()
    sv = k.scalar("step", step, "i64")
    ta, starts_a = distinct_table(rng, (4,)), [0, 5, 20, 35]
    tb, starts_b = distinct_table(rng, (3, 16)), [0, 10, 30]
    sa_ref, sb_ref = step_select(ta, step, starts_a), step_select(tb, step, starts_b)
    scheme_a = Scheme(4, symmetric=False)
    scheme_b = Scheme(4, granularity="per_channel", axis=0)
    za = np.array(6)
    xa = quantizer_input(rng, np.full((8, 16), sa_ref), za, scheme_a)
    xb = quantizer_input(rng, np.broadcast_to(sb_ref[:, None], (16, 10)), None,
                         scheme_b)
    tav, tbv = k.arg("table_a", ta, "f32"), k.arg("table_b", tb, "f32")
    xav, xbv = k.arg("xa", xa, "f32"), k.arg("xb", xb, "f32")
    zav = k.arg("za", za, "i32")
    sa = k.step_select("sa", tav, sv, starts_a)
    sb = k.step_select("sb", tbv, sv, starts_b)
    fa = k.fake_quant("fqa", xav, sa, zav, scheme_a)
    fb = k.fake_quant("fqb", xbv, sb, None, scheme_b)
    k.result(sa, lambda got: exact(sa_ref))
    k.result(sb, lambda got: exact(sb_ref))
    k.result(fa, lambda got: relative(dequantize(
        quantize(xa, sa_ref, za, scheme_a), sa_ref, za, scheme_a)))
    k.result(fb, lambda got: relative(dequantize(
        quantize(xb, sb_ref, None, scheme_b), sb_ref, None, scheme_b)))
    return k


# -- calibration ops: observe, step_index, channel_shift, zero-point tables,
# -- linear input_shift ----------------------------------------------------- #


def observe_results(k, name, x, xv, axis=None, hist=None, by_edges=False):
    """hqdm.observe of `x` and its expectations: channel min/max exactly
    (a min or max of f32 values is one of them), the histogram exactly,
    from the bin edges when `by_edges` (the edges must be exact)."""
    outs = k.observe(name, xv, axis, hist)
    lo, hi = channel_range(x, -1 if axis is None else axis)
    k.result(outs[0], lambda got: exact(lo))
    k.result(outs[1], lambda got: exact(hi))
    if hist is not None:
        expected = histogram(x, *hist)
        if by_edges:
            edges = histogram_by_edges(x, *hist)
            if not np.array_equal(edges, expected):
                raise CaseError("the bin formula and the bin edges disagree")
        counted = int(np.count_nonzero(~np.isnan(np.asarray(x, F32))))
        k.result(outs[2], lambda got: exact(expected, note=(
            f"{counted} of {np.size(x)} elements counted, "
            f"{int(expected[0])} in the first bin, {int(expected[-1])} in "
            f"the last")))
    return outs


@case("calibration")
def obs_minmax_rank3(rng):
    """[B, T, C] activations with outlier channels, the default axis (-1);
    one channel holds a NaN (skipped) and one only NaNs (+inf/-inf)."""
    x = activations(rng, (2, 5, 12))
    x[1, 3, 4] = np.nan
    x[:, :, 7] = np.nan
    k = Kernel()
    observe_results(k, "act", x, k.arg("x", x, "f32"))
    return k


@case("calibration")
def obs_minmax_nchw_axis1(rng):
    """NCHW feature maps per channel (axis 1), channels offset from one
    another so that a wrong axis cannot match; one +inf and one -inf."""
    x = (rng.standard_normal((2, 6, 5, 4)) +
         3 * np.arange(6).reshape(1, 6, 1, 1))
    x = x.astype(F32)
    x[0, 2, 1, 1], x[1, 4, 0, 3] = np.inf, -np.inf
    k = Kernel()
    observe_results(k, "conv", x, k.arg("x", x, "f32"), axis=1)
    return k


@case("calibration")
def obs_histogram_edges(rng):
    """16 bins of width 0.5 over [-2, 6): every bin edge exactly (x = 6.0 =
    high included, counted in the last bin), values below low and at and
    above high (+-inf), NaNs (not counted), and uniform values in and around
    the range. The bins are checked against binary search on the edges."""
    bins, low, high = 16, -2.0, 6.0
    edges = low + np.arange(bins + 1) * 0.5
    special = [-2.0 - 1e-3, -3.0, -100.0, -np.inf, 6.0 + 1e-3, 7.0, 1e30,
               np.inf, np.nan, np.nan, np.nextafter(F32(6.0), F32(0)),
               np.nextafter(F32(-2.0), F32(0)), np.nextafter(F32(0.5), F32(0))]
    x = np.concatenate([edges, edges, special,
                        rng.uniform(-3, 7, size=160 - 2 * edges.size -
                                    len(special))]).astype(F32)
    x = rng.permutation(x).reshape(4, 5, 8)
    k = Kernel()
    observe_results(k, "edges", x, k.arg("x", x, "f32"),
                    hist=(bins, low, high), by_edges=True)
    return k


@case("calibration")
def obs_histogram_fine(rng):
    """2048 bins over [-0.5, 4.0) (the example in the op's description; the
    bin width is not dyadic) of post-GELU-like values on NCHW with axis 1."""
    x = np.maximum(rng.standard_normal((2, 8, 6, 6)) * 1.5, -0.17)
    x[0, 0, 0, :3] = [-0.5, 4.0, 10.0]
    x = x.astype(F32)
    k = Kernel()
    observe_results(k, "gelu", x, k.arg("x", x, "f32"), axis=1,
                    hist=(2048, -0.5, 4.0))
    return k


@case("calibration")
def obs_f16(rng):
    """f16 input, min/max in f32 (exact: f16 values are f32 values) and 64
    bins of width 1/8 over [-4, 4), with values on the edges and outside."""
    bins, low, high = 64, -4.0, 4.0
    x = rng.standard_normal((3, 7, 16)) * 2
    x.flat[:65] = low + np.arange(65) / 8
    x.flat[65:70] = [-4.125, -60000.0, 4.0, 5.5, 60000.0]
    x = round_to(x, "f16")
    k = Kernel()
    observe_results(k, "half", x, k.arg("x", x, "f16"),
                    hist=(bins, low, high), by_edges=True)
    return k


# DDPM-style timesteps of a 4-step sampler, as calibration saw them.
SAMPLER_STEPS = [999.0, 749.0, 499.0, 249.0, 0.0]


def step_index_results(k, name, t, tv, steps, note=""):
    r = k.step_index(name, tv, steps)
    first = np.asarray(t).ravel()[0] if np.ndim(t) else t
    d = np.abs(float(first) - np.asarray(steps, np.float64))
    nearest = np.flatnonzero(d == d.min())
    tie = (f", a tie between steps {list(map(int, nearest))}"
           if nearest.size > 1 else "")
    k.result(r, lambda got: exact(np.asarray(step_index(first, steps)),
                                  note=f"t = {first}{tie}{note}"))


@case("calibration")
def si_timestep_forms(rng):
    """The first element of i64 [B] tensors, f32 [1] tensors, a rank-0 f32
    tensor and f16 [2] tensors, and i32, i16, f32 and f64 scalars, against
    the steps [999, 749, 499, 249, 0]: values between steps, exact ties
    between two steps (the first wins), negative values (read as signed)
    and values outside the range."""
    k = Kernel()
    forms = [
        ("i64_between", np.array([600, 3], np.int64), "i64"),
        ("i64_tie", np.array([874, 0], np.int64), "i64"),
        ("i64_negative", np.array([-40, 999], np.int64), "i64"),
        ("f32_between", np.array([373.5], F32), "f32"),
        ("f32_tie", np.array([374.0], F32), "f32"),
        ("f32_rank0_above", np.array(1500.0, F32), "f32"),
        ("f16_on_step", np.array([749.0, 0.0], F32), "f16"),
        ("f16_tie", np.array([124.5, 999.0], F32), "f16"),
    ]
    for name, value, elt in forms:
        step_index_results(k, name, value, k.arg(f"t_{name}", value, elt),
                           SAMPLER_STEPS)
    scalars = [("i32_between", 250, "i32"), ("i16_negative", -300, "i16"),
               ("i32_tie", 624, "i32"), ("f32_between", 748.5, "f32"),
               ("f64_below_tie", 124.49999999999999, "f64"),
               ("f64_tie", 124.5, "f64")]
    for name, value, elt in scalars:
        name += "_scalar"
        step_index_results(k, name, value, k.scalar(f"t_{name}", value, elt),
                           SAMPLER_STEPS)
    return k


@case("calibration")
def si_unsorted_and_long(rng):
    """An unsorted list with a repeated step (the first copy wins), and a
    250-step list 999.25, 995.25, ..., 3.25 (searched by a loop rather than
    unrolled): on steps, exact ties at midpoints, just off them, and outside
    the range."""
    k = Kernel()
    short = [10.0, 50.0, 30.0, 50.0, -20.0]
    for i, t in enumerate([50, 40, 45, -5, -100, 1000]):
        name = f"short{i}"
        step_index_results(k, name, t, k.scalar(f"t_{name}", t, "i64"),
                           short)
    long = [999.25 - 4 * i for i in range(250)]
    probes = [long[0], long[249], long[137], long[100] - 2, long[100] - 1.5,
              long[100] - 2.5, 2000.0, -5.0, long[3] - 2]
    for i, t in enumerate(probes):
        name = f"long{i}"
        step_index_results(k, name, t, k.scalar(f"t_{name}", float(t), "f64"),
                           long, note=f" ({len(long)} steps)")
    return k


def channel_shift_case(rng, shape, axis, elt) -> Kernel:
    """Post-GELU-like values, shifts centering each channel, divisors 1 for
    most channels and small integers (2, 3, 4, 8) for a few."""
    c = shape[axis]
    x = round_to(np.maximum(rng.standard_normal(shape) * 2, -0.17), elt)
    shift = rng.uniform(-0.2, 3.0, size=c).astype(F32)
    divisor = np.ones(c, F32)
    divisor[rng.choice(c, size=max(1, c // 4), replace=False)] = rng.choice(
        [2.0, 3.0, 4.0, 8.0], size=max(1, c // 4))
    k = Kernel()
    xv = k.arg("x", x, elt)
    y = k.channel_shift("y", xv, k.arg("shift", shift, "f32"),
                        k.arg("divisor", divisor, "f32"),
                        axis=None if axis == -1 else axis)
    expected = channel_shift(x, shift, divisor, axis, elt)
    k.result(y, lambda got: relative(expected))
    return k


@case("calibration")
def cs_f32_last_axis(rng):
    return channel_shift_case(rng, (2, 5, 16), -1, "f32")


@case("calibration")
def cs_f16_axis1(rng):
    return channel_shift_case(rng, (2, 8, 3, 3), 1, "f16")


@case("calibration")
def cs_bf16_last_axis(rng):
    return channel_shift_case(rng, (4, 24), -1, "bf16")


@case("calibration")
def ss_zero_point_tables(rng):
    """i32 zero-point tables: a [T] table per step (steps in range, below and
    above), a grouped [G] table, and a [G, N] per-channel table."""
    k = Kernel()
    per_step = rng.permutation(np.arange(-20, 20))[:30].astype(np.int64)
    groups = np.array([7, -3, 255], np.int64)
    per_channel = rng.permutation(np.arange(300))[:3 * 8].reshape(3, 8) - 100
    tv = k.arg("per_step", per_step, "i32")
    gv = k.arg("groups", groups, "i32")
    cv = k.arg("per_channel", per_channel, "i32")
    for step in (0, 17, 29, -4, 30, 500):
        sv = k.scalar(f"step_{step}".replace("-", "m"), step, "i64")
        name = f"{step}".replace("-", "m")
        for label, table, tab_v, starts in (
                ("t", per_step, tv, None), ("g", groups, gv, [0, 5, 20]),
                ("c", per_channel, cv, [0, 10, 20])):
            r = k.step_select(f"{label}_{name}", tab_v, sv, starts)
            k.result(r, lambda got, table=table, step=step, starts=starts:
                     exact(step_select(table, step, starts)))
    return k


def shifted_linear_case(rng, *, lead, K, N, elt="f32",
                        scale_table=False) -> Kernel:
    """hqdm.linear {input_shift = s}: (x + s) * W^T + b against float64
    numpy; the magnitude uses |x| + |s| (the f32 sum rounds once)."""
    x = round_to(np.maximum(activations(rng, lead + (K,)), -0.17) -
                 0.8, elt)
    s = rng.uniform(-0.2, 1.5, size=K).astype(F32)
    w = round_to(rng.standard_normal((N, K)) / np.sqrt(K), elt)
    b = round_to(rng.standard_normal(N), elt)
    k = Kernel()
    xv, wv, bv = k.arg("x", x, elt), k.arg("w", w, elt), k.arg("b", b, elt)
    table = ("#hqdm.scale_table<steps = [999.0, 499.0, 0.0], group_starts = "
             "[0, 2], scales = [0.05, 0.02], zero_points = [3, 5]>"
             if scale_table else None)
    y = k.linear("y", xv, wv, bv, input_shift=s, activation_scales=table)
    shifted = f64(x) + f64(s)
    k.result(y, lambda got: float_layer(
        *linear((shifted, np.abs(f64(x)) + np.abs(f64(s))), w, b), elt,
        note=f"the shift moves y by up to "
             f"{np.abs(f64(s) @ f64(w).T).max():.3g}"))
    return k


@case("calibration")
def fl_linear_input_shift(rng):
    return shifted_linear_case(rng, lead=(6,), K=40, N=24)


@case("calibration")
def fl_linear_input_shift_3d_f16(rng):
    # f16 operands, [B, T, K]; activation_scales (metadata) on the layer.
    return shifted_linear_case(rng, lead=(2, 3), K=32, N=16, elt="f16",
                               scale_table=True)


# ===----------------------------------------------------------------------=== #
# Command line
# ===----------------------------------------------------------------------=== #


def build(name: str) -> Kernel:
    if name not in CASES:
        raise CaseError(f"unknown case '{name}' (see `hqdm_ref.py list`)")
    return CASES[name][1](np.random.default_rng(seed_of(name)))


def main(argv) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list the cases")
    p.add_argument("topic", nargs="?")
    p = sub.add_parser("emit", help="print the MLIR module of a case")
    p.add_argument("case")
    p = sub.add_parser("check", help="check mlir-runner's output of a case")
    p.add_argument("case")
    p.add_argument("output")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            for name, (topic, _) in CASES.items():
                if args.topic in (None, topic):
                    print(f"{topic:12} {name}")
            return 0
        if args.command == "emit":
            sys.stdout.write(emit_module(args.case, build(args.case)))
            return 0
        kernel = build(args.case)
        return 0 if check_case(args.case, kernel,
                               Path(args.output).read_text()) else 1
    except (CaseError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
