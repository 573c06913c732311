// hqdm.qconv2d on the GPU: the IR a supported convolution becomes, and the
// remark of every convolution that stays on the CPU (for the CPU lowering).
// RUN: hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_90})' \
// RUN:   --remarks-filter=hqdm-lower-to-cuda 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// The whole CUDA pipeline accepts both supported forms.
// RUN: hqdm-opt %s --split-input-file --hqdm-lower-to-cuda="chip=sm_90 format=isa" | FileCheck %s --check-prefix=HOST

// A dynamic per-tensor scale (hqdm.tensor_scale of the rotated input) runs
// on the GPU as three kernels: per-warp maxima of |rotated x|, the prologue
// (reduces them, writes the scale, quantizes and packs each pixel's 8
// channels into a row of 32 padded ones: 4 words), and the implicit GEMM.
// The input goes in as NCHW, the output comes out NCHW (f16 here). K is
// 9 taps x 32 channels = 288, padded to 320: 40 words of the 4-bit weight.
// REMARK: remark: [Passed] Kernels | Category:hqdm-lower-to-cuda | Remark="qconv0: 1x8x5x7 * 4x3x3 stride 2x2 padding 1x1 dilation 1x1, implicit GEMM 12x4x288 A4 per-tensor W4, hadamard block 8, mma.sync m16n8k32 s8, tile 64x64x64"
// CHECK-LABEL: func.func @conv_dynamic
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<1x64x40xi32>
// CHECK: %[[Y:.*]] = hqdm.gpu_launch "qconv0" ins(%arg0, %[[W]], %{{.*}}, %{{.*}} : tensor<1x8x5x7xf32>, tensor<1x64x40xi32>, tensor<4xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<1x4x3x4xf16>)
// CHECK-SAME: args = array<i64: 0, 7>, {{.*}}kernel = @hqdm_kernels::@qconv0_absmax
// CHECK-SAME: args = array<i64: 0, 7, 6, 5>, {{.*}}kernel = @hqdm_kernels::@qconv0_prologue
// CHECK-SAME: args = array<i64: 5, 6, 1, 2, 3, 4>, {{.*}}grid = array<i64: 1, 1, 1>, kernel = @hqdm_kernels::@qconv0_gemm
// CHECK-SAME: temps = [memref<35x4xi32>, memref<f32>, memref<4xf32>]
// CHECK: return %[[Y]] : tensor<1x4x3x4xf16>
// CHECK-NOT: hqdm.qconv2d
// CHECK: gpu.func @qconv0_absmax(%{{.*}}: memref<1x8x5x7xf32>, %{{.*}}: memref<4xf32>) kernel
// CHECK: gpu.func @qconv0_prologue(%{{.*}}: memref<1x8x5x7xf32>, %{{.*}}: memref<4xf32>, %{{.*}}: memref<f32>, %{{.*}}: memref<35x4xi32>) kernel
// CHECK: gpu.func @qconv0_gemm(%{{.*}}: memref<35x4xi32>, %{{.*}}: memref<f32>, %{{.*}}: memref<1x64x40xi32>, %{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>, %{{.*}}: memref<1x4x3x4xf16>) workgroup(
// The A loader zero-fills taps outside the input (a source size operand).
// CHECK: nvgpu.device_async_copy %arg0[%{{.*}}], %{{.*}}[%{{.*}}], 4, %{{.*}} {bypassL1} : memref<35x4xi32>
// HOST-LABEL: llvm.func @conv_dynamic
// HOST-COUNT-3: gpu.launch_func
// HOST-NOT: gpu.launch_func
func.func @conv_dynamic(%x: tensor<1x8x5x7xf32>) -> tensor<1x4x3x4xf16> {
  %w = arith.constant dense<3> : tensor<4x8x3x3xi8>
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %b = arith.constant dense<0.25> : tensor<4xf32>
  %r = hqdm.hadamard %x <block = 8> {axis = 1 : i64} : tensor<1x8x5x7xf32> -> tensor<1x8x5x7xf32>
  %s = hqdm.tensor_scale %r <bits = 4> : tensor<1x8x5x7xf32> -> tensor<f32>
  %q = hqdm.quantize %r, %s <bits = 4> : (tensor<1x8x5x7xf32>, tensor<f32>) -> tensor<1x8x5x7xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) bias(%b) {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x5x7xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x3x4xf16>
  return %y : tensor<1x4x3x4xf16>
}

