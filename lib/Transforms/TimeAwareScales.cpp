//===- TimeAwareScales.cpp - Per-step and step-group scales -----*- C++ -*-===//
//
// Chooses calibrated activation scales from per-step histograms.
//
// A scale s (and zero point z, for asymmetric quantizers) is scored on a
// histogram h by the L_p error of quantizing every bin center c_b:
//
//   E(s) = sum_b h_b |c_b - Q_s(c_b)|^p
//
// and chosen by a clipping search over ratios 1, 0.99, ... of the range.
// Steps t = 0 .. T-1 (sampler order) are split into G contiguous groups; the
// cost of a group [i, j) is the best E over the merged histogram of its
// steps, and dynamic programming over prefix-summed histograms finds the
// boundaries that minimize the total cost:
//
//   best[g][j] = min_{i < j} best[g-1][i] + cost(i, j)
//
// G = 1 is one static scale, G = T one scale per step.
//
//===----------------------------------------------------------------------===//

#include "CalibrationFile.h"
#include "LayerUtils.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"
#include "mlir/IR/Threading.h"

#include <cmath>

namespace mlir::hqdm {
#define GEN_PASS_DEF_TIMEAWARESCALESPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

namespace {

/// A quantizer for one group, with its error on the group's histogram.
struct GroupScale {
  float scale = 0;
  int64_t zeroPoint = 0;
  double error = INFINITY;             // L_p, what the search minimizes
  double squaredError = 0, signal = 0; // for the SQNR in remarks
};

/// The clipping search over the histograms of one layer.
class ScaleSearch {
public:
  ScaleSearch(const StepHistograms &histograms, QuantSchemeAttr scheme,
              int64_t candidates, double p)
      : h(histograms), symmetric(scheme.getSymmetric()),
        minLevel(scheme.getMinLevel()), maxLevel(scheme.getMaxLevel()),
        candidates(candidates), p(p) {
    int64_t steps = h.counts.size(), bins = h.bins;
    prefix.assign((steps + 1) * bins, 0.0);
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t b = 0; b < bins; ++b)
        prefix[(s + 1) * bins + b] = prefix[s * bins + b] + h.counts[s][b];
  }

  /// The best quantizer for steps [first, last).
  GroupScale search(int64_t first, int64_t last) const {
    int64_t bins = h.bins;
    std::vector<double> merged(bins);
    int64_t lowest = -1, highest = -1;
    for (int64_t b = 0; b < bins; ++b) {
      merged[b] = prefix[last * bins + b] - prefix[first * bins + b];
      if (merged[b] > 0) {
        if (lowest < 0)
          lowest = b;
        highest = b;
      }
    }
    GroupScale best;
    if (lowest < 0) { // Nothing observed: any scale is exact.
      best.error = 0;
      return best;
    }
    // The range of the observed values: the outer edges of the extreme bins.
    double width = h.binWidth();
    double lo = std::min(0.0, h.low + double(lowest) * width);
    double hi = std::max(0.0, h.low + double(highest + 1) * width);
    for (int64_t c = 0; c < candidates; ++c) {
      auto [s, z] = clippedQuantizer(lo, hi, 1.0 - 0.01 * double(c), symmetric,
                                     maxLevel);
      if (s == 0.0f)
        continue;
      double error = 0;
      for (int64_t b = lowest; b <= highest; ++b) {
        if (merged[b] == 0)
          continue;
        double e = std::abs(h.binCenter(b) - dequantize(h.binCenter(b), s, z));
        error += merged[b] * (p == 2.0 ? e * e : std::pow(e, p));
      }
      if (error < best.error) {
        best.error = error;
        best.scale = s;
        best.zeroPoint = z;
      }
    }
    for (int64_t b = lowest; b <= highest; ++b) {
      double x = h.binCenter(b);
      double e = x - dequantize(x, best.scale, best.zeroPoint);
      best.squaredError += merged[b] * e * e;
      best.signal += merged[b] * x * x;
    }
    return best;
  }

private:
  double dequantize(double x, float s, int64_t z) const {
    return double(quantizeLevel(x, s, z, minLevel, maxLevel) - z) * double(s);
  }

