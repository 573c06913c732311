//===- hqdm-opt.cpp - The hqdm optimizer driver ----------------*- C++ -*-===//
//
// This file implements hqdm-opt, an mlir-opt compatible driver that knows the
// hqdm dialect, its passes and pipelines, and every upstream dialect, pass,
// extension and GPU-to-LLVM-IR translation.
//
//===----------------------------------------------------------------------===//

#include "hqdm/Conversion/Passes.h"
#include "hqdm/Dialect/Hqdm/IR/HqdmDialect.h"
#include "hqdm/Pipelines/Pipelines.h"
#include "hqdm/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::hqdm::registerHqdmConversionPasses();
  mlir::hqdm::registerHqdmTransformsPasses();
  mlir::hqdm::registerHqdmPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates GPU modules to LLVM IR in-process.
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<mlir::hqdm::HqdmDialect>();
  mlir::hqdm::registerGpuLaunchBufferization(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "hqdm optimizer driver: quantization and Hadamard rotation "
                  "for low-bit diffusion models\n",
      registry));
}
