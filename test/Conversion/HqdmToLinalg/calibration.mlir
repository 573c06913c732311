// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg | FileCheck %s
// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg \
// RUN:   -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" \
// RUN:   -canonicalize \
// RUN:   | FileCheck %s --check-prefix=BUFFER

// The calibration ops: hqdm.observe, hqdm.step_index and hqdm.channel_shift.

// observe: the channel minima and maxima in one f32 reduction with two
// outputs (from +inf and -inf, NaNs skipped by minnumf/maxnumf), then the
// histogram in an scf.for over the flattened input carrying the histogram
// tensor: one element extracted, its bin computed in f64, the bin's count
// extracted and inserted plus one (0 for a NaN).

// CHECK-DAG: #[[ALL:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func @observe_histogram
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf16>)
// CHECK: %[[MIN0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16xf32>)
// CHECK: %[[MAX0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16xf32>)
// CHECK: %[[RANGE:.*]]:2 = linalg.generic {indexing_maps = [#[[ALL]], #[[C]], #[[C]]], iterator_types = ["reduction", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]] : tensor<2x8x16xf16>) outs(%[[MIN0]], %[[MAX0]] : tensor<16xf32>, tensor<16xf32>)
// CHECK:   %[[V:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK:   %[[LO:.*]] = arith.minnumf %{{.*}}, %[[V]] : f32
// CHECK:   %[[HI:.*]] = arith.maxnumf %{{.*}}, %[[V]] : f32
// CHECK:   linalg.yield %[[LO]], %[[HI]]
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1, 2]] : tensor<2x8x16xf16> into tensor<256xf16>
// CHECK: %[[ZEROS:.*]] = linalg.fill ins(%{{.*}} : i32) outs(%{{.*}} : tensor<64xi32>)
// CHECK: %[[HIST:.*]] = scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[H:.*]] = %[[ZEROS]]) -> (tensor<64xi32>)
// CHECK:   %[[E:.*]] = tensor.extract %[[FLAT]][%[[I]]] : tensor<256xf16>
// CHECK:   %[[D:.*]] = arith.extf %[[E]] : f16 to f64
// CHECK:   %[[SUB:.*]] = arith.subf %[[D]], %{{.*}} : f64
// CHECK:   %[[MUL:.*]] = arith.mulf %[[SUB]], %{{.*}} : f64
// CHECK:   %[[DIV:.*]] = arith.divf %[[MUL]], %{{.*}} : f64
// CHECK:   %[[FLOOR:.*]] = math.floor %[[DIV]] : f64
// CHECK:   %[[CLAMP0:.*]] = arith.maxnumf %[[FLOOR]], %{{.*}} : f64
// CHECK:   %[[CLAMP1:.*]] = arith.minnumf %[[CLAMP0]], %{{.*}} : f64
// CHECK:   %[[BIN64:.*]] = arith.fptosi %[[CLAMP1]] : f64 to i64
// CHECK:   %[[BIN:.*]] = arith.index_cast %[[BIN64]] : i64 to index
// CHECK:   %[[NUMBER:.*]] = arith.cmpf ord, %[[D]], %[[D]] : f64
// CHECK:   %[[INC:.*]] = arith.select %[[NUMBER]]
// CHECK:   %[[OLD:.*]] = tensor.extract %[[H]][%[[BIN]]] : tensor<64xi32>
// CHECK:   %[[NEW:.*]] = arith.addi %[[OLD]], %[[INC]] : i32
// CHECK:   %[[NEXT:.*]] = tensor.insert %[[NEW]] into %[[H]][%[[BIN]]] : tensor<64xi32>
// CHECK:   scf.yield %[[NEXT]] : tensor<64xi32>
// CHECK: return %[[RANGE]]#0, %[[RANGE]]#1, %[[HIST]]

