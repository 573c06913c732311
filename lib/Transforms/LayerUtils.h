//===- LayerUtils.h - Helpers shared by the quantization passes -*- C++ -*-===//
//
// Uniform access to the float layers (hqdm.linear, hqdm.conv2d), reading and
// writing constant tensors, and the remarks the passes emit.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_TRANSFORMS_LAYERUTILS_H
#define HQDM_LIB_TRANSFORMS_LAYERUTILS_H

#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Remarks.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace mlir::hqdm {

/// A float layer: hqdm.linear or hqdm.conv2d. Both read `input` along one
/// reduction axis (the last one of a linear input, the channels of a
/// convolution input) against `weight`'s axis 1.
class FloatLayer {
public:
  /// Returns a layer for hqdm.linear / hqdm.conv2d, null otherwise.
  static FloatLayer get(Operation *op);

  explicit operator bool() const { return op != nullptr; }
  Operation *getOperation() const { return op; }
  bool isConv() const { return isa<Conv2DOp>(op); }

  Value getInput() const { return op->getOperand(0); }
  Value getWeight() const { return op->getOperand(1); }
  Value getBias() const;
  /// The layer's name, or "<unnamed>".
  std::string getName() const;
  /// The reduction axis of the input (rank - 1, or 1 for NCHW).
  int64_t getInputAxis() const;
  /// The number of input features (K or C).
  int64_t getInputFeatures() const;
  HadamardSpecAttr getInputRotation() const;
  void setInputRotation(HadamardSpecAttr rotation) const;
  LayerPlanAttr getPlan() const;
  void setPlan(LayerPlanAttr plan) const;

private:
  explicit FloatLayer(Operation *op) : op(op) {}
  Operation *op = nullptr;
};

/// A uniform quantizer: a scale and a zero point (0 when symmetric).
struct UniformQuantizer {
  float scale = 0;
  int64_t zeroPoint = 0;
};

/// The quantizer covering `ratio` of the range [lo, hi] (lo <= 0 <= hi), as
/// the clipping searches try it: symmetric, `ratio * max(|lo|, |hi|)` over
/// `maxLevel`; asymmetric, the clipped range over `maxLevel` (2^b - 1) levels
/// with the zero point that maps 0 exactly, clamped to [0, maxLevel].
UniformQuantizer clippedQuantizer(double lo, double hi, double ratio,
                                  bool symmetric, int64_t maxLevel);

/// round_half_even(r) as std::nearbyint computes it in the default rounding
/// mode, inline and without a libm call: adding and subtracting 1.5 * 2^52
/// leaves the nearest integer (ties to even) for |r| < 2^51; larger
/// magnitudes (and NaN) are returned as they are.
inline double roundHalfEven(double r) {
  constexpr double magic = 6755399441055744.0; // 1.5 * 2^52
  if (!(std::abs(r) < 2251799813685248.0))     // 2^51
    return r;
  // Not folded to r: the build does not use -ffast-math (and must not).
  return (r + magic) - magic;
}

/// The level of `x`: clamp(round_half_even(x / s) + z, minLevel, maxLevel),
/// or z when s is 0 (a zero scale never divides). Inline: the clipping
/// searches call it for every element and candidate.
inline int64_t quantizeLevel(double x, float s, int64_t z, int64_t minLevel,
                             int64_t maxLevel) {
  if (s == 0.0f)
    return z;
  double r = roundHalfEven(x / double(s));
  return std::clamp<int64_t>(int64_t(r) + z, minLevel, maxLevel);
}

