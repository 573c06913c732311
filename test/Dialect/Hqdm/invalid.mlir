// RUN: hqdm-opt %s -split-input-file -verify-diagnostics

// One case per diagnostic the hqdm verifiers can emit (and a few that ODS
// constraints emit), each in its own split.

func.func @case0(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{quantization bits must be in [2, 16], got 1}}
  %q = hqdm.quantize %x, %s <bits = 1> : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  return
}

// -----

func.func @case1(%x: tensor<4xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{quantization axis must be non-negative, got -1}}
  %q = hqdm.quantize %x, %s <bits = 4, granularity = per_channel, axis = -1> : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi8>
  return
}

// -----

func.func @case2(%x: tensor<4x4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{quantization axis is only meaningful per_channel}}
  %q = hqdm.quantize %x, %s <bits = 4, axis = 1> : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xi8>
  return
}

// -----

func.func @case3(%x: tensor<2x44xf32>) {
  // expected-error @+1 {{no Hadamard construction serves order 44}}
  %r = hqdm.hadamard %x <block = 44> : tensor<2x44xf32> -> tensor<2x44xf32>
  return
}

// -----

func.func @case4(%x: tensor<4x8xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{'hqdm.quantize' op per_tensor scale must have shape [], got [4]}}
  %q = hqdm.quantize %x, %s <bits = 4> : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xi8>
  return
}

// -----

func.func @case5(%x: tensor<4x8xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{quantization axis 2 is out of range for rank 2}}
  %q = hqdm.quantize %x, %s <bits = 4, granularity = per_channel, axis = 2> : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xi8>
  return
}

// -----

func.func @case6(%x: tensor<4x8xi8>, %s: tensor<4xf32>) {
  // expected-error @+1 {{per_channel scale must have shape [8] (one scale per index of the quantization axis), got [4]}}
  %q = hqdm.dequantize %x, %s <bits = 4, granularity = per_channel, axis = 1> : (tensor<4x8xi8>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case7(%x: tensor<4x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{per_token scale must have shape [4] (the input shape without its last dimension), got [8]}}
  %q = hqdm.fake_quant %x, %s <bits = 8, granularity = per_token> : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case8(%x: tensor<f32>, %s: tensor<f32>) {
  // expected-error @+1 {{per_token quantization needs rank >= 1}}
  %q = hqdm.fake_quant %x, %s <bits = 8, granularity = per_token> : (tensor<f32>, tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @case9(%x: tensor<4xf32>, %s: tensor<f32>, %z: tensor<i32>) {
  // expected-error @+1 {{symmetric scheme takes no zero point}}
  %q = hqdm.quantize %x, %s, %z <bits = 4> : (tensor<4xf32>, tensor<f32>, tensor<i32>) -> tensor<4xi8>
  return
}

// -----

func.func @case10(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{asymmetric scheme needs a zero point}}
  %q = hqdm.quantize %x, %s <bits = 4, symmetric = false> : (tensor<4xf32>, tensor<f32>) -> tensor<4xi8>
  return
}

// -----

func.func @case11(%x: tensor<4x8xf32>, %s: tensor<4xf32>, %z: tensor<i32>) {
  // expected-error @+1 {{zero point must have shape [4] (the shape of its scale), got []}}
  %q = hqdm.quantize %x, %s, %z <bits = 4, symmetric = false, granularity = per_channel> : (tensor<4x8xf32>, tensor<4xf32>, tensor<i32>) -> tensor<4x8xi8>
  return
}

// -----

func.func @case12(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{element type 'i2' cannot hold 4-bit levels}}
  %q = hqdm.quantize %x, %s <bits = 4> : (tensor<4xf32>, tensor<f32>) -> tensor<4xi2>
  return
}

// -----

func.func @case13(%x: tensor<4xi4>, %s: tensor<f32>) {
  // expected-error @+1 {{asymmetric scheme needs a zero point}}
  %q = hqdm.dequantize %x, %s <bits = 8, symmetric = false> : (tensor<4xi4>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @case14(%x: tensor<4xi4>, %s: tensor<f32>) {
  // expected-error @+1 {{element type 'i4' cannot hold 8-bit levels}}
  %q = hqdm.dequantize %x, %s <bits = 8> : (tensor<4xi4>, tensor<f32>) -> tensor<4xf32>
  return
}

// -----

func.func @case15(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result shape [5] must match input shape [4]}}
  %q = hqdm.quantize %x, %s <bits = 4> : (tensor<4xf32>, tensor<f32>) -> tensor<5xi8>
  return
}

// -----

func.func @case16(%x: tensor<4xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result type 'tensor<4xf16>' must equal input type 'tensor<4xf32>'}}
  %q = hqdm.fake_quant %x, %s <bits = 4> : (tensor<4xf32>, tensor<f32>) -> tensor<4xf16>
  return
}

