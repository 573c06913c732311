"""Import a torch.nn.Module to linalg-on-tensors MLIR that MLIR 22 parses.

The route (docs/Import.md says why, and what else was tried): torch-mlir's
FX importer and its two lowering pipelines, as the `iree-base-compiler` wheel
from PyPI bundles them (`iree.compiler.extras.fx_importer`; IREE's own input
conversion is not used, it would leave IREE dialects behind):

  1. torch.export.export(module.eval(), args, strict=False);
  2. run_decompositions with torch-mlir's default decomposition list;
  3. FxImporter.import_program (parameters through a hook, see below) or
     import_frozen_program (parameters inline);
  4. torchdynamo-export-to-torch-backend-pipeline, then
     torch-backend-to-linalg-on-tensors-backend-pipeline;
  5. check that only upstream dialects are left, print without locations.

Parameters and buffers. With `weights=PATH`, every parameter and buffer of
the module becomes `arith.constant dense_resource<FQN>` with no data in the
IR, FQN being its state_dict key (`blocks.0.attn.qkv.weight`), and the
tensors are written to the safetensors file PATH under the same keys; the
module carries `hqdm.weights = "PATH"` and hqdm-opt resolves the names at
compile time (`--hqdm-load-weights`, docs/Weights.md). A module on the
`meta` device imports without any data (nothing is written): that is how a
DiT-XL/2-sized model is imported in a second. With `weights=None` the data
is inline, in the `{-# dialect_resources #-}` trailer, as torch-mlir prints
it.
"""

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np


class ImportError_(RuntimeError):
    """A module that hqdm cannot import, with the reason."""


# torch-mlir's default decomposition list (python/torch_mlir/extras/
# fx_decomp_util.py, DEFAULT_DECOMPOSITIONS; not shipped in the IREE wheel),
# as torch_mlir.fx.export_and_import applies it.
_DECOMPOSITIONS = [
    "embedding_dense_backward", "native_layer_norm_backward", "slice_backward",
    "select_backward", "norm.ScalarOpt_dim", "native_group_norm",
    "upsample_bilinear2d.vec", "native_layer_norm", "masked_fill.Tensor",
    "masked_fill.Scalar", "t", "addmm", "_native_batch_norm_legit_functional",
    "_native_batch_norm_legit_no_training", "_native_batch_norm_legit",
    "_native_batch_norm_legit.no_stats", "squeeze.dims", "soft_margin_loss",
    "im2col", "_euclidean_dist", "index_copy", "index_copy_",
    "grid_sampler_2d", "log_sigmoid_forward", "unsafe_split.Tensor",
    "binary_cross_entropy", "dot", "_adaptive_avg_pool2d", "_prelu_kernel",
    "full", "logsumexp", "_log_softmax", "nll_loss_forward",
    "nll_loss_backward", "_to_copy", "_log_softmax_backward_data",
    "lift_fresh_copy.default", "_unsafe_index.Tensor", "linspace.default",
    "nan_to_num.default", "unbind", "diag", "xlogy",
    "_scaled_dot_product_flash_attention_for_cpu",
    "scaled_dot_product_attention",
]

TORCH_PIPELINE = ("builtin.module(func.func(torch-match-quantized-custom-ops),"
                  " torchdynamo-export-to-torch-backend-pipeline"
                  "{ extra-library=})")
LINALG_PIPELINE = ("builtin.module(torch-backend-to-linalg-on-tensors-backend-"
                   "pipeline{allow-non-finites=true})")

# Dialects that must not survive: torch-mlir's own and IREE's.
_FORBIDDEN = re.compile(r'(^|[\s="(])(torch|torch_c|tm_tensor|util|flow|hal|'
                        r'stream|iree_[a-z_]+|ml_program)\.([a-z_.0-9]+)', re.M)

_MLIR_ELEMENT = {
    "float32": "f32", "float16": "f16", "bfloat16": "bf16", "float64": "f64",
    "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8",
    "uint8": "ui8", "bool": "i1",
}


@dataclass
class TensorSpec:
    shape: Tuple[int, ...]
    dtype: str  # MLIR element type name: f32, i64, ...

    def mlir_type(self):
        return "tensor<" + "".join(f"{d}x" for d in self.shape) + self.dtype + ">"


@dataclass
class ImportedModule:
    """The result of `import_module`: MLIR text and what describes it."""
    text: str
    func_name: str
    inputs: List[TensorSpec]
    outputs: List[TensorSpec]
    weights: Optional[Path] = None       # safetensors file the IR names
    parameters: List[str] = field(default_factory=list)  # names referenced

    def save(self, path):
        path = Path(path)
        path.write_text(self.text)
        return path


def _element(dtype):
    name = str(dtype).replace("torch.", "")
    if name not in _MLIR_ELEMENT:
        raise ImportError_(f"unsupported tensor dtype {dtype}")
    return _MLIR_ELEMENT[name]


def _spec(value, what):
    import torch
    if not isinstance(value, torch.Tensor):
        raise ImportError_(f"{what} is a {type(value).__name__}; hqdm imports "
                           "functions of tensors only")
    if not all(isinstance(d, int) for d in value.shape):
        raise ImportError_(f"{what} has a symbolic shape {tuple(value.shape)};"
                           " hqdm compiles static shapes")
    return TensorSpec(tuple(int(d) for d in value.shape), _element(value.dtype))


def decomposition_table():
    import torch
    from torch._decomp import get_decompositions
    ops = []
    for n in _DECOMPOSITIONS:
        packet, _, overload = n.partition(".")
        if not hasattr(torch.ops.aten, packet):
            continue
        op = getattr(torch.ops.aten, packet)
        ops.append(getattr(op, overload) if overload else op)
    return get_decompositions(ops)


