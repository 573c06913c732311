//===- HqdmToGPU.cpp - quantized layers to generated CUDA kernels -*- C++ -*-===//
//
// convert-hqdm-to-gpu replaces each supported `hqdm.qlinear` and
// `hqdm.qconv2d`, together with the rotation, scale and quantizer that feed
// it, by an `hqdm.gpu_launch` of kernels generated for its shapes
// (Kernels.cpp); the float input goes in and the dequantized output comes
// out, so the rest of the program is untouched. hqdm-gpu-launch-to-host later turns the bufferized launches into
// device allocations, copies and gpu.launch_func ops.
//
//===----------------------------------------------------------------------===//

#include "Fusion.h"
#include "Kernels.h"
#include "hqdm/Conversion/Passes.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringSwitch.h"

namespace mlir::hqdm {
#define GEN_PASS_DEF_CONVERTHQDMTOGPUPASS
#define GEN_PASS_DEF_GPULAUNCHTOHOSTPASS
#include "hqdm/Conversion/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;
using namespace mlir::hqdm::gpu_kernels;

namespace {


/// "sm_80" -> 80, "sm_90a" -> 90; 0 when the chip is not one hqdm targets.
int chipVersion(StringRef chip) {
  return llvm::StringSwitch<int>(chip)
      .Case("sm_80", 80)
      .Case("sm_86", 86)
      .Case("sm_89", 89)
      .Case("sm_90", 90)
      .Case("sm_90a", 90)
      .Default(0);
}

/// The parts of a quantized layer the kernels compute, once matched.
struct MatchedLayer {
  LayerKernelConfig config;
  Value floatInput;  // [..., K] or NCHW f32, before rotation
  Value givenScale;  // rank-0 f32 when the scale is not computed on the GPU
  Value weightScale; // [N] or rank 0
  Value bias;        // [N] or null
  std::vector<int64_t> centeredWeights; // [N, K] (convolutions: [F, C*KH*KW])
  PrologueFusion prologue; // producers of floatInput run by the prologue
  EpilogueFusion epilogue; // consumers of the result run by the epilogue
};

/// Matches the quantizer of `op`'s input, its scale and the optional online
/// rotation along `axis` (C for a convolution, K for a linear layer).
template <typename OpTy>
std::string matchActivations(OpTy op, int64_t axis, MatchedLayer &layer) {
  LayerKernelConfig &c = layer.config;
  if (op.getInputZeroPoint())
    return "its activations are asymmetric (input zero point)";
  auto quantize = op.getInput().template getDefiningOp<QuantizeOp>();
  if (!quantize)
    return "its input is not produced by hqdm.quantize";
  QuantSchemeAttr scheme = quantize.getScheme();
  if (!scheme.getSymmetric() || scheme.getBits() > 8)
    return "its activation quantizer is not symmetric with at most 8 bits";
  if (quantize.getScale() != op.getInputScale())
    return "the quantizer's scale is not the layer's input scale";
  c.activationBits = scheme.getBits() <= 4 ? 4 : 8;
  c.activationMaxLevel = scheme.getMaxLevel();
  Value rotated = quantize.getInput();
  Value scale = op.getInputScale();
  auto tokenScale = scale.template getDefiningOp<TokenScaleOp>();
  auto tensorScale = scale.template getDefiningOp<TensorScaleOp>();
  if (tokenScale && !c.conv) {
    if (tokenScale.getInput() != rotated ||
        tokenScale.getBits() != scheme.getBits())
      return "its per-token scale is not the absmax of the quantized tensor";
    c.dynamicScale = true;
  } else if (tensorScale && c.conv && tensorScale.getInput() == rotated &&
             tensorScale.getBits() == scheme.getBits()) {
    // The absmax of the rotated input, computed on the GPU.
    c.dynamicScale = true;
  } else if (cast<RankedTensorType>(scale.getType()).getRank() == 0) {
    c.dynamicScale = false;
    layer.givenScale = scale;
  } else {
    return "its per-token input scale is not computed by hqdm.token_scale";
  }

  c.hadamardBlock = 1;
  layer.floatInput = rotated;
  if (auto hadamard = rotated.template getDefiningOp<HadamardOp>()) {
    if (hadamard.getNormalizedAxis() != axis ||
        !hadamard.getSpec().getNormalized())
      return c.conv ? "its input rotation is not a normalized one along C"
                    : "its input rotation is not a normalized one along K";
    c.hadamardBlock = hadamard.getSpec().getBlock();
    layer.floatInput = hadamard.getInput();
  }
  if (!cast<RankedTensorType>(layer.floatInput.getType())
           .getElementType()
           .isF32())
    return "its float input is not f32";
  return "";
}

/// Matches the constant weights (centered on their zero points, in the
/// operand's order, c.n rows), their storage, the epilogue and the MMA.
template <typename OpTy>
std::string matchWeightsAndEpilogue(OpTy op, int chip, MatchedLayer &layer) {
  LayerKernelConfig &c = layer.config;
  DenseIntElementsAttr weights;
  if (!matchPattern(op.getWeight(), m_Constant(&weights)))
    return "its weight is not a constant";
  DenseIntElementsAttr zeroPoints;
  if (op.getWeightZeroPoint() &&
      !matchPattern(op.getWeightZeroPoint(), m_Constant(&zeroPoints)))
    return "its weight zero point is not a constant";
  bool isUnsigned = static_cast<bool>(zeroPoints);
  std::vector<int64_t> zeros(c.n, 0);
  if (zeroPoints) {
    auto values = llvm::to_vector(zeroPoints.getValues<APInt>());
    for (int64_t row = 0; row < c.n; ++row)
      zeros[row] = (values.size() == 1 ? values[0] : values[row]).getSExtValue();
  }
  int64_t rowLength = weights.getNumElements() / c.n;
  layer.centeredWeights.resize(weights.getNumElements());
  int64_t lo = 0, hi = 0, index = 0;
  for (const APInt &v : weights.getValues<APInt>()) {
    int64_t level = isUnsigned ? static_cast<int64_t>(v.getZExtValue())
                               : v.getSExtValue();
    int64_t centered = level - zeros[index / rowLength];
    layer.centeredWeights[index++] = centered;
    lo = std::min(lo, centered);
    hi = std::max(hi, centered);
  }
  int64_t maxAbs = std::max(-lo, hi);
  if (lo >= -8 && hi <= 7) {
    c.weightBits = 4;
    c.weightPlanes = 1;
  } else if (maxAbs <= 127) {
    c.weightBits = 8;
    c.weightPlanes = 1;
  } else if (maxAbs <= 127 * 128 + 64) {
    c.weightBits = 8;
    c.weightPlanes = 2;
  } else {
    return "its integer weights reach " + std::to_string(maxAbs) +
           ", beyond two int8 digits";
  }

  layer.weightScale = op.getWeightScale();
  c.perChannelWeightScale = op.getWeightScale().getType().getRank() != 0;
  layer.bias = op.getBias();
  c.hasBias = static_cast<bool>(layer.bias);
  if (layer.bias &&
      !cast<RankedTensorType>(layer.bias.getType()).getElementType().isF32())
    return "its bias is not f32";
  c.multiplier = op.getMultiplier().convertToFloat();

  bool int4Chip = chip >= 80 && chip < 90;
  c.mma = (int4Chip && c.activationBits == 4 && c.weightBits == 4)
              ? MmaKind::Int4
              : MmaKind::Int8;
  return "";
}

/// Matches `op` and its producers; returns why it cannot run on the GPU.
std::string matchLayer(QLinearOp op, int chip, MatchedLayer &layer) {
  LayerKernelConfig &c = layer.config;
  auto inputType = op.getInput().getType();
  auto resultType = op.getResult().getType();
  if (!inputType.hasStaticShape() || !resultType.hasStaticShape())
    return "its shapes are not static";
  c.k = inputType.getShape().back();
  c.m = inputType.getNumElements() / std::max<int64_t>(c.k, 1);
  c.n = resultType.getShape().back();
  c.outputType = resultType.getElementType();
  std::string why = matchActivations(op, inputType.getRank() - 1, layer);
  if (why.empty())
    why = matchWeightsAndEpilogue(op, chip, layer);
  return why;
}

std::string matchLayer(QConv2DOp op, int chip, MatchedLayer &layer) {
  LayerKernelConfig &c = layer.config;
  auto inputType = op.getInput().getType();
  auto weightType = op.getWeight().getType();
  auto resultType = op.getResult().getType();
  if (!inputType.hasStaticShape() || !weightType.hasStaticShape() ||
      !resultType.hasStaticShape())
    return "its shapes are not static";
  ConvGeometry g;
  g.batch = inputType.getDimSize(0);
  g.channels = inputType.getDimSize(1);
  g.height = inputType.getDimSize(2);
  g.width = inputType.getDimSize(3);
  g.kernelH = weightType.getDimSize(2);
  g.kernelW = weightType.getDimSize(3);
  g.strideH = op.getStrides()[0];
  g.strideW = op.getStrides()[1];
  g.padH = op.getPadding()[0];
  g.padW = op.getPadding()[1];
  g.dilationH = op.getDilations()[0];
  g.dilationW = op.getDilations()[1];
  c.conv = g;
  c.n = weightType.getDimSize(0);
  c.outputType = resultType.getElementType();
  std::string why = matchActivations(op, /*axis=*/1, layer);
  if (why.empty())
    why = matchWeightsAndEpilogue(op, chip, layer);
  return why;
}

/// `value` ([..., K]) as [M, K].
Value collapseToMatrix(OpBuilder &b, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() == 2)
    return value;
  if (type.getRank() == 1) {
    auto matrix = RankedTensorType::get({1, type.getDimSize(0)},
                                        type.getElementType());
    return tensor::ExpandShapeOp::create(
        b, loc, matrix, value, SmallVector<ReassociationIndices>{{0, 1}});
  }
  ReassociationIndices leading;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    leading.push_back(d);
  return tensor::CollapseShapeOp::create(
      b, loc, value,
      SmallVector<ReassociationIndices>{leading, {type.getRank() - 1}});
}

/// [M, N] back to the layer's result shape [..., N].
Value expandFromMatrix(OpBuilder &b, Location loc, Value matrix,
                       RankedTensorType resultType) {
  if (resultType.getRank() == 2)
    return matrix;
  if (resultType.getRank() == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, matrix, SmallVector<ReassociationIndices>{{0, 1}});
  ReassociationIndices leading;
  for (int64_t d = 0; d + 1 < resultType.getRank(); ++d)
    leading.push_back(d);
  return tensor::ExpandShapeOp::create(
      b, loc, resultType, matrix,
      SmallVector<ReassociationIndices>{leading, {resultType.getRank() - 1}});
}

/// The hqdm.gelu to fuse into `op`'s epilogue: its result's only user (gelu
/// keeps the type). Reports why a gelu that reads the result is not fused.
GeluOp matchGelu(QLinearOp op, bool fuse) {
  auto gelu = llvm::find_if(op->getUsers(), llvm::IsaPred<GeluOp>);
  if (gelu == op->getUsers().end())
    return {};
  std::string why;
  if (!fuse)
    why = "fuse-gelu is off (hqdm-lower-to-cuda turns it off when it finds "
          "no libdevice in the CUDA toolkit)";
  else if (!op.getResult().hasOneUse())
    why = "the layer's result has other users";
  if (why.empty())
    return cast<GeluOp>(*gelu);
  remark::missed(op.getLoc(), remark::RemarkOpts::name("GeluNotFused")
                                  .category("hqdm-lower-to-cuda"))
      << ("the hqdm.gelu after the layer stays on the CPU: " + why);
  return {};
}

std::string mmaName(const LayerKernelConfig &c) {
  if (c.mma == MmaKind::Int4)
    return "mma.sync m16n8k64 s4";
  if (c.mma == MmaKind::Wgmma)
    return "wgmma m64n" + std::to_string(c.tileN) + "k32 s8";
  return "mma.sync m16n8k32 s8";
}

/// What the remark of a lowered layer says about it.
std::string describe(const LayerKernelConfig &c) {
  std::string shape;
  if (c.conv) {
    const ConvGeometry &g = *c.conv;
    auto pair = [](int64_t a, int64_t b) {
      return std::to_string(a) + "x" + std::to_string(b);
    };
    shape = std::to_string(g.batch) + "x" + std::to_string(g.channels) + "x" +
            pair(g.height, g.width) + " * " + std::to_string(c.n) + "x" +
            pair(g.kernelH, g.kernelW) + " stride " +
            pair(g.strideH, g.strideW) + " padding " + pair(g.padH, g.padW) +
            " dilation " + pair(g.dilationH, g.dilationW) +
            ", implicit GEMM ";
  }
  shape += std::to_string(c.m) + "x" + std::to_string(c.n) + "x" +
           std::to_string(c.k);
  const char *scale = !c.dynamicScale ? " given-scale"
                      : c.conv        ? " per-tensor"
                                      : " per-token";
  return c.name + ": " + shape + " A" + std::to_string(c.activationBits) +
         scale + " W" + std::to_string(c.weightBits) +
         (c.weightPlanes == 2 ? " (two int8 digits)" : "") +
         ", hadamard block " + std::to_string(c.hadamardBlock) + ", " +
         mmaName(c) + ", tile " + std::to_string(c.tileM) + "x" +
         std::to_string(c.tileN) + "x" + std::to_string(c.tileK()) +
         (c.activation == EpilogueActivation::GeluTanh ? ", fused gelu (tanh)"
          : c.activation == EpilogueActivation::Gelu   ? ", fused gelu"
                                                       : "") +
         (c.prologueNorm || c.prologueOps
              ? ", prologue runs " + c.prologueOps.description
              : "") +
         (c.epilogueOps ? ", epilogue runs " + c.epilogueOps.description : "");
}

struct ConvertHqdmToGPUPass
    : hqdm::impl::ConvertHqdmToGPUPassBase<ConvertHqdmToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int chip = chipVersion(this->chip);
    if (!chip) {
      module.emitError() << "unsupported chip '" << this->chip
                         << "': hqdm targets sm_80, sm_86, sm_89, sm_90 and "
                            "sm_90a";
      return signalPassFailure();
    }
    SmallVector<Operation *> layers;
    module.walk([&](Operation *op) {
      if (isa<QLinearOp, QConv2DOp>(op))
        layers.push_back(op);
    });
    int64_t linearIndex = 0, convIndex = 0;
    for (Operation *op : layers) {
      MatchedLayer layer;
      std::string why;
      StringRef kind;
      GeluOp gelu;
      if (auto linear = dyn_cast<QLinearOp>(op)) {
        kind = "qlinear";
        layer.config.name = "qlinear" + std::to_string(linearIndex);
        why = matchLayer(linear, chip, layer);
        // Only sm_90a has wgmma (linear layers; convs gather A).
        if (why.empty() && this->chip == "sm_90a")
          useWgmma(layer.config);
        if (why.empty())
          gelu = matchGelu(linear, fuseGelu);
      } else {
        kind = "qconv2d";
        layer.config.name = "qconv" + std::to_string(convIndex);
        why = matchLayer(cast<QConv2DOp>(op), chip, layer);
      }
      if (why.empty())
        why = planLayer(layer.config, smCount);
      if (!why.empty()) {
        remark::missed(op->getLoc(), remark::RemarkOpts::name("LeftOnHost")
                                         .category("hqdm-lower-to-cuda"))
            << (kind + " stays on the CPU: " + why).str();
        continue;
      }
      ++(layer.config.conv ? convIndex : linearIndex);
      LayerKernelConfig &c = layer.config;
      if (gelu)
        c.activation = gelu.getApproximate() == GeluApproximation::Tanh
                           ? EpilogueActivation::GeluTanh
                           : EpilogueActivation::Gelu;
      if (fuseOps)
        fuseNeighbours(op, gelu, layer);
      // The launch produces the result of the last op it runs.
      Operation *last = op;
      if (!layer.epilogue.chain.empty())
        last = layer.epilogue.chain.back();
      else if (gelu)
        last = gelu;
      lower(op, layer, last->getResult(0));
      remark::passed(op->getLoc(), remark::RemarkOpts::name("Kernels")
                                       .category("hqdm-lower-to-cuda"))
          << describe(layer.config);
      eraseWithDeadProducers(last, op);
    }
  }

  /// Erases `last` and then whatever only it read, transitively: the fused
  /// consumers and GELU, the layer `layer`, its quantizer, scale and
  /// rotation, and the producers its prologue runs.
  static void eraseWithDeadProducers(Operation *last, Operation *layer) {
    SmallVector<Operation *> worklist = {last};
    while (!worklist.empty()) {
      Operation *dead = worklist.pop_back_val();
      SmallVector<Value> operands(dead->getOperands());
      dead->erase();
      for (Value operand : operands) {
        Operation *def = operand.getDefiningOp();
        // (Layers still to be lowered stay: the pass holds them.)
        if (def && (def == layer || !isa<QLinearOp, QConv2DOp>(def)) &&
            !llvm::is_contained(worklist, def) && isOpTriviallyDead(def))
          worklist.push_back(def);
      }
    }
  }

  /// Finds the ops around the layer its kernels can run (Fusion.h).
  void fuseNeighbours(Operation *op, GeluOp gelu, MatchedLayer &layer) {
    LayerKernelConfig &c = layer.config;
    // Math functions (exp, erf, tanh) need libdevice, like the fused GELU.
    bool allowMath = fuseGelu;
    if (!c.conv) {
      layer.prologue = matchPrologueFusion(layer.floatInput, allowMath,
                                           c.prologueKeepsRow());
      if (!layer.prologue.empty()) {
        layer.floatInput = layer.prologue.kernelInput;
        c.prologueNorm = layer.prologue.norm;
        c.prologueOps = layer.prologue.ops;
      }
    }
    Value result = gelu ? Value(gelu.getResult()) : op->getResult(0);
    layer.epilogue = matchEpilogueFusion(result, c.conv.has_value(), allowMath);
    if (!layer.epilogue.whyStopped.empty())
      remark::missed(op->getLoc(), remark::RemarkOpts::name("NotFused")
                                       .category("hqdm-lower-to-cuda"))
          << ("a consumer of " + c.name + " is not fused into its epilogue: " +
              layer.epilogue.whyStopped);
    c.epilogueOps = layer.epilogue.ops;
  }

  /// Replaces the uses of `replaced` (the result of `op`, or of the last op
  /// fused after it) by an hqdm.gpu_launch of the layer's kernels: [absmax,]
  /// prologue and GEMM.
  void lower(Operation *op, MatchedLayer &layer, Value replaced) {
    MLIRContext *ctx = &getContext();
    LayerKernelConfig &c = layer.config;
    Location loc = op->getLoc();
    OpBuilder builder(ctx);
    if (!kernels) {
      ModuleOp module = getOperation();
      module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      builder.getUnitAttr());
      builder.setInsertionPointToEnd(module.getBody());
      kernels =
          gpu::GPUModuleOp::create(builder, module.getLoc(), kKernelModule);
    }
    builder.setInsertionPointToEnd(kernels.getBody());
    gpu::GPUFuncOp absmax =
        c.conv && c.dynamicScale
            ? buildConvPrologueKernel(builder, loc, c, /*absmaxPass=*/true)
            : gpu::GPUFuncOp();
    gpu::GPUFuncOp prologue =
        c.conv ? buildConvPrologueKernel(builder, loc, c, /*absmaxPass=*/false)
               : buildPrologueKernel(builder, loc, c);
    gpu::GPUFuncOp gemm = c.mma == MmaKind::Wgmma
                              ? buildWgmmaGemmKernel(builder, loc, c)
                              : buildGemmKernel(builder, loc, c);

    // Host side, on tensors. Operands: the float input, [the given scale,]
    // the packed weight, its scale, [the bias,] the operands of the fused
    // prologue and epilogue ops, the output; then the temps. The launch
    // replaces the last fused consumer, after every value it reads.
    SmallVector<linalg::GenericOp> consumers = layer.epilogue.chain;
    builder.setInsertionPoint(consumers.empty() ? op
                                                : consumers.back().getOperation());
    SmallVector<Value> inputs = {
        c.conv ? layer.floatInput
               : collapseToMatrix(builder, loc, layer.floatInput)};
    int64_t scaleIndex = -1;
    if (!c.dynamicScale) {
      scaleIndex = inputs.size();
      inputs.push_back(layer.givenScale);
    }
    if (c.conv)
      layer.centeredWeights = convWeightsToGemm(c, layer.centeredWeights);
    std::vector<int32_t> words = packWeights(c, layer.centeredWeights);
    auto packedType = RankedTensorType::get(c.packedWeightType(ctx).getShape(),
                                            builder.getI32Type());
    int64_t weightIndex = inputs.size();
    inputs.push_back(arith::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(packedType, ArrayRef<int32_t>(words))));
    int64_t weightScaleIndex = inputs.size();
    inputs.push_back(layer.weightScale);
    int64_t biasIndex = -1;
    if (layer.bias) {
      biasIndex = inputs.size();
      inputs.push_back(layer.bias);
    }
    auto appendFused = [&](const std::shared_ptr<FusedOperands> &fused) {
      SmallVector<int64_t> indices;
      if (fused)
        for (Value root : fused->roots()) {
          indices.push_back(inputs.size());
          inputs.push_back(root);
        }
      return indices;
    };
    SmallVector<int64_t> prologueOperands = appendFused(layer.prologue.operands);
    SmallVector<int64_t> epilogueOperands = appendFused(layer.epilogue.operands);
    int64_t outputIndex = inputs.size();
    Value init = tensor::EmptyOp::create(
        builder, loc, c.outputMemRefType(ctx).getShape(), c.outputType);
    int64_t numOperands = inputs.size() + 1;
    SmallVector<Attribute> temps = {TypeAttr::get(c.packedInputType(ctx))};
    int64_t packedIndex = numOperands, partialIndex = -1;
    if (c.dynamicScale) {
      scaleIndex = numOperands + 1;
      temps.push_back(TypeAttr::get(c.conv ? c.givenScaleType(ctx)
                                           : c.tokenScaleType(ctx)));
    }
    if (absmax) {
      partialIndex = numOperands + 2;
      temps.push_back(TypeAttr::get(c.partialMaxType(ctx)));
    }

    auto launch = [&](gpu::GPUFuncOp kernel, ArrayRef<int64_t> grid,
                      ArrayRef<int64_t> args) -> Attribute {
      NamedAttrList entries;
      entries.append("kernel",
                     SymbolRefAttr::get(kernels.getSymNameAttr(),
                                        {FlatSymbolRefAttr::get(kernel)}));
      entries.append("grid", builder.getDenseI64ArrayAttr(grid));
      entries.append("block", builder.getDenseI64ArrayAttr({kThreads, 1, 1}));
      entries.append("args", builder.getDenseI64ArrayAttr(args));
      return entries.getDictionary(ctx);
    };
    SmallVector<Attribute> launches;
    SmallVector<int64_t> prologueArgs = {0};
    if (absmax) {
      launches.push_back(
          launch(absmax, {c.prologueBlocks(), 1, 1}, {0, partialIndex}));
      prologueArgs.push_back(partialIndex);
    }
    prologueArgs.append({scaleIndex, packedIndex});
    llvm::append_range(prologueArgs, prologueOperands);
    launches.push_back(
        launch(prologue, {c.prologueBlocks(), 1, 1}, prologueArgs));
    SmallVector<int64_t> gemmArgs = {packedIndex, scaleIndex, weightIndex,
                                     weightScaleIndex};
    if (biasIndex >= 0)
      gemmArgs.push_back(biasIndex);
    llvm::append_range(gemmArgs, epilogueOperands);
    gemmArgs.push_back(outputIndex);
    launches.push_back(
        launch(gemm, {c.nPad / c.tileN, c.mPad / c.tileM, 1}, gemmArgs));

    auto gpuLaunch = GpuLaunchOp::create(
        builder, loc, TypeRange{init.getType()}, builder.getStringAttr(c.name),
        inputs, ValueRange{init}, builder.getArrayAttr(temps),
        builder.getArrayAttr(launches));
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    Value result = c.conv ? gpuLaunch.getResult(0)
                          : expandFromMatrix(builder, loc,
                                             gpuLaunch.getResult(0), resultType);
    replaced.replaceAllUsesWith(result);
  }

  gpu::GPUModuleOp kernels;
};

