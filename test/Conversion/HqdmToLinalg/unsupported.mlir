// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg -verify-diagnostics

// The lowering declines what it cannot express and says so, rather than
// producing wrong code.

func.func @dynamic_conv_output(%x: tensor<1x8x?x?xi8>, %w: tensor<4x8x3x3xi8>,
                               %sx: tensor<f32>, %sw: tensor<4xf32>)
    -> tensor<1x4x?x?xf32> {
  // expected-error @+1 {{failed to legalize operation 'hqdm.qconv2d'}}
  %y = hqdm.qconv2d %x, %w scales(%sx, %sw)
      : (tensor<1x8x?x?xi8>, tensor<4x8x3x3xi8>, tensor<f32>, tensor<4xf32>)
      -> tensor<1x4x?x?xf32>
  return %y : tensor<1x4x?x?xf32>
}
