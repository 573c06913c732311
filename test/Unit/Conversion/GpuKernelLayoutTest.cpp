//===- GpuKernelLayoutTest.cpp - CPU model of the GEMM data path ----------===//
//
// The GEMM that convert-hqdm-to-gpu generates (lib/Conversion/HqdmToGPU/
// Kernels.cpp) cannot run without a GPU, but its data layouts can be checked
// on the CPU. This test replays, thread by thread, what the kernels do with
// the data: the prologue's packing of quantized activations (lanes OR their
// shifted levels together by XOR shuffles), the real packWeights, the
// cp.async copies of each K-tile into a two-stage shared memory, the
// fragment loads of every lane (with unpackNibbles on the 8-bit path), the
// mma.sync instructions emulated from the fragment layouts of the PTX ISA
// (mma.m16n8k32 .s8 and mma.m16n8k64 .s4, row.col, s32 accumulators that
// wrap), and the epilogue's combination of two digit planes. The integer
// result must equal sum_k x[m,k] * w[n,k] for every (m, n), for each pair
// of operand widths and both MMA kinds, on sizes that are not multiples of
// the tiles and with the tiles planLayer picks for many or few SMs.
//
// The emulated fragment layouts (g = lane / 4, t = lane % 4; element i of a
// register sits in its bits [w * i, w * (i + 1)) for elements w bits wide):
//   m16n8k32 .s8: a0 = A[g][4t + i], a1 = A[g + 8][4t + i],
//                 a2 = A[g][16 + 4t + i], a3 = A[g + 8][16 + 4t + i];
//                 b0 = B[4t + i][g], b1 = B[16 + 4t + i][g];
//   m16n8k64 .s4: the same with 8 elements a register: a0 = A[g][8t + i],
//                 a1 = A[g + 8][8t + i], a2 = A[g][32 + 8t + i],
//                 a3 = A[g + 8][32 + 8t + i]; b0 = B[8t + i][g],
//                 b1 = B[32 + 8t + i][g];
//   both:         c0, c1 = C[g][2t], C[g][2t + 1];
//                 c2, c3 = C[g + 8][2t], C[g + 8][2t + 1].
//
// The wgmma GEMM of sm_90a (lib/Conversion/HqdmToGPU/WgmmaKernel.cpp) is
// replayed the same way: its cp.async copies into the shared-memory layout
// that WgmmaTileLayout describes (at simulated shared-window addresses, each
// byte tagged with the K tile that wrote it), the matrix descriptors it
// builds, decoded by the PTX ISA's rules (start address, leading and stride
// byte offsets, no swizzle), the K-major operands those descriptors select
// (element (i, k) of a core-matrix tile at start + (i / 8) * SBO +
// (k / 16) * LBO + (i % 8) * 16 + k % 16), wgmma.mma_async m64nNk32 s8
// scattering D over the warpgroup by the PTX accumulator fragment
//   d[4j + r] of thread (warp w, lane g * 4 + t) =
//       D[16w + g + 8 (r / 2)][8j + 2t + r % 2],
// and the epilogue's row/column mapping. Deliberately broken variants (LBO
// and SBO swapped, a fragment row shifted) must fail.
//
// The convolution cases (GpuConvLayout) replay the implicit GEMM: the conv
// prologue's per-pixel packing (NHWC, channels padded to 32), the A loader's
// gather through the very index code the kernel is built from
// (convGatherSource and convOutputPixel, instantiated on integers), zero
// fill for taps outside the input, the real convWeightsToGemm and
// packWeights, and the NCHW store; the result must equal an int64 direct
// convolution at odd shapes, strides, paddings and dilations.
//
// TwoPlaneDigitsAtTheAcceptedBound checks w = +-(127 * 128 + 64), the
// largest weights convert-hqdm-to-gpu accepts for two int8 digits (the test
// found that packWeights first split 16320 as hi = 128, which wraps).
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace mlir::hqdm::gpu_kernels;

namespace {

constexpr uint32_t kPoison = 0xDEADBEEFu;

//===----------------------------------------------------------------------===//
// Bit-level helpers
//===----------------------------------------------------------------------===//

/// Kernels.cpp's unpackNibbles in 32-bit unsigned arithmetic: the even
/// nibbles of `w` sign-extended to bytes (first), and the odd ones (second).
std::pair<uint32_t, uint32_t> unpackNibbles(uint32_t w) {
  auto extend = [](uint32_t nibbles) {
    uint32_t v = nibbles ^ 0x08080808u;
    v += 0x78787878u;
    return v ^ 0x80808080u;
  };
  return {extend(w & 0x0F0F0F0Fu), extend((w >> 4) & 0x0F0F0F0Fu)};
}

/// The signed `bits`-wide field `index` of `word`.
int64_t signedField(uint32_t word, unsigned bits, unsigned index) {
  uint32_t mask = (1u << bits) - 1;
  int64_t v = (word >> (bits * index)) & mask;
  return v >= (int64_t(1) << (bits - 1)) ? v - (int64_t(1) << bits) : v;
}

int32_t wrapAdd(int32_t x, int32_t y) {
  return static_cast<int32_t>(static_cast<uint32_t>(x) +
                              static_cast<uint32_t>(y));
}

//===----------------------------------------------------------------------===//
// mma.sync from the PTX fragment layouts
//===----------------------------------------------------------------------===//

using AFrag = std::array<uint32_t, 4>;
using BFrag = std::array<uint32_t, 2>;
using CFrag = std::array<int32_t, 4>;

/// One warp's mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 (s4 = false)
/// or m16n8k64.row.col.s32.s4.s4.s32 (s4 = true): scatters the lanes'
/// fragments into A (16 x K) and B (K x 8) by the PTX layouts, multiplies
/// and adds the product to the lanes' accumulators, wrapping as s32 does.
/// Fails if the layout tables do not cover A and B exactly once.
::testing::AssertionResult mmaSync(bool s4, const std::array<AFrag, 32> &a,
                                   const std::array<BFrag, 32> &b,
                                   std::array<CFrag, 32> &c) {
  const int kDim = s4 ? 64 : 32, perReg = s4 ? 8 : 4;
  const unsigned bits = s4 ? 4 : 8;
  int64_t matA[16][64] = {}, matB[64][8] = {};
  int countA[16][64] = {}, countB[64][8] = {};
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int r = 0; r < 4; ++r) {
      for (int i = 0; i < perReg; ++i) {
        int row = g + ((r & 1) ? 8 : 0);
        int col = perReg * t + i + ((r & 2) ? kDim / 2 : 0);
        matA[row][col] = signedField(a[lane][r], bits, i);
        ++countA[row][col];
      }
    }
    for (int r = 0; r < 2; ++r) {
      for (int i = 0; i < perReg; ++i) {
        int row = perReg * t + i + (r ? kDim / 2 : 0);
        matB[row][g] = signedField(b[lane][r], bits, i);
        ++countB[row][g];
      }
    }
  }
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < kDim; ++k)
      if (countA[i][k] != 1)
        return ::testing::AssertionFailure()
               << "A[" << i << "][" << k << "] held " << countA[i][k]
               << " times";
  for (int k = 0; k < kDim; ++k)
    for (int j = 0; j < 8; ++j)
      if (countB[k][j] != 1)
        return ::testing::AssertionFailure()
               << "B[" << k << "][" << j << "] held " << countB[k][j]
               << " times";
  int64_t d[16][8] = {};
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j)
      for (int k = 0; k < kDim; ++k)
        d[i][j] += matA[i][k] * matB[k][j];
  for (int lane = 0; lane < 32; ++lane) {
    int g = lane / 4, t = lane % 4;
    for (int r = 0; r < 4; ++r) {
      int row = g + (r >= 2 ? 8 : 0), col = 2 * t + (r & 1);
      c[lane][r] = wrapAdd(c[lane][r], static_cast<int32_t>(d[row][col]));
    }
  }
  return ::testing::AssertionSuccess();
}

