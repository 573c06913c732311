//===- KernelBuilder.h - helpers shared by the kernels ----------*- C++ -*-===//
//
// Arithmetic helpers and the pieces that the mma.sync GEMM (Kernels.cpp) and
// the wgmma GEMM (WgmmaKernel.cpp) share: kernel creation, the GEMM's
// argument list and its dequantizing store.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_CONVERSION_HQDMTOGPU_KERNELBUILDER_H
#define HQDM_LIB_CONVERSION_HQDMTOGPU_KERNELBUILDER_H

#include "Kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::hqdm::gpu_kernels {

/// Arithmetic helpers on an OpBuilder at one location.
struct KernelBuilder {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i32(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, static_cast<int32_t>(v), 32);
  }
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value xorI(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  Value shl(Value x, Value y) { return arith::ShLIOp::create(b, loc, x, y); }
  Value shr(Value x, Value y) { return arith::ShRUIOp::create(b, loc, x, y); }
  Value ult(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  Value eq(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
  }
  Value ne(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value toI32(Value index) {
    return arith::IndexCastOp::create(b, loc, b.getI32Type(), index);
  }
  Value load(Value memref, ValueRange indices) {
    return memref::LoadOp::create(b, loc, memref, indices);
  }
  void store(Value v, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, loc, v, memref, indices);
  }
  Value shuffleXor(Value v, int64_t offset) {
    return gpu::ShuffleOp::create(b, loc, v, i32(offset), i32(32),
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  /// Runs `body` only where `cond` holds.
  void when(Value cond, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    body();
  }
};

/// sqrt(x) of an f32, rounded to nearest like the CPU's: sqrt.rn.f32.
/// (math.sqrt would become libdevice's __nv_sqrtf, which without
/// __nvvm_reflect flags is sqrt.approx.)
Value correctlyRoundedSqrt(OpBuilder &b, Location loc, Value x);

/// Creates `gpu.func @name(args) kernel` at the builder's insertion point and
/// leaves the builder at the start of its body.
gpu::GPUFuncOp createKernel(OpBuilder &b, Location loc, StringRef name,
                            TypeRange args, TypeRange workgroup = {});

/// The GEMM's arguments: packed input, input scale, packed weight, weight
/// scale, [bias], output.
SmallVector<Type> gemmArgumentTypes(MLIRContext *ctx,
                                    const LayerKernelConfig &c);

/// What both GEMM kernels start from: the kernel with its two shared-memory
/// stage buffers (aligned to `sharedAlign` bytes), its operands, and the
/// thread's position: block origin in M and N, warp, and its lane's group
/// g = lane / 4 and index t = lane % 4 in the MMA fragments.
struct GemmKernelStart {
  gpu::GPUFuncOp func;
  Value a, sx, w;   ///< Packed input, input scale, packed weight.
  Value sa, sb;     ///< Shared stages of A and B.
  Value tid, blockM, blockN, warp, g, t;
};
GemmKernelStart beginGemmKernel(KernelBuilder &kb, const LayerKernelConfig &c,
                                MemRefType sharedA, MemRefType sharedB,
                                int64_t sharedAlign);

/// The epilogue of one output element of the GEMM `gemm`: where `rowValid`
/// and col < N, y[row, col] = ((f32(total) * rowScale) * sw[col]) *
/// multiplier + bias[col], in that order, rounded to the output type.
void storeDequantized(KernelBuilder &kb, const LayerKernelConfig &c,
                      gpu::GPUFuncOp gemm, Value row, Value col, Value rowValid,
                      Value rowScale, Value total);

} // namespace mlir::hqdm::gpu_kernels

#endif // HQDM_LIB_CONVERSION_HQDMTOGPU_KERNELBUILDER_H
