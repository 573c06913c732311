//===- Fusion.h - ops fused into a layer's generated kernels ----*- C++ -*-===//
//
// convert-hqdm-to-gpu fuses the ops around a quantized layer into the kernels
// generated for it, so that they cost no launch and no round trip through
// device memory:
// - into the prologue, the producers of a linear layer's float input: a
//   LayerNorm (whose row the prologue holds in registers), then any chain of
//   hqdm.modulate, hqdm.silu and hqdm.gelu;
// - into the GEMM epilogue, after the bias and a fused GELU, a chain of
//   elementwise linalg.generic consumers of the layer's result (DiT's gate
//   multiply and residual add, a UNet's time-embedding add and skip add).
//
// Fused code computes each element with the f32 operations of the CPU
// lowering, in its order; only the LayerNorm's sums run in a different order
// (lanes, then a butterfly across the warp).
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_CONVERSION_HQDMTOGPU_FUSION_H
#define HQDM_LIB_CONVERSION_HQDMTOGPU_FUSION_H

#include "Kernels.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <memory>

namespace mlir::hqdm::gpu_kernels {

/// Tensors that fused code reads. Each is read through its static view ops
/// (tensor.extract_slice, expand_shape, collapse_shape) from a root tensor,
/// which the kernel takes as an operand: a slice of the adaLN output costs no
/// copy, and every operand has the identity layout a kernel argument needs.
class FusedOperands {
public:
  /// Registers `tensor` (static shape); returns the handle `load` takes.
  unsigned add(Value tensor);
  /// The kernel operands, in order.
  ArrayRef<Value> roots() const { return rootValues; }
  SmallVector<Type> types() const;
  /// The element of registered tensor `handle` at `indices` (in the tensor's
  /// own shape), read from the kernel's operand buffers `operands`.
  Value load(OpBuilder &b, Location loc, unsigned handle, ValueRange indices,
             ValueRange operands) const;

private:
  struct Entry {
    unsigned root;
    SmallVector<Operation *> views; ///< From the tensor back to its root.
  };
  SmallVector<Value> rootValues;
  SmallVector<Entry> entries;
};

/// The producers of a linear layer's float input fused into its prologue.
struct PrologueFusion {
  /// The tensor the prologue reads instead of the float input.
  Value kernelInput;
  std::optional<float> norm;
  FusedElementwise ops;
  /// Shared with `ops.apply`, which reads through it.
  std::shared_ptr<FusedOperands> operands;
  bool empty() const { return !norm && !ops; }
};

/// Walks up from `floatInput` ([..., K] f32) through ops whose results only
/// the quantization path reads: hqdm.modulate, hqdm.silu, hqdm.gelu (the
/// last two when `allowMath`, i.e. libdevice is linked), and at most one
/// hqdm.layer_norm at the top when `rowInRegisters`.
PrologueFusion matchPrologueFusion(Value floatInput, bool allowMath,
                                   bool rowInRegisters);

/// The elementwise consumers fused into a GEMM's epilogue.
struct EpilogueFusion {
  SmallVector<linalg::GenericOp> chain; ///< In order; the last one's result
                                        ///< is what the launch produces.
  FusedElementwise ops;
  /// Shared with `ops.apply`, which reads through it.
  std::shared_ptr<FusedOperands> operands;
  /// Why the chain stopped where it did, when a consumer was refused.
  std::string whyStopped;
};

/// Follows `result` (the layer's f32 result, static shape; NCHW for a
/// convolution) through linalg.generic ops that are elementwise in it: all
/// parallel, identity maps for the chained value and the result, other
/// inputs indexed by dimensions or constants, a payload of scalar arith ops
/// (and math ops when `allowMath`), the chained value used by nothing else.
EpilogueFusion matchEpilogueFusion(Value result, bool conv, bool allowMath);

} // namespace mlir::hqdm::gpu_kernels

#endif // HQDM_LIB_CONVERSION_HQDMTOGPU_FUSION_H
