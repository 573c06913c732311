//===- AttentionKernel.h - fused attention on the tensor cores --*- C++ -*-===//
//
// The kernel that `convert-attention-to-gpu` generates for one attention,
// softmax(scale * q * k^T) * v over a batch of heads, in the style of
// FlashAttention-2: a block of 4 warps takes 64 query rows of one (batch,
// head), each warp 16 of them; the keys and values stream through shared
// memory a tile of up to 64 keys at a time; S = Q * K^T and O = P * V run
// on `mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32`; the softmax is
// online, in f32, with a running maximum and sum per row.
//
// Everything the kernel does with indices is written once, below, for two
// arithmetics: the kernel builder (V = mlir::Value) and plain integers or
// floats (the unit test's replay of the kernel on the CPU,
// test/Unit/Conversion/AttentionKernelTest.cpp). The fragment layouts are
// those of the PTX ISA (g = lane / 4, t = lane % 4):
//   A (16 x 16, row, f16x2 registers a0..a3): element i of register r is
//       A[g + 8 (r % 2)][2t + 8 (r / 2) + i];
//   B (16 x 8, col, b0..b1):  element i of register r is B[2t + 8 r + i][g];
//   C, D (16 x 8, f32 c0..c3): register r is C[g + 8 (r / 2)][2t + r % 2].
// B fragments come from shared memory through ldmatrix .x4: lane l gives
// the address of row l % 8 of matrix l / 8, and receives, of each matrix m,
// the pair (row g, columns 2t, 2t + 1) in register m, or with .trans the
// pair (rows 2t, 2t + 1, column g).
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_CONVERSION_HQDMTOGPU_ATTENTIONKERNEL_H
#define HQDM_LIB_CONVERSION_HQDMTOGPU_ATTENTIONKERNEL_H

#include "Kernels.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir::hqdm::gpu_kernels {

/// The gpu.module that holds the generated attention kernels.
constexpr llvm::StringLiteral kAttentionModule = "hqdm_attention";

/// Where an operand of the attention lives: element (bh, row, col) of the
/// logical [batch * heads, rows, cols] tensor (q, k and v: [BH, tokens,
/// head dim]; the output likewise) is element
///   offset + sum_j i_j * batch[j].second + row * rowStride + col * colStride
/// of a flat f32 buffer of `elements` values, where bh = (i_0, i_1, ...) in
/// the mixed radix of the sizes batch[j].first (outermost first). This
/// covers the reshapes, slices and transposes through which torch-mlir
/// splits q, k and v out of the qkv projection ([B, T, 3, H, D] read as
/// [B * H, T, D]) and merges the heads back ([B, T, H * D]).
struct AttentionOperand {
  int64_t offset = 0;
  std::vector<std::pair<int64_t, int64_t>> batch; ///< (size, stride)
  int64_t rowStride = 0, colStride = 1;
  int64_t elements = 0;
};

/// Everything the attention kernel is specialised to.
struct AttentionConfig {
  std::string name; ///< Symbol prefix (a valid identifier).
  int64_t batchHeads = 1; ///< B * H: one grid row each.
  int64_t queries = 0, keys = 0; ///< Tq and Tk.
  int64_t headDim = 0;          ///< D, of q, k and v alike.
  double scale = 1.0;           ///< Multiplies q * k^T.
  AttentionOperand q, k, v, out;

  // Chosen by planAttention.
  int64_t headDimPad = 0; ///< D rounded up to 16 (zero columns).
  int64_t blockM = 64;    ///< Query rows per block: 16 per warp.
  int64_t blockN = 64;    ///< Keys per shared-memory tile (16, 32 or 64).
  float scaleLog2 = 0;    ///< f32(scale * log2(e)): exp(x) = 2^(x log2 e).

