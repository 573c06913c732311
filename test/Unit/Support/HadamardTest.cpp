//===- HadamardTest.cpp - Tests for the Hadamard library ------------------===//
//
// This file tests hqdm's Hadamard library: the construction query and its
// errors, every base matrix, every supported order up to 16384, the finite
// fields and Williamson quadruples behind the base matrices, and the fast and
// block transforms against dense products.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Support/Hadamard.h"

#include "llvm/ADT/bit.h"
#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <set>

using namespace mlir::hqdm;

namespace {

/// The value of `expected`, or a test failure carrying its message.
template <typename T> std::optional<T> valueOrFail(llvm::Expected<T> expected) {
  if (expected)
    return std::move(*expected);
  ADD_FAILURE() << llvm::toString(expected.takeError());
  return std::nullopt;
}

/// The message of `err`, or "" for success.
std::string errorText(llvm::Error err) {
  if (!err)
    return "";
  return llvm::toString(std::move(err));
}

template <typename T> std::string errorText(llvm::Expected<T> expected) {
  if (expected)
    return "";
  return llvm::toString(expected.takeError());
}

/// Every order K * 2^m <= limit, K a base order, ascending and deduplicated.
std::vector<int64_t> productOrdersUpTo(int64_t limit) {
  std::set<int64_t> orders;
  for (int64_t base : getSupportedHadamardBaseOrders())
    for (int64_t n = base; n <= limit; n *= 2)
      orders.insert(n);
  return {orders.begin(), orders.end()};
}

/// Sylvester's entry H_raw(2^m)[b][j] = (-1)^popcount(b & j), the closed form
/// of the recursive definition (independent of the library's recursion).
int8_t sylvesterEntry(int64_t b, int64_t j) {
  return llvm::popcount(static_cast<uint64_t>(b & j)) % 2 ? -1 : 1;
}

/// Checks A * A^T = order * I exactly and that every entry is +-1.
void expectHadamard(llvm::ArrayRef<int8_t> a, int64_t order) {
  ASSERT_EQ(a.size(), static_cast<size_t>(order * order));
  for (int8_t v : a)
    ASSERT_TRUE(v == 1 || v == -1);
  for (int64_t i = 0; i < order; ++i)
    for (int64_t j = 0; j < order; ++j) {
      int64_t dot = 0;
      for (int64_t k = 0; k < order; ++k)
        dot += a[i * order + k] * a[j * order + k];
      ASSERT_EQ(dot, i == j ? order : 0) << "rows " << i << ", " << j;
    }
}

/// y = x * H_raw(n) for each row of x, densely.
template <typename T>
std::vector<T> denseProduct(llvm::ArrayRef<T> x, llvm::ArrayRef<int8_t> h,
                            int64_t n) {
  std::vector<T> y(x.size(), T(0));
  for (size_t start = 0; start < x.size(); start += n)
    for (int64_t i = 0; i < n; ++i) {
      const int8_t *row = h.data() + i * n;
      T *out = y.data() + start;
      T xi = x[start + i];
      for (int64_t j = 0; j < n; ++j)
        out[j] += xi * row[j];
    }
  return y;
}

std::vector<double> randomReals(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> values(size);
  for (double &v : values)
    v = dist(rng);
  return values;
}

std::vector<int64_t> randomIntegers(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(-1000, 1000);
  std::vector<int64_t> values(size);
  for (int64_t &v : values)
    v = dist(rng);
  return values;
}

std::string orderName(const testing::TestParamInfo<int64_t> &info) {
  return "N" + std::to_string(info.param);
}

//===----------------------------------------------------------------------===//
// The construction query
//===----------------------------------------------------------------------===//

TEST(HadamardConstructionTest, BaseOrders) {
  std::vector<int64_t> expected = {1,  12, 20,  28,  36,  40,
                                   52, 60, 108, 140, 156, 172};
  EXPECT_EQ(getSupportedHadamardBaseOrders().vec(), expected);
}

TEST(HadamardConstructionTest, Queries) {
  struct Expected {
    int64_t n, base, log2;
    HadamardBaseKind kind;
    int64_t parameter;
  };
  const Expected cases[] = {
      {1152, 36, 5, HadamardBaseKind::PaleyII, 17},
      {4608, 36, 7, HadamardBaseKind::PaleyII, 17},
      {72, 36, 1, HadamardBaseKind::PaleyII, 17},
      {768, 12, 6, HadamardBaseKind::PaleyI, 11},
      {1536, 12, 7, HadamardBaseKind::PaleyI, 11},
      {64, 1, 6, HadamardBaseKind::Trivial, 0},
      {40, 20, 1, HadamardBaseKind::PaleyI, 19},
      {1, 1, 0, HadamardBaseKind::Trivial, 0},
      {2, 1, 1, HadamardBaseKind::Trivial, 0},
      {28, 28, 0, HadamardBaseKind::PaleyI, 27},
      {52, 52, 0, HadamardBaseKind::PaleyII, 25},
      {480, 60, 3, HadamardBaseKind::PaleyI, 59},
      {216, 108, 1, HadamardBaseKind::PaleyI, 107},
      {140, 140, 0, HadamardBaseKind::PaleyI, 139},
      {156, 156, 0, HadamardBaseKind::Williamson, 39},
      {344, 172, 1, HadamardBaseKind::Williamson, 43},
  };
  for (const Expected &c : cases) {
    SCOPED_TRACE(c.n);
    std::optional<HadamardConstruction> got =
        valueOrFail(getHadamardConstruction(c.n));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->order, c.n);
    EXPECT_EQ(got->baseOrder, c.base);
    EXPECT_EQ(got->log2PowerOfTwo, c.log2);
    EXPECT_EQ(got->powerOfTwo(), int64_t(1) << c.log2);
    EXPECT_EQ(got->baseKind, c.kind);
    EXPECT_EQ(got->parameter, c.parameter);
    EXPECT_TRUE(isSupportedHadamardOrder(c.n));
  }
}

