//===- HqdmAttrs.cpp - hqdm attributes --------------------------*- C++ -*-===//
//
// This file implements the hqdm attributes: parsing and printing come from
// ODS, verification and the level ranges of a quantization scheme live here.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Dialect/Hqdm/IR/HqdmAttrs.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Support/Hadamard.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::hqdm;

#include "hqdm/Dialect/Hqdm/IR/HqdmEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "hqdm/Dialect/Hqdm/IR/HqdmAttrs.cpp.inc"

void HqdmDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "hqdm/Dialect/Hqdm/IR/HqdmAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// QuantSchemeAttr
//===----------------------------------------------------------------------===//

LogicalResult
QuantSchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        unsigned bits, bool symmetric, Granularity granularity,
                        int64_t axis) {
  if (bits < 2 || bits > 16)
    return emitError() << "quantization bits must be in [2, 16], got " << bits;
  if (axis < 0)
    return emitError() << "quantization axis must be non-negative, got "
                       << axis;
  if (axis != 0 && granularity != Granularity::PerChannel)
    return emitError() << "quantization axis is only meaningful per_channel";
  return success();
}

int64_t QuantSchemeAttr::getMinLevel() const {
  return getSymmetric() ? -((int64_t(1) << (getBits() - 1)) - 1) : 0;
}

int64_t QuantSchemeAttr::getMaxLevel() const {
  return getSymmetric() ? (int64_t(1) << (getBits() - 1)) - 1
                        : (int64_t(1) << getBits()) - 1;
}

//===----------------------------------------------------------------------===//
// HadamardSpecAttr
//===----------------------------------------------------------------------===//

LogicalResult
HadamardSpecAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         int64_t block, bool normalized) {
  llvm::Expected<HadamardConstruction> construction =
      getHadamardConstruction(block);
  if (!construction)
    return emitError() << llvm::toString(construction.takeError());
  return success();
}

//===----------------------------------------------------------------------===//
// LayerPlanAttr
//===----------------------------------------------------------------------===//

LogicalResult
LayerPlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      QuantSchemeAttr weight, QuantSchemeAttr activation,
                      ScaleSource scales, HadamardMode hadamard,
                      int64_t block) {
  if (!weight || !activation)
    return emitError() << "a plan needs a weight and an activation scheme";
  if (weight.getGranularity() == Granularity::PerToken)
    return emitError() << "weights cannot be quantized per_token";
  if (weight.getGranularity() == Granularity::PerChannel &&
      weight.getAxis() != 0)
    return emitError() << "per_channel weights are quantized along the "
                          "output channel (axis 0)";
  if (activation.getGranularity() == Granularity::PerChannel)
    return emitError() << "activations are quantized per_tensor or per_token";
  if (activation.getGranularity() == Granularity::PerToken &&
      scales != ScaleSource::Dynamic)
    return emitError() << "per_token activation scales are dynamic";
  if (block < 0)
    return emitError() << "Hadamard block must be non-negative (0 = the "
                          "whole axis), got "
                       << block;
  return success();
}

//===----------------------------------------------------------------------===//
// ScaleTableAttr
//===----------------------------------------------------------------------===//

LogicalResult
ScaleTableAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       DenseF64ArrayAttr steps, DenseI64ArrayAttr groupStarts,
                       DenseF32ArrayAttr scales, DenseI64ArrayAttr zeroPoints) {
  if (!steps || !groupStarts || !scales || !zeroPoints)
    return emitError() << "a scale table needs steps, group_starts, scales "
                          "and zero_points";
  int64_t numSteps = steps.size();
  if (numSteps == 0)
    return emitError() << "a scale table needs at least one step";
  ArrayRef<int64_t> starts = groupStarts.asArrayRef();
  if (starts.empty() || starts.front() != 0)
    return emitError() << "group_starts must begin with step 0";
  for (size_t i = 1; i < starts.size(); ++i)
    if (starts[i] <= starts[i - 1] || starts[i] >= numSteps)
      return emitError() << "group_starts must increase strictly below the "
                         << numSteps << " steps, but entry " << i << " is "
                         << starts[i];
  if (scales.size() != groupStarts.size())
    return emitError() << scales.size() << " scales for "
                       << groupStarts.size() << " groups";
  for (float s : scales.asArrayRef())
    if (!(s >= 0.0f) || !std::isfinite(s))
      return emitError() << "scales must be finite and non-negative, got "
                         << s;
  if (!zeroPoints.empty() && zeroPoints.size() != groupStarts.size())
    return emitError() << zeroPoints.size() << " zero points for "
                       << groupStarts.size()
                       << " groups (give none for a symmetric quantizer)";
  return success();
}
