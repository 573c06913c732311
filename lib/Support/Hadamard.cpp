//===- Hadamard.cpp - Hadamard matrix constructions and transforms --------===//
//
// This file implements hqdm's Hadamard library: the table of base orders, the
// constructions that build each base matrix, the Kronecker rule for K * 2^m,
// and the dense, fast and block-diagonal transforms.
//
// Every matrix is built by a construction; nothing but the Williamson seeds
// (four short first rows per order, a fact from the literature) is tabulated.
// The conventions below are exact, so that an independent implementation
// (test/Integration/reference/hadamard_ref.py) reproduces the same matrices
// entry for entry.
//
// Finite fields. GF(q), q = p^k, is GF(p)[x]/(f) with one fixed monic
// irreducible f per field (the Conway polynomials):
//   GF(25) = GF(5)[x]/(x^2 + 4x + 2),  GF(27) = GF(3)[x]/(x^3 + 2x + 1),
// and f = x (plain arithmetic mod p) for a prime q. The element with index
// i in 0..q-1 is the polynomial whose coefficients are the base-p digits of i,
// the least significant digit being the coefficient of x^0. The quadratic
// character is chi(0) = 0, chi(a) = 1 if a is a nonzero square, -1 otherwise.
// The Jacobsthal matrix is Q[i][j] = chi(a_i - a_j), a_i the element of
// index i.
//
// Paley I (q = 3 mod 4, order q + 1): Q is skew. With row/column 0 standing
// for the point at infinity, S = [[0, 1^T], [-1, Q]] is skew with
// S * S^T = q * I, and H = I + S.
//
// Paley II (q = 1 mod 4, order 2(q + 1)): Q is symmetric.
// C = [[0, 1^T], [1, Q]] is a symmetric conference matrix and
//   H = C (x) [[1, 1], [1, -1]] + I (x) [[1, -1], [-1, -1]],
// so H[2r + s][2c + t] = C[r][c] * [[1, 1], [1, -1]][s][t] when r != c and
// [[1, -1], [-1, -1]][s][t] when r == c.
//
// Doubling (order 2K'): H = H_raw(2) (x) H_raw(K') = [[H', H'], [H', -H']].
//
// Williamson (order 4w): A, B, C, D are the symmetric circulant matrices with
// first rows a, b, c, d (A[i][j] = a[(j - i) mod w]), with
// A^2 + B^2 + C^2 + D^2 = 4w * I, and
//   H = [[ A,  B,  C,  D],
//        [-B,  A, -D,  C],
//        [-C,  D,  A, -B],
//        [-D, -C,  B,  A]].
//
//===----------------------------------------------------------------------===//

#include "hqdm/Support/Hadamard.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>

using namespace mlir;
using namespace mlir::hqdm;
using llvm::ArrayRef;
using llvm::Error;
using llvm::Expected;
using llvm::MutableArrayRef;

