//===- Passes.h - hqdm conversion passes ------------------------*- C++ -*-===//
//
// This file declares the conversion passes out of the hqdm dialect and their
// registration.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_CONVERSION_PASSES_H
#define HQDM_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
class TypeConverter;
class ConversionTarget;

namespace hqdm {

#define GEN_PASS_DECL
#include "hqdm/Conversion/Passes.h.inc"

/// Adds the patterns that lower every hqdm op to linalg/tensor/arith/math
/// (and scf for the loops of hqdm.observe and hqdm.step_index).
void populateHqdmToLinalgPatterns(RewritePatternSet &patterns);

/// Makes hqdm.gpu_launch bufferizable (one-shot bufferization).
void registerGpuLaunchBufferization(DialectRegistry &registry);

#define GEN_PASS_REGISTRATION
#include "hqdm/Conversion/Passes.h.inc"

} // namespace hqdm
} // namespace mlir

#endif // HQDM_CONVERSION_PASSES_H
