// RUN: hqdm-opt %s -split-input-file -hqdm-raise | FileCheck %s
// RUN: hqdm-opt %s -split-input-file -hqdm-raise --remarks-filter='hqdm.*' -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// Near misses: each differs from a layer in one detail that changes what
// it computes, so none may be raised.

// A transposed-weight product accumulated into a non-zero fill.
// CHECK-LABEL: func.func @matmul_nonzero_fill
// CHECK-NOT: hqdm.
// CHECK: linalg.matmul
// REMARK: remark: [Missed] NotRaised | Category:hqdm-raise | Remark="linalg.matmul not raised to a linear: its accumulator is not a zero fill: the product is added to another value"
func.func @matmul_nonzero_fill(%x: tensor<2x4xf32>, %w: tensor<3x4xf32>) -> tensor<2x3xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%w : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, 0]
  %i = tensor.empty() : tensor<2x3xf32>
  %f = linalg.fill ins(%one : f32) outs(%i : tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x3xf32>) outs(%f : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %m : tensor<2x3xf32>
}

// -----

// The weight "transposed" by the identity permutation, and a copy generic
// that does not transpose: x * W, not x * W^T.
// CHECK-LABEL: func.func @matmul_not_transposed
// CHECK-NOT: hqdm.
// REMARK: Remark="linalg.matmul not raised to a linear: its right operand is a linalg.transpose with permutation [0, 1], not [1, 0]"
// REMARK: Remark="linalg.matmul not raised to a linear: its right operand is a copy that does not transpose (indexing maps other than (d0, d1) <-> (d1, d0))"
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @matmul_not_transposed(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %t = linalg.transpose ins(%w : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [0, 1]
  %c = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%w : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4x4xf32>
  %i = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<2x4xf32>) -> tensor<2x4xf32>
  %m = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %n = linalg.matmul ins(%x, %c : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %m, %n : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// f16 operands accumulated in f32 (torch-mlir's getDefaultAccType).
// CHECK-LABEL: func.func @matmul_mixed
// CHECK-NOT: hqdm.
// REMARK: Remark="linalg.matmul not raised to a linear: its operands and result do not share one element type (a low-precision product accumulated in f32 is not raised)"
func.func @matmul_mixed(%x: tensor<2x4xf16>, %w: tensor<3x4xf16>) -> tensor<2x3xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<4x3xf16>
  %t = linalg.transpose ins(%w : tensor<3x4xf16>) outs(%e : tensor<4x3xf16>) permutation = [1, 0]
  %i = tensor.empty() : tensor<2x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = linalg.matmul ins(%x, %t : tensor<2x4xf16>, tensor<4x3xf16>) outs(%f : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %m : tensor<2x3xf32>
}

// -----

// A bias broadcast along the rows (d0) is not a Linear's bias: the linear
// is raised, the add stays.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @bias_wrong_dim
// CHECK: %[[L:.*]] = hqdm.linear %{{.*}}, %{{.*}} {name = "linear_0"}
// CHECK: linalg.generic {{.*}} ins(%[[L]], %{{.*}} : tensor<3x3xf32>, tensor<3xf32>)
func.func @bias_wrong_dim(%x: tensor<3x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<3x3xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%w : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>) permutation = [1, 0]
  %i = tensor.empty() : tensor<3x3xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<3x3xf32>) -> tensor<3x3xf32>
  %m = linalg.matmul ins(%x, %t : tensor<3x4xf32>, tensor<4x3xf32>) outs(%f : tensor<3x3xf32>) -> tensor<3x3xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%m, %b : tensor<3x3xf32>, tensor<3xf32>) outs(%i : tensor<3x3xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<3x3xf32>
  return %y : tensor<3x3xf32>
}

// -----

// A pad of 1.0 is not a conv's zero padding: it stays outside the layer.
// CHECK-LABEL: func.func @conv_pad_one
// CHECK: %[[P:.*]] = tensor.pad
// CHECK: hqdm.conv2d %[[P]], %{{.*}} {name = "conv2d_0"} : (tensor<1x3x10x10xf32>
// REMARK: remark: [Analysis] PadKept | Category:hqdm-raise | Remark="conv2d raised with its input tensor.pad kept outside: it pads with 1, not zero"
func.func @conv_pad_one(%in: tensor<1x3x8x8xf32>, %w: tensor<5x3x3x3xf32>) -> tensor<1x5x8x8xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %padded = tensor.pad %in low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %one : f32
  } : tensor<1x3x8x8xf32> to tensor<1x3x10x10xf32>
  %init = tensor.empty() : tensor<1x5x8x8xf32>
  %f = linalg.fill ins(%zero : f32) outs(%init : tensor<1x5x8x8xf32>) -> tensor<1x5x8x8xf32>
  %C = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%padded, %w : tensor<1x3x10x10xf32>, tensor<5x3x3x3xf32>) outs(%f : tensor<1x5x8x8xf32>) -> tensor<1x5x8x8xf32>
  return %C : tensor<1x5x8x8xf32>
}