  const StepHistograms &h;
  bool symmetric;
  int64_t minLevel, maxLevel, candidates;
  double p;
  /// prefix[s * bins + b]: counts of bin b summed over steps [0, s).
  std::vector<double> prefix;
};

/// The chosen table of one layer and the figures its remark reports.
struct Choice {
  std::vector<int64_t> starts;
  std::vector<GroupScale> scales;
  double staticSqnr = 0, perStepSqnr = 0, chosenSqnr = 0;
};

double sqnr(double signal, double error) {
  return error <= 0 ? INFINITY : 10.0 * std::log10(signal / error);
}

double sqnrOf(ArrayRef<GroupScale> groups) {
  double signal = 0, error = 0;
  for (const GroupScale &g : groups) {
    signal += g.signal;
    error += g.squaredError;
  }
  return sqnr(signal, error);
}

/// Splits `steps` into `groups` contiguous groups minimizing the total cost.
Choice chooseGroups(const ScaleSearch &search, int64_t steps, int64_t groups) {
  Choice choice;
  std::vector<GroupScale> perStep;
  for (int64_t t = 0; t < steps; ++t)
    perStep.push_back(search.search(t, t + 1));
  GroupScale single = search.search(0, steps);
  choice.staticSqnr = sqnrOf(single);
  choice.perStepSqnr = sqnrOf(perStep);

  if (groups <= 1) {
    choice.starts = {0};
    choice.scales = {single};
  } else if (groups >= steps) {
    for (int64_t t = 0; t < steps; ++t)
      choice.starts.push_back(t);
    choice.scales = perStep;
  } else {
    // cost[i][j] for every group [i, j).
    std::vector<std::vector<GroupScale>> cost(steps);
    for (int64_t i = 0; i < steps; ++i) {
      cost[i].resize(steps + 1);
      for (int64_t j = i + 1; j <= steps; ++j)
        cost[i][j] = j == i + 1 ? perStep[i] : search.search(i, j);
    }
    // best[g][j]: the least cost of the first j steps in g groups.
    std::vector<std::vector<double>> best(
        groups + 1, std::vector<double>(steps + 1, INFINITY));
    std::vector<std::vector<int64_t>> from(
        groups + 1, std::vector<int64_t>(steps + 1, -1));
    best[0][0] = 0;
    for (int64_t g = 1; g <= groups; ++g)
      for (int64_t j = g; j <= steps; ++j)
        for (int64_t i = g - 1; i < j; ++i) {
          double total = best[g - 1][i] + cost[i][j].error;
          if (total < best[g][j]) {
            best[g][j] = total;
            from[g][j] = i;
          }
        }
    std::vector<int64_t> bounds = {steps};
    for (int64_t g = groups, j = steps; g > 0; --g) {
      j = from[g][j];
      bounds.push_back(j);
    }
    std::reverse(bounds.begin(), bounds.end()); // 0 = b_0 < ... < b_G = T
    for (int64_t g = 0; g < groups; ++g) {
      choice.starts.push_back(bounds[g]);
      choice.scales.push_back(cost[bounds[g]][bounds[g + 1]]);
    }
  }
  choice.chosenSqnr = sqnrOf(choice.scales);
  return choice;
}

/// One layer to calibrate and how many groups it gets.
struct Job {
  Operation *op;
  const LayerStatistics *stats;
  int64_t groups;
  QuantSchemeAttr scheme;
  ScaleSource source;
  Choice choice;
};

struct TimeAwareScalesPass
    : hqdm::impl::TimeAwareScalesPassBase<TimeAwareScalesPass> {
  using TimeAwareScalesPassBase::TimeAwareScalesPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &message) {
      emitError(module.getLoc()) << "hqdm-time-aware-scales: " << message;
      signalPassFailure();
    };
    if (layers != "post-gelu" && layers != "rotated" && layers != "all" &&
        layers != "none")
      return fail("layers '" + layers +
                  "' is not one of post-gelu, rotated, all, none");
    if (groups < 0)
      return fail("groups must be non-negative (0: one scale per step)");
    if (clipCandidates < 1 || clipCandidates > 100 || !(clipNorm > 0))
      return fail("clip-candidates must be in [1, 100] and clip-norm "
                  "positive");

