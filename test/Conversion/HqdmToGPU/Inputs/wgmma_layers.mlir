// Quantized linear layers for the wgmma kernels: constant weights that need
// two int8 digit planes (|w| > 127, as exactly rotated single-Hadamard
// weights do) or one, 4-bit per-token activations rotated by 32-blocks, at
// odd and DiT-XL/2 sizes.
func.func @odd_two_planes(%x: tensor<45x160xf32>) -> tensor<45x200xf32> {
  %w = arith.constant dense<300> : tensor<200x160xi16>
  %sw = arith.constant dense<0.01> : tensor<200xf32>
  %b = arith.constant dense<0.5> : tensor<200xf32>
  %r = hqdm.hadamard %x <block = 32> : tensor<45x160xf32> -> tensor<45x160xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<45x160xf32> -> tensor<45xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<45x160xf32>, tensor<45xf32>) -> tensor<45x160xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) bias(%b) : (tensor<45x160xi8>, tensor<200x160xi16>, tensor<45xf32>, tensor<200xf32>, tensor<200xf32>) -> tensor<45x200xf32>
  return %y : tensor<45x200xf32>
}
func.func @dit_qkv_two_planes(%x: tensor<256x1152xf32>) -> tensor<256x3456xf32> {
  %w = arith.constant dense<-16320> : tensor<3456x1152xi16>
  %sw = arith.constant dense<0.01> : tensor<3456xf32>
  %b = arith.constant dense<0.5> : tensor<3456xf32>
  %r = hqdm.hadamard %x <block = 32> : tensor<256x1152xf32> -> tensor<256x1152xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<256x1152xf32> -> tensor<256xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<256x1152xf32>, tensor<256xf32>) -> tensor<256x1152xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) bias(%b) : (tensor<256x1152xi8>, tensor<3456x1152xi16>, tensor<256xf32>, tensor<3456xf32>, tensor<3456xf32>) -> tensor<256x3456xf32>
  return %y : tensor<256x3456xf32>
}
func.func @dit_fc2_two_planes(%x: tensor<256x4608xf32>) -> tensor<256x1152xf32> {
  %w = arith.constant dense<1000> : tensor<1152x4608xi16>
  %sw = arith.constant dense<0.01> : tensor<1152xf32>
  %b = arith.constant dense<0.5> : tensor<1152xf32>
  %r = hqdm.hadamard %x <block = 32> : tensor<256x4608xf32> -> tensor<256x4608xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<256x4608xf32> -> tensor<256xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<256x4608xf32>, tensor<256xf32>) -> tensor<256x4608xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) bias(%b) : (tensor<256x4608xi8>, tensor<1152x4608xi16>, tensor<256xf32>, tensor<1152xf32>, tensor<1152xf32>) -> tensor<256x1152xf32>
  return %y : tensor<256x1152xf32>
}
func.func @dit_fc1_one_plane(%x: tensor<256x1152xf32>) -> tensor<256x4608xf32> {
  %w = arith.constant dense<-8> : tensor<4608x1152xi8>
  %sw = arith.constant dense<0.01> : tensor<4608xf32>
  %b = arith.constant dense<0.5> : tensor<4608xf32>
  %r = hqdm.hadamard %x <block = 32> : tensor<256x1152xf32> -> tensor<256x1152xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<256x1152xf32> -> tensor<256xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<256x1152xf32>, tensor<256xf32>) -> tensor<256x1152xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) bias(%b) : (tensor<256x1152xi8>, tensor<4608x1152xi8>, tensor<256xf32>, tensor<4608xf32>, tensor<4608xf32>) -> tensor<256x4608xf32>
  return %y : tensor<256x4608xf32>
}
func.func @odd_one_plane(%x: tensor<37x96xf32>) -> tensor<37x72xf32> {
  %w = arith.constant dense<100> : tensor<72x96xi8>
  %sw = arith.constant dense<0.01> : tensor<72xf32>
  %b = arith.constant dense<0.5> : tensor<72xf32>
  %r = hqdm.hadamard %x <block = 32> : tensor<37x96xf32> -> tensor<37x96xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<37x96xf32> -> tensor<37xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<37x96xf32>, tensor<37xf32>) -> tensor<37x96xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) bias(%b) : (tensor<37x96xi8>, tensor<72x96xi8>, tensor<37xf32>, tensor<72xf32>, tensor<72xf32>) -> tensor<37x72xf32>
  return %y : tensor<37x72xf32>
}
