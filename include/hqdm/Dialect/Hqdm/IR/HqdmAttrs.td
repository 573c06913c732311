//===- HqdmAttrs.td - hqdm attributes ----------------------*- tablegen -*-===//
//
// This file defines the attributes of the hqdm dialect: the quantization
// scheme and the Hadamard specification.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_DIALECT_HQDM_IR_HQDMATTRS_TD
#define HQDM_DIALECT_HQDM_IR_HQDMATTRS_TD

include "hqdm/Dialect/Hqdm/IR/HqdmDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Hqdm_Granularity : I32EnumAttr<"Granularity",
    "which elements share one scale and zero point", [
      I32EnumAttrCase<"PerTensor", 0, "per_tensor">,
      I32EnumAttrCase<"PerChannel", 1, "per_channel">,
      I32EnumAttrCase<"PerToken", 2, "per_token">,
    ]> {
  let cppNamespace = "::mlir::hqdm";
  let genSpecializedAttr = 0;
}

def Hqdm_GranularityAttr
    : EnumAttr<Hqdm_Dialect, Hqdm_Granularity, "granularity">;

def Hqdm_HadamardMode : I32EnumAttr<"HadamardMode",
    "where a layer's Hadamard rotation is applied to the weight", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Single", 1, "single">,
      I32EnumAttrCase<"Double", 2, "double">,
    ]> {
  let cppNamespace = "::mlir::hqdm";
  let genSpecializedAttr = 0;
}

def Hqdm_HadamardModeAttr
    : EnumAttr<Hqdm_Dialect, Hqdm_HadamardMode, "hadamard_mode">;

def Hqdm_ScaleSource : I32EnumAttr<"ScaleSource",
    "where activation scales come from", [
      I32EnumAttrCase<"Dynamic", 0, "dynamic">,
      I32EnumAttrCase<"Static", 1, "static">,
      I32EnumAttrCase<"PerStep", 2, "per_step">,
    ]> {
  let cppNamespace = "::mlir::hqdm";
  let genSpecializedAttr = 0;
}

def Hqdm_ScaleSourceAttr
    : EnumAttr<Hqdm_Dialect, Hqdm_ScaleSource, "scale_source">;

def Hqdm_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "which GELU formula", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Tanh", 1, "tanh">,
    ]> {
  let cppNamespace = "::mlir::hqdm";
  let genSpecializedAttr = 0;
}

def Hqdm_GeluApproximationAttr
    : EnumAttr<Hqdm_Dialect, Hqdm_GeluApproximation, "gelu_approximation">;

class Hqdm_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Hqdm_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Hqdm_QuantSchemeAttr : Hqdm_Attr<"QuantScheme", "scheme"> {
  let summary = "How a tensor is quantized: bits, symmetry and granularity";
  let description = [{
    A quantization scheme. `bits` is the number of quantized bits b (2 to 16).
    A symmetric scheme maps to signed levels
    `[-(2^(b-1) - 1), 2^(b-1) - 1]` without a zero point; an asymmetric one maps
    to unsigned levels `[0, 2^b - 1]` with an `i32` zero point. The
    granularity says which elements share a scale:

    * `per_tensor`: one scale for the whole tensor (a rank-0 scale);
    * `per_channel`: one scale per index of dimension `axis` (a rank-1 scale);
    * `per_token`: one scale per feature vector, i.e. per index of every
      dimension but the last (the scale has the input's shape without its last
      dimension); usually computed at run time by `hqdm.token_scale`.

    Per-step scales are per-tensor scales selected from a table by
    `hqdm.step_select`.

    Example:

    ```mlir
    #hqdm.scheme<bits = 4>
    #hqdm.scheme<bits = 4, symmetric = false, granularity = per_channel, axis = 0>
    #hqdm.scheme<bits = 8, granularity = per_token>
    ```
  }];
  let parameters = (ins
    "unsigned":$bits,
    DefaultValuedParameter<"bool", "true">:$symmetric,
    DefaultValuedParameter<"::mlir::hqdm::Granularity",
                           "::mlir::hqdm::Granularity::PerTensor">:$granularity,
    DefaultValuedParameter<"int64_t", "0">:$axis
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The smallest and largest quantized level, as integers.
    int64_t getMinLevel() const;
    int64_t getMaxLevel() const;
  }];
}

