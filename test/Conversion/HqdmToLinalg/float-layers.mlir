// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg | FileCheck %s
// RUN: hqdm-opt %s -split-input-file -convert-hqdm-to-linalg | FileCheck %s --check-prefix=NOHQDM

// The float layers become linalg on tensors computed in f32; no hqdm op is
// left, not even the hqdm.hadamard that an input_rotation creates.
// NOHQDM-NOT: hqdm.

// linear: an f32 reduction over K reading W [N, K] through a transposed map,
// then the bias broadcast along N.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[N:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[XA:.*]]: tensor<16x64xf32>, %[[WA:.*]]: tensor<32x64xf32>, %[[BA:.*]]: tensor<32xf32>)
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<16x32xf32>)
// CHECK: %[[ACC:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[XA]], %[[WA]] : tensor<16x64xf32>, tensor<32x64xf32>) outs(%[[INIT]] : tensor<16x32xf32>)
// CHECK:   %[[P:.*]] = arith.mulf
// CHECK:   arith.addf %{{.*}}, %[[P]]
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[N]], #[[ID]]], {{.*}}} ins(%[[ACC]], %[[BA]] : tensor<16x32xf32>, tensor<32xf32>)
// CHECK:   arith.addf
// CHECK: return %[[R]]
func.func @linear(%x: tensor<16x64xf32>, %w: tensor<32x64xf32>,
                  %b: tensor<32xf32>) -> tensor<16x32xf32> {
  %y = hqdm.linear %x, %w bias(%b)
      : (tensor<16x64xf32>, tensor<32x64xf32>, tensor<32xf32>)
      -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

// input_rotation: the weight's K axis is rotated (the Hadamard lowering's
// butterflies and 1/sqrt(32)) before the product; with neither bias nor a
// narrow type, the product is the result.

// CHECK-LABEL: func @linear_rotation
// CHECK-SAME: (%[[XA:.*]]: tensor<2x8x64xf32>, %[[WA:.*]]: tensor<16x64xf32>)
// CHECK: tensor.expand_shape %[[WA]] {{\[\[}}0], [1, 2, 3, 4, 5, 6]] output_shape [16, 2, 2, 2, 2, 2, 2]
// CHECK: tensor.collapse_shape
// CHECK: %[[WR:.*]] = linalg.generic
// CHECK:   arith.constant 0.176776692 : f32
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%[[XA]], %[[WR]] : tensor<2x8x64xf32>, tensor<16x64xf32>) outs(%{{.*}} : tensor<2x8x16xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT:   arith.mulf
// CHECK-NEXT:   arith.addf
// CHECK-NEXT:   linalg.yield
// CHECK-NEXT: }
// CHECK-NEXT: return %[[ACC]]
func.func @linear_rotation(%x: tensor<2x8x64xf32>, %w: tensor<16x64xf32>)
    -> tensor<2x8x16xf32> {
  %y = hqdm.linear %x, %w {input_rotation = #hqdm.hadamard<block = 32>}
      : (tensor<2x8x64xf32>, tensor<16x64xf32>) -> tensor<2x8x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// input_shift: (x + s) in f32 (s a constant [K]) before the product;
// activation_scales is metadata and changes nothing.

// CHECK-DAG: #[[XS:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @linear_input_shift
// CHECK-SAME: (%[[XA:.*]]: tensor<4x8xf16>, %[[WA:.*]]: tensor<2x8xf16>)
// CHECK: %[[SHIFT:.*]] = arith.constant dense<[5.000000e-01, {{.*}}]> : tensor<8xf32>
// CHECK: %[[XS2:.*]] = linalg.generic {indexing_maps = [#[[XS]], #[[K]], #[[XS]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[XA]], %[[SHIFT]] : tensor<4x8xf16>, tensor<8xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK:   %[[XF:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK:   arith.addf %[[XF]], %{{.*}} : f32
// CHECK: linalg.generic {{.*}} ins(%[[XS2]], %[[WA]] : tensor<4x8xf32>, tensor<2x8xf16>) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @linear_input_shift(%x: tensor<4x8xf16>, %w: tensor<2x8xf16>)
    -> tensor<4x2xf16> {
  %y = hqdm.linear %x, %w {
      input_shift = dense<[0.5, 1.0, 0.0, -0.25, 0.5, 0.5, 2.0, 0.125]>
          : tensor<8xf32>,
      activation_scales = #hqdm.scale_table<steps = [999.0, 0.0],
          group_starts = [0], scales = [0.05], zero_points = []>}
      : (tensor<4x8xf16>, tensor<2x8xf16>) -> tensor<4x2xf16>
  return %y : tensor<4x2xf16>
}

// -----

// bf16 with a block-12 rotation: the weight is extended to f32 and rotated
// there (the dense 12 x 12 product), the input is extended where it is read,
// and only the result is truncated.

// CHECK-LABEL: func @linear_bf16_rotation
// CHECK-SAME: (%[[XA:.*]]: tensor<4x48xbf16>, %[[WA:.*]]: tensor<8x48xbf16>, %[[BA:.*]]: tensor<8xbf16>)
// CHECK: %[[WF:.*]] = linalg.generic {{.*}} ins(%[[WA]] : tensor<8x48xbf16>) outs(%{{.*}} : tensor<8x48xf32>)
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK: tensor.expand_shape %[[WF]] {{\[\[}}0], [1, 2]] output_shape [8, 4, 12]
// CHECK: arith.constant dense<{{.*}}> : tensor<12x12xf32>
// CHECK: arith.constant 0.288675129 : f32
// CHECK: %[[ACC:.*]] = linalg.generic {{.*}} ins(%[[XA]], %{{.*}} : tensor<4x48xbf16>, tensor<8x48xf32>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK:   %[[XF:.*]] = arith.extf %{{.*}} : bf16 to f32
// CHECK:   arith.mulf %[[XF]], %{{.*}} : f32
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %[[BA]] : tensor<4x8xf32>, tensor<8xbf16>) outs(%{{.*}} : tensor<4x8xbf16>)
// CHECK:   %[[BF:.*]] = arith.extf %{{.*}} : bf16 to f32
// CHECK:   %[[S:.*]] = arith.addf %{{.*}}, %[[BF]] : f32
// CHECK:   arith.truncf %[[S]] : f32 to bf16
func.func @linear_bf16_rotation(%x: tensor<4x48xbf16>, %w: tensor<8x48xbf16>,
                                %b: tensor<8xbf16>) -> tensor<4x8xbf16> {
  %y = hqdm.linear %x, %w bias(%b) {input_rotation = #hqdm.hadamard<block = 12>}
      : (tensor<4x48xbf16>, tensor<8x48xbf16>, tensor<8xbf16>)
      -> tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----

// conv2d: the weight rotated along its axis 1 (every kernel tap's channel
// vector), the input zero-padded, linalg.conv_2d_nchw_fchw with the op's
// strides and dilations as dense attributes, then the bias along F.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[F:.*]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func @conv2d
// CHECK-SAME: (%[[XA:.*]]: tensor<1x32x8x8xf32>, %[[WA:.*]]: tensor<8x32x3x3xf32>, %[[BA:.*]]: tensor<8xf32>)
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x8x4x3xf32>)
// CHECK: tensor.expand_shape %[[WA]] {{\[\[}}0], [1, 2, 3, 4, 5], [6], [7]] output_shape [8, 2, 2, 2, 2, 2, 3, 3]
// CHECK: tensor.collapse_shape
// CHECK: %[[WR:.*]] = linalg.generic
// CHECK:   arith.constant 2.500000e-01 : f32
// CHECK: %[[PAD:.*]] = tensor.pad %[[XA]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK:   tensor.yield %{{.*}} : f32
// CHECK: %[[ACC:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<[1, 2]> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
// CHECK-SAME: ins(%[[PAD]], %[[WR]] : tensor<1x32x10x10xf32>, tensor<8x32x3x3xf32>) outs(%[[INIT]] : tensor<1x8x4x3xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[F]], #[[ID]]], {{.*}}} ins(%[[ACC]], %[[BA]] : tensor<1x8x4x3xf32>, tensor<8xf32>)
// CHECK:   arith.addf
func.func @conv2d(%x: tensor<1x32x8x8xf32>, %w: tensor<8x32x3x3xf32>,
                  %b: tensor<8xf32>) -> tensor<1x8x4x3xf32> {
  %y = hqdm.conv2d %x, %w bias(%b)
      {padding = array<i64: 1, 1>, strides = array<i64: 2, 2>,
       dilations = array<i64: 1, 2>,
       input_rotation = #hqdm.hadamard<block = 16>}
      : (tensor<1x32x8x8xf32>, tensor<8x32x3x3xf32>, tensor<8xf32>)
      -> tensor<1x8x4x3xf32>
  return %y : tensor<1x8x4x3xf32>
}

// -----

// f16 conv2d: the named op reads f16 operands into an f32 accumulator; no
// padding; the result is truncated.

// CHECK-LABEL: func @conv2d_f16
// CHECK-NOT: tensor.pad
// CHECK: %[[ACC:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<1x4x8x8xf16>, tensor<4x4x3x3xf16>) outs(%{{.*}} : tensor<1x4x6x6xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[ACC]] : tensor<1x4x6x6xf32>) outs(%{{.*}} : tensor<1x4x6x6xf16>)
// CHECK:   arith.truncf %{{.*}} : f32 to f16
func.func @conv2d_f16(%x: tensor<1x4x8x8xf16>, %w: tensor<4x4x3x3xf16>)
    -> tensor<1x4x6x6xf16> {
  %y = hqdm.conv2d %x, %w
      : (tensor<1x4x8x8xf16>, tensor<4x4x3x3xf16>) -> tensor<1x4x6x6xf16>
  return %y : tensor<1x4x6x6xf16>
}

// -----

// GELU (erf, and tanh with sqrt(2/pi) = 0.7978845608 rounded to f32) and
// SiLU, one elementwise generic each.

// CHECK-LABEL: func @activations
// CHECK: linalg.generic
// CHECK:   %[[C:.*]] = arith.constant 1.41421354 : f32
// CHECK:   %[[S:.*]] = arith.divf %{{.*}}, %[[C]] : f32
// CHECK:   %[[E:.*]] = math.erf %[[S]] : f32
// CHECK:   arith.addf %{{.*}}, %[[E]] : f32
// CHECK: linalg.generic
// CHECK:   arith.constant 4.471500e-02 : f32
// CHECK:   %[[K:.*]] = arith.constant 0.797884583 : f32
// CHECK:   %[[I:.*]] = arith.mulf %[[K]], %{{.*}} : f32
// CHECK:   math.tanh %[[I]] : f32
// CHECK: linalg.generic
// CHECK:   %[[N:.*]] = arith.negf
// CHECK:   %[[X:.*]] = math.exp %[[N]]
// CHECK:   %[[D:.*]] = arith.addf %{{.*}}, %[[X]]
// CHECK:   arith.divf %{{.*}}, %[[D]]
func.func @activations(%x: tensor<4x64xf32>)
    -> (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) {
  %g = hqdm.gelu %x : tensor<4x64xf32>
  %t = hqdm.gelu %x approximate tanh : tensor<4x64xf32>
  %s = hqdm.silu %x : tensor<4x64xf32>
  return %g, %t, %s : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// layer_norm: a sum, the mean, the sum of squared deviations from it (two
// passes over D), then (x - mean) / sqrt(var + eps) * weight + bias.

// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[D:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func @layer_norm
// CHECK: %[[COUNT:.*]] = arith.constant 6.400000e+01 : f32
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:   arith.addf
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<2x16xf32>)
// CHECK:   arith.divf %{{.*}}, %[[COUNT]]
// CHECK: %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[MEAN]] :
// CHECK:   %[[DEV:.*]] = arith.subf
// CHECK:   arith.mulf %[[DEV]], %[[DEV]]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[ROW]], #[[ROW]], #[[D]], #[[D]], #{{.*}}], {{.*}}} ins(%{{.*}}, %[[MEAN]], %[[SQ]], %{{.*}}, %{{.*}} :
// CHECK:   %[[VAR:.*]] = arith.divf %{{.*}}, %[[COUNT]]
// CHECK:   %[[EPS:.*]] = arith.constant 9.99999997E-7 : f32
// CHECK:   %[[SHIFTED:.*]] = arith.addf %[[VAR]], %[[EPS]]
// CHECK:   %[[STD:.*]] = math.sqrt %[[SHIFTED]]
// CHECK:   %[[CENTERED:.*]] = arith.subf
// CHECK:   %[[NORM:.*]] = arith.divf %[[CENTERED]], %[[STD]]
// CHECK:   %[[SCALED:.*]] = arith.mulf %[[NORM]]
// CHECK:   arith.addf %[[SCALED]]
func.func @layer_norm(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>,
                      %b: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %y = hqdm.layer_norm %x weight(%w) bias(%b) {epsilon = 1.0e-06 : f32}
      : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>)
      -> tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
}

// -----

// A dynamic D: the element count comes from tensor.dim at run time.

// CHECK-LABEL: func @layer_norm_dynamic
// CHECK: %[[DIM:.*]] = tensor.dim %{{.*}}, %{{.*}} : tensor<?x?xf16>
// CHECK: %[[INT:.*]] = arith.index_cast %[[DIM]] : index to i64
// CHECK: %[[COUNT:.*]] = arith.sitofp %[[INT]] : i64 to f32
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.divf %{{.*}}, %[[COUNT]]
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @layer_norm_dynamic(%x: tensor<?x?xf16>) -> tensor<?x?xf16> {
  %y = hqdm.layer_norm %x : (tensor<?x?xf16>) -> tensor<?x?xf16>
  return %y : tensor<?x?xf16>
}

// -----

// group_norm: [N, C, H, W] -> [N, G, C/G, H, W], normalized per (n, g) over
// the trailing dimensions with weight and bias as [G, C/G], then collapsed.

// CHECK-DAG: #[[GROUP:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>
// CHECK-DAG: #[[CH:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d2)>
// CHECK-LABEL: func @group_norm
// CHECK-SAME: (%[[XA:.*]]: tensor<1x32x8x8xf32>, %[[WA:.*]]: tensor<32xf32>, %[[BA:.*]]: tensor<32xf32>)
// CHECK: %[[X:.*]] = tensor.expand_shape %[[XA]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 8, 4, 8, 8]
// CHECK: %[[W:.*]] = tensor.expand_shape %[[WA]] {{\[\[}}0, 1]] output_shape [8, 4]
// CHECK: %[[B:.*]] = tensor.expand_shape %[[BA]] {{\[\[}}0, 1]] output_shape [8, 4]
// CHECK: arith.constant 2.560000e+02 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]} ins(%[[X]] : tensor<1x8x4x8x8xf32>) outs(%{{.*}} : tensor<1x8xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[GROUP]], #[[GROUP]], #[[CH]], #[[CH]], #{{.*}}], {{.*}}} ins(%[[X]], %{{.*}}, %{{.*}}, %[[W]], %[[B]] :
// CHECK: %[[R:.*]] = tensor.collapse_shape %[[Y]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x8x4x8x8xf32> into tensor<1x32x8x8xf32>
// CHECK: return %[[R]]
func.func @group_norm(%x: tensor<1x32x8x8xf32>, %w: tensor<32xf32>,
                      %b: tensor<32xf32>) -> tensor<1x32x8x8xf32> {
  %y = hqdm.group_norm %x weight(%w) bias(%b) {groups = 8 : i64}
      : (tensor<1x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>)
      -> tensor<1x32x8x8xf32>
  return %y : tensor<1x32x8x8xf32>
}

// -----

// softmax along axis 1: the maximum (from -inf), the sum of exp(x - max),
// then exp(x - max) / sum, all reducing the axis-1 dimension.

// CHECK-DAG: #[[OTHERS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @softmax
// CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[OTHERS]]], iterator_types = ["parallel", "reduction", "parallel"]} {{.*}} outs(%[[INIT]] : tensor<4x8xf32>)
// CHECK:   arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[MAX]] :
// CHECK:   math.exp
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel"]} ins(%{{.*}}, %[[MAX]], %[[SUM]] :
// CHECK:   %[[D:.*]] = arith.subf
// CHECK:   %[[E:.*]] = math.exp %[[D]]
// CHECK:   arith.divf %[[E]]
func.func @softmax(%x: tensor<4x16x8xf32>) -> tensor<4x16x8xf32> {
  %p = hqdm.softmax %x {axis = 1 : i64} : tensor<4x16x8xf32>
  return %p : tensor<4x16x8xf32>
}

// -----

// modulate: shift and scale [B, D] broadcast over the tokens,
// x * (1 + scale) + shift.

// CHECK-DAG: #[[BD:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @modulate
// CHECK-SAME: (%[[XA:.*]]: tensor<2x16x64xf32>, %[[SHIFT:.*]]: tensor<2x64xf32>, %[[SCALE:.*]]: tensor<2x64xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[BD]], #[[BD]], #{{.*}}], {{.*}}} ins(%[[XA]], %[[SHIFT]], %[[SCALE]] :
// CHECK: ^bb0(%[[X:.*]]: f32, %[[SH:.*]]: f32, %[[SC:.*]]: f32, %{{.*}}: f32):
// CHECK:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:   %[[FACTOR:.*]] = arith.addf %[[ONE]], %[[SC]]
// CHECK:   %[[SCALED:.*]] = arith.mulf %[[X]], %[[FACTOR]]
// CHECK:   arith.addf %[[SCALED]], %[[SH]]
func.func @modulate(%x: tensor<2x16x64xf32>, %shift: tensor<2x64xf32>,
                    %scale: tensor<2x64xf32>) -> tensor<2x16x64xf32> {
  %y = hqdm.modulate %x, %shift, %scale
      : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>)
      -> tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
}

// -----

// tensor_scale: absmax over every dimension into a rank-0 tensor, then / 127.

// CHECK-LABEL: func @tensor_scale
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<f32>)
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%{{.*}} : tensor<1x64x8x8xbf16>) outs(%[[INIT]] : tensor<f32>)
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK:   math.absf
// CHECK:   arith.maximumf
// CHECK: linalg.generic {{.*}} ins(%[[MAX]] : tensor<f32>)
// CHECK:   arith.constant 1.270000e+02 : f32
// CHECK:   arith.divf
func.func @tensor_scale(%x: tensor<1x64x8x8xbf16>) -> tensor<f32> {
  %s = hqdm.tensor_scale %x <bits = 8> : tensor<1x64x8x8xbf16> -> tensor<f32>
  return %s : tensor<f32>
}
