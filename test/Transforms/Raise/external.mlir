// Raising IR that torch-mlir emitted for real models (see Inputs/ for where
// each file comes from and what was changed).

// RUN: hqdm-opt %S/Inputs/tpp-mlp-fp32.mlir -hqdm-raise | FileCheck %s --check-prefix=TPP
// RUN: hqdm-opt %S/Inputs/bert-tiny-linalg.mlir -hqdm-raise -o %t.bert.mlir --remarks-filter='hqdm.*' 2> %t.bert.remarks
// RUN: FileCheck %s --check-prefix=BERT < %t.bert.mlir
// RUN: FileCheck %s --check-prefix=BERT-REMARK < %t.bert.remarks
// RUN: hqdm-opt %S/../../Models/dit_block.mlir -hqdm-raise | FileCheck %s --check-prefix=DIT
// RUN: hqdm-opt %S/../../Models/unet_resblock.mlir -hqdm-raise | FileCheck %s --check-prefix=RESBLOCK
// RUN: hqdm-opt %S/../../Models/mlp.mlir -hqdm-raise | FileCheck %s --check-prefix=MLP

// The TorchDynamo MLP, three Linear(1024, 1024) with bias (transposing copy
// generics, the bias first in the add); the ReLUs stay.
// TPP-LABEL: func.func @forward
// TPP-NOT: linalg.matmul
// TPP: hqdm.linear %arg0, %{{.*}} bias(%{{.*}}) {name = "linear_0"} : (tensor<256x1024xf32>, tensor<1024x1024xf32>, tensor<1024xf32>) -> tensor<256x1024xf32>
// TPP: arith.cmpf ugt
// TPP: hqdm.linear %{{.*}}, %{{.*}} bias(%{{.*}}) {name = "linear_1"}
// TPP: arith.cmpf ugt
// TPP: hqdm.linear %{{.*}}, %{{.*}} bias(%{{.*}}) {name = "linear_2"}
// TPP: arith.cmpf ugt
// TPP-NOT: linalg.matmul
// TPP-NOT: hqdm.

// bert-tiny (2 layers, hidden 128, 2 heads, FFN 512): the embedding
// LayerNorm, per layer q/k/v, the attention softmax, the output projection,
// LayerNorm, FFN in (GELU erf) and out, LayerNorm; then the pooler and the
// classifier. The Q*K^T and P*V batch matmuls, the pooler's tanh and the
// embedding gathers stay.
// BERT-LABEL: func.func @forward
// BERT: hqdm.layer_norm {{.*}} {epsilon = 9.99999996E-13 : f32, name = "layer_norm_0"} : (tensor<1x12x128xf32>, tensor<128xf32>, tensor<128xf32>)
// BERT: hqdm.linear {{.*}} {name = "linear_0"} : (tensor<1x12x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<1x12x128xf32>
// BERT: hqdm.linear {{.*}} {name = "linear_1"}
// BERT: hqdm.linear {{.*}} {name = "linear_2"}
// BERT: linalg.batch_matmul
// BERT: hqdm.softmax {{.*}} {name = "softmax_0"} : tensor<1x2x12x12xf32>
// BERT: linalg.batch_matmul
// BERT: hqdm.linear {{.*}} {name = "linear_3"}
// BERT: hqdm.layer_norm {{.*}} name = "layer_norm_1"}
// BERT: hqdm.linear {{.*}} bias({{.*}}) {name = "linear_4"} : (tensor<1x12x128xf32>, tensor<512x128xf32>, tensor<512xf32>) -> tensor<1x12x512xf32>
// BERT: hqdm.gelu {{.*}} {name = "gelu_0"} : tensor<1x12x512xf32>
// BERT: hqdm.linear {{.*}} bias({{.*}}) {name = "linear_5"} : (tensor<1x12x512xf32>, tensor<128x512xf32>, tensor<128xf32>) -> tensor<1x12x128xf32>
// BERT: hqdm.layer_norm {{.*}} name = "layer_norm_2"}
// BERT: hqdm.linear {{.*}} {name = "linear_6"}
// BERT: hqdm.linear {{.*}} {name = "linear_7"}
// BERT: hqdm.linear {{.*}} {name = "linear_8"}
// BERT: hqdm.softmax {{.*}} {name = "softmax_1"}
// BERT: hqdm.linear {{.*}} {name = "linear_9"}
// BERT: hqdm.layer_norm {{.*}} name = "layer_norm_3"}
// BERT: hqdm.linear {{.*}} {name = "linear_10"}
// BERT: hqdm.gelu {{.*}} {name = "gelu_1"}
// BERT: hqdm.linear {{.*}} {name = "linear_11"}
// BERT: hqdm.layer_norm {{.*}} name = "layer_norm_4"}
// BERT: hqdm.linear {{.*}} bias({{.*}}) {name = "linear_12"} : (tensor<1x128xf32>, tensor<128x128xf32>, tensor<128xf32>) -> tensor<1x128xf32>
// BERT: math.tanh
// BERT: hqdm.linear {{.*}} bias({{.*}}) {name = "linear_13"} : (tensor<1x128xf32>, tensor<2x128xf32>, tensor<2xf32>) -> tensor<1x2xf32>
// BERT-NOT: hqdm.
// BERT-NOT: linalg.matmul
// (The names are numbered in walk order, so a layer raised in between
// would shift them.)

