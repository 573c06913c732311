//===- hadamard_transform.cpp - Fast vs dense Hadamard transform ----------===//
//
// This file benchmarks the Hadamard library's fast transform (butterflies
// over the 2^m factor and a K x K product) against the dense product
// x * H_raw / sqrt(n) at the orders DiT-XL/2 uses, in one run on one core,
// and prints a table of times and ratios.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Support/Hadamard.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

using namespace mlir::hqdm;

namespace {

/// The best of `repeats` wall-clock times of `fn`, in milliseconds.
template <typename Fn> double bestMs(int repeats, Fn fn) {
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    fn();
    std::chrono::duration<double, std::milli> t =
        std::chrono::steady_clock::now() - start;
    best = std::min(best, t.count());
  }
  return best;
}

} // namespace

int main() {
  const int64_t rows = 256; // One DiT-XL/2 image: 256 tokens.
  llvm::outs() << "Hadamard transform of " << rows
               << " rows, best of 5, one core\n\n"
               << "| order | construction | dense ms | fast ms | dense/fast "
                  "| max rel. diff |\n"
               << "|---|---|---|---|---|---|\n";
  for (int64_t n : {32, 72, 128, 1152, 4608}) {
    auto construction = getHadamardConstruction(n);
    auto dense = getRawHadamardMatrix(n);
    if (!construction || !dense) {
      llvm::consumeError(construction.takeError());
      llvm::consumeError(dense.takeError());
      llvm::errs() << "error: order " << n << " is not supported\n";
      return 1;
    }
    std::mt19937 rng(n);
    std::normal_distribution<float> normal;
    std::vector<float> x(rows * n);
    for (float &v : x)
      v = normal(rng);

    std::vector<float> viaDense(rows * n);
    const float scale = 1.0f / std::sqrt(static_cast<float>(n));
    double denseMs = bestMs(5, [&] {
      for (int64_t r = 0; r < rows; ++r) {
        const float *in = &x[r * n];
        float *out = &viaDense[r * n];
        std::fill(out, out + n, 0.0f);
        for (int64_t i = 0; i < n; ++i) {
          const int8_t *hRow = &(*dense)[i * n];
          for (int64_t j = 0; j < n; ++j)
            out[j] += in[i] * hRow[j];
        }
        for (int64_t j = 0; j < n; ++j)
          out[j] *= scale;
      }
    });

    std::vector<float> viaFast;
    double fastMs = bestMs(5, [&] {
      viaFast = x;
      if (llvm::Error e = fastHadamardTransform(viaFast, n)) {
        llvm::errs() << "error: " << llvm::toString(std::move(e)) << "\n";
        std::exit(1);
      }
    });

    double maxRel = 0.0, peak = 0.0;
    for (size_t i = 0; i < x.size(); ++i)
      peak = std::max(peak, std::abs(double(viaDense[i])));
    for (size_t i = 0; i < x.size(); ++i)
      maxRel = std::max(maxRel, std::abs(double(viaDense[i]) - viaFast[i]) /
                                    peak);
    llvm::outs() << llvm::format("| %5lld | %-13s | %8.2f | %7.3f | %9.1fx | "
                                 "%.1e |\n",
                                 (long long)n,
                                 (std::to_string(construction->baseOrder) +
                                  " x " +
                                  std::to_string(construction->powerOfTwo()))
                                     .c_str(),
                                 denseMs, fastMs, denseMs / fastMs, maxRel);
  }
  return 0;
}
