//===- QuantizeLayers.cpp - Quantize planned layers -------------*- C++ -*-===//
//
// Replaces each planned float layer by its quantized form:
//
//   weights     per output channel (or per tensor), symmetric or asymmetric,
//               clipping ratio searched to minimize sum |W - W_hat|^p;
//   single      W_rot = (Q(W) - z) * H_raw per block along the reduction axis
//               (per kernel tap for convolutions), exact in integers; the
//               layer's multiplier is 1/sqrt(B);
//   double      W' = W * H in float, then quantized;
//   none        Q(W) as stored levels with the zero point as an operand;
//   activations a quantizer with dynamic per-token or per-tensor scales on the
//               (possibly rotated) input.
//
// The integer form uses hqdm.qlinear / hqdm.qconv2d; the fake-quant form
// computes the same quantization in float and is what the integer form is
// tested against.
//
//===----------------------------------------------------------------------===//

#include "LayerUtils.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Support/Hadamard.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Threading.h"

#include <atomic>
#include <cmath>

namespace mlir::hqdm {
#define GEN_PASS_DEF_QUANTIZELAYERSPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

namespace {

/// A quantized weight: `levels` as the quantizer stores them (unsigned for
/// asymmetric schemes), one scale and zero point per row.
struct QuantizedWeight {
  std::vector<int64_t> levels;
  std::vector<float> scales;
  std::vector<int64_t> zeroPoints;
  /// sum of squared errors and of squared values, for the weight SQNR.
  double errorEnergy = 0, signalEnergy = 0;
};

/// Quantizes one row of `n` values with scale `s` and zero point `z`; returns
/// sum |w - w_hat|^p; stores the levels when `levels` is not null.
double quantizeRow(const double *w, int64_t n, float s, int64_t z,
                   int64_t minLevel, int64_t maxLevel, double p,
                   int64_t *levels) {
  double error = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t q = quantizeLevel(w[i], s, z, minLevel, maxLevel);
    if (levels)
      levels[i] = q;
    double e = std::abs(w[i] - double(q - z) * double(s));
    error += p == 2.0 ? e * e : std::pow(e, p);
  }
  return error;
}

/// |e|^p for the clipping search's first pass: e^floor(p) in double times
/// powf(e, frac(p)), about 4x faster than std::pow. Its relative error is
/// below kApproxError for e in [1e-30, 1e30] (float's rounding of e and of
/// frac(p), the latter amplified by |ln e| <= 70, and powf's 1 ulp); other
/// magnitudes use std::pow.
constexpr double kApproxError = 1e-5;
struct ApproxPow {
  double p;
  int64_t whole;
  float fraction;
  explicit ApproxPow(double p)
      : p(p), whole(int64_t(std::floor(p))),
        fraction(float(p - std::floor(p))) {}
  double operator()(double e) const {
    if (e == 0)
      return 0;
    if (!(e >= 1e-30 && e <= 1e30))
      return std::pow(e, p);
    double power = 1;
    for (int64_t k = 0; k < whole; ++k)
      power *= e;
    return fraction == 0.0f ? power
                            : power * double(std::pow(float(e), fraction));
  }
};

/// quantizeRow's error with ApproxPow, and w * (1 / s) for w / s: the two
/// differ by 2 ulp at most, so a level can differ only where w / s is that
/// close to a tie, where both levels leave an error of s / 2 to well within
/// kApproxError.
double approximateRowError(const double *w, int64_t n, float s, int64_t z,
                           int64_t minLevel, int64_t maxLevel,
                           const ApproxPow &power) {
  if (s == 0.0f)
    return quantizeRow(w, n, s, z, minLevel, maxLevel, power.p, nullptr);
  double scale = s, inverse = 1.0 / scale;
  double error = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t q = std::clamp<int64_t>(
        int64_t(roundHalfEven(w[i] * inverse)) + z, minLevel, maxLevel);
    error += power(std::abs(w[i] - double(q - z) * scale));
  }
  return error;
}

/// How the clipping searches went, for the pass statistics.
struct SearchCounts {
  std::atomic<int64_t> rows{0}, fastRows{0}, approximate{0}, earlyExits{0},
      survivors{0}, exact{0};
};

