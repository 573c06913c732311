// RUN: hqdm-opt %s -split-input-file -hqdm-raise | FileCheck %s

// LayerNorm with affine as torch-mlir's DecomposeAtenNativeLayerNormOp
// writes it (the reference's description, copied from buddy-mlir's
// bert-tiny, lines 144-209 of the external file): sum, /N, broadcast copy,
// sub, square, sum, /N, + truncf(f64 eps), rsqrt, broadcast copy, mul,
// mul gamma, add beta; unit batch dims indexed by the constant 0.

#map6 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map7 = affine_map<(d0, d1, d2) -> (0, d1, d2)>
#map8 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#map9 = affine_map<(d0, d1, d2) -> (0, d1, 0)>
#map10 = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func.func @layer_norm_bert
// CHECK-SAME: (%[[X:.*]]: tensor<1x12x128xf32>, %[[G:.*]]: tensor<128xf32>, %[[B:.*]]: tensor<128xf32>)
func.func @layer_norm_bert(%12: tensor<1x12x128xf32>, %cst_36: tensor<128xf32>, %cst_37: tensor<128xf32>) -> tensor<1x12x128xf32> {
  %cst_45 = arith.constant 0.000000e+00 : f32
  %cst_49 = arith.constant 9.9999999999999998E-13 : f64
  %cst_50 = arith.constant 1.280000e+02 : f32
  %7 = tensor.empty() : tensor<1x12x128xf32>
  %13 = tensor.empty() : tensor<1x12x1xf32>
  %14 = linalg.fill ins(%cst_45 : f32) outs(%13 : tensor<1x12x1xf32>) -> tensor<1x12x1xf32>
  %15 = linalg.generic {indexing_maps = [#map6, #map8], iterator_types = ["parallel", "parallel", "reduction"]} ins(%12 : tensor<1x12x128xf32>) outs(%14 : tensor<1x12x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = arith.addf %in, %out : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x1xf32>
  %16 = linalg.generic {indexing_maps = [#map9, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15 : tensor<1x12x1xf32>) outs(%13 : tensor<1x12x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = arith.divf %in, %cst_50 : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x1xf32>
  %17 = linalg.generic {indexing_maps = [#map9, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%16 : tensor<1x12x1xf32>) outs(%7 : tensor<1x12x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x12x128xf32>
  %18 = linalg.generic {indexing_maps = [#map7, #map7, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%12, %17 : tensor<1x12x128xf32>, tensor<1x12x128xf32>) outs(%7 : tensor<1x12x128xf32>) {
  ^bb0(%in: f32, %in_73: f32, %out: f32):
    %212 = arith.subf %in, %in_73 : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x128xf32>
  %19 = linalg.generic {indexing_maps = [#map7, #map7, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %18 : tensor<1x12x128xf32>, tensor<1x12x128xf32>) outs(%7 : tensor<1x12x128xf32>) {
  ^bb0(%in: f32, %in_73: f32, %out: f32):
    %212 = arith.mulf %in, %in_73 : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x128xf32>
  %20 = linalg.generic {indexing_maps = [#map6, #map8], iterator_types = ["parallel", "parallel", "reduction"]} ins(%19 : tensor<1x12x128xf32>) outs(%14 : tensor<1x12x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = arith.addf %in, %out : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x1xf32>
  %21 = linalg.generic {indexing_maps = [#map9, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%20 : tensor<1x12x1xf32>) outs(%13 : tensor<1x12x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = arith.divf %in, %cst_50 : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x1xf32>
  %22 = linalg.generic {indexing_maps = [#map9, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%21 : tensor<1x12x1xf32>) outs(%13 : tensor<1x12x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = arith.truncf %cst_49 : f64 to f32
    %213 = arith.addf %in, %212 : f32
    linalg.yield %213 : f32
  } -> tensor<1x12x1xf32>
  %23 = linalg.generic {indexing_maps = [#map9, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%22 : tensor<1x12x1xf32>) outs(%13 : tensor<1x12x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %212 = math.rsqrt %in : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x1xf32>
  %24 = linalg.generic {indexing_maps = [#map9, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%23 : tensor<1x12x1xf32>) outs(%7 : tensor<1x12x128xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x12x128xf32>
  %25 = linalg.generic {indexing_maps = [#map7, #map7, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %24 : tensor<1x12x128xf32>, tensor<1x12x128xf32>) outs(%7 : tensor<1x12x128xf32>) {
  ^bb0(%in: f32, %in_73: f32, %out: f32):
    %212 = arith.mulf %in, %in_73 : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x128xf32>
  %26 = linalg.generic {indexing_maps = [#map7, #map10, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%25, %cst_36 : tensor<1x12x128xf32>, tensor<128xf32>) outs(%7 : tensor<1x12x128xf32>) {
  ^bb0(%in: f32, %in_73: f32, %out: f32):
    %212 = arith.mulf %in, %in_73 : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x128xf32>
  %27 = linalg.generic {indexing_maps = [#map7, #map10, #map6], iterator_types = ["parallel", "parallel", "parallel"]} ins(%26, %cst_37 : tensor<1x12x128xf32>, tensor<128xf32>) outs(%7 : tensor<1x12x128xf32>) {
  ^bb0(%in: f32, %in_73: f32, %out: f32):
    %212 = arith.addf %in, %in_73 : f32
    linalg.yield %212 : f32
  } -> tensor<1x12x128xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.layer_norm %[[X]] weight(%[[G]]) bias(%[[B]]) {epsilon = 9.99999996E-13 : f32, name = "layer_norm_0"} : (tensor<1x12x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<1x12x128xf32>
  // CHECK-NEXT: return %[[Y]]
  return %27 : tensor<1x12x128xf32>
}

// -----

// LayerNorm(D, elementwise_affine=False, eps=1e-6) through torch's
// native_layer_norm decomposition. Written from reasoning, not from printed
// IR (for LayerNorm current torch-mlir emits the f32 form of
// @layer_norm_torch; it emits this variance form for GroupNorm):
// _normalize computes var_mean(x) with keepdim, rsqrt(var + eps),
// (x - mean) * rstd; torch-mlir decomposes var_mean into var
// (calculateVariance: x upcast to f64, mean, x - mean, square as x * x,
// mean, truncf back to f32) and mean (sum / N); every aten op is one
// generic with the current elementwise maps ((d0, d1, 0) for the kept dim).

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
// CHECK-LABEL: func.func @layer_norm_fx
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>)
func.func @layer_norm_fx(%x: tensor<2x16x64xf32>) -> tensor<2x16x64xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %zero64 = arith.constant 0.000000e+00 : f64
  %n = arith.constant 6.400000e+01 : f32
  %n64 = arith.constant 6.400000e+01 : f64
  %eps = arith.constant 9.9999999999999995E-7 : f64
  %e64 = tensor.empty() : tensor<2x16x64xf64>
  %x64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x : tensor<2x16x64xf32>) outs(%e64 : tensor<2x16x64xf64>) {
  ^bb0(%in: f32, %out: f64):
    %0 = arith.extf %in : f32 to f64
    linalg.yield %0 : f64
  } -> tensor<2x16x64xf64>
  %r64e = tensor.empty() : tensor<2x16x1xf64>
  %r64 = linalg.fill ins(%zero64 : f64) outs(%r64e : tensor<2x16x1xf64>) -> tensor<2x16x1xf64>
  %s64 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x64 : tensor<2x16x64xf64>) outs(%r64 : tensor<2x16x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.addf %in, %out : f64
    linalg.yield %0 : f64
  } -> tensor<2x16x1xf64>
  %m64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s64 : tensor<2x16x1xf64>) outs(%r64e : tensor<2x16x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.divf %in, %n64 : f64
    linalg.yield %0 : f64
  } -> tensor<2x16x1xf64>
  %d64 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x64, %m64 : tensor<2x16x64xf64>, tensor<2x16x1xf64>) outs(%e64 : tensor<2x16x64xf64>) {
  ^bb0(%in: f64, %in_0: f64, %out: f64):
    %0 = arith.subf %in, %in_0 : f64
    linalg.yield %0 : f64
  } -> tensor<2x16x64xf64>
  %q64 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%d64, %d64 : tensor<2x16x64xf64>, tensor<2x16x64xf64>) outs(%e64 : tensor<2x16x64xf64>) {
  ^bb0(%in: f64, %in_0: f64, %out: f64):
    %0 = arith.mulf %in, %in_0 : f64
    linalg.yield %0 : f64
  } -> tensor<2x16x64xf64>
  %ss64 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%q64 : tensor<2x16x64xf64>) outs(%r64 : tensor<2x16x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.addf %in, %out : f64
    linalg.yield %0 : f64
  } -> tensor<2x16x1xf64>
  %v64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ss64 : tensor<2x16x1xf64>) outs(%r64e : tensor<2x16x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.divf %in, %n64 : f64
    linalg.yield %0 : f64
  } -> tensor<2x16x1xf64>
  %re = tensor.empty() : tensor<2x16x1xf32>
  %v = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%v64 : tensor<2x16x1xf64>) outs(%re : tensor<2x16x1xf32>) {
  ^bb0(%in: f64, %out: f32):
    %0 = arith.truncf %in : f64 to f32
    linalg.yield %0 : f32
  } -> tensor<2x16x1xf32>
  %r = linalg.fill ins(%zero : f32) outs(%re : tensor<2x16x1xf32>) -> tensor<2x16x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x : tensor<2x16x64xf32>) outs(%r : tensor<2x16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x16x1xf32>) outs(%re : tensor<2x16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x1xf32>
  %ve = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%v : tensor<2x16x1xf32>) outs(%re : tensor<2x16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %eps : f64 to f32
    %1 = arith.addf %in, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x16x1xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ve : tensor<2x16x1xf32>) outs(%re : tensor<2x16x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.rsqrt %in : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x1xf32>
  %e = tensor.empty() : tensor<2x16x64xf32>
  %d = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %m : tensor<2x16x64xf32>, tensor<2x16x1xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.subf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%d, %rs : tensor<2x16x64xf32>, tensor<2x16x1xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.layer_norm %[[X]] {epsilon = 9.99999997E-7 : f32, name = "layer_norm_0"} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<2x16x64xf32>
}

// -----

// The reference's 2-D form: keepdim maps (d0, 0), eps added in the rsqrt
// generic, the mean read per row directly; affine in the FX order
// (out * weight + bias) with only a bias.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
#vec = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @layer_norm_2d_bias
// CHECK-SAME: (%[[X:.*]]: tensor<8x32xf32>, %[[B:.*]]: tensor<32xf32>)
func.func @layer_norm_2d_bias(%x: tensor<8x32xf32>, %beta: tensor<32xf32>) -> tensor<8x32xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %n = arith.constant 3.200000e+01 : f32
  %eps = arith.constant 1.000000e-05 : f32
  %re = tensor.empty() : tensor<8x1xf32>
  %r = linalg.fill ins(%zero : f32) outs(%re : tensor<8x1xf32>) -> tensor<8x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<8x32xf32>) outs(%r : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<8x1xf32>) outs(%re : tensor<8x1xf32>) {
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
  %q = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%d : tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %ss = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%q : tensor<8x32xf32>) outs(%r : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %v = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%ss : tensor<8x1xf32>) outs(%re : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  } -> tensor<8x1xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%v : tensor<8x1xf32>) outs(%re : tensor<8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %eps : f32
    %1 = math.rsqrt %0 : f32
    linalg.yield %1 : f32
  } -> tensor<8x1xf32>
  %n1 = linalg.generic {indexing_maps = [#row, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%rs, %d : tensor<8x1xf32>, tensor<8x32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  %y = linalg.generic {indexing_maps = [#id, #vec, #id], iterator_types = ["parallel", "parallel"]} ins(%n1, %beta : tensor<8x32xf32>, tensor<32xf32>) outs(%e : tensor<8x32xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<8x32xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.layer_norm %[[X]] bias(%[[B]]) {name = "layer_norm_0"} : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<8x32xf32>
}

// -----

// GroupNorm(2 groups, 8 channels, eps 1e-5) with affine in the older
// torch decomposition. Written from reasoning: that native_group_norm
// decomposition reshapes x [N, C, H, W] to [N, G, C/G, H*W] (collapse +
// expand), runs _normalize over dims [2, 3] (var_mean: the f64 variance as
// in @layer_norm_fx, the f32 mean), views the result back and multiplies /
// adds the weight and bias unsqueezed to [1, C, 1, 1].

#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#row = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>
#chan = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, 0)>
// CHECK-LABEL: func.func @group_norm_fx
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x4x4xf32>, %[[W:.*]]: tensor<8xf32>, %[[B:.*]]: tensor<8xf32>)
func.func @group_norm_fx(%x: tensor<2x8x4x4xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8x4x4xf32> {
  %zero = arith.constant 0.000000e+00 : f32
  %zero64 = arith.constant 0.000000e+00 : f64
  %n = arith.constant 6.400000e+01 : f32
  %n64 = arith.constant 6.400000e+01 : f64
  %eps = arith.constant 1.0000000000000001E-5 : f64
  %c = tensor.collapse_shape %x [[0], [1], [2, 3]] : tensor<2x8x4x4xf32> into tensor<2x8x16xf32>
  %g = tensor.expand_shape %c [[0], [1, 2], [3]] output_shape [2, 2, 4, 16] : tensor<2x8x16xf32> into tensor<2x2x4x16xf32>
  %e64 = tensor.empty() : tensor<2x2x4x16xf64>
  %x64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%g : tensor<2x2x4x16xf32>) outs(%e64 : tensor<2x2x4x16xf64>) {
  ^bb0(%in: f32, %out: f64):
    %0 = arith.extf %in : f32 to f64
    linalg.yield %0 : f64
  } -> tensor<2x2x4x16xf64>
  %r64e = tensor.empty() : tensor<2x2x1x1xf64>
  %r64 = linalg.fill ins(%zero64 : f64) outs(%r64e : tensor<2x2x1x1xf64>) -> tensor<2x2x1x1xf64>
  %s64 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%x64 : tensor<2x2x4x16xf64>) outs(%r64 : tensor<2x2x1x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.addf %in, %out : f64
    linalg.yield %0 : f64
  } -> tensor<2x2x1x1xf64>
  %m64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s64 : tensor<2x2x1x1xf64>) outs(%r64e : tensor<2x2x1x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.divf %in, %n64 : f64
    linalg.yield %0 : f64
  } -> tensor<2x2x1x1xf64>
  %d64 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%x64, %m64 : tensor<2x2x4x16xf64>, tensor<2x2x1x1xf64>) outs(%e64 : tensor<2x2x4x16xf64>) {
  ^bb0(%in: f64, %in_0: f64, %out: f64):
    %0 = arith.subf %in, %in_0 : f64
    linalg.yield %0 : f64
  } -> tensor<2x2x4x16xf64>
  %q64 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%d64, %d64 : tensor<2x2x4x16xf64>, tensor<2x2x4x16xf64>) outs(%e64 : tensor<2x2x4x16xf64>) {
  ^bb0(%in: f64, %in_0: f64, %out: f64):
    %0 = arith.mulf %in, %in_0 : f64
    linalg.yield %0 : f64
  } -> tensor<2x2x4x16xf64>
  %ss64 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%q64 : tensor<2x2x4x16xf64>) outs(%r64 : tensor<2x2x1x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.addf %in, %out : f64
    linalg.yield %0 : f64
  } -> tensor<2x2x1x1xf64>
  %v64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%ss64 : tensor<2x2x1x1xf64>) outs(%r64e : tensor<2x2x1x1xf64>) {
  ^bb0(%in: f64, %out: f64):
    %0 = arith.divf %in, %n64 : f64
    linalg.yield %0 : f64
  } -> tensor<2x2x1x1xf64>
  %re = tensor.empty() : tensor<2x2x1x1xf32>
  %v = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v64 : tensor<2x2x1x1xf64>) outs(%re : tensor<2x2x1x1xf32>) {
  ^bb0(%in: f64, %out: f32):
    %0 = arith.truncf %in : f64 to f32
    linalg.yield %0 : f32
  } -> tensor<2x2x1x1xf32>
  %r = linalg.fill ins(%zero : f32) outs(%re : tensor<2x2x1x1xf32>) -> tensor<2x2x1x1xf32>
  %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%g : tensor<2x2x4x16xf32>) outs(%r : tensor<2x2x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x2x1x1xf32>
  %m = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s : tensor<2x2x1x1xf32>) outs(%re : tensor<2x2x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.divf %in, %n : f32
    linalg.yield %0 : f32
  } -> tensor<2x2x1x1xf32>
  %rs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%v : tensor<2x2x1x1xf32>) outs(%re : tensor<2x2x1x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.truncf %eps : f64 to f32
    %1 = arith.addf %in, %0 : f32
    %2 = math.rsqrt %1 : f32
    linalg.yield %2 : f32
  } -> tensor<2x2x1x1xf32>
  %e = tensor.empty() : tensor<2x2x4x16xf32>
  %d = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%g, %m : tensor<2x2x4x16xf32>, tensor<2x2x1x1xf32>) outs(%e : tensor<2x2x4x16xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.subf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x2x4x16xf32>
  %o = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%d, %rs : tensor<2x2x4x16xf32>, tensor<2x2x1x1xf32>) outs(%e : tensor<2x2x4x16xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x2x4x16xf32>
  %oc = tensor.collapse_shape %o [[0], [1, 2], [3]] : tensor<2x2x4x16xf32> into tensor<2x8x16xf32>
  %y0 = tensor.expand_shape %oc [[0], [1], [2, 3]] output_shape [2, 8, 4, 4] : tensor<2x8x16xf32> into tensor<2x8x4x4xf32>
  %wu = tensor.expand_shape %w [[0, 1, 2, 3]] output_shape [1, 8, 1, 1] : tensor<8xf32> into tensor<1x8x1x1xf32>
  %bu = tensor.expand_shape %b [[0, 1, 2, 3]] output_shape [1, 8, 1, 1] : tensor<8xf32> into tensor<1x8x1x1xf32>
  %ey = tensor.empty() : tensor<2x8x4x4xf32>
  %y1 = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2, d3) -> (0, d1, 0, 0)>, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%y0, %wu : tensor<2x8x4x4xf32>, tensor<1x8x1x1xf32>) outs(%ey : tensor<2x8x4x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x8x4x4xf32>
  %y2 = linalg.generic {indexing_maps = [#id, affine_map<(d0, d1, d2, d3) -> (0, d1, 0, 0)>, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%y1, %bu : tensor<2x8x4x4xf32>, tensor<1x8x1x1xf32>) outs(%ey : tensor<2x8x4x4xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x8x4x4xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.group_norm %[[X]] weight(%[[W]]) bias(%[[B]]) {groups = 2 : i64, name = "group_norm_0"} : (tensor<2x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8x4x4xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y2 : tensor<2x8x4x4xf32>
}

// -----

// GroupNorm(8, 32, eps=1e-5, affine) exactly as current torch-mlir emits it
// (test/Models/torch-mlir-forms.md section 9, from unet_resblock.mlir):
// x [B, C, H, W] collapsed and expanded to [B, G, C/G*H*W], normalized over
// the last dim (mean in f32, variance in f64), reshaped back; gamma and beta
// expanded to [C, 1, 1] and read through (d1, 0, 0).

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map1 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d1, 0, 0)>
// CHECK-LABEL: func.func @group_norm_torch
// CHECK-SAME: (%[[X:.*]]: tensor<2x32x8x8xf32>, %[[W:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
func.func @group_norm_torch(%arg0: tensor<2x32x8x8xf32>, %cst_10: tensor<32xf32>, %cst_11: tensor<32xf32>) -> tensor<2x32x8x8xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %cst_0 = arith.constant 0.000000e+00 : f64
    %cst_12 = arith.constant 1.000000e-05 : f64
    %cst_13 = arith.constant 2.560000e+02 : f32
    %cst_14 = arith.constant 2.560000e+02 : f64
    %collapsed = tensor.collapse_shape %arg0 [[0], [1, 2, 3]] : tensor<2x32x8x8xf32> into tensor<2x2048xf32>
    %expanded = tensor.expand_shape %collapsed [[0], [1, 2]] output_shape [2, 8, 256] : tensor<2x2048xf32> into tensor<2x8x256xf32>
    %0 = tensor.empty() : tensor<2x8x1xf32>
    %1 = linalg.fill ins(%cst : f32) outs(%0 : tensor<2x8x1xf32>) -> tensor<2x8x1xf32>
    %2 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%expanded : tensor<2x8x256xf32>) outs(%1 : tensor<2x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %55 = arith.addf %in, %out : f32
      linalg.yield %55 : f32
    } -> tensor<2x8x1xf32>
    %3 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%2 : tensor<2x8x1xf32>) outs(%0 : tensor<2x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %55 = arith.divf %in, %cst_13 : f32
      linalg.yield %55 : f32
    } -> tensor<2x8x1xf32>
    %4 = tensor.empty() : tensor<2x8x256xf64>
    %5 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded : tensor<2x8x256xf32>) outs(%4 : tensor<2x8x256xf64>) {
    ^bb0(%in: f32, %out: f64):
      %55 = arith.extf %in : f32 to f64
      linalg.yield %55 : f64
    } -> tensor<2x8x256xf64>
    %6 = tensor.empty() : tensor<2x8x1xf64>
    %7 = linalg.fill ins(%cst_0 : f64) outs(%6 : tensor<2x8x1xf64>) -> tensor<2x8x1xf64>
    %8 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%5 : tensor<2x8x256xf64>) outs(%7 : tensor<2x8x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %55 = arith.addf %in, %out : f64
      linalg.yield %55 : f64
    } -> tensor<2x8x1xf64>
    %9 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%8 : tensor<2x8x1xf64>) outs(%6 : tensor<2x8x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %55 = arith.divf %in, %cst_14 : f64
      linalg.yield %55 : f64
    } -> tensor<2x8x1xf64>
    %10 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%5, %9 : tensor<2x8x256xf64>, tensor<2x8x1xf64>) outs(%4 : tensor<2x8x256xf64>) {
    ^bb0(%in: f64, %in_28: f64, %out: f64):
      %55 = arith.subf %in, %in_28 : f64
      linalg.yield %55 : f64
    } -> tensor<2x8x256xf64>
    %11 = linalg.generic {indexing_maps = [#map, #map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%10, %10 : tensor<2x8x256xf64>, tensor<2x8x256xf64>) outs(%4 : tensor<2x8x256xf64>) {
    ^bb0(%in: f64, %in_28: f64, %out: f64):
      %55 = arith.mulf %in, %in_28 : f64
      linalg.yield %55 : f64
    } -> tensor<2x8x256xf64>
    %12 = linalg.generic {indexing_maps = [#map, #map1], iterator_types = ["parallel", "parallel", "reduction"]} ins(%11 : tensor<2x8x256xf64>) outs(%7 : tensor<2x8x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %55 = arith.addf %in, %out : f64
      linalg.yield %55 : f64
    } -> tensor<2x8x1xf64>
    %13 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%12 : tensor<2x8x1xf64>) outs(%6 : tensor<2x8x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %55 = arith.divf %in, %cst_14 : f64
      linalg.yield %55 : f64
    } -> tensor<2x8x1xf64>
    %14 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%13 : tensor<2x8x1xf64>) outs(%0 : tensor<2x8x1xf32>) {
    ^bb0(%in: f64, %out: f32):
      %55 = arith.truncf %in : f64 to f32
      linalg.yield %55 : f32
    } -> tensor<2x8x1xf32>
    %15 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14 : tensor<2x8x1xf32>) outs(%0 : tensor<2x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %55 = arith.truncf %cst_12 : f64 to f32
      %56 = arith.addf %in, %55 : f32
      linalg.yield %56 : f32
    } -> tensor<2x8x1xf32>
    %16 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%15 : tensor<2x8x1xf32>) outs(%0 : tensor<2x8x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %55 = math.rsqrt %in : f32
      linalg.yield %55 : f32
    } -> tensor<2x8x1xf32>
    %17 = tensor.empty() : tensor<2x8x256xf32>
    %18 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%expanded, %3 : tensor<2x8x256xf32>, tensor<2x8x1xf32>) outs(%17 : tensor<2x8x256xf32>) {
    ^bb0(%in: f32, %in_28: f32, %out: f32):
      %55 = arith.subf %in, %in_28 : f32
      linalg.yield %55 : f32
    } -> tensor<2x8x256xf32>
    %19 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18, %16 : tensor<2x8x256xf32>, tensor<2x8x1xf32>) outs(%17 : tensor<2x8x256xf32>) {
    ^bb0(%in: f32, %in_28: f32, %out: f32):
      %55 = arith.mulf %in, %in_28 : f32
      linalg.yield %55 : f32
    } -> tensor<2x8x256xf32>
    %collapsed_15 = tensor.collapse_shape %19 [[0], [1, 2]] : tensor<2x8x256xf32> into tensor<2x2048xf32>
    %expanded_16 = tensor.expand_shape %collapsed_15 [[0], [1, 2, 3]] output_shape [2, 32, 8, 8] : tensor<2x2048xf32> into tensor<2x32x8x8xf32>
    %expanded_17 = tensor.expand_shape %cst_10 [[0, 1, 2]] output_shape [32, 1, 1] : tensor<32xf32> into tensor<32x1x1xf32>
    %20 = tensor.empty() : tensor<2x32x8x8xf32>
    %21 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_16, %expanded_17 : tensor<2x32x8x8xf32>, tensor<32x1x1xf32>) outs(%20 : tensor<2x32x8x8xf32>) {
    ^bb0(%in: f32, %in_28: f32, %out: f32):
      %55 = arith.mulf %in, %in_28 : f32
      linalg.yield %55 : f32
    } -> tensor<2x32x8x8xf32>
    %expanded_18 = tensor.expand_shape %cst_11 [[0, 1, 2]] output_shape [32, 1, 1] : tensor<32xf32> into tensor<32x1x1xf32>
    %22 = linalg.generic {indexing_maps = [#map2, #map3, #map2], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%21, %expanded_18 : tensor<2x32x8x8xf32>, tensor<32x1x1xf32>) outs(%20 : tensor<2x32x8x8xf32>) {
    ^bb0(%in: f32, %in_28: f32, %out: f32):
      %55 = arith.addf %in, %in_28 : f32
      linalg.yield %55 : f32
    } -> tensor<2x32x8x8xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.group_norm %[[X]] weight(%[[W]]) bias(%[[B]]) {groups = 8 : i64, name = "group_norm_0"} : (tensor<2x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<2x32x8x8xf32>
  // CHECK-NEXT: return %[[Y]]
  return %22 : tensor<2x32x8x8xf32>
}

// -----

// DiT's LayerNorm(64, elementwise_affine=False, eps=1e-6) exactly as current
// torch-mlir emits it (test/Models/torch-mlir-forms.md section 4, from
// dit_block.mlir): the variance in f32 on the shared centred value, the
// row statistics broadcast by collapse_shape + a copy generic (d0, d1).

#map2 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#map4 = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @layer_norm_torch
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>)
func.func @layer_norm_torch(%arg0: tensor<2x16x64xf32>) -> tensor<2x16x64xf32> {
    %cst_0 = arith.constant 0.000000e+00 : f32
    %cst_14 = arith.constant 9.9999999999999995E-7 : f64
    %cst_17 = arith.constant 6.400000e+01 : f32
    %8 = tensor.empty() : tensor<2x16x1xf32>
    %9 = linalg.fill ins(%cst_0 : f32) outs(%8 : tensor<2x16x1xf32>) -> tensor<2x16x1xf32>
    %10 = linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0 : tensor<2x16x64xf32>) outs(%9 : tensor<2x16x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %93 = arith.addf %in, %out : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x1xf32>
    %11 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%10 : tensor<2x16x1xf32>) outs(%8 : tensor<2x16x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %93 = arith.divf %in, %cst_17 : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x1xf32>
    %12 = tensor.empty() : tensor<2x16x64xf32>
    %collapsed = tensor.collapse_shape %11 [[0], [1, 2]] : tensor<2x16x1xf32> into tensor<2x16xf32>
    %13 = linalg.generic {indexing_maps = [#map4, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%collapsed : tensor<2x16xf32>) outs(%12 : tensor<2x16x64xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x16x64xf32>
    %14 = linalg.generic {indexing_maps = [#map2, #map2, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %13 : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%12 : tensor<2x16x64xf32>) {
    ^bb0(%in: f32, %in_52: f32, %out: f32):
      %93 = arith.subf %in, %in_52 : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x64xf32>
    %15 = linalg.generic {indexing_maps = [#map2, #map2, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14, %14 : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%12 : tensor<2x16x64xf32>) {
    ^bb0(%in: f32, %in_52: f32, %out: f32):
      %93 = arith.mulf %in, %in_52 : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x64xf32>
    %16 = linalg.generic {indexing_maps = [#map2, #map3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%15 : tensor<2x16x64xf32>) outs(%9 : tensor<2x16x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %93 = arith.addf %in, %out : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x1xf32>
    %17 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%16 : tensor<2x16x1xf32>) outs(%8 : tensor<2x16x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %93 = arith.divf %in, %cst_17 : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x1xf32>
    %18 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%17 : tensor<2x16x1xf32>) outs(%8 : tensor<2x16x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %93 = arith.truncf %cst_14 : f64 to f32
      %94 = arith.addf %in, %93 : f32
      linalg.yield %94 : f32
    } -> tensor<2x16x1xf32>
    %19 = linalg.generic {indexing_maps = [#map2, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%18 : tensor<2x16x1xf32>) outs(%8 : tensor<2x16x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %93 = math.rsqrt %in : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x1xf32>
    %collapsed_23 = tensor.collapse_shape %19 [[0], [1, 2]] : tensor<2x16x1xf32> into tensor<2x16xf32>
    %20 = linalg.generic {indexing_maps = [#map4, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%collapsed_23 : tensor<2x16xf32>) outs(%12 : tensor<2x16x64xf32>) {
    ^bb0(%in: f32, %out: f32):
      linalg.yield %in : f32
    } -> tensor<2x16x64xf32>
    %21 = linalg.generic {indexing_maps = [#map2, #map2, #map2], iterator_types = ["parallel", "parallel", "parallel"]} ins(%14, %20 : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%12 : tensor<2x16x64xf32>) {
    ^bb0(%in: f32, %in_52: f32, %out: f32):
      %93 = arith.mulf %in, %in_52 : f32
      linalg.yield %93 : f32
    } -> tensor<2x16x64xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.layer_norm %[[X]] {epsilon = 9.99999997E-7 : f32, name = "layer_norm_0"} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  // CHECK-NEXT: return %[[Y]]
  return %21 : tensor<2x16x64xf32>
}
