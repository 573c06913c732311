//===- TaqPostGelu.cpp - TaQ-DiT's post-GELU transform ----------*- C++ -*-===//
//
// The input of DiT's fc2 is a GELU output: strongly asymmetric (nothing below
// about -0.17), with a few channels far wider than the rest, and drifting
// with the denoising step. TaQ-DiT re-centers every channel and divides the
// outlier channels by an integer that fc2's weight absorbs:
//
//   x' = (x - c) / m                          hqdm.channel_shift
//   W' = W diag(m),  input_shift = c / m      the layer, unchanged in float:
//   (x' + c / m) W'^T + b = x W^T + b
//
// c and m come from the per-step channel ranges of the calibration file.
//
//===----------------------------------------------------------------------===//

#include "CalibrationFile.h"
#include "LayerUtils.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>

namespace mlir::hqdm {
#define GEN_PASS_DEF_TAQPOSTGELUPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

namespace {

/// The shift, migration factors and what was found, for one layer.
struct PostGeluTransform {
  std::vector<double> shift, divisor;
  int64_t outliers = 0;
  double maxDivisor = 1, medianRange = 0, ordinaryRange = 0;
};

PostGeluTransform computeTransform(const LayerStatistics &stats,
                                   double threshold) {
  int64_t channels = stats.channels;
  size_t steps = stats.channelMin.size();
  PostGeluTransform t;
  t.shift.assign(channels, 0.0);
  t.divisor.assign(channels, 1.0);
  // Center: the mid-range of each step, averaged over the steps.
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (size_t s = 0; s < steps; ++s)
      sum += 0.5 * (stats.channelMin[s][c] + stats.channelMax[s][c]);
    t.shift[c] = sum / double(steps);
  }
  // Half-range around the center, over all steps.
  std::vector<double> range(channels);
  for (int64_t c = 0; c < channels; ++c) {
    double r = 0;
    for (size_t s = 0; s < steps; ++s)
      r = std::max({r, stats.channelMax[s][c] - t.shift[c],
                    t.shift[c] - stats.channelMin[s][c]});
    range[c] = r;
  }
  std::vector<double> sorted = range;
  std::nth_element(sorted.begin(), sorted.begin() + channels / 2,
                   sorted.end());
  t.medianRange = sorted[channels / 2];
  double limit = threshold * t.medianRange;
  for (int64_t c = 0; c < channels; ++c)
    if (range[c] <= limit)
      t.ordinaryRange = std::max(t.ordinaryRange, range[c]);
  if (t.ordinaryRange <= 0)
    return t;
  for (int64_t c = 0; c < channels; ++c) {
    if (range[c] <= limit)
      continue;
    double m = std::max(1.0, std::nearbyint(range[c] / t.ordinaryRange));
    t.divisor[c] = m;
    ++t.outliers;
    t.maxDivisor = std::max(t.maxDivisor, m);
  }
  return t;
}

struct TaqPostGeluPass : hqdm::impl::TaqPostGeluPassBase<TaqPostGeluPass> {
  using TaqPostGeluPassBase::TaqPostGeluPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (calibration.empty()) {
      emitError(module.getLoc())
          << "hqdm-taq-post-gelu: the post-GELU shift and migration need "
             "calibration statistics (calibration=<file>, see "
             "docs/Calibration.md)";
      return signalPassFailure();
    }
    if (!(outlierThreshold >= 1.0)) {
      emitError(module.getLoc())
          << "hqdm-taq-post-gelu: outlier-threshold must be at least 1, got "
          << double(outlierThreshold);
      return signalPassFailure();
    }
    std::string error;
    FailureOr<CalibrationFile> file = CalibrationFile::read(calibration, error);
    if (failed(file)) {
      emitError(module.getLoc()) << "hqdm-taq-post-gelu: " << error;
      return signalPassFailure();
    }
    SmallVector<LinearOp> layers;
    module.walk([&](LinearOp op) {
      if (op.getPlan() && isPostGelu(op.getInput()))
        layers.push_back(op);
    });
    for (LinearOp op : layers)
      if (failed(transform(op, *file)))
        return signalPassFailure();
  }

  LogicalResult transform(LinearOp op, const CalibrationFile &file) {
    FloatLayer layer = FloatLayer::get(op);
    std::string name = layer.getName();
    auto missed = [&](const std::string &why) {
      remark::missed(op.getLoc(), remarkOpts("hqdm-taq", "NotTransformed"))
          << concat("layer '", name, "' reads a GELU output but keeps it: ",
                    why);
      return success();
    };
    if (layer.getInputRotation())
      return missed("its input is rotated (the shift applies to unrotated "
                    "inputs)");
    if (op.getInputShiftAttr())
      return success(); // Transformed already.
    FailureOr<const LayerStatistics *> stats = file.lookup(layer);
    if (failed(stats))
      return failure();
    int64_t features = layer.getInputFeatures();
    std::string why;
    FailureOr<std::vector<double>> weight =
        readFloatConstant(layer.getWeight(), why);
    if (failed(weight))
      return missed("its weight " + why);

    PostGeluTransform t = computeTransform(**stats, outlierThreshold);
    auto weightType = cast<RankedTensorType>(layer.getWeight().getType());
    int64_t outputs = weightType.getDimSize(0);
    for (int64_t o = 0; o < outputs; ++o)
      for (int64_t k = 0; k < features; ++k)
        (*weight)[o * features + k] *= t.divisor[k];
    std::vector<double> inputShift(features);
    for (int64_t k = 0; k < features; ++k)
      inputShift[k] = t.shift[k] / t.divisor[k];

    OpBuilder builder(op);
    Location loc = op.getLoc();
    auto vectorType = RankedTensorType::get({features}, builder.getF32Type());
    Value shift = arith::ConstantOp::create(
        builder, loc, makeFloatConstant(vectorType, t.shift));
    Value divisor = arith::ConstantOp::create(
        builder, loc, makeFloatConstant(vectorType, t.divisor));
    Value input = op.getInput();
    Value shifted = ChannelShiftOp::create(builder, loc, input.getType(), input,
                                           shift, divisor,
                                           builder.getI64IntegerAttr(-1));
    Value newWeight = arith::ConstantOp::create(
        builder, loc, makeFloatConstant(weightType, *weight));
    op.getInputMutable().assign(shifted);
    op.getWeightMutable().assign(newWeight);
    op.setInputShiftAttr(cast<DenseElementsAttr>(
        makeFloatConstant(vectorType, inputShift)));

    double meanShift = 0;
    for (double c : t.shift)
      meanShift += std::abs(c);
    meanShift /= double(features);
    remark::passed(loc, remarkOpts("hqdm-taq", "PostGeluTransform"))
        << concat("layer '", name, "': post-GELU input shifted per channel "
                  "(mean |shift| ",
                  llvm::format("%.3g", meanShift), ") and ", t.outliers,
                  " of ", features, " channels migrated into the weight "
                  "(factors up to ",
                  int64_t(t.maxDivisor), "; half-range median ",
                  llvm::format("%.3g", t.medianRange), ", ordinary max ",
                  llvm::format("%.3g", t.ordinaryRange), ")");
    return success();
  }
};

} // namespace
