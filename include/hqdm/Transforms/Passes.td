//===- Passes.td - hqdm quantization passes ----------------*- tablegen -*-===//
//
// This file declares the passes of hqdm-quantize, in pipeline order.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_TRANSFORMS_PASSES_TD
#define HQDM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def LoadWeightsPass : Pass<"hqdm-load-weights", "::mlir::ModuleOp"> {
  let summary = "Attach a safetensors file's tensors to dense_resource weights";
  let description = [{
    An imported model refers to its parameters by their PyTorch state_dict
    names, `arith.constant dense_resource<blocks.0.attn.qkv.weight> :
    tensor<3456x1152xf32>`, with no `{-# dialect_resources #-}` entry for
    them. This pass maps the safetensors file (`file`, else the module's
    `hqdm.weights` string attribute) and attaches every such tensor's bytes
    to its resource without copying them (unaligned tensors are copied). It
    checks the header (length, JSON, every entry's dtype, shape and byte
    range) and, for every blob-less resource, that the file has it with the
    IR's element type and shape. Resources that already hold data are left
    alone; tensors of the file the module does not use are ignored. Without
    a file, blob-less resources are an error (with `allow-elided`, except
    `__elided__` ones). See docs/Weights.md.
  }];
  let options = [
    Option<"file", "file", "std::string", "\"\"",
           "The safetensors file (default: the module's hqdm.weights "
           "attribute)">,
    Option<"allowElided", "allow-elided", "bool", "false",
           "Leave `dense_resource<__elided__>` (MLIR's placeholder for "
           "elided data) without data instead of failing; the pipelines "
           "set it">,
  ];
  let statistics = [
    Statistic<"numLoaded", "loaded", "Number of weights attached">,
    Statistic<"numCopied", "copied",
              "Number of weights copied because their data was unaligned">,
    Statistic<"numBytes", "bytes", "Bytes of weight data attached">,
    Statistic<"numUnused", "unused",
              "Number of tensors in the file the module does not use">,
  ];
}

