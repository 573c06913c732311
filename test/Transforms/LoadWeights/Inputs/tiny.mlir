// One nn.Linear(8, 4) on a [2, 8] input in torch-mlir's form, its weight and
// bias referenced by their state_dict names with no dialect_resources
// trailer: the data comes from a safetensors file (st.py writes them).
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
module {
  func.func @forward(%arg0: tensor<2x8xf32>) -> tensor<2x4xf32> {
    %cst = arith.constant 0.000000e+00 : f32
    %w = arith.constant dense_resource<fc.weight> : tensor<4x8xf32>
    %b = arith.constant dense_resource<fc.bias> : tensor<4xf32>
    %0 = tensor.empty() : tensor<8x4xf32>
    %transposed = linalg.transpose ins(%w : tensor<4x8xf32>) outs(%0 : tensor<8x4xf32>) permutation = [1, 0]
    %1 = tensor.empty() : tensor<2x4xf32>
    %2 = linalg.fill ins(%cst : f32) outs(%1 : tensor<2x4xf32>) -> tensor<2x4xf32>
    %3 = linalg.matmul ins(%arg0, %transposed : tensor<2x8xf32>, tensor<8x4xf32>) outs(%2 : tensor<2x4xf32>) -> tensor<2x4xf32>
    %4 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%3, %b : tensor<2x4xf32>, tensor<4xf32>) outs(%1 : tensor<2x4xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %5 = arith.addf %in, %in_0 : f32
      linalg.yield %5 : f32
    } -> tensor<2x4xf32>
    return %4 : tensor<2x4xf32>
  }
}