// -----

// A given scale (a per-step table here) is computed on the host and read by
// both kernels; 1x1 kernel, two int8 weight digits, bf16 output.
// REMARK: Remark="qconv0: 2x8x6x6 * 16x1x1 stride 1x1 padding 0x0 dilation 1x1, implicit GEMM 72x16x32 A8 given-scale W8 (two int8 digits), hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64"
// CHECK-LABEL: func.func @conv_step_table
// CHECK: %[[S:.*]] = hqdm.step_select
// CHECK: hqdm.gpu_launch "qconv0" ins(%arg0, %[[S]], %{{.*}}, %{{.*}} : tensor<2x8x6x6xf32>, tensor<f32>, tensor<2x64x16xi32>, tensor<f32>) outs(%{{.*}} : tensor<2x16x6x6xbf16>)
// CHECK-SAME: args = array<i64: 0, 1, 5>, {{.*}}kernel = @hqdm_kernels::@qconv0_prologue
// CHECK-SAME: args = array<i64: 5, 1, 2, 3, 4>, {{.*}}grid = array<i64: 1, 2, 1>, kernel = @hqdm_kernels::@qconv0_gemm
// CHECK-SAME: temps = [memref<72x8xi32>]
// CHECK-NOT: qconv0_absmax
// HOST-LABEL: llvm.func @conv_step_table
// HOST-COUNT-2: gpu.launch_func
// HOST-NOT: gpu.launch_func
func.func @conv_step_table(%x: tensor<2x8x6x6xf32>, %step: i64) -> tensor<2x16x6x6xbf16> {
  %w = arith.constant dense<300> : tensor<16x8x1x1xi16>
  %sw = arith.constant dense<0.5> : tensor<f32>
  %table = arith.constant dense<[0.1, 0.2, 0.3]> : tensor<3xf32>
  %s = hqdm.step_select %table[%step] : tensor<3xf32>, i64 -> tensor<f32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<2x8x6x6xf32>, tensor<f32>) -> tensor<2x8x6x6xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) : (tensor<2x8x6x6xi8>, tensor<16x8x1x1xi16>, tensor<f32>, tensor<f32>) -> tensor<2x16x6x6xbf16>
  return %y : tensor<2x16x6x6xbf16>
}

// -----

// REMARK: Remark="qconv2d stays on the CPU: its shapes are not static"
// CHECK-LABEL: func.func @conv_dynamic_batch
// CHECK: hqdm.qconv2d
// CHECK-NOT: hqdm.gpu_launch
func.func @conv_dynamic_batch(%x: tensor<?x8x5x5xf32>) -> tensor<?x4x5x5xf32> {
  %w = arith.constant dense<1> : tensor<4x8x3x3xi8>
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %s = hqdm.tensor_scale %x <bits = 4> : tensor<?x8x5x5xf32> -> tensor<f32>
  %q = hqdm.quantize %x, %s <bits = 4> : (tensor<?x8x5x5xf32>, tensor<f32>) -> tensor<?x8x5x5xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) {padding = array<i64: 1, 1>} : (tensor<?x8x5x5xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<?x4x5x5xf32>
  return %y : tensor<?x4x5x5xf32>
}

// -----

// REMARK: Remark="qconv2d stays on the CPU: its float input is not f32"
// CHECK-LABEL: func.func @conv_f16_input
// CHECK: hqdm.qconv2d
func.func @conv_f16_input(%x: tensor<1x8x5x5xf16>) -> tensor<1x4x5x5xf32> {
  %w = arith.constant dense<1> : tensor<4x8x3x3xi8>
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %s = hqdm.tensor_scale %x <bits = 4> : tensor<1x8x5x5xf16> -> tensor<f32>
  %q = hqdm.quantize %x, %s <bits = 4> : (tensor<1x8x5x5xf16>, tensor<f32>) -> tensor<1x8x5x5xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) {padding = array<i64: 1, 1>} : (tensor<1x8x5x5xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  return %y : tensor<1x4x5x5xf32>
}

