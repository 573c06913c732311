//===- HqdmToLinalg.cpp - Lower hqdm ops to linalg on tensors ---*- C++ -*-===//
//
// This file implements `convert-hqdm-to-linalg`, the CPU reference semantics
// of the hqdm dialect. Every op becomes linalg.generic (or a named linalg op)
// over tensors, so that upstream bufferization and lowering compile it. The
// arithmetic follows hqdm's numerics contract step by step: the integration
// tests compare it bit for bit (integers) or to 1e-6 (floats) with numpy.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Conversion/Passes.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"
#include "hqdm/Support/Hadamard.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace mlir::hqdm {
#define GEN_PASS_DEF_CONVERTHQDMTOLINALGPASS
#include "hqdm/Conversion/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;
using namespace mlir::hqdm;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// Collects the operands, indexing maps and a body for one elementwise or
/// reducing linalg.generic, so that patterns read as "these inputs, indexed
/// like this, combined like that".
struct GenericBuilder {
  GenericBuilder(OpBuilder &b, Location loc, unsigned numDims)
      : b(b), loc(loc), numDims(numDims) {}

  /// Adds an input read through `results` (dimension positions of the
  /// iteration space, one per input dimension). Returns its position among
  /// the body's block arguments.
  unsigned addInput(Value v, ArrayRef<unsigned> results) {
    inputs.push_back(v);
    maps.push_back(
        AffineMap::getMultiDimMapWithTargets(numDims, results, b.getContext()));
    return inputs.size() - 1;
  }
  /// Adds an input read through an arbitrary affine map.
  unsigned addInput(Value v, AffineMap map) {
    inputs.push_back(v);
    maps.push_back(map);
    return inputs.size() - 1;
  }

  Value build(Value init, ArrayRef<unsigned> outputResults,
              ArrayRef<utils::IteratorType> iterators,
              function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    SmallVector<AffineMap> allMaps(maps);
    allMaps.push_back(AffineMap::getMultiDimMapWithTargets(
        numDims, outputResults, b.getContext()));
    auto generic = linalg::GenericOp::create(
        b, loc, init.getType(), inputs, ValueRange{init}, allMaps, iterators,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          linalg::YieldOp::create(nb, nloc, body(nb, nloc, args));
        });
    return generic.getResult(0);
  }

  Value
  buildParallel(Value init, ArrayRef<unsigned> outputResults,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    SmallVector<utils::IteratorType> iterators(numDims,
                                               utils::IteratorType::parallel);
    return build(init, outputResults, iterators, body);
  }

  OpBuilder &b;
  Location loc;
  unsigned numDims;
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
};

SmallVector<unsigned> range(unsigned begin, unsigned end) {
  SmallVector<unsigned> r;
  for (unsigned i = begin; i < end; ++i)
    r.push_back(i);
  return r;
}

/// A tensor.empty shaped like `like` (dynamic sizes taken from it) with
/// element type `elementType`.
Value emptyLike(OpBuilder &b, Location loc, Value like, Type elementType) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value filled(OpBuilder &b, Location loc, Value empty, TypedAttr zero) {
  Value cst = arith::ConstantOp::create(b, loc, zero);
  return linalg::FillOp::create(b, loc, cst, empty).getResult(0);
}

/// Converts an integer scalar to `to`, sign- or zero-extending as asked.
Value castInt(OpBuilder &b, Location loc, Value v, Type to, bool isSigned) {
  unsigned from = v.getType().getIntOrFloatBitWidth();
  unsigned width = to.getIntOrFloatBitWidth();
  if (from == width)
    return v;
  if (from > width)
    return arith::TruncIOp::create(b, loc, to, v);
  if (isSigned)
    return arith::ExtSIOp::create(b, loc, to, v);
  return arith::ExtUIOp::create(b, loc, to, v);
}

/// Converts a float scalar to `to` (extension or truncation).
Value castFloat(OpBuilder &b, Location loc, Value v, Type to) {
  unsigned from = v.getType().getIntOrFloatBitWidth();
  unsigned width = to.getIntOrFloatBitWidth();
  if (v.getType() == to)
    return v;
  if (from < width)
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}