def _lowering_error(exc, module_name):
    """A readable reason from an MLIRError raised by a torch-mlir pipeline."""
    text = str(exc)
    ops = set(re.findall(r'name = "(torch\.[a-z_.0-9]+)"', text))
    ops |= set(re.findall(r"failed to legalize operation '(torch\.[a-z_.0-9]+)'",
                          text))
    ops.discard("torch.operator")
    ops = sorted(ops)
    if ops:
        return ImportError_(
            f"torch-mlir cannot lower {', '.join(ops)} (in {module_name}) to "
            f"linalg-on-tensors; hqdm only compiles what torch-mlir lowers.\n"
            f"torch-mlir said:\n{text}")
    return ImportError_(f"torch-mlir could not lower {module_name} to "
                        f"linalg-on-tensors:\n{text}")


def import_module(module, args: Sequence, *, func_name: str = "forward",
                  weights=None) -> ImportedModule:
    """Imports `module(*args)` (a torch.nn.Module, traced in eval mode with
    these example arguments, whose shapes become static) to
    linalg-on-tensors. `weights`: None keeps parameters inline; a path makes
    them named references to that safetensors file (written unless the
    module is on the meta device). Raises ImportError_ with the reason when
    torch.export, torch-mlir or the dialect check refuses the module."""
    import torch
    try:
        from iree.compiler import ir
        from iree.compiler.extras.fx_importer import FxImporter, FxImporterHooks
        from iree.compiler.passmanager import PassManager
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError_("the torch-mlir importer is missing: install "
                           "hqdm[torch] (iree-base-compiler)") from e

    if not isinstance(module, torch.nn.Module):
        raise ImportError_(f"expected a torch.nn.Module, got "
                           f"{type(module).__name__}")
    module_name = type(module).__name__
    args = tuple(args)
    inputs = [_spec(a, f"argument {i}") for i, a in enumerate(args)]
    module = module.eval()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            prog = torch.export.export(module, args, strict=False)
            prog = prog.run_decompositions(decomposition_table())
    except Exception as e:
        raise ImportError_(f"torch.export could not trace {module_name}: "
                           f"{type(e).__name__}: {e}") from e

    out_vals = [n for n in prog.graph.nodes if n.op == "output"][0].args[0]
    outputs = []
    for i, node in enumerate(out_vals):
        val = node.meta.get("val") if hasattr(node, "meta") else None
        outputs.append(_spec(val, f"result {i}"))

    used = {}

    class NamedWeights(FxImporterHooks):
        """Parameters and buffers as dense_resource<FQN> without data."""

        def resolve_input(self, gni, value, info):
            name = info.input_spec.target
            if value is None or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.$]*",
                                                 name):
                return None  # the default (inline) path
            spec = _spec(value, f"parameter {name!r}")
            if spec.dtype == "i1" or not spec.shape:
                return None
            used[name] = value
            attr = ir.Attribute.parse(
                f"dense_resource<{name}> : {spec.mlir_type()}")
            return ir.Operation.create(
                "torch.vtensor.literal", results=[info.ir_type],
                attributes={"value": attr}).result

    ctx = ir.Context()
    importer = FxImporter(context=ctx,
                          hooks=NamedWeights() if weights is not None else None)
    try:
        if weights is not None:
            importer.import_program(prog, func_name=func_name)
        else:
            importer.import_frozen_program(prog, func_name=func_name)
    except Exception as e:
        raise ImportError_(f"the FX importer refused {module_name}: "
                           f"{type(e).__name__}: {e}") from e
    with ctx:
        try:
            PassManager.parse(TORCH_PIPELINE).run(importer.module.operation)
            PassManager.parse(LINALG_PIPELINE).run(importer.module.operation)
        except Exception as e:
            raise _lowering_error(e, module_name) from e
        if weights is not None:
            importer.module.operation.attributes["hqdm.weights"] = \
                ir.StringAttr.get(str(Path(weights).resolve()))
    text = importer.module.operation.get_asm(enable_debug_info=False)
    bad = sorted({f"{m.group(2)}.{m.group(3)}"
                  for m in _FORBIDDEN.finditer(text)})
    if bad:
        raise ImportError_(f"{module_name}: ops outside upstream MLIR are left "
                           f"after lowering: {', '.join(bad)}")

    result = ImportedModule(text=text, func_name=func_name, inputs=inputs,
                            outputs=outputs, parameters=sorted(used))
    if weights is not None:
        result.weights = Path(weights)
        if not any(v.is_meta for v in used.values()):
            save_weights(used, result.weights)
    return result


def save_weights(tensors, path):
    """Writes {name: torch.Tensor} to a safetensors file (contiguous CPU
    copies; names are the state_dict keys the IR references)."""
    from safetensors.torch import save_file
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()},
              str(path))


def random_weights(imported: ImportedModule, path, module, seed=0,
                   std=0.02):
    """Writes random weights of the real shapes for a module imported on
    the meta device (for compile-cost measurements): N(0, std) in float32,
    one tensor per referenced name, generated with numpy (all of them are
    held in memory while the file is written: 2.7 GB for DiT-XL/2)."""
    from safetensors.numpy import save_file
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    shapes.update({k: tuple(v.shape) for k, v in module.named_buffers()})
    rng = np.random.default_rng(seed)
    arrays = {}
    for name in imported.parameters:
        arrays[name] = (rng.standard_normal(shapes[name], dtype=np.float32)
                        * np.float32(std))
    save_file(arrays, str(path))
    return Path(path)
