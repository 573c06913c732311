// hqdm-plan: defaults from the options, refined by a JSON configuration.

// RUN: hqdm-opt %S/Inputs/layers.mlir --hqdm-plan --remarks-filter='hqdm.*' 2>%t.remarks | FileCheck %s --check-prefix=DEFAULT
// RUN: FileCheck %s --check-prefix=DEFAULT-REMARKS < %t.remarks
// RUN: hqdm-opt %S/Inputs/layers.mlir --hqdm-plan="scheme=w8a8 hadamard=double block=0 weight-symmetric=true activation=per-tensor" | FileCheck %s --check-prefix=OPTIONS
// RUN: hqdm-opt %S/Inputs/layers.mlir --hqdm-plan="scheme=w4a4 hadamard=none config=%S/Inputs/dit-config.json" --remarks-filter='hqdm.*' 2>%t.config.remarks | FileCheck %s --check-prefix=CONFIG
// RUN: FileCheck %s --check-prefix=CONFIG-REMARKS < %t.config.remarks

// Every layer with a constant weight gets W4A4, asymmetric per-channel
// weights, dynamic per-token activations, single Hadamard, block 32; the
// convolution's activation scale is per tensor.
// DEFAULT: hqdm.linear {{.*}}name = "blocks.0.attn.qkv", plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 4, granularity = per_token>, hadamard = single>}
// DEFAULT: hqdm.linear {{.*}}name = "blocks.0.adaLN_modulation.1", plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 4, granularity = per_token>, hadamard = single>}
// DEFAULT: hqdm.linear {{.*}} {name = "runtime_weight"}
// DEFAULT: hqdm.conv2d {{.*}}name = "x_embedder.proj", plan = #hqdm.plan<weight = <bits = 4, symmetric = false, granularity = per_channel>, activation = <bits = 4>, hadamard = single>}

// DEFAULT-REMARKS: remark: [Passed] Planned | Category:hqdm-plan | Remark="layer 'blocks.0.attn.qkv': W4A4, hadamard single (from options)"
// DEFAULT-REMARKS: remark: [Missed] NotPlanned | Category:hqdm-plan | Remark="layer 'runtime_weight' kept in floating point: its weight cannot be quantized because it is a function argument"
// DEFAULT-REMARKS: remark: [Analysis] PerTensorConv | Category:hqdm-plan | Remark="layer 'x_embedder.proj' is a convolution: its activation scale is per tensor (dynamic) instead of per token"

// OPTIONS: plan = #hqdm.plan<weight = <bits = 8, granularity = per_channel>, activation = <bits = 8>, hadamard = double, block = 0>

// The file's top level overrides the options (w4a8, block 64, symmetric
// weights; hadamard stays none from the options), then the rules apply.
// CONFIG: name = "blocks.0.attn.qkv", plan = #hqdm.plan<weight = <bits = 4, granularity = per_channel>, activation = <bits = 8, granularity = per_token>, block = 64>}
// CONFIG: hqdm.linear {{.*}} {name = "blocks.0.adaLN_modulation.1"}
// CONFIG: name = "x_embedder.proj", plan = #hqdm.plan<weight = <bits = 8, granularity = per_channel>, activation = <bits = 8>, block = 64>}

// CONFIG-REMARKS: Remark="layer 'blocks.0.attn.qkv': W4A8, hadamard none (from config)"
// CONFIG-REMARKS: Remark="layer 'blocks.0.adaLN_modulation.1' kept in floating point by rule 0 ('*adaLN_modulation*')"
// CONFIG-REMARKS: Remark="layer 'x_embedder.proj': W8A8, hadamard none (from rule 1 ('x_embedder.*'))"