def RaisePass : Pass<"hqdm-raise", "::mlir::ModuleOp"> {
  let summary = "Recognise torch-mlir's linalg layers as named hqdm float layers";
  let description = [{
    Pattern-matches the linalg-on-tensors that torch-mlir emits and replaces
    each recognised layer with one hqdm float layer op carrying a `name`.
    Everything not recognised passes through unchanged: the matchers check
    which tensor every `linalg.generic` reads through which indexing map and
    what its body computes (up to reordering and regrouping of `+` and `*`,
    constants to a relative 1e-6), so a chain that only resembles a layer is
    never raised.

    Recognised forms (x is the activation, all of one float element type):

    - `hqdm.linear`: `linalg.matmul` into a `linalg.fill` of 0 whose right
      operand is the weight W [N, K] transposed by `linalg.transpose`
      (permutation [1, 0]) or by a copy `linalg.generic` with maps
      (d0, d1) <-> (d1, d0); or `linalg.matmul` with indexing maps
      [(d0, d2), (d1, d2), (d0, d1)] on W itself; or (torch-mlir's
      `aten.linear` on 3-D x) `linalg.batch_matmul` of x and the transposed
      W broadcast over the batch (copy generic reading (d1, d2), or
      `linalg.broadcast` dimensions [0]). A following elementwise add of a
      [N] vector read along the last dim (either operand order) becomes the
      bias. Reshapes around the product stay in place; W need not be
      constant; the transpose is erased only when nothing else reads it.
    - `hqdm.conv2d`: `linalg.conv_2d_nchw_fchw` into a zero fill or a
      [F] bias broadcast (`linalg.broadcast` dimensions [0, 2, 3], or a copy
      generic reading dim 1); strides and dilations from the op. An input
      `tensor.pad` of constant 0, symmetric, on H and W only, becomes
      `padding`; any other pad stays outside the layer (remark `PadKept`).
    - `hqdm.gelu`: one elementwise generic computing
      `x * 0.5 * (1 + erf(x / sqrt(2)))` (approximate none) or
      `x * 0.5 * (1 + tanh(b * (x + 0.044715 * x^3)))` with b = sqrt(2/pi)
      to 1e-3 (torch-mlir writes 0.7977240352174656) and x^3 as `math.fpowi`
      or products (approximate tanh).
    - `hqdm.silu`: a sigmoid generic `1 / (1 + exp(-x))` and a generic
      multiplying it by x, or one generic computing `x * sigmoid(x)` or
      `x / (1 + exp(-x))`.
    - `hqdm.layer_norm` / `hqdm.group_norm`: torch-mlir's decomposition
      `(x - sum(x)/N) * rsqrt(sum(d * d)/N + eps)` with every reduction a
      generic over exactly the normalized trailing dims (the last one for
      LayerNorm; for GroupNorm all dims after G of the [N, G, C/G*H*W] or
      [N, G, C/G, H*W] reshape of an [N, C, ...] input that is reshaped back
      afterwards), zero-filled, and N their element count;
      the mean read per row or through a broadcast copy; the variance on the
      centered x, or recomputed on `extf(x)` in f64 and truncated; eps added
      in the rsqrt generic or the one before (an f64 constant through
      `arith.truncf` is fine). A following elementwise multiply and add by a
      [D] vector along the last dim (LayerNorm) or a [C] vector along dim 1
      (GroupNorm, unsqueezed to [1, C, 1, 1]) become weight and bias.
    - `hqdm.softmax` (last axis): `e / sum(e)` with `e = exp(x - max(x))`
      (one generic or a subtraction and an exp), max a `maximumf`/`maxnumf`
      reduction filled with -inf or the lowest finite value, possibly the
      two-result max/argmax generic of `aten.max.dim`.
    - `hqdm.modulate`: DiT's `x * (1 + scale) + shift` on x [B, ..., D]
      with scale and shift read per (sample, channel) (through the
      unsqueeze's `tensor.expand_shape` to [B, 1, D]), in any grouping
      (`1 + scale` before or after the reshape, `x + x * scale + shift`,
      fused generics).

    Names: a layer keeps a `name` it already has; otherwise it takes the
    first NameLoc of its location (looking into FusedLoc and CallSiteLoc,
    callee first), else `<kind>_<index>` (`linear_0`, `conv2d_1`,
    `layer_norm_0`, ...) with the index counted per kind over all layers of
    that kind in module walk order. A name already taken gets `_1`, `_2`,
    ... (names given by hand are claimed first). The location of a raised
    layer is that of the op it was anchored on (the matmul, the conv, the
    generic computing the result).

    Remarks (category `hqdm-raise`; MLIR 22 matches `--remarks-filter`
    against the whole category, so `--remarks-filter='hqdm.*'` shows them):
    `Raised` for every layer raised ("raised linear 'blocks.0.attn.qkv'"),
    `PadKept` for a pad left outside a conv2d, `NotRaised` for products and
    convolutions that read a weight but were left alone (a transpose with
    another permutation, a non-zero accumulator, mixed element types).

    Example:

    ```mlir
    %t = linalg.transpose ins(%w : tensor<4x5xf32>) outs(%e : tensor<5x4xf32>) permutation = [1, 0]
    %z = linalg.fill ins(%zero : f32) outs(%i : tensor<1x4xf32>) -> tensor<1x4xf32>
    %y = linalg.matmul ins(%x, %t : tensor<1x5xf32>, tensor<5x4xf32>) outs(%z : tensor<1x4xf32>) -> tensor<1x4xf32>
    // becomes
    %y = hqdm.linear %x, %w {name = "linear_0"} : (tensor<1x5xf32>, tensor<4x5xf32>) -> tensor<1x4xf32>
    ```
  }];
  let dependentDialects = [
    "::mlir::hqdm::HqdmDialect",
    "::mlir::tensor::TensorDialect",
  ];
  let statistics = [
    Statistic<"numLinear", "linear", "Number of hqdm.linear raised">,
    Statistic<"numConv2d", "conv2d", "Number of hqdm.conv2d raised">,
    Statistic<"numGelu", "gelu", "Number of hqdm.gelu raised">,
    Statistic<"numSilu", "silu", "Number of hqdm.silu raised">,
    Statistic<"numLayerNorm", "layer-norm", "Number of hqdm.layer_norm raised">,
    Statistic<"numGroupNorm", "group-norm", "Number of hqdm.group_norm raised">,
    Statistic<"numSoftmax", "softmax", "Number of hqdm.softmax raised">,
    Statistic<"numModulate", "modulate", "Number of hqdm.modulate raised">,
  ];
}

def PlanPass : Pass<"hqdm-plan", "::mlir::ModuleOp"> {
  let summary = "Decide how each float layer is quantized";
  let description = [{
    Attaches a `#hqdm.plan` to every `hqdm.linear` and `hqdm.conv2d` that is
    to be quantized, from the options and an optional JSON configuration
    file (`config=`, format in docs/Quantization.md). The options give the
    defaults, the file's top-level keys override them, and its `layers` rules
    override both for the layers whose `name` matches a glob pattern; a rule
    can keep a layer in floating point (`"keep": "fp"`). Layers whose weight
    is not a compile-time constant with known values (a function argument,
    an elided `dense_resource`) stay float, with a remark.

    Example: `--hqdm-plan="scheme=w4a8 hadamard=single block=32"`.
  }];
  let options = [
    Option<"scheme", "scheme", "std::string", "\"w4a4\"",
           "Weight and activation bits: w4a4, w4a8, w4a3, w8a8 (any wNaM "
           "with N, M in [2, 16])">,
    Option<"hadamard", "hadamard", "std::string", "\"single\"",
           "Hadamard mode before activation quantizers: single | double | none">,
    Option<"block", "block", "int64_t", "32",
           "Hadamard block size along the reduction axis (0: the whole axis)">,
    Option<"weightSymmetric", "weight-symmetric", "bool", "false",
           "Quantize weights symmetrically (default: asymmetric, with a zero "
           "point per output channel)">,
    Option<"activation", "activation", "std::string", "\"per-token\"",
           "Activation scales: per-token (dynamic), per-tensor (dynamic), "
           "static (one calibrated per-tensor scale) or per-step">,
    Option<"activationSymmetric", "activation-symmetric", "bool", "true",
           "Symmetric activation quantizers (asymmetric ones need calibrated "
           "scales)">,
    Option<"config", "config", "std::string", "\"\"",
           "JSON configuration file with defaults and per-layer rules">,
  ];
  let dependentDialects = ["::mlir::hqdm::HqdmDialect"];
  let statistics = [
    Statistic<"numPlanned", "planned", "Number of layers planned for quantization">,
    Statistic<"numKeptFloat", "kept-float", "Number of layers kept in floating point">,
  ];
}

def InsertHadamardPass : Pass<"hqdm-insert-hadamard", "::mlir::ModuleOp"> {
  let summary = "Rotate the inputs of planned layers with a block Hadamard";
  let description = [{
    For every layer whose plan asks for a `single` or `double` Hadamard,
    inserts `hqdm.hadamard` (normalized, the planned block along the
    reduction axis: the last one of a linear input, the channels of a
    convolution input) in front of the layer and records the rotation as the
    layer's `input_rotation`, which keeps the function unchanged in float. A
    block that does not divide the axis, or an order no construction serves,
    leaves the layer unrotated (its plan says `hadamard = none`) with a
    remark.
  }];
  let dependentDialects = ["::mlir::hqdm::HqdmDialect"];
  let statistics = [
    Statistic<"numRotated", "rotated", "Number of layer inputs rotated">,
    Statistic<"numUnrotated", "unrotated", "Number of planned rotations declined">,
  ];
}

def FoldRotationsPass : Pass<"hqdm-fold-rotations", "::mlir::ModuleOp"> {
  let summary = "Fold online Hadamard rotations into producer weights where legal";
  let description = [{
    An online `hqdm.hadamard` in front of a layer can be removed when the
    rotation can be moved into the layer that produces its input: through
    reshapes, transposes and slices that keep each rotated block intact, and
    through the value operand of an attention matmul (`softmax(QK^T) * V`
    mixes tokens, not features), up to an `hqdm.linear` with constant weights,
    whose output rows are rotated (`W <- H^T W`, `b <- H^T b`). Every other
    op on the way (a nonlinearity, a normalization, DiT's modulate, a value
    read elsewhere without the rotation) keeps the rotation online. Each
    decision is reported as a remark naming the layers and the reason.
  }];
  let options = [
    Option<"producer", "producer", "bool", "true",
           "Fold rotations into producer weights where legal">,
  ];
  let dependentDialects = ["::mlir::hqdm::HqdmDialect"];
  let statistics = [
    Statistic<"numFolded", "folded", "Number of rotations folded into a producer">,
    Statistic<"numOnline", "online", "Number of rotations kept online">,
  ];
}

def QuantizeLayersPass : Pass<"hqdm-quantize-layers", "::mlir::ModuleOp"> {
  let summary = "Quantize planned layers: weights offline, activations online";
  let description = [{
    Replaces every planned `hqdm.linear` / `hqdm.conv2d` by its quantized
    form. Weights are quantized per output channel with a clipping ratio
    chosen by a search that minimizes the L_p error of the channel; zero
    points are folded. With the `single` Hadamard the integer weight is
    rotated exactly (`(Q(W) - z) * H_raw`, stored in the narrowest of
    i8/i16/i32 that holds it) and the layer's multiplier is `1/sqrt(B)`;
    the worst-case i32 accumulation is checked. With `double` the float
    weight is rotated and then quantized. Activations get a quantizer with
    dynamic per-token or per-tensor scales.

    `form=integer` (default) emits `hqdm.qlinear` / `hqdm.qconv2d` on
    integer levels; `form=fake-quant` emits the same quantization as float
    fake quantization (`hqdm.fake_quant` and a float layer on dequantized
    weights), the reference the integer form is checked against.
  }];
  let options = [
    Option<"form", "form", "std::string", "\"integer\"",
           "integer | fake-quant">,
    Option<"clipCandidates", "clip-candidates", "int64_t", "80",
           "Clipping ratios tried per output channel (1, 0.99, ...)">,
    Option<"clipNorm", "clip-norm", "double", "2.4",
           "p of the L_p error the clipping search minimizes">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::hqdm::HqdmDialect",
  ];
  let statistics = [
    Statistic<"numQuantized", "quantized", "Number of layers quantized">,
  ];
}

def InstrumentPass : Pass<"hqdm-instrument", "::mlir::ModuleOp"> {
  let summary = "Observe every planned activation-quantizer input, for calibration";
  let description = [{
    For every function holding planned layers, adds a copy `@<name>_observe`
    with the same arguments whose results are the function's own results
    followed by the statistics of each planned layer's input (the value its
    activation quantizer will see: after the Hadamard rotation and the
    post-GELU transform), computed by `hqdm.observe`: per-channel minimum and
    maximum (`stage=ranges`), and also a histogram over the range the first
    stage found (`stage=histograms`, which reads that stage's file from
    `calibration=`). `manifest=` names a JSON file describing the copy's
    signature and its observations for the calibration driver
    (docs/Calibration.md). The original functions are unchanged.
  }];
  let options = [
    Option<"stage", "stage", "std::string", "\"ranges\"",
           "ranges | histograms">,
    Option<"calibration", "calibration", "std::string", "\"\"",
           "The ranges file of the first stage (for stage=histograms)">,
    Option<"bins", "bins", "int64_t", "2048",
           "Histogram bins per observed layer">,
    Option<"manifest", "manifest", "std::string", "\"\"",
           "Where to write the JSON manifest of the observations">,
    Option<"timestepArg", "timestep-arg", "int64_t", "-1",
           "The argument holding the diffusion timestep (default: the one "
           "marked hqdm.timestep; none: one step)">,
  ];
  let dependentDialects = [
    "::mlir::func::FuncDialect",
    "::mlir::hqdm::HqdmDialect",
  ];
}

