//===- Kernels.cpp - generated GPU kernels for quantized layers -*- C++ -*-===//
//
// Builds the prologue and GEMM kernels of one quantized linear or convolution
// layer in the gpu, nvgpu and nvvm dialects. Every loop over tiles inside a thread's work
// is unrolled here, at generation time, so that fragments and accumulators
// are plain SSA values (registers); only the loops over K stay loops.
//
// Fragment layouts are those of PTX's mma.sync for 8-bit and 4-bit integer
// operands (row-major A, column-major B): with g = lane / 4 and t = lane % 4,
// a k-step reads, of the 8 32-bit words that hold 32 bytes of a row, word t
// and word 4 + t of rows g and g + 8 of A, and of row (column of B) g.
// m16n8k64 s4 and m16n8k32 s8 agree on this word pattern, so one loader
// serves both; packed 4-bit operands on the 8-bit path are unpacked in
// registers (see unpackNibbles), which the weight packing accounts for.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "../Gelu.h"
#include "hqdm/Support/Hadamard.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::hqdm;
using namespace mlir::hqdm::gpu_kernels;

//===----------------------------------------------------------------------===//
// Configuration
//===----------------------------------------------------------------------===//

static int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

int64_t LayerKernelConfig::sharedBytes() const {
  if (mma == MmaKind::Wgmma)
    return 2 * (tileM + weightPlanes * tileN) * tileK();
  // Two stages; each row is padded by 16 bytes so that the 8 rows a
  // fragment load touches fall in distinct banks.
  int64_t aRow = tileK() * activationBits / 8 + 16;
  int64_t bRow = tileK() * weightBits / 8 + 16;
  return 2 * (tileM * aRow + weightPlanes * tileN * bRow);
}

int64_t LayerKernelConfig::prologueBlocks() const {
  if (conv)
    return (conv->pixels() + kThreads - 1) / kThreads;
  return mPad / (kThreads / 32);
}

bool LayerKernelConfig::prologueKeepsRow() const {
  RotationPlan rotation;
  if (conv || !planRotation(hadamardBlock, rotation).empty())
    return false;
  int64_t segment = rotation.segment();
  return (kPad + segment - 1) / segment * segment / 32 <= kMaxValuesPerLane;
}

MemRefType LayerKernelConfig::inputType(MLIRContext *ctx) const {
  if (conv)
    return MemRefType::get(
        {conv->batch, conv->channels, conv->height, conv->width},
        Float32Type::get(ctx));
  return MemRefType::get({m, k}, Float32Type::get(ctx));
}
MemRefType LayerKernelConfig::givenScaleType(MLIRContext *ctx) const {
  return MemRefType::get({}, Float32Type::get(ctx));
}
MemRefType LayerKernelConfig::tokenScaleType(MLIRContext *ctx) const {
  return MemRefType::get({mPad}, Float32Type::get(ctx));
}
MemRefType LayerKernelConfig::packedInputType(MLIRContext *ctx) const {
  if (conv)
    return MemRefType::get(
        {conv->pixels(), conv->channelsPad() * activationBits / 32},
        IntegerType::get(ctx, 32));
  return MemRefType::get({mPad, activationWords()}, IntegerType::get(ctx, 32));
}
MemRefType LayerKernelConfig::partialMaxType(MLIRContext *ctx) const {
  return MemRefType::get({partialMaxima()}, Float32Type::get(ctx));
}
MemRefType LayerKernelConfig::packedWeightType(MLIRContext *ctx) const {
  return MemRefType::get({weightPlanes, nPad, weightWords()},
                         IntegerType::get(ctx, 32));
}
MemRefType LayerKernelConfig::weightScaleType(MLIRContext *ctx) const {
  if (perChannelWeightScale)
    return MemRefType::get({n}, Float32Type::get(ctx));
  return MemRefType::get({}, Float32Type::get(ctx));
}
MemRefType LayerKernelConfig::biasType(MLIRContext *ctx) const {
  return MemRefType::get({n}, Float32Type::get(ctx));
}
MemRefType LayerKernelConfig::outputMemRefType(MLIRContext *ctx) const {
  if (conv)
    return MemRefType::get({conv->batch, n, conv->outH(), conv->outW()},
                           outputType);
  return MemRefType::get({m, n}, outputType);
}

std::string hqdm::gpu_kernels::planRotation(int64_t block,
                                            RotationPlan &plan) {
  plan = RotationPlan();
  if (block == 1)
    return "";
  std::string prefix = "the online Hadamard block " + std::to_string(block);
  llvm::Expected<HadamardConstruction> construction =
      getHadamardConstruction(block);
  if (!construction)
    return prefix + " has no construction (" +
           llvm::toString(construction.takeError()) + ")";
  int64_t powerOfTwo = construction->powerOfTwo();
  if (construction->baseOrder > 1 && powerOfTwo < 32)
    return prefix + " = " + std::to_string(construction->baseOrder) + " x " +
           std::to_string(powerOfTwo) +
           " has a power-of-two factor below 32 (the prologue needs each "
           "row of the base-order product within one lane)";
  if (block > 32 * kMaxValuesPerLane)
    return prefix + " is above " + std::to_string(32 * kMaxValuesPerLane) +
           " (a lane holds " + std::to_string(kMaxValuesPerLane) +
           " values of a block at most)";
  plan.block = block;
  plan.baseOrder = construction->baseOrder;
  plan.valuesPerLane = std::max<int64_t>(block, 32) / 32;
  for (int64_t d = powerOfTwo / 2; d >= 1; d /= 2)
    plan.distances.push_back(d);
  plan.normalization = static_cast<float>(1.0 / std::sqrt(double(block)));
  return "";
}

