//===- CalibrationFile.cpp - Read per-step calibration statistics -*- C++ -*-=//

#include "CalibrationFile.h"
#include "LayerUtils.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace mlir;
using namespace mlir::hqdm;
namespace json = llvm::json;

namespace {

/// Reads `object[key]` into `out` with json::Path errors.
template <typename T>
bool readKey(const json::Object &object, StringRef key, T &out,
             json::Path path) {
  const json::Value *value = object.get(key);
  if (!value) {
    path.field(key).report("missing");
    return false;
  }
  return fromJSON(*value, out, path.field(key));
}

/// Checks that a per-step vector has one entry per step and finite values.
bool checkPerStep(const std::vector<double> &values, size_t steps,
                  json::Path path) {
  if (values.size() != steps) {
    path.report("needs one entry per step");
    return false;
  }
  for (auto [i, v] : llvm::enumerate(values))
    if (!std::isfinite(v)) {
      path.index(i).report("not a finite number");
      return false;
    }
  return true;
}

/// Checks a [step][n] matrix.
bool checkMatrix(const std::vector<std::vector<double>> &values, size_t steps,
                 size_t n, llvm::StringLiteral wrongLength, json::Path path) {
  if (values.size() != steps) {
    path.report("needs one entry per step");
    return false;
  }
  for (auto [s, row] : llvm::enumerate(values)) {
    if (row.size() != n) {
      path.index(s).report(wrongLength);
      return false;
    }
    for (auto [i, v] : llvm::enumerate(row))
      if (!std::isfinite(v)) {
        path.index(s).index(i).report("not a finite number");
        return false;
      }
  }
  return true;
}

bool readHistogram(const json::Object &object, size_t steps, size_t channels,
                   StepHistograms &histogram, json::Path path) {
  if (!readKey(object, "bins", histogram.bins, path) ||
      !readKey(object, "low", histogram.low, path) ||
      !readKey(object, "high", histogram.high, path) ||
      !readKey(object, "counts", histogram.counts, path))
    return false;
  if (histogram.bins < 1) {
    path.field("bins").report("must be positive");
    return false;
  }
  if (!std::isfinite(histogram.low) || !std::isfinite(histogram.high) ||
      !(histogram.low < histogram.high)) {
    path.field("high").report("the range [low, high) must be finite and "
                              "non-empty");
    return false;
  }
  if (!checkMatrix(histogram.counts, steps, histogram.bins,
                   "needs one count per bin",
                   path.field("counts")))
    return false;
  for (auto [s, row] : llvm::enumerate(histogram.counts))
    for (auto [b, count] : llvm::enumerate(row))
      if (count < 0) {
        path.field("counts").index(s).index(b).report("negative count");
        return false;
      }
  const json::Value *transform = object.get("transform");
  if (!transform || transform->kind() == json::Value::Null)
    return true;
  const json::Object *t = transform->getAsObject();
  if (!t) {
    path.field("transform").report("expected an object or null");
    return false;
  }
  ObservedTransform observed;
  json::Path tp = path.field("transform");
  if (!readKey(*t, "shift", observed.shift, tp) ||
      !readKey(*t, "divisor", observed.divisor, tp))
    return false;
  if (observed.shift.size() != channels || observed.divisor.size() != channels) {
    tp.report("shift and divisor need one entry per channel");
    return false;
  }
  histogram.transform = std::move(observed);
  return true;
}

bool readLayer(const json::Object &object, size_t steps, LayerStatistics &layer,
               json::Path path) {
  if (!readKey(object, "channels", layer.channels, path) ||
      !readKey(object, "min", layer.min, path) ||
      !readKey(object, "max", layer.max, path) ||
      !readKey(object, "absmax", layer.absmax, path) ||
      !readKey(object, "channel_min", layer.channelMin, path) ||
      !readKey(object, "channel_max", layer.channelMax, path))
    return false;
  if (const json::Value *axis = object.get("axis"))
    if (!fromJSON(*axis, layer.axis, path.field("axis")))
      return false;
  if (const json::Value *rotation = object.get("rotation"))
    if (!fromJSON(*rotation, layer.rotation, path.field("rotation")))
      return false;
  if (layer.channels < 1) {
    path.field("channels").report("must be positive");
    return false;
  }
  if (!checkPerStep(layer.min, steps, path.field("min")) ||
      !checkPerStep(layer.max, steps, path.field("max")) ||
      !checkPerStep(layer.absmax, steps, path.field("absmax")) ||
      !checkMatrix(layer.channelMin, steps, layer.channels,
                   "needs one entry per channel", path.field("channel_min")) ||
      !checkMatrix(layer.channelMax, steps, layer.channels,
                   "needs one entry per channel", path.field("channel_max")))
    return false;
  const json::Value *histogram = object.get("histogram");
  if (!histogram || histogram->kind() == json::Value::Null)
    return true;
  const json::Object *h = histogram->getAsObject();
  if (!h) {
    path.field("histogram").report("expected an object or null");
    return false;
  }
  layer.histogram.emplace();
  return readHistogram(*h, steps, layer.channels, *layer.histogram,
                       path.field("histogram"));
}

} // namespace