def TaqPostGeluPass : Pass<"hqdm-taq-post-gelu", "::mlir::ModuleOp"> {
  let summary = "TaQ-DiT's post-GELU shift and outlier-channel migration";
  let description = [{
    For every planned, unrotated `hqdm.linear` reading a GELU output (DiT's
    fc2), reads the per-step channel ranges of its input from the
    calibration file and:

    * shifts every channel to the center of its range, averaged over the
      steps (`c = mean_t (min_t + max_t) / 2`);
    * finds outlier channels (half-range above `outlier-threshold` times the
      median) and gives each an integer migration factor
      `m = round(r_c / r_n)`, where `r_n` is the largest half-range of the
      ordinary channels (m = 1 elsewhere);
    * inserts `hqdm.channel_shift(x, c, m)` before the layer, scales the
      weight's input columns by m and records `input_shift = c / m`, so the
      layer still computes `x * W^T + b`; `hqdm-quantize-layers` folds the
      shift into the bias through the quantized weight,
      `b' = b + W_hat' (c / m)`.
  }];
  let options = [
    Option<"calibration", "calibration", "std::string", "\"\"",
           "Calibration statistics (docs/Calibration.md)">,
    Option<"outlierThreshold", "outlier-threshold", "double", "4.0",
           "A channel is an outlier when its half-range exceeds this many "
           "times the median half-range">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::hqdm::HqdmDialect",
  ];
}

