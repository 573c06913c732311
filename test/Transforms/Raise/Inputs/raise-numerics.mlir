// A small chain in the forms torch-mlir emits, with constant weights, for
// the check that raising preserves the function (see ../numerics.test):
// Linear(8, 16) (linalg.transpose + matmul + bias), GELU (erf), LayerNorm(16)
// with affine (the FX form: f64 variance), SiLU (sigmoid then product),
// Linear(16, 8) (transposed-B matmul maps, bias first in the add), softmax
// (max without keepdim, expand_shape, fused sub+exp). The values are
// numpy default_rng(4242) draws, printed to 7 digits.

#id = affine_map<(d0, d1) -> (d0, d1)>
#vec = affine_map<(d0, d1) -> (d1)>
#row = affine_map<(d0, d1) -> (d0, 0)>
#red = affine_map<(d0, d1) -> (d0)>
module {
  func.func @forward(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
    %w1 = arith.constant dense<[[2.240102e-01, 1.859457e-01, -2.726240e-02, 1.500429e-01, -1.593367e-01, -4.509583e-01, 2.574495e-01, -2.590452e-01], [-2.666223e-01, -2.907728e-03, 2.775021e-01, 4.084083e-01, 7.158396e-01, -4.984781e-01, -4.908257e-01, 2.845026e-01], [-5.155866e-01, 5.634885e-01, 5.180808e-01, 6.214795e-02, -2.377174e-01, 6.419636e-02, -8.708290e-01, 1.859604e-01], [1.776085e-01, -1.806255e-01, 2.050891e-01, 8.006725e-02, 5.027987e-01, -2.347993e-01, -3.239574e-02, 4.901416e-01], [-1.440192e-01, -2.244607e-01, 6.401654e-02, 2.377325e-01, -3.230561e-01, -2.215657e-01, 1.668565e-01, 3.553885e-01], [5.567822e-01, -4.125172e-01, 4.968352e-01, -3.947842e-01, -3.514920e-01, 4.549788e-01, 1.776900e-01, 2.334241e-01], [4.366494e-02, 2.808126e-01, -1.658459e-01, -2.572851e-01, -3.638071e-01, -6.062891e-02, -1.568152e-01, 1.922654e-01], [2.183863e-01, -1.784755e-02, -3.009216e-01, 4.780507e-02, -2.364607e-01, 3.614514e-02, -5.136111e-01, 5.463714e-01], [2.341916e-01, 3.082341e-01, 6.503306e-01, -3.791045e-01, 4.280718e-01, -5.465940e-01, 3.952506e-01, -2.561281e-01], [-2.846438e-01, -1.707470e-01, -3.909515e-01, 5.410965e-01, 6.875650e-01, -4.568166e-01, -1.631400e-01, 3.058479e-02], [4.515359e-01, 2.181088e-01, -2.337587e-02, -2.983419e-01, 7.868207e-02, 9.745358e-02, 2.960396e-01, 4.482503e-01], [1.319810e-01, -5.525745e-01, 1.596857e-01, 1.565641e-01, 6.225955e-01, 2.273995e-01, -1.462174e-01, 2.824636e-02], [-6.378263e-01, -8.692276e-02, 2.899012e-01, -7.215021e-02, 7.163579e-01, -1.574034e-02, 1.230885e-01, 9.587613e-01], [-1.570272e-01, 3.731465e-01, -3.178211e-03, -4.026310e-02, 4.387291e-01, 3.686806e-01, -8.487467e-02, -8.094648e-01], [-1.766286e-01, 4.069232e-01, -2.020683e-01, -5.353353e-01, -5.426930e-01, -3.674905e-01, 1.417553e-01, 2.040095e-02], [8.590662e-02, 8.369317e-02, -2.918881e-01, -1.949251e-01, -7.852950e-01, -3.719249e-01, 4.450160e-01, -1.176757e-01]]> : tensor<16x8xf32>
    %b1 = arith.constant dense<[1.546179e-02, -3.020292e-03, -9.532291e-02, 5.472708e-02, 3.385057e-02, -4.964646e-02, 4.457395e-02, 3.986182e-03, 4.721570e-02, -7.934832e-02, -1.174106e-01, 6.155353e-02, 5.918605e-02, 1.446856e-01, -1.649122e-02, 1.032129e-01]> : tensor<16xf32>
    %gamma = arith.constant dense<[8.886016e-01, 1.060649e+00, 9.893163e-01, 9.955471e-01, 1.020457e+00, 1.014197e+00, 9.180982e-01, 1.059335e+00, 8.729979e-01, 9.545546e-01, 1.113987e+00, 9.477038e-01, 9.565699e-01, 9.326009e-01, 9.003744e-01, 7.675200e-01]> : tensor<16xf32>
    %beta = arith.constant dense<[1.206367e-01, 9.561558e-02, 1.175937e-02, -7.610627e-02, -2.539594e-02, 2.453272e-01, 1.517874e-02, -1.022227e-01, 5.676784e-02, 8.142432e-03, -1.244749e-01, -5.666760e-02, 7.188581e-02, 7.996382e-02, 2.675845e-02, 4.034641e-04]> : tensor<16xf32>
    %w2 = arith.constant dense<[[-2.215746e-01, -9.369616e-02, 8.719497e-03, -1.854680e-01, 3.912109e-01, 3.641660e-01, -5.278983e-01, -3.282066e-01, -2.185874e-01, -4.066645e-01, -7.228373e-02, -1.081096e-01, 9.751365e-02, 1.800195e-02, -2.189489e-01, -8.822346e-02], [-8.111834e-02, 9.783574e-04, 4.135543e-01, 2.244615e-01, -2.255674e-01, 1.233462e-01, 6.863507e-02, -1.385213e-01, 3.014547e-01, -1.842941e-01, 6.498185e-02, 2.427138e-01, 8.382246e-02, 2.913114e-01, -1.542526e-01, -2.122357e-01], [-7.360786e-02, -1.674562e-01, -9.518392e-02, 1.430623e-01, -3.581530e-01, 4.295739e-01, 4.473959e-01, -4.115163e-01, 6.001244e-02, -5.125653e-01, 1.653270e-01, 1.023847e-01, -8.248245e-02, 7.288315e-05, -1.893469e-02, 1.116704e-01], [-3.455976e-01, 1.723760e-01, -1.321402e-02, 8.612865e-02, -1.370157e-01, 2.927558e-01, -2.437688e-01, 1.774415e-01, -1.238422e-01, 4.359710e-01, -7.477964e-02, 3.079694e-01, 1.296617e-01, 6.898997e-02, 6.165532e-02, 7.819892e-02], [-8.932899e-02, 7.527607e-02, 2.249736e-01, -3.009286e-01, 1.909127e-01, 3.943008e-01, 3.460675e-01, 2.267986e-01, -2.609685e-01, -5.506761e-02, 1.755514e-01, 3.785886e-01, 1.487631e-01, -5.570573e-02, 1.187965e-01, -1.018791e-01], [1.976902e-02, -2.588890e-01, 2.971280e-01, -3.882288e-01, 1.924429e-01, -1.393914e-01, 3.067728e-01, -2.196424e-01, 2.582815e-01, 1.462841e-01, -2.617064e-01, -1.250776e-01, -9.273464e-02, -6.322663e-01, -5.400249e-01, -2.915265e-02], [-3.759468e-01, 3.105504e-01, -2.715985e-01, 6.303351e-02, 2.895483e-01, 1.403747e-01, 7.797479e-02, -5.546232e-02, 9.173302e-02, -2.067117e-01, -2.875642e-01, -1.866867e-02, -3.035020e-01, -5.004219e-02, -9.137258e-03, 7.886646e-02], [-1.705655e-01, 2.283605e-01, 9.025076e-04, -3.607959e-01, -7.620538e-02, 4.657067e-01, 2.613300e-01, -1.450417e-02, -1.356658e-02, -1.684497e-01, 9.301224e-03, 3.638850e-01, -2.058212e-01, 8.024750e-02, -4.249909e-01, -2.502021e-01]]> : tensor<8x16xf32>
    %b2 = arith.constant dense<[8.514743e-02, 6.122928e-02, -8.321684e-02, -1.263232e-02, 7.722379e-02, 1.884135e-01, -1.148167e-02, -1.050316e-02]> : tensor<8xf32>
    %zero = arith.constant 0.000000e+00 : f32
    %zero64 = arith.constant 0.000000e+00 : f64
    %one = arith.constant 1.000000e+00 : f32
    %half = arith.constant 5.000000e-01 : f32
    %sqrt2 = arith.constant 1.41421354 : f32
    %n = arith.constant 1.600000e+01 : f32
    %n64 = arith.constant 1.600000e+01 : f64
    %eps = arith.constant 1.0000000000000001E-5 : f64
    %ninf = arith.constant 0xFF800000 : f32
    %c0 = arith.constant 0 : i64

    // Linear(8, 16).
    %e0 = tensor.empty() : tensor<8x16xf32>
    %t1 = linalg.transpose ins(%w1 : tensor<16x8xf32>) outs(%e0 : tensor<8x16xf32>) permutation = [1, 0]
    %e1 = tensor.empty() : tensor<4x16xf32>
    %f1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<4x16xf32>) -> tensor<4x16xf32>
    %m1 = linalg.matmul ins(%x, %t1 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f1 : tensor<4x16xf32>) -> tensor<4x16xf32>
    %h1 = linalg.generic {indexing_maps = [#id, #vec, #id], iterator_types = ["parallel", "parallel"]} ins(%m1, %b1 : tensor<4x16xf32>, tensor<16xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.addf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x16xf32>

    // GELU, approximate="none".
    %h2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%h1 : tensor<4x16xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %sqrt2 : f32
      %1 = math.erf %0 : f32
      %2 = arith.addf %1, %one : f32
      %3 = arith.mulf %2, %half : f32
      %4 = arith.mulf %in, %3 : f32
      linalg.yield %4 : f32
    } -> tensor<4x16xf32>

    // LayerNorm(16): var_mean with the variance in f64, then the affine.
    %e64 = tensor.empty() : tensor<4x16xf64>
    %x64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%h2 : tensor<4x16xf32>) outs(%e64 : tensor<4x16xf64>) {
    ^bb0(%in: f32, %out: f64):
      %0 = arith.extf %in : f32 to f64
      linalg.yield %0 : f64
    } -> tensor<4x16xf64>
    %r64e = tensor.empty() : tensor<4x1xf64>
    %r64 = linalg.fill ins(%zero64 : f64) outs(%r64e : tensor<4x1xf64>) -> tensor<4x1xf64>
    %s64 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%x64 : tensor<4x16xf64>) outs(%r64 : tensor<4x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = arith.addf %in, %out : f64
      linalg.yield %0 : f64
    } -> tensor<4x1xf64>
    %m64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s64 : tensor<4x1xf64>) outs(%r64e : tensor<4x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = arith.divf %in, %n64 : f64
      linalg.yield %0 : f64
    } -> tensor<4x1xf64>
    %d64 = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%x64, %m64 : tensor<4x16xf64>, tensor<4x1xf64>) outs(%e64 : tensor<4x16xf64>) {
    ^bb0(%in: f64, %in_0: f64, %out: f64):
      %0 = arith.subf %in, %in_0 : f64
      linalg.yield %0 : f64
    } -> tensor<4x16xf64>
    %q64 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%d64, %d64 : tensor<4x16xf64>, tensor<4x16xf64>) outs(%e64 : tensor<4x16xf64>) {
    ^bb0(%in: f64, %in_0: f64, %out: f64):
      %0 = arith.mulf %in, %in_0 : f64
      linalg.yield %0 : f64
    } -> tensor<4x16xf64>
    %ss64 = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%q64 : tensor<4x16xf64>) outs(%r64 : tensor<4x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = arith.addf %in, %out : f64
      linalg.yield %0 : f64
    } -> tensor<4x1xf64>
    %v64 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%ss64 : tensor<4x1xf64>) outs(%r64e : tensor<4x1xf64>) {
    ^bb0(%in: f64, %out: f64):
      %0 = arith.divf %in, %n64 : f64
      linalg.yield %0 : f64
    } -> tensor<4x1xf64>
    %re = tensor.empty() : tensor<4x1xf32>
    %v = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%v64 : tensor<4x1xf64>) outs(%re : tensor<4x1xf32>) {
    ^bb0(%in: f64, %out: f32):
      %0 = arith.truncf %in : f64 to f32
      linalg.yield %0 : f32
    } -> tensor<4x1xf32>
    %r = linalg.fill ins(%zero : f32) outs(%re : tensor<4x1xf32>) -> tensor<4x1xf32>
    %s = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%h2 : tensor<4x16xf32>) outs(%r : tensor<4x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<4x1xf32>
    %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x1xf32>) outs(%re : tensor<4x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.divf %in, %n : f32
      linalg.yield %0 : f32
    } -> tensor<4x1xf32>
    %ve = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%v : tensor<4x1xf32>) outs(%re : tensor<4x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.truncf %eps : f64 to f32
      %1 = arith.addf %in, %0 : f32
      linalg.yield %1 : f32
    } -> tensor<4x1xf32>
    %rs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%ve : tensor<4x1xf32>) outs(%re : tensor<4x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = math.rsqrt %in : f32
      linalg.yield %0 : f32
    } -> tensor<4x1xf32>
    %c = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%h2, %mean : tensor<4x16xf32>, tensor<4x1xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.subf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x16xf32>
    %nrm = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%c, %rs : tensor<4x16xf32>, tensor<4x1xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.mulf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x16xf32>
    %sc = linalg.generic {indexing_maps = [#id, #vec, #id], iterator_types = ["parallel", "parallel"]} ins(%nrm, %gamma : tensor<4x16xf32>, tensor<16xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.mulf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x16xf32>
    %h3 = linalg.generic {indexing_maps = [#id, #vec, #id], iterator_types = ["parallel", "parallel"]} ins(%sc, %beta : tensor<4x16xf32>, tensor<16xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.addf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x16xf32>

    // SiLU: sigmoid, then the product with x.
    %sg = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%h3 : tensor<4x16xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.negf %in : f32
      %1 = math.exp %0 : f32
      %2 = arith.addf %1, %one : f32
      %3 = arith.divf %one, %2 : f32
      linalg.yield %3 : f32
    } -> tensor<4x16xf32>
    %h4 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%sg, %h3 : tensor<4x16xf32>, tensor<4x16xf32>) outs(%e1 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.mulf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x16xf32>

    // Linear(16, 8) with the transposed-B maps; the bias first in the add.
    %e2 = tensor.empty() : tensor<4x8xf32>
    %f2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x8xf32>) -> tensor<4x8xf32>
    %m2 = linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
           ins(%h4, %w2 : tensor<4x16xf32>, tensor<8x16xf32>) outs(%f2 : tensor<4x8xf32>) -> tensor<4x8xf32>
    %h5 = linalg.generic {indexing_maps = [#vec, #id, #id], iterator_types = ["parallel", "parallel"]} ins(%b2, %m2 : tensor<8xf32>, tensor<4x8xf32>) outs(%e2 : tensor<4x8xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.addf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x8xf32>

    // Softmax over the last dim: max without keepdim (with argmax),
    // expand_shape back, exp(x - max) in one generic, sum, divide.
    %ie = tensor.empty() : tensor<4xi64>
    %ii = linalg.fill ins(%c0 : i64) outs(%ie : tensor<4xi64>) -> tensor<4xi64>
    %me = tensor.empty() : tensor<4xf32>
    %mi = linalg.fill ins(%ninf : f32) outs(%me : tensor<4xf32>) -> tensor<4xf32>
    %mx:2 = linalg.generic {indexing_maps = [#id, #red, #red], iterator_types = ["parallel", "reduction"]} ins(%h5 : tensor<4x8xf32>) outs(%mi, %ii : tensor<4xf32>, tensor<4xi64>) {
    ^bb0(%in: f32, %out: f32, %out_0: i64):
      %0 = linalg.index 1 : index
      %1 = arith.index_cast %0 : index to i64
      %2 = arith.maximumf %in, %out : f32
      %3 = arith.cmpf ogt, %in, %out : f32
      %4 = arith.select %3, %1, %out_0 : i64
      linalg.yield %2, %4 : f32, i64
    } -> (tensor<4xf32>, tensor<4xi64>)
    %mk = tensor.expand_shape %mx#0 [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
    %ex = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%h5, %mk : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e2 : tensor<4x8xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.subf %in, %in_0 : f32
      %1 = math.exp %0 : f32
      linalg.yield %1 : f32
    } -> tensor<4x8xf32>
    %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%ex : tensor<4x8xf32>) outs(%r : tensor<4x1xf32>) {
    ^bb0(%in: f32, %out: f32):
      %0 = arith.addf %in, %out : f32
      linalg.yield %0 : f32
    } -> tensor<4x1xf32>
    %y = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%ex, %sum : tensor<4x8xf32>, tensor<4x1xf32>) outs(%e2 : tensor<4x8xf32>) {
    ^bb0(%in: f32, %in_0: f32, %out: f32):
      %0 = arith.divf %in, %in_0 : f32
      linalg.yield %0 : f32
    } -> tensor<4x8xf32>
    return %y : tensor<4x8xf32>
  }

  func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

  func.func @main() {
    %x = arith.constant dense<[[4.662208e-01, -1.064265e-01, -3.285256e+00, -8.745360e-01, -1.077864e+00, 2.790808e-01, 6.523169e-01, 1.627132e+00], [7.627416e-01, 4.138126e-01, -6.864954e-01, -9.439874e-02, -9.784214e-01, 1.833018e-01, 1.050712e-01, 9.646719e-01], [6.471937e-01, 1.016419e+00, 1.971182e+00, 4.162313e-01, -8.943737e-01, -2.046348e+00, -3.372982e-01, -2.412396e-01], [-6.254067e-01, -1.261893e+00, 6.455671e-01, 8.248885e-01, 1.599075e-01, -1.797393e-01, -3.361560e-01, -1.413372e+00]]> : tensor<4x8xf32>
    %y = call @forward(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %m = bufferization.to_buffer %y : tensor<4x8xf32> to memref<4x8xf32>
    %u = memref.cast %m : memref<4x8xf32> to memref<*xf32>
    call @printMemrefF32(%u) : (memref<*xf32>) -> ()
    return
  }
}
