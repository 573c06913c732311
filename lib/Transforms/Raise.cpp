//===- Raise.cpp - Raise torch-mlir linalg to hqdm layers -------*- C++ -*-===//
//
// This file implements `hqdm-raise`, which recognises the linalg-on-tensors
// that torch-mlir emits for PyTorch layers (nn.Linear, nn.Conv2d, GELU, SiLU,
// LayerNorm, GroupNorm, softmax and DiT's modulate) and replaces each with
// one hqdm float layer op.
//
// The matchers check dataflow, not op names: which tensor each
// linalg.generic reads and through which indexing map (`Read`), and what its
// body computes, put in a normal form (`Poly`) in which reassociated,
// commuted or distributed arithmetic compares equal. A chain that only looks
// like a layer (a different constant, another reduced dim, a non-zero
// accumulator) is left as it is: raising it would be a silent wrong answer.
//
// After raising, every layer gets a unique `name` (from a NameLoc, else
// `<kind>_<index>`), a statistic is counted per kind, and optimisation
// remarks (category `hqdm-raise`) say what was raised and which near misses
// were left alone.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Remarks.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <array>
#include <cmath>
#include <functional>
#include <memory>

namespace mlir::hqdm {
#define GEN_PASS_DEF_RAISEPASS
#include "hqdm/Transforms/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

/// The remark category. MLIR 22 matches `--remarks-filter` against the
/// whole category, so `--remarks-filter='hqdm.*'` shows these.
constexpr StringLiteral kRemarkCategory = "hqdm-raise";

static remark::RemarkOpts remarkOpts(StringRef name) {
  return remark::RemarkOpts::name(name).category(kRemarkCategory);
}

//===----------------------------------------------------------------------===//
// Scalar constants
//===----------------------------------------------------------------------===//

/// Rounds `value` to the precision of the float type `type`.
static double roundTo(double value, Type type) {
  auto floatType = dyn_cast<FloatType>(type);
  if (!floatType)
    return value;
  bool losesInfo;
  APFloat rounded(value);
  rounded.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                  &losesInfo);
  return rounded.convertToDouble();
}

/// The value of a scalar constant, looking through the casts and the sqrt
/// that torch-mlir leaves on constants (an f64 epsilon that f32 cannot hold
/// exactly stays an `arith.truncf` of the f64 constant).
static std::optional<double> getScalarConstant(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
    if (auto attr = dyn_cast<FloatAttr>(constant.getValue()))
      return attr.getValueAsDouble();
    if (auto attr = dyn_cast<IntegerAttr>(constant.getValue()))
      if (!attr.getType().isIndex())
        return static_cast<double>(attr.getValue().getSExtValue());
    return std::nullopt;
  }
  if (!isa<arith::TruncFOp, arith::ExtFOp, arith::SIToFPOp, math::SqrtOp>(op))
    return std::nullopt;
  std::optional<double> operand = getScalarConstant(op->getOperand(0));
  if (!operand)
    return std::nullopt;
  double result = isa<math::SqrtOp>(op) ? std::sqrt(*operand) : *operand;
  return roundTo(result, op->getResult(0).getType());
}

/// The value of a 0-d float constant tensor (torch-mlir passes some scalars
/// to generics that way, e.g. bert-tiny's attention scale).
static std::optional<double> getScalarTensorConstant(Value tensor) {
  DenseElementsAttr attr;
  if (!matchPattern(tensor, m_Constant(&attr)) ||
      attr.getType().getRank() != 0 || !isa<FloatType>(attr.getElementType()))
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

/// Whether `a` and `b` agree to a relative `tolerance` (constants went
/// through f32, so torch-mlir's 1/1.41421354 is not exactly sqrt(1/2)).
static bool approxEqual(double a, double b, double tolerance = 1e-6) {
  return std::abs(a - b) <=
         tolerance * std::max({std::abs(a), std::abs(b), 1e-30});
}

//===----------------------------------------------------------------------===//
// Poly: the normal form of a generic's body
//===----------------------------------------------------------------------===//

namespace {
struct Poly;

/// One factor of a `Term`: an element read from a tensor (a leaf, numbered
/// by the `ExprBuilder`) or a unary function of a sub-expression.
struct Factor {
  enum class Kind { Leaf, Exp, Erf, Tanh, Rsqrt, Reciprocal };
  Kind kind;
  unsigned leaf = 0;
  std::shared_ptr<const Poly> arg;
};

/// `coefficient * factors[0] * factors[1] * ...`.
struct Term {
  double coefficient;
  SmallVector<Factor, 3> factors;
};
} // namespace

static bool equal(const Poly &a, const Poly &b);

static bool equal(const Factor &a, const Factor &b) {
  if (a.kind != b.kind)
    return false;
  if (a.kind == Factor::Kind::Leaf)
    return a.leaf == b.leaf;
  return equal(*a.arg, *b.arg);
}

/// Whether `a` and `b` hold the same factors, in any order.
static bool sameFactors(ArrayRef<Factor> a, ArrayRef<Factor> b) {
  if (a.size() != b.size())
    return false;
  SmallVector<bool, 4> used(b.size(), false);
  for (const Factor &factor : a) {
    bool found = false;
    for (size_t i = 0; i < b.size() && !found; ++i)
      if (!used[i] && equal(factor, b[i]))
        used[i] = found = true;
    if (!found)
      return false;
  }
  return true;
}

namespace {
/// A scalar expression as a sum of terms. Products are multiplied out and
/// like terms collected, so that two bodies computing the same polynomial
/// in their inputs compare equal whatever the order and grouping of their
/// ops; coefficients compare to a relative tolerance.
struct Poly {
  SmallVector<Term, 2> terms;

  static Poly constant(double value) {
    Poly poly;
    poly.add(Term{value, {}});
    return poly;
  }
  static Poly leaf(unsigned id) {
    return {{Term{1.0, {Factor{Factor::Kind::Leaf, id, nullptr}}}}};
  }
  static Poly apply(Factor::Kind kind, Poly arg) {
    return {{Term{1.0, {Factor{kind, 0, std::make_shared<Poly>(arg)}}}}};
  }

  Poly operator+(const Poly &other) const {
    Poly sum = *this;
    for (const Term &term : other.terms)
      sum.add(term);
    return sum;
  }
  Poly operator*(const Poly &other) const {
    Poly product;
    for (const Term &a : terms)
      for (const Term &b : other.terms) {
        Term term{a.coefficient * b.coefficient, a.factors};
        llvm::append_range(term.factors, b.factors);
        product.add(term);
      }
    return product;
  }
  Poly operator-(const Poly &other) const {
    return *this + other * constant(-1.0);
  }

  /// The value of a constant expression.
  std::optional<double> getConstant() const {
    if (terms.empty())
      return 0.0;
    if (terms.size() == 1 && terms.front().factors.empty())
      return terms.front().coefficient;
    return std::nullopt;
  }
  /// The coefficient of the term with the factors of `monomial` (one term).
  std::optional<double> getCoefficient(const Poly &monomial) const {
    for (const Term &term : terms)
      if (sameFactors(term.factors, monomial.terms.front().factors))
        return term.coefficient;
    return std::nullopt;
  }
  /// The first factor of kind `kind` in any term.
  const Factor *findFactor(Factor::Kind kind) const {
    for (const Term &term : terms)
      for (const Factor &factor : term.factors)
        if (factor.kind == kind)
          return &factor;
    return nullptr;
  }
  /// The argument of `f(arg)` for a single factor of kind `kind`.
  const Poly *getApplied(Factor::Kind kind) const {
    if (terms.size() != 1 || terms.front().factors.size() != 1 ||
        !approxEqual(terms.front().coefficient, 1.0) ||
        terms.front().factors.front().kind != kind)
      return nullptr;
    return terms.front().factors.front().arg.get();
  }

private:
  /// Adds `term`, collecting it with a like term.
  void add(const Term &term) {
    for (auto *it = terms.begin(); it != terms.end(); ++it) {
      if (!sameFactors(it->factors, term.factors))
        continue;
      it->coefficient += term.coefficient;
      if (it->coefficient == 0.0)
        terms.erase(it);
      return;
    }
    if (term.coefficient != 0.0)
      terms.push_back(term);
  }
};
} // namespace

static bool equal(const Poly &a, const Poly &b) {
  if (a.terms.size() != b.terms.size())
    return false;
  SmallVector<bool, 4> used(b.terms.size(), false);
  for (const Term &term : a.terms) {
    bool found = false;
    for (size_t i = 0; i < b.terms.size() && !found; ++i)
      if (!used[i] && approxEqual(term.coefficient, b.terms[i].coefficient) &&
          sameFactors(term.factors, b.terms[i].factors))
        used[i] = found = true;
    if (!found)
      return false;
  }
  return true;
}

static Poly operator*(double c, const Poly &p) { return Poly::constant(c) * p; }
static Poly operator+(double c, const Poly &p) { return Poly::constant(c) + p; }
static Poly exp(const Poly &p) { return Poly::apply(Factor::Kind::Exp, p); }
static Poly erf(const Poly &p) { return Poly::apply(Factor::Kind::Erf, p); }
static Poly tanh(const Poly &p) { return Poly::apply(Factor::Kind::Tanh, p); }
static Poly reciprocal(const Poly &p) {
  return Poly::apply(Factor::Kind::Reciprocal, p);
}

//===----------------------------------------------------------------------===//
// Reads: which tensor element a generic's body sees
//===----------------------------------------------------------------------===//

/// Whether `op` (tensor.expand_shape or tensor.collapse_shape) only adds or
/// drops dims of size 1, which keeps every element's position among the
/// other dims.
static bool isUnitReshape(Operation *op) {
  auto isUnitGroup = [](ArrayRef<int64_t> shape, ReassociationIndices group) {
    return llvm::count_if(group, [&](int64_t d) { return shape[d] != 1; }) <= 1;
  };
  auto check = [&](ArrayRef<int64_t> expandedShape,
                   SmallVector<ReassociationIndices> groups) {
    return llvm::all_of(groups, [&](const ReassociationIndices &group) {
      return isUnitGroup(expandedShape, group);
    });
  };
  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op))
    return check(expand.getResultType().getShape(),
                 expand.getReassociationIndices());
  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op))
    return check(collapse.getSrcType().getShape(),
                 collapse.getReassociationIndices());
  return false;
}

