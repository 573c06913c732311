// RUN: hqdm-opt %s | FileCheck %s
// RUN: hqdm-opt %s | hqdm-opt | FileCheck %s
// RUN: hqdm-opt %s --mlir-print-op-generic | hqdm-opt | FileCheck %s

// Every op and attribute form round-trips through the pretty and the generic
// syntax.

// CHECK-LABEL: func @quantizers
func.func @quantizers(%x: tensor<4x64xf32>, %s: tensor<f32>,
                      %sc: tensor<16xf32>, %zc: tensor<16xi32>,
                      %w: tensor<16x64xf32>, %st: tensor<4xf32>)
    -> (tensor<4x64xi4>, tensor<16x64xi8>, tensor<4x64xf16>, tensor<4x64xf32>) {
  // CHECK: hqdm.quantize %{{.*}}, %{{.*}} <bits = 4> : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64xi4>
  %q = hqdm.quantize %x, %s <bits = 4>
      : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64xi4>
  // CHECK: hqdm.quantize %{{.*}}, %{{.*}}, %{{.*}} <bits = 4, symmetric = false, granularity = per_channel> : (tensor<16x64xf32>, tensor<16xf32>, tensor<16xi32>) -> tensor<16x64xi8>
  %wq = hqdm.quantize %w, %sc, %zc
      <bits = 4, symmetric = false, granularity = per_channel, axis = 0>
      : (tensor<16x64xf32>, tensor<16xf32>, tensor<16xi32>) -> tensor<16x64xi8>
  // CHECK: hqdm.dequantize %{{.*}}, %{{.*}} <bits = 4> : (tensor<4x64xi4>, tensor<f32>) -> tensor<4x64xf16>
  %d = hqdm.dequantize %q, %s <bits = 4>
      : (tensor<4x64xi4>, tensor<f32>) -> tensor<4x64xf16>
  // CHECK: hqdm.fake_quant %{{.*}}, %{{.*}} <bits = 8, granularity = per_token> : (tensor<4x64xf32>, tensor<4xf32>) -> tensor<4x64xf32>
  %f = hqdm.fake_quant %x, %st <bits = 8, granularity = per_token>
      : (tensor<4x64xf32>, tensor<4xf32>) -> tensor<4x64xf32>
  return %q, %wq, %d, %f
      : tensor<4x64xi4>, tensor<16x64xi8>, tensor<4x64xf16>, tensor<4x64xf32>
}

// CHECK-LABEL: func @per_channel_inner_axis
func.func @per_channel_inner_axis(%x: tensor<2x8x3xf32>, %s: tensor<8xf32>)
    -> tensor<2x8x3xi8> {
  // CHECK: <bits = 8, granularity = per_channel, axis = 1>
  %q = hqdm.quantize %x, %s <bits = 8, granularity = per_channel, axis = 1>
      : (tensor<2x8x3xf32>, tensor<8xf32>) -> tensor<2x8x3xi8>
  return %q : tensor<2x8x3xi8>
}

// CHECK-LABEL: func @scales
func.func @scales(%x: tensor<2x8x64xbf16>, %table: tensor<50xf32>,
                  %groups: tensor<3x16xf32>, %step: i64, %i: index)
    -> (tensor<2x8xf32>, tensor<f32>, tensor<16xf32>) {
  // CHECK: hqdm.token_scale %{{.*}} <bits = 4> : tensor<2x8x64xbf16> -> tensor<2x8xf32>
  %s = hqdm.token_scale %x <bits = 4> : tensor<2x8x64xbf16> -> tensor<2x8xf32>
  // CHECK: hqdm.step_select %{{.*}}[%{{.*}}] : tensor<50xf32>, index -> tensor<f32>
  %t = hqdm.step_select %table[%i] : tensor<50xf32>, index -> tensor<f32>
  // CHECK: hqdm.step_select %{{.*}}[%{{.*}}] group_starts [0, 10, 30] : tensor<3x16xf32>, i64 -> tensor<16xf32>
  %g = hqdm.step_select %groups[%step] group_starts [0, 10, 30]
      : tensor<3x16xf32>, i64 -> tensor<16xf32>
  return %s, %t, %g : tensor<2x8xf32>, tensor<f32>, tensor<16xf32>
}

