//===- AttentionKernelTest.cpp - CPU model of the attention kernel --------===//
//
// The fused attention kernel that convert-attention-to-gpu generates
// (lib/Conversion/HqdmToGPU/AttentionKernel.cpp) cannot run without a GPU,
// but its data path can be replayed on the CPU, thread by thread, from the
// very functions the generator builds it with (AttentionKernel.h,
// instantiated on integers and floats): planAttention's tiles and padding,
// the global index of every element (batchOffset, operandIndex), the
// staging of K and V tiles as f16 into a shared memory that is poisoned
// before each tile (stagedPair), the Q fragments (aFragmentElement), the
// ldmatrix row addresses (keyMatrixRow, valueMatrixRow), the reuse of S's
// accumulators as P's A fragments (probabilitySource), the masking and the
// online softmax recurrence (scaledScore, rescale, probability,
// runningSum), the quads' shuffles and the output mapping
// (accumulatorElement).
//
// What the hardware does is emulated here from the PTX ISA, independently
// of the generator: ldmatrix .x4 (lane 8 m + r gives the address of row r of
// matrix m, 8 consecutive b16; lane (g, t) receives (row g, cols 2t, 2t + 1)
// of matrix m in register m, or with .trans (rows 2t, 2t + 1, col g)) and
// mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 with the fragment
// layouts of the ISA, written element by element:
//   a_i (i = 0..7): row g for i in {0, 1, 4, 5}, else g + 8;
//                   col 2t + (i & 1), + 8 for i >= 4; two a_i a register;
//   b_i (i = 0..3): row 2t + (i & 1), + 8 for i >= 2; col g;
//   c_i (i = 0..3): row g for i < 2, else g + 8; col 2t + (i & 1).
// ex2.approx is modeled as exp2f (its ~2^-22 error is far below f16's).
//
// The result must match a float64 softmax(q * k^T * scale) * v computed
// from the same f16-rounded q, k and v, within 1e-3 of max |v| (the f16
// rounding of the probabilities, 2^-11 relative, bounds the error), at odd
// sizes (17 and 255 tokens, head dims 72, 32, 40, 128), with every output
// element written exactly once; deliberately broken models (P's fragment
// registers swapped, V loaded without .trans, K's ldmatrix rows shifted)
// must fail.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace mlir::hqdm::gpu_kernels;