// -----

func.func @case17(%x: tensor<4xi8>, %s: tensor<f32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float values}}
  %q = hqdm.quantize %x, %s <bits = 4> : (tensor<4xi8>, tensor<f32>) -> tensor<4xi8>
  return
}

// -----

func.func @case18(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1}}
  %s = hqdm.token_scale %x <bits = 4> : tensor<f32> -> tensor<f32>
  return
}

// -----

func.func @case19(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{result must have shape [4] (the input shape without its last dimension), got [8]}}
  %s = hqdm.token_scale %x <bits = 4> : tensor<4x8xf32> -> tensor<8xf32>
  return
}

// -----

func.func @case20(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{attribute 'bits' failed to satisfy constraint}}
  %s = hqdm.token_scale %x <bits = 1> : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @case21(%t: tensor<f32>, %i: i64) {
  // expected-error @+1 {{table must have rank >= 1 (steps first)}}
  %s = hqdm.step_select %t[%i] : tensor<f32>, i64 -> tensor<f32>
  return
}

// -----

func.func @case22(%t: tensor<10x4xf32>, %i: i64) {
  // expected-error @+1 {{result must have shape [4] (the table shape without its step dimension), got []}}
  %s = hqdm.step_select %t[%i] : tensor<10x4xf32>, i64 -> tensor<f32>
  return
}

// -----

func.func @case23(%t: tensor<2xf32>, %i: i64) {
  // expected-error @+1 {{group_starts must begin with step 0}}
  %s = hqdm.step_select %t[%i] group_starts [1, 10] : tensor<2xf32>, i64 -> tensor<f32>
  return
}

// -----

func.func @case24(%t: tensor<3xf32>, %i: i64) {
  // expected-error @+1 {{group_starts must increase strictly, but entry 2 is 10 after 10}}
  %s = hqdm.step_select %t[%i] group_starts [0, 10, 10] : tensor<3xf32>, i64 -> tensor<f32>
  return
}

// -----

func.func @case25(%t: tensor<3xf32>, %i: i64) {
  // expected-error @+1 {{table has 3 entries but 2 groups are given}}
  %s = hqdm.step_select %t[%i] group_starts [0, 10] : tensor<3xf32>, i64 -> tensor<f32>
  return
}

// -----

func.func @case26(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %r = hqdm.hadamard %x <block = 32> {axis = 2 : i64} : tensor<2x32xf32> -> tensor<2x32xf32>
  return
}

// -----

func.func @case27(%x: tensor<2x?xf32>) {
  // expected-error @+1 {{rotated dimension 1 must be static}}
  %r = hqdm.hadamard %x <block = 32> : tensor<2x?xf32> -> tensor<2x?xf32>
  return
}

// -----

func.func @case28(%x: tensor<2x48xf32>) {
  // expected-error @+1 {{rotated dimension of size 48 is not a multiple of the block size 32}}
  %r = hqdm.hadamard %x <block = 32> : tensor<2x48xf32> -> tensor<2x48xf32>
  return
}

// -----

func.func @case29(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{result shape [4, 32] must match input shape [2, 32]}}
  %r = hqdm.hadamard %x <block = 32> : tensor<2x32xf32> -> tensor<4x32xf32>
  return
}

// -----

func.func @case30(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{float rotation must keep the element type 'f32', got 'f16'}}
  %r = hqdm.hadamard %x <block = 32> : tensor<2x32xf32> -> tensor<2x32xf16>
  return
}

// -----

func.func @case31(%x: tensor<2x32xi8>) {
  // expected-error @+1 {{integer rotation must produce integers, got 'f32'}}
  %r = hqdm.hadamard %x <block = 32, normalized = false> : tensor<2x32xi8> -> tensor<2x32xf32>
  return
}

// -----

func.func @case32(%x: tensor<2x32xi8>) {
  // expected-error @+1 {{integer rotation must use the raw +-1 matrix (normalized = false)}}
  %r = hqdm.hadamard %x <block = 32> : tensor<2x32xi8> -> tensor<2x32xi16>
  return
}