// -----

// The prologue rotates each pixel's channel vector: a rotation along W is
// not that.
// REMARK: Remark="qconv2d stays on the CPU: its input rotation is not a normalized one along C"
// CHECK-LABEL: func.func @conv_rotation_along_w
// CHECK: hqdm.qconv2d
func.func @conv_rotation_along_w(%x: tensor<1x8x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<1> : tensor<4x8x3x3xi8>
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %r = hqdm.hadamard %x <block = 4> {axis = 3 : i64} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  %s = hqdm.tensor_scale %r <bits = 4> : tensor<1x8x4x4xf32> -> tensor<f32>
  %q = hqdm.quantize %r, %s <bits = 4> : (tensor<1x8x4x4xf32>, tensor<f32>) -> tensor<1x8x4x4xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) {padding = array<i64: 1, 1>} : (tensor<1x8x4x4xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// REMARK: Remark="qconv2d stays on the CPU: the online Hadamard block 64 is above 32 (the conv prologue rotates 32-channel chunks in registers)
// CHECK-LABEL: func.func @conv_block64
// CHECK: hqdm.qconv2d
func.func @conv_block64(%x: tensor<1x128x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %w = arith.constant dense<1> : tensor<4x128x3x3xi8>
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %r = hqdm.hadamard %x <block = 64> {axis = 1 : i64} : tensor<1x128x4x4xf32> -> tensor<1x128x4x4xf32>
  %s = hqdm.tensor_scale %r <bits = 4> : tensor<1x128x4x4xf32> -> tensor<f32>
  %q = hqdm.quantize %r, %s <bits = 4> : (tensor<1x128x4x4xf32>, tensor<f32>) -> tensor<1x128x4x4xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) {padding = array<i64: 1, 1>} : (tensor<1x128x4x4xi8>, tensor<4x128x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// REMARK: Remark="qconv2d stays on the CPU: its activations are asymmetric (input zero point)"
// CHECK-LABEL: func.func @conv_asymmetric
// CHECK: hqdm.qconv2d
func.func @conv_asymmetric(%x: tensor<1x8x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %w = arith.constant dense<1> : tensor<4x8x3x3xi8>
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %z = arith.constant dense<8> : tensor<i32>
  %q = hqdm.quantize %x, %s, %z <bits = 4, symmetric = false> : (tensor<1x8x5x5xf32>, tensor<f32>, tensor<i32>) -> tensor<1x8x5x5xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) input_zero_point(%z) {padding = array<i64: 1, 1>} : (tensor<1x8x5x5xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>, tensor<i32>) -> tensor<1x4x5x5xf32>
  return %y : tensor<1x4x5x5xf32>
}

// -----

// REMARK: Remark="qconv2d stays on the CPU: its weight is not a constant"
// CHECK-LABEL: func.func @conv_runtime_weight
// CHECK: hqdm.qconv2d
func.func @conv_runtime_weight(%x: tensor<1x8x5x5xf32>, %w: tensor<4x8x3x3xi8>) -> tensor<1x4x5x5xf32> {
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<1x8x5x5xf32>, tensor<f32>) -> tensor<1x8x5x5xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) {padding = array<i64: 1, 1>} : (tensor<1x8x5x5xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  return %y : tensor<1x4x5x5xf32>
}

// -----

// REMARK: Remark="qconv2d stays on the CPU: its integer weights reach 20000, beyond two int8 digits"
// CHECK-LABEL: func.func @conv_wide_weight
// CHECK: hqdm.qconv2d
func.func @conv_wide_weight(%x: tensor<1x8x5x5xf32>) -> tensor<1x4x5x5xf32> {
  %w = arith.constant dense<20000> : tensor<4x8x3x3xi16>
  %sw = arith.constant dense<0.5> : tensor<4xf32>
  %s = arith.constant dense<0.1> : tensor<f32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<1x8x5x5xf32>, tensor<f32>) -> tensor<1x8x5x5xi8>
  %y = hqdm.qconv2d %q, %w scales(%s, %sw) {padding = array<i64: 1, 1>} : (tensor<1x8x5x5xi8>, tensor<4x8x3x3xi16>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  return %y : tensor<1x4x5x5xf32>
}
