//===- Passes.h - hqdm quantization passes ----------------------*- C++ -*-===//
//
// This file declares the passes that turn a float model into a quantized one:
// raising torch-mlir's linalg to named layers, planning, Hadamard insertion,
// folding rotations, and quantizing layers.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_TRANSFORMS_PASSES_H
#define HQDM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
namespace hqdm {

#define GEN_PASS_DECL
#include "hqdm/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "hqdm/Transforms/Passes.h.inc"

} // namespace hqdm
} // namespace mlir

#endif // HQDM_TRANSFORMS_PASSES_H