TEST(HadamardConstructionTest, Describe) {
  auto describe = [](int64_t n) {
    std::optional<HadamardConstruction> c =
        valueOrFail(getHadamardConstruction(n));
    return c ? c->describe() : "";
  };
  EXPECT_EQ(describe(1152),
            "1152 = 36 x 32 (36: Paley II over GF(17); 32: Sylvester)");
  EXPECT_EQ(describe(768),
            "768 = 12 x 64 (12: Paley I over GF(11); 64: Sylvester)");
  EXPECT_EQ(describe(64), "64 = 1 x 64 (64: Sylvester)");
  EXPECT_EQ(describe(1), "1 = 1 x 1 (trivial)");
  EXPECT_EQ(describe(28), "28 = 28 x 1 (28: Paley I over GF(27))");
  EXPECT_EQ(describe(172),
            "172 = 172 x 1 (172: Williamson, circulants of order 43)");
}

TEST(HadamardConstructionTest, Errors) {
  for (int64_t n : {0, -4, 1000, 7, 44, 6, 88}) {
    SCOPED_TRACE(n);
    std::string message = errorText(getHadamardConstruction(n));
    EXPECT_NE(message.find("no Hadamard construction serves order " +
                           std::to_string(n)),
              std::string::npos)
        << message;
    EXPECT_FALSE(isSupportedHadamardOrder(n));
  }
  EXPECT_EQ(errorText(getHadamardConstruction(1000)),
            "no Hadamard construction serves order 1000 (= 125 x 8): "
            "supported orders are K x 2^m with K one of 1, 12, 20, 28, 36, "
            "40, 52, 60, 108, 140, 156, 172");
  EXPECT_NE(errorText(getHadamardConstruction(-4)).find("must be positive"),
            std::string::npos);
}

TEST(HadamardConstructionTest, SupportedOrdersAreTheProducts) {
  std::vector<int64_t> orders = productOrdersUpTo(16384);
  EXPECT_EQ(orders.size(), 102u);
  std::set<int64_t> products(orders.begin(), orders.end());
  for (int64_t n = 1; n <= 16384; ++n)
    ASSERT_EQ(isSupportedHadamardOrder(n), products.count(n) == 1) << n;
}

//===----------------------------------------------------------------------===//
// Base matrices and what they are built from
//===----------------------------------------------------------------------===//