    // The layers to calibrate.
    std::vector<Job> jobs;
    module.walk([&](Operation *op) {
      FloatLayer layer = FloatLayer::get(op);
      if (!layer || !layer.getPlan())
        return;
      LayerPlanAttr plan = layer.getPlan();
      bool timeAware = layers == "all" ||
                       (layers == "rotated" && layer.getInputRotation()) ||
                       (layers == "post-gelu" && isPostGelu(layer.getInput()));
      if (timeAware || plan.getScales() == ScaleSource::PerStep)
        jobs.push_back({op, nullptr, groups, plan.getActivation(),
                        ScaleSource::PerStep, {}});
      else if (plan.getScales() == ScaleSource::Static)
        jobs.push_back({op, nullptr, 1, plan.getActivation(),
                        ScaleSource::Static, {}});
    });
    if (jobs.empty())
      return;
    if (calibration.empty())
      return fail("time-aware, static and per-step activation scales need "
                  "calibration statistics (calibration=<file>, see "
                  "docs/Calibration.md)");
    std::string error;
    FailureOr<CalibrationFile> file = CalibrationFile::read(calibration, error);
    if (failed(file))
      return fail(error);
    int64_t steps = file->getNumSteps();

    for (Job &job : jobs)
      if (failed(check(job, *file)))
        return signalPassFailure();
    if (failed(markTimestep(module, jobs, *file)))
      return signalPassFailure();

    parallelFor(&getContext(), 0, jobs.size(), [&](size_t i) {
      Job &job = jobs[i];
      ScaleSearch search(*job.stats->histogram, job.scheme, clipCandidates,
                         clipNorm);
      int64_t g = job.groups == 0 ? steps : std::min(job.groups, steps);
      job.choice = chooseGroups(search, steps, g);
    });