// -----

func.func @case33(%x: tensor<2x32xi8>) {
  // expected-error @+1 {{result element type 'i12' may overflow: a block of 32 'i8' values needs at least 13 bits}}
  %r = hqdm.hadamard %x <block = 32, normalized = false> : tensor<2x32xi8> -> tensor<2x32xi12>
  return
}

// -----

func.func @case34(%x: tensor<4x8xi64>, %w: tensor<16x8xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>) {
  // expected-error @+1 {{input element type 'i64' is wider than 32 bits, which i32 accumulation does not allow}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) : (tensor<4x8xi64>, tensor<16x8xi8>, tensor<f32>, tensor<16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case35(%x: tensor<4x8xi8>, %w: tensor<16x8xi8>, %sx: tensor<f32>, %sw: tensor<8xf32>) {
  // expected-error @+1 {{weight scale must have shape [16] (rank 0, or one per output channel), got [8]}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) : (tensor<4x8xi8>, tensor<16x8xi8>, tensor<f32>, tensor<8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case36(%x: tensor<4x8xi8>, %w: tensor<16x8xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>, %z: tensor<i32>) {
  // expected-error @+1 {{weight zero point must have shape [16] (the shape of its scale), got []}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) weight_zero_point(%z) : (tensor<4x8xi8>, tensor<16x8xi8>, tensor<f32>, tensor<16xf32>, tensor<i32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case37(%x: tensor<4x8xi8>, %w: tensor<16x8xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>, %z: tensor<4xi32>) {
  // expected-error @+1 {{input zero point must have shape [] (the shape of its scale), got [4]}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) input_zero_point(%z) : (tensor<4x8xi8>, tensor<16x8xi8>, tensor<f32>, tensor<16xf32>, tensor<4xi32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case38(%x: tensor<4x8xi8>, %w: tensor<16x8xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{bias must have shape [16] (one per output channel), got [8]}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) bias(%b) : (tensor<4x8xi8>, tensor<16x8xi8>, tensor<f32>, tensor<16xf32>, tensor<8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case39(%x: tensor<8xi8>, %w: tensor<16x8xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>) {
  // expected-error @+1 {{input must have rank >= 2 ([..., K]), got rank 1}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) : (tensor<8xi8>, tensor<16x8xi8>, tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  return
}

// -----

