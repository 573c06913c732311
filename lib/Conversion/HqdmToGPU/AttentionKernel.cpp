//===- AttentionKernel.cpp - fused attention on the tensor cores -*- C++ -*-===//
//
// Builds the attention kernel of AttentionKernel.h in the gpu, nvgpu and
// nvvm dialects. As in Kernels.cpp, every loop inside a thread's work is
// unrolled at generation time, so that fragments and accumulators are SSA
// values (registers); only the loop over key tiles stays a loop.
//
// One iteration over a tile of blockN keys:
//  1. every thread converts its pairs of the K and V tiles from f32 (global)
//     to f16x2 and stores them in shared memory, zeros past the last key
//     and past D; barrier;
//  2. S = Q * K^T: the warp's Q fragments (loaded once, before the loop)
//     against ldmatrix'ed K fragments;
//  3. the scores in log2 units, -inf past the last key; each row's tile
//     maximum (registers, then the quad's shuffles); the new running
//     maximum, the rescaling factor 2^(old - new); p = 2^(s - max) by
//     ex2.approx.ftz; p rounded to f16; the thread's running sum;
//  4. O = O * factor + P * V, P's A fragments straight from S's
//     accumulators, V's B fragments by ldmatrix .trans; barrier.
// At the end the quad adds its running sums and each thread divides its O
// values by its rows' sums and stores those inside the output.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::hqdm;
using namespace mlir::hqdm::gpu_kernels;

//===----------------------------------------------------------------------===//
// Plan
//===----------------------------------------------------------------------===//