// CHECK-LABEL: func @hadamard
func.func @hadamard(%x: tensor<4x1152xf32>, %c: tensor<1x64x8x8xf16>,
                    %w: tensor<64x128xi4>)
    -> (tensor<4x1152xf32>, tensor<4x1152xf32>, tensor<1x64x8x8xf16>,
        tensor<64x128xi16>) {
  // CHECK: hqdm.hadamard %{{.*}} <block = 32> : tensor<4x1152xf32> -> tensor<4x1152xf32>
  %a = hqdm.hadamard %x <block = 32> : tensor<4x1152xf32> -> tensor<4x1152xf32>
  // CHECK: hqdm.hadamard %{{.*}} <block = 1152> : tensor<4x1152xf32> -> tensor<4x1152xf32>
  %b = hqdm.hadamard %x <block = 1152, normalized = true>
      : tensor<4x1152xf32> -> tensor<4x1152xf32>
  // CHECK: hqdm.hadamard %{{.*}} <block = 64> {axis = 1 : i64} : tensor<1x64x8x8xf16> -> tensor<1x64x8x8xf16>
  %r = hqdm.hadamard %c <block = 64> {axis = 1 : i64}
      : tensor<1x64x8x8xf16> -> tensor<1x64x8x8xf16>
  // CHECK: hqdm.hadamard %{{.*}} <block = 32, normalized = false> : tensor<64x128xi4> -> tensor<64x128xi16>
  %i = hqdm.hadamard %w <block = 32, normalized = false>
      : tensor<64x128xi4> -> tensor<64x128xi16>
  return %a, %b, %r, %i : tensor<4x1152xf32>, tensor<4x1152xf32>,
      tensor<1x64x8x8xf16>, tensor<64x128xi16>
}

// CHECK-LABEL: func @qlinear
func.func @qlinear(%x: tensor<2x8x64xi8>, %w: tensor<32x64xi16>,
                   %sx: tensor<2x8xf32>, %sw: tensor<32xf32>,
                   %zx: tensor<2x8xi32>, %b: tensor<32xf32>,
                   %xt: tensor<16x64xi4>, %st: tensor<f32>, %swt: tensor<f32>,
                   %zw: tensor<f32>, %zwt: tensor<i32>)
    -> (tensor<2x8x32xf32>, tensor<16x32xbf16>) {
  // CHECK: hqdm.qlinear %{{.*}}, %{{.*}} scales(%{{.*}}, %{{.*}}) input_zero_point(%{{.*}}) bias(%{{.*}}) {multiplier = 0.176776692 : f32} : (tensor<2x8x64xi8>, tensor<32x64xi16>, tensor<2x8xf32>, tensor<32xf32>, tensor<2x8xi32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) input_zero_point(%zx) bias(%b)
      {multiplier = 0.176776695 : f32}
      : (tensor<2x8x64xi8>, tensor<32x64xi16>, tensor<2x8xf32>, tensor<32xf32>,
         tensor<2x8xi32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  // CHECK: hqdm.qlinear %{{.*}}, %{{.*}} scales(%{{.*}}, %{{.*}}) weight_zero_point(%{{.*}}) : (tensor<16x64xi4>, tensor<32x64xi16>, tensor<f32>, tensor<f32>, tensor<i32>) -> tensor<16x32xbf16>
  %z = hqdm.qlinear %xt, %w scales(%st, %swt) weight_zero_point(%zwt)
      : (tensor<16x64xi4>, tensor<32x64xi16>, tensor<f32>, tensor<f32>,
         tensor<i32>) -> tensor<16x32xbf16>
  return %y, %z : tensor<2x8x32xf32>, tensor<16x32xbf16>
}

// CHECK-LABEL: func @qconv2d
func.func @qconv2d(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi4>,
                   %sx: tensor<f32>, %sw: tensor<4xf32>, %zx: tensor<i32>,
                   %b: tensor<4xf32>) -> tensor<1x4x5x5xf32> {
  // CHECK: hqdm.qconv2d %{{.*}}, %{{.*}} scales(%{{.*}}, %{{.*}}) input_zero_point(%{{.*}}) bias(%{{.*}}) {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi4>, tensor<f32>, tensor<4xf32>, tensor<i32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) input_zero_point(%zx) bias(%b)
      {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>}
      : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi4>, tensor<f32>, tensor<4xf32>,
         tensor<i32>, tensor<4xf32>) -> tensor<1x4x5x5xf32>
  return %y : tensor<1x4x5x5xf32>
}

