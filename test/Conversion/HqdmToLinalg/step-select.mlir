// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg | FileCheck %s

// A per-step table: the step is clamped into [0, T - 1] and its entry sliced.

// CHECK-LABEL: func @per_step
// CHECK-SAME: (%[[T:.*]]: tensor<50xf32>, %[[STEP:.*]]: i64)
// CHECK: %[[LO:.*]] = arith.maxsi %[[STEP]], %{{.*}} : i64
// CHECK: %[[HI:.*]] = arith.minsi %[[LO]], %{{.*}} : i64
// CHECK: %[[I:.*]] = arith.index_cast %[[HI]] : i64 to index
// CHECK: tensor.extract_slice %[[T]][%[[I]]] [1] [1] : tensor<50xf32> to tensor<f32>
func.func @per_step(%t: tensor<50xf32>, %step: i64) -> tensor<f32> {
  %s = hqdm.step_select %t[%step] : tensor<50xf32>, i64 -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// Groups: the entry is the last group whose start the step has reached.

// CHECK-LABEL: func @groups
// CHECK: %[[S:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: %[[GE1:.*]] = arith.cmpi sge, %[[S]], %{{.*}} : i64
// CHECK: %[[G1:.*]] = arith.select %[[GE1]]
// CHECK: %[[GE2:.*]] = arith.cmpi sge, %[[S]], %{{.*}} : i64
// CHECK: %[[G2:.*]] = arith.select %[[GE2]], %{{.*}}, %[[G1]]
// CHECK: tensor.extract_slice %{{.*}}[%{{.*}}, 0] [1, 16] [1, 1] : tensor<3x16xf32> to tensor<16xf32>
func.func @groups(%t: tensor<3x16xf32>, %step: index) -> tensor<16xf32> {
  %s = hqdm.step_select %t[%step] group_starts [0, 10, 30]
      : tensor<3x16xf32>, index -> tensor<16xf32>
  return %s : tensor<16xf32>
}

// -----

// Zero-point tables (i32) are sliced the same way.

// CHECK-LABEL: func @zero_points
// CHECK-SAME: (%[[T:.*]]: tensor<3x16xi32>, %{{.*}}: i32)
// CHECK: tensor.extract_slice %[[T]][%{{.*}}, 0] [1, 16] [1, 1] : tensor<3x16xi32> to tensor<16xi32>
func.func @zero_points(%t: tensor<3x16xi32>, %step: i32) -> tensor<16xi32> {
  %z = hqdm.step_select %t[%step] group_starts [0, 10, 30]
      : tensor<3x16xi32>, i32 -> tensor<16xi32>
  return %z : tensor<16xi32>
}