/// The float ranking pass of the clipping search and the bound that lets an
/// exact second pass decide. The row is scaled by a power of two 2^-k (exact)
/// so that max |w| is in [1/2, 1); every candidate scale s (a float) scales
/// the same way, and so do the errors (E by 2^-kp), which leaves every
/// comparison below unchanged. All quantities below are of the scaled row.
///
/// Per element, with u = 2^-24, u0 = u unless every w is a float (then 0),
/// eta = 2^-150 (float(w) when subnormal):
///  - the float level q_f = rne(clamp(float(w) * float(1/s), lo, hi)) and
///    the exact code's q_d = clamp(rne(w /_double s), lo, hi) can differ only
///    where w / s is within (u0 + 2u + 2^-53)|w| / s + eta / s of a tie
///    k + 1/2 (float(w) * float(1/s) is within (u0 + 2u + u^2)|w / s| of w /
///    s; rounding and clamping to integers are monotone, and |lo|, |hi| <=
///    2^20 keep |w / s| far enough from both ends for the two to be
///    adjacent levels); the errors of the two adjacent levels then differ by
///    2 s |w / s - (k + 1/2)| <= 2 (u0 + 2.0001 u)|w| + 2.0001 eta.
///  - e_hat = |float(w) - q_f * s| in float (q_f * s rounded, |q_f s| <= |w|
///    + e, then the subtraction rounded, or exact when subnormal) is within
///    (u0 + u)(1 + u)|w| + (2u + u^2) e_f + (1 + u) eta of e_f = |w - q_f s|.
/// Together: |e_hat - e| <= alpha |w| + beta e + gamma with e = |w - q_d s|,
/// alpha = 1.0001 (3 u0 + 5 u), beta = 2.0001 u, gamma = 3.01 eta.
/// Minkowski's inequality (p >= 1) turns that into norms over the row:
/// | ||e_hat||_p - ||e||_p | <= alpha ||w||_p + beta ||e||_p + gamma n^(1/p).
///
/// The kernel's term T = float(e_hat^whole) * fractionalPower(e_hat,
/// float(frac p)), rounded, is within rho e_hat^p + tau of e_hat^p: rho from
/// whole + 1 float roundings, kFractionalPowerError and float's rounding of
/// frac p (times |ln e_hat| <= 41 ln 2); tau = 1.0001 * 2^(-40 p) covers
/// e_hat < 2^-40 (fractionalPower's floor) and 2^-121 the products that
/// underflow (e_hat <= 8: each lost 2^-150 grows by at most 8^8).
/// The terms are non-negative and each goes through at most kBlock / kLanes
/// - 1 float additions and n / kBlock + kLanes double ones (the lanes of
/// approximateRowError): A = sum T (1 + d_i), |d_i| <= sigma. The exact
/// pass (double, std::pow within 1 ulp, e with one rounding) is within eps =
/// (n + p + 2) 2^-53 (1.01) of E = ||e||_p^p, plus under = n 2^-574 for
/// the terms that underflow (2^-1074 each, at most 2^-1074 2^(-kp) here as
/// |k| p <= 500).
struct RowBound {
  double p = 2, n = 0, rho = 0, tau = 0, sigma = 0, beta = 0, eps = 0;
  double under = 0;
  double slack = 0; // alpha ||w||_p + gamma n^(1/p)
  /// An upper bound of the exact pass's error of a candidate whose
  /// approximate error is `a`.
  double upper(double a) const {
    double norm = std::pow((a / (1 - sigma) + n * tau) / (1 - rho), 1 / p);
    return std::pow((norm + slack) / (1 - beta), p) * (1 + eps) + under;
  }
  /// The approximate error above which a candidate's exact error is
  /// certainly above `exact`: A > limit gives ||e_hat||^p >= (A / (1 +
  /// sigma) - n tau) / (1 + rho) > (((exact + under) / (1 - eps))^(1/p)
  /// (1 + beta) + slack)^p, so ||e||^p (1 - eps) - under > exact. 1e-9
  /// covers this arithmetic's own rounding.
  double limit(double exact) const {
    double norm =
        std::pow((exact + under) / (1 - eps), 1 / p) * (1 + beta) + slack;
    return (std::pow(norm, p) * (1 + rho) + n * tau) * (1 + sigma) *
           (1 + 1e-9);
  }
};

