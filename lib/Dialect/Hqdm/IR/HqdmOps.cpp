//===- HqdmOps.cpp - hqdm operations ----------------------------*- C++ -*-===//
//
// This file implements the verifiers of the hqdm operations. Every diagnostic
// here has a case in test/Dialect/Hqdm/invalid.mlir.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::hqdm;

/// Formats a shape as `[a, b, ?]` for diagnostics.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '[';
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << '?';
    else
      os << d;
  });
  os << ']';
  return text;
}

/// The input's shape without its last dimension: the shape of per-token
/// scales.
static SmallVector<int64_t> tokenShape(RankedTensorType type) {
  return SmallVector<int64_t>(type.getShape().drop_back());
}

static LogicalResult expectShape(Operation *op, StringRef what,
                                 RankedTensorType type,
                                 ArrayRef<int64_t> expected,
                                 StringRef because = "") {
  if (succeeded(verifyCompatibleShape(type.getShape(), expected)))
    return success();
  InFlightDiagnostic diag = op->emitOpError()
                            << what << " must have shape "
                            << formatShape(expected);
  if (!because.empty())
    diag << " (" << because << ")";
  return diag << ", got " << formatShape(type.getShape());
}

/// Checks the scale and zero-point operands of a quantizer against the shape
/// of the value they quantize and the scheme's granularity and symmetry.
static LogicalResult verifyQuantParams(Operation *op, RankedTensorType value,
                                       Value scale, Value zeroPoint,
                                       QuantSchemeAttr scheme) {
  auto scaleType = cast<RankedTensorType>(scale.getType());
  switch (scheme.getGranularity()) {
  case Granularity::PerTensor:
    if (failed(expectShape(op, "per_tensor scale", scaleType, {})))
      return failure();
    break;
  case Granularity::PerChannel: {
    int64_t axis = scheme.getAxis();
    if (axis >= value.getRank())
      return op->emitOpError()
             << "quantization axis " << axis << " is out of range for rank "
             << value.getRank();
    if (failed(expectShape(op, "per_channel scale", scaleType,
                           {value.getDimSize(axis)},
                           "one scale per index of the quantization axis")))
      return failure();
    break;
  }
  case Granularity::PerToken:
    if (value.getRank() < 1)
      return op->emitOpError() << "per_token quantization needs rank >= 1";
    if (failed(expectShape(op, "per_token scale", scaleType, tokenShape(value),
                           "the input shape without its last dimension")))
      return failure();
    break;
  }

  if (scheme.getSymmetric() && zeroPoint)
    return op->emitOpError() << "symmetric scheme takes no zero point";
  if (!scheme.getSymmetric() && !zeroPoint)
    return op->emitOpError() << "asymmetric scheme needs a zero point";
  if (zeroPoint &&
      failed(expectShape(op, "zero point",
                         cast<RankedTensorType>(zeroPoint.getType()),
                         scaleType.getShape(), "the shape of its scale")))
    return failure();
  return success();
}

static LogicalResult verifyLevelsFit(Operation *op, Type elementType,
                                     QuantSchemeAttr scheme) {
  if (elementType.getIntOrFloatBitWidth() < scheme.getBits())
    return op->emitOpError() << "element type " << elementType
                             << " cannot hold " << scheme.getBits()
                             << "-bit levels";
  return success();
}

