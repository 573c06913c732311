// RUN: hqdm-opt %s --hqdm-lower-to-cpu | %run_main | FileCheck %s

// Quantizers on a few values worked out by hand (every value below is exact
// in f32, so there is no rounding other than the quantizer's own).

func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

#id = affine_map<(d0) -> (d0)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>

func.func @main() {
  // 1. Symmetric 4 bits, s = 0.5: levels in [-7, 7].
  //      x      x / s   round_half_even   clamp
  //   -1.25    -2.5       -2 (tie)         -2
  //   -0.75    -1.5       -2 (tie)         -2
  //   -0.25    -0.5       -0 (tie)          0
  //    0.25     0.5        0 (tie)          0
  //    0.75     1.5        2 (tie)          2
  //    1.25     2.5        2 (tie)          2
  //    9.0     18         18                7
  //   -9.0    -18        -18               -7
  // Rounding half away from zero would give -3, -2, -1, 1, 2, 3 instead.
  // Dequantized: level * 0.5 = -1, -1, 0, 0, 1, 1, 3.5, -3.5.
  %x = arith.constant dense<[-1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 9.0, -9.0]> : tensor<8xf32>
  %s = arith.constant dense<0.5> : tensor<f32>
  %q = hqdm.quantize %x, %s <bits = 4> : (tensor<8xf32>, tensor<f32>) -> tensor<8xi4>
  %d = hqdm.dequantize %q, %s <bits = 4> : (tensor<8xi4>, tensor<f32>) -> tensor<8xf32>
  %e8 = tensor.empty() : tensor<8xi32>
  %q32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%q : tensor<8xi4>) outs(%e8 : tensor<8xi32>) {
  ^bb0(%a: i4, %o: i32):
    %c = arith.extsi %a : i4 to i32
    linalg.yield %c : i32
  } -> tensor<8xi32>
  call @print_i32_8(%q32) : (tensor<8xi32>) -> ()
  // CHECK: sizes = [8]
  // CHECK-NEXT: [-2, -2, 0, 0, 2, 2, 7, -7]
  call @print_f32_8(%d) : (tensor<8xf32>) -> ()
  // CHECK: sizes = [8]
  // CHECK-NEXT: [-1, -1, 0, 0, 1, 1, 3.5, -3.5]

  // 2. Asymmetric 3 bits, s = 0.25, z = 3: levels in [0, 7].
  //      x      x / s   round_half_even   + z   clamp
  //   -1.0     -4        -4                -1     0
  //   -0.625   -2.5      -2 (tie)           1     1
  //   -0.375   -1.5      -2 (tie)           1     1
  //    0.125    0.5       0 (tie)           3     3
  //    0.375    1.5       2 (tie)           5     5
  //    1.0      4         4                 7     7
  //  100.0    400       400               403     7
  //    0.0      0         0                 3     3
  // fake_quant = (level - 3) * 0.25 = -0.75, -0.5, -0.5, 0, 0.5, 1, 1, 0.
  %xa = arith.constant dense<[-1.0, -0.625, -0.375, 0.125, 0.375, 1.0, 100.0, 0.0]> : tensor<8xf32>
  %sa = arith.constant dense<0.25> : tensor<f32>
  %za = arith.constant dense<3> : tensor<i32>
  %qa = hqdm.quantize %xa, %sa, %za <bits = 3, symmetric = false>
      : (tensor<8xf32>, tensor<f32>, tensor<i32>) -> tensor<8xi8>
  %fa = hqdm.fake_quant %xa, %sa, %za <bits = 3, symmetric = false>
      : (tensor<8xf32>, tensor<f32>, tensor<i32>) -> tensor<8xf32>
  %qa32 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%qa : tensor<8xi8>) outs(%e8 : tensor<8xi32>) {
  ^bb0(%a: i8, %o: i32):
    %c = arith.extui %a : i8 to i32
    linalg.yield %c : i32
  } -> tensor<8xi32>
  call @print_i32_8(%qa32) : (tensor<8xi32>) -> ()
  // CHECK: sizes = [8]
  // CHECK-NEXT: [0, 1, 1, 3, 5, 7, 7, 3]
  call @print_f32_8(%fa) : (tensor<8xf32>) -> ()
  // CHECK: sizes = [8]
  // CHECK-NEXT: [-0.75, -0.5, -0.5, 0, 0.5, 1, 1, 0]

  // 3. Unsigned 8-bit levels stored in i8 are read with zero extension:
  //    the bit patterns -56, -1, 0, -128 are the levels 200, 255, 0, 128.
  //    With z = 128 and s = 0.5: (200 - 128) * 0.5 = 36, (255 - 128) * 0.5
  //    = 63.5, (0 - 128) * 0.5 = -64, (128 - 128) * 0.5 = 0.
  //    (Sign extension would give -92, -64.5, -64, -128.)
  %l = arith.constant dense<[-56, -1, 0, -128, -56, -1, 0, -128]> : tensor<8xi8>
  %zl = arith.constant dense<128> : tensor<i32>
  %dl = hqdm.dequantize %l, %s, %zl <bits = 8, symmetric = false>
      : (tensor<8xi8>, tensor<f32>, tensor<i32>) -> tensor<8xf32>
  call @print_f32_8(%dl) : (tensor<8xf32>) -> ()
  // CHECK: sizes = [8]
  // CHECK-NEXT: [36, 63.5, -64, 0, 36, 63.5, -64, 0]

  // 4. Per channel along axis 0 with a zero scale: row 0 uses s = 0.5
  //    (1 / 0.5 = 2, -1 / 0.5 = -2, 3 / 0.5 = 6), row 1 has s = 0 and maps
  //    to level 0 (the symmetric zero point) without dividing.
  %xc = arith.constant dense<[[1.0, -1.0, 3.0], [1.0, -1.0, 3.0]]> : tensor<2x3xf32>
  %sc = arith.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %qc = hqdm.quantize %xc, %sc <bits = 4, granularity = per_channel, axis = 0>
      : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xi8>
  %e23 = tensor.empty() : tensor<2x3xi32>
  %qc32 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%qc : tensor<2x3xi8>) outs(%e23 : tensor<2x3xi32>) {
  ^bb0(%a: i8, %o: i32):
    %c = arith.extsi %a : i8 to i32
    linalg.yield %c : i32
  } -> tensor<2x3xi32>
  %m = bufferization.to_buffer %qc32 : tensor<2x3xi32> to memref<2x3xi32>
  %u = memref.cast %m : memref<2x3xi32> to memref<*xi32>
  call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: {{\[\[}}2, -2, 6],
  // CHECK-NEXT: [0, 0, 0]]
  return
}

func.func @print_i32_8(%t: tensor<8xi32>) {
  %m = bufferization.to_buffer %t : tensor<8xi32> to memref<8xi32>
  %u = memref.cast %m : memref<8xi32> to memref<*xi32>
  call @printMemrefI32(%u) : (memref<*xi32>) -> ()
  return
}

func.func @print_f32_8(%t: tensor<8xf32>) {
  %m = bufferization.to_buffer %t : tensor<8xf32> to memref<8xf32>
  %u = memref.cast %m : memref<8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}