// -----

// A conv accumulating into something other than a zero fill or a bias.
// CHECK-LABEL: func.func @conv_accumulate
// CHECK-NOT: hqdm.
// REMARK: Remark="linalg.conv_2d_nchw_fchw not raised to a conv2d: its accumulator is neither a zero fill nor a bias broadcast along the channels"
func.func @conv_accumulate(%in: tensor<1x3x8x8xf32>, %w: tensor<5x3x3x3xf32>, %acc: tensor<1x5x6x6xf32>) -> tensor<1x5x6x6xf32> {
  %C = linalg.conv_2d_nchw_fchw {dilations = dense<1> : vector<2xi64>, strides = dense<1> : vector<2xi64>}
         ins(%in, %w : tensor<1x3x8x8xf32>, tensor<5x3x3x3xf32>) outs(%acc : tensor<1x5x6x6xf32>) -> tensor<1x5x6x6xf32>
  return %C : tensor<1x5x6x6xf32>
}

// -----

// GELU look-alikes: 0.4 instead of 0.5; erf(x / 2); tanh form with 0.05
// instead of 0.044715; tanh form with x^2 instead of x^3.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @gelu_lookalikes
// CHECK-NOT: hqdm.
// CHECK: return
func.func @gelu_lookalikes(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %cst = arith.constant 1.000000e+00 : f32
  %cst_0 = arith.constant 4.000000e-01 : f32
  %half = arith.constant 5.000000e-01 : f32
  %cst_1 = arith.constant 1.41421354 : f32
  %two = arith.constant 2.000000e+00 : f32
  %c3_i64 = arith.constant 3 : i64
  %c2_i64 = arith.constant 2 : i64
  %alpha = arith.constant 4.471500e-02 : f32
  %wrong_alpha = arith.constant 5.000000e-02 : f32
  %beta = arith.constant 0.797724068 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %a = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.divf %in, %cst_1 : f32
    %3 = math.erf %2 : f32
    %4 = arith.addf %3, %cst : f32
    %5 = arith.mulf %4, %cst_0 : f32
    %6 = arith.mulf %in, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<4x8xf32>
  %b = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.divf %in, %two : f32
    %3 = math.erf %2 : f32
    %4 = arith.addf %3, %cst : f32
    %5 = arith.mulf %4, %half : f32
    %6 = arith.mulf %in, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<4x8xf32>
  %c = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.fpowi %in, %c3_i64 : f32, i64
    %1 = arith.mulf %0, %wrong_alpha : f32
    %2 = arith.addf %in, %1 : f32
    %3 = arith.mulf %beta, %2 : f32
    %4 = math.tanh %3 : f32
    %5 = arith.addf %cst, %4 : f32
    %6 = arith.mulf %half, %5 : f32
    %7 = arith.mulf %in, %6 : f32
    linalg.yield %7 : f32
  } -> tensor<4x8xf32>
  %d = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.fpowi %in, %c2_i64 : f32, i64
    %1 = arith.mulf %0, %alpha : f32
    %2 = arith.addf %in, %1 : f32
    %3 = arith.mulf %beta, %2 : f32
    %4 = math.tanh %3 : f32
    %5 = arith.addf %cst, %4 : f32
    %6 = arith.mulf %half, %5 : f32
    %7 = arith.mulf %in, %6 : f32
    linalg.yield %7 : f32
  } -> tensor<4x8xf32>
  return %a, %b, %c, %d : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// SiLU look-alikes: sigmoid(x) * y for another y; sigmoid(2x) * x.
#map = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @silu_lookalikes
// CHECK-NOT: hqdm.
// CHECK: return
func.func @silu_lookalikes(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %cst = arith.constant 1.000000e+00 : f32
  %two = arith.constant 2.000000e+00 : f32
  %e = tensor.empty() : tensor<2x8xf32>
  %s = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %3 = arith.negf %in : f32
    %4 = math.exp %3 : f32
    %5 = arith.addf %4, %cst : f32
    %6 = arith.divf %cst, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<2x8xf32>
  %a = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel"]} ins(%s, %y : tensor<2x8xf32>, tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %3 = arith.mulf %in, %in_0 : f32
    linalg.yield %3 : f32
  } -> tensor<2x8xf32>
  %b = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %2 = arith.mulf %in, %two : f32
    %3 = arith.negf %2 : f32
    %4 = math.exp %3 : f32
    %5 = arith.addf %4, %cst : f32
    %6 = arith.divf %in, %5 : f32
    linalg.yield %6 : f32
  } -> tensor<2x8xf32>
  return %a, %b : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// A layer-norm chain whose reductions run over dim 0 instead of the last