TEST(HadamardBaseTest, EveryBaseMatrixIsHadamard) {
  for (int64_t base : getSupportedHadamardBaseOrders()) {
    SCOPED_TRACE(base);
    expectHadamard(getBaseHadamardMatrix(base), base);
  }
}

TEST(HadamardBaseTest, ConstructionShapes) {
  // Paley I gives a skew-type matrix, H + H^T = 2I.
  for (int64_t base : {12, 20, 28, 60, 108, 140}) {
    llvm::ArrayRef<int8_t> h = getBaseHadamardMatrix(base);
    for (int64_t i = 0; i < base; ++i)
      for (int64_t j = 0; j < base; ++j)
        ASSERT_EQ(h[i * base + j] + h[j * base + i], i == j ? 2 : 0)
            << base << ": " << i << ", " << j;
  }
  // Paley II from a symmetric conference matrix is symmetric.
  for (int64_t base : {36, 52}) {
    llvm::ArrayRef<int8_t> h = getBaseHadamardMatrix(base);
    for (int64_t i = 0; i < base; ++i)
      for (int64_t j = 0; j < base; ++j)
        ASSERT_EQ(h[i * base + j], h[j * base + i]) << base;
  }
  // 40 = H_raw(2) (x) H_raw(20).
  llvm::ArrayRef<int8_t> h20 = getBaseHadamardMatrix(20);
  llvm::ArrayRef<int8_t> h40 = getBaseHadamardMatrix(40);
  for (int64_t i = 0; i < 40; ++i)
    for (int64_t j = 0; j < 40; ++j)
      ASSERT_EQ(h40[i * 40 + j],
                (i >= 20 && j >= 20 ? -1 : 1) * h20[(i % 20) * 20 + (j % 20)]);
}

/// A small GF(p^k) from a monic modulus, written independently of the
/// library: elements are coefficient vectors, index = base-p digits.
struct TestField {
  int64_t p;
  std::vector<int64_t> low; // f = x^k + low[k-1] x^(k-1) + ... + low[0]

  int64_t k() const { return low.size(); }
  int64_t size() const {
    int64_t q = 1;
    for (int64_t i = 0; i < k(); ++i)
      q *= p;
    return q;
  }
  std::vector<int64_t> coefficients(int64_t a) const {
    std::vector<int64_t> c;
    for (int64_t i = 0; i < k(); ++i, a /= p)
      c.push_back(a % p);
    return c;
  }
  int64_t index(const std::vector<int64_t> &c) const {
    int64_t a = 0;
    for (int64_t i = k() - 1; i >= 0; --i)
      a = a * p + c[i];
    return a;
  }
  /// Value of f at the prime-field element t.
  int64_t evaluateModulus(int64_t t) const {
    int64_t value = 1; // leading x^k
    for (int64_t i = k() - 1; i >= 0; --i)
      value = (value * t + low[i]) % p;
    return value;
  }
  int64_t multiply(int64_t a, int64_t b) const {
    // Multiply by x repeatedly (Horner over the digits of b).
    std::vector<int64_t> ca = coefficients(a), cb = coefficients(b);
    std::vector<int64_t> acc(k(), 0);
    for (int64_t d = k() - 1; d >= 0; --d) {
      // acc = acc * x mod f
      int64_t top = acc[k() - 1];
      for (int64_t i = k() - 1; i > 0; --i)
        acc[i] = ((acc[i - 1] - top * low[i]) % p + p) % p;
      acc[0] = ((-top * low[0]) % p + p) % p;
      for (int64_t i = 0; i < k(); ++i)
        acc[i] = (acc[i] + cb[d] * ca[i]) % p;
    }
    return index(acc);
  }
  int64_t subtract(int64_t a, int64_t b) const {
    std::vector<int64_t> ca = coefficients(a), cb = coefficients(b);
    for (int64_t i = 0; i < k(); ++i)
      ca[i] = (ca[i] - cb[i] + p) % p;
    return index(ca);
  }
  std::vector<int> characters() const {
    std::vector<int> chi(size(), -1);
    chi[0] = 0;
    for (int64_t a = 1; a < size(); ++a)
      chi[multiply(a, a)] = 1;
    return chi;
  }
};

