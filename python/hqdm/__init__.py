"""hqdm's Python side.

  import_module   a torch.nn.Module -> linalg-on-tensors MLIR (torch-mlir's
                  FX importer, weights by name in a safetensors file)
  compile         MLIR -> hqdm-quantize -> a CPU shared library you call
                  with numpy arrays
  aot, calibrate, evaluate, diffusion, models, trajectories: the pieces.

The `hqdm` command (hqdm.cli) drives them; docs/Import.md is the guide.
Importing this package does not import torch: the modules that need it do.
"""

from .compiler import CompileError, CompiledModel, compile  # noqa: F401
from .importer import ImportedModule, ImportError_, import_module  # noqa: F401

__all__ = ["import_module", "compile", "ImportedModule", "CompiledModel",
           "CompileError", "ImportError_"]
