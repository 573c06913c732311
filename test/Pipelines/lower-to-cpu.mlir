// RUN: hqdm-opt %s --hqdm-lower-to-cpu | %run_main | FileCheck %s

// hqdm-lower-to-cpu takes hqdm mixed with linalg-on-tensors down to the LLVM
// dialect and keeps every function: @main calls @model and prints. Expected
// values are worked out by hand in the comments.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

// y = fake_quant(x * W^T + b) with W = [[1, 1, 1, 1], [1, -1, 1, -1]],
// b = [0.1, 0] and a 4-bit symmetric quantizer of scale 0.5.
func.func @model(%x: tensor<2x4xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.1, 0.0]> : tensor<2xf32>
  %s = arith.constant dense<0.5> : tensor<f32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %mm = linalg.matmul
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                       affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x4xf32>, tensor<2x4xf32>)
      outs(%acc : tensor<2x2xf32>) -> tensor<2x2xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n)>,
                       affine_map<(m, n) -> (m, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%mm, %b : tensor<2x2xf32>, tensor<2xf32>) outs(%e : tensor<2x2xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %r = arith.addf %a, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x2xf32>
  %q = hqdm.fake_quant %y, %s <bits = 4>
      : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  return %q : tensor<2x2xf32>
}

func.func @main() {
  // Row 0: x = [0.5, 0.25, 0.5, 0.0]
  //   y0 = 1.25 + 0.1 = 1.35 -> 1.35 / 0.5 = 2.7 -> 3 -> 1.5
  //   y1 = 0.5 - 0.25 + 0.5 - 0 = 0.75 -> 1.5 -> 2 (tie, even) -> 1.0
  // Row 1: x = [4, 4, 4, -2]
  //   y0 = 10 + 0.1 -> 20.2 -> clamp 7 -> 3.5
  //   y1 = 4 - 4 + 4 + 2 = 6 -> 12 -> clamp 7 -> 3.5
  %x = arith.constant dense<[[0.5, 0.25, 0.5, 0.0], [4.0, 4.0, 4.0, -2.0]]> : tensor<2x4xf32>
  %y = call @model(%x) : (tensor<2x4xf32>) -> tensor<2x2xf32>
  %m = bufferization.to_buffer %y : tensor<2x2xf32> to memref<2x2xf32>
  %u = memref.cast %m : memref<2x2xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

// CHECK: rank = 2 offset = 0 sizes = [2, 2]
// CHECK-NEXT: {{\[}}[1.5, 1],
// CHECK-NEXT:  [3.5, 3.5]]