std::string hqdm::gpu_kernels::planLayer(LayerKernelConfig &c,
                                         int64_t smCount) {
  RotationPlan rotation;
  if (std::string why = planRotation(c.hadamardBlock, rotation); !why.empty())
    return why;
  if (c.k % c.hadamardBlock != 0)
    return "the online Hadamard block " + std::to_string(c.hadamardBlock) +
           " does not divide K = " + std::to_string(c.k);
  if (c.conv && c.hadamardBlock > 32)
    return "the online Hadamard block " + std::to_string(c.hadamardBlock) +
           " is above 32 (the conv prologue rotates 32-channel chunks in "
           "registers)";
  if (c.conv) {
    c.m = c.conv->batch * c.conv->outH() * c.conv->outW();
    c.k = c.conv->taps() * c.conv->channelsPad();
  }
  // Candidate tiles, largest first; keep the first that fills the GPU (one
  // block per SM at least) and fits the shared memory and register budget.
  const int64_t tiles[][2] = {{128, 128}, {128, 64}, {64, 128}, {64, 64}};
  bool chosen = false;
  for (auto [tm, tn] : tiles) {
    c.tileM = tm;
    c.tileN = tn;
    if (c.sharedBytes() > 48 * 1024 || c.accumulators() > 128)
      continue;
    // A convolution's F is often a multiple of 64 but not of 128 (320 in
    // the LDM UNet): no tile may pad M or N beyond what 64 would.
    if (c.conv && (roundUp(c.m, tm) > roundUp(c.m, 64) ||
                   roundUp(c.n, tn) > roundUp(c.n, 64)))
      continue;
    int64_t blocks = ((c.m + tm - 1) / tm) * ((c.n + tn - 1) / tn);
    chosen = true;
    if (blocks >= smCount)
      break;
  }
  if (!chosen)
    return "no tile fits the shared memory and register budget";
  // Keep the smallest legal tile if none filled the GPU.
  if (c.sharedBytes() > 48 * 1024 || c.accumulators() > 128) {
    c.tileM = 64;
    c.tileN = 64;
  }
  c.mPad = roundUp(c.m, c.tileM);
  c.nPad = roundUp(c.n, c.tileN);
  c.kPad = roundUp(c.k, c.tileK());
  // A row too long for the registers is rotated a block at a time, in a
  // loop, where ptxas spills blocks of more than half the register budget.
  if (roundUp(c.kPad, rotation.segment()) / 32 > kMaxValuesPerLane &&
      rotation.valuesPerLane > kMaxValuesPerLane / 2)
    return "the online Hadamard block " + std::to_string(c.hadamardBlock) +
           " is above " + std::to_string(16 * kMaxValuesPerLane) +
           " and K = " + std::to_string(c.k) + " is above " +
           std::to_string(32 * kMaxValuesPerLane) +
           " (a lane holds such a block only with its whole row)";
  return "";
}

//===----------------------------------------------------------------------===//
// Weight packing
//===----------------------------------------------------------------------===//

/// The element of a 32-element chunk that an 8-bit fragment slot holds when
/// the other operand is 4-bit and unpacked in registers: unpacking word t
/// gives its even nibbles in slots 4t..4t+3 and its odd ones in
/// 16+4t..16+4t+3.
static int64_t slotOfUnpackedElement(int64_t e) {
  int64_t t = e / 8, j = (e % 8) / 2;
  return (e % 2 == 0) ? 4 * t + j : 16 + 4 * t + j;
}

std::vector<int32_t>
hqdm::gpu_kernels::packWeights(const LayerKernelConfig &c,
                               const std::vector<int64_t> &w) {
  int64_t words = c.weightWords();
  std::vector<int32_t> packed(c.weightPlanes * c.nPad * words, 0);
  auto wordAt = [&](int64_t plane, int64_t row, int64_t word) -> uint32_t & {
    return reinterpret_cast<uint32_t &>(
        packed[(plane * c.nPad + row) * words + word]);
  };
  for (int64_t row = 0; row < c.n; ++row) {
    for (int64_t e = 0; e < c.k; ++e) {
      int64_t v = w[row * c.k + e];
      int64_t chunk = e / 32, inChunk = e % 32;
      if (c.weightBits == 4) {
        // 8 nibbles a word. On the 4-bit path, and on the 8-bit path against
        // unpacked 4-bit activations, in element order; against 8-bit
        // activations, in the order unpacking turns into element order.
        int64_t position = inChunk; // nibble index within the chunk
        if (c.mma == MmaKind::Int8 && c.activationBits == 8) {
          // Word t: nibble 2j = element 4t + j, nibble 2j+1 = 16 + 4t + j.
          int64_t half = inChunk / 16, r = inChunk % 16;
          position = (r / 4) * 8 + (r % 4) * 2 + half;
        }
        uint32_t nibble = static_cast<uint32_t>(v) & 0xF;
        wordAt(0, row, chunk * 4 + position / 8) |= nibble
                                                     << (4 * (position % 8));
        continue;
      }
      // 8-bit digits: w = lo + 128 * hi (one plane when |w| <= 127).
      int64_t hi = 0, lo = v;
      if (c.weightPlanes == 2) {
        // Nearest digit, kept in int8: |w| <= 127 * 128 + 64 leaves
        // |lo| <= 64 (w = 16320 is 127 * 128 + 64, not 128 * 128 - 64).
        hi = std::clamp<int64_t>(std::llround(static_cast<double>(v) / 128),
                                 -128, 127);
        lo = v - 128 * hi;
      }
      // Byte position within the chunk's 32 bytes.
      int64_t position = inChunk;
      if (c.activationBits == 4)
        position = slotOfUnpackedElement(inChunk);
      for (unsigned plane = 0; plane < c.weightPlanes; ++plane) {
        uint32_t byte = static_cast<uint32_t>(plane == 0 ? lo : hi) & 0xFF;
        wordAt(plane, row, chunk * 8 + position / 4) |= byte
                                                        << (8 * (position % 4));
      }
    }
  }
  return packed;
}

std::vector<int64_t>
hqdm::gpu_kernels::convWeightsToGemm(const LayerKernelConfig &c,
                                     const std::vector<int64_t> &w) {
  const ConvGeometry &g = *c.conv;
  int64_t channelsPad = g.channelsPad();
  std::vector<int64_t> rows(c.n * g.taps() * channelsPad, 0);
  for (int64_t f = 0; f < c.n; ++f)
    for (int64_t ch = 0; ch < g.channels; ++ch)
      for (int64_t tap = 0; tap < g.taps(); ++tap)
        rows[(f * g.taps() + tap) * channelsPad + ch] =
            w[(f * g.channels + ch) * g.taps() + tap];
  return rows;
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

gpu::GPUFuncOp hqdm::gpu_kernels::createKernel(OpBuilder &b, Location loc,
                                               StringRef name, TypeRange args,
                                               TypeRange workgroup) {
  auto func = gpu::GPUFuncOp::create(b, loc, name,
                                     b.getFunctionType(args, {}), workgroup);
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(kThreads), 1, 1}));
  b.setInsertionPointToStart(&func.getBody().front());
  return func;
}

