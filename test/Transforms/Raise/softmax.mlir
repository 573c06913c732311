// RUN: hqdm-opt %s -split-input-file -hqdm-raise | FileCheck %s

// Attention softmax from buddy-mlir's bert-tiny (lines 258-285 of the
// external file, arith.maxf renamed arith.maximumf): the two-result max /
// argmax generic of aten.max.dim with keepdim, sub, exp, sum, div; the
// unit batch dim indexed by the constant 0.

#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map15 = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, d3)>
#map16 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#map17 = affine_map<(d0, d1, d2, d3) -> (0, d1, d2, 0)>
// CHECK-LABEL: func.func @softmax_bert
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x12x12xf32>)
func.func @softmax_bert(%57: tensor<1x2x12x12xf32>) -> tensor<1x2x12x12xf32> {
  %c0_i64 = arith.constant 0 : i64
  %cst_45 = arith.constant 0.000000e+00 : f32
  %cst_46 = arith.constant 0xFF800000 : f32
  %55 = tensor.empty() : tensor<1x2x12x12xf32>
  %58 = tensor.empty() : tensor<1x2x12x1xi64>
  %59 = linalg.fill ins(%c0_i64 : i64) outs(%58 : tensor<1x2x12x1xi64>) -> tensor<1x2x12x1xi64>
  %60 = tensor.empty() : tensor<1x2x12x1xf32>
  %61 = linalg.fill ins(%cst_46 : f32) outs(%60 : tensor<1x2x12x1xf32>) -> tensor<1x2x12x1xf32>
  %62:2 = linalg.generic {indexing_maps = [#map3, #map16, #map16], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%57 : tensor<1x2x12x12xf32>) outs(%61, %59 : tensor<1x2x12x1xf32>, tensor<1x2x12x1xi64>) {
  ^bb0(%in: f32, %out: f32, %out_73: i64):
    %212 = linalg.index 3 : index
    %213 = arith.index_cast %212 : index to i64
    %214 = arith.maximumf %in, %out : f32
    %215 = arith.cmpf ogt, %in, %out : f32
    %216 = arith.select %215, %213, %out_73 : i64
    linalg.yield %214, %216 : f32, i64
  } -> (tensor<1x2x12x1xf32>, tensor<1x2x12x1xi64>)
  %63 = linalg.generic {indexing_maps = [#map15, #map17, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%57, %62#0 : tensor<1x2x12x12xf32>, tensor<1x2x12x1xf32>) outs(%55 : tensor<1x2x12x12xf32>) {
  ^bb0(%in: f32, %in_73: f32, %out: f32):
    %212 = arith.subf %in, %in_73 : f32
    linalg.yield %212 : f32
  } -> tensor<1x2x12x12xf32>
  %64 = linalg.generic {indexing_maps = [#map15, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%63 : tensor<1x2x12x12xf32>) outs(%55 : tensor<1x2x12x12xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = math.exp %in : f32
    linalg.yield %212 : f32
  } -> tensor<1x2x12x12xf32>
  %65 = linalg.fill ins(%cst_45 : f32) outs(%60 : tensor<1x2x12x1xf32>) -> tensor<1x2x12x1xf32>
  %66 = linalg.generic {indexing_maps = [#map3, #map16], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%64 : tensor<1x2x12x12xf32>) outs(%65 : tensor<1x2x12x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = arith.addf %in, %out : f32
    linalg.yield %212 : f32
  } -> tensor<1x2x12x1xf32>
  %67 = linalg.generic {indexing_maps = [#map15, #map17, #map3], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%64, %66 : tensor<1x2x12x12xf32>, tensor<1x2x12x1xf32>) outs(%55 : tensor<1x2x12x12xf32>) {
  ^bb0(%in: f32, %in_73: f32, %out: f32):
    %212 = arith.divf %in, %in_73 : f32
    linalg.yield %212 : f32
  } -> tensor<1x2x12x12xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.softmax %[[X]] {name = "softmax_0"} : tensor<1x2x12x12xf32>
  // CHECK-NEXT: return %[[Y]]
  return %67 : tensor<1x2x12x12xf32>
}

// -----

// The reference's 2-D form: reductions written through (d0, 0), a
// single-result maximumf reduction filled with -inf.

#map = affine_map<(d0, d1) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @softmax_2d
func.func @softmax_2d(%x: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %5 = tensor.empty() : tensor<16x32xf32>
  %9 = tensor.empty() : tensor<16x1xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%9 : tensor<16x1xf32>) -> tensor<16x1xf32>
  %m = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<16x32xf32>) outs(%mi : tensor<16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = arith.maximumf %in, %out : f32
    linalg.yield %12 : f32
  } -> tensor<16x1xf32>
  %6 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%x, %m : tensor<16x32xf32>, tensor<16x1xf32>) outs(%5 : tensor<16x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = arith.subf %in, %in_0 : f32
    linalg.yield %12 : f32
  } -> tensor<16x32xf32>
  %7 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%6 : tensor<16x32xf32>) outs(%5 : tensor<16x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = math.exp %in : f32
    linalg.yield %12 : f32
  } -> tensor<16x32xf32>
  %si = linalg.fill ins(%zero : f32) outs(%9 : tensor<16x1xf32>) -> tensor<16x1xf32>
  %10 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%7 : tensor<16x32xf32>) outs(%si : tensor<16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = arith.addf %in, %out : f32
    linalg.yield %12 : f32
  } -> tensor<16x1xf32>
  %11 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%7, %10 : tensor<16x32xf32>, tensor<16x1xf32>) outs(%5 : tensor<16x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = arith.divf %in, %in_0 : f32
    linalg.yield %12 : f32
  } -> tensor<16x32xf32>
  // CHECK: hqdm.softmax %{{.*}} {name = "softmax_0"} : tensor<16x32xf32>
  return %11 : tensor<16x32xf32>
}

