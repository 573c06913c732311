//===- Instrument.cpp - Observe activation-quantizer inputs -----*- C++ -*-===//
//
// Calibration runs the model itself: this pass adds to every function with
// planned layers a copy, `@<name>_observe`, that also returns the statistics
// of each planned layer's input (hqdm.observe), and writes a manifest the
// calibration driver reads to call the copy and name its results. Two stages:
// `ranges` (per-channel min/max), then `histograms` over the ranges the first
// stage found. docs/Calibration.md describes the flow and the files.
//
//===----------------------------------------------------------------------===//

#include "CalibrationFile.h"
#include "LayerUtils.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"

namespace mlir::hqdm {
#define GEN_PASS_DEF_INSTRUMENTPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;
namespace json = llvm::json;

namespace {

/// One observed layer input, as the manifest describes it.
struct Observation {
  std::string layer;
  int64_t axis = 0, channels = 0, rotation = 0;
  std::optional<StepHistograms> histogram; // bins and range only
  std::optional<ObservedTransform> transform;
};

/// "f32", "i64", ... for the manifest.
std::string dtypeName(Type type) {
  if (type.isIndex())
    return "index";
  if (type.isBF16())
    return "bf16";
  return concat(type);
}

json::Value describe(Type type) {
  json::Object object;
  if (auto tensor = dyn_cast<RankedTensorType>(type)) {
    object["shape"] = json::Array(tensor.getShape());
    object["dtype"] = dtypeName(tensor.getElementType());
  } else {
    object["shape"] = json::Array();
    object["dtype"] = dtypeName(type);
  }
  return object;
}

/// The values of a constant f32 vector, if `value` is one.
std::optional<std::vector<double>> constantVector(Value value) {
  std::string why;
  FailureOr<std::vector<double>> values = readFloatConstant(value, why);
  if (failed(values))
    return std::nullopt;
  return *values;
}


struct InstrumentPass : hqdm::impl::InstrumentPassBase<InstrumentPass> {
  using InstrumentPassBase::InstrumentPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (stage != "ranges" && stage != "histograms") {
      emitError(module.getLoc()) << "hqdm-instrument: stage '" << stage
                                 << "' is not one of ranges, histograms";
      return signalPassFailure();
    }
    if (stage == "histograms") {
      if (calibration.empty()) {
        emitError(module.getLoc())
            << "hqdm-instrument: stage=histograms needs the ranges of the "
               "first stage (calibration=<file>)";
        return signalPassFailure();
      }
      if (bins < 1 || bins > (1 << 20)) {
        emitError(module.getLoc())
            << "hqdm-instrument: bins must be in [1, 2^20], got " << int64_t(bins);
        return signalPassFailure();
      }
      std::string error;
      FailureOr<CalibrationFile> file = CalibrationFile::read(calibration, error);
      if (failed(file)) {
        emitError(module.getLoc()) << "hqdm-instrument: " << error;
        return signalPassFailure();
      }
      ranges = std::move(*file);
    }

    SmallVector<func::FuncOp> functions;
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal() && hasPlannedLayer(function))
        functions.push_back(function);
    if (functions.empty()) {
      emitError(module.getLoc())
          << "hqdm-instrument: no planned layer to observe (is every layer "
             "kept in floating point?)";
      return signalPassFailure();
    }

    json::Array manifests;
    for (func::FuncOp function : functions) {
      FailureOr<json::Value> manifest = instrument(module, function);
      if (failed(manifest))
        return signalPassFailure();
      manifests.push_back(std::move(*manifest));
    }
    if (manifest.empty())
      return;
    if (manifests.size() != 1) {
      emitError(module.getLoc())
          << "hqdm-instrument: " << manifests.size()
          << " functions have planned layers; the manifest describes one";
      return signalPassFailure();
    }
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> out =
        openOutputFile(manifest, &error);
    if (!out) {
      emitError(module.getLoc()) << "hqdm-instrument: cannot write manifest '"
                                 << manifest << "': " << error;
      return signalPassFailure();
    }
    out->os() << llvm::formatv("{0}", manifests.front()) << "\n";
    out->keep();
  }