//===----------------------------------------------------------------------===//
// The prologue's packing
//===----------------------------------------------------------------------===//

/// Packed activations [mPad, activationWords] as the prologue writes them
/// from the quantized levels x ([m, k]): one warp a row (kThreads / 32 rows
/// a block, mPad / 4 blocks), 32 elements a chunk, lane `l` holding element
/// chunk * 32 + l (0 outside the tensor), OR-ing its shifted level with
/// those of its word's lanes by XOR shuffles, the word's first lane storing.
std::vector<uint32_t> packActivations(const LayerKernelConfig &c,
                                      const std::vector<int64_t> &x) {
  int64_t words = c.activationWords();
  std::vector<uint32_t> packed(c.mPad * words, kPoison);
  const int64_t rowsPerBlock = kThreads / 32;
  const int64_t perWord = 32 / c.activationBits;
  const uint32_t mask = (1u << c.activationBits) - 1;
  for (int64_t bid = 0; bid < c.mPad / rowsPerBlock; ++bid) {
    for (int64_t warp = 0; warp < rowsPerBlock; ++warp) {
      int64_t row = bid * rowsPerBlock + warp;
      for (int64_t chunk = 0; chunk < c.kPad / 32; ++chunk) {
        std::array<uint32_t, 32> word;
        for (int64_t lane = 0; lane < 32; ++lane) {
          int64_t e = chunk * 32 + lane;
          int64_t q = (row < c.m && e < c.k) ? x[row * c.k + e] : 0;
          uint32_t slot = lane & (perWord - 1);
          word[lane] = (static_cast<uint32_t>(q) & mask)
                       << (slot * c.activationBits);
        }
        for (int64_t s = 1; s < perWord; s *= 2) {
          std::array<uint32_t, 32> next;
          for (int64_t lane = 0; lane < 32; ++lane)
            next[lane] = word[lane] | word[lane ^ s];
          word = next;
        }
        for (int64_t lane = 0; lane < 32; ++lane)
          if (lane % perWord == 0)
            packed[row * words + chunk * (32 / perWord) + lane / perWord] =
                word[lane];
      }
    }
  }
  return packed;
}

/// Packed pixels [pixels, channelsPad * bits / 32] as the conv prologue
/// writes them from the levels x ([N, C, H, W]): thread `p` of the grid
/// holds pixel p and, per 32-channel chunk, ORs each level into word
/// e / perWord at bits (e mod perWord) * bits (0 past C).
std::vector<uint32_t> packConvActivations(const LayerKernelConfig &c,
                                          const std::vector<int64_t> &x) {
  const ConvGeometry &g = *c.conv;
  const int64_t rowWords = g.channelsPad() * c.activationBits / 32;
  const int64_t perWord = 32 / c.activationBits;
  const uint32_t mask = (1u << c.activationBits) - 1;
  std::vector<uint32_t> packed(g.pixels() * rowWords, kPoison);
  const int64_t plane = g.height * g.width;
  for (int64_t p = 0; p < c.prologueBlocks() * kThreads; ++p) {
    if (p >= g.pixels())
      continue;
    int64_t n = p / plane, hw = p % plane;
    for (int64_t chunk = 0; chunk < g.channelsPad() / 32; ++chunk) {
      std::vector<uint32_t> words(c.activationBits, 0);
      for (int64_t e = 0; e < 32; ++e) {
        int64_t ch = chunk * 32 + e;
        int64_t q = ch < g.channels ? x[(n * g.channels + ch) * plane + hw] : 0;
        words[e / perWord] |= (static_cast<uint32_t>(q) & mask)
                              << ((e % perWord) * c.activationBits);
      }
      for (int64_t j = 0; j < int64_t(words.size()); ++j)
        packed[p * rowWords + chunk * c.activationBits + j] = words[j];
    }
  }
  return packed;
}

/// Integer arithmetic with the kernel builder's interface, to run the
/// kernel's index code (Kernels.h) on the CPU: index arithmetic wraps and
/// compares unsigned, as in the kernels.
struct IntArith {
  using V = int64_t;
  V idx(int64_t v) { return v; }
  V add(V x, V y) { return V(uint64_t(x) + uint64_t(y)); }
  V sub(V x, V y) { return V(uint64_t(x) - uint64_t(y)); }
  V mul(V x, V y) { return V(uint64_t(x) * uint64_t(y)); }
  V div(V x, V y) { return V(uint64_t(x) / uint64_t(y)); }
  V rem(V x, V y) { return V(uint64_t(x) % uint64_t(y)); }
  V ult(V x, V y) { return uint64_t(x) < uint64_t(y); }
  V andI(V x, V y) { return x && y; }
  V select(V c, V x, V y) { return c ? x : y; }
};

//===----------------------------------------------------------------------===//
// The GEMM
//===----------------------------------------------------------------------===//

/// A [2, rows, cols] shared-memory buffer of 32-bit words.
struct SharedTile {
  int64_t rows, cols;
  std::vector<uint32_t> words;
  SharedTile(int64_t rows, int64_t cols)
      : rows(rows), cols(cols), words(2 * rows * cols, kPoison) {}
  uint32_t &at(int64_t stage, int64_t row, int64_t col) {
    return words[(stage * rows + row) * cols + col];
  }
};

