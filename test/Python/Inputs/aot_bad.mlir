func.func @bad(%x: tensor<3xf32>) -> tensor<4xf32> {
  return %x : tensor<3xf32>
}
