// Four float layers with constant weights for the planning tests, named like
// a DiT's, plus one whose weight is a function argument.
func.func @layers(%x: tensor<4x64xf32>, %c: tensor<2x64xf32>, %w: tensor<8x64xf32>) -> (tensor<4x64xf32>, tensor<2x128xf32>, tensor<4x8xf32>, tensor<1x8x4x4xf32>) {
  %w0 = arith.constant dense<0.25> : tensor<64x64xf32>
  %q = hqdm.linear %x, %w0 {name = "blocks.0.attn.qkv"} : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %w1 = arith.constant dense<0.5> : tensor<128x64xf32>
  %a = hqdm.linear %c, %w1 {name = "blocks.0.adaLN_modulation.1"} : (tensor<2x64xf32>, tensor<128x64xf32>) -> tensor<2x128xf32>
  %r = hqdm.linear %x, %w {name = "runtime_weight"} : (tensor<4x64xf32>, tensor<8x64xf32>) -> tensor<4x8xf32>
  %img = arith.constant dense<1.0> : tensor<1x4x4x4xf32>
  %cw = arith.constant dense<0.5> : tensor<8x4x1x1xf32>
  %e = hqdm.conv2d %img, %cw {name = "x_embedder.proj"} : (tensor<1x4x4x4xf32>, tensor<8x4x1x1xf32>) -> tensor<1x8x4x4xf32>
  return %q, %a, %r, %e : tensor<4x64xf32>, tensor<2x128xf32>, tensor<4x8xf32>, tensor<1x8x4x4xf32>
}