namespace {

/// The kernel's index arithmetic on integers.
struct IntArith {
  int64_t idx(int64_t v) { return v; }
  int64_t add(int64_t x, int64_t y) { return x + y; }
  int64_t sub(int64_t x, int64_t y) { return x - y; }
  int64_t mul(int64_t x, int64_t y) { return x * y; }
  int64_t div(int64_t x, int64_t y) {
    return static_cast<int64_t>(static_cast<uint64_t>(x) /
                                static_cast<uint64_t>(y));
  }
  int64_t rem(int64_t x, int64_t y) {
    return static_cast<int64_t>(static_cast<uint64_t>(x) %
                                static_cast<uint64_t>(y));
  }
  int64_t ult(int64_t x, int64_t y) {
    return static_cast<uint64_t>(x) < static_cast<uint64_t>(y);
  }
  int64_t andI(int64_t x, int64_t y) { return x & y; }
  int64_t select(int64_t c, int64_t x, int64_t y) { return c ? x : y; }
};

/// The softmax's f32 arithmetic (arith.maximumf propagates NaN).
struct FloatArith {
  float constant(double v) { return static_cast<float>(v); }
  float negInf() { return -std::numeric_limits<float>::infinity(); }
  float zero() { return 0.0f; }
  float maximum(float x, float y) {
    if (std::isnan(x) || std::isnan(y))
      return std::numeric_limits<float>::quiet_NaN();
    return x > y ? x : y;
  }
  float add(float x, float y) { return x + y; }
  float sub(float x, float y) { return x - y; }
  float mul(float x, float y) { return x * y; }
  float ex2(float x) { return std::exp2f(x); }
  float select(bool c, float x, float y) { return c ? x : y; }
};

/// f32 -> f16 (round to nearest even, as cvt.rn.f16.f32), as a float.
float toHalf(float x) {
  if (std::isnan(x) || std::isinf(x))
    return x;
  float a = std::fabs(x);
  if (a >= 65520.0f) // rounds to infinity
    return std::copysign(std::numeric_limits<float>::infinity(), x);
  // Quantum of the f16 binade of a (subnormals: 2^-24).
  int e;
  std::frexp(a, &e); // a = m * 2^e, m in [0.5, 1)
  int exponent = std::max(e - 1, -14);
  float quantum = std::ldexp(1.0f, exponent - 10);
  float q = std::nearbyint(a / quantum) * quantum; // ties to even (default)
  return std::copysign(q, x);
}

/// How the replay deviates from the kernel, to check that the test notices.
enum class Break { None, SwapProbabilityRegisters, ValueWithoutTranspose,
                   ShiftKeyRows };

using Pair = std::array<float, 2>;
using AFrag = std::array<Pair, 4>;
using BFrag = std::array<Pair, 2>;
using CFrag = std::array<float, 4>;

/// mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 of one warp, from the
/// PTX ISA's fragment layouts; fails unless they cover A and B exactly once.
::testing::AssertionResult mmaSync(const std::array<AFrag, 32> &a,
                                   const std::array<BFrag, 32> &b,
                                   std::array<CFrag, 32> &c) {
  double matA[16][16], matB[16][8];
  int countA[16][16] = {}, countB[16][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 8; ++i) {
      int row = (i < 2 || (i >= 4 && i < 6)) ? g : g + 8;
      int col = 2 * t + (i & 1) + (i >= 4 ? 8 : 0);
      matA[row][col] = a[lane][i / 2][i % 2];
      ++countA[row][col];
    }
    for (int i = 0; i < 4; ++i) {
      int row = 2 * t + (i & 1) + (i >= 2 ? 8 : 0);
      matB[row][g] = b[lane][i / 2][i % 2];
      ++countB[row][g];
    }
  }
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      if (countA[i][k] != 1)
        return ::testing::AssertionFailure() << "A[" << i << "][" << k
                                             << "] held " << countA[i][k];
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      if (countB[k][j] != 1)
        return ::testing::AssertionFailure() << "B[" << k << "][" << j
                                             << "] held " << countB[k][j];
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) {
      int row = i < 2 ? g : g + 8, col = 2 * t + (i & 1);
      double sum = 0; // f16 products are exact; at least f32 inside
      for (int k = 0; k < 16; ++k)
        sum += matA[row][k] * matB[k][col];
      c[lane][i] = static_cast<float>(c[lane][i] + sum);
    }
  }
  return ::testing::AssertionSuccess();
}

/// A shared-memory tile of f16 values [rows][sharedRow], NaN where unwritten.
struct SharedTile {
  int64_t rows, cols;
  std::vector<float> data;
  void poison() {
    data.assign(rows * cols, std::numeric_limits<float>::quiet_NaN());
  }
  float &at(int64_t r, int64_t c) { return data.at(r * cols + c); }
};

/// ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16: `rowAddress[lane]` is
/// the element lane gives for row lane % 8 of matrix lane / 8.
std::array<std::array<Pair, 4>, 32>
ldmatrix(SharedTile &tile, const std::array<Element<int64_t>, 32> &rowAddress,
         bool transpose) {
  std::array<std::array<Pair, 4>, 32> out;
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int m = 0; m < 4; ++m) {
      auto element = [&](int row, int col) {
        Element<int64_t> base = rowAddress[8 * m + row];
        return tile.at(base.row, base.col + col);
      };
      if (transpose)
        out[lane][m] = {element(2 * t, g), element(2 * t + 1, g)};
      else
        out[lane][m] = {element(g, 2 * t), element(g, 2 * t + 1)};
    }
  }
  return out;
}