TEST(HadamardFieldTest, ModuliAreIrreducibleAndDefineTheMatrices) {
  const TestField gf27{3, {1, 2, 0}}; // x^3 + 2x + 1
  const TestField gf25{5, {2, 4}};    // x^2 + 4x + 2
  // A polynomial of degree 2 or 3 is irreducible iff it has no root.
  for (const TestField *field : {&gf27, &gf25})
    for (int64_t t = 0; t < field->p; ++t)
      EXPECT_NE(field->evaluateModulus(t), 0) << field->p << ", " << t;
  // Irreducible moduli give fields: every nonzero element is invertible.
  for (const TestField *field : {&gf27, &gf25})
    for (int64_t a = 1; a < field->size(); ++a) {
      bool invertible = false;
      for (int64_t b = 1; b < field->size(); ++b)
        invertible |= field->multiply(a, b) == 1;
      EXPECT_TRUE(invertible) << field->size() << ": " << a;
    }
  // The documented conventions in terms of these fields: Paley I puts
  // chi(a_i - a_j) at H[1 + i][1 + j] off the diagonal, Paley II puts it at
  // H[2(1 + i)][2(1 + j)].
  std::vector<int> chi27 = gf27.characters();
  llvm::ArrayRef<int8_t> h28 = getBaseHadamardMatrix(28);
  for (int64_t i = 0; i < 27; ++i)
    for (int64_t j = 0; j < 27; ++j)
      if (i != j) {
        ASSERT_EQ(h28[(1 + i) * 28 + (1 + j)], chi27[gf27.subtract(i, j)]);
      }
  std::vector<int> chi25 = gf25.characters();
  llvm::ArrayRef<int8_t> h52 = getBaseHadamardMatrix(52);
  for (int64_t i = 0; i < 25; ++i)
    for (int64_t j = 0; j < 25; ++j)
      if (i != j) {
        ASSERT_EQ(h52[2 * (1 + i) * 52 + 2 * (1 + j)],
                  chi25[gf25.subtract(i, j)]);
      }
}

TEST(HadamardBaseTest, WilliamsonQuadruples) {
  // Row block 0 of the Williamson array is [A, B, C, D].
  static const int kBlock[4][4] = {
      {0, 1, 2, 3}, {1, 0, 3, 2}, {2, 3, 0, 1}, {3, 2, 1, 0}};
  static const int kSign[4][4] = {
      {1, 1, 1, 1}, {-1, 1, -1, 1}, {-1, 1, 1, -1}, {-1, -1, 1, 1}};
  for (int64_t w : {39, 43}) {
    SCOPED_TRACE(w);
    int64_t order = 4 * w;
    llvm::ArrayRef<int8_t> h = getBaseHadamardMatrix(order);
    std::vector<std::vector<int>> firstRows(4, std::vector<int>(w));
    for (int x = 0; x < 4; ++x)
      for (int64_t j = 0; j < w; ++j)
        firstRows[x][j] = h[x * w + j];
    // Symmetric sequences, so circulants are symmetric and commute.
    for (int x = 0; x < 4; ++x)
      for (int64_t j = 1; j < w; ++j)
        EXPECT_EQ(firstRows[x][j], firstRows[x][w - j]);
    // The whole matrix is the array of circulants.
    for (int64_t i = 0; i < order; ++i)
      for (int64_t j = 0; j < order; ++j) {
        int64_t br = i / w, bc = j / w;
        int expected =
            kSign[br][bc] * firstRows[kBlock[br][bc]][((j - i) % w + w) % w];
        ASSERT_EQ(h[i * order + j], expected) << i << ", " << j;
      }
    // A^2 + B^2 + C^2 + D^2 = 4w I: entry (0, s) of the sum of squares of
    // circulants is the sum of periodic autocorrelations at shift s.
    for (int64_t s = 0; s < w; ++s) {
      int64_t sum = 0;
      for (int x = 0; x < 4; ++x)
        for (int64_t j = 0; j < w; ++j)
          sum += firstRows[x][j] * firstRows[x][(j + s) % w];
      EXPECT_EQ(sum, s == 0 ? 4 * w : 0) << "shift " << s;
    }
  }
}

//===----------------------------------------------------------------------===//
// Every supported order up to 16384
//===----------------------------------------------------------------------===//