namespace {

/// One row of the base-order table.
struct BaseOrderInfo {
  int64_t order;
  HadamardBaseKind kind;
  /// q for Paley, w for Williamson, K' for doubling, 0 for the trivial order.
  int64_t parameter;
};

/// The base orders, ascending. 40 is listed for completeness: every order it
/// could serve is also 20 * 2^(m+1), and the smaller K wins.
constexpr BaseOrderInfo kBaseOrders[] = {
    {1, HadamardBaseKind::Trivial, 0},
    {12, HadamardBaseKind::PaleyI, 11},
    {20, HadamardBaseKind::PaleyI, 19},
    {28, HadamardBaseKind::PaleyI, 27},
    {36, HadamardBaseKind::PaleyII, 17},
    {40, HadamardBaseKind::Doubling, 20},
    {52, HadamardBaseKind::PaleyII, 25},
    {60, HadamardBaseKind::PaleyI, 59},
    {108, HadamardBaseKind::PaleyI, 107},
    {140, HadamardBaseKind::PaleyI, 139},
    {156, HadamardBaseKind::Williamson, 39},
    {172, HadamardBaseKind::Williamson, 43},
};
constexpr size_t kNumBaseOrders = std::size(kBaseOrders);

/// First rows of a Williamson quadruple: four symmetric +-1 sequences of
/// length w ('+' = 1, '-' = -1) whose circulants satisfy
/// A^2 + B^2 + C^2 + D^2 = 4w * I.
struct WilliamsonSeeds {
  int64_t w;
  std::array<llvm::StringLiteral, 4> rows;
};

/// The quadruples for w = 39 and w = 43, as tabulated by SageMath
/// (williamson_type_quadruples_smallcases in
/// sage/combinat/matrices/hadamard_matrix.py), which cites:
///  * w = 39 from S. London, "Constructing New Turyn Type Sequences,
///    T-Sequences and Hadamard Matrices", PhD thesis, University of Illinois
///    at Chicago, 2013;
///  * w = 43 from M. Hall Jr., "Combinatorial Theory", 2nd edition, Wiley,
///    1983.
/// The unit tests check symmetry and the sum-of-squares identity.
constexpr WilliamsonSeeds kWilliamsonSeeds[] = {
    {39,
     {"+++--+-+-----+--++----++--+-----+-+--++",
      "+++--++-+---+-+--+----+--+-+---+-++--++",
      "++++---+--++----+-+--+-+----++--+---+++",
      "+---++-+-+-----+++-++-+++-----+-+-++---"}},
    {43,
     {"++---++++-+--+--++--------++--+--+-++++---+",
      "+++-+-++--+-+-++++-+----+-++++-+-+--++-+-++",
      "++-++++++----+-+--++-++-++--+-+----++++++-+",
      "+---++--++++-+-+++-++--++-+++-+-++++--++---"}},
};

/// A finite field GF(p^k) = GF(p)[x]/(f), elements indexed by their base-p
/// digits (digit i = coefficient of x^i).
class GaloisField {
public:
  /// `lowCoefficients` are f_0 .. f_{k-1} of the monic modulus
  /// f = x^k + f_{k-1} x^{k-1} + ... + f_0.
  GaloisField(int64_t characteristic, ArrayRef<int64_t> lowCoefficients)
      : p(characteristic), k(lowCoefficients.size()),
        modulus(lowCoefficients.begin(), lowCoefficients.end()) {
    q = 1;
    for (int64_t i = 0; i < k; ++i)
      q *= p;
    isNonzeroSquare.assign(q, false);
    for (int64_t a = 1; a < q; ++a)
      isNonzeroSquare[mul(a, a)] = true;
  }

  int64_t size() const { return q; }

  int64_t sub(int64_t a, int64_t b) const {
    std::vector<int64_t> da = digits(a), db = digits(b);
    for (int64_t i = 0; i < k; ++i)
      da[i] = (da[i] - db[i] + p) % p;
    return fromDigits(da);
  }

  int64_t mul(int64_t a, int64_t b) const {
    std::vector<int64_t> da = digits(a), db = digits(b);
    std::vector<int64_t> prod(2 * k - 1, 0);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        prod[i + j] = (prod[i + j] + da[i] * db[j]) % p;
    // Reduce with x^k = -(f_0 + ... + f_{k-1} x^{k-1}), top degree first.
    for (int64_t d = 2 * k - 2; d >= k; --d) {
      int64_t c = prod[d];
      prod[d] = 0;
      for (int64_t i = 0; i < k; ++i)
        prod[d - k + i] = ((prod[d - k + i] - c * modulus[i]) % p + p) % p;
    }
    prod.resize(k);
    return fromDigits(prod);
  }

  /// The quadratic character: 0 at 0, 1 on nonzero squares, -1 otherwise.
  int chi(int64_t a) const {
    if (a == 0)
      return 0;
    return isNonzeroSquare[a] ? 1 : -1;
  }

private:
  std::vector<int64_t> digits(int64_t a) const {
    std::vector<int64_t> d(k);
    for (int64_t i = 0; i < k; ++i, a /= p)
      d[i] = a % p;
    return d;
  }

  int64_t fromDigits(ArrayRef<int64_t> d) const {
    int64_t a = 0;
    for (int64_t i = k - 1; i >= 0; --i)
      a = a * p + d[i];
    return a;
  }

