// Layers the generated kernels do not cover stay as they are (for the CPU
// lowering), each with a remark that says why; a chip hqdm does not target
// is an error.
// RUN: hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_90})' \
// RUN:   --remarks-filter=hqdm-lower-to-cuda 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// RUN: not hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_75})' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CHIP

// CHIP: error: unsupported chip 'sm_75': hqdm targets sm_80, sm_86, sm_89, sm_90 and sm_90a

// A K x 2^m Hadamard block with 2^m below 32 (24 = 12 x 2): a row of H_12
// would span lanes.
// REMARK: remark: [Missed] LeftOnHost | Category:hqdm-lower-to-cuda | Remark="qlinear stays on the CPU: the online Hadamard block 24 = 12 x 2 has a power-of-two factor below 32
// CHECK-LABEL: func.func @block24
// CHECK: hqdm.qlinear
// CHECK-NOT: hqdm.gpu_launch
func.func @block24(%x: tensor<4x48xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<1> : tensor<8x48xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %r = hqdm.hadamard %x <block = 24> : tensor<4x48xf32> -> tensor<4x48xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<4x48xf32> -> tensor<4xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<4x48xf32>, tensor<4xf32>) -> tensor<4x48xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x48xi8>, tensor<8x48xi8>, tensor<4xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A block above 4608 values does not fit in a lane's registers.
// REMARK: Remark="qlinear stays on the CPU: the online Hadamard block 8192 is above 4608 (a lane holds 144 values of a block at most)"
func.func @block8192(%x: tensor<4x8192xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<1> : tensor<8x8192xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %r = hqdm.hadamard %x <block = 8192> : tensor<4x8192xf32> -> tensor<4x8192xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<4x8192xf32> -> tensor<4xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<4x8192xf32>, tensor<4xf32>) -> tensor<4x8192xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x8192xi8>, tensor<8x8192xi8>, tensor<4xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A block of more than 72 values a lane (4096) is rotated only with its
// whole row in registers (K at most 4608).
// REMARK: Remark="qlinear stays on the CPU: the online Hadamard block 4096 is above 2304 and K = 8192 is above 4608 (a lane holds such a block only with its whole row)"
func.func @block4096_long_row(%x: tensor<4x8192xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<1> : tensor<8x8192xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %r = hqdm.hadamard %x <block = 4096> : tensor<4x8192xf32> -> tensor<4x8192xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<4x8192xf32> -> tensor<4xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<4x8192xf32>, tensor<4xf32>) -> tensor<4x8192xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x8192xi8>, tensor<8x8192xi8>, tensor<4xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A block of 1152 = 36 x 32 runs on the GPU.
// REMARK: Remark="qlinear0: 4x8x2304 A4 per-token W4, hadamard block 1152, mma.sync m16n8k32 s8, tile 64x64x64"
// CHECK-LABEL: func.func @block1152
// CHECK: hqdm.gpu_launch
// CHECK-NOT: hqdm.qlinear
// CHECK: gpu.module @hqdm_kernels
func.func @block1152(%x: tensor<4x2304xf32>) -> tensor<4x8xf32> {
  %w = arith.constant dense<1> : tensor<8x2304xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %r = hqdm.hadamard %x <block = 1152> : tensor<4x2304xf32> -> tensor<4x2304xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<4x2304xf32> -> tensor<4xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<4x2304xf32>, tensor<4xf32>) -> tensor<4x2304xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x2304xi8>, tensor<8x2304xi8>, tensor<4xf32>, tensor<8xf32>) -> tensor<4x8xf32>
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

// -----

// An hqdm.gelu that is the layer's only user is fused into the GEMM
// epilogue: the launch produces its result and the gelu is gone.
// REMARK: Remark="qlinear0: 6x8x64 A8 given-scale W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64, fused gelu (tanh)"
// CHECK-LABEL: func.func @fused_gelu
// CHECK: %[[Y:.*]] = hqdm.gpu_launch "qlinear0"
// CHECK-NOT: hqdm.gelu
// CHECK: return %[[Y]] : tensor<6x8xf32>
func.func @fused_gelu(%x: tensor<6x64xf32>, %s: tensor<f32>) -> tensor<6x8xf32> {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<6x64xf32>, tensor<f32>) -> tensor<6x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<6x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<6x8xf32>
  %g = hqdm.gelu %y approximate tanh : tensor<6x8xf32>
  return %g : tensor<6x8xf32>
}

// -----

// A gelu is not fused when the layer's result has other users.
// REMARK: Remark="the hqdm.gelu after the layer stays on the CPU: the layer's result has other users"
// REMARK: Remark="qlinear0: 6x8x64 A8 given-scale W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64"
// CHECK-LABEL: func.func @gelu_with_other_users
// CHECK: %[[Y:.*]] = hqdm.gpu_launch "qlinear0"
// CHECK: %[[G:.*]] = hqdm.gelu %[[Y]] : tensor<6x8xf32>
// CHECK: return %[[Y]], %[[G]]
func.func @gelu_with_other_users(%x: tensor<6x64xf32>, %s: tensor<f32>) -> (tensor<6x8xf32>, tensor<6x8xf32>) {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<6x64xf32>, tensor<f32>) -> tensor<6x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<6x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<6x8xf32>
  %g = hqdm.gelu %y : tensor<6x8xf32>
  return %y, %g : tensor<6x8xf32>, tensor<6x8xf32>
}
