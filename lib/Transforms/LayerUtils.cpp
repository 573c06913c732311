//===- LayerUtils.cpp - Helpers shared by the quantization passes -*- C++ -*-=//

#include "LayerUtils.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::hqdm;

FloatLayer FloatLayer::get(Operation *op) {
  if (isa_and_nonnull<LinearOp, Conv2DOp>(op))
    return FloatLayer(op);
  return FloatLayer(nullptr);
}

Value FloatLayer::getBias() const {
  if (auto linear = dyn_cast<LinearOp>(op))
    return linear.getBias();
  return cast<Conv2DOp>(op).getBias();
}

std::string FloatLayer::getName() const {
  if (auto name = op->getAttrOfType<StringAttr>("name"))
    return name.str();
  return "<unnamed>";
}

int64_t FloatLayer::getInputAxis() const {
  return isConv() ? 1 : cast<RankedTensorType>(getInput().getType()).getRank() - 1;
}

int64_t FloatLayer::getInputFeatures() const {
  return cast<RankedTensorType>(getWeight().getType()).getDimSize(1);
}

HadamardSpecAttr FloatLayer::getInputRotation() const {
  return op->getAttrOfType<HadamardSpecAttr>("input_rotation");
}

void FloatLayer::setInputRotation(HadamardSpecAttr rotation) const {
  if (rotation)
    op->setAttr("input_rotation", rotation);
  else
    op->removeAttr("input_rotation");
}

LayerPlanAttr FloatLayer::getPlan() const {
  return op->getAttrOfType<LayerPlanAttr>("plan");
}

void FloatLayer::setPlan(LayerPlanAttr plan) const {
  if (plan)
    op->setAttr("plan", plan);
  else
    op->removeAttr("plan");
}

std::optional<std::string>
mlir::hqdm::missingResourceData(DenseResourceElementsAttr attr) {
  DenseResourceElementsHandle handle = attr.getRawHandle();
  if (handle.getBlob())
    return std::nullopt;
  StringRef key = handle.getKey();
  // MLIR's own placeholder for data left out of the printed IR.
  if (key.starts_with("__elided__"))
    return std::string("its dense_resource blob has no data (elided or "
                       "missing)");
  return missingWeightMessage(key);
}

std::string mlir::hqdm::missingWeightMessage(StringRef key) {
  return concat("weight '", key,
                "' has no data: pass its safetensors file with "
                "--hqdm-load-weights=file=... (hqdm-quantize: weights=...)");
}

std::optional<std::string> mlir::hqdm::missingWeightData(Value value) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr)))
    return std::nullopt;
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource || resource.getRawHandle().getBlob() ||
      resource.getRawHandle().getKey().starts_with("__elided__"))
    return std::nullopt;
  return missingWeightMessage(resource.getRawHandle().getKey());
}

/// The constant attribute of `value` when readFloatConstant can read it,
/// with the resource data checked; null with `why` set otherwise.
static Attribute readableFloatConstant(Value value, std::string &why) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr))) {
    why = isa<BlockArgument>(value) ? "it is a function argument"
                                    : "it is not a compile-time constant";
    return {};
  }
  auto type = cast<RankedTensorType>(value.getType());
  if (isa<DenseFPElementsAttr>(attr))
    return attr;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    auto floatType = dyn_cast<FloatType>(type.getElementType());
    if (!floatType) {
      why = "its dense_resource is not a float tensor";
      return {};
    }
    if (std::optional<std::string> missing = missingResourceData(resource)) {
      why = *missing;
      return {};
    }
    size_t bytes = resource.getRawHandle().getBlob()->getData().size();
    unsigned width = floatType.getWidth();
    size_t numel = type.getNumElements();
    if (width % 8 != 0 || bytes != numel * (width / 8)) {
      why = concat("its dense_resource blob holds ", bytes, " bytes, not ",
                   numel, " elements of ", floatType);
      return {};
    }
    return attr;
  }
  why = "its constant is not a dense float tensor";
  return {};
}

LogicalResult mlir::hqdm::checkFloatConstant(Value value, std::string &why) {
  return success(bool(readableFloatConstant(value, why)));
}

FailureOr<std::vector<double>> mlir::hqdm::readFloatConstant(Value value,
                                                             std::string &why) {
  Attribute attr = readableFloatConstant(value, why);
  if (!attr)
    return failure();
  auto type = cast<RankedTensorType>(value.getType());
  auto floatType = cast<FloatType>(type.getElementType());
  size_t numel = type.getNumElements();
  std::vector<double> values;
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    values.reserve(numel);
    if (floatType.isF32()) {
      for (float v : dense.getValues<float>())
        values.push_back(v);
      return values;
    }
    for (APFloat v : dense.getValues<APFloat>())
      values.push_back(v.convertToDouble());
    return values;
  }
  auto resource = cast<DenseResourceElementsAttr>(attr);
  ArrayRef<char> data = resource.getRawHandle().getBlob()->getData();
  unsigned width = floatType.getWidth();
  values.resize(numel);
  if (floatType.isF32()) {
    for (size_t i = 0; i < numel; ++i) {
      float v;
      std::memcpy(&v, data.data() + 4 * i, 4);
      values[i] = v;
    }
    return values;
  }
  if (floatType.isF64()) {
    std::memcpy(values.data(), data.data(), 8 * numel);
    return values;
  }
  // f16, bf16, f8 ...: through APFloat from the raw little-endian bits.
  const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
  unsigned bytes = width / 8;
  for (size_t i = 0; i < numel; ++i) {
    uint64_t bits = 0;
    for (unsigned b = 0; b < bytes; ++b)
      bits |= uint64_t(uint8_t(data[i * bytes + b])) << (8 * b);
    values[i] = APFloat(semantics, APInt(width, bits)).convertToDouble();
  }
  return values;
}