struct Problem {
  AttentionConfig config;
  std::vector<float> q, k, v; ///< The flat buffers (q, k, v may share).
  bool shared = false;        ///< q, k and v all live in `q`.
};

const std::vector<float> &buffer(const Problem &p, char which) {
  if (p.shared || which == 'q')
    return p.q;
  return which == 'k' ? p.k : p.v;
}

/// The f16-rounded element (bh, row, col) of operand `o` of buffer `data`.
float element(const std::vector<float> &data, const AttentionOperand &o,
              int64_t bh, int64_t row, int64_t col) {
  IntArith a;
  int64_t index = operandIndex(a, o, batchOffset(a, o, bh), row, col);
  return toHalf(data.at(index));
}

/// Replays the kernel on every block; returns the output buffer (NaN where
/// it was not written), counting writes per element in `writes`.
::testing::AssertionResult replay(const Problem &problem, Break broken,
                                  std::vector<float> &out,
                                  std::vector<int> &writes) {
  const AttentionConfig &c = problem.config;
  IntArith a;
  FloatArith f;
  out.assign(c.out.elements, std::numeric_limits<float>::quiet_NaN());
  writes.assign(c.out.elements, 0);
  const std::vector<float> &qBuf = buffer(problem, 'q'),
                           &kBuf = buffer(problem, 'k'),
                           &vBuf = buffer(problem, 'v');
  bool maskColumns = c.headDim != c.headDimPad;
  int64_t kSteps = c.headDimPad / 16, sTiles = c.scoreTiles(),
          oTiles = c.outputTiles();
  SharedTile sharedK{c.blockN, c.sharedRow(), {}},
      sharedV{c.blockN, c.sharedRow(), {}};

  for (int64_t bh = 0; bh < c.batchHeads; ++bh) {
    int64_t qBase = batchOffset(a, c.q, bh), kBase = batchOffset(a, c.k, bh),
            vBase = batchOffset(a, c.v, bh), oBase = batchOffset(a, c.out, bh);
    for (int64_t bx = 0; bx < c.queryBlocks(); ++bx) {
      const int64_t warps = kThreads / 32;
      // Per warp, per lane: Q fragments, O accumulators, max and sum.
      std::vector<std::array<std::vector<AFrag>, 32>> qFrag(warps);
      std::vector<std::array<std::vector<float>, 32>> o(warps);
      std::vector<std::array<std::array<float, 2>, 32>> runMax(warps),
          runSum(warps);
      auto rowBase = [&](int64_t w) { return bx * c.blockM + w * 16; };
      for (int64_t w = 0; w < warps; ++w) {
        for (int64_t lane = 0; lane < 32; ++lane) {
          int64_t g = lane / 4, t = lane % 4;
          qFrag[w][lane].resize(kSteps);
          for (int64_t ks = 0; ks < kSteps; ++ks)
            for (int64_t r = 0; r < 4; ++r)
              for (int64_t i = 0; i < 2; ++i) {
                Element<int64_t> e = aFragmentElement(a, g, t, r, i);
                int64_t row = rowBase(w) + e.row, col = e.col + 16 * ks;
                bool valid = row < c.queries && (!maskColumns || col < c.headDim);
                int64_t index =
                    valid ? operandIndex(a, c.q, qBase, row, col) : 0;
                qFrag[w][lane][ks][r][i] =
                    valid ? toHalf(qBuf.at(index)) : 0.0f;
              }
          o[w][lane].assign(oTiles * 4, 0.0f);
          runMax[w][lane] = {f.negInf(), f.negInf()};
          runSum[w][lane] = {0.0f, 0.0f};
        }
      }

      for (int64_t kt = 0; kt < c.keyTiles(); ++kt) {
        int64_t keyBase = kt * c.blockN;
        // 1. Staging, every thread of the block.
        sharedK.poison();
        sharedV.poison();
        for (int64_t tid = 0; tid < kThreads; ++tid)
          for (int64_t copy = 0; copy < c.copiesPerThread(); ++copy) {
            Element<int64_t> e = stagedPair(a, c, tid, copy);
            int64_t key = keyBase + e.row;
            for (int pass = 0; pass < 2; ++pass) {
              const std::vector<float> &buf = pass ? vBuf : kBuf;
              const AttentionOperand &op = pass ? c.v : c.k;
              SharedTile &tile = pass ? sharedV : sharedK;
              for (int64_t i = 0; i < 2; ++i) {
                int64_t col = e.col + i;
                bool valid = key < c.keys && (!maskColumns || col < c.headDim);
                float x = valid ? toHalf(buf.at(operandIndex(
                                      a, op, pass ? vBase : kBase, key, col)))
                                : 0.0f;
                if (!std::isnan(tile.at(e.row, col)))
                  return ::testing::AssertionFailure()
                         << "shared element (" << e.row << ", " << col
                         << ") staged twice";
                tile.at(e.row, col) = x;
              }
            }
          }

        for (int64_t w = 0; w < warps; ++w) {
          // 2. S = Q K^T.
          std::array<std::vector<float>, 32> s;
          for (auto &lane : s)
            lane.assign(sTiles * 4, 0.0f);
          for (int64_t j = 0; j < sTiles / 2; ++j)
            for (int64_t ks = 0; ks < kSteps; ++ks) {
              std::array<Element<int64_t>, 32> rows;
              for (int64_t lane = 0; lane < 32; ++lane) {
                rows[lane] = keyMatrixRow(a, lane, j, ks);
                if (broken == Break::ShiftKeyRows)
                  rows[lane].row = (rows[lane].row + 1) % c.blockN;
              }
              auto regs = ldmatrix(sharedK, rows, /*transpose=*/false);
              for (int64_t half = 0; half < 2; ++half) {
                std::array<AFrag, 32> af;
                std::array<BFrag, 32> bf;
                std::array<CFrag, 32> cf;
                for (int lane = 0; lane < 32; ++lane) {
                  af[lane] = qFrag[w][lane][ks];
                  bf[lane] = {regs[lane][2 * half], regs[lane][2 * half + 1]};
                  for (int r = 0; r < 4; ++r)
                    cf[lane][r] = s[lane][(2 * j + half) * 4 + r];
                }
                ::testing::AssertionResult ok = mmaSync(af, bf, cf);
                if (!ok)
                  return ok;
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 4; ++r)
                    s[lane][(2 * j + half) * 4 + r] = cf[lane][r];
              }
            }

          // 3. Online softmax: scale and mask, tile maximum per thread, the
          // quad's shuffles (xor 1, then xor 2), rescaling, probabilities.
          std::array<std::vector<float>, 32> p16;
          std::array<std::array<float, 2>, 32> factor, tileMax;
          for (int lane = 0; lane < 32; ++lane) {
            int64_t g = lane / 4, t = lane % 4;
            p16[lane].assign(sTiles * 4, 0.0f);
            for (int64_t half = 0; half < 2; ++half) {
              float m = f.negInf();
              for (int64_t nt = 0; nt < sTiles; ++nt)
                for (int64_t r = 2 * half; r < 2 * half + 2; ++r) {
                  Element<int64_t> e = accumulatorElement(a, g, t, r);
                  bool valid = keyBase + 8 * nt + e.col < c.keys;
                  float &score = s[lane][nt * 4 + r];
                  score = scaledScore(f, c, score, valid);
                  m = f.maximum(m, score);
                }
              tileMax[lane][half] = m;
            }
          }
          for (int d : {1, 2}) {
            auto before = tileMax;
            for (int lane = 0; lane < 32; ++lane)
              for (int half = 0; half < 2; ++half)
                tileMax[lane][half] =
                    f.maximum(before[lane][half], before[lane ^ d][half]);
          }
          for (int lane = 0; lane < 32; ++lane) {
            for (int64_t half = 0; half < 2; ++half) {
              auto [newMax, fac] =
                  rescale(f, runMax[w][lane][half], tileMax[lane][half]);
              runMax[w][lane][half] = newMax;
              factor[lane][half] = fac;
              std::vector<float> rounded;
              for (int64_t nt = 0; nt < sTiles; ++nt)
                for (int64_t r = 2 * half; r < 2 * half + 2; ++r) {
                  float p = probability(f, s[lane][nt * 4 + r], newMax);
                  p16[lane][nt * 4 + r] = toHalf(p);
                  rounded.push_back(p16[lane][nt * 4 + r]);
                }
              runSum[w][lane][half] =
                  runningSum(f, runSum[w][lane][half], fac, rounded);
            }
            for (int64_t r = 0; r < oTiles * 4; ++r)
              o[w][lane][r] = f.mul(o[w][lane][r], factor[lane][(r % 4) / 2]);
          }

          // 4. O += P V.
          for (int64_t ks = 0; ks < sTiles / 2; ++ks) {
            std::array<AFrag, 32> pf;
            for (int lane = 0; lane < 32; ++lane)
              for (int64_t r = 0; r < 4; ++r) {
                int64_t rr = r;
                if (broken == Break::SwapProbabilityRegisters && (r == 1 || r == 2))
                  rr = 3 - r;
                ProbabilitySource src = probabilitySource(rr);
                int64_t base = (2 * ks + src.nOffset) * 4 + src.first;
                pf[lane][r] = {p16[lane][base], p16[lane][base + 1]};
              }
            for (int64_t j = 0; j < oTiles / 2; ++j) {
              std::array<Element<int64_t>, 32> rows;
              for (int64_t lane = 0; lane < 32; ++lane)
                rows[lane] = valueMatrixRow(a, lane, ks, j);
              auto regs = ldmatrix(sharedV, rows,
                                   broken != Break::ValueWithoutTranspose);
              for (int64_t half = 0; half < 2; ++half) {
                std::array<BFrag, 32> bf;
                std::array<CFrag, 32> cf;
                for (int lane = 0; lane < 32; ++lane) {
                  bf[lane] = {regs[lane][2 * half], regs[lane][2 * half + 1]};
                  for (int r = 0; r < 4; ++r)
                    cf[lane][r] = o[w][lane][(2 * j + half) * 4 + r];
                }
                ::testing::AssertionResult ok = mmaSync(pf, bf, cf);
                if (!ok)
                  return ok;
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 4; ++r)
                    o[w][lane][(2 * j + half) * 4 + r] = cf[lane][r];
              }
            }
          }
        }
      }

      // The quad's sums, the division, the stores.
      for (int64_t w = 0; w < warps; ++w) {
        std::array<std::array<float, 2>, 32> sum;
        for (int lane = 0; lane < 32; ++lane)
          sum[lane] = runSum[w][lane];
        for (int d : {1, 2}) {
          auto before = sum;
          for (int lane = 0; lane < 32; ++lane)
            for (int half = 0; half < 2; ++half)
              sum[lane][half] =
                  f.add(before[lane][half], before[lane ^ d][half]);
        }
        for (int lane = 0; lane < 32; ++lane) {
          int64_t g = lane / 4, t = lane % 4;
          for (int64_t nt = 0; nt < oTiles; ++nt)
            for (int64_t r = 0; r < 4; ++r) {
              Element<int64_t> e = accumulatorElement(a, g, t, r);
              int64_t row = rowBase(w) + e.row, col = e.col + 8 * nt;
              if (row >= c.queries || (maskColumns && col >= c.headDim))
                continue;
              int64_t index = operandIndex(a, c.out, oBase, row, col);
              out.at(index) = o[w][lane][nt * 4 + r] / sum[lane][r / 2];
              ++writes.at(index);
            }
        }
      }
    }
  }
  return ::testing::AssertionSuccess();
}

