// RUN: hqdm-opt %s --hqdm-map-to-gpu=block-size=64 --canonicalize --split-input-file | FileCheck %s
// RUN: not hqdm-opt %s --hqdm-map-to-gpu=block-size=2048 --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: error: block-size must be in [1, 1024], got 2048

// A linalg op with parallel dimensions: one thread per point of the 40 x 50
// space, ceil(2000 / 64) = 32 blocks; thread i takes row i / 50, column
// i % 50 (consecutive threads, consecutive columns).
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @elementwise
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C50:.*]] = arith.constant 50 : index
// CHECK-DAG: %[[C2000:.*]] = arith.constant 2000 : index
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C32]], %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C64]],
// CHECK:   %[[BASE:.*]] = arith.muli %[[BX]], %[[C64]]
// CHECK:   %[[LINEAR:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK:   %[[IN:.*]] = arith.cmpi ult, %[[LINEAR]], %[[C2000]]
// CHECK:   scf.if %[[IN]] {
// CHECK:     %[[COL:.*]] = arith.remui %[[LINEAR]], %[[C50]]
// CHECK:     %[[ROWS:.*]] = arith.divui %[[LINEAR]], %[[C50]]
// CHECK:     %[[ROW:.*]] = arith.remui %[[ROWS]], %c40
// CHECK:     %[[X:.*]] = memref.load %arg0[%[[ROW]], %[[COL]]]
// CHECK:     %[[E:.*]] = math.exp %[[X]]
// CHECK:     memref.store %[[E]], %arg1[%[[ROW]], %[[COL]]]
// CHECK:   gpu.terminator
// CHECK-NOT: gpu.launch
func.func @elementwise(%a: memref<40x50xf32>, %b: memref<40x50xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<40x50xf32>) outs(%b : memref<40x50xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A row reduction: a thread per row, the reduction a loop inside it.
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @row_sum
// CHECK: gpu.launch
// CHECK:   %[[IN:.*]] = arith.cmpi ult, %{{.*}}, %c3
// CHECK:   scf.if %[[IN]] {
// CHECK:     scf.for %{{.*}} = %c0 to %c5 step %c1 {
// CHECK:       memref.load %arg0
// CHECK:       arith.addf
// CHECK:       memref.store %{{.*}}, %arg1
func.func @row_sum(%a: memref<3x5xf32>, %s: memref<3xf32>) {
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<3x5xf32>) outs(%s : memref<3xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.addf %x, %acc : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// No parallel dimension: one thread runs the whole reduction.
// CHECK-LABEL: func.func @to_scalar
// CHECK: gpu.launch blocks(%{{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads(%{{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) {
// CHECK-NEXT: scf.for %{{.*}} = %c0 to %c3 step %c1 {
// CHECK: arith.maximumf
// CHECK: gpu.terminator
func.func @to_scalar(%s: memref<3xf32>, %r: memref<f32>) {
  linalg.reduce ins(%s : memref<3xf32>) outs(%r : memref<f32>) dimensions = [0]
    (%x: f32, %acc: f32) {
      %m = arith.maximumf %x, %acc : f32
      linalg.yield %m : f32
    }
  return
}

// -----

// A strided copy becomes an element-wise kernel; a contiguous one is left
// for hqdm-buffers-to-device (a device memcpy).
// CHECK-LABEL: func.func @copies
// CHECK: gpu.launch
// CHECK:   %[[V:.*]] = memref.load %arg0[%{{.*}}, %{{.*}}] : memref<3x5xf32, strided<[10, 2]>>
// CHECK:   memref.store %[[V]], %arg1[%{{.*}}, %{{.*}}] : memref<3x5xf32>
// CHECK: memref.copy %arg1, %arg2 : memref<3x5xf32> to memref<3x5xf32>
func.func @copies(%v: memref<3x5xf32, strided<[10, 2]>>, %b: memref<3x5xf32>, %c: memref<3x5xf32>) {
  memref.copy %v, %b : memref<3x5xf32, strided<[10, 2]>> to memref<3x5xf32>
  memref.copy %b, %c : memref<3x5xf32> to memref<3x5xf32>
  return
}