DenseElementsAttr mlir::hqdm::makeFloatConstant(RankedTensorType type,
                                                ArrayRef<double> values) {
  auto floatType = cast<FloatType>(type.getElementType());
  if (floatType.isF32()) {
    std::vector<float> data(values.begin(), values.end());
    return DenseElementsAttr::get(type, ArrayRef<float>(data));
  }
  SmallVector<APFloat> data;
  data.reserve(values.size());
  for (double v : values) {
    APFloat f(v);
    bool losesInfo = false;
    f.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
              &losesInfo);
    data.push_back(f);
  }
  return DenseElementsAttr::get(type, data);
}

DenseElementsAttr mlir::hqdm::makeIntConstant(ArrayRef<int64_t> shape,
                                              unsigned width,
                                              ArrayRef<int64_t> values,
                                              MLIRContext *ctx) {
  auto type = RankedTensorType::get(shape, IntegerType::get(ctx, width));
  SmallVector<APInt> data;
  data.reserve(values.size());
  for (int64_t v : values)
    data.push_back(APInt(width, v, /*isSigned=*/true, /*implicitTrunc=*/true));
  return DenseElementsAttr::get(type, data);
}

bool mlir::hqdm::isPostGelu(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    if (isa<GeluOp>(op))
      return true;
    if (auto shift = dyn_cast<ChannelShiftOp>(op))
      value = shift.getInput();
    else if (auto rotation = dyn_cast<HadamardOp>(op))
      value = rotation.getInput();
    else
      return false;
  }
  return false;
}

UniformQuantizer mlir::hqdm::clippedQuantizer(double lo, double hi,
                                              double ratio, bool symmetric,
                                              int64_t maxLevel) {
  UniformQuantizer q;
  if (symmetric) {
    q.scale =
        float(ratio * std::max(std::abs(lo), std::abs(hi)) / double(maxLevel));
    return q;
  }
  double l = ratio * lo, h = ratio * hi;
  q.scale = float((h - l) / double(maxLevel));
  if (q.scale != 0.0f)
    q.zeroPoint = std::clamp<int64_t>(
        int64_t(std::nearbyint(-l / double(q.scale))), 0, maxLevel);
  return q;
}

//===----------------------------------------------------------------------===//
// The clipping search's float ranking kernel
//===----------------------------------------------------------------------===//

bool clipsearch::FloatPower::set(double value) {
  if (!(value >= 1 && value <= 8))
    return false;
  p = value;
  whole = int(std::floor(value));
  fraction = float(value - std::floor(value));
  return true;
}

