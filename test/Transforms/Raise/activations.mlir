// RUN: hqdm-opt %s -split-input-file -hqdm-raise | FileCheck %s

#map = affine_map<(d0, d1) -> (d0, d1)>

// GELU, approximate="none", as the reference prints it (divf by
// 1.41421354, erf, +1, *0.5, *x).

// CHECK-LABEL: func.func @gelu_erf
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
func.func @gelu_erf(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %cst = arith.constant 1.000000e+00 : f32
  %cst_0 = arith.constant 5.000000e-01 : f32
  %cst_1 = arith.constant 1.41421354 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.divf %in, %cst_1 : f32
    %3 = math.erf %2 : f32
    %4 = arith.addf %3, %cst : f32
    %5 = arith.mulf %4, %cst_0 : f32
    %6 = arith.mulf %in, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<4x8xf32>
  // CHECK-NEXT: %[[Y:.*]] = hqdm.gelu %[[X]] {name = "gelu_0"} : tensor<4x8xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<4x8xf32>
}

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>

// The same from current torch-mlir before canonicalization
// (buildUnitNormalCdf): x - 0, sqrt(2) as math.sqrt of a constant, the
// halves multiplied in the other order; and with mulf by 0.7071067811865476.

// CHECK-LABEL: func.func @gelu_erf_variants
func.func @gelu_erf_variants(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %zero = arith.constant 0.000000e+00 : f32
    %two = arith.constant 2.000000e+00 : f32
    %one = arith.constant 1.000000e+00 : f32
    %half = arith.constant 5.000000e-01 : f32
    %0 = arith.subf %in, %zero : f32
    %sqrt2 = math.sqrt %two : f32
    %1 = arith.divf %0, %sqrt2 : f32
    %2 = math.erf %1 : f32
    %3 = arith.addf %one, %2 : f32
    %4 = arith.mulf %half, %3 : f32
    %5 = arith.mulf %in, %4 : f32
    linalg.yield %5 : f32
  } -> tensor<4x8xf32>
  %z = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.707106769 : f32
    %one = arith.constant 1.000000e+00 : f32
    %half = arith.constant 5.000000e-01 : f32
    %hx = arith.mulf %in, %half : f32
    %1 = arith.mulf %c, %in : f32
    %2 = math.erf %1 : f32
    %3 = arith.addf %2, %one : f32
    %4 = arith.mulf %hx, %3 : f32
    linalg.yield %4 : f32
  } -> tensor<4x8xf32>
  // CHECK: hqdm.gelu %{{.*}} {name = "gelu_0"} : tensor<4x8xf32>
  // CHECK: hqdm.gelu %{{.*}} {name = "gelu_1"} : tensor<4x8xf32>
  return %y, %z : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// GELU, approximate="tanh" (DiT's MLP), built in torch-mlir's order:
// fpowi 3, *0.044715, +x, *0.7977240352174656, tanh, +1, *0.5, *x.

// CHECK-LABEL: func.func @gelu_tanh
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x32xf32>)
func.func @gelu_tanh(%x: tensor<2x16x32xf32>) -> tensor<2x16x32xf32> {
  %e = tensor.empty() : tensor<2x16x32xf32>
  %y = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x16x32xf32>) outs(%e : tensor<2x16x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c3_i64 = arith.constant 3 : i64
    %alpha = arith.constant 4.471500e-02 : f32
    %beta = arith.constant 0.797724068 : f32
    %one = arith.constant 1.000000e+00 : f32
    %half = arith.constant 5.000000e-01 : f32
    %0 = math.fpowi %in, %c3_i64 : f32, i64
    %1 = arith.mulf %0, %alpha : f32
    %2 = arith.addf %in, %1 : f32
    %3 = arith.mulf %beta, %2 : f32
    %4 = math.tanh %3 : f32
    %5 = arith.addf %one, %4 : f32
    %6 = arith.mulf %half, %5 : f32
    %7 = arith.mulf %in, %6 : f32
    linalg.yield %7 : f32
  } -> tensor<2x16x32xf32>
  // CHECK-NEXT: %[[Y:.*]] = hqdm.gelu %[[X]] approximate tanh {name = "gelu_0"} : tensor<2x16x32xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<2x16x32xf32>
}

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>

