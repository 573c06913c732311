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