static LogicalResult verifySameShape(Operation *op, RankedTensorType input,
                                     RankedTensorType result) {
  if (failed(verifyCompatibleShape(input.getShape(), result.getShape())))
    return op->emitOpError()
           << "result shape " << formatShape(result.getShape())
           << " must match input shape " << formatShape(input.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// QuantizeOp, DequantizeOp, FakeQuantOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType result = getResult().getType();
  if (failed(verifyQuantParams(*this, input, getScale(), getZeroPoint(),
                               getScheme())) ||
      failed(verifySameShape(*this, input, result)))
    return failure();
  return verifyLevelsFit(*this, result.getElementType(), getScheme());
}

LogicalResult DequantizeOp::verify() {
  RankedTensorType input = getInput().getType();
  if (failed(verifyQuantParams(*this, input, getScale(), getZeroPoint(),
                               getScheme())) ||
      failed(verifySameShape(*this, input, getResult().getType())))
    return failure();
  return verifyLevelsFit(*this, input.getElementType(), getScheme());
}

LogicalResult FakeQuantOp::verify() {
  if (getInput().getType() != getResult().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal input type " << getInput().getType();
  return verifyQuantParams(*this, getInput().getType(), getScale(),
                           getZeroPoint(), getScheme());
}

//===----------------------------------------------------------------------===//
// TokenScaleOp
//===----------------------------------------------------------------------===//

LogicalResult TokenScaleOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1";
  return expectShape(*this, "result", getResult().getType(), tokenShape(input),
                     "the input shape without its last dimension");
}

//===----------------------------------------------------------------------===//
// StepSelectOp
//===----------------------------------------------------------------------===//

LogicalResult StepSelectOp::verify() {
  auto table = cast<RankedTensorType>(getTable().getType());
  if (table.getElementType() !=
      cast<RankedTensorType>(getResult().getType()).getElementType())
    return emitOpError() << "result must have the table's element type";
  if (table.getRank() < 1)
    return emitOpError() << "table must have rank >= 1 (steps first)";
  if (failed(expectShape(*this, "result",
                         cast<RankedTensorType>(getResult().getType()),
                         table.getShape().drop_front(),
                         "the table shape without its step dimension")))
    return failure();

  std::optional<ArrayRef<int64_t>> starts = getGroupStarts();
  if (!starts)
    return success();
  if (starts->empty() || starts->front() != 0)
    return emitOpError() << "group_starts must begin with step 0";
  for (size_t i = 1; i < starts->size(); ++i)
    if ((*starts)[i] <= (*starts)[i - 1])
      return emitOpError() << "group_starts must increase strictly, but entry "
                           << i << " is " << (*starts)[i] << " after "
                           << (*starts)[i - 1];
  int64_t entries = table.getDimSize(0);
  if (!ShapedType::isDynamic(entries) &&
      entries != static_cast<int64_t>(starts->size()))
    return emitOpError() << "table has " << entries << " entries but "
                         << starts->size() << " groups are given";
  return success();
}

//===----------------------------------------------------------------------===//
// HadamardOp
//===----------------------------------------------------------------------===//

int64_t HadamardOp::getNormalizedAxis() {
  int64_t axis = getAxis();
  return axis < 0 ? axis + getInput().getType().getRank() : axis;
}

LogicalResult HadamardOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType result = getResult().getType();
  int64_t rank = input.getRank();
  int64_t axis = getNormalizedAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError() << "axis " << static_cast<int64_t>(getAxis())
                         << " is out of range for rank " << rank;
  int64_t size = input.getDimSize(axis);
  int64_t block = getSpec().getBlock();
  if (ShapedType::isDynamic(size))
    return emitOpError() << "rotated dimension " << axis << " must be static";
  if (size % block != 0)
    return emitOpError() << "rotated dimension of size " << size
                         << " is not a multiple of the block size " << block;
  if (failed(verifySameShape(*this, input, result)))
    return failure();

  Type inElt = input.getElementType();
  Type outElt = result.getElementType();
  if (isa<FloatType>(inElt)) {
    if (inElt != outElt)
      return emitOpError() << "float rotation must keep the element type "
                           << inElt << ", got " << outElt;
    return success();
  }
  if (!isa<IntegerType>(outElt))
    return emitOpError() << "integer rotation must produce integers, got "
                         << outElt;
  if (getSpec().getNormalized())
    return emitOpError() << "integer rotation must use the raw +-1 matrix "
                            "(normalized = false)";
  unsigned needed = inElt.getIntOrFloatBitWidth() + llvm::Log2_64_Ceil(block);
  if (outElt.getIntOrFloatBitWidth() < needed)
    return emitOpError() << "result element type " << outElt
                         << " may overflow: a block of " << block << " "
                         << inElt << " values needs at least " << needed
                         << " bits";
  return success();
}

//===----------------------------------------------------------------------===//
// QLinearOp, QConv2DOp
//===----------------------------------------------------------------------===//

/// Checks a linear layer's weight [N, K] against its input [..., K].
static LogicalResult verifyLinearWeight(Operation *op, RankedTensorType input,
                                        RankedTensorType weight) {
  if (weight.getRank() != 2)
    return op->emitOpError() << "weight must have rank 2 ([N, K]), got rank "
                             << weight.getRank();
  int64_t k = input.getShape().back();
  if (failed(verifyCompatibleShape({k}, {weight.getDimSize(1)})))
    return op->emitOpError() << "input has " << k
                             << " features but the weight expects "
                             << weight.getDimSize(1);
  return success();
}