  int64_t queryBlocks() const { return (queries + blockM - 1) / blockM; }
  int64_t keyTiles() const { return (keys + blockN - 1) / blockN; }
  /// f16 elements per shared-memory row: the padded head dim plus 8, so
  /// that the 8 rows an ldmatrix phase reads fall in distinct banks.
  int64_t sharedRow() const { return headDimPad + 8; }
  /// Static shared memory: a K tile and a V tile of f16.
  int64_t sharedBytes() const { return 2 * blockN * sharedRow() * 2; }
  /// f16 pairs each thread stages per tile and operand.
  int64_t copiesPerThread() const {
    return blockN * headDimPad / 2 / kThreads;
  }
  /// Threads that share a row when staging: the largest power of two up to
  /// 32 that divides the pairs of a row (at least 8, as D pads to 16).
  int64_t stagingColumns() const {
    int64_t pairs = headDimPad / 2, columns = 1;
    while (columns < 32 && pairs % (2 * columns) == 0)
      columns *= 2;
    return columns;
  }
  /// Accumulator n-tiles of 8 columns: of S (keys) and of O (head dim).
  int64_t scoreTiles() const { return blockN / 8; }
  int64_t outputTiles() const { return headDimPad / 8; }
};

/// Chooses the padding and the tiles; returns an empty string, or why the
/// kernel cannot compute this attention.
std::string planAttention(AttentionConfig &config);

/// The kernel: arguments q, k, v (flat f32 buffers, possibly the same
/// one) and the output (flat f32); grid (queryBlocks, batchHeads),
/// kThreads threads.
gpu::GPUFuncOp buildAttentionKernel(OpBuilder &builder, Location loc,
                                    const AttentionConfig &config);

//===----------------------------------------------------------------------===//
// Index code, shared by the kernel builder and the CPU replay. `a`
// provides idx, add, mul, div, rem (unsigned), ult, andI and select on V.
//===----------------------------------------------------------------------===//

/// Row and column of a pair of elements.
template <typename V> struct Element {
  V row, col;
};

/// The part of an operand's index that depends on the (batch, head) only.
template <typename Arith, typename V>
V batchOffset(Arith &a, const AttentionOperand &o, V bh) {
  V index = a.idx(o.offset);
  int64_t inner = 1;
  for (auto it = o.batch.rbegin(); it != o.batch.rend(); ++it) {
    V digit = a.div(bh, a.idx(inner));
    if (std::next(it) != o.batch.rend())
      digit = a.rem(digit, a.idx(it->first));
    index = a.add(index, a.mul(digit, a.idx(it->second)));
    inner *= it->first;
  }
  return index;
}

/// Element (row, col) of an operand whose (batch, head) part is `base`.
template <typename Arith, typename V>
V operandIndex(Arith &a, const AttentionOperand &o, V base, V row, V col) {
  V index = a.add(base, a.mul(row, a.idx(o.rowStride)));
  return a.add(index, o.colStride == 1 ? col
                                       : a.mul(col, a.idx(o.colStride)));
}

/// Copy `copy` of thread `tid` into a K or V tile: the tile's row (key)
/// and the first of the two head-dim columns it converts and stores.
/// Thread tid takes pair columns tid % C + C j of rows tid / C + (128 / C) p
/// (C = stagingColumns()): its copies differ by constants, so their global
/// and shared addresses are one register plus immediate offsets.
template <typename Arith, typename V>
Element<V> stagedPair(Arith &a, const AttentionConfig &c, V tid,
                      int64_t copy) {
  int64_t columns = c.stagingColumns();
  int64_t groups = c.headDimPad / 2 / columns;
  int64_t pass = copy / groups, j = copy % groups;
  V column = a.rem(tid, a.idx(columns)), row = a.div(tid, a.idx(columns));
  return {a.add(row, a.idx(pass * (kThreads / columns))),
          a.mul(a.add(column, a.idx(j * columns)), a.idx(2))};
}

/// Element `i` of register `r` of the A fragment (16 x 16) of lane (g, t).
template <typename Arith, typename V>
Element<V> aFragmentElement(Arith &a, V g, V t, int64_t r, int64_t i) {
  return {a.add(g, a.idx(8 * (r % 2))),
          a.add(a.mul(t, a.idx(2)), a.idx(8 * (r / 2) + i))};
}

/// Register `r` of the accumulator fragment (16 x 8) of lane (g, t).
template <typename Arith, typename V>
Element<V> accumulatorElement(Arith &a, V g, V t, int64_t r) {
  return {a.add(g, a.idx(8 * (r / 2))),
          a.add(a.mul(t, a.idx(2)), a.idx(r % 2))};
}