FailureOr<CalibrationFile> CalibrationFile::read(StringRef path,
                                                 std::string &error) {
  std::string openError;
  std::unique_ptr<llvm::MemoryBuffer> buffer =
      openInputFile(path, &openError);
  if (!buffer) {
    error = "cannot read calibration file '" + path.str() + "': " + openError;
    return failure();
  }
  std::string where = "calibration file '" + path.str() + "'";
  llvm::Expected<json::Value> parsed = json::parse(buffer->getBuffer());
  if (!parsed) {
    error = where + " is not valid JSON: " + llvm::toString(parsed.takeError());
    return failure();
  }
  const json::Object *top = parsed->getAsObject();
  if (!top) {
    error = where + " must hold a JSON object";
    return failure();
  }
  if (top->getString("format") != "hqdm-calibration" ||
      top->getInteger("version") != 1) {
    error = where + " is not an hqdm calibration file of version 1 (its "
                    "\"format\" must be \"hqdm-calibration\" and its "
                    "\"version\" 1)";
    return failure();
  }

  CalibrationFile file;
  file.path = path.str();
  json::Path::Root root("calibration");
  json::Path p(root);
  auto fail = [&]() -> FailureOr<CalibrationFile> {
    std::string message = llvm::toString(root.getError());
    error = where + ": " + message;
    return failure();
  };
  if (!readKey(*top, "function", file.function, p) ||
      !readKey(*top, "steps", file.steps, p) ||
      !readKey(*top, "samples", file.samples, p))
    return fail();
  if (const json::Value *arg = top->get("timestep_arg");
      arg && arg->kind() != json::Value::Null &&
      !fromJSON(*arg, file.timestepArg, p.field("timestep_arg")))
    return fail();
  if (file.steps.empty()) {
    error = where + " has no steps: the calibration set was empty";
    return failure();
  }
  if (!checkPerStep(file.steps, file.steps.size(), p.field("steps")))
    return fail();
  if (file.samples.size() != file.steps.size()) {
    p.field("samples").report("needs one entry per step");
    return fail();
  }
  const json::Object *layers = top->getObject("layers");
  if (!layers) {
    p.field("layers").report("missing or not an object");
    return fail();
  }
  // json::Path refers to its parent: every level must outlive its children.
  json::Path layersPath = p.field("layers");
  for (const auto &[name, value] : *layers) {
    json::Path lp = layersPath.field(name);
    const json::Object *object = value.getAsObject();
    if (!object) {
      lp.report("expected an object");
      return fail();
    }
    LayerStatistics layer;
    if (!readLayer(*object, file.steps.size(), layer, lp))
      return fail();
    file.layers[name.str()] = std::move(layer);
  }
  return file;
}

FailureOr<const LayerStatistics *>
CalibrationFile::lookup(FloatLayer layer) const {
  Operation *op = layer.getOperation();
  std::string name = layer.getName();
  auto it = layers.find(name);
  if (it == layers.end())
    return op->emitError()
           << "calibration file '" << path << "' has no statistics for layer '"
           << name << "': it was recorded for another model or other options";
  const LayerStatistics &stats = it->second;
  int64_t features = layer.getInputFeatures();
  if (stats.channels != features)
    return op->emitError() << "calibration file '" << path << "': layer '"
                           << name << "' has " << stats.channels
                           << " channels there but " << features << " here";
  HadamardSpecAttr rotation = layer.getInputRotation();
  int64_t block = rotation ? rotation.getBlock() : 0;
  if (stats.rotation != block)
    return op->emitError()
           << "calibration file '" << path << "': layer '" << name
           << "' was observed with Hadamard block " << stats.rotation
           << " (0: none) but its input is rotated with block " << block
           << " now; calibrate with the same options";
  return &stats;
}
