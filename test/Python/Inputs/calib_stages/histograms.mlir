// A hand-written stand-in for hqdm-quantize{instrument=histograms} on the
// model of ranges.mlir: @forward_observe returns the model's result, then
//   fc1  (x, axis 1): channel_min, channel_max, histogram (16 bins, [-2, 3)),
//   fc2  (y, axis 0): channel_min, channel_max, histogram (16 bins, [-1, 4)),
//   proj (y, axis 1): channel_min, channel_max (no histogram).
// Bin of x: clamp(floor((x - low) * bins / (high - low)), 0, bins - 1).

#x_rc = affine_map<(c, r) -> (r, c)>
#x_cr = affine_map<(c, r) -> (c, r)>
#ch = affine_map<(c, r) -> (c)>
#id = affine_map<(i, j) -> (i, j)>
#all = affine_map<(b, i, j) -> (i, j)>
#bin = affine_map<(b, i, j) -> (b)>

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

// Counts of the 16 bins over [low, high) of every element.
func.func private @histogram(%v: tensor<3x8xf32>, %low: f32, %high: f32) -> tensor<16xi32> {
  %zero = arith.constant 0 : i32
  %bins = arith.constant 16.0 : f32
  %first = arith.constant 0.0 : f32
  %last = arith.constant 15.0 : f32
  %width = arith.subf %high, %low : f32
  %e = tensor.empty() : tensor<16xi32>
  %h0 = linalg.fill ins(%zero : i32) outs(%e : tensor<16xi32>) -> tensor<16xi32>
  %h = linalg.generic {indexing_maps = [#all, #bin],
                       iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%v : tensor<3x8xf32>) outs(%h0 : tensor<16xi32>) {
  ^bb0(%a: f32, %n: i32):
    %b = linalg.index 0 : index
    %bi = arith.index_cast %b : index to i32
    %d = arith.subf %a, %low : f32
    %s = arith.mulf %d, %bins : f32
    %q = arith.divf %s, %width : f32
    %f = math.floor %q : f32
    %c0 = arith.maximumf %f, %first : f32
    %c1 = arith.minimumf %c0, %last : f32
    %k = arith.fptosi %c1 : f32 to i32
    %eq = arith.cmpi eq, %k, %bi : i32
    %one = arith.extui %eq : i1 to i32
    %m = arith.addi %n, %one : i32
    linalg.yield %m : i32
  } -> tensor<16xi32>
  return %h : tensor<16xi32>
}

func.func @forward_observe(%x: tensor<3x8xf32>, %t: tensor<3xi64>)
    -> (tensor<3x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16xi32>,
        tensor<3xf32>, tensor<3xf32>, tensor<16xi32>, tensor<8xf32>,
        tensor<8xf32>) {
  %y = call @forward(%x, %t) : (tensor<3x8xf32>, tensor<3xi64>) -> tensor<3x8xf32>
  %l1, %h1 = call @range_cols(%x) : (tensor<3x8xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  %lo1 = arith.constant -2.0 : f32
  %hi1 = arith.constant 3.0 : f32
  %c1 = call @histogram(%x, %lo1, %hi1) : (tensor<3x8xf32>, f32, f32) -> tensor<16xi32>
  %l2, %h2 = call @range_rows(%y) : (tensor<3x8xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  %lo2 = arith.constant -1.0 : f32
  %hi2 = arith.constant 4.0 : f32
  %c2 = call @histogram(%y, %lo2, %hi2) : (tensor<3x8xf32>, f32, f32) -> tensor<16xi32>
  %l3, %h3 = call @range_cols(%y) : (tensor<3x8xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return %y, %l1, %h1, %c1, %l2, %h2, %c2, %l3, %h3
      : tensor<3x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<16xi32>,
        tensor<3xf32>, tensor<3xf32>, tensor<16xi32>, tensor<8xf32>,
        tensor<8xf32>
}
