//===- Fusion.cpp - ops fused into a layer's generated kernels ------------===//
//
// See Fusion.h.
//
//===----------------------------------------------------------------------===//

#include "Fusion.h"

#include "../Gelu.h"
#include "KernelBuilder.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::hqdm;
using namespace mlir::hqdm::gpu_kernels;

//===----------------------------------------------------------------------===//
// Operands read through static views
//===----------------------------------------------------------------------===//

static bool isStatic(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape();
}

/// The view op that defines `v`, when its indexing is static.
static Operation *staticView(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def || !isStatic(v))
    return nullptr;
  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def))
    return isStatic(slice.getSource()) &&
                   ShapedType::isStaticShape(slice.getStaticOffsets()) &&
                   ShapedType::isStaticShape(slice.getStaticStrides())
               ? def
               : nullptr;
  if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def))
    return isStatic(def->getOperand(0)) ? def : nullptr;
  return nullptr;
}

/// The indices of `linear` in a row-major array of `sizes` (none for no
/// sizes; the first index is not reduced modulo sizes[0]).
static SmallVector<Value> delinearize(KernelBuilder &kb, Value linear,
                                      ArrayRef<int64_t> sizes) {
  if (sizes.empty())
    return {};
  SmallVector<Value> parts(sizes.size());
  for (int64_t i = sizes.size() - 1; i > 0; --i) {
    if (sizes[i] == 1) {
      parts[i] = kb.idx(0);
      continue;
    }
    parts[i] = kb.rem(linear, kb.idx(sizes[i]));
    linear = kb.div(linear, kb.idx(sizes[i]));
  }
  parts[0] = linear;
  return parts;
}

unsigned FusedOperands::add(Value tensor) {
  Entry entry;
  Value root = tensor;
  while (Operation *view = staticView(root)) {
    entry.views.push_back(view);
    root = view->getOperand(0);
  }
  auto found = llvm::find(rootValues, root);
  entry.root = found - rootValues.begin();
  if (found == rootValues.end())
    rootValues.push_back(root);
  entries.push_back(std::move(entry));
  return entries.size() - 1;
}

SmallVector<Type> FusedOperands::types() const {
  SmallVector<Type> types;
  for (Value root : rootValues) {
    auto type = cast<RankedTensorType>(root.getType());
    types.push_back(MemRefType::get(type.getShape(), type.getElementType()));
  }
  return types;
}

Value FusedOperands::load(OpBuilder &b, Location loc, unsigned handle,
                          ValueRange indices, ValueRange operands) const {
  const Entry &entry = entries[handle];
  KernelBuilder kb{b, loc};
  SmallVector<Value> index(indices);
  for (Operation *view : entry.views) {
    SmallVector<Value> source;
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(view)) {
      // Source dim d: offset + stride * (the result index, 0 if dropped).
      llvm::SmallBitVector dropped = slice.getDroppedDims();
      unsigned next = 0;
      for (unsigned d = 0; d < slice.getSourceType().getRank(); ++d) {
        int64_t offset = slice.getStaticOffsets()[d];
        int64_t stride = slice.getStaticStrides()[d];
        if (dropped.test(d)) {
          source.push_back(kb.idx(offset));
          continue;
        }
        Value i = index[next++];
        if (stride != 1)
          i = kb.mul(i, kb.idx(stride));
        source.push_back(offset ? kb.add(i, kb.idx(offset)) : i);
      }
    } else if (auto expand = dyn_cast<tensor::ExpandShapeOp>(view)) {
      // A source dim is its group of result dims, linearized.
      ArrayRef<int64_t> shape = expand.getResultType().getShape();
      for (const ReassociationIndices &group :
           expand.getReassociationIndices()) {
        Value linear;
        for (int64_t d : group) {
          if (shape[d] == 1 && linear)
            continue;
          linear = linear ? kb.add(kb.mul(linear, kb.idx(shape[d])), index[d])
                          : index[d];
        }
        source.push_back(linear);
      }
    } else {
      // A result dim of a collapse is its group of source dims, delinearized.
      auto collapse = cast<tensor::CollapseShapeOp>(view);
      ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
      for (auto [r, group] :
           llvm::enumerate(collapse.getReassociationIndices())) {
        SmallVector<int64_t> sizes;
        for (int64_t d : group)
          sizes.push_back(shape[d]);
        llvm::append_range(source, delinearize(kb, index[r], sizes));
      }
    }
    index = std::move(source);
  }
  return kb.load(operands[entry.root], index);
}