  int64_t p;
  int64_t k;
  int64_t q;
  std::vector<int64_t> modulus;
  std::vector<bool> isNonzeroSquare;
};

/// GF(q) for the prime powers the Paley constructions use, with the moduli
/// documented in the file header.
GaloisField getField(int64_t q) {
  if (q == 25)
    return GaloisField(5, {2, 4}); // x^2 + 4x + 2
  if (q == 27)
    return GaloisField(3, {1, 2, 0}); // x^3 + 2x + 1
  // q prime: f = x, plain arithmetic mod q.
  return GaloisField(q, {0});
}

/// Q[i][j] = chi(a_i - a_j), q x q, row major.
std::vector<int> buildJacobsthal(const GaloisField &field) {
  int64_t q = field.size();
  std::vector<int> jacobsthal(q * q);
  for (int64_t i = 0; i < q; ++i)
    for (int64_t j = 0; j < q; ++j)
      jacobsthal[i * q + j] = field.chi(field.sub(i, j));
  return jacobsthal;
}

/// The (q+1) x (q+1) matrix [[0, 1^T], [sign * 1, Q]]: S for Paley I
/// (sign = -1), C for Paley II (sign = 1).
std::vector<int> buildBorderedJacobsthal(int64_t q, int sign) {
  std::vector<int> jacobsthal = buildJacobsthal(getField(q));
  int64_t m = q + 1;
  std::vector<int> bordered(m * m, 0);
  for (int64_t i = 1; i < m; ++i) {
    bordered[i] = 1;
    bordered[i * m] = sign;
    for (int64_t j = 1; j < m; ++j)
      bordered[i * m + j] = jacobsthal[(i - 1) * q + (j - 1)];
  }
  return bordered;
}

std::vector<int8_t> buildPaleyI(int64_t q) {
  std::vector<int> s = buildBorderedJacobsthal(q, -1);
  int64_t m = q + 1;
  std::vector<int8_t> h(m * m);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j)
      h[i * m + j] = static_cast<int8_t>(s[i * m + j] + (i == j ? 1 : 0));
  return h;
}

std::vector<int8_t> buildPaleyII(int64_t q) {
  static constexpr int kOffDiagonal[2][2] = {{1, 1}, {1, -1}};
  static constexpr int kDiagonal[2][2] = {{1, -1}, {-1, -1}};
  std::vector<int> c = buildBorderedJacobsthal(q, 1);
  int64_t m = q + 1;
  int64_t order = 2 * m;
  std::vector<int8_t> h(order * order);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t col = 0; col < m; ++col)
      for (int s = 0; s < 2; ++s)
        for (int t = 0; t < 2; ++t)
          h[(2 * r + s) * order + (2 * col + t)] = static_cast<int8_t>(
              r == col ? kDiagonal[s][t] : c[r * m + col] * kOffDiagonal[s][t]);
  return h;
}

std::vector<int8_t> buildDoubling(ArrayRef<int8_t> half, int64_t halfOrder) {
  int64_t order = 2 * halfOrder;
  std::vector<int8_t> h(order * order);
  for (int64_t i = 0; i < order; ++i)
    for (int64_t j = 0; j < order; ++j) {
      int sign = (i >= halfOrder && j >= halfOrder) ? -1 : 1;
      h[i * order + j] = static_cast<int8_t>(
          sign * half[(i % halfOrder) * halfOrder + (j % halfOrder)]);
    }
  return h;
}

std::vector<int8_t> buildWilliamson(int64_t w) {
  // Block (R, C) of the Williamson array is kSign[R][C] times circulant
  // number kBlock[R][C] (0 = A, 1 = B, 2 = C, 3 = D).
  static constexpr int kBlock[4][4] = {
      {0, 1, 2, 3}, {1, 0, 3, 2}, {2, 3, 0, 1}, {3, 2, 1, 0}};
  static constexpr int kSign[4][4] = {
      {1, 1, 1, 1}, {-1, 1, -1, 1}, {-1, 1, 1, -1}, {-1, -1, 1, 1}};
  const WilliamsonSeeds *seeds = llvm::find_if(
      kWilliamsonSeeds, [&](const WilliamsonSeeds &s) { return s.w == w; });
  assert(seeds != std::end(kWilliamsonSeeds) && "no Williamson seeds");
  int64_t order = 4 * w;
  std::vector<int8_t> h(order * order);
  for (int64_t i = 0; i < order; ++i)
    for (int64_t j = 0; j < order; ++j) {
      int64_t br = i / w, bc = j / w;
      int64_t shift = ((j % w) - (i % w) + w) % w;
      int entry = seeds->rows[kBlock[br][bc]][shift] == '+' ? 1 : -1;
      h[i * order + j] = static_cast<int8_t>(kSign[br][bc] * entry);
    }
  return h;
}

