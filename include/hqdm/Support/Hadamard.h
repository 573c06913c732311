//===- Hadamard.h - Hadamard matrix constructions and transforms -*- C++ -*-===//
//
// This file declares hqdm's Hadamard library: which construction serves an
// order, the dense +-1 matrices, block-diagonal transforms and the fast
// transform. Passes, lowerings and tests all use it.
//
// Conventions (every user of the library relies on them):
//  * H_raw(n) is an n x n matrix of +-1 with H_raw * H_raw^T = n * I.
//    The normalized matrix is H(n) = H_raw(n) / sqrt(n), which is orthogonal.
//  * A transform multiplies a row vector on the right: y = x * H.
//  * An order n = K * 2^m is served as H_raw(n) = H_raw(K) (x) H_raw(2^m)
//    (Kronecker product, K the outer factor), so the flat index i = a*2^m + b
//    pairs row a of H_raw(K) with row b of H_raw(2^m).
//  * H_raw(2^m) is Sylvester's: H_raw(1) = [1], H_raw(2^(m+1)) = H_raw(2) (x)
//    H_raw(2^m) with H_raw(2) = [[1, 1], [1, -1]].
//  * K is the smallest base order in the table that leaves a power of two.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_SUPPORT_HADAMARD_H
#define HQDM_SUPPORT_HADAMARD_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::hqdm {

/// How a base order K (the non-power-of-two factor) is constructed.
enum class HadamardBaseKind {
  /// K = 1: the order is a power of two, pure Sylvester.
  Trivial,
  /// Paley I: K = q + 1 for a prime power q = 3 (mod 4).
  PaleyI,
  /// Paley II: K = 2(q + 1) for a prime power q = 1 (mod 4).
  PaleyII,
  /// Doubling: K = 2K' from H_raw(2) (x) H_raw(K').
  Doubling,
  /// Williamson: K = 4w from four symmetric circulant matrices of order w
  /// given by their first rows.
  Williamson,
};

/// The recipe for one Hadamard order n = baseOrder * 2^log2PowerOfTwo.
struct HadamardConstruction {
  int64_t order = 1;
  /// The non-power-of-two factor K (1 when n is a power of two).
  int64_t baseOrder = 1;
  /// m in 2^m.
  int64_t log2PowerOfTwo = 0;
  HadamardBaseKind baseKind = HadamardBaseKind::Trivial;
  /// The field size q for Paley constructions, the circulant order w for
  /// Williamson, the half order K' for doubling; 0 otherwise.
  int64_t parameter = 0;

  int64_t powerOfTwo() const { return int64_t(1) << log2PowerOfTwo; }
  /// A one-line human-readable description, e.g.
  /// "1152 = 36 x 32 (36: Paley II over GF(17); 32: Sylvester)".
  std::string describe() const;
};

/// The base orders K the library constructs, ascending (1 first).
llvm::ArrayRef<int64_t> getSupportedHadamardBaseOrders();

/// Returns the construction that serves order `n`, or an error that says why
/// none does (n <= 0, or n / K is not a power of two for any known K).
llvm::Expected<HadamardConstruction> getHadamardConstruction(int64_t n);

/// True if `getHadamardConstruction(n)` succeeds.
bool isSupportedHadamardOrder(int64_t n);

/// The +-1 base matrix of order K (row major, K*K entries). K must be one of
/// `getSupportedHadamardBaseOrders()`. Results are cached; the reference stays
/// valid for the lifetime of the program.
llvm::ArrayRef<int8_t> getBaseHadamardMatrix(int64_t baseOrder);

/// The dense +-1 matrix H_raw(n) (row major, n*n entries).
llvm::Expected<std::vector<int8_t>> getRawHadamardMatrix(int64_t n);

/// In-place y = x * H(n) (normalized) for each of `rows` contiguous rows of
/// length n, using butterflies over the 2^m factor and a K x K product for the
/// base factor. `data` holds rows * n values.
llvm::Error fastHadamardTransform(llvm::MutableArrayRef<float> data, int64_t n);
llvm::Error fastHadamardTransform(llvm::MutableArrayRef<double> data,
                                  int64_t n);

/// In-place block-diagonal transform: each row of length `rowLength` is split
/// into contiguous blocks of `block` features and each block is multiplied by
/// H(block). Requires rowLength % block == 0 and a supported block order.
llvm::Error blockHadamardTransform(llvm::MutableArrayRef<float> data,
                                   int64_t rowLength, int64_t block);

/// Exact integer version without normalization: each block is multiplied by
/// H_raw(block). Used to rotate quantized weights (W_int * H_raw).
llvm::Error blockHadamardTransformRaw(llvm::MutableArrayRef<int64_t> data,
                                      int64_t rowLength, int64_t block);

} // namespace mlir::hqdm

#endif // HQDM_SUPPORT_HADAMARD_H
