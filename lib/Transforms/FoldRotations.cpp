//===- FoldRotations.cpp - Fold rotations into producer weights -*- C++ -*-===//
//
// An online rotation x * R in front of a layer disappears when the value x is
// computed by a linear layer through ops that commute with R: the producer
// then emits x * R directly (its output rows are rotated, W <- H^T W,
// b <- H^T b).
//
// Legality is decided on explicit element maps, which keeps it exact for any
// chain of static reshapes, transposes and slices. The walk starts with the
// rotation as the consumer needs it: a list of blocks, each the ordered flat
// indices of B elements of x that H_B mixes. Each op on the way up maps the
// blocks to its operand:
//   * collapse_shape / expand_shape keep row-major flat indices;
//   * transpose (linalg.transpose or a permuting copy generic) and
//     extract_slice map coordinates;
//   * a (batch) matmul's result blocks along the last axis become blocks of
//     its right operand when every row of the left operand sees the same
//     blocks: (P * V) * R = P * (V * R) (attention mixes tokens, not
//     features);
// and the producer linear is legal when every output row carries the same
// blocks of output features. Anything else (a nonlinearity, a norm, DiT's
// modulate, a value also read without the rotation) keeps the rotation
// online, and the pass says why.
//
//===----------------------------------------------------------------------===//

#include "LayerUtils.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Support/Hadamard.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"

#include <map>

namespace mlir::hqdm {
#define GEN_PASS_DEF_FOLDROTATIONSPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

namespace {

/// Row-major strides of a static shape.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Converts between flat indices and coordinates of one static shape.
struct Indexer {
  explicit Indexer(ArrayRef<int64_t> shape)
      : shape(shape), strides(stridesOf(shape)) {}

  void coords(int64_t flat, SmallVectorImpl<int64_t> &out) const {
    out.resize(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
      out[d] = flat / strides[d];
      flat %= strides[d];
    }
  }
  int64_t flat(ArrayRef<int64_t> coords) const {
    int64_t f = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      f += coords[d] * strides[d];
    return f;
  }

  SmallVector<int64_t> shape;
  SmallVector<int64_t> strides;
};

/// The rotation that must hold on `value`: `order` holds the flat indices of
/// the rotated elements, one block of `block` consecutive entries per
/// Hadamard block, each block in the order H_B is applied.
struct Requirement {
  Value value;
  std::vector<int64_t> order;
};

/// Where the walk ended.
struct WalkOutcome {
  /// The producer layer, when the fold is legal.
  LinearOp producer;
  /// Blocks of producer output features (each `block` long, in order).
  std::vector<int64_t> featureBlocks;
  /// The ops passed through, for the remark.
  SmallVector<std::string> path;
  /// Why the fold is illegal (empty when legal).
  std::string why;
};

RankedTensorType staticType(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.hasStaticShape() ? type : RankedTensorType();
}

/// Describes an op for reasons: its kind, and the layer name if it has one.
std::string describe(Operation *op) {
  std::string text = op->getName().getStringRef().str();
  if (auto name = op->getAttrOfType<StringAttr>("name"))
    text += " '" + name.str() + "'";
  return text;
}

/// Why an op does not let a feature rotation through.
std::string blockedBy(Operation *op) {
  if (isa<GeluOp, SiluOp, SoftmaxOp>(op))
    return describe(op) + ", a nonlinearity, does not commute with a rotation";
  if (isa<LayerNormOp, GroupNormOp>(op))
    return describe(op) + ", a normalization, does not commute with a rotation "
                          "(it would first have to become RMS-only)";
  if (isa<ModulateOp>(op))
    return describe(op) + ", a per-sample scaling computed at run time, does "
                          "not commute with a rotation";
  if (isa<Conv2DOp>(op))
    return "its producer is " + describe(op) +
           " (only linear layers are fold targets)";
  if (isa<QLinearOp, QConv2DOp>(op))
    return "its producer " + describe(op) + " is already quantized";
  return "no rule moves a rotation through " + describe(op);
}

/// Is `init` a fill (or splat constant) of zero?
bool isZeroInit(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  return matchPattern(init, m_AnyZeroFloat());
}

class Walker {
public:
  Walker(int64_t block) : block(block) {}