// dim (every generic consistent with that): a normalization over the
// columns, not a LayerNorm.
#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @layer_norm_wrong_dim
// CHECK-NOT: hqdm.
// CHECK: return
func.func @layer_norm_wrong_dim(%x: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %n = arith.constant 8.000000e+00 : f32
  %eps = arith.constant 1.000000e-05 : f32
  %re = tensor.empty() : tensor<1x32xf32>
  %r = linalg.fill ins(%zero : f32) outs(%re : tensor<1x32xf32>) -> tensor<1x32xf32>
  %s = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]} ins(%x : tensor<8x32xf32>) outs(%r : tensor<1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<1x32xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<1x32xf32>) outs(%re : tensor<1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  } -> tensor<1x32xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  %d = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %m : tensor<8x32xf32>, tensor<1x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.subf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%d : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %ss = linalg.generic {indexing_maps = [#id, #col], iterator_types = ["reduction", "parallel"]} ins(%q : tensor<8x32xf32>) outs(%r : tensor<1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<1x32xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%ss : tensor<1x32xf32>) outs(%re : tensor<1x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    linalg.yield %2 : f32
  } -> tensor<1x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]} ins(%d, %rs : tensor<8x32xf32>, tensor<1x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// A layer-norm chain with the unbiased variance (/ (N - 1) = 31), and one
// whose mean reduction's accumulator starts at 1.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @layer_norm_lookalikes
// CHECK-NOT: hqdm.
// CHECK: return
func.func @layer_norm_lookalikes(%x: tensor<8x32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %one = arith.constant 1.000000e+00 : f32
  %n = arith.constant 3.200000e+01 : f32
  %n1 = arith.constant 3.100000e+01 : f32
  %eps = arith.constant 1.000000e-05 : f32
  %re = tensor.empty() : tensor<8x1xf32>
  %r = linalg.fill ins(%zero : f32) outs(%re : tensor<8x1xf32>) -> tensor<8x1xf32>
  %r1 = linalg.fill ins(%one : f32) outs(%re : tensor<8x1xf32>) -> tensor<8x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x32xf32>) outs(%r : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x32xf32>) outs(%r1 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<8x1xf32>) outs(%re : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %m1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s1 : tensor<8x1xf32>) outs(%re : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %e = tensor.empty() : tensor<8x32xf32>
  %d = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %m : tensor<8x32xf32>, tensor<8x1xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.subf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %d1 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %m1 : tensor<8x32xf32>, tensor<8x1xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.subf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%d : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %q1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%d1 : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%q : tensor<8x32xf32>) outs(%r : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %ss1 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%q1 : tensor<8x32xf32>) outs(%r : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%ss : tensor<8x1xf32>) outs(%re : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n1 : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    linalg.yield %2 : f32
  } -> tensor<8x1xf32>
  %rs1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%ss1 : tensor<8x1xf32>) outs(%re : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    %1 = arith.addf %0, %eps : f32
    %2 = math.rsqrt %1 : f32
    linalg.yield %2 : f32
  } -> tensor<8x1xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%d, %rs : tensor<8x32xf32>, tensor<8x1xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %y1 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%d1, %rs1 : tensor<8x32xf32>, tensor<8x1xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  return %y, %y1 : tensor<8x32xf32>, tensor<8x32xf32>
}

// -----