/// The largest |kernel - float64 reference| over max |v|.
::testing::AssertionResult compare(const Problem &p,
                                   const std::vector<float> &out,
                                   const std::vector<int> &writes,
                                   double &relError) {
  const AttentionConfig &c = p.config;
  double maxV = 0, worst = 0;
  std::vector<int> expectedWrites(c.out.elements, 0);
  for (int64_t bh = 0; bh < c.batchHeads; ++bh) {
    for (int64_t i = 0; i < c.queries; ++i) {
      std::vector<double> s(c.keys);
      double m = -INFINITY;
      for (int64_t j = 0; j < c.keys; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < c.headDim; ++d)
          dot += double(element(buffer(p, 'q'), c.q, bh, i, d)) *
                 element(buffer(p, 'k'), c.k, bh, j, d);
        s[j] = dot * c.scale;
        m = std::max(m, s[j]);
      }
      double total = 0;
      for (double &x : s)
        total += (x = std::exp(x - m));
      for (int64_t d = 0; d < c.headDim; ++d) {
        double ref = 0;
        for (int64_t j = 0; j < c.keys; ++j) {
          double vj = element(buffer(p, 'v'), c.v, bh, j, d);
          maxV = std::max(maxV, std::fabs(vj));
          ref += s[j] / total * vj;
        }
        IntArith a;
        int64_t index = operandIndex(a, c.out, batchOffset(a, c.out, bh), i, d);
        ++expectedWrites.at(index);
        worst = std::max(worst, std::fabs(double(out.at(index)) - ref));
        if (std::isnan(out.at(index)))
          worst = INFINITY;
      }
    }
  }
  if (writes != expectedWrites)
    return ::testing::AssertionFailure()
           << "the output is not written exactly once where it should be";
  relError = worst / maxV;
  if (!(relError <= 1e-3))
    return ::testing::AssertionFailure()
           << "max |error| / max |v| = " << relError;
  return ::testing::AssertionSuccess();
}