/// The two-pass search of one row with the float kernel; false (and nothing
/// chosen) when the row is outside the kernel's assumptions (non-finite or
/// all-zero values, scales out of range, p outside [1, 8]): the caller then
/// searches it the old way.
bool searchRowFast(const double *data, int64_t cols, double lo, double hi,
                   bool symmetric, int64_t minLevel, int64_t maxLevel,
                   int64_t candidates, const clipsearch::FloatPower &power,
                   std::atomic<int64_t> &hint, SearchCounts &counts,
                   float &bestScale, int64_t &bestZero) {
  using namespace clipsearch;
  double maxAbs = std::max(-lo, hi);
  if (!(maxAbs > 0) || !std::isfinite(maxAbs))
    return false;
  int k;
  std::frexp(maxAbs, &k);
  // The exact pass's errors far from double's underflow and overflow.
  if (std::abs(double(k)) * power.p > 500)
    return false;
  double down = std::ldexp(1.0, -k);
  // The row in float, zero-padded to a multiple of kLanes (zeros add
  // exactly 0), largest magnitudes first (16 buckets of |w| / max |w|): a
  // candidate that clips too much shows it early, which lets the ranking
  // stop it early. The sums and their bound do not depend on the order.
  int64_t n = (cols + kLanes - 1) / kLanes * kLanes;
  std::vector<float> w(n, 0.0f);
  constexpr int kBuckets = 16;
  SmallVector<uint8_t, 0> bucket(cols);
  int64_t offset[kBuckets + 1] = {};
  double toBucket = double(kBuckets) / (maxAbs * down);
  for (int64_t i = 0; i < cols; ++i) {
    double v = std::abs(data[i] * down);
    if (!(v < 1)) // NaN; inf makes maxAbs inf
      return false;
    int b = kBuckets - 1 - std::min(kBuckets - 1, int(v * toBucket));
    bucket[i] = uint8_t(b);
    ++offset[b + 1];
  }
  for (int b = 0; b < kBuckets; ++b)
    offset[b + 1] += offset[b];
  bool exact = true;
  for (int64_t i = 0; i < cols; ++i) {
    double v = data[i] * down;
    float f = float(v);
    exact &= double(f) == v;
    w[offset[bucket[i]]++] = f;
  }

  struct Candidate {
    float scale; // the candidate's scale, of the row as it is
    float s, inverse, lo, hi;
    int64_t z;
  };
  SmallVector<Candidate, 100> cands(candidates);
  for (int64_t c = 0; c < candidates; ++c) {
    UniformQuantizer q =
        clippedQuantizer(lo, hi, 1.0 - 0.01 * double(c), symmetric, maxLevel);
    double scaled = double(q.scale) * down;
    float s = float(scaled);
    double levelLo = double(minLevel - q.zeroPoint),
           levelHi = double(maxLevel - q.zeroPoint);
    // A normal scale exactly 2^-k s, levels around 0 within 2^20, and
    // errors up to 1 + 4 = 5 (< 8, which the power assumes).
    if (!(double(s) == scaled && s >= 0x1p-60f && s <= 1.0f) ||
        !(levelLo <= 0 && levelHi >= 0 && levelLo >= -0x1p20 &&
          levelHi <= 0x1p20) ||
        std::max(-levelLo, levelHi) * double(s) > 4)
      return false;
    float inverse = 1.0f / s;
    if (!std::isfinite(inverse))
      return false;
    cands[c] = {q.scale, s, inverse, float(levelLo), float(levelHi),
                q.zeroPoint};
  }

  constexpr double u = 0x1p-24;
  double p = power.p, dn = double(n);
  double whole = power.whole, fraction = p - std::floor(p);
  bool hasFraction = power.fraction != 0.0f;
  RowBound bound;
  bound.p = p;
  bound.n = dn;
  double phiError =
      std::expm1(std::abs(double(power.fraction) - fraction) * 41 * M_LN2);
  bound.rho = (std::pow(1 + u, whole + 1) *
                   (1 + (hasFraction ? kFractionalPowerError : 0)) *
                   (1 + phiError) -
               1) *
              1.0001;
  bound.tau = (hasFraction ? 1.0001 * std::exp2(-40 * p) : 0) + 0x1p-121;
  bound.sigma = (double(kBlock / kLanes - 1) * u +
                 (dn / double(kBlock) + double(kLanes) + 1) * 0x1p-53) *
                1.001;
  bound.beta = 2.0001 * u;
  bound.eps = (dn + p + 2) * 0x1p-53 * 1.01;
  bound.under = dn * 0x1p-574;
  double u0 = exact ? 0 : u;
  double alpha = 1.0001 * (3 * u0 + 5 * u), gamma = 3.01 * 0x1p-150;
  // ||w||_p from the kernel with every level 0 (e_hat = |float(w)|):
  // ||float(w)||_p <= (A / (1 - sigma) + n tau) / (1 - rho))^(1/p), and
  // ||w||_p <= (||float(w)||_p + eta n^(1/p)) / (1 - u0).
  double rootN = std::pow(dn, 1 / p);
  double weightSum =
      approximateRowError(w.data(), n, 1.0f, 1.0f, 0.0f, 0.0f, power);
  double weightNorm =
      (std::pow((weightSum / (1 - bound.sigma) + dn * bound.tau) /
                    (1 - bound.rho),
                1 / p) +
       0x1p-150 * rootN) /
      (1 - u0) * (1 + 1e-12);
  bound.slack = (alpha * weightNorm + gamma * rootN) * (1 + 1e-12);

  // Ranking: from the hint (the last row's choice) outwards, each candidate
  // stopped as soon as its partial sum is above the limit set by the best so
  // far (the sums only grow, and the limit only falls).
  SmallVector<double, 100> approx(candidates, INFINITY);
  SmallVector<bool, 100> complete(candidates, false);
  double bestApprox = INFINITY, limit = INFINITY;
  int64_t start = std::clamp<int64_t>(hint.load(std::memory_order_relaxed), 0,
                                      candidates - 1);
  for (int64_t step = 0; step < 2 * candidates; ++step) {
    int64_t c = start + (step % 2 ? (step + 1) / 2 : -(step / 2));
    if (c < 0 || c >= candidates)
      continue;
    const Candidate &cand = cands[c];
    double a = approximateRowError(w.data(), n, cand.s, cand.inverse, cand.lo,
                                   cand.hi, power, limit);
    if (a > limit) {
      counts.earlyExits.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    counts.approximate.fetch_add(1, std::memory_order_relaxed);
    approx[c] = a;
    complete[c] = true;
    if (a < bestApprox) {
      bestApprox = a;
      limit = bound.limit(bound.upper(a));
    }
  }

  // Exact: every candidate that can still be the minimum, in order, with
  // the first one kept on ties, as the exhaustive search would; none when
  // only one can.
  SmallVector<int64_t, 8> open;
  for (int64_t c = 0; c < candidates; ++c)
    if (complete[c] && !(approx[c] > limit))
      open.push_back(c);
  counts.survivors.fetch_add(open.size(), std::memory_order_relaxed);
  double bestError = INFINITY;
  int64_t best = open.size() == 1 ? open.front() : -1;
  for (int64_t c : open.size() > 1 ? ArrayRef(open) : ArrayRef<int64_t>()) {
    counts.exact.fetch_add(1, std::memory_order_relaxed);
    double error = quantizeRow(data, cols, cands[c].scale, cands[c].z,
                               minLevel, maxLevel, p, /*levels=*/nullptr);
    if (error < bestError) {
      bestError = error;
      best = c;
    }
  }
  if (best < 0) // only if the bound were broken (NaN): search the old way
    return false;
  bestScale = cands[best].scale;
  bestZero = cands[best].z;
  hint.store(best, std::memory_order_relaxed);
  return true;
}

/// Per-row clipping search: tries ratios 1, 0.99, ... of the row's range and
/// keeps the scale (and zero point) with the smallest L_p error (the first
/// one on ties).
///
/// Evaluating every candidate exactly (double, std::pow) dominated the
/// compile time of large models (80 x 669M elements for DiT-XL/2), so for p
/// in [1, 8] the search runs in two passes that choose exactly what the
/// exhaustive exact search would: searchRowFast ranks the candidates with a
/// vectorized float kernel whose error is bounded (RowBound), and evaluates
/// exactly only those whose approximate error the bound cannot separate
/// from the best one (usually one or two). Other p, and rows the kernel
/// does not take, use the older two-pass search (ApproxPow in double) or,
/// for p = 2, the exhaustive one.
QuantizedWeight quantizeWeight(MLIRContext *ctx, ArrayRef<double> w,
                               int64_t rows, int64_t cols,
                               QuantSchemeAttr scheme, int64_t candidates,
                               double p, SearchCounts &counts) {
  QuantizedWeight result;
  result.levels.resize(w.size());
  result.scales.resize(rows);
  result.zeroPoints.resize(rows);
  int64_t minLevel = scheme.getMinLevel(), maxLevel = scheme.getMaxLevel();
  bool symmetric = scheme.getSymmetric();
  std::vector<double> errors(rows), signals(rows);
  clipsearch::FloatPower floatPower;
  bool fast = floatPower.set(p);
  // The older two-pass search for p up to 8 (beyond, e^floor(p) could
  // overflow).
  bool twoPass = p != 2.0 && p > 0 && p <= 8;
  ApproxPow approxPow(twoPass ? p : 2.0);
  std::atomic<int64_t> hint(std::min<int64_t>(candidates - 1, 30));

  parallelFor(ctx, 0, rows, [&](size_t row) {
    const double *data = w.data() + row * cols;
    double lo = 0, hi = 0;
    for (int64_t i = 0; i < cols; ++i) {
      lo = std::min(lo, data[i]);
      hi = std::max(hi, data[i]);
    }
    auto quantizer = [&](int64_t c) {
      return clippedQuantizer(lo, hi, 1.0 - 0.01 * double(c), symmetric,
                              maxLevel);
    };
    float bestScale = 0;
    int64_t bestZero = 0;
    double bestError = INFINITY;
    auto consider = [&](int64_t c) {
      auto [s, z] = quantizer(c);
      counts.exact.fetch_add(1, std::memory_order_relaxed);
      double error = quantizeRow(data, cols, s, z, minLevel, maxLevel, p,
                                 /*levels=*/nullptr);
      if (error < bestError) {
        bestError = error;
        bestScale = s;
        bestZero = z;
      }
    };
    counts.rows.fetch_add(1, std::memory_order_relaxed);
    if (fast && searchRowFast(data, cols, lo, hi, symmetric, minLevel,
                              maxLevel, candidates, floatPower, hint, counts,
                              bestScale, bestZero)) {
      counts.fastRows.fetch_add(1, std::memory_order_relaxed);
    } else if (!twoPass) {
      for (int64_t c = 0; c < candidates; ++c)
        consider(c);
    } else {
      SmallVector<double, 100> approx(candidates);
      double bestApprox = INFINITY;
      for (int64_t c = 0; c < candidates; ++c) {
        auto [s, z] = quantizer(c);
        approx[c] = approximateRowError(data, cols, s, z, minLevel, maxLevel,
                                        approxPow);
        bestApprox = std::min(bestApprox, approx[c]);
      }
      // exact(c) >= approx(c) / (1 + d) and exact(best) <= bestApprox /
      // (1 - d) (the sums add non-negative terms): a candidate with
      // approx(c) / (1 + d) > bestApprox / (1 - d) cannot win. Twice the
      // bound covers the sums' own rounding.
      double d = 2 * kApproxError;
      double threshold = bestApprox * (1 + d) / (1 - d);
      for (int64_t c = 0; c < candidates; ++c)
        if (!(approx[c] > threshold)) // NaN and inf stay candidates.
          consider(c);
    }
    result.scales[row] = bestScale;
    result.zeroPoints[row] = bestZero;
    errors[row] = quantizeRow(data, cols, bestScale, bestZero, minLevel,
                              maxLevel, 2.0, result.levels.data() + row * cols);
    double signal = 0;
    for (int64_t i = 0; i < cols; ++i)
      signal += data[i] * data[i];
    signals[row] = signal;
  });
  for (int64_t r = 0; r < rows; ++r) {
    result.errorEnergy += errors[r];
    result.signalEnergy += signals[r];
  }
  return result;
}

/// Applies `transform` to every vector along axis 1 of a row-major tensor of
/// `shape` (the reduction axis of a weight: K of [N, K], C of [F, C, KH, KW]).
template <typename T, typename Fn>
void forEachAxis1Vector(std::vector<T> &values, ArrayRef<int64_t> shape,
                        Fn transform) {
  int64_t outer = shape[0], length = shape[1], inner = 1;
  for (int64_t d : shape.drop_front(2))
    inner *= d;
  std::vector<T> vector(length);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      T *base = values.data() + o * length * inner + i;
      for (int64_t c = 0; c < length; ++c)
        vector[c] = base[c * inner];
      transform(vector);
      for (int64_t c = 0; c < length; ++c)
        base[c * inner] = vector[c];
    }
}