  static bool hasPlannedLayer(func::FuncOp function) {
    bool found = false;
    function.walk([&](Operation *op) {
      if (FloatLayer layer = FloatLayer::get(op); layer && layer.getPlan())
        found = true;
    });
    return found;
  }

  /// The argument that holds the timestep, or -1.
  FailureOr<int64_t> timestepArgument(func::FuncOp function) {
    int64_t count = function.getNumArguments();
    if (timestepArg >= 0) {
      if (timestepArg >= count)
        return function.emitError()
               << "hqdm-instrument: timestep-arg " << int64_t(timestepArg)
               << " is out of range: @" << function.getName() << " has "
               << count << " arguments";
      return int64_t(timestepArg);
    }
    for (int64_t i = 0; i < count; ++i)
      if (function.getArgAttr(i, "hqdm.timestep"))
        return i;
    return -1;
  }

  /// The histogram range of `layer`'s input: the range the first stage saw,
  /// through the post-GELU transform when one is in front of the layer.
  LogicalResult histogramRange(FloatLayer layer, Observation &observation) {
    FailureOr<const LayerStatistics *> found = ranges.lookup(layer);
    if (failed(found))
      return failure();
    const LayerStatistics &stats = **found;
    double low = INFINITY, high = -INFINITY;
    for (int64_t c = 0; c < stats.channels; ++c) {
      double lo = INFINITY, hi = -INFINITY;
      for (size_t s = 0; s < stats.channelMin.size(); ++s) {
        lo = std::min(lo, stats.channelMin[s][c]);
        hi = std::max(hi, stats.channelMax[s][c]);
      }
      if (observation.transform) {
        double shift = observation.transform->shift[c];
        double divisor = observation.transform->divisor[c];
        double a = (lo - shift) / divisor, b = (hi - shift) / divisor;
        lo = std::min(a, b);
        hi = std::max(a, b);
      }
      low = std::min(low, lo);
      high = std::max(high, hi);
    }
    if (!(low < high)) // A constant input: any non-empty range holds it.
      high = low + 1.0;
    StepHistograms histogram;
    histogram.bins = bins;
    histogram.low = low;
    histogram.high = high;
    observation.histogram = histogram;
    return success();
  }