/// q, k and v sliced out of a qkv projection's output [B, T, 3, H, D], the
/// output written [B, T, H * D], as torch-mlir's DiT attention reads them.
Problem qkvProblem(int64_t batch, int64_t heads, int64_t tokens, int64_t dim,
                   unsigned seed) {
  Problem p;
  p.shared = true;
  AttentionConfig &c = p.config;
  c.name = "attention";
  c.batchHeads = batch * heads;
  c.queries = c.keys = tokens;
  c.headDim = dim;
  c.scale = 1.0 / std::sqrt(double(dim));
  int64_t row = 3 * heads * dim;
  for (int which = 0; which < 3; ++which) {
    AttentionOperand &o = which == 0 ? c.q : which == 1 ? c.k : c.v;
    o.offset = which * heads * dim;
    o.batch = {{batch, tokens * row}, {heads, dim}};
    o.rowStride = row;
    o.colStride = 1;
    o.elements = batch * tokens * row;
  }
  c.out.batch = {{batch, tokens * heads * dim}, {heads, dim}};
  c.out.rowStride = heads * dim;
  c.out.elements = batch * tokens * heads * dim;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  p.q.resize(c.q.elements);
  for (float &x : p.q)
    x = 2.0f * normal(rng) + 0.5f;
  return p;
}

