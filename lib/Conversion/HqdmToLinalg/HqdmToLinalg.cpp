//===- HqdmToLinalg.cpp - Lower hqdm ops to linalg on tensors ---*- C++ -*-===//
//
// This file implements `convert-hqdm-to-linalg`, the CPU reference semantics
// of the hqdm dialect. Every op becomes linalg.generic (or a named linalg op)
// over tensors, so that upstream bufferization and lowering compile it, except
// where linalg cannot express the op: the histogram of hqdm.observe (a
// scatter) and the search of a long hqdm.step_index list are scf.for loops
// over tensors. The arithmetic follows hqdm's numerics contract step by step:
// the integration tests compare it bit for bit (integers) or to 1e-6 (floats)
// with numpy, and the float layers, which reduce in f32, to 1e-5 of their
// terms' magnitude.
//
//===----------------------------------------------------------------------===//

#include "../Gelu.h"
#include "hqdm/Conversion/Passes.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"
#include "hqdm/Support/Hadamard.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

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

/// Builds `gen` as a reduction over the iteration dimensions `reduced` into a
/// new f32 accumulator holding `init` and indexed by the other dimensions.
/// `like` is a tensor shaped like the iteration space (for dynamic sizes).
Value buildReduction(
    GenericBuilder &gen, Value like, ArrayRef<unsigned> reduced, double init,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<OpFoldResult> sizes;
  SmallVector<unsigned> kept;
  SmallVector<utils::IteratorType> iterators;
  for (auto [d, size] :
       llvm::enumerate(tensor::getMixedSizes(gen.b, gen.loc, like))) {
    if (llvm::is_contained(reduced, d)) {
      iterators.push_back(utils::IteratorType::reduction);
      continue;
    }
    iterators.push_back(utils::IteratorType::parallel);
    kept.push_back(d);
    sizes.push_back(size);
  }
  Value empty =
      tensor::EmptyOp::create(gen.b, gen.loc, sizes, gen.b.getF32Type());
  Value acc = filled(gen.b, gen.loc, empty, gen.b.getF32FloatAttr(init));
  return gen.build(acc, kept, iterators, body);
}

/// `v` with its elements extended to f32 (an elementwise linalg.generic), or
/// `v` itself when it already holds f32.
Value extendToF32(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType().isF32())
    return v;
  unsigned rank = type.getRank();
  GenericBuilder gen(b, loc, rank);
  gen.addInput(v, range(0, rank));
  return gen.buildParallel(emptyLike(b, loc, v, b.getF32Type()), range(0, rank),
                           [&](OpBuilder &nb, Location l, ValueRange args) {
                             return castFloat(nb, l, args[0], nb.getF32Type());
                           });
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

/// Replaces a dynamic scale op by the scale of a symmetric `bits`-bit
/// quantizer: max |x| over the dimensions of `input` from `firstReduced` on,
/// divided by 2^(bits-1) - 1 (0 for all-zero slices).
LogicalResult lowerAbsMaxScale(Operation *op, Value input, unsigned bits,
                               unsigned firstReduced,
                               ConversionPatternRewriter &rewriter) {
  Location loc = op->getLoc();
  unsigned rank = cast<RankedTensorType>(input.getType()).getRank();
  GenericBuilder reduce(rewriter, loc, rank);
  reduce.addInput(input, range(0, rank));
  Value absmax =
      buildReduction(reduce, input, range(firstReduced, rank), 0.0,
                     [&](OpBuilder &b, Location l, ValueRange args) {
                       Value a = math::AbsFOp::create(
                           b, l, castFloat(b, l, args[0], b.getF32Type()));
                       return arith::MaximumFOp::create(b, l, args[1], a);
                     });

  double maxLevel = (int64_t(1) << (bits - 1)) - 1;
  GenericBuilder divide(rewriter, loc, firstReduced);
  divide.addInput(absmax, range(0, firstReduced));
  Value result = divide.buildParallel(
      emptyLike(rewriter, loc, absmax, rewriter.getF32Type()),
      range(0, firstReduced), [&](OpBuilder &b, Location l, ValueRange args) {
        return arith::DivFOp::create(b, l, args[0], f32Const(b, l, maxLevel));
      });
  rewriter.replaceOp(op, result);
  return success();
}

struct TokenScaleLowering : OpConversionPattern<TokenScaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TokenScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    unsigned rank = op.getInput().getType().getRank();
    return lowerAbsMaxScale(op, adaptor.getInput(), op.getBits(), rank - 1,
                            rewriter);
  }
};

struct TensorScaleLowering : OpConversionPattern<TensorScaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TensorScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    return lowerAbsMaxScale(op, adaptor.getInput(), op.getBits(),
                            /*firstReduced=*/0, rewriter);
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
        op, cast<RankedTensorType>(op.getResult().getType()), table, offsets,
        sizes, strides);
    return success();
  }
};

