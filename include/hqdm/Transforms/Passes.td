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

#endif // HQDM_TRANSFORMS_PASSES_TD