std::string hqdm::gpu_kernels::planAttention(AttentionConfig &c) {
  if (c.headDim < 1 || c.headDim > 128)
    return "the head dim " + std::to_string(c.headDim) +
           " is not in 1..128 (a warp keeps its q fragments and output "
           "accumulators in registers)";
  if (c.queries < 1 || c.keys < 1)
    return "it has no queries or no keys";
  if (c.batchHeads > 65535)
    return "batch x heads = " + std::to_string(c.batchHeads) +
           " is above the grid's 65535 rows";
  c.headDimPad = (c.headDim + 15) / 16 * 16;
  c.blockM = 4 * 16;
  // 64 keys a tile, fewer when there are fewer keys (a multiple of 16: one
  // k-step of P * V).
  c.blockN = std::min<int64_t>(64, (c.keys + 15) / 16 * 16);
  if (c.sharedBytes() > 48 * 1024)
    c.blockN = 32;
  c.scaleLog2 = static_cast<float>(c.scale * 1.4426950408889634);
  return "";
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

namespace {

/// The f32 arithmetic of the online softmax (AttentionKernel.h) on Values.
struct FloatBuilder {
  OpBuilder &b;
  Location loc;

  Value constant(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value negInf() { return constant(-std::numeric_limits<double>::infinity()); }
  Value zero() { return constant(0.0); }
  Value maximum(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  /// `x` where `c` holds (everywhere when `c` is null), else `y`.
  Value select(Value c, Value x, Value y) {
    return c ? arith::SelectOp::create(b, loc, c, x, y).getResult() : x;
  }
  /// 2^x by ex2.approx.ftz.f32 (relative error about 2^-22; results below
  /// 2^-126 flush to zero, which a softmax weight can afford).
  Value ex2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, loc, b.getF32Type(),
               b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"), ValueRange{x})
        .getResult(0);
  }
};

} // namespace

gpu::GPUFuncOp
hqdm::gpu_kernels::buildAttentionKernel(OpBuilder &builder, Location loc,
                                        const AttentionConfig &c) {
  OpBuilder::InsertionGuard guard(builder);
  MLIRContext *ctx = builder.getContext();
  OpBuilder &b = builder;
  KernelBuilder kb{builder, loc};
  FloatBuilder fb{builder, loc};
  Type f32 = b.getF32Type(), f16 = b.getF16Type();
  auto pairType = VectorType::get({2}, f16);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({c.blockN, c.sharedRow()}, f16,
                                  MemRefLayoutAttrInterface(), workgroup);
  auto flat = [&](const AttentionOperand &o) {
    return MemRefType::get({o.elements}, f32);
  };
  gpu::GPUFuncOp func = createKernel(
      b, loc, c.name, {flat(c.q), flat(c.k), flat(c.v), flat(c.out)},
      {tileType, tileType});
  // ldmatrix reads 16-byte rows (sharedRow() * 2 is a multiple of 16).
  for (unsigned i = 0; i < 2; ++i)
    func.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                     b.getI64IntegerAttr(16));
  Value q = func.getArgument(0), k = func.getArgument(1),
        v = func.getArgument(2), out = func.getArgument(3);
  Value sharedK = func.getWorkgroupAttributions()[0];
  Value sharedV = func.getWorkgroupAttributions()[1];

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = kb.rem(tid, kb.idx(32));
  Value warp = kb.div(tid, kb.idx(32));
  Value g = kb.div(lane, kb.idx(4)), t = kb.rem(lane, kb.idx(4));
  Value bh = gpu::BlockIdOp::create(b, loc, gpu::Dimension::y);
  Value rowBase = kb.add(
      kb.mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x),
             kb.idx(c.blockM)),
      kb.mul(warp, kb.idx(16)));
  Value qBase = batchOffset(kb, c.q, bh), kBase = batchOffset(kb, c.k, bh),
        vBase = batchOffset(kb, c.v, bh), oBase = batchOffset(kb, c.out, bh);
  Value zeroF = fb.zero();
  bool maskColumns = c.headDim != c.headDimPad;
  bool maskKeys = c.keys % c.blockN != 0;

  // An f32 element of an operand as f16, 0 where `valid` is false. The
  // load is predicated rather than its index selected, so that the
  // addresses of a thread's loads stay one base plus constant offsets
  // (selected indices each need a register pair, and spill at D = 72).
  auto loadHalf = [&](Value buffer, const AttentionOperand &o, Value base,
                      Value row, Value col, Value valid) {
    Value index = operandIndex(kb, o, base, row, col);
    Value x;
    if (!valid) {
      x = kb.load(buffer, {index});
    } else {
      auto ifOp = scf::IfOp::create(b, loc, TypeRange{f32}, valid,
                                    /*withElseRegion=*/true);
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      scf::YieldOp::create(b, loc, kb.load(buffer, {index}));
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, loc, zeroF);
      x = ifOp.getResult(0);
    }
    return arith::TruncFOp::create(b, loc, f16, x).getResult();
  };
  auto pack = [&](Value lo, Value hi) {
    return vector::FromElementsOp::create(b, loc, pairType,
                                          ValueRange{lo, hi})
        .getResult();
  };
  auto andValid = [&](Value x, Value y) {
    return !x ? y : !y ? x : kb.andI(x, y);
  };

  // The warp's Q fragments for every 16 columns of the head dim.
  int64_t kSteps = c.headDimPad / 16;
  SmallVector<std::array<Value, 4>> qFrag(kSteps);
  for (int64_t ks = 0; ks < kSteps; ++ks) {
    for (int64_t r = 0; r < 4; ++r) {
      Value halves[2];
      for (int64_t i = 0; i < 2; ++i) {
        Element<Value> e = aFragmentElement(kb, g, t, r, i);
        Value row = kb.add(rowBase, e.row);
        Value col = kb.add(e.col, kb.idx(16 * ks));
        Value valid = kb.ult(row, kb.idx(c.queries));
        if (maskColumns)
          valid = kb.andI(valid, kb.ult(col, kb.idx(c.headDim)));
        halves[i] = loadHalf(q, c.q, qBase, row, col, valid);
      }
      qFrag[ks][r] = pack(halves[0], halves[1]);
    }
  }

  auto mmaType = LLVM::LLVMStructType::getLiteral(
      ctx, SmallVector<Type>(4, f32));
  // acc += A * B on one m16n8k16 tile.
  auto mma = [&](ArrayRef<Value> aRegs, ArrayRef<Value> bRegs,
                 MutableArrayRef<Value> acc) {
    Value d = NVVM::MmaOp::create(
        b, loc, mmaType, aRegs, bRegs, SmallVector<Value>(acc),
        ArrayRef<int64_t>{16, 8, 16}, /*b1Op=*/std::nullopt,
        /*intOverflow=*/std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::f16,
                                      NVVM::MMATypes::f16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    for (int64_t r = 0; r < 4; ++r)
      acc[r] = LLVM::ExtractValueOp::create(b, loc, d, r);
  };
  auto ldmatrix = [&](Value tile, Element<Value> e, bool transpose) {
    Value m = nvgpu::LdMatrixOp::create(b, loc, VectorType::get({4, 2}, f16),
                                        tile, ValueRange{e.row, e.col},
                                        transpose, /*numTiles=*/4);
    std::array<Value, 4> regs;
    for (int64_t i = 0; i < 4; ++i)
      regs[i] = vector::ExtractOp::create(b, loc, m, ArrayRef<int64_t>{i});
    return regs;
  };
  auto quadReduce = [&](Value x, bool isMax) {
    for (int64_t d : {1, 2}) {
      Value other = kb.shuffleXor(x, d);
      x = isMax ? fb.maximum(x, other) : fb.add(x, other);
    }
    return x;
  };

  int64_t oTiles = c.outputTiles(), sTiles = c.scoreTiles();
  SmallVector<Value> init(oTiles * 4, zeroF);
  init.append({fb.negInf(), fb.negInf(), zeroF, zeroF}); // max, sum
  auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(c.keyTiles()),
                                 kb.idx(1), init);
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(loop.getBody());
    Value keyBase = kb.mul(loop.getInductionVar(), kb.idx(c.blockN));
    SmallVector<Value> o(loop.getRegionIterArgs().begin(),
                         loop.getRegionIterArgs().begin() + oTiles * 4);
    Value oldMax[2] = {loop.getRegionIterArgs()[oTiles * 4],
                       loop.getRegionIterArgs()[oTiles * 4 + 1]};
    Value oldSum[2] = {loop.getRegionIterArgs()[oTiles * 4 + 2],
                       loop.getRegionIterArgs()[oTiles * 4 + 3]};

    // 1. Stage the K and V tiles as f16.
    for (int64_t copy = 0; copy < c.copiesPerThread(); ++copy) {
      Element<Value> e = stagedPair(kb, c, tid, copy);
      Value key = kb.add(keyBase, e.row);
      Value keyValid = maskKeys ? kb.ult(key, kb.idx(c.keys)) : Value();
      for (auto [buffer, operand, base, tile] :
           {std::make_tuple(k, &c.k, kBase, sharedK),
            std::make_tuple(v, &c.v, vBase, sharedV)}) {
        Value halves[2];
        for (int64_t i = 0; i < 2; ++i) {
          Value col = kb.add(e.col, kb.idx(i));
          Value valid =
              maskColumns
                  ? andValid(keyValid, kb.ult(col, kb.idx(c.headDim)))
                  : keyValid;
          halves[i] = loadHalf(buffer, *operand, base, key, col, valid);
        }
        vector::StoreOp::create(b, loc, pack(halves[0], halves[1]), tile,
                                ValueRange{e.row, e.col},
                                /*nontemporal=*/false, llvm::MaybeAlign(4));
      }
    }
    gpu::BarrierOp::create(b, loc);

    // 2. S = Q * K^T.
    SmallVector<Value> s(sTiles * 4, zeroF);
    for (int64_t j = 0; j < sTiles / 2; ++j) {
      for (int64_t ks = 0; ks < kSteps; ++ks) {
        auto regs = ldmatrix(sharedK, keyMatrixRow(kb, lane, j, ks),
                             /*transpose=*/false);
        mma(qFrag[ks], {regs[0], regs[1]},
            MutableArrayRef<Value>(s).slice(2 * j * 4, 4));
        mma(qFrag[ks], {regs[2], regs[3]},
            MutableArrayRef<Value>(s).slice((2 * j + 1) * 4, 4));
      }
    }

    // 3. Online softmax, one row half (rows g and g + 8) at a time.
    Value newMax[2], factor[2];
    SmallVector<Value> p16(sTiles * 4);
    for (int64_t half = 0; half < 2; ++half) {
      Value tileMax = fb.negInf();
      for (int64_t nt = 0; nt < sTiles; ++nt) {
        for (int64_t r = 2 * half; r < 2 * half + 2; ++r) {
          Value valid; // null: every key of the tile is valid
          if (maskKeys) {
            Element<Value> e = accumulatorElement(kb, g, t, r);
            valid = kb.ult(kb.add(kb.add(keyBase, kb.idx(8 * nt)), e.col),
                           kb.idx(c.keys));
          }
          Value &score = s[nt * 4 + r];
          score = scaledScore(fb, c, score, valid);
          tileMax = fb.maximum(tileMax, score);
        }
      }
      tileMax = quadReduce(tileMax, /*isMax=*/true);
      std::tie(newMax[half], factor[half]) =
          rescale(fb, oldMax[half], tileMax);
      std::vector<Value> rounded;
      for (int64_t nt = 0; nt < sTiles; ++nt) {
        for (int64_t r = 2 * half; r < 2 * half + 2; ++r) {
          Value p = probability(fb, s[nt * 4 + r], newMax[half]);
          p16[nt * 4 + r] = arith::TruncFOp::create(b, loc, f16, p);
          rounded.push_back(
              arith::ExtFOp::create(b, loc, f32, p16[nt * 4 + r]));
        }
      }
      oldSum[half] = runningSum(fb, oldSum[half], factor[half], rounded);
    }

    // 4. O = O * factor + P * V.
    for (int64_t r = 0; r < oTiles * 4; ++r)
      o[r] = fb.mul(o[r], factor[(r % 4) / 2]);
    for (int64_t ks = 0; ks < sTiles / 2; ++ks) {
      Value pFrag[4];
      for (int64_t r = 0; r < 4; ++r) {
        ProbabilitySource src = probabilitySource(r);
        int64_t base = (2 * ks + src.nOffset) * 4 + src.first;
        pFrag[r] = pack(p16[base], p16[base + 1]);
      }
      for (int64_t j = 0; j < oTiles / 2; ++j) {
        auto regs = ldmatrix(sharedV, valueMatrixRow(kb, lane, ks, j),
                             /*transpose=*/true);
        mma(pFrag, {regs[0], regs[1]},
            MutableArrayRef<Value>(o).slice(2 * j * 4, 4));
        mma(pFrag, {regs[2], regs[3]},
            MutableArrayRef<Value>(o).slice((2 * j + 1) * 4, 4));
      }
    }
    // Everyone is done with the tiles before they are refilled.
    gpu::BarrierOp::create(b, loc);
    SmallVector<Value> yield(o);
    yield.append({newMax[0], newMax[1], oldSum[0], oldSum[1]});
    scf::YieldOp::create(b, loc, yield);
  }

  // Normalize by the rows' sums and store what lies inside the output.
  Value sum[2];
  for (int64_t half = 0; half < 2; ++half)
    sum[half] = quadReduce(loop.getResult(oTiles * 4 + 2 + half),
                           /*isMax=*/false);
  for (int64_t nt = 0; nt < oTiles; ++nt) {
    for (int64_t r = 0; r < 4; ++r) {
      Element<Value> e = accumulatorElement(kb, g, t, r);
      Value row = kb.add(rowBase, e.row);
      Value col = kb.add(e.col, kb.idx(8 * nt));
      Value valid = kb.ult(row, kb.idx(c.queries));
      if (maskColumns)
        valid = kb.andI(valid, kb.ult(col, kb.idx(c.headDim)));
      Value value = arith::DivFOp::create(b, loc, loop.getResult(nt * 4 + r),
                                          sum[r / 2]);
      kb.when(valid, [&] {
        kb.store(value, out, {operandIndex(kb, c.out, oBase, row, col)});
      });
    }
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}
