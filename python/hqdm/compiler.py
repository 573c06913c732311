"""Compile imported models with hqdm and run them from Python.

    import hqdm
    imported = hqdm.import_module(model, (x, t, y), weights="w/dit.safetensors")
    fp = hqdm.compile(imported, work_dir="w/fp")
    q = hqdm.compile(imported, quantize="scheme=w4a8 hadamard=single",
                     work_dir="w/w4a8")
    out = q(x.numpy(), t.numpy(), y.numpy())       # numpy in, numpy out

Compilation goes through the command-line tools (hqdm-opt, mlir-translate,
llc, cc; see `aot`), not through Python bindings of the C++ passes: the
tools are what the lit tests exercise, they need no Python ABI match with
LLVM's build, a crash in a pass cannot take the Python process down, and the
cost is one process start and one parse per compile, small next to the
passes and code generation themselves. Large weights never pass through
text: they stay in the safetensors file the IR names (docs/Weights.md).

Targets: `cpu` (an ahead-of-time shared library, loaded with ctypes), and
`cuda` / `cuda:CHIP`: the same library with the quantized layers running as
generated CUDA kernels through hqdm's CUDA host runtime, the rest of the
model on the CPU; or, with whole_model=True, everything on the GPU, driven
through the runtime's C ABI.
"""

import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import aot
from .importer import ImportedModule, TensorSpec

_NUMPY = {"f32": np.float32, "f64": np.float64, "f16": np.float16,
          "i64": np.int64, "i32": np.int32, "i8": np.int8, "i1": np.bool_}


class CompileError(RuntimeError):
    """A model that could not be compiled, with the reason."""


# Paths of the libraries this process has loaded. dlopen returns the handle
# it already has for a path it has loaded, even when the file was rebuilt
# since (a second compile into the same work_dir): such a library is loaded
# from a fresh copy instead.
_LOADED = set()


def _load(path):
    path = Path(path).resolve()
    if path in _LOADED:
        n = 1
        while path.with_name(f"{path.stem}.{n}{path.suffix}") in _LOADED:
            n += 1
        copy = path.with_name(f"{path.stem}.{n}{path.suffix}")
        shutil.copyfile(path, copy)
        path = copy
    _LOADED.add(path)
    return aot.Library(path)


class CompiledModel:
    """A compiled function, called with numpy arrays (or torch tensors on the
    CPU) of the imported shapes; returns one numpy array, or a tuple when the
    function has several results."""

    def __init__(self, library_path, func_name, inputs, outputs, pipeline):
        self.library_path = Path(library_path)
        self.func_name = func_name
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.pipeline = list(pipeline)
        self._library = _load(self.library_path)

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise TypeError(f"@{self.func_name} takes {len(self.inputs)} "
                            f"arguments, got {len(args)}")
        arrays = []
        for i, (a, spec) in enumerate(zip(args, self.inputs)):
            if hasattr(a, "detach"):  # a torch tensor
                a = a.detach().cpu().numpy()
            a = np.asarray(a)
            if tuple(a.shape) != spec.shape:
                raise ValueError(f"argument {i}: shape {tuple(a.shape)}, the "
                                 f"model was compiled for {spec.shape}")
            arrays.append(a.astype(_NUMPY[spec.dtype], copy=False))
        results = self._library.call(
            self.func_name, *arrays,
            results=[(o.shape, o.dtype) for o in self.outputs])
        return results[0] if len(results) == 1 else tuple(results)

    def close(self):
        self._library.close()

    def __repr__(self):
        return (f"CompiledModel(@{self.func_name}, {self.library_path}, "
                f"pipeline={' '.join(self.pipeline) or 'float'})")


def pipeline_args(quantize: Optional[str] = None, *, calibration=None,
                  weights=None, extra: Sequence[str] = ()):
    """hqdm-opt arguments for a compile: load the weights, then quantize
    with `quantize` (hqdm-quantize options, e.g. "scheme=w4a4
    hadamard=single"), adding calibration=FILE when given."""
    args = []
    if weights is not None:
        args.append(f"--hqdm-load-weights=file={weights}")
    if quantize is not None:
        options = quantize.strip()
        if calibration is not None and "calibration=" not in options:
            options += f" calibration={calibration}"
        args.append(f"--hqdm-quantize={options}")
    args.extend(extra)
    return args


def compile(source, *, quantize: Optional[str] = None, calibration=None,
            weights=None, work_dir=None, name: Optional[str] = None,
            target: str = "cpu", whole_model: bool = False, hqdm_opt=None,
            extra_args: Sequence[str] = (), fuse_attention: bool = True,
            external_weights=None):
    """Compiles `source` (an ImportedModule, or the path of an .mlir file
    whose @forward has static tensor types) for `target` and loads it.
    `target` is "cpu", or "cuda" / "cuda:CHIP" (sm_80 ... sm_90a) to run the
    quantized layers as generated CUDA kernels (docs/CUDA.md). `weights`
    defaults to the imported module's safetensors file. Keeps the
    intermediate files in `work_dir` (a temporary directory otherwise).
    With `whole_model` (a cuda target), every op runs on the GPU and the
    result is an `aot.DeviceModel`, called the same way, whose steps after
    the first replay a CUDA graph; each attention is then one fused kernel
    with f16 operands (docs/CUDA.md), unless `fuse_attention` is False.
    `external_weights` (with whole_model: a path, or True for
    `work_dir`/NAME.weights.safetensors) keeps the weights out of the
    library, in that safetensors file, which the DeviceModel loads with it."""
    try:
        aot.parse_target(target)
    except aot.AotError as e:
        raise CompileError(str(e)) from e
    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="hqdm-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(source, ImportedModule):
        name = name or source.func_name
        mlir_path = source.save(work_dir / f"{name}.input.mlir")
        func_name, inputs, outputs = (source.func_name, source.inputs,
                                      source.outputs)
        if weights is None:
            weights = source.weights
    else:
        from .evaluate import signature
        mlir_path = Path(source)
        func_name = "forward"
        try:
            ins, outs = signature(mlir_path, func_name)
        except Exception as e:
            raise CompileError(str(e)) from e
        inputs = [TensorSpec(tuple(s), d) for s, d in ins]
        outputs = [TensorSpec(tuple(s), d) for s, d in outs]
        name = name or mlir_path.stem
    if weights is not None and not Path(weights).is_file():
        raise CompileError(f"weights file {weights} does not exist")
    args = pipeline_args(quantize, calibration=calibration, weights=weights,
                         extra=extra_args)
    try:
        library = aot.compile_shared_library(mlir_path, work_dir,
                                             hqdm_opt=hqdm_opt,
                                             pipeline_args=args, name=name,
                                             target=target,
                                             whole_model=whole_model,
                                             fuse_attention=fuse_attention,
                                             external_weights=external_weights)
        if whole_model:
            weights_file = None
            if external_weights and external_weights is not True:
                weights_file = Path(external_weights)
            return aot.DeviceModel(library, hqdm_opt=hqdm_opt,
                                   weights=weights_file)
    except aot.AotError as e:
        raise CompileError(str(e)) from e
    return CompiledModel(library, func_name, inputs, outputs, args)


def describe(args):
    """The hqdm-opt command line of a compile, for reports."""
    return " ".join(shlex.quote(a) for a in args)
