// RUN: hqdm-opt %s -split-input-file -hqdm-raise | FileCheck %s
// RUN: hqdm-opt %s -split-input-file -hqdm-raise --remarks-filter='hqdm.*' -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// Conv2d as in the reference (torch-mlir's convolution.mlir test): the
// bias broadcast into the accumulator.

// CHECK-LABEL: func.func @conv_bias
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x13x17xf32>, %[[W:.*]]: tensor<4x2x3x3xf32>, %[[B:.*]]: tensor<4xf32>)
func.func @conv_bias(%in: tensor<1x2x13x17xf32>, %w: tensor<4x2x3x3xf32>, %bias: tensor<4xf32>) -> tensor<1x4x11x15xf32> {
  %init = tensor.empty() : tensor<1x4x11x15xf32>
  %B = linalg.broadcast ins(%bias : tensor<4xf32>) outs(%init : tensor<1x4x11x15xf32>) dimensions = [0, 2, 3]
  %C = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%in, %w : tensor<1x2x13x17xf32>, tensor<4x2x3x3xf32>) outs(%B : tensor<1x4x11x15xf32>) -> tensor<1x4x11x15xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.conv2d %[[X]], %[[W]] bias(%[[B]]) {name = "conv2d_0"} : (tensor<1x2x13x17xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x11x15xf32>
  // CHECK-NEXT: return %[[Y]]
  // REMARK: remark: [Passed] Raised | Category:hqdm-raise | Remark="raised conv2d 'conv2d_0'"
  return %C : tensor<1x4x11x15xf32>
}

// -----

// DiT's PatchEmbed Conv2d(4, D, k=2, s=2): no padding, stride 2; a zero
// fill (no bias); dilation kept.

// CHECK-LABEL: func.func @conv_patch_embed
func.func @conv_patch_embed(%in: tensor<2x4x8x8xf32>, %w: tensor<16x4x2x2xf32>) -> tensor<2x16x4x4xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %init = tensor.empty() : tensor<2x16x4x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%init : tensor<2x16x4x4xf32>) -> tensor<2x16x4x4xf32>
  %C = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<2> : vector<2xi64>}
         ins(%in, %w : tensor<2x4x8x8xf32>, tensor<16x4x2x2xf32>) outs(%f : tensor<2x16x4x4xf32>) -> tensor<2x16x4x4xf32>
  // CHECK: hqdm.conv2d %{{.*}}, %{{.*}} {name = "conv2d_0", strides = array<i64: 2, 2>} : (tensor<2x4x8x8xf32>, tensor<16x4x2x2xf32>) -> tensor<2x16x4x4xf32>
  return %C : tensor<2x16x4x4xf32>
}

// -----

// A symmetric zero tensor.pad on H and W folds into `padding`; dilation 2.

// CHECK-LABEL: func.func @conv_pad
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>
func.func @conv_pad(%in: tensor<1x3x8x8xf32>, %w: tensor<5x3x3x3xf32>, %bias: tensor<5xf32>) -> tensor<1x5x6x8xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %padded = tensor.pad %in low[0, 0, 1, 2] high[0, 0, 1, 2] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  } : tensor<1x3x8x8xf32> to tensor<1x3x10x12xf32>
  %init = tensor.empty() : tensor<1x5x6x8xf32>
  %B = linalg.broadcast ins(%bias : tensor<5xf32>) outs(%init : tensor<1x5x6x8xf32>) dimensions = [0, 2, 3]
  %C = linalg.conv_2d_nchw_fchw {dilations = dense<2> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%padded, %w : tensor<1x3x10x12xf32>, tensor<5x3x3x3xf32>) outs(%B : tensor<1x5x6x8xf32>) -> tensor<1x5x6x8xf32>
  // CHECK-NOT: tensor.pad
  // CHECK: hqdm.conv2d %[[X]], %{{.*}} bias(%{{.*}}) {dilations = array<i64: 2, 2>, name = "conv2d_0", padding = array<i64: 1, 2>}
  // REMARK-NOT: PadKept
  return %C : tensor<1x5x6x8xf32>
}

// -----

// An asymmetric pad stays outside (the layer reads the padded tensor with
// padding 0), with a remark; the older broadcast copy generic for the bias.

#bias = affine_map<(d0, d1, d2, d3) -> (d1)>
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @conv_asymmetric_pad
func.func @conv_asymmetric_pad(%in: tensor<1x3x8x8xf32>, %w: tensor<5x3x3x3xf32>, %bias: tensor<5xf32>) -> tensor<1x5x7x7xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  // CHECK: %[[P:.*]] = tensor.pad
  %padded = tensor.pad %in low[0, 0, 0, 0] high[0, 0, 1, 1] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  } : tensor<1x3x8x8xf32> to tensor<1x3x9x9xf32>
  %init = tensor.empty() : tensor<1x5x7x7xf32>
  %B = linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%bias : tensor<5xf32>) outs(%init : tensor<1x5x7x7xf32>) {
  ^bb0(%b: f32, %o: f32):
    linalg.yield %b : f32
  } -> tensor<1x5x7x7xf32>
  %C = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%padded, %w : tensor<1x3x9x9xf32>, tensor<5x3x3x3xf32>) outs(%B : tensor<1x5x7x7xf32>) -> tensor<1x5x7x7xf32>
  // CHECK: hqdm.conv2d %[[P]], %{{.*}} bias(%{{.*}}) {name = "conv2d_0"} : (tensor<1x3x9x9xf32>
  // REMARK: remark: [Analysis] PadKept | Category:hqdm-raise | Remark="conv2d raised with its input tensor.pad kept outside: its padding is not symmetric"
  return %C : tensor<1x5x7x7xf32>
}
