// RUN: hqdm-opt %s -split-input-file -hqdm-raise | FileCheck %s

// nn.Linear exactly as the reference (torch-mlir-and-dit.md) prints it:
// linalg.transpose of the weight, matmul into a zero fill, bias generic.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_transpose_bias
// CHECK-SAME: (%[[X:.*]]: tensor<1x5xf32>, %[[W:.*]]: tensor<4x5xf32>, %[[B:.*]]: tensor<4xf32>)
func.func @linear_transpose_bias(%arg0: tensor<1x5xf32>, %cst_8: tensor<4x5xf32>, %cst_7: tensor<4xf32>) -> tensor<1x4xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %0 = tensor.empty() : tensor<5x4xf32>
  %transposed = linalg.transpose ins(%cst_8 : tensor<4x5xf32>) outs(%0 : tensor<5x4xf32>) permutation = [1, 0]
  %1 = tensor.empty() : tensor<1x4xf32>
  %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<1x4xf32>) -> tensor<1x4xf32>
  %3 = linalg.matmul ins(%arg0, %transposed : tensor<1x5xf32>, tensor<5x4xf32>) outs(%2 : tensor<1x4xf32>) -> tensor<1x4xf32>
  %4 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]}
         ins(%3, %cst_7 : tensor<1x4xf32>, tensor<4xf32>) outs(%1 : tensor<1x4xf32>) {
  ^bb0(%in: f32, %in_12: f32, %out: f32):
    %27 = arith.addf %in, %in_12 : f32
    linalg.yield %27 : f32
  } -> tensor<1x4xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.linear %[[X]], %[[W]] bias(%[[B]]) {name = "linear_0"} : (tensor<1x5xf32>, tensor<4x5xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  // CHECK-NOT: linalg.
  // CHECK: return %[[Y]]
  return %4 : tensor<1x4xf32>
}

// -----

// The older transposing copy generic (tpp / bert-tiny), the bias first in
// the add, and no bias.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1, d0)>
#map2 = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_copy_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<32xf32>)
func.func @linear_copy_transpose(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<16x32xf32>
  %t = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<32x16xf32>) outs(%e : tensor<16x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<16x32xf32>
  %i = tensor.empty() : tensor<8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<8x32xf32>) -> tensor<8x32xf32>
  %m = linalg.matmul ins(%x, %t : tensor<8x16xf32>, tensor<16x32xf32>) outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#map2, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%b, %m : tensor<32xf32>, tensor<8x32xf32>) outs(%i : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  // The second product shares the transpose; no bias.
  %m2 = linalg.matmul ins(%x, %t : tensor<8x16xf32>, tensor<16x32xf32>) outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.linear %[[X]], %[[W]] bias(%[[B]]) {name = "linear_0"}
  // CHECK: %[[Y2:.*]] = hqdm.linear %[[X]], %[[W]] {name = "linear_1"}
  // CHECK-NOT: linalg.
  // CHECK: return %[[Y]], %[[Y2]]
  return %y, %m2 : tensor<8x32xf32>, tensor<8x32xf32>
}

// -----

// linalg.matmul with the transposed-B indexing maps (what replaced
// matmul_transpose_b upstream) on an untransposed weight.

// CHECK-LABEL: func.func @linear_transposed_maps
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32>, %[[W:.*]]: tensor<32x16xf32>)
func.func @linear_transposed_maps(%x: tensor<8x16xf32>, %w: tensor<32x16xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %i = tensor.empty() : tensor<8x32xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<8x32xf32>) -> tensor<8x32xf32>
  %m = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
         ins(%x, %w : tensor<8x16xf32>, tensor<32x16xf32>) outs(%f : tensor<8x32xf32>) -> tensor<8x32xf32>
  // CHECK: %[[Y:.*]] = hqdm.linear %[[X]], %[[W]] {name = "linear_0"} : (tensor<8x16xf32>, tensor<32x16xf32>) -> tensor<8x32xf32>
  // CHECK-NEXT: return %[[Y]]
  return %m : tensor<8x32xf32>
}

// -----

// A 3-D input [B, N, K]: aten's flatten, the product, the bias, and the
// expand back (the reshapes stay in place around the raised layer).