/// `value`, or the source of the unit reshapes (see isUnitReshape) that
/// produce it.
static Value stripUnitReshapes(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    if (!isUnitReshape(op))
      break;
    value = op->getOperand(0);
  }
  return value;
}

namespace {
/// An element read inside a linalg.generic: `tensor[map(loops)]`, where the
/// loops are those of the generic being matched. Reshapes that only add or
/// drop unit dims are looked through (the map then indexes their source).
struct Read {
  Value tensor;
  AffineMap map;

  ArrayRef<int64_t> getShape() const {
    return cast<RankedTensorType>(tensor.getType()).getShape();
  }

  /// Whether the read visits the tensor's dims of size other than 1, in
  /// order, at exactly `loops` (ignoring loops of range 1). So `loops` =
  /// all loops is an elementwise read, a prefix a row of a reduction, one
  /// loop a vector broadcast along the others.
  bool readsOnly(ArrayRef<unsigned> loops, ArrayRef<int64_t> loopRanges) const {
    SmallVector<unsigned> expected, actual;
    for (unsigned loop : loops)
      if (loopRanges[loop] != 1)
        expected.push_back(loop);
    ArrayRef<int64_t> shape = getShape();
    for (auto [dim, expr] : llvm::enumerate(map.getResults())) {
      if (shape[dim] == 1)
        continue;
      auto dimExpr = dyn_cast<AffineDimExpr>(expr);
      if (!dimExpr)
        return false;
      if (loopRanges[dimExpr.getPosition()] != 1)
        actual.push_back(dimExpr.getPosition());
    }
    return expected == actual;
  }
};
} // namespace

/// The read of `tensor[map(loops)]` expressed on the source of the unit
/// reshapes producing `tensor`.
static Read throughUnitReshapes(Value tensor, AffineMap map) {
  MLIRContext *ctx = map.getContext();
  AffineExpr zero = getAffineConstantExpr(0, ctx);
  while (Operation *op = tensor.getDefiningOp()) {
    if (!isUnitReshape(op))
      break;
    SmallVector<AffineExpr> exprs;
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      // Each source dim is one group of result dims, at most one of which
      // is not of size 1: the source index is that dim's index.
      ArrayRef<int64_t> shape = expand.getResultType().getShape();
      for (const ReassociationIndices &group :
           expand.getReassociationIndices()) {
        const int64_t *it =
            llvm::find_if(group, [&](int64_t d) { return shape[d] != 1; });
        exprs.push_back(it == group.end() ? zero : map.getResult(*it));
      }
    } else {
      // Each result dim is one group of source dims: the one not of size 1
      // takes the result index, the others index 0.
      auto collapse = cast<tensor::CollapseShapeOp>(op);
      ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
      exprs.assign(shape.size(), zero);
      for (auto [resultDim, group] :
           llvm::enumerate(collapse.getReassociationIndices()))
        for (int64_t d : group)
          if (shape[d] != 1)
            exprs[d] = map.getResult(resultDim);
    }
    map = AffineMap::get(map.getNumDims(), 0, exprs, ctx);
    tensor = op->getOperand(0);
  }
  return {tensor, map};
}

/// `map` with the results that can only be 0 (on a tensor dim of size 1, or
/// a loop of range 1) set to the constant 0, so that the ways torch-mlir
/// indexes unit dims (`d0` or `0`) compare equal.
static AffineMap canonicalizeRead(AffineMap map, ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> loopRanges) {
  SmallVector<AffineExpr> exprs;
  for (auto [dim, expr] : llvm::enumerate(map.getResults())) {
    auto dimExpr = dyn_cast<AffineDimExpr>(expr);
    bool unit =
        shape[dim] == 1 || (dimExpr && loopRanges[dimExpr.getPosition()] == 1);
    exprs.push_back(unit ? getAffineConstantExpr(0, map.getContext()) : expr);
  }
  return AffineMap::get(map.getNumDims(), 0, exprs, map.getContext());
}

/// The generic computing `value` if it computes it elementwise: all loops
/// parallel, one result written through the identity map (so its loops are
/// the result's dims).
static linalg::GenericOp getElementwiseProducer(Value value) {
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic->getNumResults() != 1 ||
      generic.getNumReductionLoops() != 0 ||
      !generic.getIndexingMapMatchingResult(cast<OpResult>(value)).isIdentity())
    return nullptr;
  return generic;
}

namespace {
/// Builds the `Poly` that a linalg.generic computes for its result, in
/// terms of the reads of its body (the leaves, see getRead). Reads of a
/// 0-d constant become constants; reads of an elementwise generic that
/// `inlineProducer` accepts are replaced by what that generic computes,
/// its reads composed into the root's loops.
class ExprBuilder {
public:
  using InlinePredicate =
      std::function<bool(linalg::GenericOp producer, AffineMap read)>;

  explicit ExprBuilder(linalg::GenericOp root,
                       InlinePredicate inlineProducer = nullptr)
      : root(root), resultType(root->getResult(0).getType()),
        loopRanges(root.getStaticLoopRanges()),
        inlineProducer(std::move(inlineProducer)) {}

  FailureOr<Poly> build() {
    return buildBody(root,
                     AffineMap::getMultiDimIdentityMap(root.getNumLoops(),
                                                       root.getContext()),
                     /*depth=*/0);
  }

  ArrayRef<int64_t> getLoopRanges() const { return loopRanges; }
  unsigned getNumLeaves() const { return reads.size(); }
  const Read &getRead(unsigned leaf) const { return reads[leaf]; }
  /// Whether leaf `leaf` reads its tensor at `loops` (see Read::readsOnly).
  bool readsOnly(unsigned leaf, ArrayRef<unsigned> loops) const {
    return reads[leaf].readsOnly(loops, loopRanges);
  }
  /// Whether leaf `leaf` reads a tensor of the root's result shape
  /// elementwise.
  bool readsAll(unsigned leaf) const {
    return reads[leaf].tensor.getType() == resultType &&
           readsOnly(leaf, llvm::to_vector(
                               llvm::seq<unsigned>(0, loopRanges.size())));
  }

private:
  /// Bodies are small; this bounds the work on anything else.
  static constexpr size_t kMaxTerms = 32;
  static constexpr unsigned kMaxDepth = 4;

  /// What `op` computes; `toLoops` maps the root's loops to `op`'s.
  FailureOr<Poly> buildBody(linalg::GenericOp op, AffineMap toLoops,
                            unsigned depth) {
    auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
    return buildScalar(yield.getOperand(0), op, toLoops, depth);
  }