// Softmax look-alikes: the max reduction starts at 0 instead of -inf (a
// different result for all-negative rows); the sum runs over another
// tensor than the exponentials divided.
#map = affine_map<(d0, d1) -> (d0, d1)>
#map2 = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @softmax_lookalikes
// CHECK-NOT: hqdm.
// CHECK: return
func.func @softmax_lookalikes(%x: tensor<4x8xf32>, %other: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.000000e+00 : f32
  %5 = tensor.empty() : tensor<4x8xf32>
  %9 = tensor.empty() : tensor<4x1xf32>
  %mi = linalg.fill ins(%zero : f32) outs(%9 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %mi2 = linalg.fill ins(%ninf : f32) outs(%9 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %si = linalg.fill ins(%zero : f32) outs(%9 : tensor<4x1xf32>) -> tensor<4x1xf32>
  %m = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%mi : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = arith.maximumf %in, %out : f32
    linalg.yield %12 : f32
  } -> tensor<4x1xf32>
  %m2 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%mi2 : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = arith.maximumf %in, %out : f32
    linalg.yield %12 : f32
  } -> tensor<4x1xf32>
  %7 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%x, %m : tensor<4x8xf32>, tensor<4x1xf32>) outs(%5 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = arith.subf %in, %in_0 : f32
    %13 = math.exp %12 : f32
    linalg.yield %13 : f32
  } -> tensor<4x8xf32>
  %72 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%x, %m2 : tensor<4x8xf32>, tensor<4x1xf32>) outs(%5 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = arith.subf %in, %in_0 : f32
    %13 = math.exp %12 : f32
    linalg.yield %13 : f32
  } -> tensor<4x8xf32>
  %10 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%7 : tensor<4x8xf32>) outs(%si : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = arith.addf %in, %out : f32
    linalg.yield %12 : f32
  } -> tensor<4x1xf32>
  %102 = linalg.generic {indexing_maps = [#map, #map2], iterator_types = ["parallel", "reduction"]} ins(%other : tensor<4x8xf32>) outs(%si : tensor<4x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %12 = arith.addf %in, %out : f32
    linalg.yield %12 : f32
  } -> tensor<4x1xf32>
  %11 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%7, %10 : tensor<4x8xf32>, tensor<4x1xf32>) outs(%5 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = arith.divf %in, %in_0 : f32
    linalg.yield %12 : f32
  } -> tensor<4x8xf32>
  %112 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel"]} ins(%72, %102 : tensor<4x8xf32>, tensor<4x1xf32>) outs(%5 : tensor<4x8xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %12 = arith.divf %in, %in_0 : f32
    linalg.yield %12 : f32
  } -> tensor<4x8xf32>
  return %11, %112 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Modulate look-alikes: the shift per channel only (not per sample), and
// x * (1 + 2 * scale) + shift.
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bd = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
#d = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @modulate_lookalikes
// CHECK-NOT: hqdm.
// CHECK: return
func.func @modulate_lookalikes(%x: tensor<2x16x64xf32>, %su: tensor<2x1x64xf32>, %hu: tensor<2x1x64xf32>, %hc: tensor<64xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>) {
  %one = arith.constant 1.000000e+00 : f32
  %two = arith.constant 2.000000e+00 : f32
  %e = tensor.empty() : tensor<2x16x64xf32>
  %a = linalg.generic {indexing_maps = [#id, #bd, #d, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %su, %hc : tensor<2x16x64xf32>, tensor<2x1x64xf32>, tensor<64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %s: f32, %h: f32, %out: f32):
    %0 = arith.addf %s, %one : f32
    %1 = arith.mulf %in, %0 : f32
    %2 = arith.addf %1, %h : f32
    linalg.yield %2 : f32
  } -> tensor<2x16x64xf32>
  %b = linalg.generic {indexing_maps = [#id, #bd, #bd, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %su, %hu : tensor<2x16x64xf32>, tensor<2x1x64xf32>, tensor<2x1x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %s: f32, %h: f32, %out: f32):
    %s2 = arith.mulf %s, %two : f32
    %0 = arith.addf %s2, %one : f32
    %1 = arith.mulf %in, %0 : f32
    %2 = arith.addf %1, %h : f32
    linalg.yield %2 : f32
  } -> tensor<2x16x64xf32>
  return %a, %b : tensor<2x16x64xf32>, tensor<2x16x64xf32>
}

// -----

// Attention's Q * K^T is a batch_matmul of two activations: nothing to
// raise, nothing to report.
// CHECK-LABEL: func.func @attention_scores
// CHECK-NOT: hqdm.
// REMARK-NOT: batch_matmul
func.func @attention_scores(%q: tensor<2x12x64xf32>, %k: tensor<2x64x12xf32>) -> tensor<2x12x12xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %i = tensor.empty() : tensor<2x12x12xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<2x12x12xf32>) -> tensor<2x12x12xf32>
  %s = linalg.batch_matmul ins(%q, %k : tensor<2x12x64xf32>, tensor<2x64x12xf32>) outs(%f : tensor<2x12x12xf32>) -> tensor<2x12x12xf32>
  return %s : tensor<2x12x12xf32>
}

// -----

// torch.arange as torch-mlir lowers it (DiT's timestep frequencies): a
// generic with no input whose body reads linalg.index. No layer, and no
// crash (the body matchers once read the operand of the operand-less
// linalg.index).
// CHECK-LABEL: func.func @arange
// CHECK-NOT: hqdm.
// CHECK: linalg.index
func.func @arange() -> tensor<128xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<128xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%e : tensor<128xf32>) {
  ^bb0(%out: f32):
    %i = linalg.index 0 : index
    %c = arith.index_cast %i : index to i64
    %f = arith.sitofp %c : i64 to f32
    %s = arith.addf %f, %zero : f32
    linalg.yield %s : f32
  } -> tensor<128xf32>
  return %r : tensor<128xf32>
}