    for (Job &job : jobs)
      apply(job, *file);
  }

  /// Checks that the statistics of `job`'s layer match the layer as it is.
  LogicalResult check(Job &job, const CalibrationFile &file) {
    FloatLayer layer = FloatLayer::get(job.op);
    std::string name = layer.getName();
    auto where = [&]() {
      return concat("calibration file '", file.path, "': layer '", name, "'");
    };
    FailureOr<const LayerStatistics *> stats = file.lookup(layer);
    if (failed(stats))
      return failure();
    job.stats = *stats;
    if (!job.stats->histogram)
      return job.op->emitError()
             << where() << " has ranges but no histograms (the file of the "
             << "first calibration stage?); scales need both stages";
    const std::optional<ObservedTransform> &recorded =
        job.stats->histogram->transform;
    auto shift = layer.getInput().getDefiningOp<ChannelShiftOp>();
    if (!shift && recorded)
      return job.op->emitError()
             << where() << " was observed after the post-GELU transform, "
             << "which this compilation does not apply (taq=true?)";
    if (shift) {
      std::string why;
      FailureOr<std::vector<double>> c = readFloatConstant(shift.getShift(), why);
      FailureOr<std::vector<double>> m =
          readFloatConstant(shift.getDivisor(), why);
      auto same = [](ArrayRef<double> a, ArrayRef<double> b) {
        if (a.size() != b.size())
          return false;
        for (size_t i = 0; i < a.size(); ++i)
          if (std::abs(a[i] - b[i]) > 1e-6 * (1.0 + std::abs(b[i])))
            return false;
        return true;
      };
      if (!recorded || failed(c) || failed(m) ||
          !same(*c, recorded->shift) || !same(*m, recorded->divisor))
        return job.op->emitError()
               << where() << ": its histograms were not observed under the "
               << "post-GELU transform this compilation applies; calibrate "
                  "with the same options";
    }
    return success();
  }

  /// Marks the timestep argument of every function whose layers get a table
  /// of more than one entry.
  LogicalResult markTimestep(ModuleOp module, ArrayRef<Job> jobs,
                             const CalibrationFile &file) {
    int64_t index = timestepArg >= 0 ? int64_t(timestepArg) : file.timestepArg;
    if (timestepArg >= 0 && file.timestepArg >= 0 &&
        timestepArg != file.timestepArg)
      return emitError(module.getLoc())
             << "hqdm-time-aware-scales: timestep-arg " << int64_t(timestepArg)
             << " differs from the calibration file's (" << file.timestepArg
             << ")";
    for (const Job &job : jobs) {
      if (file.getNumSteps() < 2 || job.groups == 1)
        continue;
      auto function = job.op->getParentOfType<func::FuncOp>();
      if (!function)
        return job.op->emitError() << "a layer with per-step scales must be "
                                      "inside a func.func";
      if (function.getName() != file.function)
        return job.op->emitError()
               << "calibration file '" << file.path
               << "' was recorded for @" << file.function
               << ", but this layer is in @" << function.getName();
      if (index < 0 || index >= int64_t(function.getNumArguments()))
        return job.op->emitError()
               << "per-step scales need the timestep argument of @"
               << function.getName() << " (timestep-arg=N or the "
               << "hqdm.timestep argument attribute)";
      for (unsigned i = 0; i < function.getNumArguments(); ++i)
        if (int64_t(i) != index && function.getArgAttr(i, "hqdm.timestep"))
          return job.op->emitError()
                 << "@" << function.getName() << ": argument " << i
                 << " is marked hqdm.timestep, but the calibration used "
                 << "argument " << index;
      function.setArgAttr(index, "hqdm.timestep",
                          UnitAttr::get(function.getContext()));
    }
    return success();
  }

  void apply(Job &job, const CalibrationFile &file) {
    FloatLayer layer = FloatLayer::get(job.op);
    MLIRContext *ctx = job.op->getContext();
    const Choice &choice = job.choice;
    SmallVector<float> scales;
    SmallVector<int64_t> zeroPoints;
    for (const GroupScale &g : choice.scales) {
      scales.push_back(g.scale);
      if (!job.scheme.getSymmetric())
        zeroPoints.push_back(g.zeroPoint);
    }
    auto table = ScaleTableAttr::get(
        ctx, DenseF64ArrayAttr::get(ctx, file.steps),
        DenseI64ArrayAttr::get(ctx, choice.starts),
        DenseF32ArrayAttr::get(ctx, scales),
        DenseI64ArrayAttr::get(ctx, zeroPoints));
    job.op->setAttr("activation_scales", table);
    LayerPlanAttr plan = layer.getPlan();
    QuantSchemeAttr activation = plan.getActivation();
    auto perTensor = QuantSchemeAttr::get(ctx, activation.getBits(),
                                          activation.getSymmetric(),
                                          Granularity::PerTensor, 0);
    int64_t groupCount = choice.starts.size();
    layer.setPlan(LayerPlanAttr::get(
        ctx, plan.getWeight(), perTensor,
        groupCount == 1 ? ScaleSource::Static : ScaleSource::PerStep,
        plan.getHadamard(), plan.getBlock()));

    std::string starts;
    llvm::raw_string_ostream os(starts);
    llvm::interleaveComma(choice.starts, os);
    auto dB = [](double v) { return llvm::format("%.1f", v); };
    remark::passed(job.op->getLoc(), remarkOpts("hqdm-time-aware", "Scales"))
        << concat("layer '", layer.getName(), "': ", groupCount,
                  groupCount == 1 ? " static scale" : " step groups",
                  " (starts ", starts, ") over ", file.getNumSteps(),
                  " steps, A", activation.getBits(),
                  activation.getSymmetric() ? " symmetric" : " asymmetric",
                  "; calibration SQNR ", dB(choice.chosenSqnr),
                  " dB (one static scale ", dB(choice.staticSqnr),
                  " dB, per step ", dB(choice.perStepSqnr), " dB)");
  }
};

} // namespace