//===----------------------------------------------------------------------===//
// Host side of the launches
//===----------------------------------------------------------------------===//

struct GpuLaunchToHostPass
    : hqdm::impl::GpuLaunchToHostPassBase<GpuLaunchToHostPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<GpuLaunchOp> launches;
    getOperation().walk([&](GpuLaunchOp op) { launches.push_back(op); });
    for (GpuLaunchOp op : launches) {
      if (!op.getResults().empty()) {
        op.emitOpError() << "must be bufferized before it is lowered to host "
                            "code";
        return signalPassFailure();
      }
      if (deviceResident) {
        if (failed(lowerResident(op)))
          return signalPassFailure();
      } else {
        lower(op);
      }
    }
  }

  /// The `gpu.launch_func` ops of `op` on the device buffers `device`
  /// (operands, then temps); asynchronous after `token` when it is set.
  Value launchKernels(OpBuilder &b, GpuLaunchOp op, ArrayRef<Value> device,
                      Value token) {
    Location loc = op.getLoc();
    Type tokenType = token ? gpu::AsyncTokenType::get(&getContext()) : Type();
    for (Attribute attr : op.getLaunches()) {
      auto launch = cast<DictionaryAttr>(attr);
      auto grid = launch.getAs<DenseI64ArrayAttr>("grid").asArrayRef();
      auto block = launch.getAs<DenseI64ArrayAttr>("block").asArrayRef();
      SmallVector<Value> args;
      for (int64_t index : launch.getAs<DenseI64ArrayAttr>("args").asArrayRef())
        args.push_back(device[index]);
      auto constant = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      auto launchOp = gpu::LaunchFuncOp::create(
          b, loc, launch.getAs<SymbolRefAttr>("kernel"),
          gpu::KernelDim3{constant(grid[0]), constant(grid[1]),
                          constant(grid[2])},
          gpu::KernelDim3{constant(block[0]), constant(block[1]),
                          constant(block[2])},
          /*dynamicSharedMemorySize=*/Value(), args, tokenType,
          token ? ValueRange{token} : ValueRange{});
      token = launchOp.getAsyncToken();
    }
    return token;
  }

  /// Operands already in device memory: allocate the temps, launch, free
  /// the temps; `gpu-async-region` later puts it all on one stream.
  LogicalResult lowerResident(GpuLaunchOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<Value> device;
    for (Value operand : op->getOperands()) {
      auto type = cast<MemRefType>(operand.getType());
      if (!type.getLayout().isIdentity())
        return op.emitOpError()
               << "operand of type " << type
               << " is not contiguous; device-resident launches take "
                  "identity layouts";
      device.push_back(operand);
    }
    SmallVector<Value> temps;
    for (Type temp : op.getTemps().getAsValueRange<TypeAttr>()) {
      auto alloc =
          gpu::AllocOp::create(b, loc, cast<MemRefType>(temp), Type(),
                               ValueRange{}, ValueRange{}, ValueRange{});
      temps.push_back(alloc.getMemref());
      device.push_back(alloc.getMemref());
    }
    launchKernels(b, op, device, /*token=*/Value());
    for (Value temp : temps)
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, temp);
    op.erase();
    return success();
  }

  /// Device copies of every operand and temp on one stream, the kernels in
  /// order, the outputs copied back, everything freed, then one wait.
  void lower(GpuLaunchOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type tokenType = gpu::AsyncTokenType::get(&getContext());
    Value token = gpu::WaitOp::create(b, loc, tokenType, ValueRange{})
                      .getAsyncToken();
    SmallVector<Value> hostStaging; // identity-layout copies to free
    SmallVector<std::pair<Value, Value>> writeBack; // (staging, original)
    auto identity = [](MemRefType type) {
      return MemRefType::get(type.getShape(), type.getElementType());
    };
    // A host buffer with an identity layout holding `value`'s data.
    auto contiguous = [&](Value value, bool copyIn) -> Value {
      auto type = cast<MemRefType>(value.getType());
      if (type.getLayout().isIdentity() && type.getMemorySpace() == nullptr)
        return value;
      Value staging = memref::AllocOp::create(b, loc, identity(type));
      if (copyIn)
        memref::CopyOp::create(b, loc, value, staging);
      hostStaging.push_back(staging);
      return staging;
    };

    // Device buffers, in the launches' numbering: operands, then temps.
    SmallVector<Value> device;
    auto allocate = [&](Type type) {
      auto alloc = gpu::AllocOp::create(
          b, loc, identity(cast<MemRefType>(type)), tokenType,
          ValueRange{token}, ValueRange{}, ValueRange{});
      token = alloc.getAsyncToken();
      device.push_back(alloc.getMemref());
      return alloc.getMemref();
    };
    for (Value input : op.getInputs()) {
      Value host = contiguous(input, /*copyIn=*/true);
      Value buffer = allocate(input.getType());
      token = gpu::MemcpyOp::create(b, loc, tokenType, ValueRange{token},
                                    buffer, host)
                  .getAsyncToken();
    }
    SmallVector<Value> hostOutputs;
    for (Value output : op.getOutputs()) {
      Value host = contiguous(output, /*copyIn=*/false);
      if (host != output)
        writeBack.push_back({host, output});
      hostOutputs.push_back(host);
      allocate(output.getType());
    }
    for (Type temp : op.getTemps().getAsValueRange<TypeAttr>())
      allocate(temp);
    token = launchKernels(b, op, device, token);
    int64_t numInputs = op.getInputs().size();
    for (auto [i, host] : llvm::enumerate(hostOutputs))
      token = gpu::MemcpyOp::create(b, loc, tokenType, ValueRange{token}, host,
                                    device[numInputs + i])
                  .getAsyncToken();
    for (Value buffer : device)
      token = gpu::DeallocOp::create(b, loc, tokenType, ValueRange{token},
                                     buffer)
                  .getAsyncToken();
    gpu::WaitOp::create(b, loc, Type(), ValueRange{token});
    for (auto [staging, original] : writeBack)
      memref::CopyOp::create(b, loc, staging, original);
    for (Value staging : hostStaging)
      memref::DeallocOp::create(b, loc, staging);
    op.erase();
  }
};

