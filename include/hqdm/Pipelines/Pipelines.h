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

/// Options of `hqdm-quantize`; each is forwarded to the pass that uses it.
struct QuantizeOptions : public PassPipelineOptions<QuantizeOptions> {
  PassOptions::Option<std::string> scheme{
      *this, "scheme",
      llvm::cl::desc("Weight and activation bits: w4a4, w4a8, w4a3, w8a8"),
      llvm::cl::init("w4a4")};
  PassOptions::Option<std::string> hadamard{
      *this, "hadamard",
      llvm::cl::desc("Hadamard before activation quantizers: single | double "
                     "| none"),
      llvm::cl::init("single")};
  PassOptions::Option<int64_t> block{
      *this, "block",
      llvm::cl::desc("Hadamard block size (0: the whole reduction axis)"),
      llvm::cl::init(32)};
  PassOptions::Option<bool> weightSymmetric{
      *this, "weight-symmetric",
      llvm::cl::desc("Symmetric weights (default: asymmetric with zero "
                     "points)"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> activation{
      *this, "activation",
      llvm::cl::desc("Activation scales: per-token | per-tensor (dynamic), "
                     "static | per-step (calibrated)"),
      llvm::cl::init("per-token")};
  PassOptions::Option<std::string> config{
      *this, "config",
      llvm::cl::desc("JSON configuration with per-layer rules"),
      llvm::cl::init("")};
  PassOptions::Option<bool> fold{
      *this, "fold",
      llvm::cl::desc("Fold rotations into producer weights where legal"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> form{
      *this, "form",
      llvm::cl::desc("integer (qlinear/qconv2d) | fake-quant (float "
                     "reference)"),
      llvm::cl::init("integer")};
};

/// Float model (torch-mlir linalg or hqdm float layers) to quantized hqdm:
/// raise, plan, insert Hadamard rotations, fold them where legal, quantize.
void buildQuantizePipeline(OpPassManager &pm, const QuantizeOptions &options);

/// Registers every hqdm pipeline with the global pass registry.
void registerHqdmPipelines();

} // namespace mlir::hqdm

#endif // HQDM_PIPELINES_PIPELINES_H
