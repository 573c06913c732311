// Layers the generated kernels do not cover stay as they are (for the CPU
// lowering), each with a remark that says why; a chip hqdm does not target
// is an error.
// RUN: hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_90})' \
// RUN:   --remarks-filter=hqdm-lower-to-cuda 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// RUN: not hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_75})' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CHIP

// CHIP: error: unsupported chip 'sm_75': hqdm targets sm_80, sm_86, sm_89, sm_90 and sm_90a

// A Hadamard block of 64 does not fit in one warp's butterfly.
// REMARK: remark: [Missed] LeftOnHost | Category:hqdm-lower-to-cuda | Remark="qlinear stays on the CPU: the online Hadamard block 64 is not a power of two up to 32
// CHECK-LABEL: func.func @block64
// CHECK: hqdm.qlinear
// CHECK-NOT: hqdm.gpu_launch
func.func @block64(%x: tensor<4x128xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<1> : tensor<8x128xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %r = hqdm.hadamard %x <block = 64> : tensor<4x128xf32> -> tensor<4x128xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<4x128xf32> -> tensor<4xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<4x128xf32>, tensor<4xf32>) -> tensor<4x128xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x128xi8>, tensor<8x128xi8>, tensor<4xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Asymmetric activations (a zero point) are not generated yet.
// REMARK: Remark="qlinear stays on the CPU: its activations are asymmetric (input zero point)"
func.func @asymmetric(%x: tensor<4x64xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<1> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %z = arith.constant dense<8> : tensor<i32>
  %q = hqdm.quantize %x, %s, %z <bits = 4, symmetric = false> : (tensor<4x64xf32>, tensor<f32>, tensor<i32>) -> tensor<4x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) input_zero_point(%z) : (tensor<4x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>, tensor<i32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Weights must be constants: the kernels are specialised to their values.
// REMARK: Remark="qlinear stays on the CPU: its weight is not a constant"
func.func @runtime_weight(%x: tensor<4x64xf32>, %w: tensor<8x64xi8>) -> tensor<4x8xf32> {
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// An integer input that no quantizer in the program produced.
// REMARK: Remark="qlinear stays on the CPU: its input is not produced by hqdm.quantize"
func.func @integer_input(%q: tensor<4x64xi8>) -> tensor<4x8xf32> {
  %w = arith.constant dense<1> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A given (per-tensor or per-step) scale is read by both kernels; a rank-3
// input is collapsed to a matrix and the result expanded back.
// REMARK: remark: [Passed] Kernels | Category:hqdm-lower-to-cuda | Remark="qlinear0: 6x8x64 A8 given-scale W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64"
// CHECK-LABEL: func.func @given_scale
// CHECK: %[[X:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x3x64xf32> into tensor<6x64xf32>
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<1x64x8xi32>
// CHECK: %[[Y:.*]] = hqdm.gpu_launch "qlinear0" ins(%[[X]], %{{.*}}, %[[W]], %{{.*}} : tensor<6x64xf32>, tensor<f32>, tensor<1x64x8xi32>, tensor<8xf32>) outs(%{{.*}} : tensor<6x8xf32>)
// CHECK-SAME: args = array<i64: 0, 1, 5>, {{.*}}kernel = @hqdm_kernels::@qlinear0_prologue
// CHECK-SAME: args = array<i64: 5, 1, 2, 3, 4>, {{.*}}grid = array<i64: 1, 1, 1>, kernel = @hqdm_kernels::@qlinear0_gemm
// CHECK-SAME: temps = [memref<64x16xi32>]
// CHECK: tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [2, 3, 8]
// CHECK-NOT: hqdm.qlinear
func.func @given_scale(%x: tensor<2x3x64xf32>, %s: tensor<f32>) -> tensor<2x3x8xf32> {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<2x3x64xf32>, tensor<f32>) -> tensor<2x3x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<2x3x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %y : tensor<2x3x8xf32>
}