//===----------------------------------------------------------------------===//
// Prologue
//===----------------------------------------------------------------------===//

static bool isF32Static(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape() && type.getElementType().isF32();
}

/// Whether everything that reads `v` is `consumer` or part of a layer's
/// quantization path (which dies with the layers it feeds).
static bool onlyFeedsQuantization(Value v, Operation *consumer) {
  return llvm::all_of(v.getUsers(), [&](Operation *user) {
    return user == consumer || isa<HadamardOp, TokenScaleOp, QuantizeOp>(user);
  });
}

PrologueFusion gpu_kernels::matchPrologueFusion(Value floatInput,
                                                bool allowMath,
                                                bool rowInRegisters) {
  using Step = std::function<Value(OpBuilder &, Location, Value, ValueRange,
                                   ValueRange)>;
  PrologueFusion fusion;
  SmallVector<Step> steps; // bottom-up: the op nearest the layer first
  SmallVector<std::string> names;
  auto matrixType = cast<RankedTensorType>(floatInput.getType());
  int64_t k = matrixType.getShape().back();
  int64_t m = matrixType.getNumElements() / std::max<int64_t>(k, 1);
  auto operands = std::make_shared<FusedOperands>();
  fusion.operands = operands;

  Value v = floatInput;
  Operation *consumer = nullptr;
  while (Operation *def = v.getDefiningOp()) {
    if (!onlyFeedsQuantization(v, consumer) ||
        !llvm::all_of(def->getOperands(), isF32Static))
      break;
    if (auto modulate = dyn_cast<ModulateOp>(def)) {
      // y = x * (1 + scale[b, k]) + shift[b, k], b = row / (M / B).
      int64_t rowsPerSample = m / modulate.getInput().getType().getDimSize(0);
      unsigned shift = operands->add(modulate.getShift());
      unsigned scale = operands->add(modulate.getScale());
      steps.push_back([=](
                          OpBuilder &b, Location loc, Value x,
                          ValueRange index, ValueRange buffers) -> Value {
        KernelBuilder kb{b, loc};
        Value sample = kb.div(index[0], kb.idx(rowsPerSample));
        Value sh = operands->load(b, loc, shift, {sample, index[1]}, buffers);
        Value sc = operands->load(b, loc, scale, {sample, index[1]}, buffers);
        Value factor = arith::AddFOp::create(b, loc, kb.f32(1.0), sc);
        Value scaled = arith::MulFOp::create(b, loc, x, factor);
        return arith::AddFOp::create(b, loc, scaled, sh);
      });
      names.push_back("modulate");
      v = modulate.getInput();
    } else if (auto silu = dyn_cast<SiluOp>(def); silu && allowMath) {
      steps.push_back([](OpBuilder &b, Location loc, Value x, ValueRange,
                         ValueRange) { return buildSiluF32(b, loc, x); });
      names.push_back("silu");
      v = silu.getInput();
    } else if (auto gelu = dyn_cast<GeluOp>(def); gelu && allowMath) {
      bool tanhForm = gelu.getApproximate() == GeluApproximation::Tanh;
      steps.push_back([=](OpBuilder &b, Location loc, Value x, ValueRange,
                          ValueRange) {
        return buildGeluF32(b, loc, x, tanhForm);
      });
      names.push_back("gelu");
      v = gelu.getInput();
    } else if (auto norm = dyn_cast<LayerNormOp>(def); norm && rowInRegisters) {
      // The normalization itself runs in the prologue; its affine is a step.
      fusion.norm = norm.getEpsilon().convertToFloat();
      std::optional<unsigned> weight, bias;
      if (norm.getWeight())
        weight = operands->add(norm.getWeight());
      if (norm.getBias())
        bias = operands->add(norm.getBias());
      if (weight || bias)
        steps.push_back([=](
                            OpBuilder &b, Location loc, Value x,
                            ValueRange index, ValueRange buffers) -> Value {
          if (weight)
            x = arith::MulFOp::create(
                b, loc, x, operands->load(b, loc, *weight, index[1], buffers));
          if (bias)
            x = arith::AddFOp::create(
                b, loc, x, operands->load(b, loc, *bias, index[1], buffers));
          return x;
        });
      names.push_back("layer_norm");
      v = norm.getInput();
      break; // Only the rows the prologue reads can be normalized.
    } else {
      break;
    }
    consumer = def;
  }
  fusion.kernelInput = v;
  std::reverse(names.begin(), names.end());
  fusion.ops.description = llvm::join(names, ", ");
  if (steps.empty())
    return fusion;
  fusion.ops.apply = [steps](OpBuilder &b, Location loc, Value x,
                             ValueRange index, ValueRange buffers) {
    for (const Step &step : llvm::reverse(steps))
      x = step(b, loc, x, index, buffers);
    return x;
  };
  fusion.ops.operands = operands->types();
  return fusion;
}

