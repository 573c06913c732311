//===- Raise.cpp - Raise torch-mlir linalg to hqdm layers -------*- C++ -*-===//
//
// Placeholder: the patterns are being written.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"
#include "hqdm/Transforms/Passes.h"

namespace mlir::hqdm {
#define GEN_PASS_DEF_RAISEPASS
#include "hqdm/Transforms/Passes.h.inc"

namespace {
struct RaisePass : impl::RaisePassBase<RaisePass> {
  void runOnOperation() override {}
};
} // namespace
} // namespace mlir::hqdm