/// Step lists of at most this many entries are searched by an unrolled chain
/// of compares and selects; longer ones by an scf.for over a constant tensor.
constexpr size_t kMaxUnrolledSteps = 64;

/// Reads the first element of the timestep (a scalar or a tensor of rank 0 or
/// 1), converts it to f64 (signless integers as signed) and keeps the index
/// of the nearest step, the first one on a tie: a candidate replaces the best
/// so far only when strictly closer. A NaN timestep is closer to nothing and
/// selects step 0.
struct StepIndexLowering : OpConversionPattern<StepIndexOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(StepIndexOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type f64 = rewriter.getF64Type();
    Value t = adaptor.getTimestep();
    if (auto tensorType = dyn_cast<RankedTensorType>(t.getType())) {
      Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
      SmallVector<Value> indices(tensorType.getRank(), zero);
      t = tensor::ExtractOp::create(rewriter, loc, t, indices);
    }
    t = isa<FloatType>(t.getType())
            ? castFloat(rewriter, loc, t, f64)
            : Value(arith::SIToFPOp::create(rewriter, loc, f64, t));

    ArrayRef<double> steps = op.getSteps();
    auto distance = [&](OpBuilder &b, Location l, Value step) -> Value {
      return math::AbsFOp::create(b, l, arith::SubFOp::create(b, l, t, step));
    };
    auto f64Const = [&](OpBuilder &b, Location l, double v) -> Value {
      return arith::ConstantOp::create(b, l, b.getF64FloatAttr(v));
    };
    // One step of the search: (best, its distance) updated with candidate
    // `index` at `d`.
    auto keepCloser = [&](OpBuilder &b, Location l, Value index, Value d,
                          Value best, Value bestDistance) {
      Value closer = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, d,
                                           bestDistance);
      return std::make_pair(
          Value(arith::SelectOp::create(b, l, closer, index, best)),
          Value(arith::SelectOp::create(b, l, closer, d, bestDistance)));
    };

    Value best = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value bestDistance =
        distance(rewriter, loc, f64Const(rewriter, loc, steps[0]));
    if (steps.size() <= kMaxUnrolledSteps) {
      for (size_t i = 1; i < steps.size(); ++i) {
        Value index = arith::ConstantIndexOp::create(rewriter, loc, i);
        Value d = distance(rewriter, loc, f64Const(rewriter, loc, steps[i]));
        std::tie(best, bestDistance) =
            keepCloser(rewriter, loc, index, d, best, bestDistance);
      }
      rewriter.replaceOp(op, best);
      return success();
    }

    auto tableType =
        RankedTensorType::get({static_cast<int64_t>(steps.size())}, f64);
    Value table = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(tableType, steps));
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value end = arith::ConstantIndexOp::create(rewriter, loc, steps.size());
    auto loop = scf::ForOp::create(
        rewriter, loc, one, end, one, ValueRange{best, bestDistance},
        [&](OpBuilder &b, Location l, Value i, ValueRange carried) {
          Value step = tensor::ExtractOp::create(b, l, table, i);
          auto [nextBest, nextDistance] =
              keepCloser(b, l, i, distance(b, l, step), carried[0], carried[1]);
          scf::YieldOp::create(b, l, ValueRange{nextBest, nextDistance});
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Calibration
//===----------------------------------------------------------------------===//

/// The per-channel minimum and maximum of `x` along `axis`, in f32, from one
/// linalg.generic with two outputs (one pass over `x`). minnumf/maxnumf skip
/// NaNs: an all-NaN channel keeps its +inf/-inf initial values.
std::pair<Value, Value> buildChannelRange(OpBuilder &b, Location loc, Value x,
                                          unsigned axis) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  Type f32 = b.getF32Type();
  double inf = std::numeric_limits<double>::infinity();
  SmallVector<OpFoldResult> channels = {tensor::getMixedSize(b, loc, x, axis)};
  auto init = [&](double value) {
    Value empty = tensor::EmptyOp::create(b, loc, channels, f32);
    return filled(b, loc, empty, b.getF32FloatAttr(value));
  };
  Value inits[] = {init(inf), init(-inf)};
  MLIRContext *ctx = b.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap channel = AffineMap::getMultiDimMapWithTargets(rank, {axis}, ctx);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::reduction);
  iterators[axis] = utils::IteratorType::parallel;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{inits[0].getType(), inits[1].getType()}, ValueRange{x},
      ValueRange(inits), ArrayRef<AffineMap>{identity, channel, channel},
      iterators, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value v = castFloat(nb, l, args[0], nb.getF32Type());
        Value lo = arith::MinNumFOp::create(nb, l, args[1], v);
        Value hi = arith::MaxNumFOp::create(nb, l, args[2], v);
        linalg::YieldOp::create(nb, l, ValueRange{lo, hi});
      });
  return {generic.getResult(0), generic.getResult(1)};
}