//===----------------------------------------------------------------------===//
// Epilogue
//===----------------------------------------------------------------------===//

/// Why `generic` cannot be fused as the next consumer of `value`; empty when
/// it can.
static std::string whyNotFusable(linalg::GenericOp generic, Value value,
                                 bool allowMath) {
  auto type = cast<RankedTensorType>(value.getType());
  if (generic.getNumDpsInits() != 1 || generic.getNumResults() != 1)
    return "it has several outputs";
  if (generic.getNumParallelLoops() != generic.getNumLoops() ||
      generic.getNumLoops() != static_cast<unsigned>(type.getRank()))
    return "it is not elementwise in the layer's result";
  if (generic.getResult(0).getType() != type)
    return "its result's type differs from the layer's";
  OpOperand *init = generic.getDpsInitOperand(0);
  if (!generic.getMatchingIndexingMap(init).isIdentity() ||
      generic.payloadUsesValueFromOperand(init))
    return "it reads or permutes its output";
  for (OpOperand *input : generic.getDpsInputOperands()) {
    AffineMap map = generic.getMatchingIndexingMap(input);
    if (input->get() == value) {
      if (!map.isIdentity())
        return "it reads the layer's result permuted";
      continue;
    }
    if (!isF32Static(input->get()))
      return "an operand is not a static f32 tensor";
    for (AffineExpr e : map.getResults())
      if (!isa<AffineDimExpr, AffineConstantExpr>(e))
        return "an operand's indexing is not a projection";
  }
  Value yielded = generic.getBody()->getTerminator()->getOperand(0);
  if (!generic.getRegion().isAncestor(yielded.getParentRegion()))
    return "it yields a value defined outside it";
  for (Operation &op : generic.getBody()->without_terminator()) {
    bool scalarArith = op.getNumRegions() == 0 &&
                       isa<arith::ArithDialect, math::MathDialect>(
                           op.getDialect()) &&
                       llvm::all_of(op.getResultTypes(), [](Type t) {
                         return t.isIntOrIndexOrFloat();
                       });
    if (!scalarArith)
      return "its payload has '" + op.getName().getStringRef().str() + "'";
    if (isa<math::MathDialect>(op.getDialect()) && !allowMath)
      return "its payload needs libdevice, which was not found";
    for (Value operand : op.getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!generic.getRegion().isAncestor(operand.getParentRegion()) &&
          !(def && isa<arith::ConstantOp>(def)))
        return "its payload reads a value that is not a constant";
    }
  }
  return "";
}

