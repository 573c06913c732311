//===- Kernels.h - generated GPU kernels for quantized layers ---*- C++ -*-===//
//
// The kernels that `convert-hqdm-to-gpu` generates for one quantized linear
// or convolution layer, specialised to its shapes: a prologue that rotates,
// scales, quantizes and packs the activations, and a tensor-core GEMM (an
// implicit GEMM for convolutions) whose epilogue dequantizes.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_CONVERSION_HQDMTOGPU_KERNELS_H
#define HQDM_LIB_CONVERSION_HQDMTOGPU_KERNELS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mlir::hqdm::gpu_kernels {

/// Threads per block of every kernel.
constexpr int64_t kThreads = 128;

/// The gpu.module that holds the generated layer kernels.
constexpr llvm::StringLiteral kKernelModule = "hqdm_kernels";

/// How the integer product runs on the tensor cores.
enum class MmaKind {
  /// mma.sync m16n8k64 s4 x s4: both operands are 4-bit (sm_80 to sm_89).
  Int4,
  /// mma.sync m16n8k32 s8 x s8; 4-bit operands are unpacked to bytes in
  /// registers (every chip; the only integer path on sm_90).
  Int8,
  /// wgmma.mma_async m64nNk32 s8 x s8 with both operands in shared memory
  /// (sm_90a); activations and weights are stored as bytes.
  Wgmma,
};

/// The activation the GEMM epilogue applies after the bias.
enum class EpilogueActivation { None, Gelu, GeluTanh };

/// Elementwise code fused into a generated kernel (Fusion.cpp builds it from
/// the ops it replaces): the buffers it reads, which the kernel takes as extra
/// arguments (identity layouts), and a builder of the fused value of one
/// element from the element's index and those arguments.
struct FusedElementwise {
  using Apply = std::function<Value(OpBuilder &, Location, Value value,
                                    ValueRange index, ValueRange operands)>;
  SmallVector<Type> operands;
  Apply apply;
  /// The fused ops, for the layer's remark ("layer_norm, modulate").
  std::string description;

  explicit operator bool() const { return static_cast<bool>(apply); }
};

/// The window of a convolution (NCHW input, FCHW weight) run as an implicit
/// GEMM: A is [batch * outH * outW, taps * channelsPad()], gathered from the
/// activations packed per pixel (NHWC, channels padded), B the weight
/// reordered to [F, (kh, kw, c)].
struct ConvGeometry {
  int64_t batch = 1, channels = 0, height = 0, width = 0;
  int64_t kernelH = 1, kernelW = 1;
  int64_t strideH = 1, strideW = 1, padH = 0, padW = 0;
  int64_t dilationH = 1, dilationW = 1;

