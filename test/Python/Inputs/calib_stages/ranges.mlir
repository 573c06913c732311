// A hand-written stand-in for hqdm-quantize{instrument=ranges} on a model
// @forward(x: 3x8, t: 3) = x * x - 1, in plain linalg: @forward_observe
// returns the model's result, then channel_min and channel_max of
//   fc1  (x, axis 1, 8 channels),
//   fc2  (y, axis 0, 3 channels),
//   proj (y, axis 1, 8 channels).

#x_rc = affine_map<(c, r) -> (r, c)>
#x_cr = affine_map<(c, r) -> (c, r)>
#ch = affine_map<(c, r) -> (c)>
#id = affine_map<(i, j) -> (i, j)>

func.func @forward(%x: tensor<3x8xf32>, %t: tensor<3xi64>) -> tensor<3x8xf32> {
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<3x8xf32>
  %y = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<3x8xf32>) outs(%e : tensor<3x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.mulf %a, %a : f32
    %r = arith.subf %s, %one : f32
    linalg.yield %r : f32
  } -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}

// Channel c along axis 1 of a 3x8 tensor: min and max over the rows.
func.func private @range_cols(%v: tensor<3x8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %pinf = arith.constant 0x7F800000 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<8xf32>
  %lo0 = linalg.fill ins(%pinf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %hi0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
  %lo, %hi = linalg.generic {indexing_maps = [#x_rc, #ch, #ch],
                             iterator_types = ["parallel", "reduction"]}
      ins(%v : tensor<3x8xf32>) outs(%lo0, %hi0 : tensor<8xf32>, tensor<8xf32>) {
  ^bb0(%a: f32, %l: f32, %h: f32):
    %nl = arith.minimumf %a, %l : f32
    %nh = arith.maximumf %a, %h : f32
    linalg.yield %nl, %nh : f32, f32
  } -> (tensor<8xf32>, tensor<8xf32>)
  return %lo, %hi : tensor<8xf32>, tensor<8xf32>
}

// Channel c along axis 0: min and max over the columns.
func.func private @range_rows(%v: tensor<3x8xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %pinf = arith.constant 0x7F800000 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<3xf32>
  %lo0 = linalg.fill ins(%pinf : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %hi0 = linalg.fill ins(%ninf : f32) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %lo, %hi = linalg.generic {indexing_maps = [#x_cr, #ch, #ch],
                             iterator_types = ["parallel", "reduction"]}
      ins(%v : tensor<3x8xf32>) outs(%lo0, %hi0 : tensor<3xf32>, tensor<3xf32>) {
  ^bb0(%a: f32, %l: f32, %h: f32):
    %nl = arith.minimumf %a, %l : f32
    %nh = arith.maximumf %a, %h : f32
    linalg.yield %nl, %nh : f32, f32
  } -> (tensor<3xf32>, tensor<3xf32>)
  return %lo, %hi : tensor<3xf32>, tensor<3xf32>
}

func.func @forward_observe(%x: tensor<3x8xf32>, %t: tensor<3xi64>)
    -> (tensor<3x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3xf32>,
        tensor<3xf32>, tensor<8xf32>, tensor<8xf32>) {
  %y = call @forward(%x, %t) : (tensor<3x8xf32>, tensor<3xi64>) -> tensor<3x8xf32>
  %l1, %h1 = call @range_cols(%x) : (tensor<3x8xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  %l2, %h2 = call @range_rows(%y) : (tensor<3x8xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  %l3, %h3 = call @range_cols(%y) : (tensor<3x8xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return %y, %l1, %h1, %l2, %h2, %l3, %h3
      : tensor<3x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3xf32>,
        tensor<3xf32>, tensor<8xf32>, tensor<8xf32>
}