/// The histogram of every element of `x` over `bins` equal bins of
/// [low, high), an i32 tensor<bins>. linalg cannot scatter, so this is an
/// scf.for over the flattened input carrying the histogram: each iteration
/// extracts one element, computes its bin and inserts the bin's count plus
/// one, which bufferizes in place (one store per element, no copy). The bin
/// is clamp(floor(((x - low) * bins) / (high - low)), 0, bins - 1), computed
/// in f64 in that order (deterministic, and exact for dyadic bin edges);
/// values outside the range count in the first or last bin, +-inf included,
/// and NaNs are not counted (they add 0 to bin 0).
Value buildHistogram(OpBuilder &b, Location loc, Value x, int64_t bins,
                     double low, double high) {
  auto type = cast<RankedTensorType>(x.getType());
  Type f64 = b.getF64Type();
  Type i32 = b.getI32Type();
  Value flat = x;
  if (type.getRank() != 1) {
    ReassociationIndices all;
    for (int64_t d = 0, e = type.getRank(); d < e; ++d)
      all.push_back(d);
    flat = tensor::CollapseShapeOp::create(b, loc, x,
                                           ArrayRef<ReassociationIndices>{all});
  }
  Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{bins}, i32);
  Value zeros = filled(b, loc, empty, b.getI32IntegerAttr(0));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = tensor::DimOp::create(b, loc, flat, 0);
  auto f64Const = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  };
  Value lowValue = f64Const(low);
  Value binsValue = f64Const(static_cast<double>(bins));
  Value width = f64Const(high - low);
  Value firstBin = f64Const(0.0);
  Value lastBin = f64Const(static_cast<double>(bins - 1));
  Value zeroCount = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  Value oneCount = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(1));
  auto loop = scf::ForOp::create(
      b, loc, zero, count, one, ValueRange{zeros},
      [&](OpBuilder &nb, Location l, Value i, ValueRange carried) {
        Value histogram = carried[0];
        Value element = tensor::ExtractOp::create(nb, l, flat, i);
        Value v = castFloat(nb, l, element, f64);
        Value position = arith::SubFOp::create(nb, l, v, lowValue);
        position = arith::MulFOp::create(nb, l, position, binsValue);
        position = arith::DivFOp::create(nb, l, position, width);
        position = math::FloorOp::create(nb, l, position);
        // maxnumf turns a NaN into bin 0, where it adds 0.
        position = arith::MaxNumFOp::create(nb, l, position, firstBin);
        position = arith::MinNumFOp::create(nb, l, position, lastBin);
        Value bin = arith::IndexCastOp::create(
            nb, l, nb.getIndexType(),
            arith::FPToSIOp::create(nb, l, nb.getI64Type(), position));
        Value isNumber =
            arith::CmpFOp::create(nb, l, arith::CmpFPredicate::ORD, v, v);
        Value increment =
            arith::SelectOp::create(nb, l, isNumber, oneCount, zeroCount);
        Value old = tensor::ExtractOp::create(nb, l, histogram, bin);
        Value updated = arith::AddIOp::create(nb, l, old, increment);
        Value next = tensor::InsertOp::create(nb, l, updated, histogram, bin);
        scf::YieldOp::create(nb, l, next);
      });
  return loop.getResult(0);
}

struct ObserveLowering : OpConversionPattern<ObserveOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ObserveOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto [lo, hi] = buildChannelRange(rewriter, loc, x, op.getNormalizedAxis());
    SmallVector<Value> results = {lo, hi};
    if (op.getHistogram())
      results.push_back(buildHistogram(rewriter, loc, x, *op.getBins(),
                                       op.getLow()->convertToDouble(),
                                       op.getHigh()->convertToDouble()));
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// y = (x - shift[c]) / divisor[c] in f32, rounded to x's element type.
struct ChannelShiftLowering : OpConversionPattern<ChannelShiftOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ChannelShiftOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    unsigned rank = op.getInput().getType().getRank();
    unsigned axis = op.getNormalizedAxis();
    Type elt = op.getResult().getType().getElementType();
    GenericBuilder gen(rewriter, loc, rank);
    gen.addInput(adaptor.getInput(), range(0, rank));
    gen.addInput(adaptor.getShift(), {axis});
    gen.addInput(adaptor.getDivisor(), {axis});
    Value result = gen.buildParallel(
        emptyLike(rewriter, loc, adaptor.getInput(), elt), range(0, rank),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = castFloat(b, l, args[0], b.getF32Type());
          Value centered = arith::SubFOp::create(b, l, v, args[1]);
          Value y = arith::DivFOp::create(b, l, centered, args[2]);
          return castFloat(b, l, y, elt);
        });
    rewriter.replaceOp(op, result);
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