  FailureOr<Poly> buildScalar(Value value, linalg::GenericOp op,
                              AffineMap toLoops, unsigned depth) {
    if (std::optional<double> constant = getScalarConstant(value))
      return Poly::constant(*constant);
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      if (arg.getOwner() != op.getBody() ||
          arg.getArgNumber() >= op.getNumDpsInputs())
        return failure();
      OpOperand *operand = op.getDpsInputOperand(arg.getArgNumber());
      return buildRead(operand->get(),
                       op.getMatchingIndexingMap(operand).compose(toLoops),
                       depth);
    }
    Operation *def = value.getDefiningOp();
    // linalg.index and other operand-less ops are no polynomial in the reads.
    if (!def || def->getBlock() != op.getBody() || def->getNumOperands() == 0)
      return failure();
    auto operand = [&](unsigned i) {
      return buildScalar(def->getOperand(i), op, toLoops, depth);
    };
    FailureOr<Poly> lhs = operand(0);
    if (failed(lhs))
      return failure();
    FailureOr<Poly> result = failure();
    if (def->getNumOperands() == 1) {
      result =
          TypeSwitch<Operation *, FailureOr<Poly>>(def)
              .Case([&](arith::NegFOp) { return *lhs * Poly::constant(-1); })
              .Case([&](math::ExpOp) { return exp(*lhs); })
              .Case([&](math::ErfOp) { return erf(*lhs); })
              .Case([&](math::TanhOp) { return tanh(*lhs); })
              .Case([&](math::RsqrtOp) {
                return Poly::apply(Factor::Kind::Rsqrt, *lhs);
              })
              .Default([](Operation *) { return failure(); });
    } else if (auto fpowi = dyn_cast<math::FPowIOp>(def)) {
      std::optional<double> power = getScalarConstant(fpowi.getRhs());
      if (!power || *power < 1 || *power > 4 || *power != std::floor(*power))
        return failure();
      result = *lhs;
      for (int i = 1; i < *power; ++i)
        result = *result * *lhs;
    } else if (def->getNumOperands() == 2) {
      FailureOr<Poly> rhs = operand(1);
      if (failed(rhs))
        return failure();
      result = TypeSwitch<Operation *, FailureOr<Poly>>(def)
                   .Case([&](arith::AddFOp) { return *lhs + *rhs; })
                   .Case([&](arith::SubFOp) { return *lhs - *rhs; })
                   .Case([&](arith::MulFOp) { return *lhs * *rhs; })
                   .Case([&](arith::DivFOp) -> FailureOr<Poly> {
                     if (std::optional<double> c = rhs->getConstant())
                       return *c == 0.0 ? FailureOr<Poly>(failure())
                                        : *lhs * Poly::constant(1.0 / *c);
                     return *lhs * reciprocal(*rhs);
                   })
                   .Default([](Operation *) { return failure(); });
    }
    if (failed(result) || result->terms.size() > kMaxTerms)
      return failure();
    return result;
  }

  FailureOr<Poly> buildRead(Value tensor, AffineMap map, unsigned depth) {
    if (std::optional<double> constant = getScalarTensorConstant(tensor))
      return Poly::constant(*constant);
    Read read = throughUnitReshapes(tensor, map);
    if (inlineProducer && depth < kMaxDepth)
      if (linalg::GenericOp producer = getElementwiseProducer(read.tensor))
        if (inlineProducer(producer, read.map))
          return buildBody(producer, read.map, depth + 1);
    read.map = canonicalizeRead(read.map, read.getShape(), loopRanges);
    for (auto [id, known] : llvm::enumerate(reads))
      if (known.tensor == read.tensor && known.map == read.map)
        return Poly::leaf(id);
    reads.push_back(read);
    return Poly::leaf(reads.size() - 1);
  }

  linalg::GenericOp root;
  Type resultType;
  SmallVector<int64_t> loopRanges;
  InlinePredicate inlineProducer;
  SmallVector<Read> reads;
};
} // namespace

/// Loops `[begin, end)`.
static SmallVector<unsigned> loopRange(unsigned begin, unsigned end) {
  return llvm::to_vector(llvm::seq<unsigned>(begin, end));
}

/// Calls `fn(a, b)` for both orders of two leaves; true if one returns true.
static bool eitherOrder(function_ref<bool(unsigned, unsigned)> fn) {
  return fn(0, 1) || fn(1, 0);
}

//===----------------------------------------------------------------------===//
// Shared pieces of the matchers
//===----------------------------------------------------------------------===//

/// The value `fill` fills a tensor with, if `value` is a linalg.fill of a
/// scalar constant.
static std::optional<double> getFillConstant(Value value) {
  auto fill = value.getDefiningOp<linalg::FillOp>();
  if (!fill)
    return std::nullopt;
  return getScalarConstant(fill.getInputs()[0]);
}

/// Whether every operand and result of `op` has the element type of its
/// first result: mixed precision (an f16 product accumulated in f32) is
/// not a float layer of one type.
static bool hasOneElementType(Operation *op) {
  Type element = getElementTypeOrSelf(op->getResult(0).getType());
  return llvm::all_of(op->getOperandTypes(), [&](Type type) {
    return getElementTypeOrSelf(type) == element;
  });
}

/// The generic defining `value` if it only copies its one input (the body
/// yields it unchanged); the callers check the maps.
static linalg::GenericOp getCopyGeneric(Value value) {
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || generic.getNumReductionLoops() != 0)
    return nullptr;
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  if (yield.getOperand(0) != generic.getBody()->getArgument(0))
    return nullptr;
  return generic;
}

/// The tensor W whose transpose `value` is (2-D): `linalg.transpose` with
/// permutation [1, 0], or the copy generic older torch-mlir emitted, whose
/// input and output maps are (d0, d1) and (d1, d0) in either order.
static Value getTransposeSource(Value value) {
  if (auto transpose = value.getDefiningOp<linalg::TransposeOp>())
    return transpose.getPermutation() == ArrayRef<int64_t>{1, 0}
               ? transpose.getInput()
               : Value();
  linalg::GenericOp copy = getCopyGeneric(value);
  if (!copy || copy.getNumLoops() != 2)
    return nullptr;
  AffineMap swap = AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0},
                                                value.getContext());
  SmallVector<AffineMap> maps = copy.getIndexingMapsArray();
  bool transposes = (maps[0].isIdentity() && maps[1] == swap) ||
                    (maps[0] == swap && maps[1].isIdentity());
  return transposes ? copy.getDpsInputOperand(0)->get() : Value();
}

/// Explains why the right operand `rhs` of a matmul that reads it
/// untransposed is not a Linear's transposed weight, when it is a transpose
/// or copy of something (otherwise it is a plain product: nothing to say).
static std::string describeUntransposedWeight(Value rhs) {
  if (auto transpose = rhs.getDefiningOp<linalg::TransposeOp>()) {
    std::string permutation;
    llvm::raw_string_ostream os(permutation);
    llvm::interleaveComma(transpose.getPermutation(), os);
    return "its right operand is a linalg.transpose with permutation [" +
           permutation + "], not [1, 0]";
  }
  if (getCopyGeneric(rhs))
    return "its right operand is a copy that does not transpose (indexing "
           "maps other than (d0, d1) <-> (d1, d0))";
  return "";
}

/// The reassociation that turns static `source` into `type` (the same
/// elements in the same order) with one collapse_shape or expand_shape.
static std::optional<SmallVector<ReassociationIndices>>
getReshape(RankedTensorType source, RankedTensorType type) {
  if (!source.hasStaticShape() || !type.hasStaticShape() ||
      source.getRank() == type.getRank())
    return std::nullopt;
  return getReassociationIndicesForReshape(source, type);
}

/// `value` reshaped to `type`: itself, or through the reshape getReshape
/// found (the caller checked that there is one).
static Value reshapeTo(PatternRewriter &rewriter, Location loc, Value value,
                       RankedTensorType type) {
  auto source = cast<RankedTensorType>(value.getType());
  if (source == type)
    return value;
  SmallVector<ReassociationIndices> reassociation = *getReshape(source, type);
  if (source.getRank() > type.getRank())
    return tensor::CollapseShapeOp::create(rewriter, loc, type, value,
                                           reassociation);
  return tensor::ExpandShapeOp::create(rewriter, loc, type, value,
                                       reassociation);
}

/// Whether leaf `leaf` of `builder` is a static vector along loop `loop`
/// (every other dim of size 1), which asVector makes rank 1.
static bool isVectorRead(const ExprBuilder &builder, unsigned leaf,
                         unsigned loop) {
  auto type = cast<RankedTensorType>(builder.getRead(leaf).tensor.getType());
  return type.getRank() >= 1 && type.hasStaticShape() &&
         builder.readsOnly(leaf, {loop});
}

/// The static tensor `value` (one dim not of size 1) as a rank-1 tensor.
static Value asVector(PatternRewriter &rewriter, Location loc, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return reshapeTo(
      rewriter, loc, value,
      RankedTensorType::get({type.getNumElements()}, type.getElementType()));
}

namespace {
/// How a reduction combines: sum (addf) or max (maximumf / maxnumf).
enum class Combiner { Sum, Max };
} // namespace