  FailureOr<json::Value> instrument(ModuleOp module, func::FuncOp function) {
    if (!function.getBody().hasOneBlock())
      return function.emitError()
             << "hqdm-instrument: @" << function.getName()
             << " has more than one block; observations need a single-block "
                "function";
    FailureOr<int64_t> timestep = timestepArgument(function);
    if (failed(timestep))
      return failure();

    std::string name = (function.getName() + "_observe").str();
    SymbolTable symbols(module);
    if (symbols.lookup(name))
      return function.emitError() << "hqdm-instrument: @" << name
                                  << " exists already";
    func::FuncOp copy = function.clone();
    copy.setName(name);
    symbols.insert(copy, Block::iterator(function->getNextNode()));

    SmallVector<Operation *> layers;
    copy.walk([&](Operation *op) {
      if (FloatLayer layer = FloatLayer::get(op); layer && layer.getPlan())
        layers.push_back(op);
    });

    std::vector<Observation> observations;
    SmallVector<Value> extra;
    llvm::StringSet<> seen;
    MLIRContext *ctx = module.getContext();
    Type f32 = Float32Type::get(ctx);
    for (Operation *op : layers) {
      FloatLayer layer = FloatLayer::get(op);
      Observation observation;
      observation.layer = layer.getName();
      if (!seen.insert(observation.layer).second)
        return op->emitError()
               << "two layers are named '" << observation.layer
               << "'; calibration identifies layers by name";
      Value input = layer.getInput();
      auto inputType = cast<RankedTensorType>(input.getType());
      observation.axis = layer.getInputAxis();
      observation.channels = inputType.getDimSize(observation.axis);
      if (ShapedType::isDynamic(observation.channels))
        return op->emitError() << "layer '" << observation.layer
                               << "': its number of input channels is "
                                  "dynamic; calibration needs it static";
      if (HadamardSpecAttr rotation = layer.getInputRotation())
        observation.rotation = rotation.getBlock();
      if (auto shift = input.getDefiningOp<ChannelShiftOp>()) {
        std::optional<std::vector<double>> c = constantVector(shift.getShift());
        std::optional<std::vector<double>> m =
            constantVector(shift.getDivisor());
        if (!c || !m)
          return shift.emitError()
                 << "the post-GELU transform of layer '" << observation.layer
                 << "' must have constant shift and divisor to be observed";
        observation.transform = ObservedTransform{*c, *m};
      }
      if (stage == "histograms" &&
          failed(histogramRange(layer, observation)))
        return failure();

      OpBuilder builder(op);
      auto channelType = RankedTensorType::get({observation.channels}, f32);
      SmallVector<Type> types = {channelType, channelType};
      NamedAttrList attrs;
      attrs.append("name", builder.getStringAttr(observation.layer));
      attrs.append("axis", builder.getI64IntegerAttr(observation.axis));
      if (observation.histogram) {
        types.push_back(RankedTensorType::get({observation.histogram->bins},
                                              builder.getI32Type()));
        attrs.append("bins", builder.getI64IntegerAttr(bins));
        attrs.append("low", builder.getF64FloatAttr(observation.histogram->low));
        attrs.append("high",
                     builder.getF64FloatAttr(observation.histogram->high));
      }
      Operation *observe = builder.create(op->getLoc(),
                                          builder.getStringAttr("hqdm.observe"),
                                          ValueRange{input}, types, attrs);
      llvm::append_range(extra, observe->getResults());
      observations.push_back(std::move(observation));
    }

    // Return the statistics after the function's own results.
    auto returnOp = cast<func::ReturnOp>(copy.getBody().front().getTerminator());
    SmallVector<Value> results(returnOp.getOperands());
    llvm::append_range(results, extra);
    OpBuilder returnBuilder(returnOp);
    func::ReturnOp::create(returnBuilder, returnOp.getLoc(), results);
    returnOp.erase();
    copy.setType(FunctionType::get(ctx, copy.getArgumentTypes(),
                                   ValueRange(results).getTypes()));

    json::Array arguments, ownResults, described;
    for (Type type : function.getArgumentTypes())
      arguments.push_back(describe(type));
    for (Type type : function.getResultTypes())
      ownResults.push_back(describe(type));
    for (const Observation &o : observations) {
      json::Object entry{{"layer", o.layer},
                         {"axis", o.axis},
                         {"channels", o.channels},
                         {"rotation", o.rotation}};
      if (o.histogram)
        entry["histogram"] = json::Object{{"bins", o.histogram->bins},
                                          {"low", o.histogram->low},
                                          {"high", o.histogram->high}};
      else
        entry["histogram"] = nullptr;
      if (o.transform)
        entry["transform"] = json::Object{{"shift", json::Array(o.transform->shift)},
                                          {"divisor", json::Array(o.transform->divisor)}};
      else
        entry["transform"] = nullptr;
      described.push_back(std::move(entry));
    }
    remark::analysis(function.getLoc(), remarkOpts("hqdm-instrument", "Observed"))
        << concat("@", name, " observes ", observations.size(),
                  " layer inputs (", stage, ")");
    json::Object manifest{{"format", "hqdm-observe-manifest"},
                          {"version", 1},
                          {"function", name},
                          {"source_function", function.getName()},
                          {"stage", stage},
                          {"arguments", std::move(arguments)},
                          {"results", std::move(ownResults)},
                          {"observations", std::move(described)}};
    if (*timestep >= 0)
      manifest["timestep_arg"] = *timestep;
    else
      manifest["timestep_arg"] = nullptr;
    return json::Value(std::move(manifest));
  }

  CalibrationFile ranges;
};

} // namespace