/// The narrowest of i8 / i16 / i32 that holds every value.
unsigned storageWidth(ArrayRef<int64_t> values) {
  int64_t maxAbs = 0;
  for (int64_t v : values)
    maxAbs = std::max(maxAbs, std::abs(v));
  if (maxAbs <= 127)
    return 8;
  if (maxAbs <= 32767)
    return 16;
  return 32;
}

double toDecibels(double signal, double error) {
  return error == 0 ? INFINITY : 10.0 * std::log10(signal / error);
}

struct QuantizeLayersPass
    : hqdm::impl::QuantizeLayersPassBase<QuantizeLayersPass> {
  using QuantizeLayersPassBase::QuantizeLayersPassBase;

  // The clipping search (--mlir-pass-statistics).
  Statistic numClipRows{this, "clip-rows", "Weight rows searched"};
  Statistic numClipFastRows{this, "clip-fast-rows",
                            "Rows ranked by the float kernel"};
  Statistic numClipRanked{this, "clip-ranked",
                          "Candidates ranked over the whole row"};
  Statistic numClipExcludedEarly{
      this, "clip-excluded-early",
      "Candidates excluded before the end of the row"};
  Statistic numClipSurvivors{
      this, "clip-survivors",
      "Candidates the ranking could not exclude (one per row: no exact pass)"};
  Statistic numClipExact{this, "clip-exact",
                         "Candidates evaluated exactly (std::pow)"};

  void runOnOperation() override {
    if (form != "integer" && form != "fake-quant") {
      emitError(getOperation().getLoc())
          << "hqdm-quantize-layers: form '" << form
          << "' is not one of integer, fake-quant";
      return signalPassFailure();
    }
    if (clipCandidates < 1 || clipCandidates > 100 || clipNorm <= 0) {
      emitError(getOperation().getLoc())
          << "hqdm-quantize-layers: clip-candidates must be in [1, 100] and "
             "clip-norm positive";
      return signalPassFailure();
    }
    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (FloatLayer layer = FloatLayer::get(op); layer && layer.getPlan())
        layers.push_back(op);
    });
    for (Operation *op : layers)
      if (failed(quantize(FloatLayer::get(op))))
        return signalPassFailure();
  }

  /// The scale (and zero point) of the activation quantizer of `layer`.
  struct ActivationQuantizer {
    Value scale, zeroPoint;
    /// "dynamic", "static" or "per-step (G groups)", for remarks.
    std::string source;
  };

  /// The timestep argument of the function holding `op`, or null.
  static Value timestepArgument(Operation *op) {
    auto function = op->getParentOfType<func::FuncOp>();
    if (!function)
      return {};
    for (unsigned i = 0; i < function.getNumArguments(); ++i)
      if (function.getArgAttr(i, "hqdm.timestep"))
        return function.getArgument(i);
    return {};
  }

  /// Calibrated scales: a constant, or a table selected by the step.
  FailureOr<ActivationQuantizer> calibratedQuantizer(OpBuilder &builder,
                                                     FloatLayer layer,
                                                     ScaleTableAttr table,
                                                     QuantSchemeAttr scheme) {
    Operation *op = layer.getOperation();
    Location loc = op->getLoc();
    if (scheme.getGranularity() != Granularity::PerTensor)
      return op->emitError() << "layer '" << layer.getName()
                             << "': calibrated activation scales are per "
                                "tensor";
    if (scheme.getSymmetric() != table.isSymmetric())
      return op->emitError() << "layer '" << layer.getName()
                             << "': its scale table and its plan disagree on "
                                "the zero point";
    int64_t groups = table.getNumGroups();
    ActivationQuantizer result;
    Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
    if (groups == 1) {
      result.scale = arith::ConstantOp::create(
          builder, loc,
          DenseElementsAttr::get(RankedTensorType::get({}, f32),
                                 table.getScales()[0]));
      if (!table.isSymmetric())
        result.zeroPoint = arith::ConstantOp::create(
            builder, loc,
            DenseElementsAttr::get(RankedTensorType::get({}, i32),
                                   int32_t(table.getZeroPoints()[0])));
      result.source = "static";
      return result;
    }
    Value timestep = timestepArgument(op);
    if (!timestep)
      return op->emitError()
             << "layer '" << layer.getName() << "' has per-step activation "
             << "scales but its function has no argument marked hqdm.timestep";
    Value step = StepIndexOp::create(builder, loc, timestep, table.getSteps());
    // One entry per step needs no group boundaries.
    DenseI64ArrayAttr starts = table.getGroupStarts();
    if (groups == int64_t(table.getSteps().size()))
      starts = nullptr;
    auto select = [&](Attribute values, Type element) -> Value {
      Value constant = arith::ConstantOp::create(
          builder, loc, cast<TypedAttr>(values));
      return StepSelectOp::create(builder, loc,
                                  RankedTensorType::get({}, element), constant,
                                  step, starts);
    };
    result.scale = select(
        DenseElementsAttr::get(RankedTensorType::get({groups}, f32),
                               table.getScales().asArrayRef()),
        f32);
    if (!table.isSymmetric()) {
      SmallVector<int32_t> zeros;
      for (int64_t z : table.getZeroPoints().asArrayRef())
        zeros.push_back(int32_t(z));
      result.zeroPoint = select(
          DenseElementsAttr::get(RankedTensorType::get({groups}, i32),
                                 ArrayRef<int32_t>(zeros)),
          i32);
    }
    result.source = concat("per-step (", groups, " groups)");
    return result;
  }

  /// The activation quantizer of `input`: calibrated, or computed at run
  /// time.
  FailureOr<ActivationQuantizer> activationQuantizer(OpBuilder &builder,
                                                     FloatLayer layer,
                                                     Value input,
                                                     LayerPlanAttr plan) {
    Operation *op = layer.getOperation();
    QuantSchemeAttr scheme = plan.getActivation();
    if (auto table = op->getAttrOfType<ScaleTableAttr>("activation_scales"))
      return calibratedQuantizer(builder, layer, table, scheme);
    if (plan.getScales() != ScaleSource::Dynamic)
      return op->emitError()
             << "layer '" << layer.getName() << "': "
             << stringifyScaleSource(plan.getScales())
             << " activation scales need calibration statistics, which this "
                "pipeline was not given; pass calibration=<file> (see "
                "docs/Calibration.md) or use dynamic scales (activation="
                "per-token or per-tensor)";
    if (!scheme.getSymmetric())
      return op->emitError() << "layer '" << layer.getName()
                             << "': dynamic activation scales are symmetric; "
                                "asymmetric activations need calibrated "
                                "scales";
    auto inputType = cast<RankedTensorType>(input.getType());
    auto bits = builder.getI32IntegerAttr(scheme.getBits());
    ActivationQuantizer result;
    result.source = "dynamic";
    if (scheme.getGranularity() == Granularity::PerToken) {
      if (inputType.getRank() < 2)
        return op->emitError() << "layer '" << layer.getName()
                               << "': per-token scales need an input of rank "
                                  ">= 2";
      auto type = RankedTensorType::get(inputType.getShape().drop_back(),
                                        builder.getF32Type());
      result.scale =
          TokenScaleOp::create(builder, op->getLoc(), type, input, bits);
      return result;
    }
    auto type = RankedTensorType::get({}, builder.getF32Type());
    result.scale =
        TensorScaleOp::create(builder, op->getLoc(), type, input, bits);
    return result;
  }

  LogicalResult quantize(FloatLayer layer) {
    Operation *op = layer.getOperation();
    MLIRContext *ctx = op->getContext();
    LayerPlanAttr plan = layer.getPlan();
    HadamardSpecAttr rotation = layer.getInputRotation();
    // The mode as the IR stands: a rotated input needs its weight rotated,
    // in integers (single) or in float (double).
    HadamardMode mode = !rotation ? HadamardMode::None
                        : plan.getHadamard() == HadamardMode::Single
                            ? HadamardMode::Single
                            : HadamardMode::Double;
    int64_t block = rotation ? rotation.getBlock() : 0;

    std::string why;
    auto weightType = cast<RankedTensorType>(layer.getWeight().getType());
    FailureOr<std::vector<double>> weight =
        readFloatConstant(layer.getWeight(), why);
    if (failed(weight))
      return op->emitError() << "layer '" << layer.getName()
                             << "': cannot quantize its weight: " << why;
    ArrayRef<int64_t> shape = weightType.getShape();
    int64_t outputs = shape[0];
    int64_t perOutput = weightType.getNumElements() / outputs;

    // Double: rotate the float weight first.
    if (mode == HadamardMode::Double)
      forEachAxis1Vector(*weight, shape, [&](std::vector<double> &v) {
        for (size_t b = 0; b < v.size(); b += block)
          llvm::cantFail(fastHadamardTransform(
              MutableArrayRef<double>(v).slice(b, block), block));
      });

    QuantSchemeAttr weightScheme = plan.getWeight();
    bool perChannel = weightScheme.getGranularity() == Granularity::PerChannel;
    int64_t rows = perChannel ? outputs : 1;
    SearchCounts counts;
    QuantizedWeight q =
        quantizeWeight(ctx, *weight, rows, weightType.getNumElements() / rows,
                       weightScheme, clipCandidates, clipNorm, counts);
    numClipRows += counts.rows;
    numClipFastRows += counts.fastRows;
    numClipRanked += counts.approximate;
    numClipExcludedEarly += counts.earlyExits;
    numClipSurvivors += counts.survivors;
    numClipExact += counts.exact;

    // The integers the layer multiplies: levels minus zero points, rotated
    // exactly for single.
    std::vector<int64_t> centered(q.levels.size());
    int64_t rowLength = weightType.getNumElements() / rows;
    for (size_t i = 0; i < centered.size(); ++i)
      centered[i] = q.levels[i] - q.zeroPoints[i / rowLength];
    std::vector<int64_t> integerWeight = centered;
    if (mode == HadamardMode::Single)
      forEachAxis1Vector(integerWeight, shape, [&](std::vector<int64_t> &v) {
        llvm::cantFail(blockHadamardTransformRaw(v, v.size(), block));
      });

    // Worst case of the i32 accumulation: sum_k |w_k| * max|x level|.
    int64_t maxInput = plan.getActivation().getMaxLevel();
    int64_t worst = 0, maxWeight = 0;
    for (int64_t o = 0; o < outputs; ++o) {
      int64_t sum = 0;
      for (int64_t i = 0; i < perOutput; ++i) {
        int64_t v = std::abs(integerWeight[o * perOutput + i]);
        sum += v;
        maxWeight = std::max(maxWeight, v);
      }
      worst = std::max(worst, sum * maxInput);
    }
    if (worst > std::numeric_limits<int32_t>::max())
      return op->emitError()
             << "layer '" << layer.getName()
             << "': the i32 accumulator can overflow: worst case " << worst
             << " > 2^31 - 1 (sum over " << perOutput << " products of "
             << "weights up to " << maxWeight << " and activations up to "
             << maxInput << "); use a smaller Hadamard block or fewer bits";

    OpBuilder builder(op);
    Location loc = op->getLoc();
    Value input = layer.getInput();
    FailureOr<ActivationQuantizer> inputQuantizer =
        activationQuantizer(builder, layer, input, plan);
    if (failed(inputQuantizer))
      return failure();
    Value inputScale = inputQuantizer->scale;
    Value inputZeroPoint = inputQuantizer->zeroPoint;

    // TaQ-DiT: the input arrives shifted by -s; the bias adds it back
    // through the quantized weight, b' = b + W_hat s.
    Value bias = layer.getBias();
    auto inputShift = op->getAttrOfType<DenseElementsAttr>("input_shift");
    if (inputShift && form == "integer") {
      if (mode != HadamardMode::None)
        return op->emitError() << "layer '" << layer.getName()
                               << "': input_shift on a rotated layer";
      std::vector<double> shift;
      for (float v : inputShift.getValues<float>())
        shift.push_back(v);
      std::vector<double> newBias(outputs, 0.0);
      if (bias) {
        std::string why;
        FailureOr<std::vector<double>> old = readFloatConstant(bias, why);
        if (failed(old))
          return op->emitError() << "layer '" << layer.getName()
                                 << "': its input_shift needs a constant bias "
                                    "to fold into: "
                                 << why;
        newBias = *old;
      }
      for (int64_t o = 0; o < outputs; ++o)
        for (int64_t k = 0; k < perOutput; ++k)
          newBias[o] += double(float(centered[o * perOutput + k]) *
                               q.scales[(o * perOutput + k) / rowLength]) *
                        shift[k];
      auto biasType = RankedTensorType::get(
          {outputs}, cast<RankedTensorType>(input.getType()).getElementType());
      bias = arith::ConstantOp::create(builder, op->getLoc(),
                                       makeFloatConstant(biasType, newBias));
    }
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    auto scaleShape = perChannel ? SmallVector<int64_t>{outputs}
                                 : SmallVector<int64_t>{};
    auto scaleType = RankedTensorType::get(scaleShape, builder.getF32Type());
    QuantSchemeAttr activation = plan.getActivation();
    Value newResult;
    std::string stored;

    if (form == "fake-quant") {
      // x_hat = FQ(x); the layer runs on W_hat = (q - z) * s, in the basis
      // the weight was quantized in.
      Value fake = FakeQuantOp::create(builder, loc, input.getType(), input,
                                       inputScale, inputZeroPoint, activation);
      std::vector<double> dequantized(centered.size());
      for (size_t i = 0; i < centered.size(); ++i)
        dequantized[i] = double(float(centered[i]) * q.scales[i / rowLength]);
      auto newWeight = arith::ConstantOp::create(
          builder, loc, makeFloatConstant(weightType, dequantized));
      Operation *clone = builder.clone(*op);
      clone->setOperand(0, fake);
      clone->setOperand(1, newWeight);
      clone->removeAttr("plan");
      clone->removeAttr("activation_scales");
      // Double-rotated weights already live in the rotated basis.
      if (mode == HadamardMode::Double)
        clone->removeAttr("input_rotation");
      newResult = clone->getResult(0);
      stored = "fake-quant";
    } else {
      auto levelType = builder.getIntegerType(activation.getBits() <= 8 ? 8
                                                                        : 16);
      auto quantizedType =
          RankedTensorType::get(cast<RankedTensorType>(input.getType())
                                    .getShape(),
                                levelType);
      Value quantized = QuantizeOp::create(builder, loc, quantizedType, input,
                                           inputScale, inputZeroPoint,
                                           activation);

      // Weight operand: rotated integers (single) or stored levels with the
      // zero point as an operand (asymmetric none/double).
      Value weightZeroPoint;
      DenseElementsAttr weightAttr;
      if (mode == HadamardMode::Single || weightScheme.getSymmetric()) {
        unsigned width = mode == HadamardMode::Single
                             ? storageWidth(integerWeight)
                             : weightScheme.getBits();
        weightAttr = makeIntConstant(shape, width, integerWeight, ctx);
      } else {
        weightAttr =
            makeIntConstant(shape, weightScheme.getBits(), q.levels, ctx);
        std::vector<int64_t> zeros(q.zeroPoints.begin(), q.zeroPoints.end());
        weightZeroPoint = arith::ConstantOp::create(
            builder, loc, makeIntConstant(scaleShape, 32, zeros, ctx));
      }
      stored = concat(weightAttr.getElementType());
      Value weightValue = arith::ConstantOp::create(builder, loc, weightAttr);
      Value weightScale = arith::ConstantOp::create(
          builder, loc,
          DenseElementsAttr::get(scaleType, ArrayRef<float>(q.scales)));
      float multiplier =
          mode == HadamardMode::Single ? float(1.0 / std::sqrt(double(block)))
                                       : 1.0f;
      auto multiplierAttr = builder.getF32FloatAttr(multiplier);
      if (auto conv = dyn_cast<Conv2DOp>(op))
        newResult = QConv2DOp::create(
            builder, loc, resultType, quantized, weightValue, inputScale,
            weightScale, inputZeroPoint, weightZeroPoint, bias,
            conv.getStridesAttr(), conv.getPaddingAttr(),
            conv.getDilationsAttr(), multiplierAttr);
      else
        newResult = QLinearOp::create(builder, loc, resultType, quantized,
                                      weightValue, inputScale, weightScale,
                                      inputZeroPoint, weightZeroPoint, bias,
                                      multiplierAttr);
    }

    ++numQuantized;
    remark::passed(loc, remarkOpts("hqdm-quantize", "Quantized"))
        << concat(
               "layer '", layer.getName(), "': W", weightScheme.getBits(),
               weightScheme.getSymmetric() ? " symmetric" : " asymmetric",
               perChannel ? " per channel" : " per tensor", " (weight SQNR ",
               llvm::format("%.1f", toDecibels(q.signalEnergy, q.errorEnergy)),
               " dB), A", activation.getBits(), " ",
               stringifyGranularity(activation.getGranularity()), " ",
               inputQuantizer->source,
               activation.getSymmetric() ? "" : " asymmetric",
               inputShift ? " (post-GELU shift folded into the bias)" : "",
               ", hadamard ", stringifyHadamardMode(mode),
               mode == HadamardMode::None ? "" : concat(" block ", block),
               "; weight stored as ", stored, ", max |w| ", maxWeight,
               ", worst-case accumulator ", worst);
    op->getResult(0).replaceAllUsesWith(newResult);
    op->erase();
    return success();
  }
};

} // namespace
