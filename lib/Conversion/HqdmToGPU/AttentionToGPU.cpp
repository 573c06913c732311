//===- AttentionToGPU.cpp - attention to one fused kernel --------*- C++ -*-===//
//
// convert-attention-to-gpu recognizes softmax(scale * q * k^T) * v in the
// form torch-mlir and hqdm-quantize leave it (two linalg.batch_matmul ops
// into zero-filled inits around an hqdm.softmax over the last axis, with
// reshapes, slices and transposes around them and the scale multiplying q,
// k or the scores) and replaces it by an hqdm.gpu_launch of the fused
// attention kernel (AttentionKernel.cpp), which reads q, k and v straight
// from the buffers they were sliced out of (the qkv projection's output)
// and writes the output in the layout its users read (the heads merged
// back, [B, T, H * D]).
//
// Every operand is traced to a strided view of one buffer
// (AttentionOperand): each dimension of the traced value is a list of
// (size, stride) parts of the buffer's row-major index; expand_shape splits
// parts, collapse_shape concatenates them, transpose permutes dimensions,
// extract_slice offsets and restrides a dimension of one part. The output
// is traced the other way, from the value the reshapes and transposes after
// the second matmul end in, through their inverses.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernel.h"
#include "hqdm/Conversion/Passes.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Remarks.h"

#include <optional>

