"""The `hqdm` command.

  hqdm import MODEL -o OUT.mlir [--weights OUT.safetensors] [--option K=V]...
      Import a PyTorch model (hqdm.zoo names: dit:DiT-XL/2, dit-block,
      unet:UNet-S, unet-resblock, tiny-dit, or package.module:function) to
      linalg-on-tensors MLIR with torch-mlir's FX importer. With --weights
      the parameters are referenced by name and written to that file.
      --meta imports without allocating weights (shapes only).
  hqdm compile MODEL.mlir -o OUT_DIR [--quantize OPTIONS] [--weights F]
               [--calibration STATS.json]
      hqdm-quantize (when --quantize is given) and lower to a CPU shared
      library OUT_DIR/NAME.so.
  hqdm trajectories MODEL ... -o CALIB.npz
      Record the model's inputs along float sampling trajectories (the
      calibration set; hqdm trajectories --help).
  hqdm calibrate MODEL.mlir CALIB.npz -o STATS.json ...
      Per-step activation statistics (hqdm calibrate --help).
  hqdm sqnr MODEL.mlir DATA --config NAME=OPTIONS ...
      Per-step output SQNR of quantized configurations on recorded inputs.
  hqdm eval ...
      Float vs quantized models along the same sampling trajectories:
      tables and plots (hqdm eval --help).

Tools are found through HQDM_OPT (or --hqdm-opt) and HQDM_LLVM_BIN.
"""

import argparse
import inspect
import sys
from pathlib import Path


def _import(argv):
    p = argparse.ArgumentParser(prog="hqdm import",
                                description="Import a PyTorch model to MLIR.")
    p.add_argument("model", help="a hqdm.zoo name (dit:DiT-T/2, dit-block, "
                   "unet:UNet-S, unet-resblock, tiny-dit) or "
                   "package.module:function")
    p.add_argument("-o", "--output", required=True, help="the .mlir to write")
    p.add_argument("--weights", help="write the parameters to this "
                   "safetensors file and reference them by name")
    p.add_argument("--option", action="append", default=[], metavar="K=V",
                   help="constructor argument, batch=N or checkpoint=FILE")
    p.add_argument("--meta", action="store_true",
                   help="build the model on the meta device (no weight data;"
                   " needs --weights, which is then not written)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from . import zoo
    from .importer import ImportError_, import_module
    if args.meta and not args.weights:
        p.error("--meta needs --weights (the names the IR references)")
    try:
        module, example = zoo.build(args.model, args.option, seed=args.seed,
                                    device="meta" if args.meta else None)
        imported = import_module(module, example, weights=args.weights)
    except (zoo.ZooError, ImportError_) as e:
        print(f"hqdm import: error: {e}", file=sys.stderr)
        return 1
    imported.save(args.output)
    ins = ", ".join(s.mlir_type() for s in imported.inputs)
    outs = ", ".join(s.mlir_type() for s in imported.outputs)
    print(f"hqdm import: wrote {args.output}: @{imported.func_name}({ins}) -> "
          f"{outs}; {len(imported.parameters)} named weights"
          + (f" in {args.weights}" + (" (not written: meta)" if args.meta
                                       else "") if args.weights else ""))
    return 0


def _compile(argv):
    p = argparse.ArgumentParser(
        prog="hqdm compile",
        description="Quantize and compile to a shared library: for the CPU, "
        "or with the quantized layers (--target cuda[:CHIP]) or the whole "
        "model (--whole-model) on the GPU.")
    p.add_argument("model", help="an .mlir file (e.g. from hqdm import)")
    p.add_argument("-o", "--output-dir", required=True)
    p.add_argument("--quantize", metavar="OPTIONS",
                   help='hqdm-quantize options, e.g. "scheme=w4a4 '
                   'hadamard=single"')
    p.add_argument("--calibration", help="statistics from hqdm calibrate")
    p.add_argument("--weights", help="safetensors file the IR's weights are in"
                   " (default: the module's hqdm.weights attribute)")
    p.add_argument("--target", default="cpu",
                   help="cpu (default), cuda or cuda:CHIP (sm_80 ... sm_90a)")
    p.add_argument("--whole-model", action="store_true",
                   help="with a cuda target: every op on the GPU, driven "
                   "through the runtime's C ABI (include/hqdm/Runtime/Model.h)")
    p.add_argument("--external-weights", metavar="FILE",
                   help="with --whole-model: write the weights to this "
                   "safetensors file instead of embedding them")
    p.add_argument("--hqdm-opt")
    args = p.parse_args(argv)
    from . import aot
    from .compiler import pipeline_args
    try:
        so = aot.compile_shared_library(
            args.model, args.output_dir, hqdm_opt=args.hqdm_opt,
            pipeline_args=pipeline_args(args.quantize,
                                        calibration=args.calibration,
                                        weights=args.weights),
            target=args.target, whole_model=args.whole_model,
            external_weights=args.external_weights)
    except aot.AotError as e:
        print(f"hqdm compile: error: {e}", file=sys.stderr)
        return 1
    print(f"hqdm compile: wrote {so}")
    return 0


def _delegate(module_name, function="main"):
    def run(argv, prog):
        import importlib
        mod = importlib.import_module(f"hqdm.{module_name}")
        fn = getattr(mod, function)
        if "prog" in inspect.signature(fn).parameters:
            return fn(argv, prog=prog)
        return fn(argv)
    return run


COMMANDS = {
    "import": lambda argv, prog: _import(argv),
    "compile": lambda argv, prog: _compile(argv),
    "trajectories": _delegate("trajectories"),
    "calibrate": _delegate("calibrate"),
    "sqnr": _delegate("evaluate"),
    "eval": _delegate("quality"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(__doc__.lstrip())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        sys.stderr.write(f"hqdm: unknown command {command!r}\n\n"
                         + __doc__.lstrip())
        return 2
    return COMMANDS[command](rest, f"hqdm {command}") or 0


if __name__ == "__main__":
    sys.exit(main())
