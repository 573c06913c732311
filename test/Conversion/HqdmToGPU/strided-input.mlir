// A layer whose input is a strided view (a slice of a wider tensor) lowers
// whole-model: the launch's bufferization copies the view to a contiguous
// buffer (one copy kernel on the GPU), since kernels take identity layouts.
// (It used to fail: "operand ... is not contiguous".)
// RUN: hqdm-opt %s --hqdm-lower-to-cuda="chip=sm_90 whole-model=true format=isa" \
// RUN:   --remarks-filter=hqdm-lower-to-cuda -o /dev/null 2>&1 | FileCheck %s
// CHECK-NOT: error
// CHECK: Remark="@forward launches 3 kernels per call (2 of quantized layers, 1 from parallel loops) and allocates 3 device buffers"
// The host path (no whole-model) copies it on the host.
// RUN: hqdm-opt %s --hqdm-lower-to-cuda="chip=sm_90 format=isa" -o /dev/null
func.func @forward(%big: tensor<8x128xf32>, %s: tensor<f32>) -> tensor<8x8xf32> {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %x = tensor.extract_slice %big[0, 32] [8, 64] [1, 1] : tensor<8x128xf32> to tensor<8x64xf32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<8x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<8x8xf32>
  return %y : tensor<8x8xf32>
}