SmallVector<Type>
hqdm::gpu_kernels::gemmArgumentTypes(MLIRContext *ctx,
                                     const LayerKernelConfig &c) {
  SmallVector<Type> args = {c.packedInputType(ctx),
                            c.perTokenScale() ? Type(c.tokenScaleType(ctx))
                                              : Type(c.givenScaleType(ctx)),
                            c.packedWeightType(ctx), c.weightScaleType(ctx)};
  if (c.hasBias)
    args.push_back(c.biasType(ctx));
  llvm::append_range(args, c.epilogueOps.operands);
  args.push_back(c.outputMemRefType(ctx));
  return args;
}

Value hqdm::gpu_kernels::correctlyRoundedSqrt(OpBuilder &b, Location loc,
                                              Value x) {
  // gpu-to-nvvm turns llvm.intr.sqrt into a libdevice call too, so name the
  // NVPTX intrinsic itself.
  return LLVM::CallIntrinsicOp::create(b, loc, b.getF32Type(),
                                       b.getStringAttr("llvm.nvvm.sqrt.rn.f"),
                                       ValueRange{x})
      .getResult(0);
}

GemmKernelStart hqdm::gpu_kernels::beginGemmKernel(KernelBuilder &kb,
                                                   const LayerKernelConfig &c,
                                                   MemRefType sharedA,
                                                   MemRefType sharedB,
                                                   int64_t sharedAlign) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  GemmKernelStart s;
  s.func = createKernel(b, loc, c.name + "_gemm",
                        gemmArgumentTypes(b.getContext(), c),
                        {sharedA, sharedB});
  for (unsigned i = 0; i < 2; ++i)
    s.func.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                       b.getI64IntegerAttr(sharedAlign));
  s.a = s.func.getArgument(0);
  s.sx = s.func.getArgument(1);
  s.w = s.func.getArgument(2);
  s.sa = s.func.getWorkgroupAttributions()[0];
  s.sb = s.func.getWorkgroupAttributions()[1];
  s.tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  s.blockN = kb.mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x),
                    kb.idx(c.tileN));
  s.blockM = kb.mul(gpu::BlockIdOp::create(b, loc, gpu::Dimension::y),
                    kb.idx(c.tileM));
  Value lane = kb.rem(s.tid, kb.idx(32));
  s.warp = kb.div(s.tid, kb.idx(32));
  s.g = kb.div(lane, kb.idx(4));
  s.t = kb.rem(lane, kb.idx(4));
  return s;
}

void hqdm::gpu_kernels::storeDequantized(KernelBuilder &kb,
                                         const LayerKernelConfig &c,
                                         gpu::GPUFuncOp gemm, Value row,
                                         Value col, Value rowValid,
                                         Value rowScale, Value total) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  Value sw = gemm.getArgument(3);
  Value bias = c.hasBias ? gemm.getArgument(4) : Value();
  Value y = gemm.getArgument(gemm.getNumArguments() - 1);
  Value valid =
      arith::AndIOp::create(b, loc, rowValid, kb.ult(col, kb.idx(c.n)));
  kb.when(valid, [&] {
    Type f32Type = b.getF32Type();
    Value v = arith::SIToFPOp::create(b, loc, f32Type, total);
    v = arith::MulFOp::create(b, loc, v, rowScale);
    Value ws = c.perChannelWeightScale ? kb.load(sw, {col}) : kb.load(sw, {});
    v = arith::MulFOp::create(b, loc, v, ws);
    if (c.multiplier != 1.0f)
      v = arith::MulFOp::create(b, loc, v, kb.f32(c.multiplier));
    if (bias)
      v = arith::AddFOp::create(b, loc, v, kb.load(bias, {col}));
    if (c.outputType != f32Type)
      v = arith::TruncFOp::create(b, loc, c.outputType, v);
    if (c.activation != EpilogueActivation::None) {
      // As the CPU runs hqdm.gelu on the layer's output: from the stored
      // type, in f32, rounded back.
      if (c.outputType != f32Type)
        v = arith::ExtFOp::create(b, loc, f32Type, v);
      v = buildGeluF32(b, loc, v,
                       c.activation == EpilogueActivation::GeluTanh);
      if (c.outputType != f32Type)
        v = arith::TruncFOp::create(b, loc, c.outputType, v);
    }
    SmallVector<Value> index = {row, col};
    if (c.conv) {
      // Row m of a convolution is output pixel m, NCHW.
      auto [n, oh, ow] = convOutputPixel(kb, c, row);
      index = {n, col, oh, ow};
    }
    if (c.epilogueOps) {
      unsigned first = 4 + (c.hasBias ? 1 : 0);
      ValueRange operands = gemm.getArguments().slice(
          first, c.epilogueOps.operands.size());
      v = c.epilogueOps.apply(b, loc, v, index, operands);
    }
    kb.store(v, y, index);
  });
}

/// The level of `v` for `scale`, as the CPU reference computes it: divide,
/// round half to even, clamp to [-maxLevel, maxLevel], level 0 for a zero
/// scale; as an i32.
static Value quantizeLevel(KernelBuilder &kb, Value v, Value scale, Value isZeroScale,
                    int64_t maxLevel) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  Value r = math::RoundEvenOp::create(b, loc,
                                      arith::DivFOp::create(b, loc, v, scale));
  r = arith::MaximumFOp::create(b, loc, r, kb.f32(-double(maxLevel)));
  r = arith::MinimumFOp::create(b, loc, r, kb.f32(double(maxLevel)));
  r = kb.select(isZeroScale, kb.f32(0.0), r);
  return arith::FPToSIOp::create(b, loc, b.getI32Type(), r);
}


//===----------------------------------------------------------------------===//
// Prologue
//===----------------------------------------------------------------------===//

