//===- HqdmOps.td - hqdm operations ------------------------*- tablegen -*-===//
//
// This file defines the operations of the hqdm dialect: quantizers, scale
// selection, the Hadamard rotation, and quantized linear and convolution
// layers.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_DIALECT_HQDM_IR_HQDMOPS_TD
#define HQDM_DIALECT_HQDM_IR_HQDMOPS_TD

include "hqdm/Dialect/Hqdm/IR/HqdmAttrs.td"
include "hqdm/Dialect/Hqdm/IR/HqdmDialect.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Hqdm_FloatTensor : RankedTensorOf<[F16, BF16, F32]>;
def Hqdm_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Hqdm_ScaleTensor : RankedTensorOf<[F32]>;
def Hqdm_ZeroPointTensor : RankedTensorOf<[I32]>;
def Hqdm_AnyTensor : RankedTensorOf<[F16, BF16, F32, AnySignlessInteger]>;

//===----------------------------------------------------------------------===//
// Quantizers
//===----------------------------------------------------------------------===//

class Hqdm_QuantizerOp<string mnemonic, Type inputType, Type resultType>
    : Hqdm_Op<mnemonic, [Pure]> {
  let arguments = (ins
    inputType:$input,
    Hqdm_ScaleTensor:$scale,
    Optional<Hqdm_ZeroPointTensor>:$zero_point,
    Hqdm_QuantSchemeAttr:$scheme
  );
  let results = (outs resultType:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $zero_point^)? $scheme attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hqdm_QuantizeOp : Hqdm_QuantizerOp<"quantize", Hqdm_FloatTensor,
                                       Hqdm_IntTensor> {
  let summary = "Quantizes a float tensor to integer levels";
  let description = [{
    Maps each element to an integer level with the scale (and zero point) that
    its position selects under the scheme's granularity:

    * symmetric: `q = clamp(round_half_even(x / s), -(2^(b-1) - 1), 2^(b-1) - 1)`
    * asymmetric: `q = clamp(round_half_even(x / s) + z, 0, 2^b - 1)`

    A zero scale never divides: the element maps to the zero point (0 when
    symmetric). The result is a signless integer tensor of the input's shape
    whose width is at least `bits`; asymmetric levels are unsigned and read by
    consumers with zero extension, symmetric levels are signed.

    Example:

    ```mlir
    %q = hqdm.quantize %x, %s <bits = 4>
        : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64xi4>
    %w = hqdm.quantize %wf, %sc, %z
        <bits = 4, symmetric = false, granularity = per_channel>
        : (tensor<16x64xf32>, tensor<16xf32>, tensor<16xi32>) -> tensor<16x64xi8>
    ```
  }];
}

def Hqdm_DequantizeOp : Hqdm_QuantizerOp<"dequantize", Hqdm_IntTensor,
                                         Hqdm_FloatTensor> {
  let summary = "Maps integer levels back to float values";
  let description = [{
    Computes `x = (q - z) * s` in `f32` (z = 0 when symmetric) and converts to
    the result's float type. Levels are read as signed for symmetric schemes
    and unsigned for asymmetric ones.

    Example:

    ```mlir
    %x = hqdm.dequantize %q, %s <bits = 4>
        : (tensor<4x64xi4>, tensor<f32>) -> tensor<4x64xf32>
    ```
  }];
}

def Hqdm_FakeQuantOp : Hqdm_QuantizerOp<"fake_quant", Hqdm_FloatTensor,
                                        Hqdm_FloatTensor> {
  let summary = "Quantizes and dequantizes in one step (simulated quantization)";
  let description = [{
    Equal to `hqdm.dequantize(hqdm.quantize(x))` with the same scale, zero
    point and scheme, without materializing the integer tensor. The result has
    the input's type. With per-token scales from `hqdm.token_scale` it is a
    dynamic per-token quantizer; with a scale from `hqdm.step_select` it is a
    per-step one.

    Example:

    ```mlir
    %s = hqdm.token_scale %x <bits = 8> : tensor<4x64xf32> -> tensor<4xf32>
    %y = hqdm.fake_quant %x, %s <bits = 8, granularity = per_token>
        : (tensor<4x64xf32>, tensor<4xf32>) -> tensor<4x64xf32>
    ```
  }];
}

def Hqdm_TokenScaleOp : Hqdm_Op<"token_scale", [Pure]> {
  let summary = "Computes dynamic symmetric per-token scales";
  let description = [{
    For every feature vector along the last dimension, computes
    `s = max(|x|) / (2^(bits-1) - 1)`, the scale of a symmetric `bits`-bit
    per-token quantizer. The result has the input's shape without its last
    dimension. A vector of zeros gets scale 0, which quantizers map to level 0.

    Example:

    ```mlir
    %s = hqdm.token_scale %x <bits = 4> : tensor<2x8x64xf32> -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Hqdm_FloatTensor:$input, ConfinedAttr<I32Attr,
                       [IntMinValue<2>, IntMaxValue<16>]>:$bits);
  let results = (outs Hqdm_ScaleTensor:$result);
  let assemblyFormat = [{
    $input ` ` `<` `bits` `=` $bits `>` attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hqdm_TensorScaleOp : Hqdm_Op<"tensor_scale", [Pure]> {
  let summary = "Computes a dynamic symmetric per-tensor scale";
  let description = [{
    Computes `s = max(|x|) / (2^(bits-1) - 1)` over the whole tensor, the
    scale of a symmetric `bits`-bit per-tensor quantizer, as a rank-0 tensor.
    A tensor of zeros gets scale 0.

    Example:

    ```mlir
    %s = hqdm.tensor_scale %x <bits = 8> : tensor<1x64x8x8xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Hqdm_FloatTensor:$input, ConfinedAttr<I32Attr,
                       [IntMinValue<2>, IntMaxValue<16>]>:$bits);
  let results = (outs 0DTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $input ` ` `<` `bits` `=` $bits `>` attr-dict `:` type($input) `->` type($result)
  }];
}

def Hqdm_StepSelectOp : Hqdm_Op<"step_select", [Pure]> {
  let summary = "Selects the scales of the current sampler step from a table";
  let description = [{
    `table` holds one entry per sampler step along its first dimension (or one
    per step group); the result is the entry of `step` with that dimension
    dropped, e.g. a rank-0 scale from a `tensor<Txf32>` table. Steps outside
    the table are clamped to its first or last entry. Tables of `i32` zero
    points are selected the same way.

    With `group_starts`, entry `g` serves the contiguous steps from
    `group_starts[g]` up to (excluding) `group_starts[g + 1]`; the starts begin
    at 0, increase strictly, and there is one per table entry.

    Example:

    ```mlir
    %s = hqdm.step_select %table[%step] : tensor<50xf32>, i64 -> tensor<f32>
    %g = hqdm.step_select %groups[%step] group_starts [0, 10, 30]
        : tensor<3xf32>, i64 -> tensor<f32>
    ```
  }];
  let arguments = (ins AnyTypeOf<[Hqdm_ScaleTensor, Hqdm_ZeroPointTensor]>:$table,
                       AnyTypeOf<[Index, AnySignlessInteger]>:$step,
                       OptionalAttr<DenseI64ArrayAttr>:$group_starts);
  let results = (outs AnyTypeOf<[Hqdm_ScaleTensor, Hqdm_ZeroPointTensor]>:$result);
  let assemblyFormat = [{
    $table `[` $step `]` (`group_starts` $group_starts^)? attr-dict
    `:` type($table) `,` type($step) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Hqdm_StepIndexOp : Hqdm_Op<"step_index", [Pure]> {
  let summary = "Maps the model's timestep input to a sampler step index";
  let description = [{
    Reads the first element of `timestep` (a scalar, or a tensor of rank 0 or
    1 such as DiT's per-sample `t`; every sample of a batch is assumed to be
    at the same step, as in classifier-free guidance) and returns the index
    of the entry of `steps` nearest to it (the first one on a tie). `steps`
    lists the timestep values of the sampler's steps, as calibration saw
    them; the index selects from `hqdm.step_select` tables.

    Example:

    ```mlir
    %i = hqdm.step_index %t steps [999.0, 749.0, 499.0, 249.0]
        : tensor<2xi64>
    %s = hqdm.step_select %table[%i] : tensor<4xf32>, index -> tensor<f32>
    ```
  }];
  let arguments = (ins
    AnyTypeOf<[RankedTensorOf<[AnyFloat, AnySignlessInteger]>, AnyFloat,
               AnySignlessInteger]>:$timestep,
    DenseF64ArrayAttr:$steps);
  let results = (outs Index:$result);
  let assemblyFormat = [{
    $timestep `steps` $steps attr-dict `:` type($timestep)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

def Hqdm_ObserveOp : Hqdm_Op<"observe", [Pure]> {
  let summary = "Statistics of an activation-quantizer input, for calibration";
  let description = [{
    Computes, over every element of `input`:

    * `channel_min`, `channel_max`: the minimum and maximum of each channel
      along `axis` (default: the last one), a `tensor<Cxf32>` each;
    * `histogram` (when `bins`, `low` and `high` are given): the number of
      elements in each of `bins` equal bins over `[low, high)`; bin
      `clamp(floor((x - low) * bins / (high - low)), 0, bins - 1)`, so values
      outside the range count in the first or last bin.

    `name` names the quantizer (its layer) in the calibration file.
    `hqdm-quantize{instrument=...}` inserts these ops on the inputs of the
    quantizers that need calibrated scales and returns their results from a
    copy of the model function, which the calibration driver runs over the
    calibration set.

    Example:

    ```mlir
    %lo, %hi, %h = hqdm.observe %x {name = "fc2", bins = 2048 : i64,
                                    low = -0.5 : f64, high = 4.0 : f64}
        : tensor<2x16x256xf32> -> tensor<256xf32>, tensor<256xf32>, tensor<2048xi32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    StrAttr:$name,
    DefaultValuedAttr<I64Attr, "-1">:$axis,
    OptionalAttr<ConfinedAttr<I64Attr, [IntMinValue<1>]>>:$bins,
    OptionalAttr<F64Attr>:$low,
    OptionalAttr<F64Attr>:$high);
  let results = (outs
    RankedTensorOf<[F32]>:$channel_min,
    RankedTensorOf<[F32]>:$channel_max,
    Optional<RankedTensorOf<[I32]>>:$histogram);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type(results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// `axis` counted from the front.
    int64_t getNormalizedAxis();
  }];
}

def Hqdm_ChannelShiftOp : Hqdm_Op<"channel_shift", [Pure]> {
  let summary = "Re-centers and divides each channel (TaQ-DiT's post-GELU transform)";
  let description = [{
    Computes `y = (x - shift[c]) / divisor[c]` in `f32` for every element of
    channel `c` along `axis` (default: the last one). `hqdm-taq-post-gelu`
    puts it in front of the layer reading a GELU output: `shift` centers each
    channel's calibrated range, `divisor` holds the integer migration factors
    (1 for ordinary channels) whose product the layer's weight absorbs.

    Example:

    ```mlir
    %y = hqdm.channel_shift %x, %c, %m
        : (tensor<2x16x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    Hqdm_ScaleTensor:$shift,
    Hqdm_ScaleTensor:$divisor,
    DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $shift `,` $divisor attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// `axis` counted from the front.
    int64_t getNormalizedAxis();
  }];
}

//===----------------------------------------------------------------------===//
// Hadamard rotation
//===----------------------------------------------------------------------===//

def Hqdm_HadamardOp : Hqdm_Op<"hadamard", [Pure]> {
  let summary = "Applies a block-diagonal Hadamard rotation along one axis";
  let description = [{
    Computes `y = x * H` along `axis` (default: the last dimension), where H is
    block-diagonal with blocks of the Hadamard matrix described by `spec`.

    On float tensors the result has the input's type. On integer tensors the
    op is the exact transform with the +-1 matrix (`spec` must say
    `normalized = false`), used to rotate quantized weights. Integer inputs
    are read as signed (centered levels `W_int = Q(W) - z`); the result must
    be wide enough to hold `block * max|x|`, i.e. at least
    `input bits + ceil(log2(block))` bits.

    Example:

    ```mlir
    %r = hqdm.hadamard %x <block = 32> : tensor<4x1152xf32> -> tensor<4x1152xf32>
    %c = hqdm.hadamard %img <block = 64> {axis = 1 : i64}
        : tensor<1x64x8x8xf32> -> tensor<1x64x8x8xf32>
    %w = hqdm.hadamard %wq <block = 32, normalized = false>
        : tensor<64x128xi4> -> tensor<64x128xi16>
    ```
  }];
  let arguments = (ins Hqdm_AnyTensor:$input, Hqdm_HadamardSpecAttr:$spec,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Hqdm_AnyTensor:$result);
  let assemblyFormat = [{
    $input $spec attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The rotated dimension, in [0, rank).
    int64_t getNormalizedAxis();
  }];
}

//===----------------------------------------------------------------------===//
// Quantized layers
//===----------------------------------------------------------------------===//

def Hqdm_QLinearOp : Hqdm_Op<"qlinear", [Pure, AttrSizedOperandSegments]> {
  let summary = "Integer linear layer with a dequantizing epilogue";
  let description = [{
    Computes `y = x * W^T` on integer levels with `i32` accumulation and
    dequantizes:

    ```
    acc[..., n] = sum_k (x[..., k] - zx) * (w[n, k] - zw[n])        (i32)
    y[..., n]   = ((f32(acc) * sx) * sw[n]) * multiplier + bias[n]
    ```

    `input` is `[..., K]`, `weight` is `[N, K]`, the result `[..., N]`.
    `input_scale` is rank 0 (per tensor) or has the input's shape without `K`
    (per token); `weight_scale` is rank 0 or `[N]` (per output channel). A zero
    point, when present, has its scale's shape, and marks its operand as
    unsigned (zero-extended); operands without one are signed. Operands may
    be up to 32 bits wide, so exactly rotated weights (`|W_int * H_raw| <=
    B * max|W_int|`, e.g. 17 bits at B = 4608) fit. `multiplier` is a
    compile-time constant factor, `1/sqrt(B)` (rounded to f32) for weights
    rotated with a raw block-B Hadamard. `bias` is `[N]`. The accumulator
    wraps on overflow: the pass that builds the op checks that the
    worst-case `sum_k |x - zx| * |w - zw|` fits in i32.

    Example:

    ```mlir
    %y = hqdm.qlinear %xq, %wq scales(%sx, %sw) bias(%b)
        : (tensor<16x64xi8>, tensor<32x64xi4>, tensor<16xf32>, tensor<32xf32>,
           tensor<32xf32>) -> tensor<16x32xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_IntTensor:$input,
    Hqdm_IntTensor:$weight,
    Hqdm_ScaleTensor:$input_scale,
    Hqdm_ScaleTensor:$weight_scale,
    Optional<Hqdm_ZeroPointTensor>:$input_zero_point,
    Optional<Hqdm_ZeroPointTensor>:$weight_zero_point,
    Optional<Hqdm_FloatTensor>:$bias,
    DefaultValuedAttr<F32Attr, "1.0f">:$multiplier
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `scales` `(` $input_scale `,` $weight_scale `)`
    (`input_zero_point` `(` $input_zero_point^ `)`)?
    (`weight_zero_point` `(` $weight_zero_point^ `)`)?
    (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hqdm_QConv2DOp : Hqdm_Op<"qconv2d", [Pure, AttrSizedOperandSegments]> {
  let summary = "Integer 2-D convolution (NCHW, FCHW) with a dequantizing epilogue";
  let description = [{
    The convolution of PyTorch's `Conv2d` (one group) on integer levels with
    `i32` accumulation, followed by the epilogue of `hqdm.qlinear`:

    ```
    acc[n, f, oh, ow] = sum_{c, kh, kw} (x_pad[n, c, oh*sh + kh*dh, ow*sw + kw*dw] - zx)
                                        * (w[f, c, kh, kw] - zw[f])
    y = ((f32(acc) * sx) * sw[f]) * multiplier + bias[f]
    ```

    `padding = [ph, pw]` pads both sides of H and W with the input's real zero
    (the zero point). `input_scale` is rank 0; `weight_scale` is rank 0 or
    `[F]`; zero points follow their scales' shapes and mark their operand as
    unsigned. `bias` is `[F]`.

    Example:

    ```mlir
    %y = hqdm.qconv2d %xq, %wq scales(%sx, %sw) bias(%b)
        {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
        : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi4>, tensor<f32>, tensor<4xf32>,
           tensor<4xf32>) -> tensor<1x4x5x5xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_IntTensor:$input,
    Hqdm_IntTensor:$weight,
    Hqdm_ScaleTensor:$input_scale,
    Hqdm_ScaleTensor:$weight_scale,
    Optional<Hqdm_ZeroPointTensor>:$input_zero_point,
    Optional<Hqdm_ZeroPointTensor>:$weight_zero_point,
    Optional<Hqdm_FloatTensor>:$bias,
    DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
    DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
    DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
    DefaultValuedAttr<F32Attr, "1.0f">:$multiplier
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `scales` `(` $input_scale `,` $weight_scale `)`
    (`input_zero_point` `(` $input_zero_point^ `)`)?
    (`weight_zero_point` `(` $weight_zero_point^ `)`)?
    (`bias` `(` $bias^ `)`)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Float layers (raised from linalg on tensors)
//===----------------------------------------------------------------------===//

def Hqdm_LinearOp : Hqdm_Op<"linear", [Pure]> {
  let summary = "A float linear layer (PyTorch nn.Linear)";
  let description = [{
    Computes `y = x * (W * R)^T + b` where `input` is `[..., K]`, `weight` is
    `[N, K]` (PyTorch's layout), `bias` is `[N]` and the result `[..., N]`.
    R is the identity unless `input_rotation` is set: then the input arrives
    already multiplied by the orthogonal block Hadamard R along K, and the
    layer reads its weight in the same basis, so that

    ```
    linear(x * R, W) {input_rotation = R}  ==  linear(x, W)
    ```

    With `input_shift` (a `[K]` vector s, set by `hqdm-taq-post-gelu`, never
    together with `input_rotation`) the input arrives shifted and the layer
    adds the shift back: `y = (x + s) * W^T + b`.

    `name` identifies the layer to configuration files, remarks and
    calibration data; `hqdm-raise` sets it. `plan` is set by `hqdm-plan` and
    says how the layer is to be quantized; `activation_scales`, set by
    `hqdm-time-aware-scales`, holds its calibrated activation scales.

    Example:

    ```mlir
    %y = hqdm.linear %x, %w bias(%b) {name = "blocks.0.mlp.fc1"}
        : (tensor<16x64xf32>, tensor<256x64xf32>, tensor<256xf32>)
        -> tensor<16x256xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    Hqdm_FloatTensor:$weight,
    Optional<Hqdm_FloatTensor>:$bias,
    OptionalAttr<StrAttr>:$name,
    OptionalAttr<Hqdm_HadamardSpecAttr>:$input_rotation,
    OptionalAttr<FloatElementsAttr<32>>:$input_shift,
    OptionalAttr<Hqdm_LayerPlanAttr>:$plan,
    OptionalAttr<Hqdm_ScaleTableAttr>:$activation_scales
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hqdm_Conv2DOp : Hqdm_Op<"conv2d", [Pure]> {
  let summary = "A float 2-D convolution (PyTorch nn.Conv2d, one group)";
  let description = [{
    The convolution of PyTorch's `Conv2d` with `groups = 1`: `input` is
    `[N, C, H, W]`, `weight` `[F, C, KH, KW]`, `bias` `[F]`.
    `padding = [ph, pw]` pads both sides of H and W with zeros. With
    `input_rotation`, every pixel's channel vector arrives multiplied by the
    block Hadamard R along C, and the layer reads every kernel tap of its
    weight in that basis (`W[f, :, kh, kw] * R`), so the result is unchanged.
    `name`, `plan` and `activation_scales` are as for `hqdm.linear`.

    Example:

    ```mlir
    %y = hqdm.conv2d %x, %w bias(%b)
        {padding = array<i64: 1, 1>, name = "resblock.conv1"}
        : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>)
        -> tensor<1x32x8x8xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    Hqdm_FloatTensor:$weight,
    Optional<Hqdm_FloatTensor>:$bias,
    DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
    DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
    DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
    OptionalAttr<StrAttr>:$name,
    OptionalAttr<Hqdm_HadamardSpecAttr>:$input_rotation,
    OptionalAttr<Hqdm_LayerPlanAttr>:$plan,
    OptionalAttr<Hqdm_ScaleTableAttr>:$activation_scales
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

class Hqdm_ElementwiseOp<string mnemonic> : Hqdm_Op<mnemonic,
    [Pure, SameOperandsAndResultType]> {
  let arguments = (ins Hqdm_FloatTensor:$input, OptionalAttr<StrAttr>:$name);
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Hqdm_GeluOp : Hqdm_Op<"gelu", [Pure, SameOperandsAndResultType]> {
  let summary = "GELU, exact (erf) or with PyTorch's tanh approximation";
  let description = [{
    `none`: `y = 0.5 * x * (1 + erf(x / sqrt(2)))`.
    `tanh`: `y = 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))`,
    PyTorch's `GELU(approximate="tanh")`, DiT's MLP activation.

    Example:

    ```mlir
    %y = hqdm.gelu %x approximate tanh : tensor<16x256xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    DefaultValuedAttr<Hqdm_GeluApproximationAttr,
                      "::mlir::hqdm::GeluApproximation::None">:$approximate,
    OptionalAttr<StrAttr>:$name
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`approximate` $approximate^)? attr-dict `:` type($result)
  }];
}

def Hqdm_SiluOp : Hqdm_ElementwiseOp<"silu"> {
  let summary = "SiLU: x * sigmoid(x)";
  let description = [{
    Computes `y = x / (1 + exp(-x))`.

    Example:

    ```mlir
    %y = hqdm.silu %x : tensor<2x64xf32>
    ```
  }];
}

def Hqdm_LayerNormOp : Hqdm_Op<"layer_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `y = (x - mean) / sqrt(var + epsilon) * weight + bias`, with the mean and
    the biased variance taken over the last dimension; `weight` and `bias`
    (`[D]`) are optional (DiT's norms have neither).

    Example:

    ```mlir
    %y = hqdm.layer_norm %x {epsilon = 1.0e-06 : f32} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    Optional<Hqdm_FloatTensor>:$weight,
    Optional<Hqdm_FloatTensor>:$bias,
    DefaultValuedAttr<F32Attr, "1.0e-5f">:$epsilon,
    OptionalAttr<StrAttr>:$name
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`weight` `(` $weight^ `)`)? (`bias` `(` $bias^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hqdm_GroupNormOp : Hqdm_Op<"group_norm", [Pure, AttrSizedOperandSegments]> {
  let summary = "Group normalization of an [N, C, ...] tensor";
  let description = [{
    Splits the C channels into `groups` contiguous groups and normalizes each
    (sample, group) over its channels and all trailing dimensions with the
    biased variance: `y = (x - mean) / sqrt(var + epsilon) * weight[c] +
    bias[c]`, where `weight` and `bias` are `[C]` and optional.

    Example:

    ```mlir
    %y = hqdm.group_norm %x weight(%g) bias(%b) {groups = 8 : i64}
        : (tensor<1x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>)
        -> tensor<1x32x8x8xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    Optional<Hqdm_FloatTensor>:$weight,
    Optional<Hqdm_FloatTensor>:$bias,
    ConfinedAttr<I64Attr, [IntPositive]>:$groups,
    DefaultValuedAttr<F32Attr, "1.0e-5f">:$epsilon,
    OptionalAttr<StrAttr>:$name
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`weight` `(` $weight^ `)`)? (`bias` `(` $bias^ `)`)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Hqdm_SoftmaxOp : Hqdm_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis";
  let description = [{
    `y = exp(x - max(x)) / sum(exp(x - max(x)))` along `axis` (default: the
    last dimension).

    Example:

    ```mlir
    %p = hqdm.softmax %s : tensor<4x16x16xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    DefaultValuedAttr<I64Attr, "-1">:$axis,
    OptionalAttr<StrAttr>:$name
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The softmax dimension, in [0, rank).
    int64_t getNormalizedAxis();
  }];
}

def Hqdm_ModulateOp : Hqdm_Op<"modulate", [Pure]> {
  let summary = "DiT's adaptive modulation x * (1 + scale) + shift";
  let description = [{
    `input` is `[B, ..., D]`; `shift` and `scale` are `[B, D]`, one vector per
    sample, broadcast over the middle dimensions (the tokens):
    `y[b, ..., d] = x[b, ..., d] * (1 + scale[b, d]) + shift[b, d]`.
    This is a per-sample diagonal scaling computed at run time, so no
    rotation can be moved through it.

    Example:

    ```mlir
    %y = hqdm.modulate %x, %shift, %scale
        : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>)
        -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins
    Hqdm_FloatTensor:$input,
    Hqdm_FloatTensor:$shift,
    Hqdm_FloatTensor:$scale,
    OptionalAttr<StrAttr>:$name
  );
  let results = (outs Hqdm_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $shift `,` $scale attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// GPU launches
//===----------------------------------------------------------------------===//

def Hqdm_GpuLaunchOp : Hqdm_Op<"gpu_launch", [
    AttrSizedOperandSegments, DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "Runs a sequence of generated GPU kernels on host buffers";
  let description = [{
    The host side of a layer that `convert-hqdm-to-gpu` compiled to kernels,
    in destination-passing style so that it bufferizes with the rest of the
    program: on tensors it returns the filled `outputs`; on memrefs it has no
    results and writes `outputs` in place.

    `temps` lists the types of device scratch buffers. Each entry of
    `launches` is a dictionary with the kernel (`kernel`, a symbol in a
    `gpu.module`), the grid and block sizes (`grid`, `block`) and the kernel's
    arguments (`args`): index `i` names operand `i` (inputs, then outputs)
    when below the number of operands, else temp `i - #operands`.
    `hqdm-gpu-launch-to-host` turns the memref form into device allocations,
    copies and `gpu.launch_func` ops on one stream.

    Example:

    ```mlir
    %y = hqdm.gpu_launch "fc" ins(%x, %w : tensor<4x64xf32>, tensor<1x64x4xi32>)
        outs(%init : tensor<4x64xf32>) {
          temps = [memref<64x8xi32>],
          launches = [{kernel = @hqdm_kernels::@fc_gemm,
                       grid = array<i64: 1, 1, 1>, block = array<i64: 128, 1, 1>,
                       args = array<i64: 3, 1, 2>} ]
        } -> tensor<4x64xf32>
    ```
  }];
  let arguments = (ins
    StrAttr:$layer,
    Variadic<AnyShaped>:$inputs,
    Variadic<AnyShaped>:$outputs,
    TypeArrayAttr:$temps,
    ArrayAttr:$launches
  );
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $layer (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)` attr-dict (`->` type($results)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    MutableOperandRange getDpsInitsMutable() { return getOutputsMutable(); }
  }];
}

#endif // HQDM_DIALECT_HQDM_IR_HQDMOPS_TD
