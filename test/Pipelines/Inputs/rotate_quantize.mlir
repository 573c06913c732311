// The entry point of aot-shared-library.test: rotate each row of 8 features
// with the normalized Hadamard of order 8, then quantize to 8 bits with scale
// 0.25 (symmetric, round half to even).
func.func @rotate_quantize(%x: tensor<6x8xf32>) -> tensor<6x8xi8> {
  %s = arith.constant dense<0.25> : tensor<f32>
  %r = hqdm.hadamard %x <block = 8> : tensor<6x8xf32> -> tensor<6x8xf32>
  %q = hqdm.quantize %r, %s <bits = 8>
      : (tensor<6x8xf32>, tensor<f32>) -> tensor<6x8xi8>
  return %q : tensor<6x8xi8>
}