/// Rotates one segment in place (see RotationPlan): `v[j]` holds element
/// 32 j + lane. Emits exactly the f32 operations of the CPU reference, in
/// its order; a butterfly's x0 - x1 is emitted as x0 + (-x1), which IEEE
/// addition makes identical.
static void rotateSegment(KernelBuilder &kb, const RotationPlan &plan,
                          Value laneBits, MutableArrayRef<Value> v) {
  OpBuilder &b = kb.b;
  Location loc = kb.loc;
  if (plan.block == 1)
    return;
  int64_t k = plan.baseOrder, rows = plan.valuesPerBaseRow();
  if (k > 1) {
    // y[a'] = sum over a = 0 .. K-1 of x[a] * H_K[a][a'], from +0.0: the
    // products are exact, so each term is an add or a subtract.
    ArrayRef<int8_t> h = getBaseHadamardMatrix(k);
    SmallVector<Value> sums(k);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t col = 0; col < k; ++col) {
        Value acc = kb.f32(0.0);
        for (int64_t row = 0; row < k; ++row) {
          Value x = v[row * rows + r];
          if (h[row * k + col] > 0)
            acc = arith::AddFOp::create(b, loc, acc, x);
          else
            acc = arith::SubFOp::create(b, loc, acc, x);
        }
        sums[col] = acc;
      }
      for (int64_t col = 0; col < k; ++col)
        v[col * rows + r] = sums[col];
    }
  }
  Type i32Type = b.getI32Type(), f32Type = b.getF32Type();
  for (int64_t d : plan.distances) {
    if (d >= 32) {
      // Values j and j + d/32 of the lane (bit d/32 of j clear in j).
      int64_t step = d / 32;
      for (int64_t j = 0; j < static_cast<int64_t>(v.size()); ++j) {
        if (j & step)
          continue;
        Value x0 = v[j], x1 = v[j + step];
        v[j] = arith::AddFOp::create(b, loc, x0, x1);
        v[j + step] = arith::SubFOp::create(b, loc, x0, x1);
      }
      continue;
    }
    // Lanes l and l ^ d: the lower one computes x0 + x1, the upper one
    // x0 + (-x1) with its own value's sign flipped.
    Value upper = kb.ne(kb.andI(laneBits, kb.i32(d)), kb.i32(0));
    Value sign = kb.select(upper, kb.i32(int64_t(1) << 31), kb.i32(0));
    for (Value &x : v) {
      Value partner = kb.shuffleXor(x, d);
      Value bits = arith::BitcastOp::create(b, loc, i32Type, x);
      Value own = arith::BitcastOp::create(b, loc, f32Type,
                                           kb.xorI(bits, sign));
      x = arith::AddFOp::create(b, loc, partner, own);
    }
  }
  Value factor = kb.f32(plan.normalization);
  for (Value &x : v)
    x = arith::MulFOp::create(b, loc, x, factor);
}