  int64_t outH() const {
    return (height + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1;
  }
  int64_t outW() const {
    return (width + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1;
  }
  int64_t taps() const { return kernelH * kernelW; }
  int64_t pixels() const { return batch * height * width; }
  /// Channels a packed pixel holds: whole 32-element prologue chunks, so
  /// that a 16-byte copy never straddles two taps.
  int64_t channelsPad() const { return (channels + 31) / 32 * 32; }
};

/// Everything the kernels of one layer are specialised to.
struct LayerKernelConfig {
  std::string name; ///< Symbol prefix (a valid identifier).
  int64_t m = 0, n = 0, k = 0;          ///< The layer's sizes: [M,K] x [N,K]^T.
  int64_t mPad = 0, nPad = 0, kPad = 0; ///< Padded to the tiles.
  unsigned activationBits = 4; ///< Storage width of activations: 4 or 8.
  int64_t activationMaxLevel = 7; ///< Symmetric levels [-max, max].
  unsigned weightBits = 4;        ///< Storage width of a weight digit: 4 or 8.
  unsigned weightPlanes = 1; ///< 1, or 2 for int8 digits w = lo + 128 * hi.
  MmaKind mma = MmaKind::Int8;
  int64_t hadamardBlock = 1; ///< Normalized block rotation (1: none).
  bool dynamicScale = true;  ///< Per-token absmax scales (else one given).
  bool perChannelWeightScale = true;
  bool hasBias = false;
  float multiplier = 1.0f;
  EpilogueActivation activation = EpilogueActivation::None;
  Type outputType; ///< f32, f16 or bf16.
  /// A row normalization at the head of the prologue (linear layers whose
  /// row stays in registers): x <- (x - mean) / sqrt(var + epsilon) over the
  /// K elements of the row, with the biased variance, before prologueOps.
  std::optional<float> prologueNorm;
  /// Applied to each input element, index (row, k) of [M, K], before the
  /// rotation (linear layers).
  FusedElementwise prologueOps;
  /// Applied to each f32 output element after the bias and the activation;
  /// index (row, col) of [M, N], or (n, f, oh, ow) for a convolution.
  FusedElementwise epilogueOps;
  int64_t tileM = 128, tileN = 128; ///< Thread-block tile.
  /// Set for a convolution; planLayer then derives m and k from it.
  std::optional<ConvGeometry> conv;

  /// Whether the GEMM reads one scale per row of A (linear layers with
  /// dynamic scales); convolutions have one scale per tensor.
  bool perTokenScale() const { return dynamicScale && !conv; }
  /// Blocks of the prologue: a warp per row (linear) or a thread per pixel
  /// (convolution).
  int64_t prologueBlocks() const;
  /// Whether the prologue keeps a whole row in registers (read once; needed
  /// for a fused row normalization). Valid after planLayer.
  bool prologueKeepsRow() const;
  /// Per-warp partial maxima of a convolution's dynamic scale.
  int64_t partialMaxima() const { return prologueBlocks() * (kThreads / 32); }

  /// Elements of K per shared-memory stage.
  int64_t tileK() const { return mma == MmaKind::Int4 ? 128 : 64; }
  /// 32-bit words per row of packed activations / of one weight plane.
  int64_t activationWords() const { return kPad * activationBits / 32; }
  int64_t weightWords() const { return kPad * weightBits / 32; }
  /// Static shared memory the GEMM uses, in bytes.
  int64_t sharedBytes() const;
  /// Accumulator registers per thread.
  int64_t accumulators() const {
    return weightPlanes * (tileM / 32) * (tileN / 16) * 4;
  }

  // The buffers the kernels take (identity layouts, default memory space).
  MemRefType inputType(MLIRContext *ctx) const; ///< [M, K] or NCHW f32
  MemRefType givenScaleType(MLIRContext *ctx) const;   ///< rank 0 f32
  MemRefType tokenScaleType(MLIRContext *ctx) const;   ///< [mPad] f32
  /// [mPad, words] i32, or [pixels, channel words] for a convolution.
  MemRefType packedInputType(MLIRContext *ctx) const;
  MemRefType partialMaxType(MLIRContext *ctx) const; ///< [partialMaxima()]
  MemRefType packedWeightType(MLIRContext *ctx) const; ///< [planes, nPad, words]
  MemRefType weightScaleType(MLIRContext *ctx) const;  ///< [N] or rank 0
  MemRefType biasType(MLIRContext *ctx) const;         ///< [N]
  MemRefType outputMemRefType(MLIRContext *ctx) const; ///< [M, N] or NCHW
};

/// How the prologue rotates one segment of a row: max(block, 32) elements,
/// of which lane l holds elements l + 32 j in its values j = 0 .. V - 1.
/// With the block B = K * 2^m and the element a * 2^m + b of a block, the
/// CPU reference (convert-hqdm-to-linalg) first forms, for each b, the sums
/// over a of x[a] * H_K[a][a'] in order a = 0 .. K - 1 starting from 0, then
/// applies one butterfly (x0 + x1, x0 - x1) per power-of-two factor at
/// distances 2^(m-1) down to 1, then multiplies by f32(1 / sqrt(B)). The
/// prologue repeats exactly these operations: the H_K sums are in-register
/// adds and subtracts (2^m >= 32 when K > 1, so a block's K rows of b lie in
/// one lane), distances of 32 and more pair values within a lane, and
/// shorter ones pair lanes by shuffles.
struct RotationPlan {
  int64_t block = 1;
  int64_t baseOrder = 1;     ///< K (1 when the block is a power of two).
  int64_t valuesPerLane = 1; ///< V: max(block, 32) / 32.
  /// Butterfly distances in elements, in the order they are applied.
  std::vector<int64_t> distances;
  float normalization = 1.0f; ///< f32(1 / sqrt(block)).

  int64_t segment() const { return 32 * valuesPerLane; }
  /// Values of one lane that hold one row of H_K's input (2^m / 32).
  int64_t valuesPerBaseRow() const { return valuesPerLane / baseOrder; }
};

/// The rotation plan for a normalized block, or why the prologue cannot
/// rotate it.
std::string planRotation(int64_t block, RotationPlan &plan);

/// Chooses the tile sizes, padding and the MMA kind for a layer; returns an
/// empty string, or why the layer cannot run on the chip.
std::string planLayer(LayerKernelConfig &config, int64_t smCount);

/// Switches a matched layer to the wgmma GEMM: activations and weights are
/// stored as bytes (4-bit levels too), since wgmma has no 4-bit type and
/// reads its operands from shared memory as they are.
void useWgmma(LayerKernelConfig &config);

/// Where the wgmma GEMM keeps one K tile of an operand (the tileM rows of A,
/// or the tileN rows of one weight plane) in shared memory, in the
/// no-swizzle K-major layout of the PTX ISA: core matrices of 8 rows x 16
/// bytes of K, 128 contiguous bytes each. The 16-byte chunk `chunk` of K of
/// row `row` lies at `offset(chunk, row)`: the chunks of all rows are stored
/// one K chunk after the other, so core matrices adjacent in M/N are 128
/// bytes apart and those adjacent in K `rows * 16` bytes apart.
struct WgmmaTileLayout {
  int64_t rows = 0;   ///< Rows of the tile (M or N).
  int64_t chunks = 0; ///< 16-byte K chunks per row.

  int64_t bytes() const { return rows * chunks * 16; }
  int64_t offset(int64_t chunk, int64_t row) const {
    return (chunk * rows + row) * 16;
  }
  /// The descriptor's leading dimension byte offset: between core matrices
  /// adjacent in K.
  int64_t leadingByteOffset() const { return rows * 16; }
  /// The descriptor's stride dimension byte offset: between core matrices
  /// adjacent in M or N.
  int64_t strideByteOffset() const { return 8 * 16; }
};
WgmmaTileLayout wgmmaLayoutA(const LayerKernelConfig &config);
WgmmaTileLayout wgmmaLayoutB(const LayerKernelConfig &config);

/// A wgmma matrix descriptor without swizzling: bits 0-13 the shared-memory
/// address, 16-29 the leading and 32-45 the stride byte offset, each in
/// units of 16 bytes; base offset 0; swizzle mode 0 (bits 62-63).
uint64_t wgmmaDescriptor(uint64_t address, int64_t leadingByteOffset,
                         int64_t strideByteOffset);

/// Packs centered integer weights ([N, K] row-major, |w| within the digit
/// range) into the layout the GEMM reads.
std::vector<int32_t> packWeights(const LayerKernelConfig &config,
                                 const std::vector<int64_t> &weights);

/// A convolution's centered weights ([F, C, KH, KW] row-major) as the rows of
/// the implicit GEMM's B: [F, (kh, kw, c)] with c padded to channelsPad().
std::vector<int64_t> convWeightsToGemm(const LayerKernelConfig &config,
                                       const std::vector<int64_t> &weights);

/// Output pixel (n, oh, ow) of row `m` of a convolution's implicit GEMM.
/// Written once for two arithmetics: `a` is the kernel builder (V = Value)
/// or integers (V = int64_t, the unit tests' model of the kernel); it
/// provides idx, add, sub, mul, div, rem (unsigned), ult, andI and select.
template <typename Arith, typename V>
std::array<V, 3> convOutputPixel(Arith &a, const LayerKernelConfig &c, V m) {
  const ConvGeometry &g = *c.conv;
  V plane = a.idx(g.outH() * g.outW());
  V rest = a.rem(m, plane);
  return {a.div(m, plane), a.div(rest, a.idx(g.outW())),
          a.rem(rest, a.idx(g.outW()))};
}

/// Where the implicit GEMM's A loader reads word `kWord` of row `m`: the
/// packed pixel `row`, its word `word`, and whether the tap lands inside
/// the input (else the copy zero-fills, and row and word are 0). K runs over
/// the taps (kh, kw), each holding channelsPad() channels.
template <typename V> struct ConvSource {
  V row, word, valid;
};
template <typename Arith, typename V>
ConvSource<V> convGatherSource(Arith &a, const LayerKernelConfig &c, V m,
                               V kWord) {
  const ConvGeometry &g = *c.conv;
  V tapWords = a.idx(g.channelsPad() * c.activationBits / 32);
  V tap = a.div(kWord, tapWords);
  V kh = a.div(tap, a.idx(g.kernelW)), kw = a.rem(tap, a.idx(g.kernelW));
  auto [n, oh, ow] = convOutputPixel(a, c, m);
  // Padding makes these negative, which wraps to large unsigned values.
  V ih = a.sub(a.add(a.mul(oh, a.idx(g.strideH)), a.mul(kh, a.idx(g.dilationH))),
               a.idx(g.padH));
  V iw = a.sub(a.add(a.mul(ow, a.idx(g.strideW)), a.mul(kw, a.idx(g.dilationW))),
               a.idx(g.padW));
  V valid = a.andI(a.andI(a.ult(m, a.idx(c.m)), a.ult(tap, a.idx(g.taps()))),
                   a.andI(a.ult(ih, a.idx(g.height)), a.ult(iw, a.idx(g.width))));
  V row = a.add(a.mul(a.add(a.mul(n, a.idx(g.height)), ih), a.idx(g.width)), iw);
  return {a.select(valid, row, a.idx(0)),
          a.select(valid, a.rem(kWord, tapWords), a.idx(0)), valid};
}

/// The prologue: one warp per row, block Hadamard in the CPU reference's
/// operation order (the base-order product in registers, butterflies across
/// registers and then across lanes), per-token absmax (or the given scale),
/// round-half-even quantization, packing.
/// Arguments: input, scale (given: rank 0, read; dynamic: [mPad], written),
/// packed input (written), then the operands of the fused prologue ops.
gpu::GPUFuncOp buildPrologueKernel(OpBuilder &builder, Location loc,
                                   const LayerKernelConfig &config);

/// A convolution's prologue, one thread per pixel (coalesced NCHW reads; the
/// block Hadamard along C runs in registers), in one of two roles:
/// - `absmaxPass`: arguments input, partial maxima (written): each warp's
///   max |rotated input|;
/// - otherwise: arguments input, then the given scale (rank 0), or the
///   partial maxima and the scale (rank 0, written by the first thread);
///   then the packed input (written): each pixel's quantized channels.
gpu::GPUFuncOp buildConvPrologueKernel(OpBuilder &builder, Location loc,
                                       const LayerKernelConfig &config,
                                       bool absmaxPass);

/// The GEMM: cp.async double buffering, mma.sync, dequantizing epilogue
/// (with the activation, if any); for a convolution, A is gathered from the
/// packed pixels and the output is written NCHW. Arguments: packed input,
/// input scale, packed weight, weight scale, [bias], the operands of the
/// fused epilogue ops, output.
gpu::GPUFuncOp buildGemmKernel(OpBuilder &builder, Location loc,
                               const LayerKernelConfig &config);

/// The GEMM on sm_90a: one warpgroup, cp.async double buffering into the
/// layouts above, wgmma.mma_async from shared-memory descriptors, the same
/// dequantizing epilogue. Same arguments as buildGemmKernel.
gpu::GPUFuncOp buildWgmmaGemmKernel(OpBuilder &builder, Location loc,
                                    const LayerKernelConfig &config);

/// The most row values a prologue lane keeps in registers: a whole rotation
/// block (so blocks up to 4608 = 36 * 128), and a whole row where it fits,
/// which is then read once.
constexpr int64_t kMaxValuesPerLane = 144;

} // namespace mlir::hqdm::gpu_kernels

#endif // HQDM_LIB_CONVERSION_HQDMTOGPU_KERNELS_H