// The tanh form with x*x*x, the exact sqrt(2/pi) and the coefficient
// distributed: 0.5*x + 0.5*x*tanh(0.79788456*x + 0.0356774*x^3).

// CHECK-LABEL: func.func @gelu_tanh_cube
func.func @gelu_tanh_cube(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %a = arith.constant 0.797884583 : f32
    %b = arith.constant 0.0356774069 : f32
    %half = arith.constant 5.000000e-01 : f32
    %sq = arith.mulf %in, %in : f32
    %cube = arith.mulf %sq, %in : f32
    %0 = arith.mulf %a, %in : f32
    %1 = arith.mulf %b, %cube : f32
    %2 = arith.addf %0, %1 : f32
    %3 = math.tanh %2 : f32
    %hx = arith.mulf %half, %in : f32
    %4 = arith.mulf %hx, %3 : f32
    %5 = arith.addf %hx, %4 : f32
    linalg.yield %5 : f32
  } -> tensor<4x8xf32>
  // CHECK: hqdm.gelu %{{.*}} approximate tanh {name = "gelu_0"}
  return %y : tensor<4x8xf32>
}

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>

// SiLU as the reference prints it: a sigmoid generic, then a product with x.

// CHECK-LABEL: func.func @silu
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf32>)
func.func @silu(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %cst = arith.constant 1.000000e+00 : f32
  %e = tensor.empty() : tensor<2x64xf32>
  %s = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x64xf32>) outs(%e : tensor<2x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %3 = arith.negf %in : f32
    %4 = math.exp %3 : f32
    %5 = arith.addf %4, %cst : f32
    %6 = arith.divf %cst, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<2x64xf32>
  %y = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%s, %x : tensor<2x64xf32>, tensor<2x64xf32>) outs(%e : tensor<2x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %3 = arith.mulf %in, %in_0 : f32
    linalg.yield %3 : f32
  } -> tensor<2x64xf32>
  // CHECK-NEXT: %[[Y:.*]] = hqdm.silu %[[X]] {name = "silu_0"} : tensor<2x64xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<2x64xf32>
}

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>

// SiLU in one generic: x * sigmoid(x), and x / (1 + exp(-x)); the sigmoid
// generic alone is not a SiLU.

// CHECK-LABEL: func.func @silu_fused
func.func @silu_fused(%x: tensor<2x64xf32>) -> (tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>) {
  %cst = arith.constant 1.000000e+00 : f32
  %e = tensor.empty() : tensor<2x64xf32>
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x64xf32>) outs(%e : tensor<2x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %3 = arith.negf %in : f32
    %4 = math.exp %3 : f32
    %5 = arith.addf %cst, %4 : f32
    %6 = arith.divf %cst, %5 : f32
    %7 = arith.mulf %in, %6 : f32
    linalg.yield %7 : f32
  } -> tensor<2x64xf32>
  %b = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x64xf32>) outs(%e : tensor<2x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %3 = arith.negf %in : f32
    %4 = math.exp %3 : f32
    %5 = arith.addf %4, %cst : f32
    %6 = arith.divf %in, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<2x64xf32>
  %s = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x64xf32>) outs(%e : tensor<2x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %3 = arith.negf %in : f32
    %4 = math.exp %3 : f32
    %5 = arith.addf %4, %cst : f32
    %6 = arith.divf %cst, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<2x64xf32>
  // CHECK: %[[A:.*]] = hqdm.silu %{{.*}} {name = "silu_0"}
  // CHECK: %[[B:.*]] = hqdm.silu %{{.*}} {name = "silu_1"}
  // CHECK: %[[S:.*]] = linalg.generic
  // CHECK: math.exp
  // CHECK: return %[[A]], %[[B]], %[[S]]
  return %a, %b, %s : tensor<2x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>
}