Value f32Const(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// The iteration-space dimensions that index a scale of `scheme`'s
/// granularity, for a quantized value of rank `rank`.
SmallVector<unsigned> scaleDims(QuantSchemeAttr scheme, unsigned rank) {
  switch (scheme.getGranularity()) {
  case Granularity::PerTensor:
    return {};
  case Granularity::PerChannel:
    return {static_cast<unsigned>(scheme.getAxis())};
  case Granularity::PerToken:
    return range(0, rank - 1);
  }
  llvm_unreachable("unknown granularity");
}

/// Computes the quantized level of `x` (f32) as an f32 holding an integer:
/// clamp(round_half_even(x / s) + z, min, max), or z when s == 0.
Value quantizeScalar(OpBuilder &b, Location loc, Value x, Value s, Value zf,
                     QuantSchemeAttr scheme) {
  Value r =
      math::RoundEvenOp::create(b, loc, arith::DivFOp::create(b, loc, x, s));
  if (zf)
    r = arith::AddFOp::create(b, loc, r, zf);
  // maxnumf/minnumf turn NaN into the lower bound rather than poison.
  r = arith::MaxNumFOp::create(b, loc, r,
                               f32Const(b, loc, scheme.getMinLevel()));
  r = arith::MinNumFOp::create(b, loc, r,
                               f32Const(b, loc, scheme.getMaxLevel()));
  Value zero = f32Const(b, loc, 0.0);
  Value isZeroScale =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, s, zero);
  return arith::SelectOp::create(b, loc, isZeroScale, zf ? zf : zero, r);
}

//===----------------------------------------------------------------------===//
// Quantizers
//===----------------------------------------------------------------------===//

/// Lowers a quantizer op to one elementwise linalg.generic over its input,
/// its scale and its zero point, both broadcast as the granularity says.
/// `body` computes one result element from (input element, scale, zero point
/// or a null value).
template <typename OpTy>
LogicalResult lowerQuantizer(
    OpTy op, typename OpTy::Adaptor adaptor,
    ConversionPatternRewriter &rewriter,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> body) {
  Location loc = op.getLoc();
  unsigned rank = op.getInput().getType().getRank();
  GenericBuilder gen(rewriter, loc, rank);
  unsigned x = gen.addInput(adaptor.getInput(), range(0, rank));
  SmallVector<unsigned> dims = scaleDims(op.getScheme(), rank);
  unsigned s = gen.addInput(adaptor.getScale(), dims);
  int z = adaptor.getZeroPoint()
              ? static_cast<int>(gen.addInput(adaptor.getZeroPoint(), dims))
              : -1;
  Value init = emptyLike(rewriter, loc, adaptor.getInput(),
                         op.getResult().getType().getElementType());
  Value result = gen.buildParallel(
      init, range(0, rank), [&](OpBuilder &b, Location l, ValueRange args) {
        return body(b, l, args[x], args[s], z < 0 ? Value() : args[z]);
      });
  rewriter.replaceOp(op, result);
  return success();
}

/// The zero point as f32, or a null value when there is none.
Value zeroPointAsFloat(OpBuilder &b, Location loc, Value zeroPoint) {
  if (!zeroPoint)
    return Value();
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), zeroPoint);
}

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    QuantSchemeAttr scheme = op.getScheme();
    Type outElt = op.getResult().getType().getElementType();
    return lowerQuantizer(
        op, adaptor, rewriter,
        [&](OpBuilder &b, Location l, Value x, Value s, Value z) {
          Value xf = castFloat(b, l, x, b.getF32Type());
          Value zf = zeroPointAsFloat(b, l, z);
          Value q = quantizeScalar(b, l, xf, s, zf, scheme);
          Value qi = arith::FPToSIOp::create(b, l, b.getI32Type(), q);
          return castInt(b, l, qi, outElt, /*isSigned=*/true);
        });
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    bool isSigned = op.getScheme().getSymmetric();
    Type outElt = op.getResult().getType().getElementType();
    return lowerQuantizer(
        op, adaptor, rewriter,
        [&](OpBuilder &b, Location l, Value q, Value s, Value z) {
          Value qi = castInt(b, l, q, b.getI32Type(), isSigned);
          if (z)
            qi = arith::SubIOp::create(b, l, qi, z);
          Value v = arith::SIToFPOp::create(b, l, b.getF32Type(), qi);
          v = arith::MulFOp::create(b, l, v, s);
          return castFloat(b, l, v, outElt);
        });
  }
};