/// The product `x * w^T` of a linear layer: acc[b..., n] = sum_k of
/// x[b..., k] and w[n, k], combined by `multiplyAdd(x, w, acc)` into an
/// `accElt` accumulator that starts at 0. `x` is [..., K], `w` is [N, K].
Value buildLinearProduct(
    OpBuilder &b, Location loc, Value x, Value w, Type accElt,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)>
        multiplyAdd) {
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  unsigned batchDims = rank - 1;
  // Iteration space (b..., n, k).
  unsigned nDim = batchDims, kDim = batchDims + 1;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  sizes.back() = tensor::getMixedSize(b, loc, w, 0);
  Value init = filled(b, loc, tensor::EmptyOp::create(b, loc, sizes, accElt),
                      b.getZeroAttr(accElt));
  GenericBuilder gen(b, loc, rank + 1);
  SmallVector<unsigned> xDims = range(0, batchDims);
  xDims.push_back(kDim);
  gen.addInput(x, xDims);
  gen.addInput(w, {nDim, kDim});
  SmallVector<utils::IteratorType> iterators(rank + 1,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  SmallVector<unsigned> outDims = range(0, batchDims);
  outDims.push_back(nDim);
  return gen.build(init, outDims, iterators,
                   [&](OpBuilder &nb, Location l, ValueRange args) {
                     return multiplyAdd(nb, l, args[0], args[1], args[2]);
                   });
}

/// `x` (NCHW) padded with zeros on both sides of H and W by `padding`.
Value padSpatial(OpBuilder &b, Location loc, Value x,
                 ArrayRef<int64_t> padding) {
  if (padding[0] == 0 && padding[1] == 0)
    return x;
  SmallVector<OpFoldResult> low = {b.getIndexAttr(0), b.getIndexAttr(0),
                                   b.getIndexAttr(padding[0]),
                                   b.getIndexAttr(padding[1])};
  Type elementType = cast<RankedTensorType>(x.getType()).getElementType();
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
  return tensor::PadOp::create(b, loc, Type(), x, low, low, zero);
}

/// A zero-filled `accElt` accumulator for a convolution's [N, F, OH, OW]
/// result: N from `input`, F from `weight` where dynamic. Fails on dynamic
/// output spatial sizes, which the lowering does not support.
FailureOr<Value> convAccumulator(OpBuilder &b, Location loc,
                                 RankedTensorType resultType, Value input,
                                 Value weight, Type accElt) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < 4; ++d) {
    if (!resultType.isDynamicDim(d)) {
      sizes.push_back(b.getIndexAttr(resultType.getDimSize(d)));
      continue;
    }
    if (d > 1)
      return failure();
    sizes.push_back(tensor::getMixedSize(b, loc, d == 0 ? input : weight, 0));
  }
  return filled(b, loc, tensor::EmptyOp::create(b, loc, sizes, accElt),
                b.getZeroAttr(accElt));
}