EpilogueFusion gpu_kernels::matchEpilogueFusion(Value result, bool conv,
                                                bool allowMath) {
  EpilogueFusion fusion;
  if (!isF32Static(result))
    return fusion;
  auto operands = std::make_shared<FusedOperands>();
  fusion.operands = operands;
  // The input handles of each generic, in its operand order (-1: the
  // chained value).
  SmallVector<SmallVector<int>> handles;
  Value value = result;
  while (!value.use_empty()) {
    auto generic = dyn_cast<linalg::GenericOp>(*value.getUsers().begin());
    if (!generic || !llvm::all_of(value.getUsers(), [&](Operation *user) {
          return user == generic;
        }))
      break;
    if (generic->getBlock() != result.getParentBlock()) {
      fusion.whyStopped = "it is in another block";
      break;
    }
    if (std::string why = whyNotFusable(generic, value, allowMath);
        !why.empty()) {
      fusion.whyStopped = why;
      break;
    }
    SmallVector<int> inputs;
    for (OpOperand *input : generic.getDpsInputOperands())
      inputs.push_back(input->get() == value
                           ? -1
                           : static_cast<int>(operands->add(input->get())));
    handles.push_back(std::move(inputs));
    fusion.chain.push_back(generic);
    value = generic.getResult(0);
  }
  if (fusion.chain.empty())
    return fusion;

  fusion.ops.description =
      std::to_string(fusion.chain.size()) + " elementwise op" +
      (fusion.chain.size() == 1 ? "" : "s");
  fusion.ops.operands = operands->types();
  ArrayRef<int64_t> shape =
      cast<RankedTensorType>(result.getType()).getShape();
  SmallVector<int64_t> resultShape(shape);
  SmallVector<linalg::GenericOp> chain = fusion.chain;
  fusion.ops.apply = [=](OpBuilder &b, Location loc, Value v,
                         ValueRange index, ValueRange buffers) -> Value {
    KernelBuilder kb{b, loc};
    // The element's index in the result: a linear layer's row is its
    // leading dimensions, linearized.
    SmallVector<Value> point(index);
    if (!conv) {
      point = delinearize(kb, index[0], ArrayRef(resultShape).drop_back());
      point.push_back(index[1]);
    }
    for (auto [chained, inputs] : llvm::zip(chain, handles)) {
      linalg::GenericOp generic = chained;
      IRMapping map;
      Block *body = generic.getBody();
      for (auto [i, input] : llvm::enumerate(generic.getDpsInputOperands())) {
        Value element = v;
        if (inputs[i] >= 0) {
          SmallVector<Value> at;
          for (AffineExpr e :
               generic.getMatchingIndexingMap(input).getResults()) {
            if (auto dim = dyn_cast<AffineDimExpr>(e))
              at.push_back(point[dim.getPosition()]);
            else
              at.push_back(kb.idx(cast<AffineConstantExpr>(e).getValue()));
          }
          element = operands->load(b, loc, inputs[i], at, buffers);
        }
        map.map(body->getArgument(i), element);
      }
      for (Operation &op : body->without_terminator()) {
        for (Value operand : op.getOperands())
          if (!map.contains(operand) && !body->getParent()->isAncestor(
                                            operand.getParentRegion()))
            map.map(operand, b.clone(*operand.getDefiningOp())->getResult(0));
        if (auto sqrt = dyn_cast<math::SqrtOp>(op))
          map.map(sqrt.getResult(),
                  correctlyRoundedSqrt(b, loc, map.lookup(sqrt.getOperand())));
        else
          b.clone(op, map);
      }
      v = map.lookup(body->getTerminator()->getOperand(0));
    }
    return v;
  };
  return fusion;
}
