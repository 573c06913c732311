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
  PassOptions::Option<std::string> weights{
      *this, "weights",
      llvm::cl::desc("safetensors file with the model's dense_resource "
                     "weights (default: the module's hqdm.weights attribute; "
                     "docs/Weights.md)"),
      llvm::cl::init("")};
};

/// hqdm plus linalg-on-tensors IR down to the LLVM dialect, runnable by
/// mlir-runner or translatable to LLVM IR for ahead-of-time compilation.
void buildLowerToCPUPipeline(OpPassManager &pm,
                             const LowerToCPUOptions &options);

/// Options of `hqdm-quantize`; each is forwarded to the pass that uses it.
struct QuantizeOptions : public PassPipelineOptions<QuantizeOptions> {
  PassOptions::Option<std::string> weights{
      *this, "weights",
      llvm::cl::desc("safetensors file with the model's dense_resource "
                     "weights (default: the module's hqdm.weights attribute; "
                     "docs/Weights.md)"),
      llvm::cl::init("")};
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
  PassOptions::Option<bool> activationSymmetric{
      *this, "activation-symmetric",
      llvm::cl::desc("Symmetric activation quantizers (asymmetric ones need "
                     "calibrated scales)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> config{
      *this, "config",
      llvm::cl::desc("JSON configuration with per-layer rules"),
      llvm::cl::init("")};
  PassOptions::Option<bool> fold{
      *this, "fold",
      llvm::cl::desc("Fold rotations into producer weights where legal"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> clipCandidates{
      *this, "clip-candidates",
      llvm::cl::desc("Weight clipping ratios tried per output channel (1, "
                     "0.99, ...; fewer compile large models faster)"),
      llvm::cl::init(80)};
  PassOptions::Option<double> clipNorm{
      *this, "clip-norm",
      llvm::cl::desc("p of the L_p error the weight clipping search "
                     "minimizes (2 is the fastest)"),
      llvm::cl::init(2.4)};
  PassOptions::Option<std::string> form{
      *this, "form",
      llvm::cl::desc("integer (qlinear/qconv2d) | fake-quant (float "
                     "reference)"),
      llvm::cl::init("integer")};
  // Calibration (docs/Calibration.md).
  PassOptions::Option<std::string> calibration{
      *this, "calibration",
      llvm::cl::desc("Calibration statistics (JSON) for static, per-step and "
                     "time-aware activation scales and the post-GELU "
                     "transform"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> timeAware{
      *this, "time-aware",
      llvm::cl::desc("Layers with time-aware (per-step or step-group) scales: "
                     "post-gelu | rotated | all | none"),
      llvm::cl::init("none")};
  PassOptions::Option<int64_t> groups{
      *this, "groups",
      llvm::cl::desc("Step groups of time-aware scales (0: one scale per "
                     "step)"),
      llvm::cl::init(0)};
  PassOptions::Option<bool> taq{
      *this, "taq",
      llvm::cl::desc("TaQ-DiT post-GELU shift and outlier migration (needs "
                     "calibration)"),
      llvm::cl::init(false)};
  PassOptions::Option<int64_t> timestepArg{
      *this, "timestep-arg",
      llvm::cl::desc("The model argument holding the diffusion timestep "
                     "(default: the calibration file's, or the argument "
                     "marked hqdm.timestep)"),
      llvm::cl::init(-1)};
  PassOptions::Option<std::string> instrument{
      *this, "instrument",
      llvm::cl::desc("Stop before quantizing and add an observing copy of "
                     "the model for calibration: none | ranges | histograms"),
      llvm::cl::init("none")};
  PassOptions::Option<std::string> manifest{
      *this, "manifest",
      llvm::cl::desc("With instrument: where to write the observation "
                     "manifest"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> bins{
      *this, "bins",
      llvm::cl::desc("With instrument=histograms: bins per histogram"),
      llvm::cl::init(2048)};
};

/// Options of `hqdm-lower-to-cuda`.
struct LowerToCUDAOptions : public PassPipelineOptions<LowerToCUDAOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("GPU: sm_80, sm_86, sm_89 (4-bit tensor cores), sm_90 "
                     "(mma.sync) or sm_90a (wgmma)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Kernel object: isa (PTX, no toolkit needed), bin "
                     "(cubin, by ptxas) or fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit directory for ptxas (default: PATH, "
                     "CUDA_HOME, CUDA_ROOT or CUDA_PATH)"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> smCount{
      *this, "sm-count",
      llvm::cl::desc("Streaming multiprocessors the tiles should fill"),
      llvm::cl::init(132)};
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Emit _mlir_ciface_ wrappers for every public function"),
      llvm::cl::init(false)};
  PassOptions::Option<std::string> weights{
      *this, "weights",
      llvm::cl::desc("safetensors file with the model's dense_resource "
                     "weights (default: the module's hqdm.weights attribute)"),
      llvm::cl::init("")};
  PassOptions::Option<bool> wholeModel{
      *this, "whole-model",
      llvm::cl::desc("Run everything on the GPU: the other ops become "
                     "kernels too, every buffer (arguments and results "
                     "included) is device memory, weights are uploaded "
                     "once by the runtime"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> fuseOps{
      *this, "fuse-ops",
      llvm::cl::desc("Run the LayerNorm, modulate, SiLU and GELU before a "
                     "linear layer in its prologue, and elementwise consumers "
                     "of a layer's result in its epilogue"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuseAttention{
      *this, "fuse-attention",
      llvm::cl::desc("With whole-model: run each attention as one fused "
                     "tensor-core kernel (f16 operands, f32 softmax and "
                     "accumulation) instead of f32 kernels per op"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> externalWeights{
      *this, "external-weights",
      llvm::cl::desc("With whole-model: write the weights and tables to this "
                     "safetensors file instead of embedding them; the "
                     "runtime loads the file with the library "
                     "(hqdm_model_load_with_weights)"),
      llvm::cl::init("")};
};

/// Quantized hqdm IR to a host module in the LLVM dialect whose quantized
/// layers run as generated CUDA kernels (embedded as PTX or cubin) through
/// the mgpu* runtime; everything else runs on the CPU as in
/// hqdm-lower-to-cpu.
void buildLowerToCUDAPipeline(OpPassManager &pm,
                              const LowerToCUDAOptions &options);

/// Float model (torch-mlir linalg or hqdm float layers) to quantized hqdm:
/// raise, plan, insert Hadamard rotations, fold them where legal, quantize.
void buildQuantizePipeline(OpPassManager &pm, const QuantizeOptions &options);

/// Registers every hqdm pipeline with the global pass registry.
void registerHqdmPipelines();

} // namespace mlir::hqdm

#endif // HQDM_PIPELINES_PIPELINES_H
