//===- PrologueRotationTest.cpp - the prologue's rotation, bit for bit ----===//
//
// The prologue that convert-hqdm-to-gpu generates rotates activations with
// f32 operations that must reproduce the CPU reference exactly. This test
// replays, lane by lane, the operations the generator emits for a
// RotationPlan (the plan is the generator's own, from planRotation): the
// base-order sums in a lane's registers (+0.0, then adds and subtracts in
// row order), butterflies between a lane's registers for distances of 32 or
// more, butterflies between lanes (a shuffle, the lower lane x0 + x1 and the
// upper one x0 + (-x1)), the f32 normalization, then the per-token scale and
// round-half-even quantization. It compares the f32 bits and the levels with
// a direct implementation of convert-hqdm-to-linalg's hadamard lowering:
// the row viewed as [K, 2, ..., 2], the ordered reduction with H_K, one
// butterfly per factor of two from the outermost, times f32(1/sqrt(B)).
// OrderMatters shows that the comparison detects a different order.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"
#include "hqdm/Support/Hadamard.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

using namespace mlir::hqdm;
using namespace mlir::hqdm::gpu_kernels;

namespace {

uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

/// The CPU lowering's order on one block of `block` values.
std::vector<float> referenceRotation(const std::vector<float> &x,
                                     int64_t block) {
  HadamardConstruction hc = llvm::cantFail(getHadamardConstruction(block));
  int64_t k = hc.baseOrder, p = hc.powerOfTwo();
  std::vector<float> y = x;
  if (k > 1) {
    llvm::ArrayRef<int8_t> h = getBaseHadamardMatrix(k);
    for (int64_t b = 0; b < p; ++b)
      for (int64_t col = 0; col < k; ++col) {
        float acc = 0.0f;
        for (int64_t row = 0; row < k; ++row)
          acc = acc + x[row * p + b] * static_cast<float>(h[row * k + col]);
        y[col * p + b] = acc;
      }
  }
  // Factor f of the [2, ..., 2] view pairs indices 2^(m-1-f) apart.
  for (int64_t f = 0; (int64_t(1) << f) < p; ++f) {
    int64_t d = p >> (f + 1);
    std::vector<float> next = y;
    for (int64_t i = 0; i < block; ++i) {
      if (i % p & d)
        continue;
      next[i] = y[i] + y[i + d];
      next[i + d] = y[i] - y[i + d];
    }
    y = next;
  }
  float factor = static_cast<float>(1.0 / std::sqrt(double(block)));
  for (float &v : y)
    v = v * factor;
  return y;
}

/// The generated prologue's operations on one segment of plan.segment()
/// values: lane l holds element l + 32 j as values[l][j].
std::vector<float> simulatedRotation(const std::vector<float> &x,
                                     const RotationPlan &plan) {
  int64_t perLane = plan.valuesPerLane;
  std::vector<std::vector<float>> v(32, std::vector<float>(perLane));
  for (int64_t l = 0; l < 32; ++l)
    for (int64_t j = 0; j < perLane; ++j)
      v[l][j] = x[32 * j + l];
  int64_t k = plan.baseOrder, rows = plan.valuesPerBaseRow();
  if (k > 1) {
    llvm::ArrayRef<int8_t> h = getBaseHadamardMatrix(k);
    for (auto &lane : v)
      for (int64_t r = 0; r < rows; ++r) {
        std::vector<float> sums(k);
        for (int64_t col = 0; col < k; ++col) {
          float acc = 0.0f;
          for (int64_t row = 0; row < k; ++row)
            acc = h[row * k + col] > 0 ? acc + lane[row * rows + r]
                                       : acc - lane[row * rows + r];
          sums[col] = acc;
        }
        for (int64_t col = 0; col < k; ++col)
          lane[col * rows + r] = sums[col];
      }
  }
  for (int64_t d : plan.distances) {
    if (d >= 32) {
      int64_t step = d / 32;
      for (auto &lane : v)
        for (int64_t j = 0; j < perLane; ++j) {
          if (j & step)
            continue;
          float x0 = lane[j], x1 = lane[j + step];
          lane[j] = x0 + x1;
          lane[j + step] = x0 - x1;
        }
      continue;
    }
    std::vector<std::vector<float>> next = v;
    for (int64_t l = 0; l < 32; ++l)
      for (int64_t j = 0; j < perLane; ++j) {
        float own = (l & d) ? -v[l][j] : v[l][j];
        next[l][j] = v[l ^ d][j] + own;
      }
    v = next;
  }
  std::vector<float> y(x.size());
  for (int64_t l = 0; l < 32; ++l)
    for (int64_t j = 0; j < perLane; ++j)
      y[32 * j + l] = plan.block == 1 ? v[l][j] : v[l][j] * plan.normalization;
  return y;
}

/// The rotation of a row by blocks of `block`, through `rotate` on
/// segments of `segment` values.
template <typename Rotate>
std::vector<float> rotateRow(const std::vector<float> &row, int64_t segment,
                             Rotate rotate) {
  std::vector<float> out;
  for (size_t s = 0; s < row.size(); s += segment) {
    std::vector<float> part(row.begin() + s, row.begin() + s + segment);
    std::vector<float> r = rotate(part);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

/// Per-token symmetric quantization as both targets do it.
std::vector<int> quantize(const std::vector<float> &v, int maxLevel) {
  float amax = 0.0f;
  for (float x : v)
    amax = std::max(amax, std::fabs(x));
  float scale = amax / static_cast<float>(maxLevel);
  std::vector<int> q;
  for (float x : v) {
    float r = scale == 0.0f ? 0.0f : std::nearbyint(x / scale);
    q.push_back(static_cast<int>(
        std::clamp(r, -float(maxLevel), float(maxLevel))));
  }
  return q;
}

/// Values over many binades with outliers, exact zeros of both signs.
std::vector<float> testRow(int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> exponent(-12, 12);
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i)
    x[i] = std::ldexp(normal(rng), exponent(rng));
  x[0] = 0.0f;
  x[n / 3] = -0.0f;
  x[n / 2] *= 1000.0f;
  return x;
}

const int64_t kBlocks[] = {2,    4,    8,    16,   32,         64,
                           128,  256,  512,  1024, 2048,       4096,
                           384 /*12 x 32*/,  640 /*20 x 32*/,  1792 /*28 x 64*/,
                           1152 /*36 x 32*/, 2304 /*36 x 64*/, 4608 /*36 x 128*/,
                           1280 /*40 x 32*/, 1664 /*52 x 32*/, 3840 /*60 x 64*/,
                           3456 /*108 x 32*/, 4480 /*140 x 32*/};

TEST(PrologueRotation, MatchesCpuReferenceBitForBit) {
  for (int64_t block : kBlocks) {
    RotationPlan plan;
    ASSERT_EQ(planRotation(block, plan), "") << "block " << block;
    int64_t segment = plan.segment();
    int64_t rowLength = std::max<int64_t>(2 * block, 64);
    for (unsigned seed = 0; seed < 3; ++seed) {
      std::vector<float> row = testRow(rowLength, seed + unsigned(block));
      std::vector<float> expected =
          rotateRow(row, block, [&](const std::vector<float> &b) {
            return referenceRotation(b, block);
          });
      std::vector<float> actual =
          rotateRow(row, segment, [&](const std::vector<float> &s) {
            return simulatedRotation(s, plan);
          });
      ASSERT_EQ(actual.size(), expected.size());
      for (size_t i = 0; i < actual.size(); ++i)
        ASSERT_EQ(bits(actual[i]), bits(expected[i]))
            << "block " << block << ", element " << i << ": " << actual[i]
            << " vs " << expected[i];
      for (int maxLevel : {7, 127})
        EXPECT_EQ(quantize(actual, maxLevel), quantize(expected, maxLevel))
            << "block " << block;
    }
  }
}

/// The comparison is sensitive to the order: the butterflies in the
/// opposite order, or the H_K sums from the last row, change bits.
TEST(PrologueRotation, OrderMatters) {
  for (int64_t block : {int64_t(128), int64_t(1152), int64_t(4608)}) {
    RotationPlan plan;
    ASSERT_EQ(planRotation(block, plan), "");
    std::vector<float> row = testRow(block, 7);
    std::vector<float> expected = referenceRotation(row, block);
    RotationPlan reversed = plan;
    std::reverse(reversed.distances.begin(), reversed.distances.end());
    EXPECT_NE(simulatedRotation(row, reversed), expected) << block;
    if (plan.baseOrder > 1) {
      // The rows of each base-order group in reverse: the same sums, added
      // in the opposite order.
      std::vector<float> flipped = row;
      int64_t p = block / plan.baseOrder;
      for (int64_t a = 0; a < plan.baseOrder; ++a)
        for (int64_t b = 0; b < p; ++b)
          flipped[a * p + b] = row[(plan.baseOrder - 1 - a) * p + b];
      EXPECT_NE(simulatedRotation(row, plan),
                referenceRotation(flipped, block));
    }
  }
}

TEST(PrologueRotation, Unsupported) {
  RotationPlan plan;
  // 24 = 12 x 2: a row of H_12 would span lanes.
  EXPECT_NE(planRotation(24, plan), "");
  // Above 144 values a lane.
  EXPECT_NE(planRotation(8192, plan), "");
  EXPECT_NE(planRotation(172 * 32, plan), "");
  // No construction.
  EXPECT_NE(planRotation(11 * 128, plan), "");
}

} // namespace
