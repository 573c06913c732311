//===- HqdmDialect.cpp - hqdm dialect ---------------------------*- C++ -*-===//
//
// This file registers the hqdm dialect with its operations and attributes.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmAttrs.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h"

using namespace mlir;
using namespace mlir::hqdm;

#include "hqdm/Dialect/Hqdm/IR/HqdmOpsDialect.cpp.inc"

void HqdmDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.cpp.inc"
      >();
  registerAttributes();
}
