//===- Passes.td - hqdm quantization passes ----------------*- tablegen -*-===//
//
// This file declares the passes of hqdm-quantize, in pipeline order.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_TRANSFORMS_PASSES_TD
#define HQDM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def RaisePass : Pass<"hqdm-raise", "::mlir::ModuleOp"> {
  let summary = "Recognise torch-mlir's linalg layers as named hqdm float layers";
  let description = [{
    Pattern-matches the linalg-on-tensors that torch-mlir emits and replaces
    each recognised layer with one hqdm float layer op carrying a `name`.
    Everything not recognised passes through unchanged.
  }];
  let dependentDialects = [
    "::mlir::hqdm::HqdmDialect",
  ];
  let statistics = [
    Statistic<"numRaised", "raised", "Number of layers raised">,
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

#endif // HQDM_TRANSFORMS_PASSES_TD