/// Builds every base matrix, in table order (doubling refers back to an
/// earlier entry).
std::vector<std::vector<int8_t>> buildAllBaseMatrices() {
  std::vector<std::vector<int8_t>> matrices;
  matrices.reserve(kNumBaseOrders);
  for (const BaseOrderInfo &info : kBaseOrders) {
    switch (info.kind) {
    case HadamardBaseKind::Trivial:
      matrices.push_back({1});
      break;
    case HadamardBaseKind::PaleyI:
      matrices.push_back(buildPaleyI(info.parameter));
      break;
    case HadamardBaseKind::PaleyII:
      matrices.push_back(buildPaleyII(info.parameter));
      break;
    case HadamardBaseKind::Doubling: {
      size_t halfIndex = llvm::find_if(kBaseOrders,
                                       [&](const BaseOrderInfo &other) {
                                         return other.order == info.parameter;
                                       }) -
                         std::begin(kBaseOrders);
      matrices.push_back(buildDoubling(matrices[halfIndex], info.parameter));
      break;
    }
    case HadamardBaseKind::Williamson:
      matrices.push_back(buildWilliamson(info.parameter));
      break;
    }
  }
  return matrices;
}

/// Writes Sylvester's H_raw(P) into the leading P x P block of `out` (rows
/// `stride` apart) by the defining recursion
/// H_raw(2h) = H_raw(2) (x) H_raw(h) = [[H, H], [H, -H]].
void fillSylvester(int8_t *out, int64_t stride, int64_t powerOfTwo) {
  out[0] = 1;
  for (int64_t h = 1; h < powerOfTwo; h *= 2)
    for (int64_t i = 0; i < h; ++i) {
      int8_t *top = out + i * stride;
      int8_t *bottom = out + (i + h) * stride;
      std::copy(top, top + h, top + h);
      std::copy(top, top + h, bottom);
      std::transform(top, top + h, bottom + h,
                     [](int8_t v) { return static_cast<int8_t>(-v); });
    }
}

/// y = x * H_raw(K * P) for one row, in place, exact in `Acc` arithmetic.
/// `scratch` holds K * P values.
template <typename Acc>
void rawTransformRow(Acc *row, Acc *scratch, int64_t baseOrder,
                     int64_t powerOfTwo, ArrayRef<int8_t> base) {
  // Sylvester butterflies on each of the K sub-rows of length P: the stage of
  // span h applies H_raw(2) to the index bit of weight h. Stages commute;
  // they are taken two at a time (H_raw(4) on bits h and 2h), which halves
  // the passes over the row, and a last single stage if m is odd.
  for (int64_t a = 0; a < baseOrder; ++a) {
    Acc *sub = row + a * powerOfTwo;
    int64_t h = 1;
    for (; 4 * h <= powerOfTwo; h *= 4)
      for (int64_t i = 0; i < powerOfTwo; i += 4 * h) {
        Acc *x0 = sub + i, *x1 = x0 + h, *x2 = x1 + h, *x3 = x2 + h;
        for (int64_t j = 0; j < h; ++j) {
          Acc s01 = x0[j] + x1[j], d01 = x0[j] - x1[j];
          Acc s23 = x2[j] + x3[j], d23 = x2[j] - x3[j];
          x0[j] = s01 + s23;
          x1[j] = d01 + d23;
          x2[j] = s01 - s23;
          x3[j] = d01 - d23;
        }
      }
    if (h < powerOfTwo)
      for (int64_t j = 0; j < h; ++j) {
        Acc u = sub[j], v = sub[j + h];
        sub[j] = u + v;
        sub[j + h] = u - v;
      }
  }
  if (baseOrder == 1)
    return;
  // y[a', b] = sum_a z[a, b] * H_raw(K)[a][a'], all b at once.
  std::fill(scratch, scratch + baseOrder * powerOfTwo, Acc(0));
  for (int64_t a = 0; a < baseOrder; ++a) {
    const Acc *src = row + a * powerOfTwo;
    for (int64_t a2 = 0; a2 < baseOrder; ++a2) {
      Acc *dst = scratch + a2 * powerOfTwo;
      if (base[a * baseOrder + a2] > 0)
        for (int64_t b = 0; b < powerOfTwo; ++b)
          dst[b] += src[b];
      else
        for (int64_t b = 0; b < powerOfTwo; ++b)
          dst[b] -= src[b];
    }
  }
  std::copy(scratch, scratch + baseOrder * powerOfTwo, row);
}

