//===- InsertHadamard.cpp - Rotate planned layer inputs ---------*- C++ -*-===//
//
// Puts an online hqdm.hadamard in front of every layer whose plan asks for a
// rotation and records it as the layer's input_rotation. The float function
// does not change: the layer reads its weight in the rotated basis.
//
//===----------------------------------------------------------------------===//

#include "LayerUtils.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Support/Hadamard.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::hqdm {
#define GEN_PASS_DEF_INSERTHADAMARDPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

namespace {

struct InsertHadamardPass
    : hqdm::impl::InsertHadamardPassBase<InsertHadamardPass> {
  using InsertHadamardPassBase::InsertHadamardPassBase;

  void runOnOperation() override {
    getOperation().walk([&](Operation *op) {
      if (FloatLayer layer = FloatLayer::get(op))
        rotate(layer);
    });
  }

  /// Declines the rotation of `layer`: its plan becomes hadamard = none.
  void decline(FloatLayer layer, LayerPlanAttr plan, const std::string &why) {
    layer.setPlan(LayerPlanAttr::get(
        plan.getContext(), plan.getWeight(), plan.getActivation(),
        plan.getScales(), HadamardMode::None, plan.getBlock()));
    ++numUnrotated;
    remark::missed(layer.getOperation()->getLoc(),
                   remarkOpts("hqdm-rotate", "Unrotated"))
        << concat("layer '", layer.getName(), "' stays unrotated: ", why);
  }

  void rotate(FloatLayer layer) {
    LayerPlanAttr plan = layer.getPlan();
    if (!plan || plan.getHadamard() == HadamardMode::None)
      return;
    if (layer.getInputRotation())
      return; // Already rotated (the pass ran before).
    int64_t features = layer.getInputFeatures();
    if (ShapedType::isDynamic(features))
      return decline(layer, plan, "its number of input features is dynamic");
    int64_t block = plan.getBlock() == 0 ? features : plan.getBlock();
    if (features % block != 0)
      return decline(layer, plan,
                     concat("block ", block, " does not divide its ", features,
                            " input features"));
    if (llvm::Expected<HadamardConstruction> construction =
            getHadamardConstruction(block);
        !construction)
      return decline(layer, plan, llvm::toString(construction.takeError()));

    Operation *op = layer.getOperation();
    OpBuilder builder(op);
    auto spec = HadamardSpecAttr::get(op->getContext(), block,
                                      /*normalized=*/true);
    Value input = layer.getInput();
    auto rotated = HadamardOp::create(builder, op->getLoc(), input.getType(),
                                      input, spec, layer.getInputAxis());
    op->setOperand(0, rotated);
    layer.setInputRotation(spec);
    ++numRotated;
    remark::passed(op->getLoc(), remarkOpts("hqdm-rotate", "Rotated"))
        << concat("layer '", layer.getName(), "': input rotated by a block-",
                  block, " Hadamard (", stringifyHadamardMode(plan.getHadamard()),
                  ")");
  }
};

} // namespace