/// Checks a linear layer's result shape [..., N].
static LogicalResult verifyLinearResult(Operation *op, RankedTensorType input,
                                        RankedTensorType weight,
                                        RankedTensorType result) {
  SmallVector<int64_t> expected = tokenShape(input);
  expected.push_back(weight.getDimSize(0));
  return expectShape(op, "result", result, expected, "[..., N]");
}

/// Checks a convolution's input (NCHW) and weight (FCHW) ranks and channels.
static LogicalResult verifyConvOperands(Operation *op, RankedTensorType input,
                                        RankedTensorType weight) {
  if (input.getRank() != 4 || weight.getRank() != 4)
    return op->emitOpError()
           << "input (NCHW) and weight (FCHW) must have rank 4";
  if (failed(verifyCompatibleShape({input.getDimSize(1)},
                                   {weight.getDimSize(1)})))
    return op->emitOpError() << "input has " << input.getDimSize(1)
                             << " channels but the weight expects "
                             << weight.getDimSize(1);
  return success();
}

/// Checks the strides, padding and dilations of a 2-D convolution.
static LogicalResult verifyWindow(Operation *op, ArrayRef<int64_t> strides,
                                  ArrayRef<int64_t> padding,
                                  ArrayRef<int64_t> dilations) {
  for (auto [name, values, minimum] :
       {std::tuple<StringRef, ArrayRef<int64_t>, int64_t>{"strides", strides,
                                                          1},
        {"dilations", dilations, 1},
        {"padding", padding, 0}}) {
    if (values.size() != 2)
      return op->emitOpError() << name << " must have 2 entries (H, W), got "
                               << values.size();
    if (llvm::any_of(values, [&](int64_t v) { return v < minimum; }))
      return op->emitOpError()
             << name << " entries must be at least " << minimum;
  }
  return success();
}

/// Checks the result shape [N, F, OH, OW] of a 2-D convolution.
static LogicalResult verifyConvResult(Operation *op, RankedTensorType input,
                                      RankedTensorType weight,
                                      RankedTensorType result,
                                      ArrayRef<int64_t> strides,
                                      ArrayRef<int64_t> padding,
                                      ArrayRef<int64_t> dilations) {
  SmallVector<int64_t> expected = {input.getDimSize(0), weight.getDimSize(0)};
  for (int i = 0; i < 2; ++i) {
    int64_t in = input.getDimSize(2 + i), kernel = weight.getDimSize(2 + i);
    if (ShapedType::isDynamic(in) || ShapedType::isDynamic(kernel)) {
      expected.push_back(ShapedType::kDynamic);
      continue;
    }
    int64_t span = dilations[i] * (kernel - 1) + 1;
    int64_t padded = in + 2 * padding[i];
    if (padded < span)
      return op->emitOpError() << "kernel extent " << span
                               << " exceeds the padded input size " << padded;
    expected.push_back((padded - span) / strides[i] + 1);
  }
  return expectShape(op, "result", result, expected, "[N, F, OH, OW]");
}

/// Checks what qlinear and qconv2d share: operand widths, the weight scale
/// and zero point, the bias.
static LogicalResult verifyQuantizedLayer(Operation *op, RankedTensorType input,
                                          RankedTensorType weight,
                                          Value weightScale,
                                          Value weightZeroPoint, Value bias,
                                          Value inputScale,
                                          Value inputZeroPoint) {
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"input",
                                                                   input},
                            {"weight", weight}})
    if (type.getElementTypeBitWidth() > 32)
      return op->emitOpError()
             << name << " element type " << type.getElementType()
             << " is wider than 32 bits, which i32 accumulation does not allow";

  int64_t outputs = weight.getDimSize(0);
  auto scaleType = cast<RankedTensorType>(weightScale.getType());
  if (scaleType.getRank() != 0 &&
      failed(expectShape(op, "weight scale", scaleType, {outputs},
                         "rank 0, or one per output channel")))
    return failure();
  if (weightZeroPoint &&
      failed(expectShape(op, "weight zero point",
                         cast<RankedTensorType>(weightZeroPoint.getType()),
                         scaleType.getShape(), "the shape of its scale")))
    return failure();
  if (inputZeroPoint &&
      failed(expectShape(
          op, "input zero point",
          cast<RankedTensorType>(inputZeroPoint.getType()),
          cast<RankedTensorType>(inputScale.getType()).getShape(),
          "the shape of its scale")))
    return failure();
  if (bias && failed(expectShape(op, "bias",
                                 cast<RankedTensorType>(bias.getType()),
                                 {outputs}, "one per output channel")))
    return failure();
  return success();
}

