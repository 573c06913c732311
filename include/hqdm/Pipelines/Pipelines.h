//===- Pipelines.h - hqdm pass pipelines ------------------------*- C++ -*-===//
//
// This file declares hqdm's pass pipelines: plain builder functions with an
// options struct each, and their registration with the pass registry.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_PIPELINES_PIPELINES_H
#define HQDM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::hqdm {

/// Options of `hqdm-lower-to-cpu`.
struct LowerToCPUOptions : public PassPipelineOptions<LowerToCPUOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Emit _mlir_ciface_ wrappers for every public function, "
                     "for ahead-of-time shared libraries called from C"),
      llvm::cl::init(false)};
};

/// hqdm plus linalg-on-tensors IR down to the LLVM dialect, runnable by
/// mlir-runner or translatable to LLVM IR for ahead-of-time compilation.
void buildLowerToCPUPipeline(OpPassManager &pm,
                             const LowerToCPUOptions &options);

/// Registers every hqdm pipeline with the global pass registry.
void registerHqdmPipelines();

} // namespace mlir::hqdm

#endif // HQDM_PIPELINES_PIPELINES_H