// CHECK-LABEL: func @dynamic_shapes
func.func @dynamic_shapes(%x: tensor<?x64xf32>, %s: tensor<?xf32>,
                          %w: tensor<32x64xi8>, %sw: tensor<32xf32>)
    -> (tensor<?x64xf32>, tensor<?x32xf32>) {
  // CHECK: hqdm.hadamard %{{.*}} <block = 64> : tensor<?x64xf32> -> tensor<?x64xf32>
  %r = hqdm.hadamard %x <block = 64> : tensor<?x64xf32> -> tensor<?x64xf32>
  %q = hqdm.quantize %r, %s <bits = 8, granularity = per_token>
      : (tensor<?x64xf32>, tensor<?xf32>) -> tensor<?x64xi8>
  // CHECK: hqdm.qlinear {{.*}} -> tensor<?x32xf32>
  %y = hqdm.qlinear %q, %w scales(%s, %sw)
      : (tensor<?x64xi8>, tensor<32x64xi8>, tensor<?xf32>, tensor<32xf32>)
      -> tensor<?x32xf32>
  return %r, %y : tensor<?x64xf32>, tensor<?x32xf32>
}

// Single Hadamard at DiT-XL/2's MLP width: 4-bit levels rotated with a raw
// 4608 = 36 x 128 block need 4 + 13 bits, so they are held in i32, which
// qlinear accepts (i32 accumulation of i32 operands).
// CHECK-LABEL: func @wide_rotated_weights
// CHECK: hqdm.hadamard %{{.*}} <block = 4608, normalized = false> : tensor<8x4608xi4> -> tensor<8x4608xi32>
// CHECK: hqdm.qlinear {{.*}} : (tensor<2x4608xi8>, tensor<8x4608xi32>, tensor<2xf32>, tensor<8xf32>) -> tensor<2x8xf32>
func.func @wide_rotated_weights(%w: tensor<8x4608xi4>, %x: tensor<2x4608xi8>,
                                %sx: tensor<2xf32>, %sw: tensor<8xf32>)
    -> tensor<2x8xf32> {
  %wr = hqdm.hadamard %w <block = 4608, normalized = false>
      : tensor<8x4608xi4> -> tensor<8x4608xi32>
  %y = hqdm.qlinear %x, %wr scales(%sx, %sw) {multiplier = 0.0147314537 : f32}
      : (tensor<2x4608xi8>, tensor<8x4608xi32>, tensor<2xf32>, tensor<8xf32>)
      -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// CHECK-LABEL: func @float_layers
func.func @float_layers(%x: tensor<16x64xf32>, %w: tensor<256x64xf32>,
                        %b: tensor<256xf32>, %x3: tensor<2x8x64xbf16>,
                        %w3: tensor<32x64xbf16>, %img: tensor<1x32x8x8xf32>,
                        %k: tensor<16x32x3x3xf32>, %kb: tensor<16xf32>)
    -> (tensor<16x256xf32>, tensor<2x8x32xbf16>, tensor<1x16x3x4xf32>,
        tensor<1x16x6x6xf32>) {
  // CHECK: hqdm.linear %{{.*}}, %{{.*}} bias(%{{.*}}) {name = "blocks.0.mlp.fc1"} : (tensor<16x64xf32>, tensor<256x64xf32>, tensor<256xf32>) -> tensor<16x256xf32>
  %y = hqdm.linear %x, %w bias(%b) {name = "blocks.0.mlp.fc1"}
      : (tensor<16x64xf32>, tensor<256x64xf32>, tensor<256xf32>)
      -> tensor<16x256xf32>
  // CHECK: hqdm.linear %{{.*}}, %{{.*}} {input_rotation = #hqdm.hadamard<block = 32>, plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 4, granularity = per_token>, hadamard = single>} : (tensor<2x8x64xbf16>, tensor<32x64xbf16>) -> tensor<2x8x32xbf16>
  %r = hqdm.linear %x3, %w3 {input_rotation = #hqdm.hadamard<block = 32>,
      plan = #hqdm.plan<weight = <bits = 4, symmetric = false,
                                  granularity = per_channel>,
                        activation = <bits = 4, granularity = per_token>,
                        hadamard = single, block = 32>}
      : (tensor<2x8x64xbf16>, tensor<32x64xbf16>) -> tensor<2x8x32xbf16>
  // CHECK: hqdm.conv2d %{{.*}}, %{{.*}} bias(%{{.*}}) {dilations = array<i64: 2, 1>, name = "resblock.conv1", padding = array<i64: 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x32x8x8xf32>, tensor<16x32x3x3xf32>, tensor<16xf32>) -> tensor<1x16x3x4xf32>
  %c = hqdm.conv2d %img, %k bias(%kb)
      {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>,
       dilations = array<i64: 2, 1>, name = "resblock.conv1"}
      : (tensor<1x32x8x8xf32>, tensor<16x32x3x3xf32>, tensor<16xf32>)
      -> tensor<1x16x3x4xf32>
  // CHECK: hqdm.conv2d %{{.*}}, %{{.*}} {input_rotation = #hqdm.hadamard<block = 16>, plan = #hqdm.plan<weight = <bits = 8, granularity = per_channel>, activation = <bits = 8>, scales = per_step, block = 16>} : (tensor<1x32x8x8xf32>, tensor<16x32x3x3xf32>) -> tensor<1x16x6x6xf32>
  %d = hqdm.conv2d %img, %k {input_rotation = #hqdm.hadamard<block = 16>,
      plan = #hqdm.plan<weight = <bits = 8, granularity = per_channel>,
                        activation = <bits = 8>, scales = per_step,
                        block = 16>}
      : (tensor<1x32x8x8xf32>, tensor<16x32x3x3xf32>) -> tensor<1x16x6x6xf32>
  return %y, %r, %c, %d : tensor<16x256xf32>, tensor<2x8x32xbf16>,
      tensor<1x16x3x4xf32>, tensor<1x16x6x6xf32>
}

// CHECK-LABEL: func @activations_and_norms
func.func @activations_and_norms(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>,
                                 %img: tensor<1x32x8x8xf16>,
                                 %cg: tensor<32xf16>, %shift: tensor<2x64xf32>)
    -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>,
        tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<1x32x8x8xf16>,
        tensor<1x32x8x8xf16>, tensor<2x16x64xf32>, tensor<2x16x64xf32>,
        tensor<2x16x64xf32>, tensor<f32>) {
  // CHECK: hqdm.gelu %{{.*}} : tensor<2x16x64xf32>
  %a = hqdm.gelu %x : tensor<2x16x64xf32>
  // CHECK: hqdm.gelu %{{.*}} approximate tanh {name = "mlp.act"} : tensor<2x16x64xf32>
  %t = hqdm.gelu %x approximate tanh {name = "mlp.act"} : tensor<2x16x64xf32>
  // CHECK: hqdm.silu %{{.*}} : tensor<2x16x64xf32>
  %s = hqdm.silu %x : tensor<2x16x64xf32>
  // CHECK: hqdm.layer_norm %{{.*}} {epsilon = 9.99999997E-7 : f32} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %n = hqdm.layer_norm %x {epsilon = 1.0e-06 : f32}
      : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  // CHECK: hqdm.layer_norm %{{.*}} weight(%{{.*}}) bias(%{{.*}}) : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  %na = hqdm.layer_norm %x weight(%g) bias(%g)
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // CHECK: hqdm.group_norm %{{.*}} weight(%{{.*}}) bias(%{{.*}}) {groups = 8 : i64} : (tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  %gn = hqdm.group_norm %img weight(%cg) bias(%cg) {groups = 8 : i64}
      : (tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>)
      -> tensor<1x32x8x8xf16>
  // CHECK: hqdm.group_norm %{{.*}} bias(%{{.*}}) {epsilon = 9.99999997E-7 : f32, groups = 32 : i64} : (tensor<1x32x8x8xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  %gb = hqdm.group_norm %img bias(%cg) {groups = 32 : i64, epsilon = 1.0e-06 : f32}
      : (tensor<1x32x8x8xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  // CHECK: hqdm.softmax %{{.*}} : tensor<2x16x64xf32>
  %p = hqdm.softmax %x : tensor<2x16x64xf32>
  // CHECK: hqdm.softmax %{{.*}} {axis = 1 : i64} : tensor<2x16x64xf32>
  %q = hqdm.softmax %x {axis = 1 : i64} : tensor<2x16x64xf32>
  // CHECK: hqdm.modulate %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>) -> tensor<2x16x64xf32>
  %m = hqdm.modulate %x, %shift, %shift
      : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>)
      -> tensor<2x16x64xf32>
  // CHECK: hqdm.tensor_scale %{{.*}} <bits = 8> : tensor<2x16x64xf32> -> tensor<f32>
  %ts = hqdm.tensor_scale %x <bits = 8> : tensor<2x16x64xf32> -> tensor<f32>
  return %a, %t, %s, %n, %na, %gn, %gb, %p, %q, %m, %ts
      : tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>,
        tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<1x32x8x8xf16>,
        tensor<1x32x8x8xf16>, tensor<2x16x64xf32>, tensor<2x16x64xf32>,
        tensor<2x16x64xf32>, tensor<f32>
}