namespace mlir::hqdm {
#define GEN_PASS_DEF_CONVERTATTENTIONTOGPUPASS
#include "hqdm/Conversion/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;
using namespace mlir::hqdm::gpu_kernels;

namespace {

//===----------------------------------------------------------------------===//
// Strided views
//===----------------------------------------------------------------------===//

/// A dimension of a view: (size, stride) parts, outermost first; no parts
/// for a dimension of size 1.
using Parts = SmallVector<std::pair<int64_t, int64_t>>;

struct View {
  SmallVector<Parts> dims;
  int64_t offset = 0;
};

/// Drops parts of size 1 and merges parts that are contiguous.
Parts normalize(const Parts &parts) {
  Parts out;
  for (auto [size, stride] : parts) {
    if (size == 1)
      continue;
    if (!out.empty() && out.back().second == size * stride) {
      out.back() = {out.back().first * size, stride};
      continue;
    }
    out.push_back({size, stride});
  }
  return out;
}

int64_t sizeOf(const Parts &parts) {
  int64_t size = 1;
  for (auto [s, stride] : parts)
    size *= s;
  return size;
}

/// The row-major view of a whole buffer of `shape`.
View contiguous(ArrayRef<int64_t> shape) {
  View view;
  int64_t stride = 1;
  view.dims.resize(shape.size());
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    view.dims[d] = normalize({{shape[d], stride}});
    stride *= shape[d];
  }
  return view;
}

/// Splits each dimension of `view` by `groups` into the `shape` dims.
std::optional<View> expand(const View &view, ArrayRef<ReassociationIndices> groups,
                           ArrayRef<int64_t> shape) {
  View out;
  out.offset = view.offset;
  out.dims.resize(shape.size());
  for (auto [source, group] : llvm::enumerate(groups)) {
    // Innermost first: each result dim takes parts (or the inner piece of
    // one) until its size is covered.
    Parts parts = view.dims[source];
    for (int64_t i = group.size() - 1; i >= 0; --i) {
      int64_t need = shape[group[i]];
      Parts taken;
      while (need > 1) {
        if (parts.empty())
          return std::nullopt;
        auto [size, stride] = parts.back();
        if (need % size == 0) {
          taken.insert(taken.begin(), {size, stride});
          parts.pop_back();
          need /= size;
        } else if (size % need == 0) {
          taken.insert(taken.begin(), {need, stride});
          parts.back() = {size / need, stride * need};
          need = 1;
        } else {
          return std::nullopt;
        }
      }
      out.dims[group[i]] = normalize(taken);
    }
    if (!normalize(parts).empty())
      return std::nullopt;
  }
  return out;
}

/// Merges each group of dimensions of `view` into one.
View collapse(const View &view, ArrayRef<ReassociationIndices> groups) {
  View out;
  out.offset = view.offset;
  for (const ReassociationIndices &group : groups) {
    Parts parts;
    for (int64_t d : group)
      parts.append(view.dims[d]);
    out.dims.push_back(normalize(parts));
  }
  return out;
}

View permute(const View &view, ArrayRef<int64_t> permutation) {
  View out;
  out.offset = view.offset;
  for (int64_t d : permutation)
    out.dims.push_back(view.dims[d]);
  return out;
}

/// The view of `op`'s result from the view of its source.
std::optional<View> applyView(Operation *op, const View &view) {
  if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
    return expand(view, e.getReassociationIndices(),
                  e.getResultType().getShape());
  if (auto c = dyn_cast<tensor::CollapseShapeOp>(op))
    return collapse(view, c.getReassociationIndices());
  if (auto t = dyn_cast<linalg::TransposeOp>(op))
    return permute(view, t.getPermutation());
  auto slice = cast<tensor::ExtractSliceOp>(op);
  ArrayRef<int64_t> offsets = slice.getStaticOffsets(),
                    sizes = slice.getStaticSizes(),
                    strides = slice.getStaticStrides();
  if (ShapedType::isDynamicShape(offsets) || ShapedType::isDynamicShape(sizes) ||
      ShapedType::isDynamicShape(strides))
    return std::nullopt;
  View out;
  out.offset = view.offset;
  llvm::SmallBitVector dropped = slice.getDroppedDims();
  for (auto [d, parts] : llvm::enumerate(view.dims)) {
    int64_t full = sizeOf(parts);
    Parts sliced = parts;
    if (offsets[d] != 0 || sizes[d] != full || strides[d] != 1) {
      if (parts.size() > 1)
        return std::nullopt;
      int64_t stride = parts.empty() ? 0 : parts[0].second;
      out.offset += offsets[d] * stride;
      sliced = normalize({{sizes[d], stride * strides[d]}});
    }
    if (!dropped.test(d))
      out.dims.push_back(sliced);
  }
  return out;
}

bool isViewOp(Operation *op) {
  return isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
             linalg::TransposeOp, tensor::ExtractSliceOp>(op);
}

//===----------------------------------------------------------------------===//
// Matching
//===----------------------------------------------------------------------===//

/// The f32 value of a scalar constant (arith.constant, or an arith.truncf or
/// arith.extf of one, as torch-mlir casts its f64 scale).
std::optional<double> scalarConstant(Value v) {
  FloatAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return static_cast<double>(static_cast<float>(attr.getValueAsDouble()));
  Operation *def = v.getDefiningOp();
  if (def && isa<arith::TruncFOp, arith::ExtFOp>(def) &&
      matchPattern(def->getOperand(0), m_Constant(&attr)))
    return static_cast<double>(static_cast<float>(attr.getValueAsDouble()));
  return std::nullopt;
}

/// If `op` is an elementwise multiplication (or division) of its only input
/// by a constant scalar, that factor.
std::optional<double> scalarFactor(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return std::nullopt;
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Operation *def = yield.getOperand(0).getDefiningOp();
  if (!def || !isa<arith::MulFOp, arith::DivFOp>(def))
    return std::nullopt;
  Value in = body.getArgument(0);
  Value lhs = def->getOperand(0), rhs = def->getOperand(1);
  if (isa<arith::MulFOp>(def) && rhs == in)
    std::swap(lhs, rhs);
  if (lhs != in)
    return std::nullopt;
  std::optional<double> c = scalarConstant(rhs);
  if (!c)
    return std::nullopt;
  return isa<arith::MulFOp>(def) ? *c : 1.0 / *c;
}

/// What a traced operand reads: a strided view of `base`.
struct Traced {
  Value base;
  View view;
};

/// Traces `value` up through view ops and scalar multiplications (whose
/// factors go into `scale`) to the buffer it is a view of.
FailureOr<Traced> traceOperand(Value value, double &scale, std::string &why,
                               StringRef name) {
  SmallVector<Operation *> chain;
  while (Operation *def = value.getDefiningOp()) {
    if (isViewOp(def)) {
      chain.push_back(def);
      value = def->getOperand(0);
      continue;
    }
    if (std::optional<double> factor = scalarFactor(def)) {
      scale *= *factor;
      value = def->getOperand(0);
      continue;
    }
    break;
  }
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.hasStaticShape() || !type.getElementType().isF32()) {
    why = (name + " is not read from a static f32 tensor").str();
    return failure();
  }
  View view = contiguous(type.getShape());
  for (Operation *op : llvm::reverse(chain)) {
    std::optional<View> next = applyView(op, view);
    if (!next) {
      why = (name + " is not a strided view of one buffer (at " +
             op->getName().getStringRef() + ")")
                .str();
      return failure();
    }
    view = *next;
  }
  return Traced{value, view};
}