/// The float32 ranking kernel of the weight clipping search (QuantizeLayers):
/// sum |w - q s|^p over a row, branch-free so that it vectorizes with the
/// baseline x86-64 (SSE2) target. Its error against the exact double
/// computation is bounded in QuantizeLayers.cpp; the constants here are the
/// parts of that bound that come from the kernel itself.
namespace clipsearch {

/// |e|^p as e^whole (float multiplications) times e^fraction.
struct FloatPower {
  double p = 2;
  int whole = 2;       // floor(p), in [1, 8]
  float fraction = 0;  // float(p - floor(p)), in [0, 1)
  /// p in [1, 8]; fails (returns false) otherwise.
  bool set(double p);
};

/// fractionalPower clamps its argument from below to this (2^-40).
constexpr float kFractionFloor = 0x1p-40f;
/// The maximum relative error of fractionalPower(e, f) against e^f computed
/// exactly from the float arguments, for e in [2^-40, 8] and f in [0, 1):
/// the log2 polynomial (3.2e-7 absolute, times f ln 2), the exp2 polynomial
/// (1.3e-7 relative), the reduction (about 2^-25 absolute) and the float
/// evaluation. Measured over every float in [2^-40, 8] for ten values of f
/// (ClipSearchTest's DISABLED_FractionalPowerExhaustive): at most 4.2e-7,
/// growing with f (3.0e-7 at f = 0.4).
constexpr double kFractionalPowerError = 1e-6;

/// e^f for e >= 0 and f in [0, 1), as 2^(f log2 max(e, 2^-40)) with
/// polynomials for log2 (on [sqrt(1/2), sqrt 2)) and exp2 (on [-1/2, 1/2]).
float fractionalPower(float e, float f);

/// A block of kBlock elements is summed in kLanes float lanes (kBlock /
/// kLanes terms each), which are then added to kLanes double lanes (n /
/// kBlock additions each); the total adds the double lanes (kLanes - 1
/// additions) after every block, where the sum may stop early.
constexpr int64_t kLanes = 16, kBlock = 64;

/// sum over i < n of |w_i - q_i s|^p with q_i = round_half_even(clamp(w_i *
/// inverse, lo, hi)) (the level minus the zero point), computed in float as
/// in the bound in QuantizeLayers.cpp. `n` is a multiple of kLanes. Stops
/// after the first block at whose end the partial sum exceeds `limit` and
/// returns that partial sum (the sum is non-decreasing block by block).
double approximateRowError(const float *w, int64_t n, float s, float inverse,
                           float lo, float hi, const FloatPower &power,
                           double limit = INFINITY);

} // namespace clipsearch

/// Whether `value` is a GELU output, possibly after the post-GELU transform
/// (hqdm.channel_shift) and a rotation.
bool isPostGelu(Value value);

/// Why the dense_resource `attr` cannot be read, or nullopt when it has data:
/// a named weight without data gets missingWeightMessage; MLIR's
/// `__elided__` placeholder gets "its dense_resource blob has no data
/// (elided or missing)".
std::optional<std::string> missingResourceData(DenseResourceElementsAttr attr);

/// "weight 'KEY' has no data: pass its safetensors file with ...".
std::string missingWeightMessage(StringRef key);

/// When `value` is a constant dense_resource weight, named (not MLIR's
/// `__elided__`), whose blob has no data: the error to report. The passes
/// that need weight data fail with it instead of leaving the layer alone.
std::optional<std::string> missingWeightData(Value value);

/// The values of a constant float tensor (dense or dense_resource with data:
/// f32, f64, f16, bf16 and the f8 types),
/// row major, as doubles. Fails with `why` set when the value is not such a
/// constant (a function argument, an elided resource, ...).
FailureOr<std::vector<double>> readFloatConstant(Value value,
                                                 std::string &why);

/// Whether readFloatConstant would succeed on `value`, without reading the
/// data; `why` as readFloatConstant sets it.
LogicalResult checkFloatConstant(Value value, std::string &why);

/// A float tensor constant of `type` (f32, f16 or bf16) holding `values`.
DenseElementsAttr makeFloatConstant(RankedTensorType type,
                                    ArrayRef<double> values);

/// An integer tensor constant of the given shape and width.
DenseElementsAttr makeIntConstant(ArrayRef<int64_t> shape, unsigned width,
                                  ArrayRef<int64_t> values, MLIRContext *ctx);

/// Concatenates anything raw_ostream prints, for remark texts (remarks take
/// strings only).
template <typename... Parts>
std::string concat(const Parts &...parts) {
  std::string text;
  llvm::raw_string_ostream os(text);
  (os << ... << parts);
  return text;
}

/// Remark categories: `--remarks-filter='hqdm.*'` shows all of them (MLIR 22
/// matches the filter against the whole category name).
inline remark::RemarkOpts remarkOpts(StringRef pass, StringRef what) {
  return remark::RemarkOpts::name(what).category(pass);
}

} // namespace mlir::hqdm

#endif // HQDM_LIB_TRANSFORMS_LAYERUTILS_H
