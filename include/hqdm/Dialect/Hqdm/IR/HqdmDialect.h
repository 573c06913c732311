//===- HqdmDialect.h - hqdm dialect -----------------------------*- C++ -*-===//
//
// This file declares the hqdm dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_DIALECT_HQDM_IR_HQDMDIALECT_H
#define HQDM_DIALECT_HQDM_IR_HQDMDIALECT_H

#include "mlir/IR/Dialect.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmOpsDialect.h.inc"

#endif // HQDM_DIALECT_HQDM_IR_HQDMDIALECT_H
