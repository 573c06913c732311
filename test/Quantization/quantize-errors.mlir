// hqdm-quantize-layers refuses, with a diagnostic naming the layer, what it
// cannot do correctly.

// RUN: hqdm-opt %s --split-input-file --hqdm-plan="scheme=w16a16 hadamard=none weight-symmetric=true" --hqdm-quantize-layers -verify-diagnostics
// RUN: not hqdm-opt %s --hqdm-plan="activation=static" --hqdm-quantize-layers="form=fake-quant" 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not hqdm-opt %s --hqdm-quantize-layers="form=float" 2>&1 | FileCheck %s --check-prefix=FORM

// 16-bit levels of 32767 on 64 features times 16-bit activations overflow i32:
// 64 * 32767 * 32767 = 6.9e10.
func.func @overflow(%x: tensor<4x64xf32>) -> tensor<4x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x64xf32>
  // expected-error @below {{layer 'big': the i32 accumulator can overflow: worst case 68715282496 > 2^31 - 1 (sum over 64 products of weights up to 32767 and activations up to 32767); use a smaller Hadamard block or fewer bits}}
  %y = hqdm.linear %x, %w {name = "big"} : (tensor<4x64xf32>, tensor<2x64xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// STATIC: error: layer 'big': static activation scales need calibration statistics, which this pipeline was not given; pass calibration=<file> (see docs/Calibration.md) or use dynamic scales (activation=per-token or per-tensor)
// FORM: error: hqdm-quantize-layers: form 'float' is not one of integer, fake-quant