// A dense check of H * H^T = nI at n = 16384 is 2^42 operations, and the sum
// over all 102 orders is about as bad. Instead, every order is checked
// exactly through its structure: the test verifies, entry by entry, that the
// dense matrix the library returns is A (x) S with A = H_raw(K) and S the
// Sylvester matrix given in closed form, S[b][j] = (-1)^popcount(b & j); it
// verifies A * A^T = K I densely; and S * S^T = 2^m I is the character-sum
// identity sum_j (-1)^popcount((b ^ b') & j) = 2^m [b == b']. Then
// H * H^T = (A * A^T) (x) (S * S^T) = n I exactly. The entrywise comparison is
// one memcmp per (row, base column) pair, so all 102 orders take about as
// long as writing their matrices. OrthogonalityByTransformTest below checks
// three large orders directly as well.

TEST(HadamardDenseTest, SylvesterClosedFormIsHadamard) {
  // The character-sum identity, checked densely where that is cheap.
  for (int64_t p = 1; p <= 256; p *= 2) {
    std::vector<int8_t> s(p * p);
    for (int64_t b = 0; b < p; ++b)
      for (int64_t j = 0; j < p; ++j)
        s[b * p + j] = sylvesterEntry(b, j);
    SCOPED_TRACE(p);
    expectHadamard(s, p);
  }
}

class EveryOrderTest : public testing::TestWithParam<int64_t> {};

TEST_P(EveryOrderTest, DenseMatrixIsAKroneckerProductOfHadamardMatrices) {
  const int64_t base = GetParam();
  llvm::ArrayRef<int8_t> a = getBaseHadamardMatrix(base);
  expectHadamard(a, base);
  int checked = 0;
  for (int64_t n : productOrdersUpTo(16384)) {
    std::optional<HadamardConstruction> c =
        valueOrFail(getHadamardConstruction(n));
    ASSERT_TRUE(c);
    if (c->baseOrder != base)
      continue;
    SCOPED_TRACE(n);
    ++checked;
    std::optional<std::vector<int8_t>> h = valueOrFail(getRawHadamardMatrix(n));
    ASSERT_TRUE(h);
    ASSERT_EQ(h->size(), static_cast<size_t>(n) * n);
    const int64_t p = c->powerOfTwo();
    std::vector<int8_t> plus(p), minus(p);
    // Row b in chunks of 256: with j = 256 * hi + lo, the closed form
    // factors as sylvesterEntry(b, 256 * hi) * sylvesterEntry(b, lo).
    const int64_t chunk = std::min<int64_t>(p, 256);
    std::vector<int8_t> low(chunk), lowNegated(chunk);
    for (int64_t b = 0; b < p; ++b) {
      for (int64_t lo = 0; lo < chunk; ++lo) {
        low[lo] = sylvesterEntry(b, lo);
        lowNegated[lo] = static_cast<int8_t>(-low[lo]);
      }
      for (int64_t hi = 0; hi < p; hi += chunk) {
        bool positive = sylvesterEntry(b, hi) > 0;
        std::copy(low.begin(), low.end(),
                  (positive ? plus : minus).begin() + hi);
        std::copy(lowNegated.begin(), lowNegated.end(),
                  (positive ? minus : plus).begin() + hi);
      }
      for (int64_t r = 0; r < base; ++r) {
        const int8_t *row = h->data() + static_cast<size_t>(r * p + b) * n;
        for (int64_t col = 0; col < base; ++col) {
          const int8_t *expected =
              a[r * base + col] > 0 ? plus.data() : minus.data();
          ASSERT_EQ(std::memcmp(row + col * p, expected, p), 0)
              << "row " << r * p + b << ", columns from " << col * p;
        }
      }
    }
  }
  // 40 never serves: 40 * 2^m is 20 * 2^(m+1).
  EXPECT_EQ(checked == 0, base == 40);
}

INSTANTIATE_TEST_SUITE_P(
    HadamardDense, EveryOrderTest,
    testing::ValuesIn(getSupportedHadamardBaseOrders().vec()), orderName);