// One remark per layer, no near misses (the attention batch matmuls read no
// weight).
// BERT-REMARK-COUNT-23: remark: [Passed] Raised | Category:hqdm-raise
// BERT-REMARK-NOT: remark

// The real torch-mlir (2026) models of test/Models; numerics.test runs them
// raised against their numpy forward.

// DiT block: adaLN SiLU + Linear, LayerNorm + modulate, qkv (the
// batch_matmul form), the softmax between the attention batch matmuls,
// proj, LayerNorm + modulate, fc1, GELU tanh, fc2.
// DIT-LABEL: func.func @forward
// DIT: hqdm.silu %arg1 {name = "silu_0"} : tensor<2x64xf32>
// DIT: hqdm.linear {{.*}} {name = "linear_0"} : (tensor<2x64xf32>, tensor<384x64xf32>, tensor<384xf32>) -> tensor<2x384xf32>
// DIT: %[[SHIFT:.*]] = tensor.extract_slice %{{.*}}[0, 0] [2, 64]
// DIT: %[[SCALE:.*]] = tensor.extract_slice %{{.*}}[0, 64] [2, 64]
// DIT: %[[N1:.*]] = hqdm.layer_norm %arg0 {epsilon = 9.99999997E-7 : f32, name = "layer_norm_0"}
// DIT: hqdm.modulate %[[N1]], %[[SHIFT]], %[[SCALE]] {name = "modulate_0"}
// DIT: hqdm.linear {{.*}} {name = "linear_1"} : (tensor<2x16x64xf32>, tensor<192x64xf32>, tensor<192xf32>) -> tensor<2x16x192xf32>
// DIT: linalg.batch_matmul
// DIT: hqdm.softmax {{.*}} {name = "softmax_0"} : tensor<2x2x16x16xf32>
// DIT: linalg.batch_matmul
// DIT: hqdm.linear {{.*}} {name = "linear_2"} : (tensor<2x16x64xf32>, tensor<64x64xf32>, tensor<64xf32>)
// DIT: hqdm.layer_norm {{.*}} name = "layer_norm_1"}
// DIT: hqdm.modulate {{.*}} {name = "modulate_1"}
// DIT: hqdm.linear {{.*}} {name = "linear_3"} : (tensor<2x16x64xf32>, tensor<256x64xf32>, tensor<256xf32>)
// DIT: hqdm.gelu {{.*}} approximate tanh {name = "gelu_0"}
// DIT: hqdm.linear {{.*}} {name = "linear_4"} : (tensor<2x16x256xf32>, tensor<64x256xf32>, tensor<64xf32>)
// DIT-NOT: hqdm.
// DIT: func.func @main

// UNet ResBlock: GroupNorm (the [N, G, C/G*H*W] form, affine), SiLU, conv
// 3x3 pad 1, the time-embedding SiLU + Linear, GroupNorm, SiLU, conv.
// RESBLOCK-LABEL: func.func @forward
// RESBLOCK: hqdm.group_norm %arg0 weight(%{{.*}}) bias(%{{.*}}) {groups = 8 : i64, name = "group_norm_0"} : (tensor<2x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<2x32x8x8xf32>
// RESBLOCK: hqdm.silu {{.*}} {name = "silu_0"} : tensor<2x32x8x8xf32>
// RESBLOCK: hqdm.conv2d {{.*}} bias({{.*}}) {name = "conv2d_0", padding = array<i64: 1, 1>}
// RESBLOCK: hqdm.silu %arg1 {name = "silu_1"}
// RESBLOCK: hqdm.linear {{.*}} {name = "linear_0"} : (tensor<2x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<2x32xf32>
// RESBLOCK: hqdm.group_norm {{.*}} {groups = 8 : i64, name = "group_norm_1"}
// RESBLOCK: hqdm.silu {{.*}} {name = "silu_2"}
// RESBLOCK: hqdm.conv2d {{.*}} {name = "conv2d_1", padding = array<i64: 1, 1>}
// RESBLOCK-NOT: hqdm.
// RESBLOCK: func.func @main

// The MLP, Linear, GELU tanh, Linear.
// MLP-LABEL: func.func @forward
// MLP: hqdm.linear %arg0, {{.*}} {name = "linear_0"}
// MLP: hqdm.gelu {{.*}} approximate tanh {name = "gelu_0"}
// MLP: hqdm.linear {{.*}} {name = "linear_1"}
// MLP-NOT: hqdm.
// MLP: func.func @main