#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_3d
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<16x8xf32>, %[[B:.*]]: tensor<16xf32>)
func.func @linear_3d(%x: tensor<2x3x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>) -> tensor<2x3x16xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  // CHECK: %[[C:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]]
  %c = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x3x8xf32> into tensor<6x8xf32>
  %e = tensor.empty() : tensor<8x16xf32>
  %t = linalg.transpose ins(%w : tensor<16x8xf32>) outs(%e : tensor<8x16xf32>) permutation = [1, 0]
  %i = tensor.empty() : tensor<6x16xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<6x16xf32>) -> tensor<6x16xf32>
  %m = linalg.matmul ins(%c, %t : tensor<6x8xf32>, tensor<8x16xf32>) outs(%f : tensor<6x16xf32>) -> tensor<6x16xf32>
  %y = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%m, %b : tensor<6x16xf32>, tensor<16xf32>) outs(%i : tensor<6x16xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<6x16xf32>
  // CHECK: %[[Y:.*]] = hqdm.linear %[[C]], %[[W]] bias(%[[B]]) {name = "linear_0"} : (tensor<6x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<6x16xf32>
  // CHECK: %[[E:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0, 1], [2]] output_shape [2, 3, 16]
  %r = tensor.expand_shape %y [[0, 1], [2]] output_shape [2, 3, 16] : tensor<6x16xf32> into tensor<2x3x16xf32>
  // CHECK: return %[[E]]
  return %r : tensor<2x3x16xf32>
}

// -----

// A transpose read by something else stays; the weight need not be a
// constant or an argument (here it is computed).

// CHECK-LABEL: func.func @linear_shared_transpose
func.func @linear_shared_transpose(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> (tensor<2x3xf32>, tensor<4x3xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  // CHECK: %[[WW:.*]] = arith.addf
  %ww = arith.addf %w, %w : tensor<3x4xf32>
  // CHECK: %[[T:.*]] = linalg.transpose ins(%[[WW]]
  %t = linalg.transpose ins(%ww : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, 0]
  %i = tensor.empty() : tensor<2x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x3xf32>) outs(%f : tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[Y:.*]] = hqdm.linear %{{.*}}, %[[WW]] {name = "linear_0"}
  // CHECK: return %[[Y]], %[[T]]
  return %m, %t : tensor<2x3xf32>, tensor<4x3xf32>
}

// -----

// Older torch-mlir's 3-D matmul (bert-tiny): batch_matmul of x and the
// transposed weight broadcast over the batch; both broadcast forms.

#map5 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map7 = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#map10 = affine_map<(d0, d1, d2) -> (d2)>
#map11 = affine_map<(d0, d1) -> (d1, d0)>
#map1 = affine_map<(d0, d1) -> (d0, d1)>
#map12 = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @linear_batch_matmul
// CHECK-SAME: (%[[X:.*]]: tensor<1x12x128xf32>, %[[W:.*]]: tensor<64x128xf32>, %[[B:.*]]: tensor<64xf32>)
func.func @linear_batch_matmul(%x: tensor<1x12x128xf32>, %w: tensor<64x128xf32>, %b: tensor<64xf32>) -> (tensor<1x12x64xf32>, tensor<1x12x64xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<128x64xf32>
  %t = linalg.generic {indexing_maps = [#map1, #map11], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<64x128xf32>) outs(%e : tensor<128x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<128x64xf32>
  %e3 = tensor.empty() : tensor<1x128x64xf32>
  %bt = linalg.generic {indexing_maps = [#map12, #map5], iterator_types = ["parallel", "parallel", "parallel"]} ins(%t : tensor<128x64xf32>) outs(%e3 : tensor<1x128x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x128x64xf32>
  %i = tensor.empty() : tensor<1x12x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<1x12x64xf32>) -> tensor<1x12x64xf32>
  %m = linalg.batch_matmul ins(%x, %bt : tensor<1x12x128xf32>, tensor<1x128x64xf32>) outs(%f : tensor<1x12x64xf32>) -> tensor<1x12x64xf32>
  %y = linalg.generic {indexing_maps = [#map7, #map10, #map5], iterator_types = ["parallel", "parallel", "parallel"]} ins(%m, %b : tensor<1x12x64xf32>, tensor<64xf32>) outs(%i : tensor<1x12x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %s = arith.addf %in, %in_0 : f32
    linalg.yield %s : f32
  } -> tensor<1x12x64xf32>
  %bc = linalg.broadcast ins(%t : tensor<128x64xf32>) outs(%e3 : tensor<1x128x64xf32>) dimensions = [0]
  %m2 = linalg.batch_matmul ins(%x, %bc : tensor<1x12x128xf32>, tensor<1x128x64xf32>) outs(%f : tensor<1x12x64xf32>) -> tensor<1x12x64xf32>
  // CHECK: %[[Y:.*]] = hqdm.linear %[[X]], %[[W]] bias(%[[B]]) {name = "linear_0"} : (tensor<1x12x128xf32>, tensor<64x128xf32>, tensor<64xf32>) -> tensor<1x12x64xf32>
  // CHECK: %[[Y2:.*]] = hqdm.linear %[[X]], %[[W]] {name = "linear_1"}
  // CHECK-NOT: linalg.
  // CHECK: return %[[Y]], %[[Y2]]
  return %y, %m2 : tensor<1x12x64xf32>, tensor<1x12x64xf32>
}