/// A traced [BH, rows, cols] view as a kernel operand, or why not.
std::string toOperand(const View &view, int64_t elements, StringRef name,
                      AttentionOperand &o) {
  if (view.dims.size() != 3)
    return (name + " is not three-dimensional").str();
  if (view.dims[1].size() > 1 || view.dims[2].size() > 1)
    return (name + "'s token or head-dim axis is not one strided axis of "
                   "its buffer")
        .str();
  o.offset = view.offset;
  o.batch.assign(view.dims[0].begin(), view.dims[0].end());
  o.rowStride = view.dims[1].empty() ? 0 : view.dims[1][0].second;
  o.colStride = view.dims[2].empty() ? 0 : view.dims[2][0].second;
  o.elements = elements;
  return "";
}

/// Whether `init` is a zero-filled tensor.
bool isZeroInit(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  if (fill)
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  return matchPattern(init, m_AnyZeroFloat());
}

/// A batch matmul's operands as [B, M, K] and [B, K, N]: whether each is
/// read transposed (its last two axes swapped) by the op's indexing maps,
/// or why it is not a plain batch matmul.
std::string matmulForm(linalg::BatchMatmulOp op, bool &lhsT, bool &rhsT) {
  lhsT = rhsT = false;
  auto type = [](Value v) { return cast<ShapedType>(v.getType()); };
  if (!type(op.getResult(0)).getElementType().isF32() ||
      !type(op.getDpsInputs()[0]).getElementType().isF32() ||
      !type(op.getDpsInputs()[1]).getElementType().isF32())
    return "its batch matmuls are not f32";
  if (!isZeroInit(op.getDpsInits()[0]))
    return "a batch matmul accumulates into a tensor that is not zero";
  if (!op.hasUserDefinedMaps())
    return "";
  MLIRContext *ctx = op.getContext();
  AffineExpr b, m, n, k;
  bindDims(ctx, b, m, n, k);
  auto map = [&](ArrayRef<AffineExpr> r) {
    return AffineMap::get(4, 0, r, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[2] != map({b, m, n}))
    return "a batch matmul has an unusual output map";
  if (maps[0] == map({b, k, m}))
    lhsT = true;
  else if (maps[0] != map({b, m, k}))
    return "a batch matmul broadcasts an operand";
  if (maps[1] == map({b, n, k}))
    rhsT = true;
  else if (maps[1] != map({b, k, n}))
    return "a batch matmul broadcasts an operand";
  return "";
}

/// Follows single-use reshapes (and, when `scale` is given, scalar
/// multiplications) up from `value`; the ops passed are appended to `ops`.
Value skipUp(Value value, double *scale, SmallVector<Operation *> &ops) {
  while (Operation *def = value.getDefiningOp()) {
    if (!def->getResult(0).hasOneUse())
      break;
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def)) {
      ops.push_back(def);
      value = def->getOperand(0);
      continue;
    }
    if (scale) {
      if (std::optional<double> f = scalarFactor(def)) {
        *scale *= *f;
        ops.push_back(def);
        value = def->getOperand(0);
        continue;
      }
    }
    break;
  }
  return value;
}

