//===- LayerUtils.cpp - Helpers shared by the quantization passes -*- C++ -*-=//

#include "LayerUtils.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>
#include <cmath>

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

FailureOr<std::vector<double>> mlir::hqdm::readFloatConstant(Value value,
                                                             std::string &why) {
  Attribute attr;
  if (!matchPattern(value, m_Constant(&attr))) {
    why = isa<BlockArgument>(value) ? "it is a function argument"
                                    : "it is not a compile-time constant";
    return failure();
  }
  auto type = cast<RankedTensorType>(value.getType());
  std::vector<double> values;
  values.reserve(type.getNumElements());
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    for (APFloat v : dense.getValues<APFloat>())
      values.push_back(v.convertToDouble());
    return values;
  }
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(attr)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (!data || data->size() != size_t(type.getNumElements())) {
      why = "its dense_resource blob has no data (elided or missing)";
      return failure();
    }
    values.assign(data->begin(), data->end());
    return values;
  }
  if (isa<DenseResourceElementsAttr>(attr)) {
    why = "its dense_resource blob is not readable as f32";
    return failure();
  }
  why = "its constant is not a dense float tensor";
  return failure();
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

int64_t mlir::hqdm::quantizeLevel(double x, float s, int64_t z,
                                  int64_t minLevel, int64_t maxLevel) {
  if (s == 0.0f)
    return z;
  double r = std::nearbyint(x / double(s)); // ties to even
  return std::clamp<int64_t>(int64_t(r) + z, minLevel, maxLevel);
}
