// Functions for aot.test: one memref result, several results of different
// ranks and element types (an index among them), results that are an argument
// and a constant, a scalar result, scalar and rank-0 arguments.

func.func @double(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %e = tensor.empty() : tensor<2x3xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x3xf32>) outs(%e : tensor<2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// Results: rank 1 f32, index (the first timestep), rank 2 i8, rank 0 f16.
func.func @mixed(%x: tensor<4xf32>, %t: tensor<2xi64>)
    -> (tensor<4xf32>, index, tensor<2x2xi8>, tensor<f16>) {
  %c0 = arith.constant 0 : index
  %v = tensor.extract %t[%c0] : tensor<2xi64>
  %i = arith.index_cast %v : i64 to index
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
      iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %c7 = arith.constant 7 : i8
  %e2 = tensor.empty() : tensor<2x2xi8>
  %z = linalg.fill ins(%c7 : i8) outs(%e2 : tensor<2x2xi8>) -> tensor<2x2xi8>
  %h = arith.constant 1.5 : f16
  %e3 = tensor.empty() : tensor<f16>
  %w = linalg.fill ins(%h : f16) outs(%e3 : tensor<f16>) -> tensor<f16>
  return %y, %i, %z, %w : tensor<4xf32>, index, tensor<2x2xi8>, tensor<f16>
}

// Returns its argument and a constant: the deallocation pipeline hands the
// caller copies of both.
func.func @passthrough(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<2xf32>) {
  %c = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  return %x, %c : tensor<3xf32>, tensor<2xf32>
}

func.func @count(%x: tensor<3xf32>) -> index {
  %c = arith.constant 3 : index
  return %c : index
}

// A scalar f32 and a rank-0 f16 argument; an i1, an f32 and an i32 result.
func.func @compare(%x: tensor<5xf32>, %s: f32, %h: tensor<f16>)
    -> (tensor<5xi1>, f32, tensor<2x3xi32>) {
  %e = tensor.empty() : tensor<5xi1>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
      iterator_types = ["parallel"]}
      ins(%x : tensor<5xf32>) outs(%e : tensor<5xi1>) {
  ^bb0(%a: f32, %o: i1):
    %r = arith.cmpf ogt, %a, %s : f32
    linalg.yield %r : i1
  } -> tensor<5xi1>
  %hv = tensor.extract %h[] : tensor<f16>
  %hf = arith.extf %hv : f16 to f32
  %m = arith.mulf %s, %hf : f32
  %c = arith.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi32>
  return %y, %m, %c : tensor<5xi1>, f32, tensor<2x3xi32>
}
