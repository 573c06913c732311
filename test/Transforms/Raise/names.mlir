// RUN: hqdm-opt %s -hqdm-raise | FileCheck %s
// RUN: hqdm-opt %s -hqdm-raise --remarks-filter='hqdm.*' -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK

// Layer names: from the anchoring op's NameLoc (also inside a FusedLoc or a
// CallSiteLoc: the first name), else <kind>_<index> counted per kind in
// walk order over all layers of that kind; duplicates get _1, _2, ...;
// names already present are kept and claimed first.

#map = affine_map<(d0, d1) -> (d0, d1)>

// CHECK-LABEL: func.func @names
func.func @names(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %e = tensor.empty() : tensor<4x4xf32>
  %t = linalg.transpose ins(%w : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %i = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: hqdm.linear {{.*}} {name = "blocks.0.attn.qkv"}
  // REMARK: [Passed] Raised | Category:hqdm-raise | Remark="raised linear 'blocks.0.attn.qkv'"
  %a = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32> loc("blocks.0.attn.qkv")
  // CHECK: hqdm.linear {{.*}} {name = "blocks.0.mlp.fc1"}
  // REMARK: Remark="raised linear 'blocks.0.mlp.fc1'"
  %b = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32> loc(fused["model.py":3:4, "blocks.0.mlp.fc1"("model.py":5:6), "other"])
  // CHECK: hqdm.linear {{.*}} {name = "blocks.0.mlp.fc2"}
  // REMARK: Remark="raised linear 'blocks.0.mlp.fc2'"
  %c = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32> loc(callsite("blocks.0.mlp.fc2"("model.py":7:8) at "main.py":1:1))
  // A hand-written layer keeps its name and claims it.
  // CHECK: hqdm.linear {{.*}} {name = "linear_4"}
  %d = hqdm.linear %x, %w {name = "linear_4"} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  // No name in the location: linear_<index among all linears>; linear_4 is
  // taken by the hand-written layer.
  // CHECK: hqdm.linear {{.*}} {name = "linear_4_1"}
  // REMARK: Remark="raised linear 'linear_4_1'"
  %g = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  // Two layers with one NameLoc.
  // CHECK: hqdm.linear {{.*}} {name = "proj"}
  // CHECK: hqdm.linear {{.*}} {name = "proj_1"}
  %p = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32> loc("proj")
  %q = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32> loc("proj")
  return %a, %b, %c, %d, %g, %p, %q : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// Indices count per kind across functions, in walk order.

// CHECK-LABEL: func.func @second
func.func @second(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %cst = arith.constant 1.000000e+00 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %s = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.negf %in : f32
    %1 = math.exp %0 : f32
    %2 = arith.addf %1, %cst : f32
    %3 = arith.divf %in, %2 : f32
    linalg.yield %3 : f32
  } -> tensor<2x4xf32>
  // CHECK: hqdm.silu {{.*}} {name = "silu_0"}
  %e2 = tensor.empty() : tensor<4x4xf32>
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %t = linalg.transpose ins(%w : tensor<4x4xf32>) outs(%e2 : tensor<4x4xf32>) permutation = [1, 0]
  %zero = arith.constant 0.000000e+00 : f32
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %m = linalg.matmul ins(%s, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: hqdm.linear {{.*}} {name = "linear_7"}
  return %m : tensor<2x4xf32>
}

// A weight named after its PyTorch parameter (hqdm's importer emits
// dense_resource<FQN> with the data in a safetensors file; raising needs no
// data) names the layer: `<module path>.weight` -> `<module path>`. A
// location name still wins, and a key that does not end in `.weight` is not
// a name.

// CHECK-LABEL: func.func @weight_names
func.func @weight_names(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %zero = arith.constant 0.000000e+00 : f32
  %w = arith.constant dense_resource<blocks.3.mlp.fc2.weight> : tensor<4x4xf32>
  %v = arith.constant dense_resource<torch_tensor_4_4_torch.float32> : tensor<4x4xf32>
  %e = tensor.empty() : tensor<4x4xf32>
  %t = linalg.transpose ins(%w : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %tv = linalg.transpose ins(%v : tensor<4x4xf32>) outs(%e : tensor<4x4xf32>) permutation = [1, 0]
  %i = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%i : tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: hqdm.linear {{.*}} {name = "blocks.3.mlp.fc2"}
  %a = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: hqdm.linear {{.*}} {name = "from_loc"}
  %b = linalg.matmul ins(%x, %t : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32> loc("from_loc")
  // CHECK: hqdm.linear {{.*}} {name = "linear_{{[0-9]+}}"}
  %c = linalg.matmul ins(%x, %tv : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %a, %b, %c : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
