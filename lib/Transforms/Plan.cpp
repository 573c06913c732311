//===- Plan.cpp - Decide how each layer is quantized ------------*- C++ -*-===//
//
// Settings come from three levels, each refining the one before: the pass
// options, the top-level keys of the JSON configuration file, and the file's
// per-layer rules (glob patterns on layer names, applied in order). The
// result is a #hqdm.plan on every layer that is quantized.
//
//===----------------------------------------------------------------------===//

#include "LayerUtils.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Regex.h"

namespace mlir::hqdm {
#define GEN_PASS_DEF_PLANPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

namespace {

/// Everything the plan of one layer depends on.
struct Settings {
  unsigned weightBits = 4;
  unsigned activationBits = 4;
  bool weightSymmetric = false;
  Granularity weightGranularity = Granularity::PerChannel;
  Granularity activationGranularity = Granularity::PerToken;
  ScaleSource activationScales = ScaleSource::Dynamic;
  bool activationSymmetric = true;
  HadamardMode hadamard = HadamardMode::Single;
  int64_t block = 32;
  bool keepFloat = false;
  /// Which rule last changed the settings ("options" if none did).
  std::string source = "options";
};

/// One `layers` rule of the configuration file.
struct Rule {
  /// The glob pattern. llvm::GlobPattern keeps references into the text it
  /// was made from, so patterns are compiled from this string once the rules
  /// no longer move.
  std::string text;
  /// The keys the rule sets, applied on top of the layer's settings.
  llvm::json::Object keys;
};

/// Parses "wNaM".
LogicalResult parseScheme(StringRef text, Settings &settings,
                          std::string &error) {
  llvm::Regex regex("^w([0-9]+)a([0-9]+)$");
  SmallVector<StringRef> groups;
  if (!regex.match(text.lower(), &groups)) {
    error = ("scheme '" + text + "' is not of the form wNaM (e.g. w4a4, "
                                 "w4a8, w4a3, w8a8)")
                .str();
    return failure();
  }
  unsigned w = 0, a = 0;
  groups[1].getAsInteger(10, w);
  groups[2].getAsInteger(10, a);
  if (w < 2 || w > 16 || a < 2 || a > 16) {
    error = ("scheme '" + text + "': bits must be in [2, 16]").str();
    return failure();
  }
  settings.weightBits = w;
  settings.activationBits = a;
  return success();
}

LogicalResult parseHadamard(StringRef text, Settings &settings,
                            std::string &error) {
  std::optional<HadamardMode> mode = symbolizeHadamardMode(text);
  if (!mode) {
    error = ("hadamard '" + text + "' is not one of single, double, none").str();
    return failure();
  }
  settings.hadamard = *mode;
  return success();
}

LogicalResult parseActivation(StringRef text, Settings &settings,
                              std::string &error) {
  if (text == "per-token") {
    settings.activationGranularity = Granularity::PerToken;
    settings.activationScales = ScaleSource::Dynamic;
  } else if (text == "per-tensor") {
    settings.activationGranularity = Granularity::PerTensor;
    settings.activationScales = ScaleSource::Dynamic;
  } else if (text == "static") {
    settings.activationGranularity = Granularity::PerTensor;
    settings.activationScales = ScaleSource::Static;
  } else if (text == "per-step") {
    settings.activationGranularity = Granularity::PerTensor;
    settings.activationScales = ScaleSource::PerStep;
  } else {
    error = ("activation '" + text +
             "' is not one of per-token, per-tensor, static, per-step")
                .str();
    return failure();
  }
  return success();
}

LogicalResult parseBlock(int64_t block, Settings &settings,
                         std::string &error) {
  if (block < 0) {
    error = "block must be non-negative (0: the whole axis), got " +
            std::to_string(block);
    return failure();
  }
  settings.block = block;
  return success();
}

/// Applies the keys of one JSON object (the top level or one rule) to
/// `settings`. `where` names the object in error messages.
LogicalResult applyKeys(const llvm::json::Object &object, StringRef where,
                        bool isRule, Settings &settings, std::string &error) {
  auto fail = [&](const Twine &message) {
    error = (where + ": " + message).str();
    return failure();
  };
  for (const auto &[key, value] : object) {
    StringRef k = key;
    if (k == "comment" || (!isRule && k == "layers") || (isRule && k == "match"))
      continue;
    if (k == "scheme" || k == "hadamard" || k == "activation" || k == "keep") {
      std::optional<StringRef> text = value.getAsString();
      if (!text)
        return fail("'" + k + "' must be a string");
      std::string why;
      if (k == "scheme" && failed(parseScheme(*text, settings, why)))
        return fail(why);
      if (k == "hadamard" && failed(parseHadamard(*text, settings, why)))
        return fail(why);
      if (k == "activation" && failed(parseActivation(*text, settings, why)))
        return fail(why);
      if (k == "keep") {
        if (!isRule)
          return fail("'keep' belongs in a layer rule");
        if (*text != "fp" && *text != "quantized")
          return fail("'keep' must be \"fp\" or \"quantized\", got '" + *text +
                      "'");
        settings.keepFloat = *text == "fp";
      }
      continue;
    }
    if (k == "activation_symmetric") {
      std::optional<bool> symmetric = value.getAsBoolean();
      if (!symmetric)
        return fail("'activation_symmetric' must be true or false");
      settings.activationSymmetric = *symmetric;
      continue;
    }
    if (k == "block") {
      std::optional<int64_t> block = value.getAsInteger();
      std::string why;
      if (!block)
        return fail("'block' must be an integer");
      if (failed(parseBlock(*block, settings, why)))
        return fail(why);
      continue;
    }
    if (k == "weight") {
      const llvm::json::Object *weight = value.getAsObject();
      if (!weight)
        return fail("'weight' must be an object");
      for (const auto &[wkey, wvalue] : *weight) {
        if (wkey == "symmetric") {
          std::optional<bool> symmetric = wvalue.getAsBoolean();
          if (!symmetric)
            return fail("'weight.symmetric' must be true or false");
          settings.weightSymmetric = *symmetric;
        } else if (wkey == "granularity") {
          std::optional<StringRef> text = wvalue.getAsString();
          if (text && *text == "per_channel")
            settings.weightGranularity = Granularity::PerChannel;
          else if (text && *text == "per_tensor")
            settings.weightGranularity = Granularity::PerTensor;
          else
            return fail("'weight.granularity' must be \"per_channel\" or "
                        "\"per_tensor\"");
        } else {
          return fail("unknown key 'weight." + StringRef(wkey) +
                      "' (known: symmetric, granularity)");
        }
      }
      continue;
    }
    return fail("unknown key '" + k +
                "' (known: scheme, hadamard, block, activation, "
                "activation_symmetric, weight" +
                (isRule ? ", keep, match" : ", layers") + ", comment)");
  }
  return success();
}

/// Reads the configuration file: its top-level keys go into `defaults`, its
/// rules into `rules`.
LogicalResult readConfig(StringRef path, Settings &defaults,
                         std::vector<Rule> &rules, std::string &error) {
  std::string openError;
  std::unique_ptr<llvm::MemoryBuffer> file = openInputFile(path, &openError);
  if (!file) {
    error = "cannot read config '" + path.str() + "': " + openError;
    return failure();
  }
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse(file->getBuffer());
  if (!json) {
    error = "config '" + path.str() +
            "' is not valid JSON: " + llvm::toString(json.takeError());
    return failure();
  }
  const llvm::json::Object *top = json->getAsObject();
  if (!top) {
    error = "config '" + path.str() + "' must be a JSON object";
    return failure();
  }
  std::string where = "config '" + path.str() + "'";
  if (failed(applyKeys(*top, where, /*isRule=*/false, defaults, error)))
    return failure();
  defaults.source = "config";

  const llvm::json::Value *layers = top->get("layers");
  if (!layers)
    return success();
  const llvm::json::Array *array = layers->getAsArray();
  if (!array) {
    error = where + ": 'layers' must be an array of rules";
    return failure();
  }
  for (auto [index, value] : llvm::enumerate(*array)) {
    std::string ruleWhere = where + ": layers[" + std::to_string(index) + "]";
    const llvm::json::Object *object = value.getAsObject();
    if (!object) {
      error = ruleWhere + " must be an object";
      return failure();
    }
    std::optional<StringRef> match = object->getString("match");
    if (!match) {
      error = ruleWhere + " needs a \"match\" glob pattern (a string)";
      return failure();
    }
    llvm::Expected<llvm::GlobPattern> pattern =
        llvm::GlobPattern::create(*match);
    if (!pattern) {
      error = ruleWhere + ": bad pattern '" + match->str() +
              "': " + llvm::toString(pattern.takeError());
      return failure();
    }
    // Validate the keys now, so a bad rule is reported even if it matches
    // no layer.
    Settings scratch;
    if (failed(applyKeys(*object, ruleWhere, /*isRule=*/true, scratch, error)))
      return failure();
    rules.push_back({match->str(), *object});
  }
  return success();
}

struct PlanPass : hqdm::impl::PlanPassBase<PlanPass> {
  using PlanPassBase::PlanPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    missingWeights = false;
    Settings defaults;
    std::string error;
    if (failed(parseScheme(scheme, defaults, error)) ||
        failed(parseHadamard(hadamard, defaults, error)) ||
        failed(parseActivation(activation, defaults, error)) ||
        failed(parseBlock(block, defaults, error))) {
      emitError(module.getLoc()) << "hqdm-plan: " << error;
      return signalPassFailure();
    }
    defaults.weightSymmetric = weightSymmetric;
    defaults.activationSymmetric = activationSymmetric;
    std::vector<Rule> rules;
    if (!config.empty() && failed(readConfig(config, defaults, rules, error))) {
      emitError(module.getLoc()) << "hqdm-plan: " << error;
      return signalPassFailure();
    }