gpu::GPUFuncOp
hqdm::gpu_kernels::buildPrologueKernel(OpBuilder &builder, Location loc,
                                       const LayerKernelConfig &c) {
  OpBuilder::InsertionGuard guard(builder);
  MLIRContext *ctx = builder.getContext();
  RotationPlan plan;
  std::string why = planRotation(c.hadamardBlock, plan);
  assert(why.empty() && "planLayer accepts only blocks the prologue rotates");
  (void)why;
  SmallVector<Type> args = {c.inputType(ctx),
                            c.dynamicScale ? Type(c.tokenScaleType(ctx))
                                           : Type(c.givenScaleType(ctx)),
                            c.packedInputType(ctx)};
  llvm::append_range(args, c.prologueOps.operands);
  gpu::GPUFuncOp func =
      createKernel(builder, loc, c.name + "_prologue", args);
  KernelBuilder kb{builder, loc};
  OpBuilder &b = builder;
  Value x = func.getArgument(0), scaleBuf = func.getArgument(1),
        packed = func.getArgument(2);
  ValueRange fusedOperands = func.getArguments().drop_front(3);

  constexpr int64_t rowsPerBlock = kThreads / 32;
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = kb.rem(tid, kb.idx(32));
  Value row = kb.add(kb.mul(bid, kb.idx(rowsPerBlock)), kb.div(tid, kb.idx(32)));
  Value laneBits = kb.toI32(lane);
  Value rowValid = kb.ult(row, kb.idx(c.m));
  Value safeRow = kb.select(rowValid, row, kb.idx(0));
  Value zeroF = kb.f32(0.0);

  // The row is cut into segments of max(B, 32) elements (zero beyond K and
  // beyond M); a segment in the padding beyond K is a zero block, and the
  // chunks of 32 beyond kPad are not stored.
  int64_t perLane = plan.valuesPerLane, segment = plan.segment();
  int64_t chunks = c.kPad / 32;
  int64_t segments = (c.kPad + segment - 1) / segment;
  // A segment's input values (zero beyond K and M) and the column of each.
  // Segments of several chunks lie wholly inside or beyond K (a multiple of
  // the block), so one check of the first element covers all of them.
  struct Segment {
    SmallVector<Value> values, columns;
    Value valid;
  };
  auto readSegment = [&](Value s) {
    Segment seg;
    Value start = kb.add(kb.mul(s, kb.idx(segment)), lane);
    seg.valid = kb.andI(rowValid, kb.ult(start, kb.idx(c.k)));
    Value safeStart = kb.select(seg.valid, start, kb.idx(0));
    for (int64_t j = 0; j < perLane; ++j) {
      Value column = kb.add(safeStart, kb.idx(32 * j));
      Value value = kb.load(x, {safeRow, column});
      seg.values.push_back(kb.select(seg.valid, value, zeroF));
      seg.columns.push_back(column);
    }
    return seg;
  };
  // The fused elementwise ops, then the rotation; padding stays zero.
  auto finishSegment = [&](Segment &seg) {
    if (c.prologueOps) {
      for (size_t j = 0; j < seg.values.size(); ++j) {
        Value y = c.prologueOps.apply(b, loc, seg.values[j],
                                      {safeRow, seg.columns[j]}, fusedOperands);
        seg.values[j] = kb.select(seg.valid, y, zeroF);
      }
    }
    rotateSegment(kb, plan, laneBits, seg.values);
    return seg.values;
  };
  auto loadSegment = [&](Value s) {
    Segment seg = readSegment(s);
    return finishSegment(seg);
  };
  // The sum of `v` over the warp, left in every lane.
  auto warpSum = [&](Value v) {
    for (int64_t d = 16; d >= 1; d /= 2)
      v = arith::AddFOp::create(b, loc, v, kb.shuffleXor(v, d));
    return v;
  };
  // (x - mean) / sqrt(var + epsilon) over the row's K values in registers,
  // with the two passes of the CPU reference (mean, then the squared
  // deviations from it); only the order of the additions differs.
  auto normalizeRow = [&](MutableArrayRef<Segment> segments) {
    Value sum = zeroF;
    for (Segment &seg : segments)
      for (Value v : seg.values)
        sum = arith::AddFOp::create(b, loc, sum, v);
    Value count = kb.f32(double(c.k));
    Value mean = arith::DivFOp::create(b, loc, warpSum(sum), count);
    Value squares = zeroF;
    for (Segment &seg : segments) {
      for (Value v : seg.values) {
        Value deviation = arith::SubFOp::create(b, loc, v, mean);
        Value square = arith::MulFOp::create(b, loc, deviation, deviation);
        squares = arith::AddFOp::create(
            b, loc, squares, kb.select(seg.valid, square, zeroF));
      }
    }
    Value variance = arith::DivFOp::create(b, loc, warpSum(squares), count);
    Value stdDev = correctlyRoundedSqrt(
        b, loc,
        arith::AddFOp::create(b, loc, variance, kb.f32(*c.prologueNorm)));
    for (Segment &seg : segments) {
      for (Value &v : seg.values) {
        Value centered = arith::SubFOp::create(b, loc, v, mean);
        v = kb.select(seg.valid, arith::DivFOp::create(b, loc, centered, stdDev),
                      zeroF);
      }
    }
  };
  auto absMax = [&](Value acc, ArrayRef<Value> v) {
    for (Value value : v)
      acc = arith::MaximumFOp::create(b, loc, acc,
                                      math::AbsFOp::create(b, loc, value));
    return acc;
  };
  // The row's scale from the lanes' absmax (NaN propagates, as in the
  // reference); lane 0 stores it.
  auto rowScale = [&](Value amax) {
    for (int64_t s = 16; s >= 1; s /= 2)
      amax = arith::MaximumFOp::create(b, loc, amax, kb.shuffleXor(amax, s));
    Value scale = arith::DivFOp::create(b, loc, amax,
                                        kb.f32(double(c.activationMaxLevel)));
    kb.when(kb.eq(lane, kb.idx(0)), [&] { kb.store(scale, scaleBuf, {row}); });
    return scale;
  };
  // Quantizes (round half to even, clamp, zero scale -> level 0) and packs:
  // lanes OR their shifted levels together across a word's lanes.
  int64_t perWord = 32 / c.activationBits;
  auto quantizeSegment = [&](Value s, ArrayRef<Value> v, Value scale) {
    Value isZeroScale =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, scale, zeroF);
    for (int64_t j = 0; j < perLane; ++j) {
      Value chunk = kb.add(kb.mul(s, kb.idx(perLane)), kb.idx(j));
      Value r = math::RoundEvenOp::create(
          b, loc, arith::DivFOp::create(b, loc, v[j], scale));
      r = arith::MaximumFOp::create(b, loc, r,
                                    kb.f32(-double(c.activationMaxLevel)));
      r = arith::MinimumFOp::create(b, loc, r,
                                    kb.f32(double(c.activationMaxLevel)));
      r = kb.select(isZeroScale, zeroF, r);
      Value q = arith::FPToSIOp::create(b, loc, b.getI32Type(), r);
      Value mask = kb.i32((int64_t(1) << c.activationBits) - 1);
      Value slot = kb.andI(laneBits, kb.i32(perWord - 1));
      Value word = kb.shl(kb.andI(q, mask),
                          kb.mul(slot, kb.i32(c.activationBits)));
      for (int64_t d = 1; d < perWord; d *= 2)
        word = kb.orI(word, kb.shuffleXor(word, d));
      Value column = kb.add(kb.mul(chunk, kb.idx(32 / perWord)),
                            kb.div(lane, kb.idx(perWord)));
      Value stores = kb.eq(kb.rem(lane, kb.idx(perWord)), kb.idx(0));
      if (segments * perLane > chunks)
        stores = kb.andI(stores, kb.ult(chunk, kb.idx(chunks)));
      kb.when(stores, [&] { kb.store(word, packed, {row, column}); });
    }
  };

  if (segments * perLane <= kMaxValuesPerLane) {
    // The whole row stays in registers: read once.
    SmallVector<Segment> rowSegments;
    for (int64_t s = 0; s < segments; ++s)
      rowSegments.push_back(readSegment(kb.idx(s)));
    if (c.prologueNorm)
      normalizeRow(rowSegments);
    SmallVector<SmallVector<Value>> rowValues;
    for (Segment &seg : rowSegments)
      rowValues.push_back(finishSegment(seg));
    Value scale;
    if (c.dynamicScale) {
      Value amax = zeroF;
      for (ArrayRef<Value> v : rowValues)
        amax = absMax(amax, v);
      scale = rowScale(amax);
    } else {
      scale = kb.load(scaleBuf, {});
    }
    for (int64_t s = 0; s < segments; ++s)
      quantizeSegment(kb.idx(s), rowValues[s], scale);
  } else {
    assert(!c.prologueNorm && "a fused normalization needs the row in "
                              "registers");
    // One segment at a time; a per-token scale needs a first pass for the
    // absmax, which reads and rotates the row once more.
    Value scale;
    if (c.dynamicScale) {
      auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(segments),
                                     kb.idx(1), ValueRange{zeroF});
      {
        OpBuilder::InsertionGuard g(b);
        b.setInsertionPointToStart(loop.getBody());
        Value amax = absMax(loop.getRegionIterArg(0),
                            loadSegment(loop.getInductionVar()));
        scf::YieldOp::create(b, loc, amax);
      }
      scale = rowScale(loop.getResult(0));
    } else {
      scale = kb.load(scaleBuf, {});
    }
    auto loop =
        scf::ForOp::create(b, loc, kb.idx(0), kb.idx(segments), kb.idx(1));
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value s = loop.getInductionVar();
    quantizeSegment(s, loadSegment(s), scale);
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}