// CHECK-LABEL: func @calibration
func.func @calibration(%x: tensor<2x16x256xf32>, %img: tensor<1x32x8x8xf16>,
                       %t: tensor<2xi64>, %tf: tensor<f32>, %ts: i32,
                       %c: tensor<256xf32>, %m: tensor<256xf32>,
                       %zt: tensor<4xi32>, %zc: tensor<3x16xi32>)
    -> (tensor<256xf32>, tensor<256xf32>, tensor<2048xi32>, tensor<32xf32>,
        tensor<32xf32>, index, index, index, tensor<2x16x256xf32>,
        tensor<1x32x8x8xf16>, tensor<i32>, tensor<16xi32>) {
  // CHECK: hqdm.observe %{{.*}} {bins = 2048 : i64, high = 4.000000e+00 : f64, low = -5.000000e-01 : f64, name = "fc2"} : tensor<2x16x256xf32> -> tensor<256xf32>, tensor<256xf32>, tensor<2048xi32>
  %lo, %hi, %h = hqdm.observe %x {name = "fc2", bins = 2048 : i64,
                                  low = -0.5 : f64, high = 4.0 : f64}
      : tensor<2x16x256xf32> -> tensor<256xf32>, tensor<256xf32>, tensor<2048xi32>
  // CHECK: hqdm.observe %{{.*}} {axis = 1 : i64, name = "conv1"} : tensor<1x32x8x8xf16> -> tensor<32xf32>, tensor<32xf32>
  %clo, %chi = hqdm.observe %img {name = "conv1", axis = 1 : i64}
      : tensor<1x32x8x8xf16> -> tensor<32xf32>, tensor<32xf32>
  // CHECK: hqdm.step_index %{{.*}} steps [9.990000e+02, 7.490000e+02, 4.990000e+02, 2.490000e+02] : tensor<2xi64>
  %i = hqdm.step_index %t steps [999.0, 749.0, 499.0, 249.0] : tensor<2xi64>
  // CHECK: hqdm.step_index %{{.*}} steps [1.000000e+00, 5.000000e-01] : tensor<f32>
  %j = hqdm.step_index %tf steps [1.0, 0.5] : tensor<f32>
  // CHECK: hqdm.step_index %{{.*}} steps [9.990000e+02] : i32
  %k = hqdm.step_index %ts steps [999.0] : i32
  // CHECK: hqdm.channel_shift %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x16x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
  %y = hqdm.channel_shift %x, %c, %m
      : (tensor<2x16x256xf32>, tensor<256xf32>, tensor<256xf32>)
      -> tensor<2x16x256xf32>
  %s32 = arith.constant dense<1.0> : tensor<32xf32>
  // CHECK: hqdm.channel_shift %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<1x32x8x8xf16>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf16>
  %z = hqdm.channel_shift %img, %s32, %s32 {axis = 1 : i64}
      : (tensor<1x32x8x8xf16>, tensor<32xf32>, tensor<32xf32>)
      -> tensor<1x32x8x8xf16>
  // CHECK: hqdm.step_select %{{.*}}[%{{.*}}] : tensor<4xi32>, index -> tensor<i32>
  %zs = hqdm.step_select %zt[%i] : tensor<4xi32>, index -> tensor<i32>
  // CHECK: hqdm.step_select %{{.*}}[%{{.*}}] group_starts [0, 2, 3] : tensor<3x16xi32>, i32 -> tensor<16xi32>
  %zg = hqdm.step_select %zc[%ts] group_starts [0, 2, 3]
      : tensor<3x16xi32>, i32 -> tensor<16xi32>
  return %lo, %hi, %h, %clo, %chi, %i, %j, %k, %y, %z, %zs, %zg
      : tensor<256xf32>, tensor<256xf32>, tensor<2048xi32>, tensor<32xf32>,
        tensor<32xf32>, index, index, index, tensor<2x16x256xf32>,
        tensor<1x32x8x8xf16>, tensor<i32>, tensor<16xi32>
}

