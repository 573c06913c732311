//===- Pipelines.cpp - hqdm pass pipelines ----------------------*- C++ -*-===//
//
// This file builds and registers hqdm's pipelines. Each step carries a comment
// saying why it is there.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Pipelines/Pipelines.h"
#include "hqdm/Conversion/Passes.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>

using namespace mlir;

/// Weights referenced by name get their data from the safetensors file
/// `file`, else from the one the module's hqdm.weights attribute names;
/// nothing happens when every resource already has data. Resources elided by
/// MLIR (__elided__) stay without data: those layers stay float.
static void addLoadWeightsPass(OpPassManager &pm, StringRef file) {
  hqdm::LoadWeightsPassOptions load;
  load.file = file.str();
  load.allowElided = true;
  pm.addPass(hqdm::createLoadWeightsPass(load));
}

/// Tensors to buffers across function boundaries (identity layouts, so that
/// C callers pass plain strided descriptors), and frees what the program
/// allocates; the pipeline leaves bufferization.dealloc ops that the last
/// pass turns into memref ops.
static void addBufferizationPasses(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
}

/// hqdm ops to linalg (the reference semantics), fused elementwise.
static void addHqdmToLinalgPasses(OpPassManager &pm) {
  pm.addPass(hqdm::createConvertHqdmToLinalgPass());
  // Fuse the elementwise generics the lowering and torch-mlir produce, so the
  // program makes fewer passes over memory.
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Host code on memrefs (loops, GPU host ops) down to the LLVM dialect.
static void addHostToLLVMPasses(OpPassManager &pm, bool emitCInterface,
                                bool gpu) {
  if (emitCInterface)
    pm.addPass(hqdm::createEmitCInterfacePass());
  if (gpu) {
    // Kernels take bare pointers: their buffers have static shapes.
    GpuToLLVMConversionPassOptions toLLVM;
    toLLVM.kernelBarePtrCallConv = true;
    pm.addPass(createGpuToLLVMConversionPass(toLLVM));
  }
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  // Intrinsics where LLVM has them (roundeven, fabs, ...), libm for the rest
  // (tanh, erf in the GELU of imported models).
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

/// Memref loops to control flow.
static void addLoopsToCFPasses(OpPassManager &pm) {
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
}

void hqdm::buildLowerToCPUPipeline(OpPassManager &pm,
                                   const LowerToCPUOptions &options) {
  addLoadWeightsPass(pm, options.weights);
  addHqdmToLinalgPasses(pm);
  addBufferizationPasses(pm);
  addLoopsToCFPasses(pm);
  addHostToLLVMPasses(pm, options.emitCInterface, /*gpu=*/false);
}

/// Whether gpu-module-to-binary will link libdevice (for the erf and tanh of
/// a fused GELU): it looks in `toolkit`, else where CUDA_ROOT, CUDA_HOME or
/// CUDA_PATH point.
static bool hasLibdevice(StringRef toolkit) {
  SmallVector<std::string> roots;
  if (!toolkit.empty())
    roots.push_back(toolkit.str());
  else
    for (const char *name : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
      if (const char *value = std::getenv(name))
        roots.push_back(value);
  return llvm::any_of(roots, [](const std::string &root) {
    return llvm::sys::fs::exists(root + "/nvvm/libdevice/libdevice.10.bc");
  });
}

void hqdm::buildLowerToCUDAPipeline(OpPassManager &pm,
                                    const LowerToCUDAOptions &options) {
  addLoadWeightsPass(pm, options.weights);
  // Quantized layers (with their rotation, scale and quantizer) become
  // launches of kernels generated for their shapes; the rest stays for the
  // CPU path. Canonicalization drops the replaced quantizers.
  hqdm::ConvertHqdmToGPUPassOptions toGPU;
  toGPU.chip = options.chip;
  toGPU.smCount = options.smCount;
  toGPU.fuseGelu = hasLibdevice(options.toolkit);
  toGPU.fuseOps = options.fuseOps;
  pm.addPass(hqdm::createConvertHqdmToGPUPass(toGPU));
  pm.addPass(createCanonicalizerPass());
  // With the whole model on the GPU, each attention (two batch matmuls and
  // the softmax between them, with the reshapes around) becomes one fused
  // tensor-core kernel instead of a chain of thread-per-point kernels; it
  // reads q, k and v from the qkv launch's output, so it comes after the
  // layers. Canonicalization drops the transposes and slices it bypassed.
  if (options.wholeModel && options.fuseAttention) {
    pm.addPass(hqdm::createConvertAttentionToGPUPass());
    pm.addPass(createCanonicalizerPass());
  }
  addHqdmToLinalgPasses(pm);
  addBufferizationPasses(pm);
  // After deallocation planning, which cannot see into GPU host ops.
  hqdm::GpuLaunchToHostPassOptions toHost;
  toHost.deviceResident = options.wholeModel;
  pm.addPass(hqdm::createGpuLaunchToHostPass(toHost));
  if (options.wholeModel) {
    // Everything else as kernels of parallel loops, every buffer on the
    // device, all of it on one stream.
    pm.addPass(hqdm::createMapToGpuPass());
    hqdm::BuffersToDevicePassOptions toDevice;
    toDevice.externalWeights = options.externalWeights;
    pm.addPass(hqdm::createBuffersToDevicePass(toDevice));
    pm.addPass(createGpuKernelOutliningPass());
    pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
    pm.addPass(hqdm::createReportLaunchesPass());
    pm.addPass(hqdm::createEmitModelSignaturePass());
  }
  addLoopsToCFPasses(pm);

  // The kernels: NVVM, with the target attached for serialization.
  // sm_90a's wgmma needs PTX 8.0.
  bool wgmma = options.chip == "sm_90a";
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.optLevel = 3;
  if (wgmma)
    target.features = "+ptx80";
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions toNVVM;
  toNVVM.useBarePtrCallConv = true;
  kernels.addPass(createConvertGpuOpsToNVVMOps(toNVVM));
  // nvvm.wgmma.mma_async has no LLVM intrinsic here: it becomes inline PTX.
  if (wgmma)
    kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());

  addHostToLLVMPasses(pm, options.emitCInterface, /*gpu=*/true);

  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void hqdm::buildQuantizePipeline(OpPassManager &pm,
                                 const QuantizeOptions &options) {
  addLoadWeightsPass(pm, options.weights);
  // Named float layers out of torch-mlir's linalg.
  pm.addPass(createRaisePass());
  PlanPassOptions plan;
  plan.scheme = options.scheme;
  plan.hadamard = options.hadamard;
  plan.block = options.block;
  plan.weightSymmetric = options.weightSymmetric;
  plan.activation = options.activation;
  plan.activationSymmetric = options.activationSymmetric;
  plan.config = options.config;
  pm.addPass(createPlanPass(plan));
  pm.addPass(createInsertHadamardPass());
  // Layers reading the same value share one rotation.
  pm.addPass(createCSEPass());
  FoldRotationsPassOptions fold;
  fold.producer = options.fold;
  pm.addPass(createFoldRotationsPass(fold));

  // Calibration: the post-GELU transform needs the first stage's ranges, so
  // the first stage observes without it.
  bool firstStage = options.instrument == "ranges";
  if (options.taq && !firstStage) {
    TaqPostGeluPassOptions taq;
    taq.calibration = options.calibration;
    pm.addPass(createTaqPostGeluPass(taq));
  }
  if (options.instrument != "none") {
    InstrumentPassOptions instrument;
    instrument.stage = options.instrument;
    instrument.calibration = options.calibration;
    instrument.bins = options.bins;
    instrument.manifest = options.manifest;
    instrument.timestepArg = options.timestepArg;
    pm.addPass(createInstrumentPass(instrument));
    return;
  }
  TimeAwareScalesPassOptions scales;
  scales.calibration = options.calibration;
  scales.layers = options.timeAware;
  scales.groups = options.groups;
  scales.timestepArg = options.timestepArg;
  pm.addPass(createTimeAwareScalesPass(scales));

  QuantizeLayersPassOptions quantize;
  quantize.form = options.form;
  quantize.clipCandidates = options.clipCandidates;
  quantize.clipNorm = options.clipNorm;
  pm.addPass(createQuantizeLayersPass(quantize));
  // Drop the float weights the quantized layers replaced.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void hqdm::registerHqdmPipelines() {
  PassPipelineRegistration<QuantizeOptions>(
      "hqdm-quantize",
      "Quantize a float model: raise torch-mlir layers, plan, insert Hadamard "
      "rotations, fold them where legal, quantize weights and activations",
      buildQuantizePipeline);
  PassPipelineRegistration<LowerToCPUOptions>(
      "hqdm-lower-to-cpu",
      "Lower hqdm and linalg-on-tensors IR to the LLVM dialect for the CPU "
      "(runnable by mlir-runner, or ahead of time as a shared library)",
      buildLowerToCPUPipeline);
  // Registered by hand, not with PassPipelineRegistration, so that an
  // inconsistent set of options is an error rather than a silent choice.
  registerPassPipeline(
      "hqdm-lower-to-cuda",
      "Lower quantized hqdm IR to a host module whose quantized layers run as "
      "generated CUDA kernels (PTX or cubin embedded) through the mgpu* "
      "runtime, and the rest on the CPU",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        LowerToCUDAOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        if (!options.externalWeights.empty() && !options.wholeModel)
          return errorHandler("hqdm-lower-to-cuda: external-weights needs "
                              "whole-model=true (only a whole-model library "
                              "loads its weights from a file)");
        buildLowerToCUDAPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(LowerToCUDAOptions());
      });
}