LogicalResult QLinearOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  if (input.getRank() < 2)
    return emitOpError() << "input must have rank >= 2 ([..., K]), got rank "
                         << input.getRank();
  if (failed(verifyLinearWeight(*this, input, weight)))
    return failure();
  auto inputScale = getInputScale().getType();
  if (inputScale.getRank() != 0 &&
      failed(expectShape(*this, "input scale", inputScale, tokenShape(input),
                         "rank 0, or one per token")))
    return failure();
  if (failed(verifyQuantizedLayer(*this, input, weight, getWeightScale(),
                                  getWeightZeroPoint(), getBias(),
                                  getInputScale(), getInputZeroPoint())))
    return failure();
  return verifyLinearResult(*this, input, weight, getResult().getType());
}

LogicalResult QConv2DOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  if (failed(verifyConvOperands(*this, input, weight)))
    return failure();
  if (failed(verifyWindow(*this, getStrides(), getPadding(), getDilations())))
    return failure();
  if (getInputScale().getType().getRank() != 0)
    return emitOpError() << "input scale must be rank 0 (per tensor)";
  if (failed(verifyQuantizedLayer(*this, input, weight, getWeightScale(),
                                  getWeightZeroPoint(), getBias(),
                                  getInputScale(), getInputZeroPoint())))
    return failure();

  return verifyConvResult(*this, input, weight, getResult().getType(),
                          getStrides(), getPadding(), getDilations());
}

//===----------------------------------------------------------------------===//
// Float layers
//===----------------------------------------------------------------------===//

/// Checks that every operand and the result share one float element type.
static LogicalResult verifySameElementType(Operation *op) {
  Type element = getElementTypeOrSelf(op->getResult(0).getType());
  for (Value operand : op->getOperands())
    if (getElementTypeOrSelf(operand.getType()) != element)
      return op->emitOpError()
             << "operands and result must share one element type, got "
             << getElementTypeOrSelf(operand.getType()) << " and " << element;
  return success();
}

/// Checks that an input rotation is orthogonal and fits the rotated axis.
static LogicalResult verifyInputRotation(Operation *op,
                                         HadamardSpecAttr rotation,
                                         int64_t features) {
  if (!rotation)
    return success();
  if (!rotation.getNormalized())
    return op->emitOpError()
           << "input_rotation must be a normalized (orthogonal) Hadamard";
  if (!ShapedType::isDynamic(features) && features % rotation.getBlock() != 0)
    return op->emitOpError()
           << "input_rotation block " << rotation.getBlock()
           << " does not divide the " << features << " input features";
  return success();
}

static LogicalResult verifyVector(Operation *op, StringRef what, Value value,
                                  int64_t size) {
  if (!value)
    return success();
  return expectShape(op, what, cast<RankedTensorType>(value.getType()), {size});
}

LogicalResult LinearOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1 ([..., K])";
  if (failed(verifyLinearWeight(*this, input, weight)))
    return failure();
  int64_t k = input.getShape().back();
  if (failed(verifySameElementType(*this)) ||
      failed(verifyVector(*this, "bias", getBias(), weight.getDimSize(0))) ||
      failed(verifyInputRotation(*this, getInputRotationAttr(), k)))
    return failure();
  if (ElementsAttr shift = getInputShiftAttr()) {
    auto type = cast<ShapedType>(shift.getType());
    if (type.getRank() != 1 || type.getDimSize(0) != k)
      return emitOpError() << "input_shift must be a vector of the " << k
                           << " input features, got "
                           << formatShape(type.getShape());
    if (getInputRotationAttr())
      return emitOpError()
             << "input_shift and input_rotation cannot be combined";
  }
  return verifyLinearResult(*this, input, weight, getResult().getType());
}