/// acc += conv(x, w) as linalg.conv_2d_nchw_fchw, which extends narrower
/// operands to the accumulator's type.
Value buildConv2D(OpBuilder &b, Location loc, Value x, Value w, Value acc,
                  ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations) {
  // The named op's builder takes its window attributes as dense tensors; a
  // DenseI64ArrayAttr would be silently dropped (and default to 1).
  return linalg::Conv2DNchwFchwOp::create(
             b, loc, acc.getType(), ValueRange{x, w}, ValueRange{acc},
             b.getI64TensorAttr(strides), b.getI64TensorAttr(dilations))
      .getResult(0);
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

    Value acc = buildLinearProduct(
        rewriter, loc, x, w, rewriter.getI32Type(),
        [](OpBuilder &b, Location l, Value xv, Value wv, Value acc) {
          Value product = arith::MulIOp::create(b, l, xv, wv);
          return arith::AddIOp::create(b, l, acc, product);
        });
    Value result =
        buildEpilogue(rewriter, loc, acc, adaptor.getInputScale(), tokenDims,
                      adaptor.getWeightScale(), batchDims, adaptor.getBias(),
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
    x = padSpatial(rewriter, loc, x, op.getPadding());

    auto resultType = op.getResult().getType();
    FailureOr<Value> init =
        convAccumulator(rewriter, loc, resultType, x, w, rewriter.getI32Type());
    if (failed(init))
      return rewriter.notifyMatchFailure(
          op, "dynamic spatial output sizes are not supported");
    Value acc = buildConv2D(rewriter, loc, x, w, *init, op.getStrides(),
                            op.getDilations());

    Value result = buildEpilogue(
        rewriter, loc, acc, adaptor.getInputScale(), {},
        adaptor.getWeightScale(), 1, adaptor.getBias(),
        op.getMultiplier().convertToFloat(), resultType.getElementType());
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Float layers
//===----------------------------------------------------------------------===//
//
// Float layers compute in f32 whatever their element type: operands are
// extended where they are read, and only the result is rounded to the op's
// element type.

/// `weight` read in the rotated basis: its dimension `axis` multiplied by the
/// block Hadamard `rotation`, in f32. The new hqdm.hadamard is legalized by the
/// conversion driver like any other hqdm op.
Value rotateWeight(OpBuilder &b, Location loc, Value weight,
                   HadamardSpecAttr rotation, int64_t axis) {
  Value w = extendToF32(b, loc, weight);
  return HadamardOp::create(b, loc, w.getType(), w, rotation,
                            b.getI64IntegerAttr(axis));
}

/// `acc` (f32) plus `bias[c]` along dimension `channelDim` (no bias when
/// null), rounded to `outElt`; `acc` itself when there is nothing to do.
Value addBiasAndConvert(OpBuilder &b, Location loc, Value acc, Value bias,
                        unsigned channelDim, Type outElt) {
  if (!bias && outElt.isF32())
    return acc;
  unsigned rank = cast<RankedTensorType>(acc.getType()).getRank();
  GenericBuilder gen(b, loc, rank);
  gen.addInput(acc, range(0, rank));
  if (bias)
    gen.addInput(bias, {channelDim});
  Value init = emptyLike(b, loc, acc, outElt);
  return gen.buildParallel(
      init, range(0, rank), [&](OpBuilder &nb, Location l, ValueRange args) {
        Value v = args[0];
        if (bias) {
          Value biasValue = castFloat(nb, l, args[1], nb.getF32Type());
          v = arith::AddFOp::create(nb, l, v, biasValue);
        }
        return castFloat(nb, l, v, outElt);
      });
}

/// `x` (f32 after extension) plus the constant `shift` [K] along its last
/// dimension, an f32 tensor (an elementwise linalg.generic).
Value addInputShift(OpBuilder &b, Location loc, Value x, ElementsAttr shift) {
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  Value s = arith::ConstantOp::create(b, loc, cast<TypedAttr>(shift));
  GenericBuilder gen(b, loc, rank);
  gen.addInput(x, range(0, rank));
  gen.addInput(s, {rank - 1});
  return gen.buildParallel(emptyLike(b, loc, x, b.getF32Type()), range(0, rank),
                           [&](OpBuilder &nb, Location l, ValueRange args) {
                             Value v =
                                 castFloat(nb, l, args[0], nb.getF32Type());
                             return arith::AddFOp::create(nb, l, v, args[1]);
                           });
}

struct LinearLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value w = adaptor.getWeight();
    // W * R: the rotation acts on the weight's K axis.
    if (HadamardSpecAttr rotation = op.getInputRotationAttr())
      w = rotateWeight(rewriter, loc, w, rotation, /*axis=*/1);
    // (x + s) in f32: the layer adds back the shift its input arrives with.
    if (ElementsAttr shift = op.getInputShiftAttr())
      x = addInputShift(rewriter, loc, x, shift);
    Value acc = buildLinearProduct(
        rewriter, loc, x, w, rewriter.getF32Type(),
        [](OpBuilder &b, Location l, Value xv, Value wv, Value acc) {
          Value xf = castFloat(b, l, xv, b.getF32Type());
          Value wf = castFloat(b, l, wv, b.getF32Type());
          Value product = arith::MulFOp::create(b, l, xf, wf);
          return arith::AddFOp::create(b, l, acc, product);
        });
    unsigned channelDim = op.getInput().getType().getRank() - 1;
    rewriter.replaceOp(
        op, addBiasAndConvert(rewriter, loc, acc, adaptor.getBias(), channelDim,
                              op.getResult().getType().getElementType()));
    return success();
  }
};

struct Conv2DLowering : OpConversionPattern<Conv2DOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Conv2DOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = op.getResult().getType();
    FailureOr<Value> init =
        convAccumulator(rewriter, loc, resultType, adaptor.getInput(),
                        adaptor.getWeight(), rewriter.getF32Type());
    if (failed(init))
      return rewriter.notifyMatchFailure(
          op, "dynamic spatial output sizes are not supported");
    Value w = adaptor.getWeight();
    // W[f, :, kh, kw] * R for every kernel tap: the rotation acts on axis C.
    if (HadamardSpecAttr rotation = op.getInputRotationAttr())
      w = rotateWeight(rewriter, loc, w, rotation, /*axis=*/1);
    Value x = padSpatial(rewriter, loc, adaptor.getInput(), op.getPadding());
    Value acc = buildConv2D(rewriter, loc, x, w, *init, op.getStrides(),
                            op.getDilations());
    rewriter.replaceOp(op,
                       addBiasAndConvert(rewriter, loc, acc, adaptor.getBias(),
                                         1, resultType.getElementType()));
    return success();
  }
};

