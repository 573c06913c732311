// hqdm-insert-hadamard: an online rotation in front of every planned layer
// whose input axis the planned block fits; the others stay unrotated (their
// plan says hadamard = none) with a remark.

// RUN: hqdm-opt %s --hqdm-plan="block=32" --hqdm-insert-hadamard --remarks-filter='hqdm-rotate' 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// RUN: hqdm-opt %s --hqdm-plan="block=0" --hqdm-insert-hadamard --remarks-filter='hqdm-rotate' 2>%t.full.remarks | FileCheck %s --check-prefix=FULL
// RUN: FileCheck %s --check-prefix=FULL-REMARK < %t.full.remarks

func.func @layers(%x: tensor<4x64xf32>, %y: tensor<4x48xf32>, %z: tensor<4x44xf32>, %img: tensor<1x64x4x4xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<1x8x4x4xf32>) {
  %w64 = arith.constant dense<0.5> : tensor<8x64xf32>
  %w48 = arith.constant dense<0.5> : tensor<8x48xf32>
  %w44 = arith.constant dense<0.5> : tensor<8x44xf32>
  %wc = arith.constant dense<0.5> : tensor<8x64x1x1xf32>
  %a = hqdm.linear %x, %w64 {name = "k64"} : (tensor<4x64xf32>, tensor<8x64xf32>) -> tensor<4x8xf32>
  %b = hqdm.linear %y, %w48 {name = "k48"} : (tensor<4x48xf32>, tensor<8x48xf32>) -> tensor<4x8xf32>
  %c = hqdm.linear %z, %w44 {name = "k44"} : (tensor<4x44xf32>, tensor<8x44xf32>) -> tensor<4x8xf32>
  %d = hqdm.conv2d %img, %wc {name = "conv"} : (tensor<1x64x4x4xf32>, tensor<8x64x1x1xf32>) -> tensor<1x8x4x4xf32>
  return %a, %b, %c, %d : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<1x8x4x4xf32>
}

// CHECK: %[[R:.*]] = hqdm.hadamard %arg0 <block = 32> {axis = 1 : i64} : tensor<4x64xf32>
// CHECK: hqdm.linear %[[R]], {{.*}}input_rotation = #hqdm.hadamard<block = 32>, name = "k64", plan = #hqdm.plan<{{.*}}hadamard = single>
// CHECK: hqdm.linear %arg1, {{.*}}name = "k48", plan = #hqdm.plan<{{.*}}>}
// CHECK-NOT: hadamard = single
// CHECK: hqdm.linear %arg2,
// CHECK: %[[C:.*]] = hqdm.hadamard %arg3 <block = 32> {axis = 1 : i64} : tensor<1x64x4x4xf32>
// CHECK: hqdm.conv2d %[[C]], {{.*}}input_rotation = #hqdm.hadamard<block = 32>

// REMARK: Remark="layer 'k64': input rotated by a block-32 Hadamard (single)"
// REMARK: Remark="layer 'k48' stays unrotated: block 32 does not divide its 48 input features"
// REMARK: Remark="layer 'k44' stays unrotated: block 32 does not divide its 44 input features"

// With block 0 every layer is rotated over its whole axis: 64 and 48 = 12 x 4
// have constructions, 44 = 11 x 4 has none.
// FULL: hqdm.hadamard %arg0 <block = 64>
// FULL: hqdm.hadamard %arg1 <block = 48>
// FULL-NOT: hqdm.hadamard %arg2
// FULL-REMARK: Remark="layer 'k44' stays unrotated: no Hadamard construction
