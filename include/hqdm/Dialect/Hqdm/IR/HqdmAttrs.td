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

#endif // HQDM_DIALECT_HQDM_IR_HQDMATTRS_TD