/// Separate contiguous q [BH, Tq, D], k and v [BH, Tk, D]; the output
/// [BH / H, Tq, H, D] with H = 2 (a transposed store).
Problem crossProblem(int64_t batchHeads, int64_t queries, int64_t keys,
                     int64_t dim, unsigned seed) {
  Problem p;
  AttentionConfig &c = p.config;
  c.name = "attention";
  c.batchHeads = batchHeads;
  c.queries = queries;
  c.keys = keys;
  c.headDim = dim;
  c.scale = 0.3;
  auto contiguous = [&](AttentionOperand &o, int64_t rows) {
    o.batch = {{batchHeads, rows * dim}};
    o.rowStride = dim;
    o.elements = batchHeads * rows * dim;
  };
  contiguous(c.q, queries);
  contiguous(c.k, keys);
  contiguous(c.v, keys);
  c.out.batch = {{batchHeads / 2, queries * 2 * dim}, {2, dim}};
  c.out.rowStride = 2 * dim;
  c.out.elements = batchHeads * queries * dim;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto *buf : {&p.q, &p.k, &p.v}) {
    buf->resize(buf == &p.q ? c.q.elements : c.k.elements);
    for (float &x : *buf)
      x = normal(rng);
  }
  return p;
}

void expectMatches(Problem p) {
  ASSERT_EQ(planAttention(p.config), "");
  std::vector<float> out;
  std::vector<int> writes;
  ASSERT_TRUE(replay(p, Break::None, out, writes));
  double error = 0;
  EXPECT_TRUE(compare(p, out, writes, error));
  ::testing::Test::RecordProperty("max_error_over_max_v", std::to_string(error));
  std::printf("max |error| / max |v| = %.3g\n", error);
}