namespace {

/// 1.5 * 2^23: (r + magic) - magic rounds a float r with |r| < 2^22 to the
/// nearest integer, ties to even (in the default rounding mode).
constexpr float kRoundMagic = 12582912.0f;

template <typename To, typename From>
inline To bitCast(From from) {
  static_assert(sizeof(To) == sizeof(From));
  To to;
  std::memcpy(&to, &from, sizeof(To));
  return to;
}

/// The kernel below is plain C++ that GCC vectorizes for the baseline
/// target (SSE2, 4 floats). Where the toolchain supports function
/// multiversioning (GCC on x86-64 ELF), rowError is also compiled
/// for AVX2 (8 floats) and picked at load time on machines that have it.
/// Not FMA: the two versions then do the same IEEE operations in the same
/// order per lane and return the same sums; the errors bounded in
/// QuantizeLayers.cpp (and measured by ClipSearchTest) are those of
/// separate multiplications and additions.
#if defined(__x86_64__) && defined(__ELF__) && defined(__GNUC__) &&             \
    !defined(__clang__) && !defined(HQDM_NO_KERNEL_CLONES)
#define HQDM_KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define HQDM_KERNEL_CLONES
#endif
/// Inlined into rowError, so that its AVX2 version has AVX2 code throughout.
#define HQDM_KERNEL_INLINE __attribute__((always_inline)) inline

HQDM_KERNEL_INLINE float fractionalPowerImpl(float e, float f) {
  // max(e, 2^-40) on the bits (e >= 0: they order as the values do); a
  // float comparison would keep GCC from vectorizing (-ftrapping-math).
  // (0x2b800000 is 2^-40, written out: a named constant here stops GCC 12
  // from vectorizing the select.)
  int32_t eBits = bitCast<int32_t>(e);
  // e = 2^k * m with m in [sqrt(1/2), sqrt(2)).
  uint32_t bits = uint32_t(eBits < 0x2b800000 ? 0x2b800000 : eBits);
  int32_t k = int32_t(bits - 0x3f3504f3u) >> 23;
  float m = bitCast<float>(bits - (uint32_t(k) << 23));
  float x = m - 1.0f;
  // log2(1 + x) on [sqrt(1/2) - 1, sqrt(2) - 1]: 3.2e-7 absolute.
  float log2m =
      x * (1.4426998f +
           x * (-0.72137564f +
                x * (0.48046356f +
                     x * (-0.35896865f +
                          x * (0.29728624f +
                               x * (-0.27264872f + x * 0.17049858f))))));
  // y = f (k + log2m) = a + b with a = fHigh k exact (fHigh: f's top 12
  // bits, k in [-40, 3]) and b small, so that t = y - round(y) loses only
  // about 2^-25 (one float rounding of f (k + log2m) would lose up to half
  // an ulp of 41).
  float fHigh = bitCast<float>(bitCast<uint32_t>(f) & 0xfffff000u);
  float fLow = f - fHigh; // exact
  float kf = float(k);
  float a = fHigh * kf; // exact
  float b = fLow * kf + f * log2m;
  float n = ((a + b) + kRoundMagic) - kRoundMagic;
  float t = (a - n) + b; // a - n exact; t in [-1/2, 1/2] up to 2^-24
  // 2^t on [-1/2, 1/2]: 1.3e-7 relative.
  float exp2t =
      1.0000001f +
      t * (0.693147f +
           t * (0.24022102f +
                t * (0.055506855f + t * (0.009676116f + t * 0.0013285342f))));
  // 2^n for n in [-41, 8] by its exponent field.
  float scale = bitCast<float>(uint32_t(int32_t(n) + 127) << 23);
  return exp2t * scale;
}

/// out[i] = |w_i - q_i s|^p, i < n. A plain loop over arrays: GCC
/// vectorizes it at -O3 for the baseline target.
template <int Whole, bool Fraction>
HQDM_KERNEL_INLINE void errorTerms(const float *__restrict w, float *__restrict out, int64_t n,
                float s, float inverse, float lo, float hi, float f) {
  for (int64_t i = 0; i < n; ++i) {
    float r = w[i] * inverse;
    r = r < lo ? lo : r;
    r = r > hi ? hi : r;
    float q = (r + kRoundMagic) - kRoundMagic;
    float e = std::fabs(w[i] - q * s);
    float power = e;
    for (int j = 1; j < Whole; ++j)
      power *= e;
    if (Fraction)
      power *= fractionalPowerImpl(e, f);
    out[i] = power;
  }
}

template <int Whole, bool Fraction>
HQDM_KERNEL_CLONES double rowError(const float *w, int64_t n, float s, float inverse, float lo,
                float hi, float f, double limit) {
  using namespace clipsearch;
  static_assert(kLanes == 16 && kBlock % kLanes == 0);
  alignas(64) float terms[kBlock];
  double lanes[kLanes] = {};
  double sum = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    int64_t m = std::min(kBlock, n - b);
    errorTerms<Whole, Fraction>(w + b, terms, m, s, inverse, lo, hi, f);
    float block[kLanes] = {};
    for (int64_t i = 0; i < m; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j)
        block[j] += terms[i + j];
    for (int64_t j = 0; j < kLanes; ++j)
      lanes[j] += double(block[j]);
    // The lanes' total, as a tree in a fixed order: it never decreases from
    // one block to the next.
    double half[8], quarter[4];
    for (int j = 0; j < 8; ++j)
      half[j] = lanes[j] + lanes[j + 8];
    for (int j = 0; j < 4; ++j)
      quarter[j] = half[j] + half[j + 4];
    sum = (quarter[0] + quarter[2]) + (quarter[1] + quarter[3]);
    if (sum > limit)
      break;
  }
  return sum;
}

} // namespace

float clipsearch::fractionalPower(float e, float f) {
  return fractionalPowerImpl(e, f);
}

double clipsearch::approximateRowError(const float *w, int64_t n, float s,
                                       float inverse, float lo, float hi,
                                       const FloatPower &power, double limit) {
  float f = power.fraction;
  bool fraction = f != 0.0f;
#define HQDM_ROW_ERROR(W)                                                      \
  case W:                                                                      \
    return fraction ? rowError<W, true>(w, n, s, inverse, lo, hi, f, limit)    \
                    : rowError<W, false>(w, n, s, inverse, lo, hi, f, limit);
  switch (power.whole) {
    HQDM_ROW_ERROR(1)
    HQDM_ROW_ERROR(2)
    HQDM_ROW_ERROR(3)
    HQDM_ROW_ERROR(4)
    HQDM_ROW_ERROR(5)
    HQDM_ROW_ERROR(6)
    HQDM_ROW_ERROR(7)
  default:
    return rowError<8, false>(w, n, s, inverse, lo, hi, f, limit);
  }
#undef HQDM_ROW_ERROR
}