struct FakeQuantLowering : OpConversionPattern<FakeQuantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(FakeQuantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    QuantSchemeAttr scheme = op.getScheme();
    Type elt = op.getResult().getType().getElementType();
    return lowerQuantizer(
        op, adaptor, rewriter,
        [&](OpBuilder &b, Location l, Value x, Value s, Value z) {
          Value xf = castFloat(b, l, x, b.getF32Type());
          Value zf = zeroPointAsFloat(b, l, z);
          Value q = quantizeScalar(b, l, xf, s, zf, scheme);
          // The levels are small integers, so q - z is exact in f32 and
          // equals the integer path's f32(q - z).
          if (zf)
            q = arith::SubFOp::create(b, l, q, zf);
          Value v = arith::MulFOp::create(b, l, q, s);
          return castFloat(b, l, v, elt);
        });
  }
};

struct TokenScaleLowering : OpConversionPattern<TokenScaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TokenScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    unsigned rank = op.getInput().getType().getRank();
    Value input = adaptor.getInput();
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, input);
    sizes.pop_back();
    Value init = filled(
        rewriter, loc,
        tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getF32Type()),
        rewriter.getF32FloatAttr(0.0));

    // absmax over the last dimension.
    GenericBuilder reduce(rewriter, loc, rank);
    reduce.addInput(input, range(0, rank));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    Value absmax =
        reduce.build(init, range(0, rank - 1), iterators,
                     [&](OpBuilder &b, Location l, ValueRange args) {
                       Value a = math::AbsFOp::create(
                           b, l, castFloat(b, l, args[0], b.getF32Type()));
                       return arith::MaximumFOp::create(b, l, args[1], a);
                     });

    double maxLevel = (int64_t(1) << (op.getBits() - 1)) - 1;
    GenericBuilder divide(rewriter, loc, rank - 1);
    divide.addInput(absmax, range(0, rank - 1));
    Value result = divide.buildParallel(
        tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getF32Type()),
        range(0, rank - 1), [&](OpBuilder &b, Location l, ValueRange args) {
          return arith::DivFOp::create(b, l, args[0], f32Const(b, l, maxLevel));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct StepSelectLowering : OpConversionPattern<StepSelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StepSelectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value table = adaptor.getTable();
    Value step = adaptor.getStep();
    Type i64 = rewriter.getI64Type();
    if (step.getType().isIndex())
      step = arith::IndexCastOp::create(rewriter, loc, i64, step);
    else
      step = castInt(rewriter, loc, step, i64, /*isSigned=*/true);

    auto i64Const = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getI64IntegerAttr(v));
    };
    // Map the step to its entry: the group containing it, or the step itself.
    Value entry = step;
    if (std::optional<ArrayRef<int64_t>> starts = op.getGroupStarts()) {
      entry = i64Const(0);
      for (auto [g, start] : llvm::enumerate(*starts)) {
        if (g == 0)
          continue;
        Value reached = arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::sge, step, i64Const(start));
        entry =
            arith::SelectOp::create(rewriter, loc, reached, i64Const(g), entry);
      }
    }
    // Clamp into [0, entries - 1].
    Value entries = arith::IndexCastOp::create(
        rewriter, loc, i64, tensor::DimOp::create(rewriter, loc, table, 0));
    Value last = arith::SubIOp::create(rewriter, loc, entries, i64Const(1));
    entry = arith::MaxSIOp::create(rewriter, loc, entry, i64Const(0));
    entry = arith::MinSIOp::create(rewriter, loc, entry, last);
    Value index = arith::IndexCastOp::create(rewriter, loc,
                                             rewriter.getIndexType(), entry);

    auto tableType = cast<RankedTensorType>(table.getType());
    SmallVector<OpFoldResult> offsets(tableType.getRank(),
                                      rewriter.getIndexAttr(0));
    offsets[0] = index;
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, table);
    sizes[0] = rewriter.getIndexAttr(1);
    SmallVector<OpFoldResult> strides(tableType.getRank(),
                                      rewriter.getIndexAttr(1));
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(
        op, op.getResult().getType(), table, offsets, sizes, strides);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Hadamard