  WalkOutcome run(Requirement req, Operation *consumer) {
    WalkOutcome outcome;
    Operation *user = consumer;
    while (true) {
      Value value = req.value;
      if (!staticType(value)) {
        outcome.why = "a value on the way has a dynamic shape";
        return outcome;
      }
      Operation *def = value.getDefiningOp();
      if (!def) {
        outcome.why = "its input is a function argument";
        return outcome;
      }
      if (std::string why = checkOtherUsers(value, user, req); !why.empty()) {
        outcome.why = why;
        return outcome;
      }
      if (auto linear = dyn_cast<LinearOp>(def)) {
        outcome.why = finishAtLinear(linear, req, outcome.featureBlocks);
        if (outcome.why.empty())
          outcome.producer = linear;
        return outcome;
      }
      std::string why;
      std::optional<Requirement> next = step(def, req, why);
      if (!next) {
        outcome.why = why.empty() ? blockedBy(def) : why;
        return outcome;
      }
      outcome.path.push_back(def->getName().getStringRef().str());
      user = def;
      req = std::move(*next);
    }
  }

private:
  /// Every user of `value` but `user` must read elements the rotation does
  /// not touch: only sibling extract_slices of disjoint regions qualify.
  std::string checkOtherUsers(Value value, Operation *user,
                              const Requirement &req) {
    for (Operation *other : value.getUsers()) {
      if (other == user)
        continue;
      auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
      auto otherSlice = dyn_cast<tensor::ExtractSliceOp>(other);
      if (slice && otherSlice && slicesDisjoint(slice, otherSlice))
        continue;
      return "the value it rotates is also read by " + describe(other) +
             ", which does not take the rotation";
    }
    return "";
  }

  static bool slicesDisjoint(tensor::ExtractSliceOp a,
                             tensor::ExtractSliceOp b) {
    if (!a.hasUnitStride() || !b.hasUnitStride())
      return false;
    ArrayRef<int64_t> ao = a.getStaticOffsets(), as = a.getStaticSizes();
    ArrayRef<int64_t> bo = b.getStaticOffsets(), bs = b.getStaticSizes();
    for (size_t d = 0; d < ao.size(); ++d) {
      if (ShapedType::isDynamic(ao[d]) || ShapedType::isDynamic(as[d]) ||
          ShapedType::isDynamic(bo[d]) || ShapedType::isDynamic(bs[d]))
        return false;
      if (ao[d] + as[d] <= bo[d] || bo[d] + bs[d] <= ao[d])
        return true;
    }
    return false;
  }