def TimeAwareScalesPass : Pass<"hqdm-time-aware-scales", "::mlir::ModuleOp"> {
  let summary = "Choose calibrated activation scales per step or per step group";
  let description = [{
    From the per-step histograms of the calibration file, chooses the
    activation scales of the selected layers: those the `layers=` option
    names (post-GELU inputs, rotated inputs, or all), which get time-aware
    scales, and those whose plan asks for `static` (one scale) or `per_step`
    scales. With `groups=0` every calibrated step gets its own scale; with
    `groups=G` the steps are split into G contiguous groups, the boundaries
    chosen by dynamic programming to minimize the total quantization error,
    one scale per group. Each scale comes from a clipping search that
    minimizes the L_p error over the group's histogram. The result is a
    `#hqdm.scale_table` on the layer, which `hqdm-quantize-layers` turns into
    a table selected at run time from the model's timestep input.
  }];
  let options = [
    Option<"calibration", "calibration", "std::string", "\"\"",
           "Calibration statistics (docs/Calibration.md)">,
    Option<"layers", "layers", "std::string", "\"none\"",
           "Layers that get time-aware scales: post-gelu | rotated | all | "
           "none (plans with static or per_step scales are calibrated "
           "anyway)">,
    Option<"groups", "groups", "int64_t", "0",
           "Step groups (0: one scale per calibrated step)">,
    Option<"clipCandidates", "clip-candidates", "int64_t", "80",
           "Clipping ratios tried per scale (1, 0.99, ...)">,
    Option<"clipNorm", "clip-norm", "double", "2.4",
           "p of the L_p error the scale search minimizes">,
    Option<"timestepArg", "timestep-arg", "int64_t", "-1",
           "The argument holding the diffusion timestep (default: the "
           "calibration file's)">,
  ];
  let dependentDialects = ["::mlir::hqdm::HqdmDialect"];
}

#endif // HQDM_TRANSFORMS_PASSES_TD
