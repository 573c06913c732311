//===- Gelu.h - f32 GELU and SiLU shared by the CPU and GPU lowerings -*- C++ -*-===//
//
// One definition of GELU's and SiLU's arithmetic, so that the CPU reference
// and the generated GPU kernels run the same f32 operations in the same
// order; only erf, tanh and exp differ (libm on the CPU, libdevice on the
// GPU).
//
//===----------------------------------------------------------------------===//

#ifndef HQDM_LIB_CONVERSION_GELU_H
#define HQDM_LIB_CONVERSION_GELU_H

#include "mlir/IR/Builders.h"

namespace mlir::hqdm {

/// Builds y = 0.5 * x * (1 + f) on an f32 scalar, with f = erf(x / sqrt(2)),
/// or, for `tanhForm`, f = tanh(sqrt(2/pi) * (x + 0.044715 * x^3)).
Value buildGeluF32(OpBuilder &b, Location loc, Value x, bool tanhForm);

/// Builds y = x / (1 + exp(-x)) (SiLU) on an f32 scalar.
Value buildSiluF32(OpBuilder &b, Location loc, Value x);

} // namespace mlir::hqdm

#endif // HQDM_LIB_CONVERSION_GELU_H