/// Everything the rewrite needs, once matched.
struct MatchedAttention {
  AttentionConfig config;
  Value qBase, kBase, vBase;
  Value result; ///< Replaced by the launch's output.
  SmallVector<Operation *> erase; ///< Dead once `result` is replaced.
};

std::string matchAttention(SoftmaxOp softmax, MatchedAttention &match) {
  AttentionConfig &c = match.config;
  auto softmaxType = softmax.getType();
  if (!softmaxType.getElementType().isF32())
    return "the softmax is not f32";
  if (!softmaxType.hasStaticShape())
    return "its shapes are not static";
  if (softmax.getNormalizedAxis() != softmaxType.getRank() - 1)
    return "the softmax is not along the last axis";

  // Scores: batch matmul -> reshapes / scalar multiplications -> softmax.
  c.scale = 1.0;
  SmallVector<Operation *> scoreOps;
  Value scores = skipUp(softmax.getInput(), &c.scale, scoreOps);
  auto qk = scores.getDefiningOp<linalg::BatchMatmulOp>();
  if (!qk) {
    Operation *def = scores.getDefiningOp();
    if (def && !scores.hasOneUse())
      return "the scores have users besides the softmax";
    if (isa_and_nonnull<linalg::GenericOp>(def))
      return "an elementwise op between q * k^T and the softmax is not a "
             "multiplication by a constant (a mask?)";
    return "the softmax's input is not a batch matmul of q and k^T";
  }
  if (!scores.hasOneUse())
    return "the scores have users besides the softmax";

  // Probabilities: softmax -> reshapes -> batch matmul with v.
  if (!softmax.getResult().hasOneUse())
    return "the probabilities have users besides the matmul with v";
  Operation *user = *softmax->getUsers().begin();
  SmallVector<Operation *> probabilityOps;
  Value probabilities = softmax.getResult();
  while (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(user) &&
         user->getResult(0).hasOneUse()) {
    probabilityOps.push_back(user);
    probabilities = user->getResult(0);
    user = *user->getUsers().begin();
  }
  auto pv = dyn_cast<linalg::BatchMatmulOp>(user);
  if (!pv || pv.getDpsInputs()[0] != probabilities)
    return "the probabilities are not the left operand of a batch matmul";

  bool qT, kT, pT, vT;
  if (std::string why = matmulForm(qk, qT, kT); !why.empty())
    return why;
  if (std::string why = matmulForm(pv, pT, vT); !why.empty())
    return why;
  if (qT || pT)
    return "a batch matmul reads its left operand transposed";
  auto qkType = cast<RankedTensorType>(qk.getResult(0).getType());
  auto pvType = cast<RankedTensorType>(pv.getResult(0).getType());
  if (!qkType.hasStaticShape() || !pvType.hasStaticShape())
    return "its shapes are not static";
  c.batchHeads = qkType.getDimSize(0);
  c.queries = qkType.getDimSize(1);
  c.keys = qkType.getDimSize(2);
  auto qType = cast<RankedTensorType>(qk.getDpsInputs()[0].getType());
  c.headDim = qType.getDimSize(2);
  if (pvType.getDimSize(2) != c.headDim)
    return "v's head dim " + std::to_string(pvType.getDimSize(2)) +
           " differs from q's " + std::to_string(c.headDim);
  // The softmax's last axis must be the key axis; the reshapes around it
  // keep the row-major order, so then rows match.
  if (softmaxType.getShape().back() != c.keys ||
      cast<RankedTensorType>(probabilities.getType()) != qkType)
    return "the softmax's axis is not the key axis";

  // q, k and v, traced to their buffers.
  std::string why;
  double vScale = 1.0;
  auto operand = [&](Value v, bool transposed, StringRef name,
                     AttentionOperand &o, Value &base) -> bool {
    FailureOr<Traced> traced =
        traceOperand(v, name == "v" ? vScale : c.scale, why, name);
    if (failed(traced))
      return false;
    View view = traced->view;
    if (transposed)
      view = permute(view, {0, 2, 1});
    base = traced->base;
    why = toOperand(view,
                    cast<RankedTensorType>(base.getType()).getNumElements(),
                    name, o);
    return why.empty();
  };
  // k^T is [BH, D, Tk] unless the matmul reads it transposed.
  if (!operand(qk.getDpsInputs()[0], false, "q", c.q, match.qBase) ||
      !operand(qk.getDpsInputs()[1], !kT, "k", c.k, match.kBase) ||
      !operand(pv.getDpsInputs()[1], vT, "v", c.v, match.vBase))
    return why;
  if (vScale != 1.0)
    return "v is multiplied by a constant";

  // The output: single-use reshapes and transposes after the matmul, traced
  // back from the last one's result through their inverses.
  SmallVector<Operation *> outputOps;
  Value result = pv.getResult(0);
  while (result.hasOneUse()) {
    Operation *next = *result.getUsers().begin();
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
             linalg::TransposeOp>(next) ||
        next->getOperand(0) != result)
      break;
    outputOps.push_back(next);
    result = next->getResult(0);
  }
  auto resultType = cast<RankedTensorType>(result.getType());
  View view = contiguous(resultType.getShape());
  for (Operation *op : llvm::reverse(outputOps)) {
    std::optional<View> previous;
    if (auto e = dyn_cast<tensor::ExpandShapeOp>(op))
      previous = collapse(view, e.getReassociationIndices());
    else if (auto cs = dyn_cast<tensor::CollapseShapeOp>(op))
      previous = expand(view, cs.getReassociationIndices(),
                        cs.getSrcType().getShape());
    else
      previous = permute(view, invertPermutationVector(
                                   cast<linalg::TransposeOp>(op)
                                       .getPermutation()));
    if (!previous)
      return "the output's layout is not a strided view of one buffer";
    view = *previous;
  }
  if (std::string why = toOperand(view, resultType.getNumElements(), "the output",
                                  c.out);
      !why.empty())
    return why;
  match.result = result;

  // Dead once the result is replaced, users first.
  llvm::append_range(match.erase, llvm::reverse(outputOps));
  match.erase.push_back(pv);
  llvm::append_range(match.erase, llvm::reverse(probabilityOps));
  match.erase.push_back(softmax);
  llvm::append_range(match.erase, scoreOps);
  match.erase.push_back(qk);
  return planAttention(c);
}

