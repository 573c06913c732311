// hqdm-quantize-layers on hand-computed weights. With clip-candidates=1 the
// clipping ratio is 1, so the scales are the plain range / levels:
//   row [1, -2, 0.5, 4], symmetric 4-bit: s = f32(4/7) = 0.571428597,
//     x/s = [1.75, -3.4999999, 0.875, 7] -> levels [2, -3, 1, 7];
//   same row, asymmetric 4-bit: s = f32(6/15) = 0.4, z = round(2/0.4) = 5,
//     levels round(x/s) + z = [2, -5, 1, 10] + 5 = [7, 0, 6, 15] (15 prints
//     as -1 in i4);
//   an all-zero row gets scale 0 and level 0.
// Single Hadamard, block 4: W_rot = levels * H_raw(4) (Sylvester),
//   [2, -3, 1, 7] * H_raw = [2-3+1+7, 2+3+1-7, 2-3-1-7, 2+3-1+7] = [7, -1, -9, 11],
//   multiplier 1/sqrt(4); worst-case accumulator (7+1+9+11) * 7 = 196.

// RUN: hqdm-opt %s --split-input-file --hqdm-plan="block=4 weight-symmetric=true" --hqdm-insert-hadamard --hqdm-quantize-layers="clip-candidates=1" --canonicalize --remarks-filter='hqdm-quantize' 2>%t.single.remarks | FileCheck %s --check-prefix=SINGLE
// RUN: FileCheck %s --check-prefix=SINGLE-REMARK < %t.single.remarks
// RUN: hqdm-opt %s --split-input-file --hqdm-plan="hadamard=none" --hqdm-quantize-layers="clip-candidates=1" --canonicalize | FileCheck %s --check-prefix=NONE
// RUN: hqdm-opt %s --split-input-file --hqdm-plan="block=4 weight-symmetric=true" --hqdm-insert-hadamard --hqdm-quantize-layers="clip-candidates=1 form=fake-quant" --canonicalize | FileCheck %s --check-prefix=FAKE
// RUN: hqdm-opt %s --split-input-file --hqdm-plan="block=4 hadamard=double weight-symmetric=true" --hqdm-insert-hadamard --hqdm-quantize-layers="clip-candidates=1" --canonicalize | FileCheck %s --check-prefix=DOUBLE

func.func @fc(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %b = arith.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %y = hqdm.linear %x, %w bias(%b) {name = "fc"} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// SINGLE-LABEL: func.func @fc
// SINGLE-DAG: %[[SW:.*]] = arith.constant dense<[0.571428597, 0.000000e+00]> : tensor<2xf32>
// SINGLE-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[7, -1, -9, 11], [0, 0, 0, 0]]> : tensor<2x4xi8>
// SINGLE-DAG: %[[B:.*]] = arith.constant dense<[5.000000e-01, -5.000000e-01]> : tensor<2xf32>
// SINGLE: %[[R:.*]] = hqdm.hadamard %arg0 <block = 4> {axis = 1 : i64}
// SINGLE: %[[S:.*]] = hqdm.token_scale %[[R]] <bits = 4> : tensor<3x4xf32> -> tensor<3xf32>
// SINGLE: %[[Q:.*]] = hqdm.quantize %[[R]], %[[S]] <bits = 4, granularity = per_token> : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xi8>
// SINGLE: hqdm.qlinear %[[Q]], %[[W]] scales(%[[S]], %[[SW]]) bias(%[[B]]) {multiplier = 5.000000e-01 : f32}
// SINGLE-REMARK: Remark="layer 'fc': W4 symmetric per channel (weight SQNR {{.*}} dB), A4 per_token dynamic, hadamard single block 4; weight stored as i8, max |w| 11, worst-case accumulator 196"

// NONE-LABEL: func.func @fc
// NONE-DAG: %[[SW:.*]] = arith.constant dense<[4.000000e-01, 0.000000e+00]> : tensor<2xf32>
// NONE-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[7, 0, 6, -1], [0, 0, 0, 0]]> : tensor<2x4xi4>
// NONE-DAG: %[[Z:.*]] = arith.constant dense<[5, 0]> : tensor<2xi32>
// NONE-NOT: hqdm.hadamard
// NONE: %[[S:.*]] = hqdm.token_scale %arg0 <bits = 4>
// NONE: %[[Q:.*]] = hqdm.quantize %arg0, %[[S]]
// NONE: hqdm.qlinear %[[Q]], %[[W]] scales(%[[S]], %[[SW]]) weight_zero_point(%[[Z]]) bias({{.*}}) :

// The fake-quant form: the same levels as floats, (q - z) * s, read in the
// rotated basis by a float linear.
// FAKE-LABEL: func.func @fc
// FAKE-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[1.14285719, -1.71428585, 0.571428597, 4.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<2x4xf32>
// FAKE: %[[R:.*]] = hqdm.hadamard %arg0 <block = 4>
// FAKE: %[[S:.*]] = hqdm.token_scale %[[R]] <bits = 4>
// FAKE: %[[F:.*]] = hqdm.fake_quant %[[R]], %[[S]] <bits = 4, granularity = per_token>
// FAKE: hqdm.linear %[[F]], %[[W]] bias({{.*}}) {input_rotation = #hqdm.hadamard<block = 4>, name = "fc"}

// Double: the float weight is rotated first, W * H_4 = [1, -2, 0.5, 4] * H_raw / 2
// = [3.5, -0.5, -5.5, 6.5] / 2 = [1.75, -0.25, -2.75, 3.25], then quantized
// (symmetric: s = 3.25/7 = 0.464285702, levels [3.77, -0.54, -5.92, 7] ->
// [4, -1, -6, 7]): no multiplier, no zero point.
// DOUBLE-LABEL: func.func @fc
// DOUBLE-DAG: arith.constant dense<[0.464285702, 0.000000e+00]> : tensor<2xf32>
// DOUBLE-DAG: arith.constant dense<{{\[}}[4, -1, -6, 7], [0, 0, 0, 0]]> : tensor<2x4xi4>
// DOUBLE: hqdm.qlinear
// DOUBLE-NOT: multiplier

// -----

// A 3x3 convolution, per-tensor dynamic activations, single Hadamard along
// the 4 input channels: every kernel tap's channel vector is rotated.
func.func @conv(%x: tensor<1x4x5x5xf32>) -> tensor<1x2x5x5xf32> {
  %w = arith.constant dense<0.25> : tensor<2x4x3x3xf32>
  %y = hqdm.conv2d %x, %w {name = "conv", padding = array<i64: 1, 1>} : (tensor<1x4x5x5xf32>, tensor<2x4x3x3xf32>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// All weights 0.25, symmetric: s = 0.25/7, levels 7; each tap's channel
// vector [7, 7, 7, 7] * H_raw(4) = [28, 0, 0, 0].
// SINGLE-LABEL: func.func @conv
// SINGLE-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[{{\[}}[28, 28, 28], [28, 28, 28], [28, 28, 28]], {{\[}}[0, 0, 0]
// SINGLE: %[[R:.*]] = hqdm.hadamard %arg0 <block = 4> {axis = 1 : i64} : tensor<1x4x5x5xf32>
// SINGLE: %[[S:.*]] = hqdm.tensor_scale %[[R]] <bits = 4> : tensor<1x4x5x5xf32> -> tensor<f32>
// SINGLE: %[[Q:.*]] = hqdm.quantize %[[R]], %[[S]] <bits = 4>
// SINGLE: hqdm.qconv2d %[[Q]], %[[W]] scales(%[[S]], %{{.*}}) {multiplier = 5.000000e-01 : f32, padding = array<i64: 1, 1>}
