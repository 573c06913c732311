//===- WgmmaKernel.cpp - the wgmma GEMM for sm_90a --------------*- C++ -*-===//
//
// The GEMM of a quantized linear layer on Hopper's warpgroup MMA. One
// warpgroup (the block's 128 threads) computes a tileM x tileN block of the
// output with `wgmma.mma_async m64nNk32 .s32.s8.s8` (N = tileN): per 32
// elements of K, one instruction per 64 rows of the tile and per weight
// plane. Both operands are K-major bytes in shared memory (activations
// [M, K], weights [N, K]) in the layout WgmmaTileLayout describes, and reach
// wgmma through matrix descriptors; a two-stage cp.async pipeline fills
// them.
//
// The accumulators of m64nNk32 (PTX ISA, the wgmma register fragment of D):
// warp w of the warpgroup holds rows 16w to 16w + 15; with g = lane / 4 and
// t = lane % 4, register 4j + r of a thread holds
// D[16w + g + 8 (r / 2)][8j + 2t + r % 2].
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

using namespace mlir;
using namespace mlir::hqdm::gpu_kernels;

void hqdm::gpu_kernels::useWgmma(LayerKernelConfig &c) {
  c.mma = MmaKind::Wgmma;
  c.activationBits = 8;
  c.weightBits = 8;
}

WgmmaTileLayout hqdm::gpu_kernels::wgmmaLayoutA(const LayerKernelConfig &c) {
  return {c.tileM, c.tileK() / 16};
}

WgmmaTileLayout hqdm::gpu_kernels::wgmmaLayoutB(const LayerKernelConfig &c) {
  return {c.tileN, c.tileK() / 16};
}

uint64_t hqdm::gpu_kernels::wgmmaDescriptor(uint64_t address,
                                            int64_t leadingByteOffset,
                                            int64_t strideByteOffset) {
  auto field = [](uint64_t bytes) { return (bytes & 0x3FFFF) >> 4; };
  return field(address) | field(leadingByteOffset) << 16 |
         field(strideByteOffset) << 32;
}

