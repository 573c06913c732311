//===- CalibrationFile.h - Per-step calibration statistics ------*- C++ -*-===//
//
// The calibration file the driver (python/hqdm/calibrate.py) writes and the
// passes read: per sampler step and per observed layer, the range of the
// layer's activation-quantizer input and, after the second stage, its
// histogram. The format is described in docs/Calibration.md; reading checks
// all of it, so the passes can index without further checks.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_TRANSFORMS_CALIBRATIONFILE_H
#define HQDM_LIB_TRANSFORMS_CALIBRATIONFILE_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::hqdm {

class FloatLayer;

/// The post-GELU transform a histogram was recorded under.
struct ObservedTransform {
  std::vector<double> shift, divisor;
};

/// Per-step histograms over one range, all with `bins` bins.
struct StepHistograms {
  int64_t bins = 0;
  double low = 0, high = 0;
  /// counts[step][bin].
  std::vector<std::vector<double>> counts;
  std::optional<ObservedTransform> transform;

  double binWidth() const { return (high - low) / double(bins); }
  double binCenter(int64_t bin) const {
    return low + (double(bin) + 0.5) * binWidth();
  }
};

/// What the calibration saw at the input of one layer's quantizer.
struct LayerStatistics {
  int64_t axis = -1;
  int64_t channels = 0;
  /// The Hadamard block the input was rotated with (0: not rotated).
  int64_t rotation = 0;
  /// Per step.
  std::vector<double> min, max, absmax;
  /// [step][channel].
  std::vector<std::vector<double>> channelMin, channelMax;
  std::optional<StepHistograms> histogram;
};

struct CalibrationFile {
  std::string path;
  /// The model function the statistics were recorded for.
  std::string function;
  /// The argument holding the timestep, or -1 (the calibration had one step).
  int64_t timestepArg = -1;
  /// The timestep value of each step, in sampler order.
  std::vector<double> steps;
  /// Calls (batches) seen per step.
  std::vector<int64_t> samples;
  llvm::StringMap<LayerStatistics> layers;

  int64_t getNumSteps() const { return steps.size(); }

  /// Reads and checks `path`. On failure `error` says what is wrong, naming
  /// the file and the offending entry.
  static FailureOr<CalibrationFile> read(StringRef path, std::string &error);

  /// The statistics of `layer`, checked against it: they must exist and
  /// have been observed with its number of input channels and its input
  /// rotation. Otherwise emits an error at the layer naming the file.
  FailureOr<const LayerStatistics *> lookup(FloatLayer layer) const;
};

} // namespace mlir::hqdm

#endif // HQDM_LIB_TRANSFORMS_CALIBRATIONFILE_H