/// Runs the GEMM's integer data path on packed operands and returns the
/// integers its epilogue would convert ([m, n], row-major), or fails.
::testing::AssertionResult runGemm(const LayerKernelConfig &c,
                                   const std::vector<uint32_t> &packedA,
                                   const std::vector<int32_t> &packedW,
                                   std::vector<int32_t> &out) {
  const bool int4 = c.mma == MmaKind::Int4;
  const int64_t aWords = c.tileK() * c.activationBits / 32;
  const int64_t bWords = c.tileK() * c.weightBits / 32;
  const int64_t aRowWords = c.activationWords(), wRowWords = c.weightWords();
  const int64_t warpM = c.tileM / 2, warpN = c.tileN / 2;
  const int64_t mTiles = warpM / 16, nTiles = warpN / 8;
  const int64_t kTiles = c.kPad / c.tileK();
  const int64_t kStep = int4 ? 64 : 32, steps = c.tileK() / kStep;
  const int64_t numAcc = c.weightPlanes * mTiles * nTiles * 4;
  auto accIndex = [&](int64_t p, int64_t mt, int64_t nt, int64_t r) {
    return ((p * mTiles + mt) * nTiles + nt) * 4 + r;
  };

  out.assign(c.m * c.n, 0);
  std::vector<int> written(c.m * c.n, 0);
  SharedTile sa(c.tileM, aWords + 4), sb(c.weightPlanes * c.tileN, bWords + 4);
  std::string error;

  for (int64_t by = 0; by < c.mPad / c.tileM; ++by) {
    for (int64_t bx = 0; bx < c.nPad / c.tileN; ++bx) {
      const int64_t blockM = by * c.tileM, blockN = bx * c.tileN;

      // loadTile: 16-byte copies spread over the block's threads.
      auto loadTile = [&](int64_t kt, int64_t stage) {
        auto copyRows = [&](int64_t rows, int64_t words, auto &&copy) {
          int64_t chunksPerRow = words / 4, total = rows * chunksPerRow;
          for (int64_t base = 0; base < total; base += kThreads) {
            for (int64_t tid = 0; tid < kThreads; ++tid) {
              int64_t id = tid + base;
              int64_t r = id / chunksPerRow, col = (id % chunksPerRow) * 4;
              if (r >= rows || col + 4 > words) {
                error = "a cp.async writes past its shared tile";
                return;
              }
              for (int64_t e = 0; e < 4 && error.empty(); ++e)
                copy(r, col + e);
            }
          }
        };
        int64_t aCol0 = kt * aWords;
        copyRows(c.tileM, aWords, [&](int64_t r, int64_t col) {
          if (c.conv) {
            // The 16-byte copy that holds word `col`: its source from the
            // kernel's gather code, zero-filled outside the input.
            int64_t first = col - col % 4;
            IntArith ia;
            ConvSource<int64_t> src =
                convGatherSource(ia, c, blockM + r, aCol0 + first);
            int64_t rowWords = c.conv->channelsPad() * c.activationBits / 32;
            if (!src.valid) {
              sa.at(stage, r, col) = 0;
              return;
            }
            if (src.row >= c.conv->pixels() || src.word % 4 != 0 ||
                src.word + 4 > rowWords) {
              error = "a gathered cp.async reads outside the packed pixels";
              return;
            }
            sa.at(stage, r, col) =
                packedA[src.row * rowWords + src.word + col % 4];
            return;
          }
          if (blockM + r >= c.mPad || aCol0 + col >= aRowWords) {
            error = "a cp.async reads outside the packed input";
            return;
          }
          sa.at(stage, r, col) =
              packedA[(blockM + r) * aRowWords + aCol0 + col];
        });
        int64_t bCol0 = kt * bWords;
        for (int64_t p = 0; p < c.weightPlanes; ++p)
          copyRows(c.tileN, bWords, [&](int64_t r, int64_t col) {
            if (blockN + r >= c.nPad || bCol0 + col >= wRowWords) {
              error = "a cp.async reads outside the packed weight";
              return;
            }
            sb.at(stage, p * c.tileN + r, col) = static_cast<uint32_t>(
                packedW[(p * c.nPad + blockN + r) * wRowWords + bCol0 + col]);
          });
      };

      // Accumulators of every thread: [warp][lane][numAcc].
      std::vector<std::array<std::vector<int32_t>, 32>> acc(kThreads / 32);
      for (auto &warp : acc)
        for (auto &lane : warp)
          lane.assign(numAcc, 0);

      loadTile(0, 0);
      for (int64_t kt = 0; kt < kTiles; ++kt) {
        int64_t stage = kt % 2;
        loadTile(std::min(kt + 1, kTiles - 1), 1 - stage);
        if (!error.empty())
          return ::testing::AssertionFailure() << error;
        // Reads only the tile's words, never the row padding.
        auto readA = [&](int64_t r, int64_t col) {
          if (col >= aWords)
            error = "an A fragment reads shared row padding";
          return sa.at(stage, r, col);
        };
        auto readB = [&](int64_t r, int64_t col) {
          if (col >= bWords)
            error = "a B fragment reads shared row padding";
          return sb.at(stage, r, col);
        };
        for (int64_t warp = 0; warp < kThreads / 32; ++warp) {
          int64_t warpRow = (warp / 2) * warpM, warpCol = (warp % 2) * warpN;
          for (int64_t ks = 0; ks < steps; ++ks) {
            std::vector<std::array<AFrag, 32>> aFrag(mTiles);
            for (int64_t mt = 0; mt < mTiles; ++mt) {
              for (int64_t lane = 0; lane < 32; ++lane) {
                int64_t g = lane / 4, t = lane % 4;
                int64_t r0 = warpRow + mt * 16 + g, r1 = r0 + 8;
                if (c.activationBits == 4 && !int4) {
                  int64_t col = ks * 4 + t;
                  auto [lo0, hi0] = unpackNibbles(readA(r0, col));
                  auto [lo1, hi1] = unpackNibbles(readA(r1, col));
                  aFrag[mt][lane] = {lo0, lo1, hi0, hi1};
                } else {
                  int64_t col0 = ks * 8 + t, col1 = ks * 8 + 4 + t;
                  aFrag[mt][lane] = {readA(r0, col0), readA(r1, col0),
                                     readA(r0, col1), readA(r1, col1)};
                }
              }
            }
            for (int64_t p = 0; p < c.weightPlanes; ++p) {
              for (int64_t nt = 0; nt < nTiles; ++nt) {
                std::array<BFrag, 32> bFrag;
                for (int64_t lane = 0; lane < 32; ++lane) {
                  int64_t g = lane / 4, t = lane % 4;
                  int64_t n = p * c.tileN + nt * 8 + warpCol + g;
                  if (c.weightBits == 4 && !int4) {
                    auto [lo, hi] = unpackNibbles(readB(n, ks * 4 + t));
                    bFrag[lane] = {lo, hi};
                  } else {
                    bFrag[lane] = {readB(n, ks * 8 + t),
                                   readB(n, ks * 8 + 4 + t)};
                  }
                }
                if (!error.empty())
                  return ::testing::AssertionFailure() << error;
                for (int64_t mt = 0; mt < mTiles; ++mt) {
                  std::array<CFrag, 32> cFrag;
                  for (int64_t lane = 0; lane < 32; ++lane)
                    for (int64_t r = 0; r < 4; ++r)
                      cFrag[lane][r] = acc[warp][lane][accIndex(p, mt, nt, r)];
                  ::testing::AssertionResult ok =
                      mmaSync(int4, aFrag[mt], bFrag, cFrag);
                  if (!ok)
                    return ok;
                  for (int64_t lane = 0; lane < 32; ++lane)
                    for (int64_t r = 0; r < 4; ++r)
                      acc[warp][lane][accIndex(p, mt, nt, r)] = cFrag[lane][r];
                }
              }
            }
          }
        }
      }

      // Epilogue: thread (g, t) holds rows g, g + 8 and columns 2t, 2t + 1
      // of each 16 x 8 tile; planes combine as lo + (hi << 7).
      for (int64_t warp = 0; warp < kThreads / 32; ++warp) {
        int64_t warpRow = (warp / 2) * warpM, warpCol = (warp % 2) * warpN;
        for (int64_t lane = 0; lane < 32; ++lane) {
          int64_t g = lane / 4, t = lane % 4;
          for (int64_t mt = 0; mt < mTiles; ++mt) {
            for (int64_t half = 0; half < 2; ++half) {
              int64_t row = blockM + warpRow + mt * 16 + half * 8 + g;
              for (int64_t nt = 0; nt < nTiles; ++nt) {
                for (int64_t j = 0; j < 2; ++j) {
                  int64_t r = half * 2 + j;
                  int64_t col = blockN + warpCol + nt * 8 + j + 2 * t;
                  int32_t total = acc[warp][lane][accIndex(0, mt, nt, r)];
                  if (c.weightPlanes == 2)
                    total = wrapAdd(
                        total, static_cast<int32_t>(
                                   static_cast<uint32_t>(
                                       acc[warp][lane][accIndex(1, mt, nt, r)])
                                   << 7));
                  if (row < c.m && col < c.n) {
                    out[row * c.n + col] = total;
                    ++written[row * c.n + col];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  for (int64_t i = 0; i < c.m * c.n; ++i)
    if (written[i] != 1)
      return ::testing::AssertionFailure()
             << "output (" << i / c.n << ", " << i % c.n << ") written "
             << written[i] << " times";
  return ::testing::AssertionSuccess();
}

//===----------------------------------------------------------------------===//
// The wgmma GEMM
//===----------------------------------------------------------------------===//

/// Deliberate breakages of the wgmma model, which the checks must catch.
enum class Mutation {
  None,
  /// Descriptors with the leading and stride byte offsets exchanged.
  SwapLeadingAndStride,
  /// The epilogue reads fragment rows g + 8 (r / 2) as g + 8 ((r + 1) / 2 % 2).
  ShiftFragmentRow,
};

/// A matrix descriptor decoded by the PTX ISA's rules.
struct Descriptor {
  uint64_t start, leading, stride;
  unsigned baseOffset, swizzle;
};

Descriptor decode(uint64_t d) {
  return {(d & 0x3FFF) << 4, ((d >> 16) & 0x3FFF) << 4,
          ((d >> 32) & 0x3FFF) << 4, unsigned((d >> 49) & 7),
          unsigned(d >> 62)};
}

/// The shared-memory window: bytes, each tagged with the K tile whose copy
/// wrote it (-1: never written).
struct SharedWindow {
  std::vector<uint8_t> bytes;
  std::vector<int64_t> tile;
  explicit SharedWindow(int64_t size) : bytes(size, 0xEF), tile(size, -1) {}
};

/// The [rows x 32] s8 operand a no-swizzle K-major descriptor selects, read
/// from the window; fails unless every byte was written by K tile `kt`.
::testing::AssertionResult readOperand(const SharedWindow &window,
                                       uint64_t desc, int64_t rows, int64_t kt,
                                       std::vector<int64_t> &out) {
  Descriptor d = decode(desc);
  if (d.swizzle != 0 || d.baseOffset != 0)
    return ::testing::AssertionFailure() << "a descriptor asks for swizzling";
  out.assign(rows * 32, 0);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t k = 0; k < 32; ++k) {
      uint64_t at = d.start + (i / 8) * d.stride + (k / 16) * d.leading +
                    (i % 8) * 16 + k % 16;
      if (at >= window.bytes.size() || window.tile[at] != kt)
        return ::testing::AssertionFailure()
               << "wgmma reads element (" << i << ", " << k << ") at byte "
               << at << ", which K tile " << kt << " did not write (tag "
               << (at < window.tile.size() ? window.tile[at] : -2) << ")";
      out[i * 32 + k] = static_cast<int8_t>(window.bytes[at]);
    }
  }
  return ::testing::AssertionSuccess();
}

/// One wgmma.mma_async m64nNk32 .s32.s8.s8 with A [64 x 32] and B [N x 32]
/// (both K-major): D = A * B^T added to the warpgroup's accumulators
/// acc[thread][N / 2] by the PTX fragment of D, wrapping as s32 does; fails
/// unless the fragment covers D exactly once.
::testing::AssertionResult wgmma(int64_t n, const std::vector<int64_t> &a,
                                 const std::vector<int64_t> &b,
                                 std::vector<std::vector<int32_t>> &acc) {
  std::vector<int> count(64 * n, 0);
  for (int64_t tid = 0; tid < kThreads; ++tid) {
    int64_t warp = tid / 32, g = (tid % 32) / 4, t = tid % 4;
    for (int64_t v = 0; v < n / 2; ++v) {
      int64_t j = v / 4, r = v % 4;
      int64_t row = 16 * warp + g + 8 * (r / 2), col = 8 * j + 2 * t + r % 2;
      int64_t sum = 0;
      for (int64_t k = 0; k < 32; ++k)
        sum += a[row * 32 + k] * b[col * 32 + k];
      acc[tid][v] = wrapAdd(acc[tid][v], static_cast<int32_t>(sum));
      ++count[row * n + col];
    }
  }
  for (int64_t i = 0; i < 64 * n; ++i)
    if (count[i] != 1)
      return ::testing::AssertionFailure() << "D[" << i / n << "][" << i % n
                                           << "] held " << count[i] << " times";
  return ::testing::AssertionSuccess();
}

/// Runs the wgmma GEMM's data path on packed operands (bytes) and returns
/// the integers its epilogue would convert ([m, n], row-major), or fails.
::testing::AssertionResult runWgmmaGemm(const LayerKernelConfig &c,
                                        const std::vector<uint32_t> &packedA,
                                        const std::vector<int32_t> &packedW,
                                        std::vector<int32_t> &out,
                                        Mutation mutation) {
  const WgmmaTileLayout layoutA = wgmmaLayoutA(c), layoutB = wgmmaLayoutB(c);
  const int64_t stageA = layoutA.bytes();
  const int64_t stageB = c.weightPlanes * layoutB.bytes();
  // Two 128-byte aligned buffers, as the kernel declares them, away from 0.
  const int64_t baseA = 1024, baseB = baseA + 2 * stageA + 384;
  const int64_t aRowWords = c.activationWords(), wRowWords = c.weightWords();
  const int64_t tileWords = c.tileK() / 4;
  const int64_t kTiles = c.kPad / c.tileK(), mBlocks = c.tileM / 64;
  if (c.mma != MmaKind::Wgmma || c.activationBits != 8 || c.weightBits != 8)
    return ::testing::AssertionFailure() << "not a wgmma configuration";

  out.assign(c.m * c.n, 0);
  std::vector<int> written(c.m * c.n, 0);
  for (int64_t by = 0; by < c.mPad / c.tileM; ++by) {
    for (int64_t bx = 0; bx < c.nPad / c.tileN; ++bx) {
      const int64_t blockM = by * c.tileM, blockN = bx * c.tileN;
      SharedWindow window(baseB + 2 * stageB + 1024);
      std::string error;

      // loadTile: 16-byte copies, consecutive threads on consecutive
      // chunks of a row.
      auto copyTile = [&](auto &&word, int64_t row0, int64_t base,
                          int64_t stageBytes, const WgmmaTileLayout &layout,
                          int64_t kt, int64_t stage) {
        for (int64_t first = 0; first < layout.rows * layout.chunks;
             first += kThreads) {
          for (int64_t tid = 0; tid < kThreads; ++tid) {
            int64_t id = tid + first;
            int64_t chunk = id % layout.chunks, row = id / layout.chunks;
            int64_t offset = layout.offset(chunk, row);
            if (row >= layout.rows || offset % 16 != 0 || offset < 0 ||
                offset + 16 > layout.bytes()) {
              error = "a cp.async writes outside its tile";
              return;
            }
            int64_t at = base + stage * stageBytes + offset;
            for (int64_t e = 0; e < 4; ++e) {
              uint32_t v = word(row0 + row, kt * tileWords + chunk * 4 + e);
              for (int64_t byte = 0; byte < 4; ++byte) {
                window.bytes[at + 4 * e + byte] = uint8_t(v >> (8 * byte));
                window.tile[at + 4 * e + byte] = kt;
              }
            }
          }
        }
      };
      auto loadTile = [&](int64_t kt, int64_t stage) {
        copyTile(
            [&](int64_t r, int64_t col) -> uint32_t {
              if (r >= c.mPad || col >= aRowWords) {
                error = "a cp.async reads outside the packed input";
                return 0;
              }
              return packedA[r * aRowWords + col];
            },
            blockM, baseA, stageA, layoutA, kt, stage);
        for (int64_t p = 0; p < c.weightPlanes; ++p)
          copyTile(
              [&](int64_t r, int64_t col) -> uint32_t {
                if (r >= c.nPad || col >= wRowWords) {
                  error = "a cp.async reads outside the packed weight";
                  return 0;
                }
                return static_cast<uint32_t>(
                    packedW[(p * c.nPad + r) * wRowWords + col]);
              },
              blockN, baseB + p * layoutB.bytes(), stageB, layoutB, kt, stage);
      };
      // The kernel's descriptor: the address field at run time, the rest
      // from wgmmaDescriptor.
      auto descriptor = [&](int64_t address, const WgmmaTileLayout &layout) {
        int64_t leading = layout.leadingByteOffset();
        int64_t stride = layout.strideByteOffset();
        if (mutation == Mutation::SwapLeadingAndStride)
          std::swap(leading, stride);
        return ((uint64_t(address) & 0x3FFFF) >> 4) |
               wgmmaDescriptor(0, leading, stride);
      };

      // Accumulators: [plane][m block][thread][tileN / 2].
      std::vector<std::vector<std::vector<std::vector<int32_t>>>> acc(
          c.weightPlanes,
          std::vector<std::vector<std::vector<int32_t>>>(
              mBlocks, std::vector<std::vector<int32_t>>(
                           kThreads, std::vector<int32_t>(c.tileN / 2, 0))));
      loadTile(0, 0);
      for (int64_t kt = 0; kt < kTiles; ++kt) {
        int64_t stage = kt % 2;
        loadTile(std::min(kt + 1, kTiles - 1), 1 - stage);
        if (!error.empty())
          return ::testing::AssertionFailure() << error;
        int64_t atA = baseA + stage * stageA, atB = baseB + stage * stageB;
        for (int64_t ks = 0; ks < c.tileK() / 32; ++ks) {
          for (int64_t mb = 0; mb < mBlocks; ++mb) {
            std::vector<int64_t> a;
            ::testing::AssertionResult ok = readOperand(
                window,
                descriptor(atA + layoutA.offset(2 * ks, 64 * mb), layoutA), 64,
                kt, a);
            if (!ok)
              return ok;
            for (int64_t p = 0; p < c.weightPlanes; ++p) {
              std::vector<int64_t> b;
              ok = readOperand(window,
                               descriptor(atB + p * layoutB.bytes() +
                                              layoutB.offset(2 * ks, 0),
                                          layoutB),
                               c.tileN, kt, b);
              if (!ok)
                return ok;
              ok = wgmma(c.tileN, a, b, acc[p][mb]);
              if (!ok)
                return ok;
            }
          }
        }
      }

      // Epilogue: thread (warp, g, t), register 4j + 2 half + e: row
      // 64 mb + 16 warp + 8 half + g, column 8j + 2t + e; planes combine
      // as lo + (hi << 7).
      for (int64_t tid = 0; tid < kThreads; ++tid) {
        int64_t warp = tid / 32, g = (tid % 32) / 4, t = tid % 4;
        for (int64_t mb = 0; mb < mBlocks; ++mb) {
          for (int64_t half = 0; half < 2; ++half) {
            int64_t rowHalf =
                mutation == Mutation::ShiftFragmentRow ? (half + 1) % 2 : half;
            int64_t row = blockM + 64 * mb + 16 * warp + 8 * rowHalf + g;
            for (int64_t j = 0; j < c.tileN / 8; ++j) {
              for (int64_t e = 0; e < 2; ++e) {
                int64_t r = 4 * j + 2 * half + e;
                int64_t col = blockN + 8 * j + e + 2 * t;
                int32_t total = acc[0][mb][tid][r];
                if (c.weightPlanes == 2)
                  total = wrapAdd(
                      total,
                      static_cast<int32_t>(
                          static_cast<uint32_t>(acc[1][mb][tid][r]) << 7));
                if (row < c.m && col < c.n) {
                  out[row * c.n + col] = total;
                  ++written[row * c.n + col];
                }
              }
            }
          }
        }
      }
    }
  }
  for (int64_t i = 0; i < c.m * c.n; ++i)
    if (written[i] != 1)
      return ::testing::AssertionFailure()
             << "output (" << i / c.n << ", " << i % c.n << ") written "
             << written[i] << " times";
  return ::testing::AssertionSuccess();
}

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

struct Case {
  const char *name;
  MmaKind mma;
  unsigned activationBits;
  int64_t activationMax; ///< Levels in [-max, max].
  unsigned weightBits, weightPlanes;
  int64_t weightMin, weightMax;
  int64_t m, n, k;
};

std::ostream &operator<<(std::ostream &os, const Case &c) {
  return os << c.name;
}

LayerKernelConfig planned(const Case &tc, int64_t smCount) {
  LayerKernelConfig c;
  c.name = "layer";
  c.m = tc.m;
  c.n = tc.n;
  c.k = tc.k;
  c.activationBits = tc.activationBits;
  c.activationMaxLevel = tc.activationMax;
  c.weightBits = tc.weightBits;
  c.weightPlanes = tc.weightPlanes;
  c.mma = tc.mma;
  c.hadamardBlock = 1;
  std::string why = planLayer(c, smCount);
  EXPECT_EQ(why, "");
  return c;
}

/// Simulates the kernels on random levels (the extremes planted first) and
/// compares with the int64 product; with a mutation of the wgmma model, the
/// data path must fail or the result differ.
void checkCase(const Case &tc, int64_t smCount, uint32_t seed,
               Mutation mutation = Mutation::None) {
  LayerKernelConfig c = planned(tc, smCount);
  SCOPED_TRACE(::testing::Message()
               << tc.name << " M=" << c.m << " N=" << c.n << " K=" << c.k
               << " tile " << c.tileM << "x" << c.tileN << "x" << c.tileK()
               << " padded " << c.mPad << "x" << c.nPad << "x" << c.kPad
               << " seed " << seed);
  ASSERT_EQ(c.mPad % c.tileM, 0);
  ASSERT_EQ(c.nPad % c.tileN, 0);
  ASSERT_EQ(c.kPad % c.tileK(), 0);
  ASSERT_GE(c.kPad, c.k);

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> xDist(-tc.activationMax,
                                               tc.activationMax);
  std::uniform_int_distribution<int64_t> wDist(tc.weightMin, tc.weightMax);
  std::vector<int64_t> x(c.m * c.k), w(c.n * c.k);
  for (int64_t &v : x)
    v = xDist(rng);
  for (int64_t &v : w)
    v = wDist(rng);
  x[0] = -tc.activationMax;
  x[1] = tc.activationMax;
  x[c.m * c.k - 1] = -tc.activationMax;
  w[0] = tc.weightMin;
  w[1] = tc.weightMax;
  w[c.n * c.k - 1] = tc.weightMin;
  w[c.n * c.k - 2] = tc.weightMax;

  std::vector<uint32_t> packedA = packActivations(c, x);
  std::vector<int32_t> packedW = packWeights(c, w);
  ASSERT_EQ(int64_t(packedW.size()), c.weightPlanes * c.nPad * c.weightWords());
  ASSERT_TRUE(std::none_of(packedA.begin(), packedA.end(), [](uint32_t v) {
    return v == kPoison;
  })) << "the prologue leaves words of the packed input unwritten";

  std::vector<int32_t> got;
  ::testing::AssertionResult ran =
      c.mma == MmaKind::Wgmma ? runWgmmaGemm(c, packedA, packedW, got, mutation)
                              : runGemm(c, packedA, packedW, got);
  if (mutation != Mutation::None && !ran)
    return;
  ASSERT_TRUE(ran);

  int64_t mismatches = 0;
  std::ostringstream first;
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      int64_t want = 0;
      for (int64_t e = 0; e < c.k; ++e)
        want += x[i * c.k + e] * w[j * c.k + e];
      ASSERT_EQ(want, int64_t(int32_t(want))) << "the reference overflows s32";
      if (got[i * c.n + j] != want && mismatches++ < 5)
        first << " (" << i << ", " << j << "): " << got[i * c.n + j]
              << " instead of " << want << ";";
    }
  }
  if (mutation != Mutation::None) {
    EXPECT_GT(mismatches, 0) << "a broken wgmma model still matches";
    return;
  }
  EXPECT_EQ(mismatches, 0) << "of " << c.m * c.n << " outputs, e.g."
                           << first.str();
}

// 4-bit activations use [-7, 7], 8-bit ones [-127, 127]; two-plane weights
// span the whole accepted range.
const Case kCases[] = {
    {"Int4_A4_W4", MmaKind::Int4, 4, 7, 4, 1, -8, 7, 37, 72, 96},
    {"Int4_A4_W4_K200", MmaKind::Int4, 4, 7, 4, 1, -8, 7, 37, 72, 200},
    {"Int4_A4_W4_Large", MmaKind::Int4, 4, 7, 4, 1, -8, 7, 130, 136, 328},
    {"Int8_A4_W4", MmaKind::Int8, 4, 7, 4, 1, -8, 7, 37, 72, 96},
    {"Int8_A4_W4_K200", MmaKind::Int8, 4, 7, 4, 1, -8, 7, 37, 72, 200},
    {"Int8_A8_W4", MmaKind::Int8, 8, 127, 4, 1, -8, 7, 37, 72, 96},
    {"Int8_A8_W4_K200", MmaKind::Int8, 8, 127, 4, 1, -8, 7, 37, 72, 200},
    {"Int8_A4_W8", MmaKind::Int8, 4, 7, 8, 1, -127, 127, 37, 72, 96},
    {"Int8_A4_W8_K200", MmaKind::Int8, 4, 7, 8, 1, -127, 127, 37, 72, 200},
    {"Int8_A8_W8", MmaKind::Int8, 8, 127, 8, 1, -127, 127, 37, 72, 96},
    {"Int8_A4_W8x2_Small", MmaKind::Int8, 4, 7, 8, 2, -480, 480, 37, 72, 96},
    {"Int8_A4_W8x2", MmaKind::Int8, 4, 7, 8, 2, -16320, 16320, 37, 72, 96},
    {"Int8_A4_W8x2_K200", MmaKind::Int8, 4, 7, 8, 2, -16320, 16320, 37, 72,
     200},
    {"Int8_A8_W8x2_Small", MmaKind::Int8, 8, 127, 8, 2, -480, 480, 37, 72, 96},
    {"Int8_A8_W8x2", MmaKind::Int8, 8, 127, 8, 2, -16320, 16320, 37, 72, 96},
    {"Int8_A8_W8x2_Large", MmaKind::Int8, 8, 127, 8, 2, -16320, 16320, 130, 136,
     328},
};

// sm_90a's wgmma kernel stores activations and weights as bytes whatever
// their levels: 4-bit levels in 8-bit storage, one or two weight planes.
const Case kWgmmaCases[] = {
    {"Wgmma_A4_W4", MmaKind::Wgmma, 8, 7, 8, 1, -8, 7, 37, 72, 96},
    {"Wgmma_A4_W4_K200", MmaKind::Wgmma, 8, 7, 8, 1, -8, 7, 37, 72, 200},
    {"Wgmma_A8_W8", MmaKind::Wgmma, 8, 127, 8, 1, -127, 127, 37, 72, 96},
    {"Wgmma_A8_W8_Large", MmaKind::Wgmma, 8, 127, 8, 1, -127, 127, 130, 136,
     328},
    {"Wgmma_A4_W8x2", MmaKind::Wgmma, 8, 7, 8, 2, -16320, 16320, 37, 72, 200},
    {"Wgmma_A8_W8x2", MmaKind::Wgmma, 8, 127, 8, 2, -16320, 16320, 37, 72, 96},
    {"Wgmma_A8_W8x2_Large", MmaKind::Wgmma, 8, 127, 8, 2, -16320, 16320, 130,
     136, 328},
};

class GpuKernelLayout : public ::testing::TestWithParam<Case> {};

// Many SMs: the smallest tiles (64 x 64) for these sizes.
TEST_P(GpuKernelLayout, GemmMatchesReferenceManySMs) {
  checkCase(GetParam(), /*smCount=*/132, /*seed=*/1234);
}

// One SM: the largest tile that fits the shared memory and registers.
TEST_P(GpuKernelLayout, GemmMatchesReferenceOneSM) {
  checkCase(GetParam(), /*smCount=*/1, /*seed=*/98765);
}

INSTANTIATE_TEST_SUITE_P(AllOperandWidths, GpuKernelLayout,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::string(info.param.name);
                         });
INSTANTIATE_TEST_SUITE_P(Wgmma, GpuKernelLayout,
                         ::testing::ValuesIn(kWgmmaCases),
                         [](const ::testing::TestParamInfo<Case> &info) {
                           return std::string(info.param.name);
                         });

// The wgmma model can fail: descriptors with the leading and stride byte
// offsets exchanged select the wrong bytes (64 x 64 and 128 x 128 tiles,
// whose leading offsets are 1024 and 2048 bytes), and an epilogue that takes
// fragment rows g for g + 8 stores wrong sums.
TEST(GpuKernelLayoutWgmma, SwappedLeadingAndStrideOffsetsFail) {
  for (int64_t smCount : {132, 1})
    checkCase(kWgmmaCases[2], smCount, 7, Mutation::SwapLeadingAndStride);
}

TEST(GpuKernelLayoutWgmma, ShiftedFragmentRowsFail) {
  for (int64_t smCount : {132, 1})
    checkCase(kWgmmaCases[5], smCount, 7, Mutation::ShiftFragmentRow);
}

// planLayer's wgmma tiles: N a valid m64nNk32 size, M whole m64 blocks, the
// accumulators within 128 registers a thread, the stages within 48 KiB.
TEST(GpuKernelLayoutWgmma, TilesFitTheInstruction) {
  for (const Case &tc : kWgmmaCases) {
    for (int64_t smCount : {1, 8, 132}) {
      LayerKernelConfig c = planned(tc, smCount);
      EXPECT_EQ(c.tileM % 64, 0);
      EXPECT_TRUE(c.tileN == 64 || c.tileN == 128) << c.tileN;
      EXPECT_LE(c.accumulators(), 128);
      EXPECT_LE(c.sharedBytes(), 48 * 1024);
      EXPECT_EQ(c.sharedBytes(),
                2 * (wgmmaLayoutA(c).bytes() +
                     c.weightPlanes * wgmmaLayoutB(c).bytes()));
    }
  }
}

// The descriptor fields, as the PTX ISA defines them.
TEST(GpuKernelLayoutWgmma, DescriptorFields) {
  uint64_t d = wgmmaDescriptor(0x1230, 2048, 128);
  Descriptor decoded = decode(d);
  EXPECT_EQ(decoded.start, 0x1230u);
  EXPECT_EQ(decoded.leading, 2048u);
  EXPECT_EQ(decoded.stride, 128u);
  EXPECT_EQ(decoded.baseOffset, 0u);
  EXPECT_EQ(decoded.swizzle, 0u);
  EXPECT_EQ(d, (uint64_t(0x123)) | (uint64_t(128) << 16) | (uint64_t(8) << 32));
}

//===----------------------------------------------------------------------===//
// Convolutions (implicit GEMM)
//===----------------------------------------------------------------------===//

struct ConvCase {
  const char *name;
  ConvGeometry geometry;
  int64_t filters;
};

std::ostream &operator<<(std::ostream &os, const ConvCase &c) {
  return os << c.name;
}

ConvGeometry geometry(int64_t batch, int64_t channels, int64_t height,
                      int64_t width, int64_t kernelH, int64_t kernelW,
                      int64_t strideH, int64_t strideW, int64_t padH,
                      int64_t padW, int64_t dilationH, int64_t dilationW) {
  ConvGeometry g;
  g.batch = batch;
  g.channels = channels;
  g.height = height;
  g.width = width;
  g.kernelH = kernelH;
  g.kernelW = kernelW;
  g.strideH = strideH;
  g.strideW = strideW;
  g.padH = padH;
  g.padW = padW;
  g.dilationH = dilationH;
  g.dilationW = dilationW;
  return g;
}

/// Simulates the conv kernels for operand form `form` on random levels and
/// compares the NCHW output with an int64 direct convolution.
void checkConvCase(const ConvCase &cc, const Case &form, int64_t smCount,
                   uint32_t seed) {
  LayerKernelConfig c;
  c.name = "conv";
  c.conv = cc.geometry;
  c.n = cc.filters;
  c.activationBits = form.activationBits;
  c.activationMaxLevel = form.activationMax;
  c.weightBits = form.weightBits;
  c.weightPlanes = form.weightPlanes;
  c.mma = form.mma;
  c.hadamardBlock = 1;
  c.dynamicScale = true;
  ASSERT_EQ(planLayer(c, smCount), "");
  const ConvGeometry &g = *c.conv;
  const int64_t oh = g.outH(), ow = g.outW();
  SCOPED_TRACE(::testing::Message()
               << cc.name << " " << form.name << " GEMM " << c.m << "x" << c.n
               << "x" << c.k << " tile " << c.tileM << "x" << c.tileN << "x"
               << c.tileK() << " seed " << seed);
  ASSERT_EQ(c.m, g.batch * oh * ow);
  ASSERT_EQ(c.k, g.taps() * g.channelsPad());
  ASSERT_FALSE(c.perTokenScale());

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> xDist(-form.activationMax,
                                               form.activationMax);
  std::uniform_int_distribution<int64_t> wDist(form.weightMin, form.weightMax);
  std::vector<int64_t> x(g.pixels() * g.channels),
      w(c.n * g.channels * g.taps());
  for (int64_t &v : x)
    v = xDist(rng);
  for (int64_t &v : w)
    v = wDist(rng);
  x[0] = -form.activationMax;
  x.back() = form.activationMax;
  w[0] = form.weightMin;
  w.back() = form.weightMax;

  std::vector<uint32_t> packedA = packConvActivations(c, x);
  ASSERT_TRUE(std::none_of(packedA.begin(), packedA.end(), [](uint32_t v) {
    return v == kPoison;
  })) << "the prologue leaves words of the packed pixels unwritten";
  std::vector<int32_t> packedW = packWeights(c, convWeightsToGemm(c, w));
  std::vector<int32_t> rows;
  ASSERT_TRUE(runGemm(c, packedA, packedW, rows));

  // The epilogue's NCHW store of row m, column f, through the kernel's code.
  std::vector<int64_t> y(g.batch * c.n * oh * ow, 0);
  std::vector<int> written(y.size(), 0);
  IntArith ia;
  for (int64_t m = 0; m < c.m; ++m) {
    auto [n, r, q] = convOutputPixel(ia, c, m);
    ASSERT_TRUE(n < g.batch && r < oh && q < ow) << "row " << m;
    for (int64_t f = 0; f < c.n; ++f) {
      int64_t at = ((n * c.n + f) * oh + r) * ow + q;
      y[at] = rows[m * c.n + f];
      ++written[at];
    }
  }
  ASSERT_TRUE(std::all_of(written.begin(), written.end(),
                          [](int v) { return v == 1; }))
      << "the epilogue does not write every output exactly once";

  int64_t mismatches = 0;
  std::ostringstream first;
  const int64_t plane = g.height * g.width;
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t f = 0; f < c.n; ++f) {
      for (int64_t r = 0; r < oh; ++r) {
        for (int64_t q = 0; q < ow; ++q) {
          int64_t want = 0;
          for (int64_t ch = 0; ch < g.channels; ++ch) {
            for (int64_t kh = 0; kh < g.kernelH; ++kh) {
              for (int64_t kw = 0; kw < g.kernelW; ++kw) {
                int64_t ih = r * g.strideH - g.padH + kh * g.dilationH;
                int64_t iw = q * g.strideW - g.padW + kw * g.dilationW;
                if (ih < 0 || ih >= g.height || iw < 0 || iw >= g.width)
                  continue;
                want += x[(n * g.channels + ch) * plane + ih * g.width + iw] *
                        w[((f * g.channels + ch) * g.kernelH + kh) * g.kernelW +
                          kw];
              }
            }
          }
          int64_t got = y[((n * c.n + f) * oh + r) * ow + q];
          if (got != want && mismatches++ < 5)
            first << " (" << n << ", " << f << ", " << r << ", " << q
                  << "): " << got << " instead of " << want << ";";
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << y.size() << " outputs, e.g."
                           << first.str();
}

// Odd shapes: H != W, kernels, strides, paddings and dilations that differ
// between H and W, C not a multiple of 32, F not a multiple of 8, batch > 1;
// and a small LDM-like 3x3 layer (C = 320).
const ConvCase kConvCases[] = {
    {"Stride2Pad1", geometry(2, 20, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1), 24},
    {"Mixed", geometry(1, 40, 7, 6, 3, 2, 1, 2, 2, 0, 2, 1), 36},
    {"Dilation2", geometry(2, 8, 7, 7, 3, 3, 1, 1, 2, 2, 2, 2), 16},
    {"Pointwise", geometry(3, 64, 5, 5, 1, 1, 1, 1, 0, 0, 1, 1), 17},
    {"LdmLike", geometry(1, 320, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1), 40},
};

// The operand forms of the linear cases that conv layers take.
const Case kConvForms[] = {
    {"Int4_A4_W4", MmaKind::Int4, 4, 7, 4, 1, -8, 7, 0, 0, 0},
    {"Int8_A4_W4", MmaKind::Int8, 4, 7, 4, 1, -8, 7, 0, 0, 0},
    {"Int8_A8_W4", MmaKind::Int8, 8, 127, 4, 1, -8, 7, 0, 0, 0},
    {"Int8_A4_W8x2", MmaKind::Int8, 4, 7, 8, 2, -480, 480, 0, 0, 0},
    {"Int8_A8_W8", MmaKind::Int8, 8, 127, 8, 1, -127, 127, 0, 0, 0},
};

class GpuConvLayout : public ::testing::TestWithParam<ConvCase> {};

TEST_P(GpuConvLayout, ImplicitGemmMatchesDirectConvolution) {
  for (const Case &form : kConvForms) {
    checkConvCase(GetParam(), form, /*smCount=*/132, /*seed=*/4321);
    checkConvCase(GetParam(), form, /*smCount=*/1, /*seed=*/777);
  }
}

INSTANTIATE_TEST_SUITE_P(OddShapes, GpuConvLayout,
                         ::testing::ValuesIn(kConvCases),
                         [](const ::testing::TestParamInfo<ConvCase> &info) {
                           return std::string(info.param.name);
                         });

// The LDM UNet's 3x3 convolutions: C = 320 packs without channel padding
// (the K padding is one partial K tile at most) and planLayer keeps tiles
// that fill an H100's 132 SMs.
TEST(GpuConvLayoutPlan, LdmShapesPadLittle) {
  for (int64_t channels : {320, 640, 1280}) {
    int64_t side = channels == 320 ? 64 : channels == 640 ? 32 : 16;
    for (MmaKind mma : {MmaKind::Int4, MmaKind::Int8}) {
      LayerKernelConfig c;
      c.conv = geometry(2, channels, side, side, 3, 3, 1, 1, 1, 1, 1, 1);
      c.n = channels;
      c.mma = mma;
      c.weightBits = 4;
      c.weightPlanes = 1;
      ASSERT_EQ(planLayer(c, 132), "");
      EXPECT_EQ(c.conv->channelsPad(), channels);
      EXPECT_EQ(c.k, 9 * channels);
      EXPECT_LT(c.kPad - c.k, c.tileK());
      EXPECT_EQ(c.nPad, channels);
    }
  }
}

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

// Every nibble value in every position, with every value of the byte's other
// nibble and random other bytes: lo holds the even nibbles, hi the odd ones,
// each sign-extended into its byte.
TEST(GpuKernelLayoutUnpack, UnpackNibblesSignExtends) {
  std::mt19937 rng(42);
  for (int position = 0; position < 8; ++position) {
    for (uint32_t nibble = 0; nibble < 16; ++nibble) {
      for (uint32_t other = 0; other < 16; ++other) {
        for (int trial = 0; trial < 4; ++trial) {
          uint32_t w = static_cast<uint32_t>(rng());
          int byte = position / 2;
          uint32_t pair = (position % 2 == 0) ? (other << 4 | nibble)
                                              : (nibble << 4 | other);
          w = (w & ~(0xFFu << (8 * byte))) | (pair << (8 * byte));
          auto [lo, hi] = unpackNibbles(w);
          int64_t want = nibble >= 8 ? int64_t(nibble) - 16 : int64_t(nibble);
          uint32_t half = (position % 2 == 0) ? lo : hi;
          ASSERT_EQ(signedField(half, 8, byte), want)
              << "word 0x" << std::hex << w << std::dec << " nibble "
              << position;
          // And every byte of both halves.
          for (int b = 0; b < 4; ++b) {
            EXPECT_EQ(signedField(lo, 8, b), signedField(w, 4, 2 * b));
            EXPECT_EQ(signedField(hi, 8, b), signedField(w, 4, 2 * b + 1));
          }
        }
      }
    }
  }
}

/// Two-plane packing for one row of weights `values` against 8-bit
/// activations (bytes in element order); returns lo + 128 * hi per element.
std::vector<int64_t> twoPlaneDigits(const std::vector<int64_t> &values) {
  LayerKernelConfig c;
  c.m = 1;
  c.n = 1;
  c.k = static_cast<int64_t>(values.size());
  c.activationBits = 8;
  c.weightBits = 8;
  c.weightPlanes = 2;
  c.mma = MmaKind::Int8;
  c.hadamardBlock = 1;
  EXPECT_EQ(planLayer(c, 132), "");
  std::vector<int32_t> packed = packWeights(c, values);
  std::vector<int64_t> decoded;
  int64_t words = c.weightWords();
  for (int64_t e = 0; e < c.k; ++e) {
    auto digit = [&](int64_t plane) {
      uint32_t word =
          static_cast<uint32_t>(packed[(plane * c.nPad + 0) * words + e / 4]);
      return signedField(word, 8, e % 4);
    };
    decoded.push_back(digit(0) + 128 * digit(1));
  }
  return decoded;
}

// Every weight the two planes are used for, below the upper bound.
TEST(GpuKernelLayoutDigits, TwoPlaneDigitsRepresentEveryWeight) {
  std::vector<int64_t> values;
  for (int64_t v = -(127 * 128 + 64); v < 127 * 128 + 64; ++v)
    values.push_back(v);
  std::vector<int64_t> decoded = twoPlaneDigits(values);
  for (size_t i = 0; i < values.size(); ++i)
    ASSERT_EQ(decoded[i], values[i]);
}

// convert-hqdm-to-gpu uses two planes for max |w| <= 127 * 128 + 64. The
// nearest split of w = 16320 is hi = llround(127.5) = 128, which would wrap
// to -128 in its int8 byte (the kernel would compute -16448); packWeights
// keeps hi in int8 and lo = 64 instead.
TEST(GpuKernelLayoutDigits, TwoPlaneDigitsAtTheAcceptedBound) {
  std::vector<int64_t> values = {127 * 128 + 64, -(127 * 128 + 64)};
  std::vector<int64_t> decoded = twoPlaneDigits(values);
  EXPECT_EQ(decoded[0], values[0]);
  EXPECT_EQ(decoded[1], values[1]);
  // And through the whole data path.
  checkCase({"Int8_A8_W8x2_Bound", MmaKind::Int8, 8, 127, 8, 2, -16320, 16320,
             37, 72, 96},
            132, 1234);
}

} // namespace