/// Matches `value` = the sum or max of some tensor over its trailing
/// `numReduced` dims, as torch-mlir's reductions compute it: a generic
/// reading the input elementwise, reduction loops exactly on those dims,
/// the accumulator filled with the neutral element (0; -inf or the lowest
/// finite value for max) and written at the other dims, kept as size 1 or
/// dropped. A max may carry a second (argmax) result, as aten.max.dim's
/// lowering does: only the values are used. Returns the input.
static Value matchReduction(Value value, Combiner combiner,
                            unsigned numReduced) {
  value = stripUnitReshapes(value);
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!generic || cast<OpResult>(value).getResultNumber() != 0 ||
      generic.getNumDpsInputs() != 1)
    return nullptr;
  OpOperand *input = generic.getDpsInputOperand(0);
  OpOperand *init = generic.getDpsInitOperand(0);
  auto inputType = dyn_cast<RankedTensorType>(input->get().getType());
  unsigned rank = generic.getNumLoops();
  if (!inputType || inputType.getRank() != rank || rank <= numReduced ||
      getElementTypeOrSelf(init->get().getType()) != inputType.getElementType())
    return nullptr;

  SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
  Read inputRead{input->get(), generic.getMatchingIndexingMap(input)};
  Read outputRead{init->get(), generic.getMatchingIndexingMap(init)};
  if (!inputRead.readsOnly(loopRange(0, rank), ranges) ||
      !outputRead.readsOnly(loopRange(0, rank - numReduced), ranges))
    return nullptr;
  for (auto [loop, iterator] :
       llvm::enumerate(generic.getIteratorTypesArray())) {
    bool reduced = loop >= rank - numReduced;
    if (ranges[loop] != 1 &&
        reduced != (iterator == utils::IteratorType::reduction))
      return nullptr;
  }

  // The body combines the input element with the accumulator.
  Block *body = generic.getBody();
  Value in = body->getArgument(0);
  Value acc = body->getArgument(generic.getNumDpsInputs());
  Operation *combine = cast<linalg::YieldOp>(body->getTerminator())
                           .getOperand(0)
                           .getDefiningOp();
  bool combinerMatches =
      combine && combine->getNumOperands() == 2 &&
      ((combine->getOperand(0) == in && combine->getOperand(1) == acc) ||
       (combine->getOperand(0) == acc && combine->getOperand(1) == in)) &&
      (combiner == Combiner::Sum
           ? isa<arith::AddFOp>(combine)
           : isa<arith::MaximumFOp, arith::MaxNumFOp>(combine));
  std::optional<double> initValue = getFillConstant(init->get());
  if (!combinerMatches || !initValue)
    return nullptr;
  if (combiner == Combiner::Sum)
    return *initValue == 0.0 ? input->get() : nullptr;
  auto floatType = cast<FloatType>(inputType.getElementType());
  double lowest =
      APFloat::getLargest(floatType.getFloatSemantics(), /*Negative=*/true)
          .convertToDouble();
  return *initValue <= lowest ? input->get() : nullptr;
}

/// The product of the trailing `count` dims of `value`'s static shape.
static std::optional<int64_t> trailingElements(Value value, unsigned count) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t elements = 1;
  for (int64_t size : type.getShape().take_back(count)) {
    if (ShapedType::isDynamic(size))
      return std::nullopt;
    elements *= size;
  }
  return elements;
}

namespace {
/// The base of the raising patterns: they create the layer ops through
/// `raise`, which records them for naming and statistics.
template <typename OpTy> struct RaisePattern : OpRewritePattern<OpTy> {
  RaisePattern(MLIRContext *ctx, DenseSet<Operation *> &raised,
               PatternBenefit benefit = 1)
      : OpRewritePattern<OpTy>(ctx, benefit), raised(raised) {}

  /// Replaces the op defining `old` with `layer`, a new layer op.
  void raise(PatternRewriter &rewriter, Value old, Operation *layer) const {
    raised.insert(layer);
    rewriter.replaceOp(old.getDefiningOp(), layer->getResults());
  }

  /// Replaces the layer `old` with `layer`, the same layer with more
  /// operands; `layer` counts as raised if `old` was.
  void extend(PatternRewriter &rewriter, Value replaced, Operation *old,
              Operation *layer) const {
    if (raised.erase(old))
      raised.insert(layer);
    rewriter.replaceOp(replaced.getDefiningOp(), layer->getResults());
    rewriter.eraseOp(old);
  }

  DenseSet<Operation *> &raised;
};
} // namespace

//===----------------------------------------------------------------------===//
// nn.Linear
//===----------------------------------------------------------------------===//

namespace {
/// A Linear found at a product: `input` [..., K] times `weight`^T ([N, K]).
struct LinearMatch {
  Value input;
  Value weight;
};
} // namespace

/// The accumulator checks shared by the linear forms; sets `whyNot`.
static LogicalResult checkLinearProduct(Operation *product, Value init,
                                        std::string *whyNot) {
  if (!hasOneElementType(product)) {
    if (whyNot)
      *whyNot = "its operands and result do not share one element type "
                "(a low-precision product accumulated in f32 is not raised)";
    return failure();
  }
  std::optional<double> fill = getFillConstant(init);
  if (!fill || *fill != 0.0) {
    if (whyNot)
      *whyNot = "its accumulator is not a zero fill: the product is added to "
                "another value";
    return failure();
  }
  return success();
}

/// nn.Linear's product as torch-mlir emits it: `linalg.matmul` of x [M, K]
/// and the transposed weight (getTransposeSource), or of x and W itself
/// with the transposed-B maps [(d0, d2), (d1, d2), (d0, d1)], into a zero
/// fill. `whyNot` (optional) says what kept a matmul that reads a weight
/// from being raised, and stays empty for plain products.
static FailureOr<LinearMatch> matchMatmulLinear(linalg::MatmulOp op,
                                                std::string *whyNot) {
  MLIRContext *ctx = op.getContext();
  AffineExpr d0, d1, d2;
  bindDims(ctx, d0, d1, d2);
  SmallVector<AffineMap> transposedB = {AffineMap::get(3, 0, {d0, d2}, ctx),
                                        AffineMap::get(3, 0, {d1, d2}, ctx),
                                        AffineMap::get(3, 0, {d0, d1}, ctx)};

  Value rhs = op.getInputs()[1];
  Value weight;
  if (!op.hasUserDefinedMaps()) {
    weight = getTransposeSource(rhs);
    if (!weight) {
      if (whyNot)
        *whyNot = describeUntransposedWeight(rhs);
      return failure();
    }
  } else if (op.getIndexingMapsArray() == transposedB) {
    weight = rhs;
  } else {
    return failure();
  }
  if (failed(checkLinearProduct(op, op.getOutputs()[0], whyNot)))
    return failure();
  return LinearMatch{op.getInputs()[0], weight};
}

/// The Linear of 3-D activations in older torch-mlir (aten.matmul of
/// [B, M, K] and a 2-D weight, as in buddy-mlir's bert-tiny):
/// `linalg.batch_matmul` of x and the transposed weight broadcast over the
/// batch (a copy generic reading (d1, d2), or linalg.broadcast with
/// dimensions [0]), into a zero fill.
static FailureOr<LinearMatch> matchBatchMatmulLinear(linalg::BatchMatmulOp op,
                                                     std::string *whyNot) {
  if (op.hasUserDefinedMaps())
    return failure();
  Value rhs = op.getInputs()[1];
  Value transposed;
  if (auto broadcast = rhs.getDefiningOp<linalg::BroadcastOp>()) {
    if (broadcast.getDimensions() == ArrayRef<int64_t>{0})
      transposed = broadcast.getInput();
  } else if (linalg::GenericOp copy = getCopyGeneric(rhs)) {
    Read read{copy.getDpsInputOperand(0)->get(),
              copy.getIndexingMapsArray()[0]};
    if (copy.getIndexingMapsArray()[1].isIdentity() &&
        read.getShape().size() == 2 &&
        read.readsOnly({1, 2}, copy.getStaticLoopRanges()))
      transposed = read.tensor;
  }
  if (!transposed)
    return failure();
  Value weight = getTransposeSource(transposed);
  if (!weight) {
    if (whyNot)
      *whyNot = describeUntransposedWeight(transposed);
    return failure();
  }
  if (failed(checkLinearProduct(op, op.getOutputs()[0], whyNot)))
    return failure();
  return LinearMatch{op.getInputs()[0], weight};
}