gpu::GPUFuncOp hqdm::gpu_kernels::buildConvPrologueKernel(
    OpBuilder &builder, Location loc, const LayerKernelConfig &c,
    bool absmaxPass) {
  OpBuilder::InsertionGuard guard(builder);
  MLIRContext *ctx = builder.getContext();
  const ConvGeometry &g = *c.conv;
  SmallVector<Type> args = {c.inputType(ctx)};
  if (absmaxPass || c.dynamicScale)
    args.push_back(c.partialMaxType(ctx));
  if (!absmaxPass) {
    args.push_back(c.givenScaleType(ctx));
    args.push_back(c.packedInputType(ctx));
  }
  gpu::GPUFuncOp func = createKernel(
      builder, loc, c.name + (absmaxPass ? "_absmax" : "_prologue"), args);
  KernelBuilder kb{builder, loc};
  OpBuilder &b = builder;
  Value x = func.getArgument(0);

  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value lane = kb.rem(tid, kb.idx(32));
  Value pixel = kb.add(kb.mul(bid, kb.idx(kThreads)), tid);
  Value valid = kb.ult(pixel, kb.idx(g.pixels()));
  Value safePixel = kb.select(valid, pixel, kb.idx(0));
  Value plane = kb.idx(g.height * g.width);
  Value n = kb.div(safePixel, plane), hw = kb.rem(safePixel, plane);
  Value h = kb.div(hw, kb.idx(g.width)), w = kb.rem(hw, kb.idx(g.width));
  Value zeroF = kb.f32(0.0);

  // Channels 32 * chunk ... 32 * chunk + 31 of this thread's pixel (0 past
  // C), rotated in registers by the CPU reference's butterflies (distance
  // B/2 first, down to 1), so the f32 results are identical. Lanes read
  // consecutive pixels: coalesced in NCHW.
  auto rotated = [&](Value chunk) {
    SmallVector<Value> v;
    Value first = kb.mul(chunk, kb.idx(32));
    for (int64_t i = 0; i < 32; ++i) {
      Value ch = kb.add(first, kb.idx(i));
      if (g.channels % 32 == 0) {
        v.push_back(kb.load(x, {n, ch, h, w}));
        continue;
      }
      Value inside = kb.ult(ch, kb.idx(g.channels));
      Value e = kb.load(x, {n, kb.select(inside, ch, kb.idx(0)), h, w});
      v.push_back(kb.select(inside, e, zeroF));
    }
    for (int64_t s = c.hadamardBlock / 2; s >= 1; s /= 2) {
      for (int64_t i = 0; i < 32; ++i) {
        if (i & s)
          continue;
        Value lo = v[i], hi = v[i + s];
        v[i] = arith::AddFOp::create(b, loc, lo, hi);
        v[i + s] = arith::SubFOp::create(b, loc, lo, hi);
      }
    }
    if (c.hadamardBlock > 1)
      for (Value &e : v)
        e = arith::MulFOp::create(
            b, loc, e, kb.f32(1.0 / std::sqrt(double(c.hadamardBlock))));
    return v;
  };
  auto warpMax = [&](Value m) {
    for (int64_t s = 16; s >= 1; s /= 2)
      m = arith::MaximumFOp::create(b, loc, m, kb.shuffleXor(m, s));
    return m;
  };
  int64_t chunks = g.channelsPad() / 32;

  if (absmaxPass) {
    // Each warp's max |rotated x| (NaN propagates, as in the reference).
    auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(chunks),
                                   kb.idx(1), ValueRange{zeroF});
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(loop.getBody());
      Value m = loop.getRegionIterArg(0);
      for (Value e : rotated(loop.getInductionVar()))
        m = arith::MaximumFOp::create(b, loc, m,
                                      math::AbsFOp::create(b, loc, e));
      scf::YieldOp::create(b, loc, m);
    }
    Value amax = kb.select(valid, loop.getResult(0), zeroF);
    amax = warpMax(amax);
    Value slot = kb.add(kb.mul(bid, kb.idx(kThreads / 32)),
                        kb.div(tid, kb.idx(32)));
    kb.when(kb.eq(lane, kb.idx(0)),
            [&] { kb.store(amax, func.getArgument(1), {slot}); });
    gpu::ReturnOp::create(b, loc);
    return func;
  }

  Value scale;
  Value packed = func.getArgument(args.size() - 1);
  Value scaleBuf = func.getArgument(args.size() - 2);
  if (c.dynamicScale) {
    // Every warp reduces the absmax pass's partial maxima; the first thread
    // stores the scale for the GEMM.
    Value partials = func.getArgument(1);
    auto loop = scf::ForOp::create(b, loc, lane, kb.idx(c.partialMaxima()),
                                   kb.idx(32), ValueRange{zeroF});
    {
      OpBuilder::InsertionGuard g2(b);
      b.setInsertionPointToStart(loop.getBody());
      Value m = arith::MaximumFOp::create(
          b, loc, loop.getRegionIterArg(0),
          kb.load(partials, {loop.getInductionVar()}));
      scf::YieldOp::create(b, loc, m);
    }
    scale = arith::DivFOp::create(b, loc, warpMax(loop.getResult(0)),
                                  kb.f32(double(c.activationMaxLevel)));
    Value first = arith::AndIOp::create(b, loc, kb.eq(bid, kb.idx(0)),
                                        kb.eq(tid, kb.idx(0)));
    kb.when(first, [&] { kb.store(scale, scaleBuf, {}); });
  } else {
    scale = kb.load(scaleBuf, {});
  }

  // Quantize and pack the pixel's chunk: element e at bits
  // [bits * (e mod perWord), ...) of word e / perWord, as the linear
  // prologue packs a row.
  Value isZeroScale =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, scale, zeroF);
  int64_t perWord = 32 / c.activationBits, wordsPerChunk = c.activationBits;
  auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(chunks), kb.idx(1));
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(loop.getBody());
    Value chunk = loop.getInductionVar();
    SmallVector<Value> v = rotated(chunk);
    Value mask = kb.i32((int64_t(1) << c.activationBits) - 1);
    SmallVector<Value> words(wordsPerChunk, kb.i32(0));
    for (int64_t e = 0; e < 32; ++e) {
      Value q = quantizeLevel(kb, v[e], scale, isZeroScale,
                              c.activationMaxLevel);
      Value shifted = kb.shl(kb.andI(q, mask),
                             kb.i32((e % perWord) * c.activationBits));
      words[e / perWord] = kb.orI(words[e / perWord], shifted);
    }
    kb.when(valid, [&] {
      Value column0 = kb.mul(chunk, kb.idx(wordsPerChunk));
      for (int64_t j = 0; j < wordsPerChunk; ++j)
        kb.store(words[j], packed, {pixel, kb.add(column0, kb.idx(j))});
    });
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