gpu::GPUFuncOp
hqdm::gpu_kernels::buildWgmmaGemmKernel(OpBuilder &builder, Location loc,
                                        const LayerKernelConfig &c) {
  OpBuilder::InsertionGuard guard(builder);
  MLIRContext *ctx = builder.getContext();
  Type i32Type = builder.getI32Type(), i64Type = builder.getI64Type();
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);

  // Shared memory, in 32-bit words: [stage, word] for A, and for the weight
  // planes one after the other.
  WgmmaTileLayout layoutA = wgmmaLayoutA(c), layoutB = wgmmaLayoutB(c);
  int64_t stageA = layoutA.bytes(), stageB = c.weightPlanes * layoutB.bytes();
  auto sharedA = MemRefType::get({2, stageA / 4}, i32Type,
                                 MemRefLayoutAttrInterface(), workgroup);
  auto sharedB = MemRefType::get({2, stageB / 4}, i32Type,
                                 MemRefLayoutAttrInterface(), workgroup);
  KernelBuilder kb{builder, loc};
  OpBuilder &b = builder;
  // cp.async writes 16 aligned bytes; descriptors address 16-byte units.
  GemmKernelStart start =
      beginGemmKernel(kb, c, sharedA, sharedB, /*sharedAlign=*/128);
  gpu::GPUFuncOp func = start.func;
  Value a = start.a, sx = start.sx, w = start.w, sa = start.sa, sb = start.sb;
  Value tid = start.tid, blockM = start.blockM, blockN = start.blockN;
  Value warp = start.warp, g = start.g, t = start.t;

  // Copies the K tile starting at word `word0` of rows row0.. of `src` (with
  // leading indices `lead`) into `dst` at word `dstWord0` of `stage`: 16
  // bytes a cp.async, consecutive threads on consecutive chunks of a row, so
  // a warp writes 8 rows x 4 chunks, whose 16-byte slots fall in distinct
  // banks. `layout.offset` is affine in the chunk and the row.
  auto copyTile = [&](Value src, ArrayRef<Value> lead, Value row0, Value word0,
                      Value dst, Value stage, int64_t dstWord0,
                      const WgmmaTileLayout &layout) {
    int64_t origin = layout.offset(0, 0);
    int64_t chunkWords = (layout.offset(1, 0) - origin) / 4;
    int64_t rowWords = (layout.offset(0, 1) - origin) / 4;
    for (int64_t first = 0; first < layout.rows * layout.chunks;
         first += kThreads) {
      Value id = kb.add(tid, kb.idx(first));
      Value chunk = kb.rem(id, kb.idx(layout.chunks));
      Value row = kb.div(id, kb.idx(layout.chunks));
      SmallVector<Value> srcAt(lead);
      srcAt.push_back(kb.add(row0, row));
      srcAt.push_back(kb.add(word0, kb.mul(chunk, kb.idx(4))));
      Value dstWord = kb.add(kb.idx(dstWord0 + origin / 4),
                             kb.add(kb.mul(chunk, kb.idx(chunkWords)),
                                    kb.mul(row, kb.idx(rowWords))));
      nvgpu::DeviceAsyncCopyOp::create(
          b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), dst,
          ValueRange{stage, dstWord}, src, srcAt, b.getIndexAttr(4),
          /*srcElements=*/Value(), /*bypassL1=*/b.getUnitAttr());
    }
  };
  int64_t tileWords = c.tileK() / 4;
  auto loadTile = [&](Value kt, Value stage) {
    Value word0 = kb.mul(kt, kb.idx(tileWords));
    copyTile(a, {}, blockM, word0, sa, stage, 0, layoutA);
    for (unsigned p = 0; p < c.weightPlanes; ++p)
      copyTile(w, {kb.idx(p)}, blockN, word0, sb, stage,
               p * layoutB.bytes() / 4, layoutB);
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  };

  // Shared-window byte addresses of the buffers, for the descriptors.
  auto address = [&](Value buffer) -> Value {
    Value pointer =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    return arith::IndexCastOp::create(b, loc, i64Type, pointer);
  };
  Value baseA = address(sa), baseB = address(sb);
  auto i64 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, v, 64);
  };
  // The descriptor of the operand whose first core matrix is at `at` +
  // `offset`; only the address field varies at run time.
  auto descriptor = [&](Value at, int64_t offset,
                        const WgmmaTileLayout &layout) -> Value {
    Value addr = arith::AddIOp::create(b, loc, at, i64(offset));
    Value field = arith::ShRUIOp::create(
        b, loc, arith::AndIOp::create(b, loc, addr, i64(0x3FFFF)), i64(4));
    uint64_t fixed = wgmmaDescriptor(0, layout.leadingByteOffset(),
                                     layout.strideByteOffset());
    return arith::OrIOp::create(b, loc, field,
                                i64(static_cast<int64_t>(fixed)));
  };

  int64_t kTiles = c.kPad / c.tileK();
  int64_t mBlocks = c.tileM / 64;
  auto accType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(c.tileN / 2, i32Type));
  auto accIndex = [&](unsigned p, int64_t mb) { return p * mBlocks + mb; };
  SmallVector<Value> zeros(c.weightPlanes * mBlocks,
                           LLVM::ZeroOp::create(b, loc, accType));

  loadTile(kb.idx(0), kb.idx(0));
  auto loop =
      scf::ForOp::create(b, loc, kb.idx(0), kb.idx(kTiles), kb.idx(1), zeros);
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value stage = kb.rem(kt, kb.idx(2));
    // Prefetch the next tile into the other stage, whose readers finished
    // in the previous iteration (the last iteration reloads the last tile
    // into a stage nobody reads any more).
    Value next = arith::MinUIOp::create(b, loc, kb.add(kt, kb.idx(1)),
                                        kb.idx(kTiles - 1));
    loadTile(next, kb.sub(kb.idx(1), stage));
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 1);
    // cp.async wrote through the generic proxy; wgmma reads through the
    // async proxy.
    NVVM::FenceProxyOp::create(
        b, loc, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b, loc);

    SmallVector<Value> acc(loop.getRegionIterArgs().begin(),
                           loop.getRegionIterArgs().end());
    Value stage64 = arith::IndexCastOp::create(b, loc, i64Type, stage);
    Value atA = arith::AddIOp::create(
        b, loc, baseA, arith::MulIOp::create(b, loc, stage64, i64(stageA)));
    Value atB = arith::AddIOp::create(
        b, loc, baseB, arith::MulIOp::create(b, loc, stage64, i64(stageB)));
    auto shape = NVVM::MMAShapeAttr::get(ctx, 64, c.tileN, 32);
    NVVM::WgmmaFenceAlignedOp::create(b, loc);
    for (int64_t ks = 0; ks < c.tileK() / 32; ++ks) {
      // 32 elements of K: core-matrix columns 2 ks and 2 ks + 1.
      SmallVector<Value> descB;
      for (unsigned p = 0; p < c.weightPlanes; ++p)
        descB.push_back(descriptor(
            atB, p * layoutB.bytes() + layoutB.offset(2 * ks, 0), layoutB));
      for (int64_t mb = 0; mb < mBlocks; ++mb) {
        Value descA = descriptor(atA, layoutA.offset(2 * ks, 64 * mb), layoutA);
        for (unsigned p = 0; p < c.weightPlanes; ++p)
          acc[accIndex(p, mb)] = NVVM::WgmmaMmaAsyncOp::create(
              b, loc, accType, acc[accIndex(p, mb)], descA, descB[p], shape,
              NVVM::WGMMATypes::s8, NVVM::WGMMATypes::s8, NVVM::WGMMATypes::s32,
              NVVM::WGMMAScaleOut::one, NVVM::WGMMAScaleIn::one,
              NVVM::WGMMAScaleIn::one, NVVM::MMALayout::row,
              NVVM::MMALayout::col,
              /*satfinite=*/NVVM::MMAIntOverflowAttr());
      }
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
    NVVM::WgmmaWaitGroupSyncOp::create(b, loc, 0);
    // Every warp is done with this stage before it is refilled.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }

  // Epilogue: combine digit planes, dequantize, store what is inside the
  // output, by the fragment layout of D.
  SmallVector<Value> acc(loop.getResults().begin(), loop.getResults().end());
  auto element = [&](unsigned p, int64_t mb, int64_t r) -> Value {
    return LLVM::ExtractValueOp::create(b, loc, acc[accIndex(p, mb)],
                                        ArrayRef<int64_t>{r});
  };
  for (int64_t mb = 0; mb < mBlocks; ++mb) {
    for (int64_t half = 0; half < 2; ++half) {
      Value row = kb.add(kb.add(blockM, kb.mul(warp, kb.idx(16))),
                         kb.add(kb.idx(64 * mb + 8 * half), g));
      Value rowValid = kb.ult(row, kb.idx(c.m));
      Value safeRow = kb.select(rowValid, row, kb.idx(0));
      Value rowScale =
          c.dynamicScale ? kb.load(sx, {safeRow}) : kb.load(sx, {});
      for (int64_t j = 0; j < c.tileN / 8; ++j) {
        for (int64_t e = 0; e < 2; ++e) {
          int64_t r = 4 * j + 2 * half + e;
          Value col =
              kb.add(kb.add(blockN, kb.idx(8 * j + e)), kb.mul(t, kb.idx(2)));
          Value total = element(0, mb, r);
          if (c.weightPlanes == 2)
            total = kb.add(total, kb.shl(element(1, mb, r), kb.i32(7)));
          storeDequantized(kb, c, func, row, col, rowValid, rowScale, total);
        }
      }
    }
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}