//===----------------------------------------------------------------------===//

struct HadamardLowering : OpConversionPattern<HadamardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(HadamardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inputType = op.getInput().getType();
    auto resultType = op.getResult().getType();
    int64_t axis = op.getNormalizedAxis();
    int64_t block = op.getSpec().getBlock();
    llvm::Expected<HadamardConstruction> construction =
        getHadamardConstruction(block);
    if (!construction)
      return rewriter.notifyMatchFailure(
          op, llvm::toString(construction.takeError()));
    int64_t k = construction->baseOrder;
    int64_t m = construction->log2PowerOfTwo;
    bool isFloat = isa<FloatType>(inputType.getElementType());
    // Floats are rotated in f32; integers in the (wider) result type.
    Type computeType =
        isFloat ? Type(rewriter.getF32Type()) : resultType.getElementType();

    // Expand the rotated axis into [blocks, K (if > 1), 2, ..., 2].
    SmallVector<int64_t> factors = {inputType.getDimSize(axis) / block};
    if (k > 1)
      factors.push_back(k);
    factors.append(m, 2);
    SmallVector<int64_t> expandedShape;
    SmallVector<ReassociationIndices> reassociation;
    for (int64_t d = 0, e = inputType.getRank(); d < e; ++d) {
      ReassociationIndices group;
      if (d == axis) {
        for (int64_t f : factors) {
          group.push_back(expandedShape.size());
          expandedShape.push_back(f);
        }
      } else {
        group.push_back(expandedShape.size());
        expandedShape.push_back(inputType.getDimSize(d));
      }
      reassociation.push_back(group);
    }
    unsigned rank = expandedShape.size();
    unsigned baseDim = axis + 1; // Position of K (or of the first 2).

    // Widen the elements to the compute type first (elementwise).
    Value current = adaptor.getInput();
    if (inputType.getElementType() != computeType) {
      GenericBuilder gen(rewriter, loc, inputType.getRank());
      gen.addInput(current, range(0, inputType.getRank()));
      current = gen.buildParallel(
          emptyLike(rewriter, loc, current, computeType),
          range(0, inputType.getRank()),
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            if (isFloat)
              return castFloat(b, l, args[0], computeType);
            return castInt(b, l, args[0], computeType, /*isSigned=*/true);
          });
    }
    auto expandedType = RankedTensorType::get(expandedShape, computeType);
    current = tensor::ExpandShapeOp::create(rewriter, loc, expandedType,
                                            current, reassociation);

    // The dense K x K product along the K dimension:
    // y[.., j, ..] = sum_i x[.., i, ..] * H_K[i, j].
    if (k > 1) {
      ArrayRef<int8_t> hk = getBaseHadamardMatrix(k);
      auto matrixType = RankedTensorType::get({k, k}, computeType);
      DenseElementsAttr matrix;
      if (isFloat) {
        SmallVector<float> values(hk.begin(), hk.end());
        matrix = DenseElementsAttr::get(matrixType, ArrayRef<float>(values));
      } else {
        SmallVector<APInt> values;
        for (int8_t v : hk)
          values.push_back(APInt(computeType.getIntOrFloatBitWidth(), v,
                                 /*isSigned=*/true));
        matrix = DenseElementsAttr::get(matrixType, values);
      }
      Value hkValue = arith::ConstantOp::create(rewriter, loc, matrix);
      // Iteration space: the expanded dims plus one reduction dim at the end.
      unsigned reductionDim = rank;
      GenericBuilder gen(rewriter, loc, rank + 1);
      SmallVector<unsigned> inputDims = range(0, rank);
      inputDims[baseDim] = reductionDim;
      gen.addInput(current, inputDims);
      gen.addInput(hkValue, {reductionDim, baseDim});
      SmallVector<utils::IteratorType> iterators(rank + 1,
                                                 utils::IteratorType::parallel);
      iterators.back() = utils::IteratorType::reduction;
      TypedAttr zero = isFloat
                           ? TypedAttr(rewriter.getF32FloatAttr(0.0))
                           : TypedAttr(rewriter.getIntegerAttr(computeType, 0));
      Value init = filled(rewriter, loc,
                          emptyLike(rewriter, loc, current, computeType), zero);
      current = gen.build(
          init, range(0, rank), iterators,
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            if (isFloat)
              return arith::AddFOp::create(
                  b, l, args[2], arith::MulFOp::create(b, l, args[0], args[1]));
            return arith::AddIOp::create(
                b, l, args[2], arith::MulIOp::create(b, l, args[0], args[1]));
          });
    }

    // One two-point butterfly per power-of-two factor:
    // y[.., 0, ..] = x0 + x1 and y[.., 1, ..] = x0 - x1.
    for (int64_t f = 0; f < m; ++f) {
      unsigned dim = baseDim + (k > 1 ? 1 : 0) + f;
      MLIRContext *ctx = rewriter.getContext();
      SmallVector<AffineExpr> lowExprs, highExprs;
      for (unsigned d = 0; d < rank; ++d) {
        lowExprs.push_back(d == dim ? getAffineConstantExpr(0, ctx)
                                    : getAffineDimExpr(d, ctx));
        highExprs.push_back(d == dim ? getAffineConstantExpr(1, ctx)
                                     : getAffineDimExpr(d, ctx));
      }
      GenericBuilder gen(rewriter, loc, rank);
      gen.addInput(current, AffineMap::get(rank, 0, lowExprs, ctx));
      gen.addInput(current, AffineMap::get(rank, 0, highExprs, ctx));
      current = gen.buildParallel(
          emptyLike(rewriter, loc, current, computeType), range(0, rank),
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            Value index = linalg::IndexOp::create(b, l, dim);
            Value zeroIndex = arith::ConstantIndexOp::create(b, l, 0);
            Value isLow = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq,
                                                index, zeroIndex);
            Value sum, diff;
            if (isFloat) {
              sum = arith::AddFOp::create(b, l, args[0], args[1]);
              diff = arith::SubFOp::create(b, l, args[0], args[1]);
            } else {
              sum = arith::AddIOp::create(b, l, args[0], args[1]);
              diff = arith::SubIOp::create(b, l, args[0], args[1]);
            }
            return arith::SelectOp::create(b, l, isLow, sum, diff);
          });
    }

    // Back to the input's shape; normalize and narrow to the result type.
    auto collapsedType =
        RankedTensorType::get(inputType.getShape(), computeType);
    current = tensor::CollapseShapeOp::create(rewriter, loc, collapsedType,
                                              current, reassociation);
    bool normalize = isFloat && op.getSpec().getNormalized();
    if (normalize || computeType != resultType.getElementType()) {
      double factor = 1.0 / std::sqrt(static_cast<double>(block));
      Type outElt = resultType.getElementType();
      GenericBuilder gen(rewriter, loc, inputType.getRank());
      gen.addInput(current, range(0, inputType.getRank()));
      current = gen.buildParallel(
          emptyLike(rewriter, loc, current, outElt),
          range(0, inputType.getRank()),
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            Value v = args[0];
            if (normalize)
              v = arith::MulFOp::create(b, l, v, f32Const(b, l, factor));
            return castFloat(b, l, v, outElt);
          });
    }
    rewriter.replaceOp(op, current);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Quantized layers