/// Unpacks 8 signed 4-bit values into two words of 4 signed bytes: the even
/// nibbles (lo) and the odd ones (hi). Per byte, with n the nibble:
/// ((n ^ 8) + 0x78) ^ 0x80 is n sign-extended, and no step carries into the
/// next byte.
static std::pair<Value, Value> unpackNibbles(KernelBuilder &kb, Value w) {
  Value mask = kb.i32(0x0F0F0F0F);
  auto extend = [&](Value nibbles) {
    Value v = kb.xorI(nibbles, kb.i32(0x08080808));
    v = kb.add(v, kb.i32(0x78787878));
    return kb.xorI(v, kb.i32(static_cast<int32_t>(0x80808080u)));
  };
  Value lo = extend(kb.andI(w, mask));
  Value hi = extend(kb.andI(kb.shr(w, kb.i32(4)), mask));
  return {lo, hi};
}

gpu::GPUFuncOp hqdm::gpu_kernels::buildGemmKernel(OpBuilder &builder,
                                                  Location loc,
                                                  const LayerKernelConfig &c) {
  OpBuilder::InsertionGuard guard(builder);
  MLIRContext *ctx = builder.getContext();
  Type i32Type = builder.getI32Type();
  auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);

  // Shared-memory tiles, in 32-bit words: [stage, row, word] with rows padded
  // by 4 words (16 bytes).
  int64_t aWords = c.tileK() * c.activationBits / 32;
  int64_t bWords = c.tileK() * c.weightBits / 32;
  auto sharedA = MemRefType::get({2, c.tileM, aWords + 4}, i32Type,
                                 MemRefLayoutAttrInterface(), workgroup);
  auto sharedB =
      MemRefType::get({2, c.weightPlanes * c.tileN, bWords + 4}, i32Type,
                      MemRefLayoutAttrInterface(), workgroup);

  KernelBuilder kb{builder, loc};
  OpBuilder &b = builder;
  // cp.async writes 16 aligned bytes (the default alignment is the
  // element's, 4).
  GemmKernelStart start =
      beginGemmKernel(kb, c, sharedA, sharedB, /*sharedAlign=*/16);
  gpu::GPUFuncOp func = start.func;
  Value a = start.a, sx = start.sx, w = start.w, sa = start.sa, sb = start.sb;
  Value tid = start.tid, blockM = start.blockM, blockN = start.blockN;
  Value warp = start.warp, g = start.g, t = start.t;
  // 2 x 2 warps; each computes a (tileM/2) x (tileN/2) sub-tile.
  int64_t warpM = c.tileM / 2, warpN = c.tileN / 2;
  int64_t mTiles = warpM / 16, nTiles = warpN / 8;
  Value warpRow = kb.mul(kb.div(warp, kb.idx(2)), kb.idx(warpM));
  Value warpCol = kb.mul(kb.rem(warp, kb.idx(2)), kb.idx(warpN));

  // Copies K-tile `kt` of A and of every weight plane into `stage`, 16 bytes
  // per cp.async, spread over the block's threads. `srcAt` gives the source
  // indices and the words to read (null: all 4; fewer zero-fill).
  auto loadTile = [&](Value kt, Value stage) {
    using Source = std::pair<SmallVector<Value>, Value>;
    auto copyRows = [&](Value src, Value dst, int64_t rows, int64_t words,
                        function_ref<Source(Value, Value)> srcAt,
                        function_ref<SmallVector<Value>(Value, Value)> dstAt) {
      int64_t chunksPerRow = words / 4;
      int64_t total = rows * chunksPerRow;
      for (int64_t base = 0; base < total; base += kThreads) {
        Value id = kb.add(tid, kb.idx(base));
        Value r = kb.div(id, kb.idx(chunksPerRow));
        Value col = kb.mul(kb.rem(id, kb.idx(chunksPerRow)), kb.idx(4));
        auto [srcIndices, srcWords] = srcAt(r, col);
        nvgpu::DeviceAsyncCopyOp::create(
            b, loc, nvgpu::DeviceAsyncTokenType::get(ctx), dst, dstAt(r, col),
            src, srcIndices, b.getIndexAttr(4), srcWords,
            /*bypassL1=*/b.getUnitAttr());
      }
    };
    Value aCol0 = kb.mul(kt, kb.idx(aWords));
    copyRows(
        a, sa, c.tileM, aWords,
        [&](Value r, Value col) -> Source {
          Value row = kb.add(blockM, r), word = kb.add(aCol0, col);
          if (!c.conv)
            return {{row, word}, Value()};
          // Implicit GEMM: the tap's input pixel, zeros outside the input.
          ConvSource<Value> source = convGatherSource(kb, c, row, word);
          return {{source.row, source.word},
                  kb.select(source.valid, kb.idx(4), kb.idx(0))};
        },
        [&](Value r, Value col) -> SmallVector<Value> {
          return {stage, r, col};
        });
    Value bCol0 = kb.mul(kt, kb.idx(bWords));
    for (unsigned p = 0; p < c.weightPlanes; ++p)
      copyRows(
          w, sb, c.tileN, bWords,
          [&](Value r, Value col) -> Source {
            return {{kb.idx(p), kb.add(blockN, r), kb.add(bCol0, col)},
                    Value()};
          },
          [&](Value r, Value col) -> SmallVector<Value> {
            return {stage, kb.add(kb.idx(p * c.tileN), r), col};
          });
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
  };

  int64_t kTiles = c.kPad / c.tileK();
  int64_t numAcc = c.weightPlanes * mTiles * nTiles * 4;
  SmallVector<Value> zeros(numAcc, kb.i32(0));
  auto accIndex = [&](unsigned p, int64_t mt, int64_t nt, int64_t r) {
    return ((p * mTiles + mt) * nTiles + nt) * 4 + r;
  };

  loadTile(kb.idx(0), kb.idx(0));
  auto loop = scf::ForOp::create(b, loc, kb.idx(0), kb.idx(kTiles), kb.idx(1),
                                 zeros);
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value stage = kb.rem(kt, kb.idx(2));
    // Prefetch the next tile into the other stage (the last iteration
    // reloads the last tile, into a stage nobody reads any more).
    Value next = arith::MinUIOp::create(b, loc, kb.add(kt, kb.idx(1)),
                                        kb.idx(kTiles - 1));
    loadTile(next, kb.sub(kb.idx(1), stage));
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 1);
    gpu::BarrierOp::create(b, loc);

    SmallVector<Value> acc(loop.getRegionIterArgs().begin(),
                           loop.getRegionIterArgs().end());
    bool int4 = c.mma == MmaKind::Int4;
    // Elements of K one mma consumes, and the k-steps in a tile.
    int64_t kStep = int4 ? 64 : 32;
    int64_t steps = c.tileK() / kStep;
    auto structType = LLVM::LLVMStructType::getLiteral(
        ctx, SmallVector<Type>(4, i32Type));
    NVVM::MMATypes aType =
        int4 ? NVVM::MMATypes::s4 : NVVM::MMATypes::s8;
    for (int64_t ks = 0; ks < steps; ++ks) {
      // A fragments: [mt] -> 4 words.
      SmallVector<std::array<Value, 4>> aFrag(mTiles);
      for (int64_t mt = 0; mt < mTiles; ++mt) {
        Value r0 = kb.add(kb.add(warpRow, kb.idx(mt * 16)), g);
        Value r1 = kb.add(r0, kb.idx(8));
        if (c.activationBits == 4 && !int4) {
          // 32 elements = 4 words a row; word t unpacks into slots t, 4+t.
          Value col = kb.add(kb.idx(ks * 4), t);
          auto [lo0, hi0] = unpackNibbles(kb, kb.load(sa, {stage, r0, col}));
          auto [lo1, hi1] = unpackNibbles(kb, kb.load(sa, {stage, r1, col}));
          aFrag[mt] = {lo0, lo1, hi0, hi1};
        } else {
          Value col0 = kb.add(kb.idx(ks * 8), t);
          Value col1 = kb.add(kb.idx(ks * 8 + 4), t);
          aFrag[mt] = {kb.load(sa, {stage, r0, col0}),
                       kb.load(sa, {stage, r1, col0}),
                       kb.load(sa, {stage, r0, col1}),
                       kb.load(sa, {stage, r1, col1})};
        }
      }
      for (unsigned p = 0; p < c.weightPlanes; ++p) {
        for (int64_t nt = 0; nt < nTiles; ++nt) {
          Value n = kb.add(kb.add(kb.idx(p * c.tileN + nt * 8), warpCol), g);
          std::array<Value, 2> bFrag;
          if (c.weightBits == 4 && !int4) {
            Value col = kb.add(kb.idx(ks * 4), t);
            auto [lo, hi] = unpackNibbles(kb, kb.load(sb, {stage, n, col}));
            bFrag = {lo, hi};
          } else {
            bFrag = {kb.load(sb, {stage, n, kb.add(kb.idx(ks * 8), t)}),
                     kb.load(sb, {stage, n, kb.add(kb.idx(ks * 8 + 4), t)})};
          }
          for (int64_t mt = 0; mt < mTiles; ++mt) {
            SmallVector<Value> cIn;
            for (int64_t r = 0; r < 4; ++r)
              cIn.push_back(acc[accIndex(p, mt, nt, r)]);
            Value d = NVVM::MmaOp::create(
                b, loc, structType, ValueRange(aFrag[mt]), ValueRange(bFrag),
                cIn, ArrayRef<int64_t>{16, 8, kStep},
                /*b1Op=*/std::nullopt, NVVM::MMAIntOverflow::wrapped,
                std::array<NVVM::MMATypes, 2>{aType, aType},
                std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                               NVVM::MMALayout::col});
            for (int64_t r = 0; r < 4; ++r)
              acc[accIndex(p, mt, nt, r)] =
                  LLVM::ExtractValueOp::create(b, loc, d, r);
          }
        }
      }
    }
    // Everyone is done with this stage before it is refilled.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, acc);
  }

  // Epilogue: combine digit planes, dequantize, add the bias, apply the
  // activation, store what is inside the output (row m of a convolution is
  // output pixel m, NCHW). Thread (g, t) holds rows g and g + 8 and columns
  // 2t, 2t + 1 of each 16 x 8 tile.
  SmallVector<Value> acc(loop.getResults().begin(), loop.getResults().end());
  for (int64_t mt = 0; mt < mTiles; ++mt) {
    for (int64_t half = 0; half < 2; ++half) {
      Value row = kb.add(kb.add(kb.add(blockM, warpRow),
                                kb.idx(mt * 16 + half * 8)),
                         g);
      Value rowValid = kb.ult(row, kb.idx(c.m));
      Value safeRow = kb.select(rowValid, row, kb.idx(0));
      Value rowScale = c.perTokenScale() ? kb.load(sx, {safeRow})
                                         : kb.load(sx, {});
      for (int64_t nt = 0; nt < nTiles; ++nt) {
        for (int64_t j = 0; j < 2; ++j) {
          int64_t r = half * 2 + j;
          Value col = kb.add(kb.add(kb.add(blockN, warpCol),
                                    kb.idx(nt * 8 + j)),
                             kb.mul(t, kb.idx(2)));
          Value total = acc[accIndex(0, mt, nt, r)];
          if (c.weightPlanes == 2)
            total = kb.add(total,
                           kb.shl(acc[accIndex(1, mt, nt, r)], kb.i32(7)));
          storeDequantized(kb, c, func, row, col, rowValid, rowScale, total);
        }
      }
    }
  }
  gpu::ReturnOp::create(b, loc);
  return func;
}
