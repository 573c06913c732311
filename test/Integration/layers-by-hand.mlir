// RUN: hqdm-opt %s --hqdm-lower-to-cpu | %run_main | FileCheck %s

// hadamard, qlinear and qconv2d on inputs small enough to work out by hand;
// every intermediate value is an exact f32.

func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @main() {
  // 1. Normalized Hadamard of order 4. Sylvester:
  //      H_raw = [[1,  1,  1,  1],
  //               [1, -1,  1, -1],
  //               [1,  1, -1, -1],
  //               [1, -1, -1,  1]],   H = H_raw / sqrt(4) = H_raw / 2.
  //    y = x * H for x = [1, 2, 3, 4]:
  //      y0 = (1 + 2 + 3 + 4) / 2 = 5
  //      y1 = (1 - 2 + 3 - 4) / 2 = -1
  //      y2 = (1 + 2 - 3 - 4) / 2 = -2
  //      y3 = (1 - 2 - 3 + 4) / 2 = 0
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %h = hqdm.hadamard %x <block = 4> : tensor<1x4xf32> -> tensor<1x4xf32>
  %hm = bufferization.to_buffer %h : tensor<1x4xf32> to memref<1x4xf32>
  %hu = memref.cast %hm : memref<1x4xf32> to memref<*xf32>
  call @printMemrefF32(%hu) : (memref<*xf32>) -> ()
  // CHECK: sizes = [1, 4]
  // CHECK-NEXT: {{\[\[}}5, -1, -2, 0]]

  // 2. The raw transform on i8 levels [3, -1, 2, 0] (read as signed):
  //      3 - 1 + 2 + 0 = 4,  3 + 1 + 2 - 0 = 6,  3 - 1 - 2 - 0 = 0,
  //      3 + 1 - 2 + 0 = 2.
  %xi = arith.constant dense<[3, -1, 2, 0]> : tensor<4xi8>
  %hi = hqdm.hadamard %xi <block = 4, normalized = false> : tensor<4xi8> -> tensor<4xi32>
  %him = bufferization.to_buffer %hi : tensor<4xi32> to memref<4xi32>
  %hiu = memref.cast %him : memref<4xi32> to memref<*xi32>
  call @printMemrefI32(%hiu) : (memref<*xi32>) -> ()
  // CHECK: sizes = [4]
  // CHECK-NEXT: [4, 6, 0, 2]

  // 3. qlinear with an unsigned 8-bit input (levels 130, 126, 255, 0 stored
  //    in i8 as -126, 126, -1, 0), input zero point 128, sx = 0.5; signed
  //    i4 weights, sw = [0.25, 1, 0.5], bias [1, 0, -1].
  //      x - 128 = [[2, -2], [127, -128]]
  //      w       = [[1, -2], [3, 7], [-8, 0]]
  //      acc     = [[2 + 4,     6 - 14,    -16 ],
  //                 [127 + 256, 381 - 896, -1016]]
  //              = [[6, -8, -16], [383, -515, -1016]]
  //      y = acc * 0.5 * sw + b:
  //        6 * 0.5 * 0.25 + 1 = 1.75,  -8 * 0.5 * 1 = -4,
  //        -16 * 0.5 * 0.5 - 1 = -5,   383 * 0.5 * 0.25 + 1 = 48.875,
  //        -515 * 0.5 * 1 = -257.5,    -1016 * 0.5 * 0.5 - 1 = -255.
  %xq = arith.constant dense<[[-126, 126], [-1, 0]]> : tensor<2x2xi8>
  %w = arith.constant dense<[[1, -2], [3, 7], [-8, 0]]> : tensor<3x2xi4>
  %sx = arith.constant dense<0.5> : tensor<f32>
  %sw = arith.constant dense<[0.25, 1.0, 0.5]> : tensor<3xf32>
  %zx = arith.constant dense<128> : tensor<i32>
  %b = arith.constant dense<[1.0, 0.0, -1.0]> : tensor<3xf32>
  %y = hqdm.qlinear %xq, %w scales(%sx, %sw) input_zero_point(%zx) bias(%b)
      : (tensor<2x2xi8>, tensor<3x2xi4>, tensor<f32>, tensor<3xf32>,
         tensor<i32>, tensor<3xf32>) -> tensor<2x3xf32>
  %ym = bufferization.to_buffer %y : tensor<2x3xf32> to memref<2x3xf32>
  %yu = memref.cast %ym : memref<2x3xf32> to memref<*xf32>
  call @printMemrefF32(%yu) : (memref<*xf32>) -> ()
  // CHECK: sizes = [2, 3]
  // CHECK-NEXT: {{\[\[}}1.75, -4, -5],
  // CHECK-NEXT: [48.875, -257.5, -255]]

  // 4. qconv2d, 3x3 ones kernel, padding 1, stride 2, on a 3x3 unsigned
  //    input [[1, 2, 3], [4, 5, 6], [7, 8, 9]] with zero point 5, so the
  //    centered input is [[-4, -3, -2], [-1, 0, 1], [2, 3, 4]] and the
  //    padding is the real zero (centered 0). Output (i, j) sums the 3x3
  //    window centred on input (2i, 2j), i.e. the in-bounds 2x2 corner:
  //      (0, 0): -4 - 3 - 1 + 0 = -8     (0, 1): -3 - 2 + 0 + 1 = -4
  //      (1, 0): -1 + 0 + 2 + 3 = 4      (1, 1):  0 + 1 + 3 + 4 = 8
  //    times sx * sw = 1 * 0.5: [[-4, -2], [2, 4]].
  //    (Stride 1 would give -4 and -4.5 in the first row; padding with
  //    level 0 would add 5 * -5 * 0.5 = -12.5 to output (0, 0).)
  %cx = arith.constant dense<[[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]> : tensor<1x1x3x3xi8>
  %cw = arith.constant dense<1> : tensor<1x1x3x3xi8>
  %csx = arith.constant dense<1.0> : tensor<f32>
  %csw = arith.constant dense<0.5> : tensor<f32>
  %czx = arith.constant dense<5> : tensor<i32>
  %cy = hqdm.qconv2d %cx, %cw scales(%csx, %csw) input_zero_point(%czx)
      {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
      : (tensor<1x1x3x3xi8>, tensor<1x1x3x3xi8>, tensor<f32>, tensor<f32>,
         tensor<i32>) -> tensor<1x1x2x2xf32>
  %cym = bufferization.to_buffer %cy : tensor<1x1x2x2xf32> to memref<1x1x2x2xf32>
  %cyu = memref.cast %cym : memref<1x1x2x2xf32> to memref<*xf32>
  call @printMemrefF32(%cyu) : (memref<*xf32>) -> ()
  // CHECK: sizes = [1, 1, 2, 2]
  // CHECK-NEXT: {{\[\[\[\[}}-4, -2],
  // CHECK-NEXT: [2, 4]]]]
  return
}
