//===- hqdm-hadamard.cpp - Query hqdm's Hadamard constructions ------------===//
//
// This file implements hqdm-hadamard, which answers questions about the
// Hadamard library:
//
//   hqdm-hadamard N                 the construction of order N, one line
//   hqdm-hadamard --print-matrix N  H_raw(N), one row per line, one character
//                                   per entry: '+' for 1, '-' for -1
//   hqdm-hadamard --list-orders=MAX every supported order <= MAX, ascending,
//                                   one per line
//
// An unsupported N is reported on stderr with exit status 1.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Support/Hadamard.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <set>

using namespace llvm;
using namespace mlir::hqdm;

static cl::OptionCategory hadamardCategory("hqdm-hadamard options");

static cl::opt<int64_t> order(cl::Positional, cl::desc("<order>"), cl::Optional,
                              cl::cat(hadamardCategory));

static cl::opt<bool>
    printMatrix("print-matrix",
                cl::desc("Print H_raw(N) as rows of '+' (1) and '-' (-1) "
                         "instead of the construction"),
                cl::init(false), cl::cat(hadamardCategory));

static cl::opt<int64_t>
    listOrders("list-orders",
               cl::desc("Print every supported order up to MAX, one per line"),
               cl::value_desc("MAX"), cl::init(0), cl::cat(hadamardCategory));

static constexpr StringLiteral toolName = "hqdm-hadamard";

/// Every supported order in 1..limit, ascending.
static std::set<int64_t> supportedOrdersUpTo(int64_t limit) {
  std::set<int64_t> orders;
  for (int64_t base : getSupportedHadamardBaseOrders())
    for (int64_t n = base; n <= limit; n *= 2) {
      orders.insert(n);
      if (n > limit / 2)
        break;
    }
  return orders;
}

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(hadamardCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "hqdm Hadamard constructions and matrices\n");

  if (listOrders.getNumOccurrences()) {
    for (int64_t n : supportedOrdersUpTo(listOrders))
      outs() << n << "\n";
    if (!order.getNumOccurrences())
      return 0;
  }
  if (!order.getNumOccurrences()) {
    WithColor::error(errs(), toolName)
        << "expected an order N, or --list-orders=MAX\n";
    return 1;
  }

  Expected<HadamardConstruction> construction = getHadamardConstruction(order);
  if (!construction) {
    WithColor::error(errs(), toolName)
        << toString(construction.takeError()) << "\n";
    return 1;
  }
  if (!printMatrix) {
    outs() << construction->describe() << "\n";
    return 0;
  }

  Expected<std::vector<int8_t>> matrix = getRawHadamardMatrix(order);
  if (!matrix) {
    WithColor::error(errs(), toolName) << toString(matrix.takeError()) << "\n";
    return 1;
  }
  std::string line(order, ' ');
  for (int64_t i = 0; i < order; ++i) {
    for (int64_t j = 0; j < order; ++j)
      line[j] = (*matrix)[i * order + j] > 0 ? '+' : '-';
    outs() << line << "\n";
  }
  return 0;
}