namespace {
/// nn.Linear at a matmul or (older torch-mlir) batch_matmul; its bias comes
/// after, see AbsorbLinearBias.
template <typename ProductOp> struct RaiseLinear : RaisePattern<ProductOp> {
  using RaisePattern<ProductOp>::RaisePattern;
  LogicalResult matchAndRewrite(ProductOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<LinearMatch> match;
    if constexpr (std::is_same_v<ProductOp, linalg::MatmulOp>)
      match = matchMatmulLinear(op, nullptr);
    else
      match = matchBatchMatmulLinear(op, nullptr);
    if (failed(match))
      return failure();
    auto linear =
        LinearOp::create(rewriter, op.getLoc(), op->getResult(0).getType(),
                         match->input, match->weight, /*bias=*/nullptr,
                         /*name=*/nullptr, /*input_rotation=*/nullptr,
                         /*input_shift=*/nullptr, /*plan=*/nullptr,
                         /*activation_scales=*/nullptr);
    this->raise(rewriter, op->getResult(0), linear);
    return success();
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// Biases and affine parameters following a layer
//===----------------------------------------------------------------------===//

namespace {
/// `layer(...) + vector` or `layer(...) * vector`.
template <typename LayerOp> struct VectorEpilogue {
  LayerOp layer;
  Value vector;
  bool isProduct;
};
} // namespace

/// Matches `op` = `layer(...) + v` or `layer(...) * v` (either order), where
/// the LayerOp's result is read elementwise and used nowhere else, and `v`
/// is a static vector along loop `loop`.
template <typename LayerOp>
static FailureOr<VectorEpilogue<LayerOp>>
matchVectorEpilogue(linalg::GenericOp op, unsigned loop) {
  if (!getElementwiseProducer(op->getResult(0)))
    return failure();
  ExprBuilder builder(op);
  FailureOr<Poly> poly = builder.build();
  if (failed(poly) || builder.getNumLeaves() != 2)
    return failure();
  FailureOr<VectorEpilogue<LayerOp>> result = failure();
  eitherOrder([&](unsigned l, unsigned v) {
    auto layer = builder.getRead(l).tensor.getDefiningOp<LayerOp>();
    if (!layer || !layer->hasOneUse() || !builder.readsAll(l) ||
        !isVectorRead(builder, v, loop))
      return false;
    Poly layerLeaf = Poly::leaf(l), vectorLeaf = Poly::leaf(v);
    if (equal(*poly, layerLeaf + vectorLeaf))
      result = VectorEpilogue<LayerOp>{layer, builder.getRead(v).tensor, false};
    else if (equal(*poly, layerLeaf * vectorLeaf))
      result = VectorEpilogue<LayerOp>{layer, builder.getRead(v).tensor, true};
    return succeeded(result);
  });
  return result;
}

namespace {
/// The bias add after a raised Linear: `linear(x, W) + b` with b [N] read
/// along the last dim (in either operand order, as torch-mlir and the tpp
/// MLP write it).
struct AbsorbLinearBias : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    auto match = matchVectorEpilogue<LinearOp>(op, op.getNumLoops() - 1);
    if (failed(match) || match->isProduct || match->layer.getBias())
      return failure();
    LinearOp old = match->layer;
    auto linear = LinearOp::create(
        rewriter, old.getLoc(), TypeRange{old.getType()},
        ValueRange{old.getInput(), old.getWeight(),
                   asVector(rewriter, op.getLoc(), match->vector)},
        old->getAttrs());
    extend(rewriter, op->getResult(0), old, linear);
    return success();
  }
};

/// LayerNorm's elementwise affine after the normalization:
/// `layer_norm(x) * gamma` (when it has neither yet) and `... + beta` (when
/// it has no bias yet), gamma and beta [D] read along the last dim.
struct AbsorbLayerNormAffine : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    auto match = matchVectorEpilogue<LayerNormOp>(op, op.getNumLoops() - 1);
    if (failed(match))
      return failure();
    LayerNormOp old = match->layer;
    if (old.getBias() || (match->isProduct && old.getWeight()))
      return failure();
    Value vector = asVector(rewriter, op.getLoc(), match->vector);
    auto norm = LayerNormOp::create(rewriter, old.getLoc(), old.getType(),
                                    old.getInput(),
                                    match->isProduct ? vector : old.getWeight(),
                                    match->isProduct ? Value() : vector,
                                    old.getEpsilonAttr(), old.getNameAttr());
    extend(rewriter, op->getResult(0), old, norm);
    return success();
  }
};

/// GroupNorm's per-channel affine: `group_norm(x) * w` and `... + b`, w and
/// b [C] read along dim 1 (torch's decomposition unsqueezes them to
/// [1, C, 1, 1]).
struct AbsorbGroupNormAffine : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    auto match = matchVectorEpilogue<GroupNormOp>(op, /*loop=*/1);
    if (failed(match))
      return failure();
    GroupNormOp old = match->layer;
    if (old.getBias() || (match->isProduct && old.getWeight()))
      return failure();
    Value vector = asVector(rewriter, op.getLoc(), match->vector);
    auto norm = GroupNormOp::create(
        rewriter, old.getLoc(), old.getType(), old.getInput(),
        match->isProduct ? vector : old.getWeight(),
        match->isProduct ? Value() : vector, old.getGroupsAttr(),
        old.getEpsilonAttr(), old.getNameAttr());
    extend(rewriter, op->getResult(0), old, norm);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// nn.Conv2d
//===----------------------------------------------------------------------===//

namespace {
/// A Conv2d found at linalg.conv_2d_nchw_fchw.
struct ConvMatch {
  Value input;
  Value bias; // null without one
  SmallVector<int64_t, 2> padding{0, 0};
  /// Why a tensor.pad in front of the conv stays outside of the layer
  /// (empty when there is none, or it was folded into `padding`).
  std::string padKeptBecause;
};
} // namespace

/// The [F] bias broadcast into a conv's accumulator: `linalg.broadcast`
/// with dimensions [0, 2, 3], or a copy generic reading it along dim 1.
static Value getBroadcastBias(Value init) {
  if (auto broadcast = init.getDefiningOp<linalg::BroadcastOp>())
    return broadcast.getDimensions() == ArrayRef<int64_t>{0, 2, 3}
               ? broadcast.getInput()
               : Value();
  linalg::GenericOp copy = getCopyGeneric(init);
  if (!copy || !copy.getIndexingMapsArray()[1].isIdentity())
    return nullptr;
  Read read{copy.getDpsInputOperand(0)->get(), copy.getIndexingMapsArray()[0]};
  return read.getShape().size() == 1 &&
                 read.readsOnly({1}, copy.getStaticLoopRanges())
             ? read.tensor
             : Value();
}

/// nn.Conv2d as torch-mlir emits it: the bias broadcast into the
/// accumulator (or a zero fill without bias), the input optionally from a
/// tensor.pad, folded into `padding` when it pads H and W symmetrically
/// with zeros.
static FailureOr<ConvMatch> matchConv(linalg::Conv2DNchwFchwOp op,
                                      std::string *whyNot) {
  if (!hasOneElementType(op)) {
    if (whyNot)
      *whyNot = "its operands and result do not share one element type";
    return failure();
  }
  ConvMatch match;
  Value init = op.getOutputs()[0];
  std::optional<double> fill = getFillConstant(init);
  if (!fill || *fill != 0.0) {
    match.bias = getBroadcastBias(init);
    if (!match.bias) {
      if (whyNot)
        *whyNot = "its accumulator is neither a zero fill nor a bias "
                  "broadcast along the channels";
      return failure();
    }
  }

  match.input = op.getInputs()[0];
  auto pad = match.input.getDefiningOp<tensor::PadOp>();
  if (!pad)
    return match;
  ArrayRef<int64_t> low = pad.getStaticLow(), high = pad.getStaticHigh();
  std::optional<double> value;
  if (Value padValue = pad.getConstantPaddingValue())
    value = getScalarConstant(padValue);
  if (!value || *value != 0.0) {
    SmallString<16> text;
    if (value)
      APFloat(*value).toString(text);
    match.padKeptBecause = value ? ("it pads with " + text + ", not zero").str()
                                 : "its padding value is not a constant";
  } else if (llvm::any_of(low, ShapedType::isDynamic) ||
             llvm::any_of(high, ShapedType::isDynamic))
    match.padKeptBecause = "its padding is dynamic";
  else if (low[0] != 0 || low[1] != 0 || high[0] != 0 || high[1] != 0)
    match.padKeptBecause = "it pads the batch or channel dims";
  else if (low != high)
    match.padKeptBecause = "its padding is not symmetric";
  else if (pad.getNofold())
    match.padKeptBecause = "it is marked nofold";
  if (match.padKeptBecause.empty()) {
    match.input = pad.getSource();
    match.padding = {low[2], low[3]};
  }
  return match;
}

namespace {
/// nn.Conv2d (see matchConv); reports a pad left outside.
struct RaiseConv : RaisePattern<linalg::Conv2DNchwFchwOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::Conv2DNchwFchwOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<ConvMatch> match = matchConv(op, nullptr);
    if (failed(match))
      return failure();
    auto values = [](DenseIntElementsAttr attr) {
      return llvm::to_vector<2>(attr.getValues<int64_t>());
    };
    auto conv = Conv2DOp::create(
        rewriter, op.getLoc(), op->getResult(0).getType(), match->input,
        op.getInputs()[1], match->bias, values(op.getStrides()), match->padding,
        values(op.getDilations()), /*name=*/nullptr,
        /*input_rotation=*/nullptr, /*plan=*/nullptr,
        /*activation_scales=*/nullptr);
    if (!match->padKeptBecause.empty())
      remark::analysis(op.getLoc(), remarkOpts("PadKept"))
          << "conv2d raised with its input tensor.pad kept outside: " +
                 match->padKeptBecause;
    raise(rewriter, op->getResult(0), conv);
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// GELU and SiLU
//===----------------------------------------------------------------------===//

/// `1 / (1 + exp(-x))`.
static Poly sigmoid(const Poly &x) { return reciprocal(1.0 + exp(-1.0 * x)); }

namespace {
/// What an elementwise generic with one input computes: the input (a tensor
/// of the result's type, read elementwise) and the body as a Poly of it
/// (leaf 0).
struct UnaryBody {
  Value input;
  Poly poly;
};
} // namespace

/// The UnaryBody of `op`, if it has that form.
static FailureOr<UnaryBody> matchUnaryBody(linalg::GenericOp op) {
  if (!getElementwiseProducer(op->getResult(0)))
    return failure();
  ExprBuilder builder(op);
  FailureOr<Poly> poly = builder.build();
  if (failed(poly) || builder.getNumLeaves() != 1 || !builder.readsAll(0))
    return failure();
  return UnaryBody{builder.getRead(0).tensor, *poly};
}

namespace {
/// GELU as one elementwise generic (torch-mlir's lowering of aten.gelu).
/// The erf form is `x * 0.5 * (1 + erf(x / sqrt(2)))`; the tanh form
/// `x * 0.5 * (1 + tanh(b * (x + 0.044715 * x^3)))` with b = sqrt(2/pi) to
/// 1e-3 (torch-mlir writes 0.7977240352174656), x^3 as fpowi or products.
/// Any grouping of the products matches; a different coefficient does not.
struct RaiseGelu : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<UnaryBody> body = matchUnaryBody(op);
    if (failed(body))
      return failure();
    Poly x = Poly::leaf(0);
    auto gelu = [&](Poly cdf) { return 0.5 * x + 0.5 * x * cdf; };
    std::optional<GeluApproximation> approximation;
    if (equal(body->poly, gelu(erf(M_SQRT1_2 * x))))
      approximation = GeluApproximation::None;
    else if (isTanhGelu(body->poly, x))
      approximation = GeluApproximation::Tanh;
    if (!approximation)
      return failure();
    raise(rewriter, op->getResult(0),
          GeluOp::create(rewriter, op.getLoc(), op->getResult(0).getType(),
                         body->input, *approximation, /*name=*/nullptr));
    return success();
  }

private:
  /// Whether `poly` is the tanh form: tanh's argument must be
  /// `b * x + c * x^3` with b = sqrt(2/pi) to 1e-3 and c / b = 0.044715.
  static bool isTanhGelu(const Poly &poly, const Poly &x) {
    const Factor *tanhFactor = poly.findFactor(Factor::Kind::Tanh);
    if (!tanhFactor)
      return false;
    const Poly &arg = *tanhFactor->arg;
    std::optional<double> b = arg.getCoefficient(x);
    std::optional<double> c = arg.getCoefficient(x * x * x);
    return arg.terms.size() == 2 && b && c &&
           approxEqual(*b, std::sqrt(2.0 / M_PI), 1e-3) &&
           approxEqual(*c / *b, 0.044715) &&
           equal(poly, 0.5 * x + 0.5 * x * tanh(arg));
  }
};