// Bufferized (as hqdm-lower-to-cpu does), the histogram is updated in place:
// one allocation before the loop, a load and a store per element, no copy.
// BUFFER-LABEL: func @observe_histogram
// BUFFER-NOT: memref.copy
// BUFFER: memref.collapse_shape %{{.*}} {{\[\[}}0, 1, 2]] : memref<2x8x16xf16> into memref<256xf16>
// BUFFER-NOT: memref.copy
// BUFFER: %[[HB:.*]] = memref.alloc() {{.*}} : memref<64xi32>
// BUFFER: linalg.fill ins(%{{.*}} : i32) outs(%[[HB]] : memref<64xi32>)
// BUFFER-NOT: memref.alloc
// BUFFER-NOT: memref.copy
// BUFFER: scf.for
// BUFFER-NOT: memref.alloc
// BUFFER-NOT: memref.copy
// BUFFER: memref.load %[[HB]]
// BUFFER-NOT: memref.alloc
// BUFFER-NOT: memref.copy
// BUFFER: memref.store %{{.*}}, %[[HB]]
// BUFFER-NOT: memref.alloc
// BUFFER-NOT: memref.copy
// BUFFER: return
func.func @observe_histogram(%x: tensor<2x8x16xf16>)
    -> (tensor<16xf32>, tensor<16xf32>, tensor<64xi32>) {
  %lo, %hi, %h = hqdm.observe %x {name = "fc2", bins = 64 : i64,
                                  low = -0.5 : f64, high = 4.0 : f64}
      : tensor<2x8x16xf16> -> tensor<16xf32>, tensor<16xf32>, tensor<64xi32>
  return %lo, %hi, %h : tensor<16xf32>, tensor<16xf32>, tensor<64xi32>
}

// -----

// NCHW per channel (axis 1) with a dynamic batch: the channel dimension is
// the parallel one; no histogram, so no loop.

// CHECK-DAG: #[[ALL4:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[C1:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func @observe_axis1
// CHECK: linalg.generic {indexing_maps = [#[[ALL4]], #[[C1]], #[[C1]]], iterator_types = ["reduction", "parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%{{.*}} : tensor<?x8x4x4xf32>) outs(%{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>)
// CHECK-NOT: scf.for
// CHECK: return
func.func @observe_axis1(%x: tensor<?x8x4x4xf32>)
    -> (tensor<8xf32>, tensor<8xf32>) {
  %lo, %hi = hqdm.observe %x {name = "conv", axis = 1 : i64}
      : tensor<?x8x4x4xf32> -> tensor<8xf32>, tensor<8xf32>
  return %lo, %hi : tensor<8xf32>, tensor<8xf32>
}

// -----

// A dynamic histogram input: the loop runs to the flattened size.

// CHECK-LABEL: func @observe_dynamic_histogram
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<?x32xf32> into tensor<?xf32>
// CHECK: %[[N:.*]] = tensor.dim %[[FLAT]], %{{.*}} : tensor<?xf32>
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[N]] step
func.func @observe_dynamic_histogram(%x: tensor<?x32xf32>)
    -> (tensor<32xf32>, tensor<32xf32>, tensor<8xi32>) {
  %lo, %hi, %h = hqdm.observe %x {name = "fc1", bins = 8 : i64,
                                  low = -1.0 : f64, high = 1.0 : f64}
      : tensor<?x32xf32> -> tensor<32xf32>, tensor<32xf32>, tensor<8xi32>
  return %lo, %hi, %h : tensor<32xf32>, tensor<32xf32>, tensor<8xi32>
}

// -----

// step_index on a short list: the first element in f64 (signed), then an
// unrolled chain keeping a step only when strictly closer (the first wins
// ties).

// CHECK-LABEL: func @step_index_unrolled
// CHECK-SAME: (%[[T:.*]]: tensor<2xi64>)
// CHECK: %[[FIRST:.*]] = tensor.extract %[[T]][%{{.*}}] : tensor<2xi64>
// CHECK: %[[TF:.*]] = arith.sitofp %[[FIRST]] : i64 to f64
// CHECK: %[[S0:.*]] = arith.subf %[[TF]], %{{.*}} : f64
// CHECK: %[[D0:.*]] = math.absf %[[S0]] : f64
// CHECK: %[[S1:.*]] = arith.subf %[[TF]], %{{.*}} : f64
// CHECK: %[[D1:.*]] = math.absf %[[S1]] : f64
// CHECK: %[[C1:.*]] = arith.cmpf olt, %[[D1]], %[[D0]] : f64
// CHECK: %[[BD1:.*]] = arith.select %[[C1]], %[[D1]], %[[D0]] : f64
// CHECK: %[[B1:.*]] = arith.select %[[C1]], %{{.*}}, %{{.*}} : index
// CHECK: %[[D2:.*]] = math.absf
// CHECK: %[[C2:.*]] = arith.cmpf olt, %[[D2]], %[[BD1]] : f64
// CHECK: %[[B2:.*]] = arith.select %[[C2]], %{{.*}}, %[[B1]] : index
// CHECK-NOT: scf.for
// CHECK: return %[[B2]] : index
func.func @step_index_unrolled(%t: tensor<2xi64>) -> index {
  %i = hqdm.step_index %t steps [999.0, 749.0, 499.0] : tensor<2xi64>
  return %i : index
}

// -----

// A rank-0 bf16 timestep and a scalar one.

