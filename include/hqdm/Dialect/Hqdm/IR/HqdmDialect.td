//===- HqdmDialect.td - hqdm dialect definition ------------*- tablegen -*-===//
//
// This file defines the hqdm dialect: quantization, Hadamard rotation and
// quantized layer operations for low-bit diffusion models.
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_DIALECT_HQDM_IR_HQDMDIALECT_TD
#define HQDM_DIALECT_HQDM_IR_HQDMDIALECT_TD

include "mlir/IR/OpBase.td"

def Hqdm_Dialect : Dialect {
  let name = "hqdm";
  let cppNamespace = "::mlir::hqdm";
  let summary = "Quantization and Hadamard rotation for low-bit diffusion models";
  let description = [{
    The `hqdm` dialect describes quantized diffusion models on tensors with
    value semantics. Quantized values are builtin integer tensors (`i4`, `i8`,
    and wider for exactly rotated integer weights); scales are `f32` tensors
    and zero points `i32` tensors whose shapes follow the quantization
    granularity. The numerics of every op are fixed by hqdm's numerics contract
    (docs/Overview.md): symmetric and asymmetric quantizers round half to even
    and clamp, integer products accumulate in `i32`, Hadamard transforms use the
    constructions of the Hadamard library with `y = x * H`.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = [];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class Hqdm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Hqdm_Dialect, mnemonic, traits>;

#endif // HQDM_DIALECT_HQDM_IR_HQDMDIALECT_TD
