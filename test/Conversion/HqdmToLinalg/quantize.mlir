// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg | FileCheck %s

// Symmetric 4-bit, per tensor: divide, round half to even, clamp to [-7, 7],
// a zero scale gives level 0.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func @symmetric_per_tensor
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[S:.*]]: tensor<f32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[SCALAR]], #[[ID]]]
// CHECK-SAME: ins(%[[X]], %[[S]] : tensor<4x8xf32>, tensor<f32>)
// CHECK: ^bb0(%[[IN:.*]]: f32, %[[SC:.*]]: f32, %{{.*}}: i4):
// CHECK:   %[[DIV:.*]] = arith.divf %[[IN]], %[[SC]]
// CHECK:   %[[RND:.*]] = math.roundeven %[[DIV]]
// CHECK:   %[[LO:.*]] = arith.maxnumf %[[RND]], %{{.*}} : f32
// CHECK:   %[[HI:.*]] = arith.minnumf %[[LO]], %{{.*}} : f32
// CHECK:   %[[ZERO:.*]] = arith.cmpf oeq, %[[SC]]
// CHECK:   %[[SEL:.*]] = arith.select %[[ZERO]], %{{.*}}, %[[HI]]
// CHECK:   %[[INT:.*]] = arith.fptosi %[[SEL]] : f32 to i32
// CHECK:   %[[NARROW:.*]] = arith.trunci %[[INT]] : i32 to i4
// CHECK:   linalg.yield %[[NARROW]]
func.func @symmetric_per_tensor(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xi4> {
  %q = hqdm.quantize %x, %s <bits = 4>
      : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi4>
  return %q : tensor<4x8xi4>
}

// -----

// Asymmetric 8-bit per token: the zero point is added before clamping to
// [0, 255]; f16 inputs are widened to f32 first.

// CHECK-DAG: #[[TOKEN:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func @asymmetric_per_token
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8xf16>, tensor<4xf32>, tensor<4xi32>)
// CHECK:   %[[X32:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK:   %[[Z:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK:   %[[RND:.*]] = math.roundeven
// CHECK:   %[[SHIFT:.*]] = arith.addf %[[RND]], %[[Z]]
// CHECK:   arith.constant 0.000000e+00
// CHECK:   arith.constant 2.550000e+02
func.func @asymmetric_per_token(%x: tensor<4x8xf16>, %s: tensor<4xf32>, %z: tensor<4xi32>) -> tensor<4x8xi8> {
  %q = hqdm.quantize %x, %s, %z <bits = 8, symmetric = false, granularity = per_token>
      : (tensor<4x8xf16>, tensor<4xf32>, tensor<4xi32>) -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

// Dequantize reads asymmetric levels unsigned (extui) and subtracts the zero
// point in i32; per_channel scales index the channel axis.

// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @dequantize_asymmetric
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[CH]], #[[CH]], #{{.*}}]
// CHECK:   %[[EXT:.*]] = arith.extui %{{.*}} : i8 to i32
// CHECK:   %[[SUB:.*]] = arith.subi %[[EXT]], %{{.*}} : i32
// CHECK:   %[[F:.*]] = arith.sitofp %[[SUB]] : i32 to f32
// CHECK:   arith.mulf %[[F]], %{{.*}} : f32
func.func @dequantize_asymmetric(%q: tensor<4x8xi8>, %s: tensor<8xf32>, %z: tensor<8xi32>) -> tensor<4x8xf32> {
  %x = hqdm.dequantize %q, %s, %z <bits = 8, symmetric = false, granularity = per_channel, axis = 1>
      : (tensor<4x8xi8>, tensor<8xf32>, tensor<8xi32>) -> tensor<4x8xf32>
  return %x : tensor<4x8xf32>
}

// -----

// Symmetric levels are sign-extended.

// CHECK-LABEL: func @dequantize_symmetric
// CHECK:   arith.extsi %{{.*}} : i4 to i32
// CHECK-NOT: arith.subi
func.func @dequantize_symmetric(%q: tensor<8xi4>, %s: tensor<f32>) -> tensor<8xbf16> {
  %x = hqdm.dequantize %q, %s <bits = 4> : (tensor<8xi4>, tensor<f32>) -> tensor<8xbf16>
  return %x : tensor<8xbf16>
}

// -----

// Dynamic per-token scales: absmax over the last dimension, divided by 127.

// CHECK-LABEL: func @token_scale
// CHECK: %[[FILL:.*]] = linalg.fill {{.*}} -> tensor<2x3xf32>
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: outs(%[[FILL]] : tensor<2x3xf32>)
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK: linalg.generic {{.*}} ins(%[[MAX]] : tensor<2x3xf32>)
// CHECK:   arith.constant 1.270000e+02
// CHECK:   arith.divf
func.func @token_scale(%x: tensor<2x3x16xf32>) -> tensor<2x3xf32> {
  %s = hqdm.token_scale %x <bits = 8> : tensor<2x3x16xf32> -> tensor<2x3xf32>
  return %s : tensor<2x3xf32>
}