func.func @case40(%x: tensor<4x8xi8>, %w: tensor<16x8x1xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([N, K]), got rank 3}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) : (tensor<4x8xi8>, tensor<16x8x1xi8>, tensor<f32>, tensor<16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case41(%x: tensor<4x8xi8>, %w: tensor<16x9xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>) {
  // expected-error @+1 {{input has 8 features but the weight expects 9}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) : (tensor<4x8xi8>, tensor<16x9xi8>, tensor<f32>, tensor<16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case42(%x: tensor<4x8xi8>, %w: tensor<16x8xi8>, %sx: tensor<8xf32>, %sw: tensor<16xf32>) {
  // expected-error @+1 {{input scale must have shape [4] (rank 0, or one per token), got [8]}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) : (tensor<4x8xi8>, tensor<16x8xi8>, tensor<8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case43(%x: tensor<4x8xi8>, %w: tensor<16x8xi8>, %sx: tensor<f32>, %sw: tensor<16xf32>) {
  // expected-error @+1 {{result must have shape [4, 16] ([..., N]), got [4, 8]}}
  %y = hqdm.qlinear %x, %w scales(%sx, %sw) : (tensor<4x8xi8>, tensor<16x8xi8>, tensor<f32>, tensor<16xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case44(%x: tensor<1x8x9xi8>, %w: tensor<4x8x3x3xi8>, %sx: tensor<f32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{input (NCHW) and weight (FCHW) must have rank 4}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) : (tensor<1x8x9xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case45(%x: tensor<1x8x9x9xi8>, %w: tensor<4x6x3x3xi8>, %sx: tensor<f32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{input has 8 channels but the weight expects 6}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) : (tensor<1x8x9x9xi8>, tensor<4x6x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case46(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi8>, %sx: tensor<f32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{strides must have 2 entries (H, W), got 1}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) {strides = array<i64: 1>} : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case47(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi8>, %sx: tensor<f32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{padding entries must be at least 0}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) {padding = array<i64: 1, -1>} : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case48(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi8>, %sx: tensor<f32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{dilations entries must be at least 1}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) {dilations = array<i64: 0, 1>} : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case49(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi8>, %sx: tensor<1xf32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{input scale must be rank 0 (per tensor)}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi8>, tensor<1xf32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case50(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi8>, %sx: tensor<f32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{kernel extent 11 exceeds the padded input size 9}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) {dilations = array<i64: 5, 5>} : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x1x1xf32>
  return
}

// -----

func.func @case51(%x: tensor<1x8x9x9xi8>, %w: tensor<4x8x3x3xi8>, %sx: tensor<f32>, %sw: tensor<4xf32>) {
  // expected-error @+1 {{result must have shape [1, 4, 4, 4] ([N, F, OH, OW]), got [1, 4, 7, 7]}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw) {strides = array<i64: 2, 2>} : (tensor<1x8x9x9xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case52(%x: tensor<f32>, %w: tensor<4x4xf32>) {
  // expected-error @+1 {{input must have rank >= 1 ([..., K])}}
  %y = hqdm.linear %x, %w : (tensor<f32>, tensor<4x4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case53(%x: tensor<4x8xf32>, %w: tensor<2x4x8xf32>) {
  // expected-error @+1 {{weight must have rank 2 ([N, K]), got rank 3}}
  %y = hqdm.linear %x, %w : (tensor<4x8xf32>, tensor<2x4x8xf32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @case54(%x: tensor<4x8xf32>, %w: tensor<16x6xf32>) {
  // expected-error @+1 {{input has 8 features but the weight expects 6}}
  %y = hqdm.linear %x, %w : (tensor<4x8xf32>, tensor<16x6xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case55(%x: tensor<4x8xf32>, %w: tensor<16x8xf16>) {
  // expected-error @+1 {{operands and result must share one element type, got 'f16' and 'f32'}}
  %y = hqdm.linear %x, %w : (tensor<4x8xf32>, tensor<16x8xf16>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case56(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'hqdm.linear' op bias must have shape [16], got [8]}}
  %y = hqdm.linear %x, %w bias(%b) : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case57(%x: tensor<4x64xf32>, %w: tensor<16x64xf32>) {
  // expected-error @+1 {{input_rotation must be a normalized (orthogonal) Hadamard}}
  %y = hqdm.linear %x, %w {input_rotation = #hqdm.hadamard<block = 32, normalized = false>} : (tensor<4x64xf32>, tensor<16x64xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case58(%x: tensor<4x64xf32>, %w: tensor<16x64xf32>) {
  // expected-error @+1 {{input_rotation block 12 does not divide the 64 input features}}
  %y = hqdm.linear %x, %w {input_rotation = #hqdm.hadamard<block = 12>} : (tensor<4x64xf32>, tensor<16x64xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case59(%x: tensor<2x4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{result must have shape [2, 4, 16] ([..., N]), got [2, 16]}}
  %y = hqdm.linear %x, %w : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @case60(%x: tensor<1x8x9xf32>, %w: tensor<4x8x3x3xf32>) {
  // expected-error @+1 {{input (NCHW) and weight (FCHW) must have rank 4}}
  %y = hqdm.conv2d %x, %w : (tensor<1x8x9xf32>, tensor<4x8x3x3xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case61(%x: tensor<1x8x9x9xf32>, %w: tensor<4x6x3x3xf32>) {
  // expected-error @+1 {{input has 8 channels but the weight expects 6}}
  %y = hqdm.conv2d %x, %w : (tensor<1x8x9x9xf32>, tensor<4x6x3x3xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case62(%x: tensor<1x8x9x9xf32>, %w: tensor<4x8x3x3xf32>) {
  // expected-error @+1 {{strides entries must be at least 1}}
  %y = hqdm.conv2d %x, %w {strides = array<i64: 0, 1>} : (tensor<1x8x9x9xf32>, tensor<4x8x3x3xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case63(%x: tensor<1x24x9x9xf32>, %w: tensor<4x24x3x3xf32>) {
  // expected-error @+1 {{input_rotation block 16 does not divide the 24 input features}}
  %y = hqdm.conv2d %x, %w {input_rotation = #hqdm.hadamard<block = 16>} : (tensor<1x24x9x9xf32>, tensor<4x24x3x3xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case64(%x: tensor<1x8x9x9xf32>, %w: tensor<4x8x3x3xf32>) {
  // expected-error @+1 {{result must have shape [1, 4, 9, 9] ([N, F, OH, OW]), got [1, 4, 7, 7]}}
  %y = hqdm.conv2d %x, %w {padding = array<i64: 1, 1>} : (tensor<1x8x9x9xf32>, tensor<4x8x3x3xf32>) -> tensor<1x4x7x7xf32>
  return
}

// -----

func.func @case65(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1}}
  %y = hqdm.layer_norm %x : (tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @case66(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{result shape [4, 16] must match input shape [4, 8]}}
  %y = hqdm.layer_norm %x : (tensor<4x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case67(%x: tensor<4x8xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{'hqdm.layer_norm' op weight must have shape [8], got [4]}}
  %y = hqdm.layer_norm %x weight(%g) : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case68(%x: tensor<32xf32>) {
  // expected-error @+1 {{input must have rank >= 2 ([N, C, ...])}}
  %y = hqdm.group_norm %x {groups = 8 : i64} : (tensor<32xf32>) -> tensor<32xf32>
  return
}

// -----

func.func @case69(%x: tensor<1x32x4x4xf32>) {
  // expected-error @+1 {{3 groups do not divide 32 channels}}
  %y = hqdm.group_norm %x {groups = 3 : i64} : (tensor<1x32x4x4xf32>) -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @case70(%x: tensor<1x32x4x4xf32>) {
  // expected-error @+1 {{attribute 'groups' failed to satisfy constraint}}
  %y = hqdm.group_norm %x {groups = 0 : i64} : (tensor<1x32x4x4xf32>) -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @case71(%x: tensor<1x32x4x4xf32>, %b: tensor<16xf32>) {
  // expected-error @+1 {{'hqdm.group_norm' op bias must have shape [32], got [16]}}
  %y = hqdm.group_norm %x bias(%b) {groups = 8 : i64} : (tensor<1x32x4x4xf32>, tensor<16xf32>) -> tensor<1x32x4x4xf32>
  return
}

// -----

func.func @case72(%x: tensor<2x4x8xf32>) {
  // expected-error @+1 {{axis 3 is out of range for rank 3}}
  %y = hqdm.softmax %x {axis = 3 : i64} : tensor<2x4x8xf32>
  return
}

// -----

func.func @case73(%x: tensor<2x4x8xf32>) {
  // expected-error @+1 {{axis -4 is out of range for rank 3}}
  %y = hqdm.softmax %x {axis = -4 : i64} : tensor<2x4x8xf32>
  return
}

// -----

func.func @case74(%x: tensor<64xf32>, %s: tensor<1x64xf32>) {
  // expected-error @+1 {{input must have rank >= 2 ([B, ..., D])}}
  %y = hqdm.modulate %x, %s, %s : (tensor<64xf32>, tensor<1x64xf32>, tensor<1x64xf32>) -> tensor<64xf32>
  return
}

// -----

func.func @case75(%x: tensor<2x16x64xf32>, %s: tensor<2x32xf32>, %c: tensor<2x64xf32>) {
  // expected-error @+1 {{shift must have shape [2, 64] ([B, D]), got [2, 32]}}
  %y = hqdm.modulate %x, %s, %c : (tensor<2x16x64xf32>, tensor<2x32xf32>, tensor<2x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @case76(%x: tensor<2x16x64xf32>, %s: tensor<2x64xf32>, %c: tensor<1x64xf32>) {
  // expected-error @+1 {{scale must have shape [2, 64] ([B, D]), got [1, 64]}}
  %y = hqdm.modulate %x, %s, %c : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<1x64xf32>) -> tensor<2x16x64xf32>
  return
}

// -----

func.func @case77(%x: tensor<2x16x64xf32>, %s: tensor<2x64xf32>) {
  // expected-error @+1 {{result shape [2, 64] must match input shape [2, 16, 64]}}
  %y = hqdm.modulate %x, %s, %s : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>) -> tensor<2x64xf32>
  return
}

// -----

func.func @case78(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{result #0 must be 0D tensor of 32-bit float values}}
  %s = hqdm.tensor_scale %x <bits = 8> : tensor<4x8xf32> -> tensor<4xf32>
  return
}

// -----

func.func @case79(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{weights cannot be quantized per_token}}
  %y = hqdm.linear %x, %w {plan = #hqdm.plan<weight = <bits = 4, granularity = per_token>, activation = <bits = 8>>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case80(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{per_channel weights are quantized along the output channel (axis 0)}}
  %y = hqdm.linear %x, %w {plan = #hqdm.plan<weight = <bits = 4, granularity = per_channel, axis = 1>, activation = <bits = 8>>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case81(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{activations are quantized per_tensor or per_token}}
  %y = hqdm.linear %x, %w {plan = #hqdm.plan<weight = <bits = 4>, activation = <bits = 8, granularity = per_channel>>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case82(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{per_token activation scales are dynamic}}
  %y = hqdm.linear %x, %w {plan = #hqdm.plan<weight = <bits = 4>, activation = <bits = 8, granularity = per_token>, scales = static>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case83(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{Hadamard block must be non-negative (0 = the whole axis), got -1}}
  %y = hqdm.linear %x, %w {plan = #hqdm.plan<weight = <bits = 4>, activation = <bits = 8>, block = -1>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case84(%t: tensor<2xi64>) {
  // expected-error @+1 {{needs at least one step}}
  %i = hqdm.step_index %t steps [] : tensor<2xi64>
  return
}

// -----

func.func @case85(%t: tensor<2xi64>) {
  // expected-error @+1 {{steps must be finite, got INF}}
  %i = hqdm.step_index %t steps [999.0, 0x7FF0000000000000] : tensor<2xi64>
  return
}

// -----

func.func @case86(%t: tensor<2x1xi64>) {
  // expected-error @+1 {{timestep must be a scalar or a tensor of rank 0 or 1, got rank 2}}
  %i = hqdm.step_index %t steps [999.0, 0.0] : tensor<2x1xi64>
  return
}

// -----

func.func @case87(%t: tensor<0xf32>) {
  // expected-error @+1 {{timestep tensor is empty}}
  %i = hqdm.step_index %t steps [999.0, 0.0] : tensor<0xf32>
  return
}

// -----

func.func @case88(%x: tensor<2x4x16xf32>) {
  // expected-error @+1 {{axis 3 is out of range for rank 3}}
  %lo, %hi = hqdm.observe %x {name = "fc", axis = 3 : i64} : tensor<2x4x16xf32> -> tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @case89(%x: tensor<2x4x16xf32>) {
  // expected-error @+1 {{channel_min must have shape [4] (one entry per channel), got [16]}}
  %lo, %hi = hqdm.observe %x {name = "fc", axis = 1 : i64} : tensor<2x4x16xf32> -> tensor<16xf32>, tensor<4xf32>
  return
}

// -----

func.func @case90(%x: tensor<2x4x16xf32>) {
  // expected-error @+1 {{channel_max must have shape [16] (one entry per channel), got [4]}}
  %lo, %hi = hqdm.observe %x {name = "fc"} : tensor<2x4x16xf32> -> tensor<16xf32>, tensor<4xf32>
  return
}

// -----

func.func @case91(%x: tensor<2x16xf32>) {
  // expected-error @+1 {{a histogram result needs bins, low and high, and they need a histogram result}}
  %lo, %hi = hqdm.observe %x {name = "fc", bins = 64 : i64, low = 0.0 : f64, high = 1.0 : f64} : tensor<2x16xf32> -> tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @case92(%x: tensor<2x16xf32>) {
  // expected-error @+1 {{a histogram result needs bins, low and high, and they need a histogram result}}
  %lo, %hi, %h = hqdm.observe %x {name = "fc"} : tensor<2x16xf32> -> tensor<16xf32>, tensor<16xf32>, tensor<64xi32>
  return
}

// -----

func.func @case93(%x: tensor<2x16xf32>) {
  // expected-error @+1 {{a histogram needs all of bins, low and high}}
  %lo, %hi, %h = hqdm.observe %x {name = "fc", bins = 64 : i64, high = 1.0 : f64} : tensor<2x16xf32> -> tensor<16xf32>, tensor<16xf32>, tensor<64xi32>
  return
}

// -----

func.func @case94(%x: tensor<2x16xf32>) {
  // expected-error @+1 {{histogram range [4.000000e+00, -5.000000e-01) must be finite and non-empty}}
  %lo, %hi, %h = hqdm.observe %x {name = "fc", bins = 64 : i64, low = 4.0 : f64, high = -0.5 : f64} : tensor<2x16xf32> -> tensor<16xf32>, tensor<16xf32>, tensor<64xi32>
  return
}

// -----

func.func @case95(%x: tensor<2x16xf32>) {
  // expected-error @+1 {{histogram must have shape [64] (one entry per bin), got [32]}}
  %lo, %hi, %h = hqdm.observe %x {name = "fc", bins = 64 : i64, low = -0.5 : f64, high = 4.0 : f64} : tensor<2x16xf32> -> tensor<16xf32>, tensor<16xf32>, tensor<32xi32>
  return
}

// -----

func.func @case96(%x: tensor<2x16xf32>, %s: tensor<16xf32>) {
  // expected-error @+1 {{axis -3 is out of range for rank 2}}
  %y = hqdm.channel_shift %x, %s, %s {axis = -3 : i64} : (tensor<2x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @case97(%x: tensor<2x16xf16>, %s: tensor<16xf32>) {
  // expected-error @+1 {{result must have the input's type}}
  %y = hqdm.channel_shift %x, %s, %s : (tensor<2x16xf16>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @case98(%x: tensor<2x16xf32>, %s: tensor<2xf32>, %d: tensor<16xf32>) {
  // expected-error @+1 {{shift must have shape [16] (one entry per channel), got [2]}}
  %y = hqdm.channel_shift %x, %s, %d : (tensor<2x16xf32>, tensor<2xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @case99(%x: tensor<2x16xf32>, %s: tensor<2xf32>, %d: tensor<16xf32>) {
  // expected-error @+1 {{divisor must have shape [2] (one entry per channel), got [16]}}
  %y = hqdm.channel_shift %x, %s, %d {axis = 0 : i64} : (tensor<2x16xf32>, tensor<2xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return
}

// -----

func.func @case100(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{a scale table needs at least one step}}
  %y = hqdm.linear %x, %w {activation_scales = #hqdm.scale_table<steps = [], group_starts = [0], scales = [0.5], zero_points = []>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case101(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{group_starts must begin with step 0}}
  %y = hqdm.linear %x, %w {activation_scales = #hqdm.scale_table<steps = [999.0, 0.0], group_starts = [1], scales = [0.5], zero_points = []>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case102(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{group_starts must increase strictly below the 4 steps, but entry 2 is 4}}
  %y = hqdm.linear %x, %w {activation_scales = #hqdm.scale_table<steps = [999.0, 666.0, 333.0, 0.0], group_starts = [0, 2, 4], scales = [0.5, 0.25, 0.125], zero_points = []>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case103(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{group_starts must increase strictly below the 4 steps, but entry 2 is 2}}
  %y = hqdm.linear %x, %w {activation_scales = #hqdm.scale_table<steps = [999.0, 666.0, 333.0, 0.0], group_starts = [0, 2, 2], scales = [0.5, 0.25, 0.125], zero_points = []>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case104(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{1 scales for 2 groups}}
  %y = hqdm.linear %x, %w {activation_scales = #hqdm.scale_table<steps = [999.0, 0.0], group_starts = [0, 1], scales = [0.5], zero_points = []>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case105(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{scales must be finite and non-negative, got -5.000000e-01}}
  %y = hqdm.linear %x, %w {activation_scales = #hqdm.scale_table<steps = [999.0, 0.0], group_starts = [0], scales = [-0.5], zero_points = []>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case106(%x: tensor<1x8x4x4xf32>, %w: tensor<16x8x1x1xf32>) {
  // expected-error @+1 {{1 zero points for 2 groups (give none for a symmetric quantizer)}}
  %y = hqdm.conv2d %x, %w {activation_scales = #hqdm.scale_table<steps = [999.0, 0.0], group_starts = [0, 1], scales = [0.5, 0.25], zero_points = [3]>} : (tensor<1x8x4x4xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x4x4xf32>
  return
}

// -----

func.func @case107(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{input_shift must be a vector of the 8 input features, got [4]}}
  %y = hqdm.linear %x, %w {input_shift = dense<0.5> : tensor<4xf32>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case108(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) {
  // expected-error @+1 {{input_shift and input_rotation cannot be combined}}
  %y = hqdm.linear %x, %w {input_shift = dense<0.5> : tensor<8xf32>, input_rotation = #hqdm.hadamard<block = 8>} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @case109(%t: tensor<10xi32>, %i: i64) {
  // expected-error @+1 {{result must have the table's element type}}
  %s = hqdm.step_select %t[%i] : tensor<10xi32>, i64 -> tensor<f32>
  return
}

// -----

func.func @case110(%x: tensor<2x32xf32>) {
  // expected-error @+1 {{axis -3 is out of range for rank 2}}
  %r = hqdm.hadamard %x <block = 32> {axis = -3 : i64} : tensor<2x32xf32> -> tensor<2x32xf32>
  return
}

// -----

func.func @case111(%x: tensor<2x4x16xf32>) {
  // expected-error @+1 {{axis -4 is out of range for rank 3}}
  %lo, %hi = hqdm.observe %x {name = "fc", axis = -4 : i64} : tensor<2x4x16xf32> -> tensor<16xf32>, tensor<16xf32>
  return
}

// -----

func.func @case112(%t: tensor<10xf16>, %i: i64) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 32-bit float values or ranked tensor of 32-bit signless integer values}}
  %s = hqdm.step_select %t[%i] : tensor<10xf16>, i64 -> tensor<f16>
  return
}

// -----

func.func @gpu_launch_mixed(%x: tensor<4x64xf32>, %y: memref<4x8xf32>) {
  // expected-error @+1 {{has 0 results, so its operands must all be memrefs}}
  hqdm.gpu_launch "fc" ins(%x : tensor<4x64xf32>) outs(%y : memref<4x8xf32>) {temps = [], launches = []}
  return
}

// -----

func.func @gpu_launch_outputs(%x: tensor<4x64xf32>, %y: memref<4x8xf32>) {
  // expected-error @+1 {{has 1 results, so its operands must all be ranked tensors}}
  %r = hqdm.gpu_launch "fc" ins(%x : tensor<4x64xf32>) outs(%y : memref<4x8xf32>) {temps = [], launches = []} -> tensor<4x8xf32>
  return
}

// -----

func.func @gpu_launch_result(%x: tensor<4x64xf32>, %y: tensor<4x8xf32>) {
  // expected-error @+1 {{results must have the outputs' types}}
  %r = hqdm.gpu_launch "fc" ins(%x : tensor<4x64xf32>) outs(%y : tensor<4x8xf32>) {temps = [], launches = []} -> tensor<4x9xf32>
  return
}

// -----

func.func @gpu_launch_temp(%y: memref<4x8xf32>) {
  // expected-error @+1 {{temp 'memref<?xi32>' is not a statically shaped memref}}
  hqdm.gpu_launch "fc" outs(%y : memref<4x8xf32>) {temps = [memref<?xi32>], launches = []}
  return
}

// -----

func.func @gpu_launch_dict(%y: memref<4x8xf32>) {
  // expected-error @+1 {{launch 1 : i64 is not a dictionary}}
  hqdm.gpu_launch "fc" outs(%y : memref<4x8xf32>) {temps = [], launches = [1]}
  return
}

// -----

func.func @gpu_launch_kernel(%y: memref<4x8xf32>) {
  // expected-error @+1 {{has no kernel symbol}}
  hqdm.gpu_launch "fc" outs(%y : memref<4x8xf32>) {temps = [], launches = [{grid = array<i64: 1, 1, 1>}]}
  return
}

// -----

func.func @gpu_launch_grid(%y: memref<4x8xf32>) {
  // expected-error @+1 {{needs a positive grid of 3 sizes}}
  hqdm.gpu_launch "fc" outs(%y : memref<4x8xf32>) {temps = [], launches = [{kernel = @k::@f, grid = array<i64: 1, 0, 1>, block = array<i64: 1, 1, 1>, args = array<i64>}]}
  return
}

// -----

func.func @gpu_launch_args(%y: memref<4x8xf32>) {
  // expected-error @+1 {{has no args}}
  hqdm.gpu_launch "fc" outs(%y : memref<4x8xf32>) {temps = [], launches = [{kernel = @k::@f, grid = array<i64: 1, 1, 1>, block = array<i64: 1, 1, 1>}]}
  return
}

// -----

func.func @gpu_launch_index(%y: memref<4x8xf32>) {
  // expected-error @+1 {{launch argument 2 names no operand or temp (there are 2)}}
  hqdm.gpu_launch "fc" outs(%y : memref<4x8xf32>) {temps = [memref<4xi32>], launches = [{kernel = @k::@f, grid = array<i64: 1, 1, 1>, block = array<i64: 1, 1, 1>, args = array<i64: 0, 1, 2>}]}
  return
}
