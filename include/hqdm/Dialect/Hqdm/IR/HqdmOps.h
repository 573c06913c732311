//===- HqdmOps.h - hqdm operations ------------------------------*- C++ -*-===//
//
// This file declares the operations of the hqdm dialect.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_DIALECT_HQDM_IR_HQDMOPS_H
#define HQDM_DIALECT_HQDM_IR_HQDMOPS_H

#include "hqdm/Dialect/Hqdm/IR/HqdmAttrs.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "hqdm/Dialect/Hqdm/IR/HqdmOps.h.inc"

#endif // HQDM_DIALECT_HQDM_IR_HQDMOPS_H