def Hqdm_HadamardSpecAttr : Hqdm_Attr<"HadamardSpec", "hadamard"> {
  let summary = "A block-diagonal Hadamard rotation";
  let description = [{
    Describes the rotation `x * H` applied along one axis: the axis is split
    into contiguous blocks of `block` features and each block is multiplied by
    the Hadamard matrix of order `block` from hqdm's Hadamard library (powers
    of two, or K * 2^m for a known K such as 12 or 36). When `block` equals the
    axis size the rotation is a full-order Hadamard.

    `normalized = true` (the default) uses the orthogonal matrix
    `H = H_raw / sqrt(block)`; `normalized = false` uses the +-1 matrix
    `H_raw`, which is how integer weights are rotated exactly.

    Example:

    ```mlir
    #hqdm.hadamard<block = 32>
    #hqdm.hadamard<block = 1152, normalized = false>
    ```
  }];
  let parameters = (ins
    "int64_t":$block,
    DefaultValuedParameter<"bool", "true">:$normalized
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Hqdm_LayerPlanAttr : Hqdm_Attr<"LayerPlan", "plan"> {
  let summary = "How one float layer is to be quantized";
  let description = [{
    Attached by `hqdm-plan` to a float layer (`hqdm.linear`, `hqdm.conv2d`)
    and read by the passes after it:

    * `weight`: the weight quantizer; `per_channel` along the output channel
      (axis 0) or `per_tensor`;
    * `activation`: the input quantizer; `per_tensor` or `per_token`;
    * `scales`: where the activation scales come from: computed at run time
      from the tensor (`dynamic`), one calibrated scale (`static`) or one per
      sampler step (`per_step`); `per_token` scales are always dynamic;
    * `hadamard`: `none`, `single` (HQ-DM: the activation is rotated, the
      quantized integer weight is rotated exactly) or `double` (QuaRot: the
      float weight is rotated, then quantized);
    * `block`: the Hadamard block size along the reduction axis, 0 for one
      block over the whole axis.

    Example:

    ```mlir
    #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>,
               activation = <bits = 4, granularity = per_token>,
               hadamard = single, block = 32>
    ```
  }];
  let parameters = (ins
    "QuantSchemeAttr":$weight,
    "QuantSchemeAttr":$activation,
    DefaultValuedParameter<"::mlir::hqdm::ScaleSource",
                           "::mlir::hqdm::ScaleSource::Dynamic">:$scales,
    DefaultValuedParameter<"::mlir::hqdm::HadamardMode",
                           "::mlir::hqdm::HadamardMode::None">:$hadamard,
    DefaultValuedParameter<"int64_t", "32">:$block
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Hqdm_ScaleTableAttr : Hqdm_Attr<"ScaleTable", "scale_table"> {
  let summary = "Calibrated activation scales, one per sampler-step group";
  let description = [{
    The activation quantizer of one layer, chosen from calibration data by
    `hqdm-time-aware-scales` and read by `hqdm-quantize-layers`:

    * `steps`: the sampler's timestep values the calibration saw, in sampler
      order (step index `i` is the step whose timestep input is `steps[i]`);
      a timestep between them selects the nearest one;
    * `group_starts`: the first step index of each group (starting at 0,
      strictly increasing); group `g` serves steps `group_starts[g]` up to
      the next start;
    * `scales`: one scale per group;
    * `zero_points`: one zero point per group for an asymmetric quantizer,
      empty for a symmetric one.

    One group is a single static scale; one group per step is a per-step
    table.

    Example:

    ```mlir
    #hqdm.scale_table<steps = [999.0, 666.0, 333.0, 0.0],
                      group_starts = [0, 2], scales = [0.05, 0.02],
                      zero_points = []>
    ```
  }];
  let parameters = (ins
    "DenseF64ArrayAttr":$steps,
    "DenseI64ArrayAttr":$group_starts,
    "DenseF32ArrayAttr":$scales,
    "DenseI64ArrayAttr":$zero_points
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The number of groups (entries of the table).
    int64_t getNumGroups() const { return getScales().size(); }
    bool isSymmetric() const { return getZeroPoints().empty(); }
  }];
}

#endif // HQDM_DIALECT_HQDM_IR_HQDMATTRS_TD