/// SiLU: torch-mlir's two generics, `sigmoid(x)` (1 / (1 + exp(-x))) and
/// the product of it with x, or one generic computing x * sigmoid(x) or
/// x / (1 + exp(-x)).
struct RaiseSilu : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    Value input = matchSilu(op);
    if (!input)
      return failure();
    raise(rewriter, op->getResult(0),
          SiluOp::create(rewriter, op.getLoc(), input, /*name=*/nullptr));
    return success();
  }

private:
  /// The x of the SiLU that `op` completes, or null.
  static Value matchSilu(linalg::GenericOp op) {
    Poly x = Poly::leaf(0);
    FailureOr<UnaryBody> unary = matchUnaryBody(op);
    if (succeeded(unary))
      return equal(unary->poly, x * sigmoid(x)) ? unary->input : Value();

    if (!getElementwiseProducer(op->getResult(0)))
      return nullptr;
    ExprBuilder builder(op);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 2 || !builder.readsAll(0) ||
        !builder.readsAll(1) || !equal(*poly, Poly::leaf(0) * Poly::leaf(1)))
      return nullptr;
    Value input;
    eitherOrder([&](unsigned s, unsigned i) {
      linalg::GenericOp producer =
          getElementwiseProducer(builder.getRead(s).tensor);
      if (!producer)
        return false;
      FailureOr<UnaryBody> sig = matchUnaryBody(producer);
      if (failed(sig) || sig->input != builder.getRead(i).tensor ||
          !equal(sig->poly, sigmoid(x)))
        return false;
      input = sig->input;
      return true;
    });
    return input;
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// LayerNorm and GroupNorm
//===----------------------------------------------------------------------===//

namespace {
/// `(x - mean(x)) * rsqrt(var(x) + epsilon)`, the mean and the biased
/// variance taken over the trailing dims of `input`.
struct Normalization {
  Value input;
  double epsilon;
};

/// Matches torch-mlir's decomposition of a normalization over the trailing
/// `numReduced` dims of x, generic by generic:
///   mean = sum(x) / N                  (a reduction, then a row generic)
///   d    = x - mean                    (mean read per row, or broadcast
///                                       first by a copy generic)
///   var  = sum(d * d) / N              (d computed once, as aten's
///                                       native_layer_norm decomposition does,
///                                       or recomputed on extf(x) in f64 and
///                                       truncated, as var_mean's does)
///   rstd = rsqrt(var + eps)            (one generic, or an add then rsqrt)
///   y    = d * rstd
/// N must be the number of reduced elements, eps a constant.
class NormalizationMatcher {
public:
  explicit NormalizationMatcher(unsigned numReduced) : numReduced(numReduced) {}

  FailureOr<Normalization> match(linalg::GenericOp root) const {
    if (!getElementwiseProducer(root->getResult(0)) ||
        root.getNumLoops() <= numReduced)
      return failure();
    ExprBuilder builder(root);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 2 ||
        !equal(*poly, Poly::leaf(0) * Poly::leaf(1)))
      return failure();
    FailureOr<Normalization> result = failure();
    eitherOrder([&](unsigned centeredLeaf, unsigned rstdLeaf) {
      Value rstd = getRow(builder, rstdLeaf);
      if (!builder.readsAll(centeredLeaf) || !rstd)
        return false;
      Value input = matchCentered(builder.getRead(centeredLeaf).tensor);
      std::optional<std::pair<Value, double>> variance = matchRsqrt(rstd);
      if (!input || !variance || !isVarianceOf(variance->first, input))
        return false;
      result = Normalization{input, variance->second};
      return true;
    });
    return result;
  }

private:
  /// The row tensor (one element per non-reduced index) that leaf `leaf`
  /// reads: directly, or through a copy generic that broadcasts it first
  /// (bert-tiny's form).
  Value getRow(const ExprBuilder &builder, unsigned leaf) const {
    unsigned rank = builder.getLoopRanges().size();
    SmallVector<unsigned> rowLoops = loopRange(0, rank - numReduced);
    if (builder.readsOnly(leaf, rowLoops))
      return builder.getRead(leaf).tensor;
    if (!builder.readsAll(leaf))
      return nullptr;
    linalg::GenericOp copy = getCopyGeneric(builder.getRead(leaf).tensor);
    if (!copy || !getElementwiseProducer(copy->getResult(0)))
      return nullptr;
    OpOperand *source = copy.getDpsInputOperand(0);
    Read read =
        throughUnitReshapes(source->get(), copy.getMatchingIndexingMap(source));
    return read.readsOnly(rowLoops, copy.getStaticLoopRanges()) ? read.tensor
                                                                : Value();
  }

  /// For `centered` = x - mean(x): x.
  Value matchCentered(Value centered) const {
    linalg::GenericOp op = getElementwiseProducer(centered);
    if (!op)
      return nullptr;
    ExprBuilder builder(op);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 2)
      return nullptr;
    Value input;
    eitherOrder([&](unsigned x, unsigned mean) {
      Value row = getRow(builder, mean);
      if (!builder.readsAll(x) || !row ||
          !equal(*poly, Poly::leaf(x) - Poly::leaf(mean)) ||
          !isMeanOf(row, builder.getRead(x).tensor))
        return false;
      input = builder.getRead(x).tensor;
      return true;
    });
    return input;
  }

  /// For `value` = c * t computed elementwise on rows: t and c.
  static std::optional<std::pair<Value, Poly>> matchRowUnary(Value value) {
    linalg::GenericOp op = getElementwiseProducer(stripUnitReshapes(value));
    if (!op)
      return std::nullopt;
    ExprBuilder builder(op);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 1 || !builder.readsAll(0))
      return std::nullopt;
    return std::make_pair(builder.getRead(0).tensor, *poly);
  }

  /// Whether `value` = sum(x) / N over the reduced dims.
  bool isMeanOf(Value value, Value x) const {
    std::optional<std::pair<Value, Poly>> divided = matchRowUnary(value);
    std::optional<int64_t> count = trailingElements(x, numReduced);
    return divided && count &&
           equal(divided->second, (1.0 / *count) * Poly::leaf(0)) &&
           matchReduction(divided->first, Combiner::Sum, numReduced) == x;
  }

  /// For `value` = rsqrt(v + eps): v and eps (the add in the same generic
  /// or in the one before).
  static std::optional<std::pair<Value, double>> matchRsqrt(Value value) {
    std::optional<std::pair<Value, Poly>> rsqrt = matchRowUnary(value);
    if (!rsqrt)
      return std::nullopt;
    const Poly *arg = rsqrt->second.getApplied(Factor::Kind::Rsqrt);
    if (!arg)
      return std::nullopt;
    Value variance = rsqrt->first;
    Poly sum = *arg;
    if (equal(sum, Poly::leaf(0))) {
      std::optional<std::pair<Value, Poly>> add = matchRowUnary(variance);
      if (!add)
        return std::nullopt;
      variance = add->first;
      sum = add->second;
    }
    std::optional<double> epsilon = (sum - Poly::leaf(0)).getConstant();
    if (!epsilon || *epsilon < 0.0)
      return std::nullopt;
    return std::make_pair(variance, *epsilon);
  }

  /// Whether `value` = the biased variance of x: sum((x - mean(x))^2) / N,
  /// possibly computed on extf(x) and truncated back.
  bool isVarianceOf(Value value, Value x) const {
    Value widened = getCastSource<arith::TruncFOp>(stripUnitReshapes(value));
    if (widened)
      value = widened;
    std::optional<std::pair<Value, Poly>> divided = matchRowUnary(value);
    std::optional<int64_t> count = trailingElements(x, numReduced);
    if (!divided || !count ||
        !equal(divided->second, (1.0 / *count) * Poly::leaf(0)))
      return false;
    Value squares = matchReduction(divided->first, Combiner::Sum, numReduced);
    linalg::GenericOp square =
        squares ? getElementwiseProducer(squares) : nullptr;
    if (!square)
      return false;
    ExprBuilder builder(square);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 1 || !builder.readsAll(0) ||
        !equal(*poly, Poly::leaf(0) * Poly::leaf(0)))
      return false;
    Value centeredInput = matchCentered(builder.getRead(0).tensor);
    if (!centeredInput)
      return false;
    return widened ? getCastSource<arith::ExtFOp>(centeredInput) == x
                   : centeredInput == x;
  }

  /// The input of an elementwise generic that only casts it with CastOp.
  template <typename CastOp> static Value getCastSource(Value value) {
    linalg::GenericOp op = getElementwiseProducer(value);
    if (!op || op.getNumDpsInputs() != 1)
      return nullptr;
    auto castOp = cast<linalg::YieldOp>(op.getBody()->getTerminator())
                      .getOperand(0)
                      .getDefiningOp<CastOp>();
    OpOperand *input = op.getDpsInputOperand(0);
    if (!castOp || castOp.getIn() != op.getBody()->getArgument(0) ||
        !op.getMatchingIndexingMap(input).isIdentity())
      return nullptr;
    return input->get();
  }

  unsigned numReduced;
};