//===----------------------------------------------------------------------===//

/// The dequantizing epilogue shared by qlinear and qconv2d:
/// y = ((f32(acc) * sx) * sw[c]) * multiplier + bias[c], where `channelDim`
/// is the output-channel dimension of `acc` and `tokenDims` the dimensions
/// that index a per-token input scale.
Value buildEpilogue(OpBuilder &b, Location loc, Value acc, Value inputScale,
                    ArrayRef<unsigned> tokenDims, Value weightScale,
                    unsigned channelDim, Value bias, float multiplier,
                    Type outElt) {
  unsigned rank = cast<RankedTensorType>(acc.getType()).getRank();
  GenericBuilder gen(b, loc, rank);
  unsigned a = gen.addInput(acc, range(0, rank));
  bool perToken = cast<RankedTensorType>(inputScale.getType()).getRank() != 0;
  unsigned sx =
      gen.addInput(inputScale, perToken ? tokenDims : ArrayRef<unsigned>{});
  bool perChannel =
      cast<RankedTensorType>(weightScale.getType()).getRank() != 0;
  unsigned sw =
      gen.addInput(weightScale, perChannel ? ArrayRef<unsigned>{channelDim}
                                           : ArrayRef<unsigned>{});
  int bi = bias ? int(gen.addInput(bias, {channelDim})) : -1;
  return gen.buildParallel(
      emptyLike(b, loc, acc, outElt), range(0, rank),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value v = arith::SIToFPOp::create(nb, l, nb.getF32Type(), args[a]);
        v = arith::MulFOp::create(nb, l, v, args[sx]);
        v = arith::MulFOp::create(nb, l, v, args[sw]);
        if (multiplier != 1.0f)
          v = arith::MulFOp::create(nb, l, v, f32Const(nb, l, multiplier));
        if (bi >= 0)
          v = arith::AddFOp::create(
              nb, l, v, castFloat(nb, l, args[bi], nb.getF32Type()));
        return castFloat(nb, l, v, outElt);
      });
}

