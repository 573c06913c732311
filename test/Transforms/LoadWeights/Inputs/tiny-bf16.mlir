// tiny.mlir in bf16 (st.py bf16 writes its weights).
#map = affine_map<(d0, d1) -> (d0, d1)>
#map1 = affine_map<(d0, d1) -> (d1)>
module {
  func.func @forward(%arg0: tensor<2x8xbf16>) -> tensor<2x4xbf16> {
    %cst = arith.constant 0.000000e+00 : bf16
    %w = arith.constant dense_resource<fc.weight> : tensor<4x8xbf16>
    %b = arith.constant dense_resource<fc.bias> : tensor<4xbf16>
    %0 = tensor.empty() : tensor<8x4xbf16>
    %transposed = linalg.transpose ins(%w : tensor<4x8xbf16>) outs(%0 : tensor<8x4xbf16>) permutation = [1, 0]
    %1 = tensor.empty() : tensor<2x4xbf16>
    %2 = linalg.fill ins(%cst : bf16) outs(%1 : tensor<2x4xbf16>) -> tensor<2x4xbf16>
    %3 = linalg.matmul ins(%arg0, %transposed : tensor<2x8xbf16>, tensor<8x4xbf16>) outs(%2 : tensor<2x4xbf16>) -> tensor<2x4xbf16>
    %4 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel"]} ins(%3, %b : tensor<2x4xbf16>, tensor<4xbf16>) outs(%1 : tensor<2x4xbf16>) {
    ^bb0(%in: bf16, %in_0: bf16, %out: bf16):
      %5 = arith.addf %in, %in_0 : bf16
      linalg.yield %5 : bf16
    } -> tensor<2x4xbf16>
    return %4 : tensor<2x4xbf16>
  }
}