/// "2x16x3x2x32" for a shape.
std::string shapeString(Value v) {
  std::string s;
  for (auto [i, d] :
       llvm::enumerate(cast<RankedTensorType>(v.getType()).getShape()))
    s += (i ? "x" : "") + std::to_string(d);
  return s;
}

struct ConvertAttentionToGPUPass
    : hqdm::impl::ConvertAttentionToGPUPassBase<ConvertAttentionToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<SoftmaxOp> softmaxes;
    getOperation().walk([&](SoftmaxOp op) { softmaxes.push_back(op); });
    int64_t index = 0;
    for (SoftmaxOp softmax : softmaxes) {
      MatchedAttention match;
      match.config.name = "attention" + std::to_string(index);
      Location loc = softmax.getLoc();
      if (std::string why = matchAttention(softmax, match); !why.empty()) {
        remark::missed(loc, remark::RemarkOpts::name("AttentionNotFused")
                                .category("hqdm-lower-to-cuda"))
            << ("the attention around this softmax stays as separate "
                "kernels: " +
                why);
        continue;
      }
      ++index;
      const AttentionConfig &c = match.config;
      std::string layouts = ", q/k/v read from " + shapeString(match.qBase) +
                            ", output written as " +
                            shapeString(match.result);
      lower(match, loc);
      remark::passed(loc, remark::RemarkOpts::name("AttentionKernel")
                              .category("hqdm-lower-to-cuda"))
          << (c.name + ": " + std::to_string(c.batchHeads) +
              " heads x " + std::to_string(c.queries) + " queries x " +
              std::to_string(c.keys) + " keys, head dim " +
              std::to_string(c.headDim) + " (padded to " +
              std::to_string(c.headDimPad) + "), scale " +
              std::to_string(c.scale) +
              ", f16 mma.sync m16n8k16 with f32 accumulation, tile " +
              std::to_string(c.blockM) + " queries x " +
              std::to_string(c.blockN) + " keys" + layouts);
    }
  }

  /// Flattens `value` to one dimension.
  static Value flatten(OpBuilder &b, Location loc, Value value) {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getRank() == 1)
      return value;
    ReassociationIndices all;
    for (int64_t d = 0; d < type.getRank(); ++d)
      all.push_back(d);
    return tensor::CollapseShapeOp::create(
        b, loc, value, SmallVector<ReassociationIndices>{all});
  }

  void lower(MatchedAttention &match, Location loc) {
    MLIRContext *ctx = &getContext();
    const AttentionConfig &c = match.config;
    OpBuilder builder(ctx);
    if (!kernels) {
      ModuleOp module = getOperation();
      module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                      builder.getUnitAttr());
      kernels = module.lookupSymbol<gpu::GPUModuleOp>(kAttentionModule);
      if (!kernels) {
        builder.setInsertionPointToEnd(module.getBody());
        kernels = gpu::GPUModuleOp::create(builder, module.getLoc(),
                                           kAttentionModule);
      }
    }
    builder.setInsertionPointToEnd(kernels.getBody());
    gpu::GPUFuncOp kernel = buildAttentionKernel(builder, loc, c);

    // Host side: the distinct buffers, flattened, then the output.
    builder.setInsertionPointAfter(match.result.getDefiningOp());
    SmallVector<Value> inputs;
    SmallVector<int64_t> args;
    for (Value base : {match.qBase, match.kBase, match.vBase}) {
      auto *it = llvm::find(inputs, base);
      args.push_back(it - inputs.begin());
      if (it == inputs.end())
        inputs.push_back(base);
    }
    for (Value &input : inputs)
      input = flatten(builder, loc, input);
    args.push_back(inputs.size());
    auto resultType = cast<RankedTensorType>(match.result.getType());
    Value init = tensor::EmptyOp::create(
        builder, loc, ArrayRef<int64_t>{c.out.elements},
        builder.getF32Type());
    NamedAttrList launch;
    launch.append("kernel",
                  SymbolRefAttr::get(kernels.getSymNameAttr(),
                                     {FlatSymbolRefAttr::get(kernel)}));
    launch.append("grid", builder.getDenseI64ArrayAttr(
                              {c.queryBlocks(), c.batchHeads, 1}));
    launch.append("block", builder.getDenseI64ArrayAttr({kThreads, 1, 1}));
    launch.append("args", builder.getDenseI64ArrayAttr(args));
    auto gpuLaunch = GpuLaunchOp::create(
        builder, loc, TypeRange{init.getType()},
        builder.getStringAttr(c.name), inputs, ValueRange{init},
        builder.getArrayAttr({}),
        builder.getArrayAttr({launch.getDictionary(ctx)}));
    Value result = gpuLaunch.getResult(0);
    if (resultType.getRank() != 1) {
      ReassociationIndices all;
      for (int64_t d = 0; d < resultType.getRank(); ++d)
        all.push_back(d);
      result = tensor::ExpandShapeOp::create(
          builder, loc, resultType, result,
          SmallVector<ReassociationIndices>{all});
    }
    match.result.replaceAllUsesWith(result);
    for (Operation *op : match.erase)
      if (op->use_empty())
        op->erase();
  }

  gpu::GPUModuleOp kernels;
};

} // namespace