/// `v - zeroPoint` as i32 (elementwise), extending `v` with zero extension
/// when a zero point is present (unsigned levels), sign extension otherwise.
/// `zeroPointDims` index the zero point within `v`'s dimensions.
Value centerLevels(OpBuilder &b, Location loc, Value v, Value zeroPoint,
                   ArrayRef<unsigned> zeroPointDims) {
  unsigned rank = cast<RankedTensorType>(v.getType()).getRank();
  GenericBuilder gen(b, loc, rank);
  gen.addInput(v, range(0, rank));
  if (zeroPoint)
    gen.addInput(zeroPoint, zeroPointDims);
  bool isSigned = !zeroPoint;
  return gen.buildParallel(emptyLike(b, loc, v, b.getI32Type()), range(0, rank),
                           [&](OpBuilder &nb, Location l, ValueRange args) {
                             Value x = castInt(nb, l, args[0], nb.getI32Type(),
                                               isSigned);
                             if (zeroPoint)
                               x = arith::SubIOp::create(nb, l, x, args[1]);
                             return x;
                           });
}

struct QLinearLowering : OpConversionPattern<QLinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    unsigned rank = op.getInput().getType().getRank();
    unsigned batchDims = rank - 1;
    SmallVector<unsigned> tokenDims = range(0, batchDims);
    auto scaleDimsOf = [&](Value scale, ArrayRef<unsigned> dims) {
      return cast<RankedTensorType>(scale.getType()).getRank() == 0
                 ? SmallVector<unsigned>{}
                 : SmallVector<unsigned>(dims);
    };

    Value x = centerLevels(rewriter, loc, adaptor.getInput(),
                           adaptor.getInputZeroPoint(),
                           scaleDimsOf(adaptor.getInputScale(), tokenDims));
    Value w = centerLevels(rewriter, loc, adaptor.getWeight(),
                           adaptor.getWeightZeroPoint(),
                           scaleDimsOf(adaptor.getWeightScale(), {0}));

    // acc[b..., n] = sum_k x[b..., k] * w[n, k]; iteration (b..., n, k).
    unsigned nDim = batchDims, kDim = batchDims + 1;
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, adaptor.getInput());
    sizes.back() = tensor::getMixedSize(rewriter, loc, adaptor.getWeight(), 0);
    Value init = filled(
        rewriter, loc,
        tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getI32Type()),
        rewriter.getI32IntegerAttr(0));
    GenericBuilder gen(rewriter, loc, rank + 1);
    SmallVector<unsigned> xDims = tokenDims;
    xDims.push_back(kDim);
    gen.addInput(x, xDims);
    gen.addInput(w, {nDim, kDim});
    SmallVector<utils::IteratorType> iterators(rank + 1,
                                               utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    SmallVector<unsigned> outDims = tokenDims;
    outDims.push_back(nDim);
    Value acc = gen.build(init, outDims, iterators,
                          [&](OpBuilder &b, Location l, ValueRange args) {
                            return arith::AddIOp::create(
                                b, l, args[2],
                                arith::MulIOp::create(b, l, args[0], args[1]));
                          });

    Value result =
        buildEpilogue(rewriter, loc, acc, adaptor.getInputScale(), tokenDims,
                      adaptor.getWeightScale(), nDim, adaptor.getBias(),
                      op.getMultiplier().convertToFloat(),
                      op.getResult().getType().getElementType());
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct QConv2DLowering : OpConversionPattern<QConv2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QConv2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    bool perChannel =
        cast<RankedTensorType>(adaptor.getWeightScale().getType()).getRank() !=
        0;
    Value x = centerLevels(rewriter, loc, adaptor.getInput(),
                           adaptor.getInputZeroPoint(), {});
    Value w = centerLevels(
        rewriter, loc, adaptor.getWeight(), adaptor.getWeightZeroPoint(),
        perChannel ? SmallVector<unsigned>{0} : SmallVector<unsigned>{});

    // Centered levels pad with 0, which is the input's real zero.
    ArrayRef<int64_t> padding = op.getPadding();
    if (padding[0] != 0 || padding[1] != 0) {
      SmallVector<OpFoldResult> low = {
          rewriter.getIndexAttr(0), rewriter.getIndexAttr(0),
          rewriter.getIndexAttr(padding[0]), rewriter.getIndexAttr(padding[1])};
      Value zero = arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getI32IntegerAttr(0));
      x = tensor::PadOp::create(rewriter, loc, Type(), x, low, low, zero);
    }

    auto resultType = op.getResult().getType();
    SmallVector<OpFoldResult> sizes;
    for (int64_t d = 0; d < 4; ++d) {
      if (!resultType.isDynamicDim(d)) {
        sizes.push_back(rewriter.getIndexAttr(resultType.getDimSize(d)));
        continue;
      }
      if (d > 1)
        return rewriter.notifyMatchFailure(
            op, "dynamic spatial output sizes are not supported");
      sizes.push_back(tensor::getMixedSize(rewriter, loc, d == 0 ? x : w, 0));
    }
    Value init = filled(
        rewriter, loc,
        tensor::EmptyOp::create(rewriter, loc, sizes, rewriter.getI32Type()),
        rewriter.getI32IntegerAttr(0));
    Value acc =
        linalg::Conv2DNchwFchwOp::create(
            rewriter, loc, init.getType(), ValueRange{x, w}, ValueRange{init},
            rewriter.getI64TensorAttr(op.getStrides()),
            rewriter.getI64TensorAttr(op.getDilations()))
            .getResult(0);

    Value result = buildEpilogue(
        rewriter, loc, acc, adaptor.getInputScale(), {},
        adaptor.getWeightScale(), 1, adaptor.getBias(),
        op.getMultiplier().convertToFloat(), resultType.getElementType());
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct ConvertHqdmToLinalgPass
    : public mlir::hqdm::impl::ConvertHqdmToLinalgPassBase<
          ConvertHqdmToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<HqdmDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateHqdmToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::hqdm::populateHqdmToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<QuantizeLowering, DequantizeLowering, FakeQuantLowering,
               TokenScaleLowering, StepSelectLowering, HadamardLowering,
               QLinearLowering, QConv2DLowering>(patterns.getContext());
}
