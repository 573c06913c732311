// Calibrated scales hqdm-quantize-layers cannot use (quantize-calibrated.mlir).
// Per-step scales without a timestep argument.
func.func @no_timestep(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -2.0, 0.5, 4.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>
  // expected-error@+1 {{layer 'fc' has per-step activation scales but its function has no argument marked hqdm.timestep}}
  %y = hqdm.linear %x, %w {name = "fc", plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 4>, scales = per_step>, activation_scales = #hqdm.scale_table<steps = [1.0, 0.0], group_starts = [0, 1], scales = [0.5, 0.25], zero_points = []>} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