/// Replaces `op` by one elementwise linalg.generic over `input` that applies
/// `body` to each element extended to f32 and rounds the result back to the
/// input's element type.
LogicalResult
lowerUnaryInF32(Operation *op, Value input, ConversionPatternRewriter &rewriter,
                function_ref<Value(OpBuilder &, Location, Value)> body) {
  Location loc = op->getLoc();
  auto type = cast<RankedTensorType>(input.getType());
  Type elt = type.getElementType();
  unsigned rank = type.getRank();
  GenericBuilder gen(rewriter, loc, rank);
  gen.addInput(input, range(0, rank));
  Value init = emptyLike(rewriter, loc, input, elt);
  Value result = gen.buildParallel(
      init, range(0, rank), [&](OpBuilder &b, Location l, ValueRange args) {
        Value x = castFloat(b, l, args[0], b.getF32Type());
        return castFloat(b, l, body(b, l, x), elt);
      });
  rewriter.replaceOp(op, result);
  return success();
}

struct GeluLowering : OpConversionPattern<GeluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    bool useTanh = op.getApproximate() == GeluApproximation::Tanh;
    return lowerUnaryInF32(op, adaptor.getInput(), rewriter,
                           [&](OpBuilder &b, Location l, Value x) {
                             return buildGeluF32(b, l, x, useTanh);
                           });
  }
};

struct SiluLowering : OpConversionPattern<SiluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SiluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    return lowerUnaryInF32(op, adaptor.getInput(), rewriter,
                           [](OpBuilder &b, Location l, Value x) {
                             return buildSiluF32(b, l, x);
                           });
  }
};

/// The number of elements of `x` in its dimensions `dims`, as an f32 value
/// (exact up to 2^24).
Value elementCount(OpBuilder &b, Location loc, Value x,
                   ArrayRef<unsigned> dims) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t staticCount = 1;
  Value dynamicCount;
  for (unsigned d : dims) {
    if (!type.isDynamicDim(d)) {
      staticCount *= type.getDimSize(d);
      continue;
    }
    Value size = tensor::DimOp::create(b, loc, x, d);
    dynamicCount =
        dynamicCount ? Value(arith::MulIOp::create(b, loc, dynamicCount, size))
                     : size;
  }
  if (!dynamicCount)
    return f32Const(b, loc, staticCount);
  if (staticCount != 1) {
    Value factor = arith::ConstantIndexOp::create(b, loc, staticCount);
    dynamicCount = arith::MulIOp::create(b, loc, dynamicCount, factor);
  }
  Value asInt =
      arith::IndexCastOp::create(b, loc, b.getI64Type(), dynamicCount);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
}

/// Normalizes `x` over its dimensions from `firstReduced` on, in f32:
/// y = (x - mean) / sqrt(var + epsilon) * weight + bias with the mean and the
/// biased variance of each slice, rounded to `outElt`. `weight` and `bias`
/// (either may be null) are indexed by the dimensions `affineDims` of `x`.
Value buildNormalization(OpBuilder &b, Location loc, Value x,
                         unsigned firstReduced, float epsilon, Value weight,
                         Value bias, ArrayRef<unsigned> affineDims,
                         Type outElt) {
  unsigned rank = cast<RankedTensorType>(x.getType()).getRank();
  SmallVector<unsigned> all = range(0, rank);
  SmallVector<unsigned> slices = range(0, firstReduced);
  SmallVector<unsigned> reduced = range(firstReduced, rank);
  Value count = elementCount(b, loc, x, reduced);
  Type f32 = b.getF32Type();

  // Two passes over x: the mean, then the sum of squared deviations from it
  // (more accurate in f32 than E[x^2] - E[x]^2).
  GenericBuilder sumGen(b, loc, rank);
  sumGen.addInput(x, all);
  Value sum = buildReduction(sumGen, x, reduced, 0.0,
                             [&](OpBuilder &nb, Location l, ValueRange args) {
                               Value xf = castFloat(nb, l, args[0], f32);
                               return arith::AddFOp::create(nb, l, args[1], xf);
                             });
  GenericBuilder meanGen(b, loc, firstReduced);
  meanGen.addInput(sum, slices);
  Value mean = meanGen.buildParallel(
      emptyLike(b, loc, sum, f32), slices,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return arith::DivFOp::create(nb, l, args[0], count);
      });
  GenericBuilder squaresGen(b, loc, rank);
  squaresGen.addInput(x, all);
  squaresGen.addInput(mean, slices);
  Value squares = buildReduction(
      squaresGen, x, reduced, 0.0,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value xf = castFloat(nb, l, args[0], f32);
        Value deviation = arith::SubFOp::create(nb, l, xf, args[1]);
        Value square = arith::MulFOp::create(nb, l, deviation, deviation);
        return arith::AddFOp::create(nb, l, args[2], square);
      });

  GenericBuilder gen(b, loc, rank);
  unsigned xi = gen.addInput(x, all);
  unsigned mi = gen.addInput(mean, slices);
  unsigned si = gen.addInput(squares, slices);
  int wi = weight ? static_cast<int>(gen.addInput(weight, affineDims)) : -1;
  int bi = bias ? static_cast<int>(gen.addInput(bias, affineDims)) : -1;
  return gen.buildParallel(
      emptyLike(b, loc, x, outElt), all,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value variance = arith::DivFOp::create(nb, l, args[si], count);
        Value shifted =
            arith::AddFOp::create(nb, l, variance, f32Const(nb, l, epsilon));
        Value stdDev = math::SqrtOp::create(nb, l, shifted);
        Value xf = castFloat(nb, l, args[xi], f32);
        Value centered = arith::SubFOp::create(nb, l, xf, args[mi]);
        Value y = arith::DivFOp::create(nb, l, centered, stdDev);
        if (wi >= 0)
          y = arith::MulFOp::create(nb, l, y, castFloat(nb, l, args[wi], f32));
        if (bi >= 0)
          y = arith::AddFOp::create(nb, l, y, castFloat(nb, l, args[bi], f32));
        return castFloat(nb, l, y, outElt);
      });
}

struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    unsigned last = op.getInput().getType().getRank() - 1;
    rewriter.replaceOp(
        op, buildNormalization(rewriter, op.getLoc(), adaptor.getInput(), last,
                               op.getEpsilon().convertToFloat(),
                               adaptor.getWeight(), adaptor.getBias(), {last},
                               op.getResult().getType().getElementType()));
    return success();
  }
};

struct GroupNormLowering : OpConversionPattern<GroupNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GroupNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getInput().getType();
    int64_t channels = type.getDimSize(1);
    if (ShapedType::isDynamic(channels))
      return rewriter.notifyMatchFailure(
          op, "a dynamic channel count is not supported");
    int64_t groups = op.getGroups();

    // [N, C, S...] -> [N, G, C/G, S...]: each (n, g) is normalized over its
    // trailing dimensions; weight and bias [C] -> [G, C/G].
    SmallVector<int64_t> shape = {type.getDimSize(0), groups,
                                  channels / groups};
    llvm::append_range(shape, type.getShape().drop_front(2));
    SmallVector<ReassociationIndices> reassociation = {{0}, {1, 2}};
    for (int64_t d = 3, e = shape.size(); d < e; ++d)
      reassociation.push_back({d});
    Value x = tensor::ExpandShapeOp::create(
        rewriter, loc, RankedTensorType::get(shape, type.getElementType()),
        adaptor.getInput(), reassociation);
    auto expandVector = [&](Value v) -> Value {
      if (!v)
        return v;
      auto vectorType = RankedTensorType::get(
          {groups, channels / groups},
          cast<RankedTensorType>(v.getType()).getElementType());
      return tensor::ExpandShapeOp::create(
          rewriter, loc, vectorType, v, ArrayRef<ReassociationIndices>{{0, 1}});
    };
    Value weight = expandVector(adaptor.getWeight());
    Value bias = expandVector(adaptor.getBias());

    Value y = buildNormalization(
        rewriter, loc, x, /*firstReduced=*/2, op.getEpsilon().convertToFloat(),
        weight, bias, {1, 2}, op.getResult().getType().getElementType());
    rewriter.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, y, reassociation);
    return success();
  }
};