/// LayerNorm over the last dim (the affine parameters come after, see
/// AbsorbLayerNormAffine).
struct RaiseLayerNorm : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<Normalization> norm = NormalizationMatcher(1).match(op);
    if (failed(norm) || norm->input.getType() != op->getResult(0).getType())
      return failure();
    raise(rewriter, op->getResult(0),
          LayerNormOp::create(rewriter, op.getLoc(), op->getResult(0).getType(),
                              norm->input, /*weight=*/nullptr,
                              /*bias=*/nullptr,
                              rewriter.getF32FloatAttr(norm->epsilon),
                              /*name=*/nullptr));
    return success();
  }
};

/// GroupNorm as torch's native_group_norm decomposition writes it: x
/// [N, C, ...] reshaped to [N, G, C/G * H * W] (torch 2.11, the form in
/// test/Models) or [N, G, C/G, H * W] (older torch), normalized over every
/// dim after G, reshaped back (the affine parameters come after, see
/// AbsorbGroupNormAffine). The reshapes keep row-major order, so each
/// (sample, group) block of the grouped tensor is exactly one group's
/// channels and pixels when the sizes agree. Tried before LayerNorm, which
/// would otherwise take the 3-D form as a LayerNorm of the grouped tensor.
struct RaiseGroupNorm : RaisePattern<linalg::GenericOp> {
  RaiseGroupNorm(MLIRContext *ctx, DenseSet<Operation *> &raised)
      : RaisePattern(ctx, raised, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    unsigned rank = op.getNumLoops();
    if (rank < 3)
      return failure();
    FailureOr<Normalization> norm = NormalizationMatcher(rank - 2).match(op);
    if (failed(norm))
      return failure();
    auto grouped = cast<RankedTensorType>(norm->input.getType());
    if (!grouped.hasStaticShape())
      return failure();

    // The values the reshapes go through, on each side.
    SmallVector<Value> before, after;
    for (Value v = norm->input; isReshape(v.getDefiningOp());) {
      v = v.getDefiningOp()->getOperand(0);
      before.push_back(v);
    }
    for (Value v = op->getResult(0);
         v.hasOneUse() && isReshape(*v.getUsers().begin());) {
      v = v.getUsers().begin()->getResult(0);
      after.push_back(v);
    }
    // The furthest reshape back to an input shape: the whole chain goes.
    for (Value output : llvm::reverse(after))
      for (Value input : before)
        if (input.getType() == output.getType() &&
            isGrouping(cast<RankedTensorType>(input.getType()), grouped)) {
          raise(rewriter, output,
                GroupNormOp::create(
                    rewriter, op.getLoc(), output.getType(), input,
                    /*weight=*/nullptr, /*bias=*/nullptr,
                    rewriter.getI64IntegerAttr(grouped.getDimSize(1)),
                    rewriter.getF32FloatAttr(norm->epsilon), /*name=*/nullptr));
          return success();
        }
    return failure();
  }

private:
  static bool isReshape(Operation *op) {
    return isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                           tensor::ReshapeOp>(op);
  }

  /// Whether `grouped` [N, G, ...] splits `type` [N, C, ...] into G groups
  /// of C/G channels: same N, G divides C, and each group holds
  /// C/G * H * W elements.
  static bool isGrouping(RankedTensorType type, RankedTensorType grouped) {
    if (type.getRank() < 2 || !type.hasStaticShape() ||
        type.getDimSize(0) != grouped.getDimSize(0))
      return false;
    int64_t channels = type.getDimSize(1), groups = grouped.getDimSize(1);
    int64_t pixels = type.getNumElements() / (type.getDimSize(0) * channels);
    int64_t groupSize =
        grouped.getNumElements() / (grouped.getDimSize(0) * groups);
    return channels % groups == 0 && channels / groups * pixels == groupSize;
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

namespace {
/// Softmax along the last dim, as torch-mlir decomposes it:
///   m = max(x)       (a max reduction; the 2-result max + argmax generic of
///                     aten.max.dim is accepted, its argmax unused)
///   e = exp(x - m)   (one generic, or a subtraction then exp)
///   y = e / sum(e)
struct RaiseSoftmax : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    if (!getElementwiseProducer(op->getResult(0)))
      return failure();
    ExprBuilder builder(op);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 2)
      return failure();
    unsigned rank = op.getNumLoops();
    Value input;
    eitherOrder([&](unsigned e, unsigned s) {
      Value exps = builder.getRead(e).tensor;
      if (!builder.readsAll(e) ||
          !builder.readsOnly(s, loopRange(0, rank - 1)) ||
          !equal(*poly, Poly::leaf(e) * reciprocal(Poly::leaf(s))) ||
          matchReduction(builder.getRead(s).tensor, Combiner::Sum, 1) != exps)
        return false;
      input = matchExpMinusMax(exps);
      return static_cast<bool>(input);
    });
    if (!input)
      return failure();
    raise(rewriter, op->getResult(0),
          SoftmaxOp::create(rewriter, op.getLoc(), input,
                            rewriter.getI64IntegerAttr(-1), /*name=*/nullptr));
    return success();
  }

private:
  /// For `value` = exp(x - max(x)): x.
  static Value matchExpMinusMax(Value value) {
    linalg::GenericOp op = getElementwiseProducer(value);
    if (!op)
      return nullptr;
    ExprBuilder builder(op);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly))
      return nullptr;
    // exp(z) with z = x - m computed by the generic before.
    if (builder.getNumLeaves() == 1)
      return builder.readsAll(0) && equal(*poly, exp(Poly::leaf(0)))
                 ? matchMinusMax(builder.getRead(0).tensor)
                 : Value();
    return matchMinusMax(op);
  }

  /// For `value` = x - max(x) computed by a generic: x.
  static Value matchMinusMax(Value value) {
    linalg::GenericOp op = getElementwiseProducer(value);
    return op ? matchMinusMax(op) : Value();
  }

  /// For a generic computing f(x - max(x)) with f = exp or the identity: x.
  static Value matchMinusMax(linalg::GenericOp op) {
    ExprBuilder builder(op);
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 2)
      return nullptr;
    unsigned rank = op.getNumLoops();
    Value input;
    eitherOrder([&](unsigned x, unsigned m) {
      Poly shifted = Poly::leaf(x) - Poly::leaf(m);
      Value xs = builder.getRead(x).tensor;
      if (!builder.readsAll(x) ||
          !builder.readsOnly(m, loopRange(0, rank - 1)) ||
          !(equal(*poly, shifted) || equal(*poly, exp(shifted))) ||
          matchReduction(builder.getRead(m).tensor, Combiner::Max, 1) != xs)
        return false;
      input = xs;
      return true;
    });
    return input;
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// DiT's modulate
//===----------------------------------------------------------------------===//

namespace {
/// DiT's `x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)` on x
/// [B, ..., D] with scale and shift [B, D]: torch-mlir's generics for
/// `1 + scale` (before or after the unsqueeze's expand_shape), the product
/// and the sum, or any grouping of them that computes the same polynomial
/// (x + x * scale + shift, one fused generic, ...). The expression is built
/// from the final sum, inlining the generics that take part in the
/// modulation (they read or write a per-(sample, channel) tensor, directly
/// or through the generics they read); x's producer does not, so x stays a
/// leaf.
struct RaiseModulate : RaisePattern<linalg::GenericOp> {
  using RaisePattern::RaisePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    unsigned rank = op.getNumLoops();
    if (!getElementwiseProducer(op->getResult(0)) || rank < 3)
      return failure();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<unsigned> sampleChannel = {0, rank - 1};
    ExprBuilder builder(op, [&](linalg::GenericOp producer, AffineMap read) {
      return isModulation(producer, read, sampleChannel, ranges, 0);
    });
    FailureOr<Poly> poly = builder.build();
    if (failed(poly) || builder.getNumLeaves() != 3)
      return failure();