TEST(AttentionKernel, Tokens17HeadDim72) { expectMatches(qkvProblem(1, 2, 17, 72, 1)); }
TEST(AttentionKernel, Tokens255HeadDim32) { expectMatches(qkvProblem(2, 1, 255, 32, 2)); }
TEST(AttentionKernel, Tokens17HeadDim32) { expectMatches(qkvProblem(2, 2, 17, 32, 3)); }
TEST(AttentionKernel, Tokens255HeadDim72) { expectMatches(qkvProblem(1, 2, 255, 72, 4)); }
TEST(AttentionKernel, Tokens64HeadDim128) { expectMatches(qkvProblem(1, 1, 64, 128, 5)); }
TEST(AttentionKernel, Tokens130HeadDim64) { expectMatches(qkvProblem(1, 3, 130, 64, 6)); }
TEST(AttentionKernel, CrossAttentionHeadDim40) {
  expectMatches(crossProblem(4, 33, 70, 40, 7));
}

TEST(AttentionKernel, PlanPadsHeadDimAndFitsSharedMemory) {
  for (int64_t d : {1, 8, 32, 40, 64, 72, 80, 96, 128}) {
    Problem p = qkvProblem(1, 1, 16, d, 0);
    ASSERT_EQ(planAttention(p.config), "") << d;
    EXPECT_EQ(p.config.headDimPad % 16, 0);
    EXPECT_LT(p.config.headDimPad - d, 16);
    EXPECT_LE(p.config.sharedBytes(), 48 * 1024);
    // The staging covers each tile exactly.
    EXPECT_EQ(p.config.copiesPerThread() * kThreads * 2,
              p.config.blockN * p.config.headDimPad);
    // ldmatrix rows are 16-byte aligned; the 8 rows of a phase fall in
    // distinct 16-byte bank groups.
    int64_t rowBytes = p.config.sharedRow() * 2;
    EXPECT_EQ(rowBytes % 16, 0);
    EXPECT_EQ((rowBytes / 16) % 2, 1);
  }
  Problem wide = qkvProblem(1, 1, 16, 129, 0);
  EXPECT_NE(planAttention(wide.config), "");
}

/// Deliberately broken models must fail.
void expectBreakFails(Break broken) {
  Problem p = qkvProblem(1, 2, 40, 72, 9);
  ASSERT_EQ(planAttention(p.config), "");
  std::vector<float> out;
  std::vector<int> writes;
  ::testing::AssertionResult ran = replay(p, broken, out, writes);
  if (!ran)
    return; // a fragment layout check caught it
  double error = 0;
  EXPECT_FALSE(compare(p, out, writes, error));
}

TEST(AttentionKernel, SwappedProbabilityRegistersFail) {
  expectBreakFails(Break::SwapProbabilityRegisters);
}
TEST(AttentionKernel, ValueWithoutTransposeFails) {
  expectBreakFails(Break::ValueWithoutTranspose);
}
TEST(AttentionKernel, ShiftedKeyRowsFail) {
  expectBreakFails(Break::ShiftKeyRows);
}

} // namespace
