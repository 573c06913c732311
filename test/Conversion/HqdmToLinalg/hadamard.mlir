// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg | FileCheck %s

// Block 48 = 12 x 4: the axis becomes [blocks, 12, 2, 2]; one dense 12 x 12
// product, two butterflies, then the 1/sqrt(48) scale.

// CHECK-LABEL: func @block_12x4
// CHECK-NOT: linalg.generic
// CHECK: %[[E:.*]] = tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2, 3, 4]] output_shape [2, 2, 12, 2, 2]
// CHECK: %[[H:.*]] = arith.constant dense<{{.*}}> : tensor<12x12xf32>
// CHECK: %[[K:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[E]], %[[H]] :
// CHECK: %[[B1:.*]] = linalg.generic {{.*}} ins(%[[K]], %[[K]] :
// CHECK:   linalg.index 3
// CHECK:   arith.addf
// CHECK:   arith.subf
// CHECK: %[[B2:.*]] = linalg.generic {{.*}} ins(%[[B1]], %[[B1]] :
// CHECK:   linalg.index 4
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[B2]] {{\[}}[0], [1, 2, 3, 4]]
// CHECK: linalg.generic {{.*}} ins(%[[C]] :
// CHECK:   arith.constant 0.144337565 : f32
func.func @block_12x4(%x: tensor<2x96xf32>) -> tensor<2x96xf32> {
  %r = hqdm.hadamard %x <block = 48> : tensor<2x96xf32> -> tensor<2x96xf32>
  return %r : tensor<2x96xf32>
}

// -----

// A power of two has no dense factor; a non-last axis is expanded in place.

// CHECK-LABEL: func @channels_nchw
// CHECK: tensor.expand_shape %{{.*}} {{\[}}[0], [1, 2, 3, 4], [5], [6]] output_shape [1, 1, 2, 2, 2, 3, 3]
// CHECK-NOT: arith.constant dense
// CHECK-COUNT-3: linalg.index
// CHECK: arith.constant 0.353553385 : f32
func.func @channels_nchw(%x: tensor<1x8x3x3xf32>) -> tensor<1x8x3x3xf32> {
  %r = hqdm.hadamard %x <block = 8> {axis = 1 : i64}
      : tensor<1x8x3x3xf32> -> tensor<1x8x3x3xf32>
  return %r : tensor<1x8x3x3xf32>
}

// -----

// Integer weights are rotated exactly in the wider result type, without
// normalization.

// CHECK-LABEL: func @raw_integer
// CHECK: linalg.generic
// CHECK:   arith.extsi %{{.*}} : i8 to i16
// CHECK: tensor.expand_shape
// CHECK: arith.addi
// CHECK: arith.subi
// CHECK-NOT: arith.mulf
// CHECK: return %{{.*}} : tensor<4x64xi16>
func.func @raw_integer(%w: tensor<4x64xi8>) -> tensor<4x64xi16> {
  %r = hqdm.hadamard %w <block = 32, normalized = false>
      : tensor<4x64xi8> -> tensor<4x64xi16>
  return %r : tensor<4x64xi16>
}