/// Error unless `size` is a whole number of rows of length `rowLength`.
Error checkWholeRows(size_t size, int64_t rowLength) {
  if (size % static_cast<uint64_t>(rowLength) == 0)
    return Error::success();
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "data of " + llvm::Twine(static_cast<uint64_t>(size)) +
          " values is not a whole number of rows of length " +
          llvm::Twine(rowLength));
}

/// The normalized transform in double precision, whatever T is.
template <typename T>
Error normalizedTransform(MutableArrayRef<T> data, int64_t n) {
  Expected<HadamardConstruction> construction = getHadamardConstruction(n);
  if (!construction)
    return construction.takeError();
  if (Error err = checkWholeRows(data.size(), n))
    return err;
  ArrayRef<int8_t> base = getBaseHadamardMatrix(construction->baseOrder);
  double scale = 1.0 / std::sqrt(static_cast<double>(n));
  std::vector<double> row(n), scratch(n);
  for (size_t start = 0; start < data.size(); start += n) {
    std::copy(data.begin() + start, data.begin() + start + n, row.begin());
    rawTransformRow(row.data(), scratch.data(), construction->baseOrder,
                    construction->powerOfTwo(), base);
    for (int64_t i = 0; i < n; ++i)
      data[start + i] = static_cast<T>(row[i] * scale);
  }
  return Error::success();
}

/// Checks the arguments of the block transforms and returns the construction
/// of the block order.
Expected<HadamardConstruction>
checkBlockArguments(size_t size, int64_t rowLength, int64_t block) {
  Expected<HadamardConstruction> construction = getHadamardConstruction(block);
  if (!construction)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "unsupported Hadamard block size " + llvm::Twine(block) + ": " +
            llvm::toString(construction.takeError()));
  if (rowLength <= 0 || rowLength % block != 0)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "row length " + llvm::Twine(rowLength) +
            " is not a positive multiple of the Hadamard block size " +
            llvm::Twine(block));
  if (Error err = checkWholeRows(size, rowLength))
    return err;
  return construction;
}

} // namespace

std::string HadamardConstruction::describe() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << order << " = " << baseOrder << " x " << powerOfTwo() << " (";
  switch (baseKind) {
  case HadamardBaseKind::Trivial:
    break;
  case HadamardBaseKind::PaleyI:
    os << baseOrder << ": Paley I over GF(" << parameter << ")";
    break;
  case HadamardBaseKind::PaleyII:
    os << baseOrder << ": Paley II over GF(" << parameter << ")";
    break;
  case HadamardBaseKind::Doubling:
    os << baseOrder << ": doubling of " << parameter;
    break;
  case HadamardBaseKind::Williamson:
    os << baseOrder << ": Williamson, circulants of order " << parameter;
    break;
  }
  if (baseKind != HadamardBaseKind::Trivial && log2PowerOfTwo > 0)
    os << "; ";
  if (log2PowerOfTwo > 0)
    os << powerOfTwo() << ": Sylvester";
  if (baseKind == HadamardBaseKind::Trivial && log2PowerOfTwo == 0)
    os << "trivial";
  os << ")";
  return text;
}

ArrayRef<int64_t> hqdm::getSupportedHadamardBaseOrders() {
  static const std::array<int64_t, kNumBaseOrders> orders = [] {
    std::array<int64_t, kNumBaseOrders> result;
    for (size_t i = 0; i < kNumBaseOrders; ++i)
      result[i] = kBaseOrders[i].order;
    return result;
  }();
  return orders;
}

Expected<HadamardConstruction> hqdm::getHadamardConstruction(int64_t n) {
  if (n <= 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "no Hadamard construction serves order " +
                                       llvm::Twine(n) +
                                       ": the order must be positive");
  for (const BaseOrderInfo &info : kBaseOrders) {
    if (n % info.order != 0 || !llvm::isPowerOf2_64(n / info.order))
      continue;
    HadamardConstruction construction;
    construction.order = n;
    construction.baseOrder = info.order;
    construction.log2PowerOfTwo = llvm::Log2_64(n / info.order);
    construction.baseKind = info.kind;
    construction.parameter = info.parameter;
    return construction;
  }
  int64_t powerOfTwo = n & -n;
  std::string orders;
  llvm::raw_string_ostream os(orders);
  llvm::interleaveComma(getSupportedHadamardBaseOrders(), os);
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      "no Hadamard construction serves order " + llvm::Twine(n) + " (= " +
          llvm::Twine(n / powerOfTwo) + " x " + llvm::Twine(powerOfTwo) +
          "): supported orders are K x 2^m with K one of " + orders);
}

