// hqdm-quantize-layers on layers that carry calibrated scales. With
// clip-candidates=1 the weight of row [1, -2, 0.5, 4] (asymmetric 4-bit) has
// s = 0.4, z = 5, levels [7, 0, 6, 15], so W_hat = [0.8, -2, 0.4, 4].

// RUN: hqdm-opt %s --split-input-file --hqdm-quantize-layers="clip-candidates=1" --canonicalize --mlir-print-elementsattrs-with-hex-if-larger=-1 | FileCheck %s
// RUN: hqdm-opt %s --split-input-file --hqdm-quantize-layers="clip-candidates=1 form=fake-quant" --canonicalize | FileCheck %s --check-prefix=FAKE
// RUN: hqdm-opt %S/Inputs/calibrated-errors.mlir --split-input-file --hqdm-quantize-layers -verify-diagnostics

// One static symmetric scale: a constant.
func.func @static(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %y = hqdm.linear %x, %w {name = "fc", plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 8>, scales = static>, activation_scales = #hqdm.scale_table<steps = [0.0], group_starts = [0], scales = [0.25], zero_points = []>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// CHECK-LABEL: func.func @static
// CHECK: %[[S:.*]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[Q:.*]] = hqdm.quantize %arg0, %[[S]] <bits = 8> : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4xi8>
// CHECK: hqdm.qlinear %[[Q]], %{{.*}} scales(%[[S]], %{{.*}}) weight_zero_point

// -----

// Three asymmetric groups over five steps: the step of the timestep argument
// selects a scale and a zero point.
func.func @grouped(%x: tensor<3x4xf32>, %t: tensor<3xi64> {hqdm.timestep}) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %y = hqdm.linear %x, %w {name = "fc", plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 8, symmetric = false>, scales = per_step>, activation_scales = #hqdm.scale_table<steps = [999.0, 750.0, 500.0, 250.0, 0.0], group_starts = [0, 2, 4], scales = [0.5, 0.25, 0.125], zero_points = [10, 20, 30]>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// CHECK-LABEL: func.func @grouped
// CHECK-DAG: %[[SCALES:.*]] = arith.constant dense<[5.000000e-01, 2.500000e-01, 1.250000e-01]> : tensor<3xf32>
// CHECK-DAG: %[[ZEROS:.*]] = arith.constant dense<[10, 20, 30]> : tensor<3xi32>
// CHECK: %[[STEP:.*]] = hqdm.step_index %arg1 steps [9.990000e+02, 7.500000e+02, 5.000000e+02, 2.500000e+02, 0.000000e+00] : tensor<3xi64>
// CHECK-DAG: %[[S:.*]] = hqdm.step_select %[[SCALES]][%[[STEP]]] group_starts [0, 2, 4] : tensor<3xf32>, index -> tensor<f32>
// CHECK-DAG: %[[Z:.*]] = hqdm.step_select %[[ZEROS]][%[[STEP]]] group_starts [0, 2, 4] : tensor<3xi32>, index -> tensor<i32>
// CHECK: %[[Q:.*]] = hqdm.quantize %arg0, %[[S]], %[[Z]] <bits = 8, symmetric = false>
// CHECK: hqdm.qlinear %[[Q]], %{{.*}} scales(%[[S]], %{{.*}}) input_zero_point(%[[Z]]) weight_zero_point
// FAKE-LABEL: func.func @grouped
// FAKE: hqdm.fake_quant %arg0, %{{.*}}, %{{.*}} <bits = 8, symmetric = false>

// -----

// One entry per step: no group boundaries.
func.func @per_step(%x: tensor<3x4xf32>, %t: tensor<f32> {hqdm.timestep}) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %y = hqdm.linear %x, %w {name = "fc", plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 4>, scales = per_step>, activation_scales = #hqdm.scale_table<steps = [1.0, 0.5, 0.0], group_starts = [0, 1, 2], scales = [0.5, 0.25, 0.125], zero_points = []>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// CHECK-LABEL: func.func @per_step
// CHECK: %[[STEP:.*]] = hqdm.step_index %arg1 steps [1.000000e+00, 5.000000e-01, 0.000000e+00] : tensor<f32>
// CHECK: hqdm.step_select %{{.*}}[%[[STEP]]] : tensor<3xf32>, index -> tensor<f32>

// -----

// The post-GELU shift s = [1, 0, 2, 0.5] goes into the bias through the
// quantized weight: b' = b + W_hat s = [0.5 + 0.8 + 0.8 + 2, -0.5] = [4.1, -0.5].
func.func @shifted(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y = hqdm.linear %x, %w bias(%b) {name = "fc2", input_shift = dense<[1.0, 0.0, 2.0, 0.5]> : tensor<4xf32>, plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 8>, scales = static>, activation_scales = #hqdm.scale_table<steps = [0.0], group_starts = [0], scales = [0.25], zero_points = []>} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// CHECK-LABEL: func.func @shifted
// CHECK: %[[B:.*]] = arith.constant dense<[4.100000e+00, -5.000000e-01]> : tensor<2xf32>
// CHECK: hqdm.qlinear {{.*}} bias(%[[B]])
// The fake-quant form keeps the shift on the float layer.
// FAKE-LABEL: func.func @shifted
// FAKE: hqdm.linear {{.*}}input_shift = dense<[1.000000e+00, 0.000000e+00, 2.000000e+00, 5.000000e-01]>

