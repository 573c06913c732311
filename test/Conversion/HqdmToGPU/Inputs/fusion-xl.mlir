// DiT-XL/2-sized layers with their neighbours (D = 1152, 256 tokens, batch
// 2): LayerNorm + modulate + rotation by 1152 + per-token quantization
// before qkv, the gate multiply and residual add after an fc2 with K = 4608
// (its row of 144 values a lane does not leave room for a normalization, so
// it has none), SiLU before adaLN.
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#gate = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @forward(%x: tensor<2x256x1152xf32>, %c: tensor<2x1152xf32>,
                   %h: tensor<2x256x4608xf32>) -> (tensor<2x256x3456xf32>, tensor<2x256x1152xf32>) {
  %w_ada = arith.constant dense<3> : tensor<6912x1152xi8>
  %w_qkv = arith.constant dense<-2> : tensor<3456x1152xi8>
  %w_fc2 = arith.constant dense<5> : tensor<1152x4608xi8>
  %s_ada = arith.constant dense<0.01> : tensor<6912xf32>
  %s_qkv = arith.constant dense<0.02> : tensor<3456xf32>
  %s_fc2 = arith.constant dense<0.03> : tensor<1152xf32>

  %sc = hqdm.silu %c : tensor<2x1152xf32>
  %rc = hqdm.hadamard %sc <block = 1152> : tensor<2x1152xf32> -> tensor<2x1152xf32>
  %tc = hqdm.token_scale %rc <bits = 8> : tensor<2x1152xf32> -> tensor<2xf32>
  %qc = hqdm.quantize %rc, %tc <bits = 8, granularity = per_token> : (tensor<2x1152xf32>, tensor<2xf32>) -> tensor<2x1152xi8>
  %ada = hqdm.qlinear %qc, %w_ada scales(%tc, %s_ada) : (tensor<2x1152xi8>, tensor<6912x1152xi8>, tensor<2xf32>, tensor<6912xf32>) -> tensor<2x6912xf32>
  %shift = tensor.extract_slice %ada[0, 0] [2, 1152] [1, 1] : tensor<2x6912xf32> to tensor<2x1152xf32>
  %scale = tensor.extract_slice %ada[0, 1152] [2, 1152] [1, 1] : tensor<2x6912xf32> to tensor<2x1152xf32>
  %gate2 = tensor.extract_slice %ada[0, 5760] [2, 1152] [1, 1] : tensor<2x6912xf32> to tensor<2x1152xf32>
  %gate = tensor.expand_shape %gate2 [[0], [1, 2]] output_shape [2, 1, 1152] : tensor<2x1152xf32> into tensor<2x1x1152xf32>

  %n = hqdm.layer_norm %x {epsilon = 1.0e-06 : f32} : (tensor<2x256x1152xf32>) -> tensor<2x256x1152xf32>
  %m = hqdm.modulate %n, %shift, %scale : (tensor<2x256x1152xf32>, tensor<2x1152xf32>, tensor<2x1152xf32>) -> tensor<2x256x1152xf32>
  %r = hqdm.hadamard %m <block = 1152> {axis = 2 : i64} : tensor<2x256x1152xf32> -> tensor<2x256x1152xf32>
  %t = hqdm.token_scale %r <bits = 4> : tensor<2x256x1152xf32> -> tensor<2x256xf32>
  %q = hqdm.quantize %r, %t <bits = 4, granularity = per_token> : (tensor<2x256x1152xf32>, tensor<2x256xf32>) -> tensor<2x256x1152xi8>
  %qkv = hqdm.qlinear %q, %w_qkv scales(%t, %s_qkv) : (tensor<2x256x1152xi8>, tensor<3456x1152xi8>, tensor<2x256xf32>, tensor<3456xf32>) -> tensor<2x256x3456xf32>

  %rh = hqdm.hadamard %h <block = 4608> {axis = 2 : i64} : tensor<2x256x4608xf32> -> tensor<2x256x4608xf32>
  %th = hqdm.token_scale %rh <bits = 4> : tensor<2x256x4608xf32> -> tensor<2x256xf32>
  %qh = hqdm.quantize %rh, %th <bits = 4, granularity = per_token> : (tensor<2x256x4608xf32>, tensor<2x256xf32>) -> tensor<2x256x4608xi8>
  %fc2 = hqdm.qlinear %qh, %w_fc2 scales(%th, %s_fc2) : (tensor<2x256x4608xi8>, tensor<1152x4608xi8>, tensor<2x256xf32>, tensor<1152xf32>) -> tensor<2x256x1152xf32>
  %e = tensor.empty() : tensor<2x256x1152xf32>
  %gated = linalg.generic {indexing_maps = [#gate, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%gate, %fc2 : tensor<2x1x1152xf32>, tensor<2x256x1152xf32>) outs(%e : tensor<2x256x1152xf32>) {
  ^bb0(%g: f32, %y: f32, %o: f32):
    %p = arith.mulf %g, %y : f32
    linalg.yield %p : f32
  } -> tensor<2x256x1152xf32>
  %out = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %gated : tensor<2x256x1152xf32>, tensor<2x256x1152xf32>) outs(%e : tensor<2x256x1152xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x256x1152xf32>
  return %qkv, %out : tensor<2x256x3456xf32>, tensor<2x256x1152xf32>
}