    std::vector<llvm::GlobPattern> patterns;
    for (const Rule &rule : rules) // Validated when the file was read.
      patterns.push_back(llvm::cantFail(llvm::GlobPattern::create(rule.text)));

    module.walk([&](Operation *op) {
      FloatLayer layer = FloatLayer::get(op);
      if (!layer)
        return;
      std::string name = layer.getName();
      Settings settings = defaults;
      for (auto [index, rule] : llvm::enumerate(rules)) {
        if (!patterns[index].match(name))
          continue;
        // Validated when the file was read.
        (void)applyKeys(rule.keys, "", /*isRule=*/true, settings, error);
        settings.source = "rule " + std::to_string(index) + " ('" +
                          rule.text + "')";
      }
      planLayer(layer, settings);
    });
    if (missingWeights)
      return signalPassFailure();
  }

  /// Set when a layer's weight is a named dense_resource without data.
  bool missingWeights = false;

  void planLayer(FloatLayer layer, const Settings &settings) {
    Operation *op = layer.getOperation();
    std::string name = layer.getName();
    if (settings.keepFloat) {
      layer.setPlan(nullptr);
      ++numKeptFloat;
      remark::analysis(op->getLoc(), remarkOpts("hqdm-plan", "KeptFloat"))
          << concat("layer '", name, "' kept in floating point by ",
                    settings.source);
      return;
    }
    if (std::optional<std::string> missing =
            missingWeightData(layer.getWeight())) {
      op->emitError() << "layer '" << name << "': " << *missing;
      missingWeights = true;
      return;
    }
    std::string why;
    if (failed(checkFloatConstant(layer.getWeight(), why))) {
      layer.setPlan(nullptr);
      ++numKeptFloat;
      remark::missed(op->getLoc(), remarkOpts("hqdm-plan", "NotPlanned"))
          << concat("layer '", name, "' kept in floating point: its weight ",
                    "cannot be quantized because ", why);
      return;
    }

    Granularity activationGranularity = settings.activationGranularity;
    if (layer.isConv() && activationGranularity == Granularity::PerToken) {
      // qconv2d takes one input scale; per-pixel scales would need a
      // different kernel.
      activationGranularity = Granularity::PerTensor;
      remark::analysis(op->getLoc(), remarkOpts("hqdm-plan", "PerTensorConv"))
          << concat("layer '", name, "' is a convolution: its activation ",
                    "scale is per tensor (dynamic) instead of per token");
    }
    MLIRContext *ctx = op->getContext();
    auto weight = QuantSchemeAttr::get(ctx, settings.weightBits,
                                       settings.weightSymmetric,
                                       settings.weightGranularity, 0);
    auto activationScheme = QuantSchemeAttr::get(
        ctx, settings.activationBits, settings.activationSymmetric,
        activationGranularity, 0);
    auto plan = LayerPlanAttr::get(ctx, weight, activationScheme,
                                   settings.activationScales,
                                   settings.hadamard, settings.block);
    layer.setPlan(plan);
    ++numPlanned;
    remark::passed(op->getLoc(), remarkOpts("hqdm-plan", "Planned"))
        << concat("layer '", name, "': W", settings.weightBits, "A",
                  settings.activationBits, ", hadamard ",
                  stringifyHadamardMode(settings.hadamard), " (from ",
                  settings.source, ")");
  }
};

} // namespace
