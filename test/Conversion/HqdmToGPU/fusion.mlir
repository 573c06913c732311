// The ops around a quantized layer that convert-hqdm-to-gpu runs in the
// layer's kernels (fuse-ops, the default): LayerNorm, modulate, SiLU and GELU
// producers in a linear layer's prologue, elementwise consumers in the GEMM's
// epilogue; and the ones it leaves alone, with the reason.
// RUN: hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_90})' \
// RUN:   --remarks-filter=hqdm-lower-to-cuda 2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// Without libdevice no fused code may call a math function.
// RUN: hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_90 fuse-gelu=false})' \
// RUN:   --remarks-filter=hqdm-lower-to-cuda 2>&1 >/dev/null | FileCheck %s --check-prefix=NOMATH
// fuse-ops=false fuses nothing.
// RUN: hqdm-opt %s --split-input-file --pass-pipeline='builtin.module(convert-hqdm-to-gpu{chip=sm_90 fuse-ops=false})' \
// RUN:   --remarks-filter=hqdm-lower-to-cuda 2>&1 >/dev/null | FileCheck %s --check-prefix=OFF
// OFF-NOT: runs

// LayerNorm + modulate before the rotation: the prologue reads x and the
// adaLN output (not its slices), normalizes with correctly rounded sqrt,
// and reads shift[b, k] at column k, scale[b, k] at column 64 + k, with
// b = row / 16.
// REMARK: Remark="qlinear0: 32x8x64 A4 per-token W4, hadamard block 32, mma.sync m16n8k32 s8, tile 64x64x64, prologue runs layer_norm, modulate"
// CHECK-LABEL: func.func @norm_modulate
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>, %[[ADA:.*]]: tensor<2x128xf32>)
// CHECK-NOT: hqdm.layer_norm
// CHECK-NOT: hqdm.modulate
// CHECK: %[[XM:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]]
// CHECK: hqdm.gpu_launch "qlinear0" ins(%[[XM]], %{{.*}}, %{{.*}}, %[[ADA]] :
// CHECK-SAME: args = array<i64: 0, 6, 5, 3>
// CHECK: gpu.func @qlinear0_prologue(%{{.*}}: memref<32x64xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<64x8xi32>, %[[A:.*]]: memref<2x128xf32>)
// CHECK: gpu.shuffle xor
// CHECK: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"
// CHECK: %[[B:.*]] = arith.divui %{{.*}}, %c16 : index
// CHECK: memref.load %[[A]][%[[B]], %[[K:.*]]] : memref<2x128xf32>
// CHECK: %[[K64:.*]] = arith.addi %[[K]], %c64
// CHECK: memref.load %[[A]][%[[B]], %[[K64]]] : memref<2x128xf32>
// CHECK: gpu.func @qlinear0_gemm
func.func @norm_modulate(%x: tensor<2x16x64xf32>, %ada: tensor<2x128xf32>) -> tensor<2x16x8xf32> {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %shift = tensor.extract_slice %ada[0, 0] [2, 64] [1, 1] : tensor<2x128xf32> to tensor<2x64xf32>
  %scale = tensor.extract_slice %ada[0, 64] [2, 64] [1, 1] : tensor<2x128xf32> to tensor<2x64xf32>
  %n = hqdm.layer_norm %x {epsilon = 1.0e-06 : f32} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %m = hqdm.modulate %n, %shift, %scale : (tensor<2x16x64xf32>, tensor<2x64xf32>, tensor<2x64xf32>) -> tensor<2x16x64xf32>
  %r = hqdm.hadamard %m <block = 32> {axis = 2 : i64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  %s = hqdm.token_scale %r <bits = 4> : tensor<2x16x64xf32> -> tensor<2x16xf32>
  %q = hqdm.quantize %r, %s <bits = 4, granularity = per_token> : (tensor<2x16x64xf32>, tensor<2x16xf32>) -> tensor<2x16x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<2x16x64xi8>, tensor<8x64xi8>, tensor<2x16xf32>, tensor<8xf32>) -> tensor<2x16x8xf32>
  return %y : tensor<2x16x8xf32>
}

// -----