// -----

// Current torch-mlir's form (test/Models/torch-mlir-forms.md section 7b,
// raised in external.mlir): aten.max.dim's max drops the dim and keepdim
// comes back through tensor.expand_shape. Two variations written from
// reasoning: the max filled with the lowest finite float (the pipeline's
// allow-non-finites=false) and the subtraction and the exp in one generic
// (as elementwise fusion leaves it).

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red = affine_map<(d0, d1, d2) -> (d0, d1)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-LABEL: func.func @softmax_expand
// CHECK-SAME: (%[[X:.*]]: tensor<4x16x16xf32>)
func.func @softmax_expand(%x: tensor<4x16x16xf32>) -> tensor<4x16x16xf32> {
  %lowest = arith.constant -3.40282347E+38 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %c0 = arith.constant 0 : i64
  %ie = tensor.empty() : tensor<4x16xi64>
  %ii = linalg.fill ins(%c0 : i64) outs(%ie : tensor<4x16xi64>) -> tensor<4x16xi64>
  %me = tensor.empty() : tensor<4x16xf32>
  %mi = linalg.fill ins(%lowest : f32) outs(%me : tensor<4x16xf32>) -> tensor<4x16xf32>
  %m:2 = linalg.generic {indexing_maps = [#id, #red, #red], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<4x16x16xf32>) outs(%mi, %ii : tensor<4x16xf32>, tensor<4x16xi64>) {
  ^bb0(%in: f32, %out: f32, %out_0: i64):
    %0 = linalg.index 2 : index
    %1 = arith.index_cast %0 : index to i64
    %2 = arith.maximumf %in, %out : f32
    %3 = arith.cmpf ogt, %in, %out : f32
    %4 = arith.select %3, %1, %out_0 : i64
    linalg.yield %2, %4 : f32, i64
  } -> (tensor<4x16xf32>, tensor<4x16xi64>)
  %mk = tensor.expand_shape %m#0 [[0], [1, 2]] output_shape [4, 16, 1] : tensor<4x16xf32> into tensor<4x16x1xf32>
  %e = tensor.empty() : tensor<4x16x16xf32>
  %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mk : tensor<4x16x16xf32>, tensor<4x16x1xf32>) outs(%e : tensor<4x16x16xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.subf %in, %in_0 : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<4x16x16xf32>
  %se = tensor.empty() : tensor<4x16x1xf32>
  %si = linalg.fill ins(%zero : f32) outs(%se : tensor<4x16x1xf32>) -> tensor<4x16x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<4x16x16xf32>) outs(%si : tensor<4x16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<4x16x1xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %s : tensor<4x16x16xf32>, tensor<4x16x1xf32>) outs(%e : tensor<4x16x16xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.divf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<4x16x16xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.softmax %[[X]] {name = "softmax_0"} : tensor<4x16x16xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<4x16x16xf32>
}