LogicalResult Conv2DOp::verify() {
  RankedTensorType input = getInput().getType();
  RankedTensorType weight = getWeight().getType();
  if (failed(verifyConvOperands(*this, input, weight)))
    return failure();
  if (failed(verifyWindow(*this, getStrides(), getPadding(), getDilations())) ||
      failed(verifySameElementType(*this)) ||
      failed(verifyVector(*this, "bias", getBias(), weight.getDimSize(0))) ||
      failed(verifyInputRotation(*this, getInputRotationAttr(),
                                 input.getDimSize(1))))
    return failure();
  return verifyConvResult(*this, input, weight, getResult().getType(),
                          getStrides(), getPadding(), getDilations());
}

LogicalResult LayerNormOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 1)
    return emitOpError() << "input must have rank >= 1";
  if (failed(verifySameElementType(*this)) ||
      failed(verifySameShape(*this, input, getResult().getType())))
    return failure();
  int64_t d = input.getShape().back();
  return failure(failed(verifyVector(*this, "weight", getWeight(), d)) ||
                 failed(verifyVector(*this, "bias", getBias(), d)));
}

LogicalResult GroupNormOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 2)
    return emitOpError() << "input must have rank >= 2 ([N, C, ...])";
  if (failed(verifySameElementType(*this)) ||
      failed(verifySameShape(*this, input, getResult().getType())))
    return failure();
  int64_t c = input.getDimSize(1);
  if (!ShapedType::isDynamic(c) && c % getGroups() != 0)
    return emitOpError() << getGroups() << " groups do not divide " << c
                         << " channels";
  return failure(failed(verifyVector(*this, "weight", getWeight(), c)) ||
                 failed(verifyVector(*this, "bias", getBias(), c)));
}

int64_t SoftmaxOp::getNormalizedAxis() {
  int64_t axis = static_cast<int64_t>(getAxis());
  return axis < 0 ? axis + getInput().getType().getRank() : axis;
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxis();
  if (axis < -rank || axis >= rank)
    return emitOpError() << "axis " << axis << " is out of range for rank "
                         << rank;
  return success();
}

LogicalResult ModulateOp::verify() {
  RankedTensorType input = getInput().getType();
  if (input.getRank() < 2)
    return emitOpError() << "input must have rank >= 2 ([B, ..., D])";
  if (failed(verifySameElementType(*this)) ||
      failed(verifySameShape(*this, input, getResult().getType())))
    return failure();
  SmallVector<int64_t> expected = {input.getDimSize(0),
                                   input.getShape().back()};
  return failure(
      failed(expectShape(*this, "shift", getShift().getType(), expected,
                         "[B, D]")) ||
      failed(expectShape(*this, "scale", getScale().getType(), expected,
                         "[B, D]")));
}

#define GET_OP_CLASSES
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.cpp.inc"

//===----------------------------------------------------------------------===//
// StepIndexOp
//===----------------------------------------------------------------------===//