  /// Maps the requirement on `def`'s result to one of its operands.
  std::optional<Requirement> step(Operation *def, const Requirement &req,
                                  std::string &why) {
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp>(
            def))
      return Requirement{def->getOperand(0), req.order};
    if (auto transpose = dyn_cast<linalg::TransposeOp>(def))
      return permute(transpose.getInput(), req, transpose.getPermutation());
    if (auto generic = dyn_cast<linalg::GenericOp>(def))
      if (std::optional<SmallVector<int64_t>> perm =
              linalg::isaTransposeOpInterface(generic))
        return permute(generic.getDpsInputs()[0], req, *perm);
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def))
      return throughSlice(slice, req, why);
    if (isa<linalg::BatchMatmulOp, linalg::MatmulOp>(def))
      return throughMatmul(cast<linalg::LinalgOp>(def), req, why);
    return std::nullopt;
  }

  /// result dim i = source dim perm[i].
  std::optional<Requirement> permute(Value source, const Requirement &req,
                                     ArrayRef<int64_t> perm) {
    Indexer result(staticType(req.value).getShape());
    Indexer input(staticType(source).getShape());
    Requirement next{source, {}};
    next.order.reserve(req.order.size());
    SmallVector<int64_t> rc, sc(perm.size());
    for (int64_t f : req.order) {
      result.coords(f, rc);
      for (size_t i = 0; i < perm.size(); ++i)
        sc[perm[i]] = rc[i];
      next.order.push_back(input.flat(sc));
    }
    return next;
  }

  std::optional<Requirement> throughSlice(tensor::ExtractSliceOp slice,
                                          const Requirement &req,
                                          std::string &why) {
    RankedTensorType sourceType = staticType(slice.getSource());
    if (!sourceType || ShapedType::isDynamicShape(slice.getStaticOffsets()) ||
        ShapedType::isDynamicShape(slice.getStaticStrides())) {
      why = "a slice on the way has dynamic offsets or sizes";
      return std::nullopt;
    }
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    Indexer result(staticType(req.value).getShape());
    Indexer source(sourceType.getShape());
    ArrayRef<int64_t> offsets = slice.getStaticOffsets();
    ArrayRef<int64_t> strides = slice.getStaticStrides();
    Requirement next{slice.getSource(), {}};
    next.order.reserve(req.order.size());
    SmallVector<int64_t> rc, sc(sourceType.getRank());
    for (int64_t f : req.order) {
      result.coords(f, rc);
      for (int64_t d = 0, r = 0; d < sourceType.getRank(); ++d) {
        int64_t index = dropped.test(d) ? 0 : rc[r++];
        sc[d] = offsets[d] + index * strides[d];
      }
      next.order.push_back(source.flat(sc));
    }
    return next;
  }

  /// Groups the blocks of a [rows..., cols] requirement by row: each block
  /// must lie in one row (all coordinates but the last equal). Returns, per
  /// row (flat over the leading dims), the sorted list of column blocks.
  bool blocksByRow(ArrayRef<int64_t> shape, ArrayRef<int64_t> order,
                   std::map<int64_t, std::vector<std::vector<int64_t>>> &rows,
                   std::string &why) {
    int64_t cols = shape.back();
    for (size_t start = 0; start < order.size(); start += block) {
      int64_t row = order[start] / cols;
      std::vector<int64_t> columns;
      for (int64_t t = 0; t < block; ++t) {
        int64_t f = order[start + t];
        if (f / cols != row) {
          why = "a rotated block would span several rows of a matmul or "
                "linear output (the blocks cross a head or token boundary)";
          return false;
        }
        columns.push_back(f % cols);
      }
      rows[row].push_back(std::move(columns));
    }
    for (auto &entry : rows)
      llvm::sort(entry.second);
    return true;
  }

  std::optional<Requirement> throughMatmul(linalg::LinalgOp matmul,
                                           const Requirement &req,
                                           std::string &why) {
    Value rhs = matmul.getDpsInputs()[1];
    RankedTensorType rhsType = staticType(rhs);
    if (!rhsType)
      return std::nullopt;
    if (!llvm::equal(matmul.getIndexingMapsArray(),
                     isa<linalg::MatmulOp>(matmul)
                         ? linalg::MatmulOp::getDefaultIndexingMaps(
                               matmul.getContext())
                         : linalg::BatchMatmulOp::getDefaultIndexingMaps(
                               matmul.getContext()))) {
      why = "a matmul on the way has non-default indexing maps";
      return std::nullopt;
    }
    if (!isZeroInit(matmul.getDpsInits()[0])) {
      why = "a matmul on the way accumulates into a non-zero init";
      return std::nullopt;
    }
    ArrayRef<int64_t> shape = staticType(req.value).getShape();
    std::map<int64_t, std::vector<std::vector<int64_t>>> rows;
    if (!blocksByRow(shape, req.order, rows, why))
      return std::nullopt;
    // Rows are (batch, m); every m of a batch must carry the same blocks.
    int64_t m = shape[shape.size() - 2];
    int64_t batches = shape.size() == 3 ? shape[0] : 1;
    for (int64_t b = 0; b < batches; ++b) {
      auto first = rows.find(b * m);
      for (int64_t i = 0; i < m; ++i) {
        auto it = rows.find(b * m + i);
        bool firstEmpty = first == rows.end(), empty = it == rows.end();
        if (firstEmpty != empty || (!empty && it->second != first->second)) {
          why = "the rows of a matmul result are rotated differently, so the "
                "rotation cannot move to its right operand";
          return std::nullopt;
        }
      }
    }
    // V[b, k, :] gets the blocks of its batch, for every k.
    int64_t k = rhsType.getShape()[rhsType.getRank() - 2];
    int64_t n = rhsType.getShape().back();
    Requirement next{rhs, {}};
    for (int64_t b = 0; b < batches; ++b) {
      auto it = rows.find(b * m);
      if (it == rows.end())
        continue;
      for (int64_t kk = 0; kk < k; ++kk)
        for (const std::vector<int64_t> &columns : it->second)
          for (int64_t c : columns)
            next.order.push_back((b * k + kk) * n + c);
    }
    return next;
  }

  /// The producer is legal when every output row carries the same blocks.
  std::string finishAtLinear(LinearOp linear, const Requirement &req,
                             std::vector<int64_t> &featureBlocks) {
    std::string why;
    ArrayRef<int64_t> shape = staticType(req.value).getShape();
    std::map<int64_t, std::vector<std::vector<int64_t>>> rows;
    if (!blocksByRow(shape, req.order, rows, why))
      return why;
    int64_t numRows = 1;
    for (int64_t d : shape.drop_back())
      numRows *= d;
    if (int64_t(rows.size()) != numRows)
      return "only some tokens of " + describe(linear) +
             "'s output would be rotated";
    const auto &first = rows.begin()->second;
    for (const auto &entry : rows)
      if (entry.second != first)
        return "the tokens of " + describe(linear) +
               "'s output would be rotated differently";
    for (const std::vector<int64_t> &columns : first)
      featureBlocks.insert(featureBlocks.end(), columns.begin(), columns.end());
    std::string weightWhy;
    if (failed(checkFloatConstant(linear.getWeight(), weightWhy)))
      return "the weight of " + describe(linear) + " is not usable: " +
             weightWhy;
    if (Value bias = linear.getBias();
        bias && failed(checkFloatConstant(bias, weightWhy)))
      return "the bias of " + describe(linear) + " is not usable: " + weightWhy;
    return "";
  }

  int64_t block;
};