// CHECK-LABEL: func @step_index_scalars
// CHECK: %[[E:.*]] = tensor.extract %{{.*}}[] : tensor<bf16>
// CHECK: arith.extf %[[E]] : bf16 to f64
// CHECK: arith.sitofp %{{.*}} : i32 to f64
func.func @step_index_scalars(%t: tensor<bf16>, %s: i32) -> (index, index) {
  %i = hqdm.step_index %t steps [1.0, 0.0] : tensor<bf16>
  %j = hqdm.step_index %s steps [1.0, 0.0] : i32
  return %i, %j : index, index
}

// -----

// More than 64 steps: an scf.for over the steps as a constant tensor,
// carrying the best index and its distance.

// CHECK-LABEL: func @step_index_loop
// CHECK-SAME: (%[[T:.*]]: f64)
// CHECK-DAG: %[[STEPS:.*]] = arith.constant dense<{{.*}}> : tensor<65xf64>
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C65:.*]] = arith.constant 65 : index
// CHECK: %[[R:.*]]:2 = scf.for %[[I:.*]] = %[[C1]] to %[[C65]] step %[[C1]] iter_args(%[[B:.*]] = %{{.*}}, %[[BD:.*]] = %{{.*}}) -> (index, f64)
// CHECK:   %[[S:.*]] = tensor.extract %[[STEPS]][%[[I]]] : tensor<65xf64>
// CHECK:   %[[SUB:.*]] = arith.subf %[[T]], %[[S]] : f64
// CHECK:   %[[D:.*]] = math.absf %[[SUB]] : f64
// CHECK:   %[[CLOSER:.*]] = arith.cmpf olt, %[[D]], %[[BD]] : f64
// CHECK:   %[[ND:.*]] = arith.select %[[CLOSER]], %[[D]], %[[BD]] : f64
// CHECK:   %[[NB:.*]] = arith.select %[[CLOSER]], %[[I]], %[[B]] : index
// CHECK:   scf.yield %[[NB]], %[[ND]] : index, f64
// CHECK: return %[[R]]#0 : index
func.func @step_index_loop(%t: f64) -> index {
  %i = hqdm.step_index %t steps [
      65.0, 64.0, 63.0, 62.0, 61.0, 60.0, 59.0, 58.0, 57.0, 56.0, 55.0, 54.0,
      53.0, 52.0, 51.0, 50.0, 49.0, 48.0, 47.0, 46.0, 45.0, 44.0, 43.0, 42.0,
      41.0, 40.0, 39.0, 38.0, 37.0, 36.0, 35.0, 34.0, 33.0, 32.0, 31.0, 30.0,
      29.0, 28.0, 27.0, 26.0, 25.0, 24.0, 23.0, 22.0, 21.0, 20.0, 19.0, 18.0,
      17.0, 16.0, 15.0, 14.0, 13.0, 12.0, 11.0, 10.0, 9.0, 8.0, 7.0, 6.0, 5.0,
      4.0, 3.0, 2.0, 1.0] : f64
  return %i : index
}

// -----

// channel_shift: elementwise in f32, shift and divisor broadcast along the
// axis, rounded back to the input's type.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func @channel_shift
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x3x3xf16>, %[[S:.*]]: tensor<8xf32>, %[[M:.*]]: tensor<8xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[CH]], #[[CH]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[S]], %[[M]] : tensor<2x8x3x3xf16>, tensor<8xf32>, tensor<8xf32>)
// CHECK: ^bb0(%[[XE:.*]]: f16, %[[SE:.*]]: f32, %[[ME:.*]]: f32, %{{.*}}: f16):
// CHECK:   %[[XF:.*]] = arith.extf %[[XE]] : f16 to f32
// CHECK:   %[[CENTERED:.*]] = arith.subf %[[XF]], %[[SE]] : f32
// CHECK:   %[[Y:.*]] = arith.divf %[[CENTERED]], %[[ME]] : f32
// CHECK:   %[[YH:.*]] = arith.truncf %[[Y]] : f32 to f16
// CHECK:   linalg.yield %[[YH]] : f16
func.func @channel_shift(%x: tensor<2x8x3x3xf16>, %s: tensor<8xf32>,
                         %m: tensor<8xf32>) -> tensor<2x8x3x3xf16> {
  %y = hqdm.channel_shift %x, %s, %m {axis = 1 : i64}
      : (tensor<2x8x3x3xf16>, tensor<8xf32>, tensor<8xf32>)
      -> tensor<2x8x3x3xf16>
  return %y : tensor<2x8x3x3xf16>
}
