// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg | FileCheck %s

// qlinear: levels centered in i32 (zero points subtracted, unsigned levels
// zero-extended), an i32 reduction over K, then the f32 epilogue
// ((acc * sx) * sw) * multiplier + bias.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @qlinear
// CHECK: %[[XC:.*]] = linalg.generic
// CHECK:   arith.extui %{{.*}} : i8 to i32
// CHECK:   arith.subi
// CHECK: %[[WC:.*]] = linalg.generic
// CHECK:   arith.extsi %{{.*}} : i4 to i32
// CHECK: %[[ACC0:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<16x32xi32>)
// CHECK: %[[ACC:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[XC]], %[[WC]] : tensor<16x64xi32>, tensor<32x64xi32>) outs(%[[ACC0]] : tensor<16x32xi32>)
// CHECK:   arith.muli
// CHECK:   arith.addi
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %{{.*}}, %{{.*}}, %{{.*}} : tensor<16x32xi32>, tensor<f32>, tensor<32xf32>, tensor<32xf32>)
// CHECK:   %[[F:.*]] = arith.sitofp %{{.*}} : i32 to f32
// CHECK:   %[[A:.*]] = arith.mulf %[[F]], %{{.*}}
// CHECK:   %[[B:.*]] = arith.mulf %[[A]], %{{.*}}
// CHECK:   %[[C:.*]] = arith.mulf %[[B]], %{{.*}}
// CHECK:   arith.addf %[[C]], %{{.*}}
func.func @qlinear(%x: tensor<16x64xi8>, %w: tensor<32x64xi4>, %sx: tensor<f32>,
                   %zx: tensor<i32>, %sw: tensor<32xf32>, %b: tensor<32xf32>)
    -> tensor<16x32xf32> {
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) input_zero_point(%zx) bias(%b)
      {multiplier = 0.125 : f32}
      : (tensor<16x64xi8>, tensor<32x64xi4>, tensor<f32>, tensor<32xf32>,
         tensor<i32>, tensor<32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

// 3-D input with per-token scales: the token dims index the input scale.

// CHECK-DAG: #[[TOK:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @qlinear_per_token
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[TOK]], #{{.*}}, #{{.*}}]
// CHECK-NOT: arith.addf
// CHECK: } -> tensor<2x8x32xf32>
func.func @qlinear_per_token(%x: tensor<2x8x64xi8>, %w: tensor<32x64xi8>,
                             %sx: tensor<2x8xf32>, %sw: tensor<32xf32>)
    -> tensor<2x8x32xf32> {
  %y = hqdm.qlinear %x, %w scales(%sx, %sw)
      : (tensor<2x8x64xi8>, tensor<32x64xi8>, tensor<2x8xf32>, tensor<32xf32>)
      -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// qconv2d: the centered input is padded with 0 (the real zero), then an i32
// linalg.conv_2d_nchw_fchw with the op's strides and dilations.

// CHECK-LABEL: func @qconv2d
// CHECK: %[[XC:.*]] = linalg.generic
// CHECK: %[[P:.*]] = tensor.pad %[[XC]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:   tensor.yield %{{.*}} : i32
// CHECK: %[[ACC:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
// CHECK-SAME: ins(%[[P]], %{{.*}} : tensor<1x8x11x11xi32>, tensor<4x8x3x3xi32>)
// CHECK-SAME: -> tensor<1x4x5x5xi32>
// CHECK: linalg.generic {{.*}} ins(%[[ACC]]
func.func @qconv2d(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi8>,
                   %sx: tensor<f32>, %zx: tensor<i32>, %sw: tensor<4xf32>)
    -> tensor<1x4x5x5xf32> {
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) input_zero_point(%zx)
      {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
      : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>,
         tensor<i32>) -> tensor<1x4x5x5xf32>
  return %y : tensor<1x4x5x5xf32>
}