// CHECK-LABEL: func @shifted_and_calibrated_layers
func.func @shifted_and_calibrated_layers(%x: tensor<2x8x64xf32>,
                                         %w: tensor<32x64xf32>,
                                         %img: tensor<1x8x4x4xf32>,
                                         %k: tensor<16x8x1x1xf32>)
    -> (tensor<2x8x32xf32>, tensor<1x16x4x4xf32>) {
  // CHECK: hqdm.linear %{{.*}}, %{{.*}} {activation_scales = #hqdm.scale_table<steps = [9.990000e+02, 6.660000e+02, 3.330000e+02, 0.000000e+00], group_starts = [0, 2], scales = [5.000000e-02, 2.000000e-02], zero_points = []>, input_shift = dense<2.500000e-01> : tensor<64xf32>, name = "mlp.fc2"} : (tensor<2x8x64xf32>, tensor<32x64xf32>) -> tensor<2x8x32xf32>
  %y = hqdm.linear %x, %w {name = "mlp.fc2",
      input_shift = dense<0.25> : tensor<64xf32>,
      activation_scales = #hqdm.scale_table<steps = [999.0, 666.0, 333.0, 0.0],
          group_starts = [0, 2], scales = [0.05, 0.02], zero_points = []>}
      : (tensor<2x8x64xf32>, tensor<32x64xf32>) -> tensor<2x8x32xf32>
  // CHECK: hqdm.conv2d %{{.*}}, %{{.*}} {activation_scales = #hqdm.scale_table<steps = [9.990000e+02, 0.000000e+00], group_starts = [0, 1], scales = [5.000000e-01, 2.500000e-01], zero_points = [3, 7]>} : (tensor<1x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x4x4xf32>
  %c = hqdm.conv2d %img, %k {activation_scales = #hqdm.scale_table<
          steps = [999.0, 0.0], group_starts = [0, 1], scales = [0.5, 0.25],
          zero_points = [3, 7]>}
      : (tensor<1x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x4x4xf32>
  return %y, %c : tensor<2x8x32xf32>, tensor<1x16x4x4xf32>
}

// CHECK-LABEL: func.func @gpu_launch
// CHECK: %[[T:.*]] = hqdm.gpu_launch "fc" ins(%arg0 : tensor<4x64xf32>) outs(%arg1 : tensor<4x8xf32>) {launches = [{args = array<i64: 0, 2, 1>, block = array<i64: 128, 1, 1>, grid = array<i64: 1, 1, 1>, kernel = @k::@fc}], temps = [memref<64x8xi32>]} -> tensor<4x8xf32>
// CHECK: hqdm.gpu_launch "fc" ins(%arg2 : memref<4x64xf32>) outs(%arg3 : memref<4x8xf32>) {launches = [], temps = []}
// CHECK-NOT: ->
func.func @gpu_launch(%x: tensor<4x64xf32>, %init: tensor<4x8xf32>, %xm: memref<4x64xf32>, %ym: memref<4x8xf32>) -> tensor<4x8xf32> {
  %y = hqdm.gpu_launch "fc" ins(%x : tensor<4x64xf32>) outs(%init : tensor<4x8xf32>) {
    temps = [memref<64x8xi32>],
    launches = [{kernel = @k::@fc, grid = array<i64: 1, 1, 1>, block = array<i64: 128, 1, 1>, args = array<i64: 0, 2, 1>}]
  } -> tensor<4x8xf32>
  hqdm.gpu_launch "fc" ins(%xm : memref<4x64xf32>) outs(%ym : memref<4x8xf32>) {temps = [], launches = []}
  return %y : tensor<4x8xf32>
}