/// The shared-memory element whose address lane `lane` gives to the
/// ldmatrix .x4 that loads the B fragments of S = Q * K^T for key n-tiles
/// 2 j and 2 j + 1 and head-dim k-step `ks` from the K tile [key][d]:
/// matrix m covers keys 16 j + 8 (m / 2) + 0..7 and columns 16 ks + 8 (m % 2)
/// + 0..7. Registers: 0, 1 = b0, b1 of n-tile 2 j; 2, 3 = of 2 j + 1.
template <typename Arith, typename V>
Element<V> keyMatrixRow(Arith &a, V lane, int64_t j, int64_t ks) {
  V m = a.div(lane, a.idx(8)), r = a.rem(lane, a.idx(8));
  return {a.add(a.add(a.idx(16 * j), a.mul(a.div(m, a.idx(2)), a.idx(8))), r),
          a.add(a.idx(16 * ks), a.mul(a.rem(m, a.idx(2)), a.idx(8)))};
}

/// The same for O += P * V (ldmatrix .x4 .trans from the V tile
/// [key][d]): k-step `ks` over keys, head-dim n-tiles 2 j and 2 j + 1;
/// matrix m covers keys 16 ks + 8 (m % 2) + 0..7 and columns 16 j + 8 (m / 2)
/// + 0..7. Registers: 0, 1 = b0, b1 of n-tile 2 j; 2, 3 = of 2 j + 1.
template <typename Arith, typename V>
Element<V> valueMatrixRow(Arith &a, V lane, int64_t ks, int64_t j) {
  V m = a.div(lane, a.idx(8)), r = a.rem(lane, a.idx(8));
  return {a.add(a.add(a.idx(16 * ks), a.mul(a.rem(m, a.idx(2)), a.idx(8))), r),
          a.add(a.idx(16 * j), a.mul(a.div(m, a.idx(2)), a.idx(8)))};
}

/// Register `r` of P's A fragment for key k-step `ks` is the f16 pair of
/// the score accumulators {first, first + 1} of key n-tile 2 ks + nOffset:
/// the accumulator layout of two n-tiles is the A layout of their 16 keys.
struct ProbabilitySource {
  int64_t nOffset, first;
};
inline ProbabilitySource probabilitySource(int64_t r) {
  return {r / 2, 2 * (r % 2)};
}

//===----------------------------------------------------------------------===//
// The online softmax, per row of a thread (its registers of one row half).
// `f` provides maximum, add, sub, mul, ex2, negInf, zero, select on F.
// Scores are kept in log2 units: s2 = s * scaleLog2, p = 2^(s2 - max).
//===----------------------------------------------------------------------===//

/// A score in log2 units, or -inf for a key past the end.
template <typename FArith, typename F, typename B>
F scaledScore(FArith &f, const AttentionConfig &c, F s, B valid) {
  return f.select(valid, f.mul(s, f.constant(c.scaleLog2)), f.negInf());
}

/// The new running maximum of a row after a tile whose maximum (over the
/// whole row, after the quad's shuffles) is `tileMax`, and the factor that
/// rescales what was accumulated before: 2^(old - new) (0 for the first
/// tile, where old = -inf).
template <typename FArith, typename F>
std::pair<F, F> rescale(FArith &f, F oldMax, F tileMax) {
  F newMax = f.maximum(oldMax, tileMax);
  return {newMax, f.ex2(f.sub(oldMax, newMax))};
}

/// An unnormalized probability.
template <typename FArith, typename F>
F probability(FArith &f, F score, F newMax) {
  return f.ex2(f.sub(score, newMax));
}

/// The running sum of a thread's part of a row: the old one rescaled, plus
/// the probabilities as P * V uses them (rounded to f16), in register order.
template <typename FArith, typename F>
F runningSum(FArith &f, F oldSum, F correction, const std::vector<F> &p16) {
  F sum = f.zero();
  for (const F &p : p16)
    sum = f.add(sum, p);
  return f.add(f.mul(oldSum, correction), sum);
}

} // namespace mlir::hqdm::gpu_kernels

#endif // HQDM_LIB_CONVERSION_HQDMTOGPU_ATTENTIONKERNEL_H
