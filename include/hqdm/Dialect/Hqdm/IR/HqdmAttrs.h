//===- HqdmAttrs.h - hqdm attributes ----------------------------*- C++ -*-===//
//
// This file declares the attributes and enums of the hqdm dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_DIALECT_HQDM_IR_HQDMATTRS_H
#define HQDM_DIALECT_HQDM_IR_HQDMATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "hqdm/Dialect/Hqdm/IR/HqdmEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "hqdm/Dialect/Hqdm/IR/HqdmAttrs.h.inc"

#endif // HQDM_DIALECT_HQDM_IR_HQDMATTRS_H