// Direct check of the dense matrix at large orders, exact in int64: with x a
// column of H_raw(n) as a row vector, the library's exact transform gives
// x * H_raw(n), that is, one row of H^T * F where F is the fast transform's
// matrix; it must be n times a unit row. The fast transform agreeing with the
// dense product (FastTransformTest) makes this H^T * H = n I, which for a
// square matrix is H * H^T = n I. Columns are gathered 64 at a time, by
// tiles, to stay cache friendly.
class OrthogonalityByTransformTest : public testing::TestWithParam<int64_t> {};

TEST_P(OrthogonalityByTransformTest, ColumnsTransformToScaledUnitRows) {
  const int64_t n = GetParam();
  std::optional<std::vector<int8_t>> h = valueOrFail(getRawHadamardMatrix(n));
  ASSERT_TRUE(h);
  constexpr int64_t kBatch = 64;
  std::vector<int64_t> columns;
  for (int64_t first = 0; first < n; first += kBatch) {
    int64_t count = std::min(kBatch, n - first);
    columns.resize(count * n);
    // Transpose a kBatch x kBatch tile at a time. Raw pointers keep the
    // 2^28-entry loops quick in unoptimized builds too.
    const int8_t *matrix = h->data();
    int64_t *out = columns.data();
    for (int64_t tile = 0; tile < n; tile += kBatch)
      for (int64_t c = 0; c < count; ++c)
        for (int64_t i = tile; i < std::min(tile + kBatch, n); ++i)
          out[c * n + i] = matrix[i * n + first + c];
    ASSERT_EQ(errorText(blockHadamardTransformRaw(columns, n, n)), "");
    for (int64_t c = 0; c < count; ++c) {
      int64_t *row = out + c * n;
      ASSERT_EQ(row[first + c], n) << "column " << first + c;
      row[first + c] = 0;
      int64_t nonzero = 0;
      for (int64_t j = 0; j < n; ++j)
        nonzero += row[j] != 0;
      ASSERT_EQ(nonzero, 0) << "column " << first + c;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HadamardDense, OrthogonalityByTransformTest,
                         testing::Values(1152, 4608, 16384, 1376, 1248, 1792,
                                         1664, 960, 1728, 1120),
                         orderName);

//===----------------------------------------------------------------------===//
// Transforms
//===----------------------------------------------------------------------===//

class FastTransformTest : public testing::TestWithParam<int64_t> {};

TEST_P(FastTransformTest, MatchesDenseProduct) {
  const int64_t n = GetParam();
  constexpr int64_t kRows = 3;
  std::optional<std::vector<int8_t>> h = valueOrFail(getRawHadamardMatrix(n));
  ASSERT_TRUE(h);
  const double scale = 1.0 / std::sqrt(static_cast<double>(n));

  // double
  std::vector<double> x = randomReals(kRows * n, n);
  std::vector<double> expected = denseProduct<double>(x, *h, n);
  ASSERT_EQ(errorText(fastHadamardTransform(x, n)), "");
  double largest = 0;
  for (double v : expected)
    largest = std::max(largest, std::abs(v * scale));
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_NEAR(x[i], expected[i] * scale, 1e-6 * largest) << i;

  // float, against the dense product of the same float inputs
  std::vector<double> reals = randomReals(kRows * n, n + 1);
  std::vector<float> xf(reals.begin(), reals.end());
  std::vector<double> widened(xf.begin(), xf.end());
  expected = denseProduct<double>(widened, *h, n);
  ASSERT_EQ(errorText(fastHadamardTransform(xf, n)), "");
  for (size_t i = 0; i < xf.size(); ++i)
    ASSERT_NEAR(xf[i], expected[i] * scale,
                1e-6 * std::max(1.0, std::abs(expected[i] * scale)))
        << i;

  // exact int64, unnormalized
  std::vector<int64_t> xi = randomIntegers(kRows * n, n + 2);
  std::vector<int64_t> exact = denseProduct<int64_t>(xi, *h, n);
  ASSERT_EQ(errorText(blockHadamardTransformRaw(xi, n, n)), "");
  EXPECT_EQ(xi, exact);
}

INSTANTIATE_TEST_SUITE_P(HadamardTransform, FastTransformTest,
                         testing::Values(1, 2, 64, 1024, 12, 24, 20, 28, 52, 40,
                                         72, 60 * 8, 108 * 2, 140, 156, 172,
                                         172 * 4, 36 * 32, 4608),
                         orderName);

TEST(HadamardTransformTest, NormalizedTransformIsOrthogonal) {
  // ||x * H|| = ||x|| for the normalized transform.
  for (int64_t n : {12, 36 * 4, 156, 172 * 2, 256}) {
    std::vector<double> x = randomReals(n, 7 * n);
    double before = 0, after = 0;
    for (double v : x)
      before += v * v;
    ASSERT_EQ(errorText(fastHadamardTransform(x, n)), "");
    for (double v : x)
      after += v * v;
    EXPECT_NEAR(after, before, 1e-9 * before) << n;
  }
}

TEST(HadamardTransformTest, BlockTransforms) {
  for (int64_t block : {1, 12, 64, 72, 172}) {
    SCOPED_TRACE(block);
    const int64_t rowLength = 3 * block, rows = 2;
    std::optional<std::vector<int8_t>> h =
        valueOrFail(getRawHadamardMatrix(block));
    ASSERT_TRUE(h);
    const double scale = 1.0 / std::sqrt(static_cast<double>(block));

    std::vector<double> reals = randomReals(rows * rowLength, block);
    std::vector<float> x(reals.begin(), reals.end());
    std::vector<double> widened(x.begin(), x.end());
    std::vector<double> expected = denseProduct<double>(widened, *h, block);
    ASSERT_EQ(errorText(blockHadamardTransform(x, rowLength, block)), "");
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(x[i], expected[i] * scale,
                  1e-6 * std::max(1.0, std::abs(expected[i] * scale)));

    std::vector<int64_t> xi = randomIntegers(rows * rowLength, block + 1);
    std::vector<int64_t> exact = denseProduct<int64_t>(xi, *h, block);
    ASSERT_EQ(errorText(blockHadamardTransformRaw(xi, rowLength, block)), "");
    EXPECT_EQ(xi, exact);
  }
}

TEST(HadamardTransformTest, Errors) {
  std::vector<float> f(24, 1.0f);
  std::vector<double> d(24, 1.0);
  std::vector<int64_t> i(24, 1);
  for (int64_t n : {0, -4, 1000, 7, 44}) {
    SCOPED_TRACE(n);
    EXPECT_NE(errorText(fastHadamardTransform(f, n)), "");
    EXPECT_NE(errorText(fastHadamardTransform(d, n)), "");
    EXPECT_NE(errorText(blockHadamardTransform(f, 2 * std::abs(n) + 4, n))
                  .find("unsupported Hadamard block size"),
              std::string::npos);
    EXPECT_NE(errorText(blockHadamardTransformRaw(i, 24, n)), "");
  }
  // 24 values are not whole rows of 16.
  EXPECT_NE(errorText(fastHadamardTransform(f, 16)).find("not a whole number"),
            std::string::npos);
  EXPECT_NE(errorText(fastHadamardTransform(d, 16)), "");
  // The block does not divide the row.
  EXPECT_NE(errorText(blockHadamardTransform(f, 24, 16))
                .find("not a positive multiple"),
            std::string::npos);
  EXPECT_NE(errorText(blockHadamardTransformRaw(i, 20, 12)), "");
  EXPECT_NE(errorText(blockHadamardTransformRaw(i, 0, 12)), "");
  // Rows do not tile the data.
  EXPECT_NE(
      errorText(blockHadamardTransform(f, 16, 8)).find("not a whole number"),
      std::string::npos);
  EXPECT_NE(errorText(blockHadamardTransformRaw(i, 48, 12)), "");
  // Failed calls leave the data alone.
  EXPECT_TRUE(std::all_of(f.begin(), f.end(), [](float v) { return v == 1; }));
  EXPECT_TRUE(
      std::all_of(i.begin(), i.end(), [](int64_t v) { return v == 1; }));
  // Sizes that fit are accepted.
  EXPECT_EQ(errorText(blockHadamardTransform(f, 24, 12)), "");
  EXPECT_EQ(errorText(blockHadamardTransformRaw(i, 12, 4)), "");
  EXPECT_EQ(
      errorText(fastHadamardTransform(llvm::MutableArrayRef<float>(), 12)), "");
}

} // namespace