// A LayerNorm with an affine: weight and bias [K] are read at column k.
// A LayerNorm whose result is also returned is not fused (it would have to
// run anyway), but the modulate after it is.
// REMARK: Remark="qlinear0: 4x8x64 A8 per-token W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64, prologue runs layer_norm"
// REMARK: Remark="qlinear1: 4x8x64 A8 per-token W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64, prologue runs modulate"
// CHECK-LABEL: func.func @affine_and_shared
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>, %[[S:.*]]: tensor<4x64xf32>)
// CHECK: hqdm.gpu_launch "qlinear0" ins(%[[X]], %{{.*}}, %{{.*}}, %[[G]], %[[B]] :
// CHECK: %[[N:.*]] = hqdm.layer_norm %[[X]]
// CHECK: hqdm.gpu_launch "qlinear1" ins(%[[N]], %{{.*}}, %{{.*}}, %[[S]] :
// CHECK: gpu.func @qlinear0_prologue
// CHECK-SAME: %[[GW:[a-z0-9]*]]: memref<64xf32>, %[[BW:[a-z0-9]*]]: memref<64xf32>)
// CHECK: memref.load %[[GW]][%[[C:.*]]] : memref<64xf32>
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: memref.load %[[BW]][%[[C]]] : memref<64xf32>
// CHECK-NEXT: arith.addf
func.func @affine_and_shared(%x: tensor<4x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %sh: tensor<4x64xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x64xf32>) {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %na = hqdm.layer_norm %x weight(%g) bias(%b) {epsilon = 1.0e-05 : f32} : (tensor<4x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  %sa = hqdm.token_scale %na <bits = 8> : tensor<4x64xf32> -> tensor<4xf32>
  %qa = hqdm.quantize %na, %sa <bits = 8, granularity = per_token> : (tensor<4x64xf32>, tensor<4xf32>) -> tensor<4x64xi8>
  %ya = hqdm.qlinear %qa, %w scales(%sa, %sw) : (tensor<4x64xi8>, tensor<8x64xi8>, tensor<4xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %n = hqdm.layer_norm %x {epsilon = 1.0e-05 : f32} : (tensor<4x64xf32>) -> tensor<4x64xf32>
  %m = hqdm.modulate %n, %sh, %sh : (tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %s = hqdm.token_scale %m <bits = 8> : tensor<4x64xf32> -> tensor<4xf32>
  %q = hqdm.quantize %m, %s <bits = 8, granularity = per_token> : (tensor<4x64xf32>, tensor<4xf32>) -> tensor<4x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<4x64xi8>, tensor<8x64xi8>, tensor<4xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %ya, %y, %n : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x64xf32>
}

// -----

// The gate multiply and residual add after a layer run in its epilogue: the
// launch replaces the add, reads the gate from the adaLN output at column
// 128 + n (a slice expanded to [2, 1, 8]) and the residual at (b, t, n),
// with row = 16 b + t.
// REMARK: Remark="qlinear0: 32x8x64 A8 given-scale W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64, epilogue runs 2 elementwise ops"
// CHECK-LABEL: func.func @gate_residual
// CHECK-SAME: (%[[X:.*]]: tensor<2x16x64xf32>, %[[S:.*]]: tensor<f32>, %[[ADA:.*]]: tensor<2x384xf32>, %[[RES:.*]]: tensor<2x16x8xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Y:.*]] = hqdm.gpu_launch "qlinear0" ins(%{{.*}}, %[[S]], %{{.*}}, %{{.*}}, %[[ADA]], %[[RES]] :
// CHECK-SAME: args = array<i64: 7, 1, 2, 3, 4, 5, 6>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[Y]]
// CHECK: return %[[E]]
// CHECK: gpu.func @qlinear0_gemm(%{{.*}}: memref<64x16xi32>, %{{.*}}: memref<f32>, %{{.*}}: memref<1x64x8xi32>, %{{.*}}: memref<8xf32>, %[[A:.*]]: memref<2x384xf32>, %[[R:.*]]: memref<2x16x8xf32>, %[[OUT:.*]]: memref<32x8xf32>)
// CHECK: %[[T:.*]] = arith.remui %[[ROW:.*]], %c16{{.*}} : index
// CHECK: %[[BATCH:.*]] = arith.divui %[[ROW]], %c16{{.*}} : index
// CHECK: arith.addi %{{.*}}, %[[N:.*]] : index
// CHECK: %[[COL:.*]] = arith.addi %{{.*}}, %c128{{.*}} : index
// CHECK: %[[GV:.*]] = memref.load %[[A]][%[[BATCH]], %[[COL]]]
// CHECK: %[[P:.*]] = arith.mulf %[[GV]], %{{.*}} : f32
// CHECK: %[[RV:.*]] = memref.load %[[R]][%[[BATCH]], %[[T]], %[[N]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[RV]], %[[P]] : f32
// CHECK: memref.store %[[SUM]], %[[OUT]][%[[ROW]], %[[N]]]
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#gate = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
func.func @gate_residual(%x: tensor<2x16x64xf32>, %s: tensor<f32>, %ada: tensor<2x384xf32>, %res: tensor<2x16x8xf32>) -> tensor<2x16x8xf32> {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<2x16x64xf32>, tensor<f32>) -> tensor<2x16x64xi8>
  %y = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<2x16x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<2x16x8xf32>
  %g2 = tensor.extract_slice %ada[0, 128] [2, 8] [1, 1] : tensor<2x384xf32> to tensor<2x8xf32>
  %g = tensor.expand_shape %g2 [[0], [1, 2]] output_shape [2, 1, 8] : tensor<2x8xf32> into tensor<2x1x8xf32>
  %e = tensor.empty() : tensor<2x16x8xf32>
  %gated = linalg.generic {indexing_maps = [#gate, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%g, %y : tensor<2x1x8xf32>, tensor<2x16x8xf32>) outs(%e : tensor<2x16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<2x16x8xf32>
  %out = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%res, %gated : tensor<2x16x8xf32>, tensor<2x16x8xf32>) outs(%e : tensor<2x16x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %sum = arith.addf %a, %b : f32
    linalg.yield %sum : f32
  } -> tensor<2x16x8xf32>
  return %out : tensor<2x16x8xf32>
}

// -----

// Consumers that stay: one that accumulates into its output, one that reads
// the result transposed, and (without libdevice) one that calls exp. A SiLU
// producer needs libdevice too.
// REMARK: Remark="a consumer of qlinear0 is not fused into its epilogue: it reads or permutes its output"
// REMARK: Remark="a consumer of qlinear1 is not fused into its epilogue: it reads the layer's result permuted"
// REMARK: Remark="qlinear2: 8x8x64 A8 given-scale W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64, prologue runs silu, epilogue runs 1 elementwise op"
// NOMATH: Remark="a consumer of qlinear2 is not fused into its epilogue: its payload needs libdevice, which was not found"
// NOMATH: Remark="qlinear2: 8x8x64 A8 given-scale W4, hadamard block 1, mma.sync m16n8k32 s8, tile 64x64x64"{{$}}
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#tr2 = affine_map<(d0, d1) -> (d1, d0)>
func.func @left_alone(%x: tensor<8x64xf32>, %s: tensor<f32>, %acc: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) {
  %w = arith.constant dense<3> : tensor<8x64xi8>
  %sw = arith.constant dense<0.5> : tensor<8xf32>
  %q = hqdm.quantize %x, %s <bits = 8> : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi8>
  %y0 = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<8x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<8x8xf32>
  %a = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y0 : tensor<8x8xf32>) outs(%acc : tensor<8x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %t = arith.addf %v, %o : f32
    linalg.yield %t : f32
  } -> tensor<8x8xf32>
  %y1 = hqdm.qlinear %q, %w scales(%s, %sw) : (tensor<8x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<8x8xf32>
  %e = tensor.empty() : tensor<8x8xf32>
  %t = linalg.generic {indexing_maps = [#tr2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y1 : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  } -> tensor<8x8xf32>
  %xs = hqdm.silu %x : tensor<8x64xf32>
  %q2 = hqdm.quantize %xs, %s <bits = 8> : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi8>
  %y2 = hqdm.qlinear %q2, %w scales(%s, %sw) : (tensor<8x64xi8>, tensor<8x64xi8>, tensor<f32>, tensor<8xf32>) -> tensor<8x8xf32>
  %x2 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%y2 : tensor<8x8xf32>) outs(%e : tensor<8x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %ex = math.exp %v : f32
    linalg.yield %ex : f32
  } -> tensor<8x8xf32>
  return %a, %t, %x2 : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
}
