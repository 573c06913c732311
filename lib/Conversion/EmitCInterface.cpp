//===- EmitCInterface.cpp - Request C wrappers for public functions -------===//
//
// This file implements `hqdm-emit-c-interface`, which marks every public
// function with a body so that the LLVM lowering emits a C-callable wrapper.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::hqdm {
#define GEN_PASS_DEF_EMITCINTERFACEPASS
#include "hqdm/Conversion/Passes.h.inc"
} // namespace mlir::hqdm

using namespace mlir;

namespace {
struct EmitCInterfacePass
    : public mlir::hqdm::impl::EmitCInterfacePassBase<EmitCInterfacePass> {
  void runOnOperation() override {
    StringRef name = LLVM::LLVMDialect::getEmitCWrapperAttrName();
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func.isPublic() && !func.isExternal())
        func->setAttr(name, UnitAttr::get(&getContext()));
  }
};
} // namespace