struct SoftmaxLowering : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    unsigned rank = op.getInput().getType().getRank();
    unsigned axis = op.getNormalizedAxis();
    SmallVector<unsigned> all = range(0, rank);
    SmallVector<unsigned> others = all;
    others.erase(others.begin() + axis);
    Type f32 = rewriter.getF32Type();
    // exp(x - max) for an element `v` of x.
    auto shiftedExp = [&](OpBuilder &b, Location l, Value v, Value max) {
      Value shifted = arith::SubFOp::create(b, l, castFloat(b, l, v, f32), max);
      return math::ExpOp::create(b, l, shifted);
    };

    GenericBuilder maxGen(rewriter, loc, rank);
    maxGen.addInput(x, all);
    Value max = buildReduction(
        maxGen, x, {axis}, -std::numeric_limits<double>::infinity(),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value xf = castFloat(b, l, args[0], f32);
          return arith::MaximumFOp::create(b, l, args[1], xf);
        });
    GenericBuilder sumGen(rewriter, loc, rank);
    sumGen.addInput(x, all);
    sumGen.addInput(max, others);
    Value sum = buildReduction(sumGen, x, {axis}, 0.0,
                               [&](OpBuilder &b, Location l, ValueRange args) {
                                 Value e = shiftedExp(b, l, args[0], args[1]);
                                 return arith::AddFOp::create(b, l, args[2], e);
                               });
    GenericBuilder gen(rewriter, loc, rank);
    gen.addInput(x, all);
    gen.addInput(max, others);
    gen.addInput(sum, others);
    Type elt = op.getResult().getType().getElementType();
    Value result =
        gen.buildParallel(emptyLike(rewriter, loc, x, elt), all,
                          [&](OpBuilder &b, Location l, ValueRange args) {
                            Value e = shiftedExp(b, l, args[0], args[1]);
                            Value y = arith::DivFOp::create(b, l, e, args[2]);
                            return castFloat(b, l, y, elt);
                          });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ModulateLowering : OpConversionPattern<ModulateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ModulateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    unsigned rank = op.getInput().getType().getRank();
    Type elt = op.getResult().getType().getElementType();
    // shift and scale [B, D] broadcast over the middle dimensions.
    GenericBuilder gen(rewriter, loc, rank);
    gen.addInput(adaptor.getInput(), range(0, rank));
    gen.addInput(adaptor.getShift(), {0, rank - 1});
    gen.addInput(adaptor.getScale(), {0, rank - 1});
    Value result = gen.buildParallel(
        emptyLike(rewriter, loc, adaptor.getInput(), elt), range(0, rank),
        [&](OpBuilder &b, Location l, ValueRange args) {
          Type f32 = b.getF32Type();
          Value x = castFloat(b, l, args[0], f32);
          Value shift = castFloat(b, l, args[1], f32);
          Value scale = castFloat(b, l, args[2], f32);
          // y = x * (1 + scale) + shift.
          Value factor =
              arith::AddFOp::create(b, l, f32Const(b, l, 1.0), scale);
          Value scaled = arith::MulFOp::create(b, l, x, factor);
          Value y = arith::AddFOp::create(b, l, scaled, shift);
          return castFloat(b, l, y, elt);
        });
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
    // Launches of generated GPU kernels are host code, lowered later.
    target.addLegalOp<GpuLaunchOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateHqdmToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

/// sqrt(2/pi), the constant of PyTorch's tanh GELU, to double precision (it
/// rounds to 0.797884583 in f32); shorter decimal forms change the results.
constexpr double kSqrt2OverPi = 0.7978845608028654;

Value hqdm::buildSiluF32(OpBuilder &b, Location l, Value x) {
  Value negated = arith::NegFOp::create(b, l, x);
  Value e = math::ExpOp::create(b, l, negated);
  Value denominator = arith::AddFOp::create(b, l, f32Const(b, l, 1.0), e);
  return arith::DivFOp::create(b, l, x, denominator);
}

Value hqdm::buildGeluF32(OpBuilder &b, Location l, Value x, bool tanhForm) {
  Value f;
  if (tanhForm) {
    Value square = arith::MulFOp::create(b, l, x, x);
    Value cube = arith::MulFOp::create(b, l, square, x);
    Value term = arith::MulFOp::create(b, l, f32Const(b, l, 0.044715), cube);
    Value sum = arith::AddFOp::create(b, l, x, term);
    Value inner =
        arith::MulFOp::create(b, l, f32Const(b, l, kSqrt2OverPi), sum);
    f = math::TanhOp::create(b, l, inner);
  } else {
    Value scaled =
        arith::DivFOp::create(b, l, x, f32Const(b, l, std::sqrt(2.0)));
    f = math::ErfOp::create(b, l, scaled);
  }
  Value onePlus = arith::AddFOp::create(b, l, f32Const(b, l, 1.0), f);
  Value half = arith::MulFOp::create(b, l, f32Const(b, l, 0.5), x);
  return arith::MulFOp::create(b, l, half, onePlus);
}

void mlir::hqdm::populateHqdmToLinalgPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<QuantizeLowering, DequantizeLowering, FakeQuantLowering,
               TokenScaleLowering, TensorScaleLowering, StepSelectLowering,
               StepIndexLowering, HadamardLowering, QLinearLowering,
               QConv2DLowering>(ctx);
  patterns.add<ObserveLowering, ChannelShiftLowering>(ctx);
  patterns.add<LinearLowering, Conv2DLowering, GeluLowering, SiluLowering,
               LayerNormLowering, GroupNormLowering, SoftmaxLowering,
               ModulateLowering>(ctx);
}