//===----------------------------------------------------------------------===//
// Bufferization of hqdm.gpu_launch
//===----------------------------------------------------------------------===//

struct GpuLaunchBufferization
    : bufferization::DstBufferizableOpInterfaceExternalModel<
          GpuLaunchBufferization, GpuLaunchOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    auto launch = cast<GpuLaunchOp>(op);
    auto buffers = [&](ValueRange values,
                       SmallVector<Value> &out) -> LogicalResult {
      for (Value v : values) {
        if (!isa<TensorType>(v.getType())) {
          out.push_back(v);
          continue;
        }
        FailureOr<Value> buffer =
            bufferization::getBuffer(rewriter, v, options, state);
        if (failed(buffer))
          return failure();
        out.push_back(*buffer);
      }
      return success();
    };
    SmallVector<Value> inputs, outputs;
    if (failed(buffers(launch.getInputs(), inputs)) ||
        failed(buffers(launch.getOutputs(), outputs)))
      return failure();
    rewriter.setInsertionPoint(op);
    // Kernels take identity layouts: an input that bufferized to a strided
    // view is copied to a fresh buffer first (the deallocation pipeline
    // frees it; on the GPU the copy is a kernel).
    for (Value &input : inputs) {
      auto type = dyn_cast<MemRefType>(input.getType());
      if (!type || type.getLayout().isIdentity())
        continue;
      auto contiguous = MemRefType::get(type.getShape(), type.getElementType(),
                                        MemRefLayoutAttrInterface(),
                                        type.getMemorySpace());
      Value copy = memref::AllocOp::create(rewriter, op->getLoc(), contiguous);
      memref::CopyOp::create(rewriter, op->getLoc(), input, copy);
      input = copy;
    }
    GpuLaunchOp::create(rewriter, op->getLoc(), TypeRange{},
                        launch.getLayerAttr(), inputs, outputs,
                        launch.getTempsAttr(), launch.getLaunchesAttr());
    bufferization::replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};

} // namespace

void hqdm::registerGpuLaunchBufferization(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, HqdmDialect *) {
    GpuLaunchOp::attachInterface<GpuLaunchBufferization>(*ctx);
  });
}
