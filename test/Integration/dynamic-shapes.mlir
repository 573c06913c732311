// RUN: hqdm-opt %s --hqdm-lower-to-cpu | %run_main | FileCheck %s

// A dynamic token count end to end: block-8 Hadamard, dynamic per-token 8-bit
// scales, quantize, qlinear. Worked by hand (H = H_raw(8) / sqrt(8), Sylvester):
//  * x0 = e0: x0 H = [1/sqrt8] * 8, absmax 0.35355, every level 127.
//    W row 0 (all 1): acc 1016, y = 1016 * 0.35355 / 127 = 2.82843.
//    W row 1 (alternating): acc 0. W row 3 ([2, 0, ...]): 254 -> 0.70711.
//  * x1 = 2 e1: x1 H = +-0.70711 alternating; levels +-127 alternating.
//    Row 1 matches the signs: acc 1016 -> 5.65685; row 3: 2 * 127 -> 1.41421.
//  * x2 = [3] * 8: x2 H = [8.48528, 0, ...]; levels [127, 0, ...].
//    Rows 0-2 start with 1: 8.48528; row 3 starts with 2: 16.9706.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func @layer(%x: tensor<?x8xf32>, %w: tensor<4x8xi8>, %sw: tensor<4xf32>) -> tensor<?x4xf32> {
  %r = hqdm.hadamard %x <block = 8> : tensor<?x8xf32> -> tensor<?x8xf32>
  %s = hqdm.token_scale %r <bits = 8> : tensor<?x8xf32> -> tensor<?xf32>
  %q = hqdm.quantize %r, %s <bits = 8, granularity = per_token> : (tensor<?x8xf32>, tensor<?xf32>) -> tensor<?x8xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<?x8xi8>, tensor<4x8xi8>, tensor<?xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
func.func @main() {
  %x = arith.constant dense<[[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]]> : tensor<3x8xf32>
  %w = arith.constant dense<[[1, 1, 1, 1, 1, 1, 1, 1], [1, -1, 1, -1, 1, -1, 1, -1], [1, 1, -1, -1, 1, 1, -1, -1], [2, 0, 0, 0, 0, 0, 0, 0]]> : tensor<4x8xi8>
  %sw = arith.constant dense<1.0> : tensor<4xf32>
  %xd = tensor.cast %x : tensor<3x8xf32> to tensor<?x8xf32>
  %y = call @layer(%xd, %w, %sw) : (tensor<?x8xf32>, tensor<4x8xi8>, tensor<4xf32>) -> tensor<?x4xf32>
  %m = bufferization.to_buffer %y : tensor<?x4xf32> to memref<?x4xf32>
  %u = memref.cast %m : memref<?x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// CHECK: sizes = [3, 4]
// CHECK-NEXT: {{\[}}[2.82843,   0,   0,   0.707107],
// CHECK-NEXT:  [0,   5.65685,   0,   1.41421],
// CHECK-NEXT:  [8.48528,   8.48528,   8.48528,   16.9706]]
