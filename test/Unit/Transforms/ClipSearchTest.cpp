//===- ClipSearchTest.cpp - Tests for the clipping search's float kernel --===//
//
// The float ranking kernel of the weight clipping search (LayerUtils.h,
// clipsearch): fractionalPower's relative error against e^f in double, which
// must stay below kFractionalPowerError (the bound in QuantizeLayers.cpp
// relies on it), measured over every float of some binades and a stride of
// all of [2^-40, 8]; and approximateRowError against the same quantization
// evaluated in double. DISABLED_FractionalPowerExhaustive checks every float
// in [2^-40, 8] (about a minute; --gtest_also_run_disabled_tests).
//
//===----------------------------------------------------------------------===//

#include "LayerUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

using namespace mlir::hqdm;

namespace {

float fromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t toBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

/// The largest relative error of fractionalPower(e, f) over the floats e in
/// [lo, hi) whose bit patterns are `stride` apart.
double maxFractionalPowerError(float f, float lo, float hi, uint32_t stride) {
  double worst = 0;
  for (uint32_t bits = toBits(lo); bits < toBits(hi); bits += stride) {
    float e = fromBits(bits);
    double exact = std::pow(double(e), double(f));
    double error = std::abs(double(clipsearch::fractionalPower(e, f)) - exact) /
                   exact;
    worst = std::max(worst, error);
  }
  return worst;
}

const float kFractions[] = {0.4f, 1e-3f, 0.1f, 0.25f, 0.5f, 0.75f, 0.9f,
                            0.999f, float(2.4 - 2), float(3.7 - 3)};

TEST(ClipSearch, FractionalPowerError) {
  // Every float of the floor's binade, around 1 and the top one.
  for (float lo : {0x1p-40f, 0.5f, 1.0f, 4.0f})
    EXPECT_LT(maxFractionalPowerError(0.4f, lo, 2 * lo, 1),
              clipsearch::kFractionalPowerError)
        << "binade " << lo;
  // A stride through all of [2^-40, 8] for other fractions.
  for (float f : kFractions)
    EXPECT_LT(maxFractionalPowerError(f, 0x1p-40f, 8.0f, 4099),
              clipsearch::kFractionalPowerError)
        << "f = " << f;
}

TEST(ClipSearch, DISABLED_FractionalPowerExhaustive) {
  for (float f : kFractions) {
    double worst = maxFractionalPowerError(f, 0x1p-40f, 8.0f, 1);
    std::printf("f = %.9g: max relative error %.3g\n", f, worst);
    EXPECT_LT(worst, clipsearch::kFractionalPowerError) << "f = " << f;
  }
}

TEST(ClipSearch, FractionalPowerBelowFloor) {
  // Below 2^-40 the argument is taken as 2^-40, and 0 stays finite.
  for (float e : {0.0f, 0x1p-149f, 0x1p-126f, 0x1p-60f}) {
    float value = clipsearch::fractionalPower(e, 0.4f);
    EXPECT_NEAR(value, std::pow(0x1p-40, double(0.4f)),
                clipsearch::kFractionalPowerError * std::pow(0x1p-40, 0.4));
  }
  EXPECT_EQ(0.0f * clipsearch::fractionalPower(0.0f, 0.4f), 0.0f);
}

TEST(ClipSearch, FloatPower) {
  clipsearch::FloatPower power;
  EXPECT_TRUE(power.set(2.4));
  EXPECT_EQ(power.whole, 2);
  EXPECT_EQ(power.fraction, float(2.4 - 2));
  EXPECT_TRUE(power.set(8));
  EXPECT_EQ(power.whole, 8);
  EXPECT_EQ(power.fraction, 0.0f);
  EXPECT_FALSE(power.set(0.5));
  EXPECT_FALSE(power.set(8.5));
  EXPECT_FALSE(power.set(NAN));
}

/// The kernel's sum in double from the same float levels and errors.
double referenceRowError(const std::vector<float> &w, float s, float lo,
                         float hi, double p) {
  double sum = 0;
  float inverse = 1.0f / s;
  for (float v : w) {
    float r = std::min(std::max(v * inverse, lo), hi);
    double q = std::nearbyint(double(r));
    double e = std::abs(double(v) - q * double(s));
    sum += std::pow(e, p);
  }
  return sum;
}

TEST(ClipSearch, RowErrorMatchesDouble) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 0.2f);
  for (double p : {1.0, 2.0, 2.4, 3.7, 8.0}) {
    clipsearch::FloatPower power;
    ASSERT_TRUE(power.set(p));
    for (int64_t n : {16, 64, 1152, 4608}) {
      std::vector<float> w(n);
      for (float &v : w)
        v = std::clamp(normal(rng), -0.99f, 0.99f);
      for (float s : {0.02f, 0.1f, 0.3f}) {
        float lo = -7, hi = 7;
        double approx = clipsearch::approximateRowError(
            w.data(), n, s, 1.0f / s, lo, hi, power);
        double exact = referenceRowError(w, s, lo, hi, p);
        // Float terms (whole + 1 roundings and the fractional power) and
        // float lanes of kBlock / kLanes terms: well within 1e-5.
        EXPECT_NEAR(approx, exact, 1e-5 * exact)
            << "p = " << p << ", n = " << n << ", s = " << s;
        // Stopped early: a partial sum above the limit, never above the
        // whole one.
        double partial = clipsearch::approximateRowError(
            w.data(), n, s, 1.0f / s, lo, hi, power, exact / 4);
        EXPECT_GT(partial, exact / 4);
        EXPECT_LE(partial, approx);
      }
    }
  }
}

TEST(ClipSearch, RowErrorZeroPaddingAddsNothing) {
  clipsearch::FloatPower power;
  ASSERT_TRUE(power.set(2.4));
  std::vector<float> w = {0.5f, -0.25f, 0.125f, 0.9f, -0.7f, 0.33f, 0.01f,
                          -0.02f, 0.0f,  0.6f,   -0.6f, 0.45f, 0.2f,  -0.1f,
                          0.05f, -0.3f};
  std::vector<float> padded = w;
  padded.resize(64, 0.0f);
  float s = 0.13f;
  EXPECT_EQ(clipsearch::approximateRowError(w.data(), 16, s, 1 / s, -7, 7,
                                            power),
            clipsearch::approximateRowError(padded.data(), 64, s, 1 / s, -7,
                                            7, power));
}

} // namespace
