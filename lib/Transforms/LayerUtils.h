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