/// The requirement an `hqdm.hadamard` op states on its input: blocks of
/// `block` consecutive elements along `axis`.
Requirement requirementOf(HadamardOp op) {
  RankedTensorType type = staticType(op.getInput());
  Requirement req{op.getInput(), {}};
  int64_t axis = op.getNormalizedAxis();
  int64_t block = op.getSpec().getBlock();
  Indexer indexer(type.getShape());
  int64_t stride = indexer.strides[axis];
  req.order.reserve(type.getNumElements());
  SmallVector<int64_t> coords;
  for (int64_t f = 0; f < type.getNumElements(); ++f) {
    indexer.coords(f, coords);
    if (coords[axis] % block != 0)
      continue;
    for (int64_t t = 0; t < block; ++t)
      req.order.push_back(f + t * stride);
  }
  return req;
}

/// Rotates the rows `blocks` of a row-major [rows, cols] matrix:
/// rows(F) <- H^T rows(F) for every block F, i.e. each column restricted to
/// F is multiplied by H from the right.
void rotateRows(std::vector<double> &values, int64_t cols,
                ArrayRef<int64_t> blocks, int64_t block) {
  std::vector<double> column(block);
  for (size_t start = 0; start < blocks.size(); start += block) {
    for (int64_t c = 0; c < cols; ++c) {
      for (int64_t t = 0; t < block; ++t)
        column[t] = values[blocks[start + t] * cols + c];
      llvm::cantFail(fastHadamardTransform(column, block));
      for (int64_t t = 0; t < block; ++t)
        values[blocks[start + t] * cols + c] = column[t];
    }
  }
}

struct FoldRotationsPass
    : hqdm::impl::FoldRotationsPassBase<FoldRotationsPass> {
  using FoldRotationsPassBase::FoldRotationsPassBase;

  void runOnOperation() override {
    SmallVector<HadamardOp> rotations;
    getOperation().walk([&](HadamardOp op) {
      if (op.getSpec().getNormalized() &&
          llvm::any_of(op->getUsers(), [](Operation *user) {
            return FloatLayer::get(user) &&
                   FloatLayer::get(user).getInputRotation();
          }))
        rotations.push_back(op);
    });
    for (HadamardOp op : rotations)
      fold(op);
  }

  /// The names of the layers reading the rotation.
  static std::string consumers(HadamardOp op) {
    std::string names;
    for (Operation *user : op->getUsers()) {
      if (!names.empty())
        names += ", ";
      names += "'" + FloatLayer::get(user).getName() + "'";
    }
    return names;
  }

  void keepOnline(HadamardOp op, const std::string &why) {
    ++numOnline;
    remark::missed(op.getLoc(), remarkOpts("hqdm-fold", "KeptOnline"))
        << concat("input rotation of ", consumers(op), " stays online: ", why);
  }

  void fold(HadamardOp op) {
    for (Operation *user : op->getUsers())
      if (!FloatLayer::get(user) || !FloatLayer::get(user).getInputRotation())
        return keepOnline(op, "the rotated value is also read by " +
                                  describe(user));
    if (!producer)
      return keepOnline(op, "producer folding is off (producer=false)");
    if (!staticType(op.getInput()))
      return keepOnline(op, "its input has a dynamic shape");

    int64_t block = op.getSpec().getBlock();
    Walker walker(block);
    WalkOutcome outcome = walker.run(requirementOf(op), op);
    if (!outcome.why.empty())
      return keepOnline(op, outcome.why);

    // Rotate the producer's output rows.
    LinearOp linear = outcome.producer;
    std::string why;
    auto weightType = cast<RankedTensorType>(linear.getWeight().getType());
    std::vector<double> weight = *readFloatConstant(linear.getWeight(), why);
    rotateRows(weight, weightType.getDimSize(1), outcome.featureBlocks, block);
    OpBuilder builder(linear);
    auto newWeight = arith::ConstantOp::create(
        builder, linear.getLoc(), makeFloatConstant(weightType, weight));
    linear.getWeightMutable().assign(newWeight);
    if (Value bias = linear.getBias()) {
      auto biasType = cast<RankedTensorType>(bias.getType());
      std::vector<double> values = *readFloatConstant(bias, why);
      rotateRows(values, 1, outcome.featureBlocks, block);
      auto newBias = arith::ConstantOp::create(
          builder, linear.getLoc(), makeFloatConstant(biasType, values));
      linear.getBiasMutable().assign(newBias);
    }

    ++numFolded;
    std::string path = outcome.path.empty()
                           ? std::string("directly")
                           : "through " + llvm::join(outcome.path, ", ");
    remark::passed(op.getLoc(), remarkOpts("hqdm-fold", "Folded"))
        << concat("input rotation of ", consumers(op),
                  " folded into the output of '",
                  FloatLayer::get(linear).getName(), "' (", path, ")");
    op.getResult().replaceAllUsesWith(op.getInput());
    op.erase();
  }
};

} // namespace