    // The leaves are x, scale and shift, in some order; scale and shift
    // become [B, D] tensors.
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    auto vectorType = RankedTensorType::get(
        {type.getDimSize(0), type.getDimSize(rank - 1)}, type.getElementType());
    auto isSampleChannel = [&](unsigned leaf) {
      auto leafType =
          cast<RankedTensorType>(builder.getRead(leaf).tensor.getType());
      return builder.readsOnly(leaf, sampleChannel) &&
             (leafType == vectorType || getReshape(leafType, vectorType));
    };
    constexpr std::array<std::array<unsigned, 3>, 6> orders = {
        {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}};
    for (auto [x, scale, shift] : orders) {
      Poly px = Poly::leaf(x);
      if (!builder.readsAll(x) || !isSampleChannel(scale) ||
          !isSampleChannel(shift) ||
          !equal(*poly, px + px * Poly::leaf(scale) + Poly::leaf(shift)))
        continue;
      Location loc = op.getLoc();
      raise(rewriter, op->getResult(0),
            ModulateOp::create(
                rewriter, loc, type, builder.getRead(x).tensor,
                reshapeTo(rewriter, loc, builder.getRead(shift).tensor,
                          vectorType),
                reshapeTo(rewriter, loc, builder.getRead(scale).tensor,
                          vectorType),
                /*name=*/nullptr));
      return success();
    }
    return failure();
  }

private:
  /// Whether `producer`, read at `read` (root loops -> its loops), writes a
  /// tensor read per (sample, channel), reads one, or reads a generic that
  /// does (to a bounded depth).
  static bool isModulation(linalg::GenericOp producer, AffineMap read,
                           ArrayRef<unsigned> sampleChannel,
                           ArrayRef<int64_t> ranges, unsigned depth) {
    if (Read{producer->getResult(0), read}.readsOnly(sampleChannel, ranges))
      return true;
    return depth < 3 &&
           llvm::any_of(producer.getDpsInputOperands(), [&](OpOperand *in) {
             Read input = throughUnitReshapes(
                 in->get(), producer.getMatchingIndexingMap(in).compose(read));
             if (input.readsOnly(sampleChannel, ranges))
               return true;
             linalg::GenericOp next = getElementwiseProducer(input.tensor);
             return next && isModulation(next, input.map, sampleChannel, ranges,
                                         depth + 1);
           });
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// Names, statistics and remarks
//===----------------------------------------------------------------------===//

/// The first name in `loc`: a NameLoc, or one inside a FusedLoc (in order)
/// or a CallSiteLoc (callee first).
static std::optional<StringRef> getLocationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    if (!name.getName().getValue().empty())
      return name.getName().getValue();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::optional<StringRef> name = getLocationName(inner))
        return name;
  if (auto callSite = dyn_cast<CallSiteLoc>(loc)) {
    if (std::optional<StringRef> name = getLocationName(callSite.getCallee()))
      return name;
    return getLocationName(callSite.getCaller());
  }
  return std::nullopt;
}

/// The module path of a linear or conv layer whose weight is a constant
/// named after its PyTorch parameter, as hqdm's importer emits them:
/// `dense_resource<blocks.0.attn.qkv.weight>` names the layer
/// `blocks.0.attn.qkv`.
static std::optional<StringRef> getWeightName(Operation *op) {
  if (!isa<LinearOp, Conv2DOp>(op) || op->getNumOperands() < 2)
    return std::nullopt;
  auto constant = op->getOperand(1).getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
  if (!resource)
    return std::nullopt;
  StringRef key = resource.getRawHandle().getKey();
  if (!key.consume_back(".weight") || key.empty())
    return std::nullopt;
  return key;
}

/// The layer ops that carry a name, with their kind (the mnemonic).
static std::optional<StringRef> getLayerKind(Operation *op) {
  if (!isa<LinearOp, Conv2DOp, GeluOp, SiluOp, LayerNormOp, GroupNormOp,
           SoftmaxOp, ModulateOp>(op))
    return std::nullopt;
  return op->getName().stripDialect();
}

namespace mlir::hqdm {
namespace {
struct RaisePass : impl::RaisePassBase<RaisePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    DenseSet<Operation *> raised;

    RewritePatternSet patterns(ctx);
    patterns
        .add<RaiseLinear<linalg::MatmulOp>, RaiseLinear<linalg::BatchMatmulOp>,
             RaiseConv, RaiseGelu, RaiseSilu, RaiseLayerNorm, RaiseGroupNorm,
             RaiseSoftmax, RaiseModulate, AbsorbLinearBias,
             AbsorbLayerNormAffine, AbsorbGroupNormAffine>(ctx, raised);
    // Folding would rewrite IR the pass has nothing to do with; dead ops
    // (a raised chain, a transpose no one else reads) are still erased.
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal()
        .enableFolding(false)
        .enableConstantCSE(false)
        .setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();

    nameLayers(module, raised);
    reportNearMisses(module);
  }

  /// Gives every layer a unique name: the existing one, else the first name
  /// of its location, else `<kind>_<index>` with the index counted per kind
  /// in walk order; duplicates get `_1`, `_2`, ... Counts and reports the
  /// raised layers.
  void nameLayers(ModuleOp module, const DenseSet<Operation *> &raised) {
    llvm::StringSet<> used;
    auto claim = [&](StringRef base) {
      std::string name = base.str();
      for (unsigned i = 1; !used.insert(name).second; ++i)
        name = llvm::formatv("{0}_{1}", base, i).str();
      return name;
    };
    SmallVector<Operation *> unnamed;
    llvm::StringMap<unsigned> kindCount;
    DenseMap<Operation *, unsigned> index;
    module.walk([&](Operation *op) {
      std::optional<StringRef> kind = getLayerKind(op);
      if (!kind)
        return;
      index[op] = kindCount[*kind]++;
      // Names already given (by hand) are claimed first.
      if (auto name = op->getAttrOfType<StringAttr>("name"))
        op->setAttr("name",
                    StringAttr::get(op->getContext(), claim(name.getValue())));
      else
        unnamed.push_back(op);
    });
    for (Operation *op : unnamed) {
      StringRef kind = *getLayerKind(op);
      std::optional<StringRef> fromLoc = getLocationName(op->getLoc());
      std::optional<StringRef> fromWeight = getWeightName(op);
      std::string base =
          fromLoc      ? fromLoc->str()
          : fromWeight ? fromWeight->str()
                       : llvm::formatv("{0}_{1}", kind, index[op]).str();
      op->setAttr("name", StringAttr::get(op->getContext(), claim(base)));
    }

    module.walk([&](Operation *op) {
      if (!raised.contains(op))
        return;
      countRaised(op);
      StringRef kind = *getLayerKind(op);
      remark::passed(op->getLoc(), remarkOpts("Raised"))
          << llvm::formatv("raised {0} '{1}'", kind,
                           op->getAttrOfType<StringAttr>("name").getValue())
                 .str();
    });
  }

  void countRaised(Operation *op) {
    TypeSwitch<Operation *>(op)
        .Case([&](LinearOp) { ++numLinear; })
        .Case([&](Conv2DOp) { ++numConv2d; })
        .Case([&](GeluOp) { ++numGelu; })
        .Case([&](SiluOp) { ++numSilu; })
        .Case([&](LayerNormOp) { ++numLayerNorm; })
        .Case([&](GroupNormOp) { ++numGroupNorm; })
        .Case([&](SoftmaxOp) { ++numSoftmax; })
        .Case([&](ModulateOp) { ++numModulate; });
  }

  /// Says why the products and convolutions left in place that look like a
  /// layer (they read a transposed weight, or a bias) were not raised.
  void reportNearMisses(ModuleOp module) {
    module.walk([&](Operation *op) {
      std::string whyNot;
      StringRef what;
      if (auto matmul = dyn_cast<linalg::MatmulOp>(op)) {
        (void)matchMatmulLinear(matmul, &whyNot);
        what = "linalg.matmul not raised to a linear";
      } else if (auto batch = dyn_cast<linalg::BatchMatmulOp>(op)) {
        (void)matchBatchMatmulLinear(batch, &whyNot);
        what = "linalg.batch_matmul not raised to a linear";
      } else if (auto conv = dyn_cast<linalg::Conv2DNchwFchwOp>(op)) {
        (void)matchConv(conv, &whyNot);
        what = "linalg.conv_2d_nchw_fchw not raised to a conv2d";
      }
      if (!whyNot.empty())
        remark::missed(op->getLoc(), remarkOpts("NotRaised"))
            << (what + ": " + whyNot).str();
    });
  }
};
} // namespace
} // namespace mlir::hqdm