LogicalResult StepIndexOp::verify() {
  if (getSteps().empty())
    return emitOpError() << "needs at least one step";
  for (double step : getSteps())
    if (!std::isfinite(step))
      return emitOpError() << "steps must be finite, got " << step;
  if (auto tensor = dyn_cast<RankedTensorType>(getTimestep().getType())) {
    if (tensor.getRank() > 1)
      return emitOpError() << "timestep must be a scalar or a tensor of rank "
                              "0 or 1, got rank "
                           << tensor.getRank();
    if (tensor.getRank() == 1 && tensor.getDimSize(0) == 0)
      return emitOpError() << "timestep tensor is empty";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ObserveOp
//===----------------------------------------------------------------------===//

/// `axis` of a value of `rank`, counted from the front, or -1 when out of
/// range.
static int64_t normalizeAxis(int64_t axis, int64_t rank) {
  int64_t normalized = axis < 0 ? axis + rank : axis;
  return normalized >= 0 && normalized < rank ? normalized : -1;
}

int64_t ObserveOp::getNormalizedAxis() {
  return normalizeAxis(getAxis(), getInput().getType().getRank());
}

LogicalResult ObserveOp::verify() {
  RankedTensorType input = getInput().getType();
  int64_t axis = getNormalizedAxis();
  if (axis < 0)
    return emitOpError() << "axis " << static_cast<int64_t>(getAxis())
                         << " is out of range for rank " << input.getRank();
  int64_t channels = input.getDimSize(axis);
  if (failed(expectShape(*this, "channel_min", getChannelMin().getType(),
                         {channels}, "one entry per channel")) ||
      failed(expectShape(*this, "channel_max", getChannelMax().getType(),
                         {channels}, "one entry per channel")))
    return failure();
  bool wantsHistogram = getBins() || getLow() || getHigh();
  if (wantsHistogram != bool(getHistogram()))
    return emitOpError() << "a histogram result needs bins, low and high, and "
                            "they need a histogram result";
  if (!wantsHistogram)
    return success();
  if (!getBins() || !getLow() || !getHigh())
    return emitOpError() << "a histogram needs all of bins, low and high";
  double low = getLow()->convertToDouble(), high = getHigh()->convertToDouble();
  if (!std::isfinite(low) || !std::isfinite(high) || !(low < high))
    return emitOpError() << "histogram range [" << low << ", " << high
                         << ") must be finite and non-empty";
  return expectShape(*this, "histogram",
                     cast<RankedTensorType>(getHistogram().getType()),
                     {int64_t(*getBins())}, "one entry per bin");
}

//===----------------------------------------------------------------------===//
// ChannelShiftOp
//===----------------------------------------------------------------------===//

int64_t ChannelShiftOp::getNormalizedAxis() {
  return normalizeAxis(getAxis(), getInput().getType().getRank());
}

LogicalResult ChannelShiftOp::verify() {
  RankedTensorType input = getInput().getType();
  int64_t axis = getNormalizedAxis();
  if (axis < 0)
    return emitOpError() << "axis " << static_cast<int64_t>(getAxis())
                         << " is out of range for rank " << input.getRank();
  if (getResult().getType() != input)
    return emitOpError() << "result must have the input's type";
  int64_t channels = input.getDimSize(axis);
  return failure(
      failed(expectShape(*this, "shift", getShift().getType(), {channels},
                         "one entry per channel")) ||
      failed(expectShape(*this, "divisor", getDivisor().getType(), {channels},
                         "one entry per channel")));
}

//===----------------------------------------------------------------------===//
// GpuLaunchOp
//===----------------------------------------------------------------------===//

LogicalResult GpuLaunchOp::verify() {
  bool onTensors = !getResults().empty();
  for (Value operand : getOperands()) {
    bool isTensor = isa<RankedTensorType>(operand.getType());
    if (isTensor != onTensors)
      return emitOpError() << "has " << getNumResults()
                           << " results, so its operands must all be "
                           << (onTensors ? "ranked tensors" : "memrefs");
  }
  if (onTensors && getResultTypes() != getOutputs().getTypes())
    return emitOpError() << "results must have the outputs' types";
  for (Type temp : getTemps().getAsValueRange<TypeAttr>())
    if (!isa<MemRefType>(temp) || !cast<MemRefType>(temp).hasStaticShape())
      return emitOpError() << "temp " << temp
                           << " is not a statically shaped memref";
  int64_t numBuffers = getNumOperands() + getTemps().size();
  for (Attribute attr : getLaunches()) {
    auto launch = dyn_cast<DictionaryAttr>(attr);
    if (!launch)
      return emitOpError() << "launch " << attr << " is not a dictionary";
    if (!launch.getAs<SymbolRefAttr>("kernel"))
      return emitOpError() << "launch " << launch << " has no kernel symbol";
    for (StringRef key : {"grid", "block"}) {
      auto dims = launch.getAs<DenseI64ArrayAttr>(key);
      if (!dims || dims.size() != 3 ||
          llvm::any_of(dims.asArrayRef(), [](int64_t d) { return d < 1; }))
        return emitOpError() << "launch " << launch << " needs a positive "
                             << key << " of 3 sizes";
    }
    auto args = launch.getAs<DenseI64ArrayAttr>("args");
    if (!args)
      return emitOpError() << "launch " << launch << " has no args";
    for (int64_t index : args.asArrayRef())
      if (index < 0 || index >= numBuffers)
        return emitOpError() << "launch argument " << index
                             << " names no operand or temp (there are "
                             << numBuffers << ")";
  }
  return success();
}

void GpuLaunchOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  // Only the memref form touches memory: it reads its inputs and writes its
  // outputs (the kernels may also read them).
  for (OpOperand &operand : getInputsMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  for (OpOperand &operand : getOutputsMutable())
    if (isa<MemRefType>(operand.get().getType())) {
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    }
}