bool hqdm::isSupportedHadamardOrder(int64_t n) {
  Expected<HadamardConstruction> construction = getHadamardConstruction(n);
  if (construction)
    return true;
  llvm::consumeError(construction.takeError());
  return false;
}

ArrayRef<int8_t> hqdm::getBaseHadamardMatrix(int64_t baseOrder) {
  // Built once, on first use; C++11 makes the initialization thread safe.
  static const std::vector<std::vector<int8_t>> matrices =
      buildAllBaseMatrices();
  for (size_t i = 0; i < kNumBaseOrders; ++i)
    if (kBaseOrders[i].order == baseOrder)
      return matrices[i];
  assert(false && "not a supported Hadamard base order");
  // Release builds answer an unsupported order with an empty matrix.
  return {};
}

Expected<std::vector<int8_t>> hqdm::getRawHadamardMatrix(int64_t n) {
  Expected<HadamardConstruction> construction = getHadamardConstruction(n);
  if (!construction)
    return construction.takeError();
  int64_t baseOrder = construction->baseOrder;
  int64_t powerOfTwo = construction->powerOfTwo();
  ArrayRef<int8_t> base = getBaseHadamardMatrix(baseOrder);
  std::vector<int8_t> h(static_cast<size_t>(n) * n);
  if (baseOrder == 1) {
    fillSylvester(h.data(), n, powerOfTwo);
    return h;
  }
  // H[a*P + b][a'*P + b'] = H_raw(K)[a][a'] * H_raw(P)[b][b']: each row is
  // a sequence of K copies of a Sylvester row, each copy signed.
  std::vector<int8_t> sylvester(powerOfTwo * powerOfTwo);
  fillSylvester(sylvester.data(), powerOfTwo, powerOfTwo);
  std::vector<int8_t> negated(sylvester.size());
  std::transform(sylvester.begin(), sylvester.end(), negated.begin(),
                 [](int8_t v) { return static_cast<int8_t>(-v); });
  for (int64_t a = 0; a < baseOrder; ++a)
    for (int64_t b = 0; b < powerOfTwo; ++b) {
      int8_t *row = h.data() + static_cast<size_t>(a * powerOfTwo + b) * n;
      for (int64_t a2 = 0; a2 < baseOrder; ++a2) {
        const int8_t *src =
            (base[a * baseOrder + a2] > 0 ? sylvester : negated).data() +
            b * powerOfTwo;
        std::copy(src, src + powerOfTwo, row + a2 * powerOfTwo);
      }
    }
  return h;
}

Error hqdm::fastHadamardTransform(MutableArrayRef<float> data, int64_t n) {
  return normalizedTransform(data, n);
}

Error hqdm::fastHadamardTransform(MutableArrayRef<double> data, int64_t n) {
  return normalizedTransform(data, n);
}

Error hqdm::blockHadamardTransform(MutableArrayRef<float> data,
                                   int64_t rowLength, int64_t block) {
  Expected<HadamardConstruction> construction =
      checkBlockArguments(data.size(), rowLength, block);
  if (!construction)
    return construction.takeError();
  // Rows and blocks are contiguous, so the block-diagonal transform is the
  // order-`block` transform of every consecutive run of `block` values.
  return normalizedTransform(data, block);
}

Error hqdm::blockHadamardTransformRaw(MutableArrayRef<int64_t> data,
                                      int64_t rowLength, int64_t block) {
  Expected<HadamardConstruction> construction =
      checkBlockArguments(data.size(), rowLength, block);
  if (!construction)
    return construction.takeError();
  ArrayRef<int8_t> base = getBaseHadamardMatrix(construction->baseOrder);
  std::vector<int64_t> scratch(block);
  for (size_t start = 0; start < data.size(); start += block)
    rawTransformRow(data.data() + start, scratch.data(),
                    construction->baseOrder, construction->powerOfTwo(), base);
  return Error::success();
}
