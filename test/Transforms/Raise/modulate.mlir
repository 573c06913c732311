// RUN: hqdm-opt %s -split-input-file -hqdm-raise | FileCheck %s

// DiT's modulate(x, shift, scale) = x * (1 + scale.unsqueeze(1)) +
// shift.unsqueeze(1) in the form current torch-mlir emits
// (test/Models/torch-mlir-forms.md section 5): unsqueeze is a
// tensor.expand_shape, `1 + s` an elementwise add of a constant, the
// product and the sum elementwise generics whose [B, 1, D] operands are
// read through (d0, 0, d2). The other groupings below are written from
// reasoning.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bd = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-LABEL: func.func @modulate
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>, %[[SHIFT:.*]]: tensor<2x64xf32>, %[[SCALE:.*]]: tensor<2x64xf32>)
func.func @modulate(%x: tensor<2x16x64xf32>, %shift: tensor<2x64xf32>, %scale: tensor<2x64xf32>) -> tensor<2x16x64xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %su = tensor.expand_shape %scale [[0], [1, 2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %e1 = tensor.empty() : tensor<2x1x64xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%su : tensor<2x1x64xf32>) outs(%e1 : tensor<2x1x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %one : f32
    linalg.yield %0 : f32
  } -> tensor<2x1x64xf32>
  %e = tensor.empty() : tensor<2x16x64xf32>
  %xs = linalg.generic {indexing_maps = [#id, #bd, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %s1 : tensor<2x16x64xf32>, tensor<2x1x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  %hu = tensor.expand_shape %shift [[0], [1, 2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #bd, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%xs, %hu : tensor<2x16x64xf32>, tensor<2x1x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  // CHECK-NOT: linalg.
  // CHECK: %[[Y:.*]] = hqdm.modulate %[[X]], %[[SHIFT]], %[[SCALE]] {name = "modulate_0"} : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>) -> tensor<2x16x64xf32>
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<2x16x64xf32>
}

// -----

// `1 + scale` computed before the unsqueeze, the shift added first in the
// sum's operands.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bd = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-LABEL: func.func @modulate_add_first
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>, %[[SHIFT:.*]]: tensor<2x64xf32>, %[[SCALE:.*]]: tensor<2x64xf32>)
func.func @modulate_add_first(%x: tensor<2x16x64xf32>, %shift: tensor<2x64xf32>, %scale: tensor<2x64xf32>) -> tensor<2x16x64xf32> {
  %one = arith.constant 1.000000e+00 : f32
  %e2 = tensor.empty() : tensor<2x64xf32>
  %s1 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%scale : tensor<2x64xf32>) outs(%e2 : tensor<2x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %one, %in : f32
    linalg.yield %0 : f32
  } -> tensor<2x64xf32>
  %su = tensor.expand_shape %s1 [[0], [1, 2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %e = tensor.empty() : tensor<2x16x64xf32>
  %xs = linalg.generic {indexing_maps = [#bd, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%su, %x : tensor<2x1x64xf32>, tensor<2x16x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  %hu = tensor.expand_shape %shift [[0], [1, 2]] output_shape [2, 1, 64] : tensor<2x64xf32> into tensor<2x1x64xf32>
  %y = linalg.generic {indexing_maps = [#bd, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%hu, %xs : tensor<2x1x64xf32>, tensor<2x16x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  // CHECK: %[[Y:.*]] = hqdm.modulate %[[X]], %[[SHIFT]], %[[SCALE]] {name = "modulate_0"}
  // CHECK-NEXT: return %[[Y]]
  return %y : tensor<2x16x64xf32>
}

// -----

// Other groupings: (x + x * scale) + shift in three generics, and one
// fused generic computing x * (scale + 1) + shift; the [B, 1, D] operands
// come in as such and are collapsed to [B, D] for the layer.

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bd = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-LABEL: func.func @modulate_regrouped
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>, %[[SHIFT:.*]]: tensor<2x1x64xf32>, %[[SCALE:.*]]: tensor<2x1x64xf32>)
func.func @modulate_regrouped(%x: tensor<2x16x64xf32>, %hu: tensor<2x1x64xf32>, %su: tensor<2x1x64xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>) {
  %one = arith.constant 1.000000e+00 : f32
  %e = tensor.empty() : tensor<2x16x64xf32>
  %xs = linalg.generic {indexing_maps = [#id, #bd, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %su : tensor<2x16x64xf32>, tensor<2x1x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.mulf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  %x2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %xs : tensor<2x16x64xf32>, tensor<2x16x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  %y = linalg.generic {indexing_maps = [#id, #bd, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x2, %hu : tensor<2x16x64xf32>, tensor<2x1x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %in_0: f32, %out: f32):
    %0 = arith.addf %in, %in_0 : f32
    linalg.yield %0 : f32
  } -> tensor<2x16x64xf32>
  %z = linalg.generic {indexing_maps = [#id, #bd, #bd, #id], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %su, %hu : tensor<2x16x64xf32>, tensor<2x1x64xf32>, tensor<2x1x64xf32>) outs(%e : tensor<2x16x64xf32>) {
  ^bb0(%in: f32, %s: f32, %h: f32, %out: f32):
    %0 = arith.addf %s, %one : f32
    %1 = arith.mulf %in, %0 : f32
    %2 = arith.addf %1, %h : f32
    linalg.yield %2 : f32
  } -> tensor<2x16x64xf32>
  // CHECK-DAG: %[[S:.*]] = tensor.collapse_shape %[[SCALE]] {{\[}}[0], [1, 2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  // CHECK-DAG: %[[H:.*]] = tensor.collapse_shape %[[SHIFT]] {{\[}}[0], [1, 2]] : tensor<2x1x64xf32> into tensor<2x64xf32>
  // CHECK: %[[Y:.*]] = hqdm.modulate %[[X]], %[[H]], %[[S]] {name = "modulate_0"}
  // CHECK: %[[Z:.*]] = hqdm.modulate %[[X]], %{{.*}}, %{{.*}} {name = "modulate_1"}
  // CHECK-NOT: linalg.
  // CHECK: return %[[Y]], %[[Z]]
  return %y, %z : tensor<2x16x64xf32>, tensor<2x16x64xf32>
}
