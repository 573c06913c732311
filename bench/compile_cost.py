#!/usr/bin/env python3
"""Compile cost of a DiT-XL/2-sized model: time and peak memory of hqdm's
full pipeline, and how they grow with depth.

    .venv/bin/python bench/compile_cost.py [--depths 1,2,4,7,14,28]
        [--scheme w4a8] [--hadamard single] [--work-dir /tmp/hqdm-compile-cost]
        [--hqdm-opt build/bin/hqdm-opt]

For each depth D, DiT-XL/2 (hidden 1152, 16 heads, patch 2, 32x32x4 latents,
1000 classes, learn_sigma; batch 2) with D blocks is built on the meta device,
imported with hqdm's importer (parameters by name; `hqdm import --meta`), and
given random float32 weights of the real shapes in a safetensors file. Then,
each as its own process, measured with os.wait4 (wall time, peak RSS):

  float     hqdm-opt --hqdm-load-weights --hqdm-lower-to-cpu        (baseline)
  quantize  hqdm-opt --hqdm-load-weights --hqdm-quantize=... --hqdm-lower-to-cpu

both writing MLIR bytecode (the LLVM dialect), which is what the rest of
the toolchain (mlir-translate, llc) reads. The table gives the quantizing
pipeline's cost, its ratio to the float lowering of the same model in the
same run, and the cost per block. The design target (DESIGN.md): under 60 s
and 8 GB at depth 28 on a 2-core machine.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))


def measure(command, log):
    """(wall seconds, peak RSS in GiB, return code) of one process."""
    start = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 2**20, code


def prepare(depth, work):
    """Imports DiT-XL/2 with `depth` blocks on the meta device and writes
    random weights; returns (mlir path, weights path, parameter count)."""
    import torch
    from hqdm import zoo
    from hqdm.importer import import_module, random_weights
    mlir = work / f"dit_xl2_d{depth}.mlir"
    weights = work / f"dit_xl2_d{depth}.safetensors"
    module, args = zoo.build("dit:DiT-XL/2", [f"depth={depth}"],
                             device="meta")
    params = sum(p.numel() for p in module.parameters())
    if not (mlir.is_file() and weights.is_file()):
        imported = import_module(module, args, weights=weights)
        imported.save(mlir)
        random_weights(imported, weights, module, seed=depth)
    return mlir, weights, params


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--depths", default="1,2,4,7,14,28")
    p.add_argument("--scheme", default="w4a8")
    p.add_argument("--hadamard", default="single")
    p.add_argument("--work-dir", default="/tmp/hqdm-compile-cost")
    p.add_argument("--hqdm-opt", default=os.environ.get(
        "HQDM_OPT", str(ROOT / "build" / "bin" / "hqdm-opt")))
    p.add_argument("--keep", action="store_true",
                   help="keep the weights files (GBs) after the run")
    args = p.parse_args(argv)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    depths = [int(d) for d in args.depths.split(",")]
    quantize = f"scheme={args.scheme} hadamard={args.hadamard}"

    rows = []
    for depth in depths:
        t0 = time.perf_counter()
        mlir, weights, params = prepare(depth, work)
        prep = time.perf_counter() - t0
        out = work / f"d{depth}.mlirbc"
        load = f"--hqdm-load-weights=file={weights}"
        common = [args.hqdm_opt, str(mlir), load]
        tail = ["--hqdm-lower-to-cpu", "--emit-bytecode", "-o", str(out)]
        fl = measure(common + tail, work / f"d{depth}.float.log")
        qu = measure(common + [f"--hqdm-quantize={quantize}"] + tail,
                     work / f"d{depth}.quantize.log")
        for what, (_, _, code) in (("float", fl), ("quantize", qu)):
            if code != 0:
                log = (work / f"d{depth}.{what}.log").read_text()[-2000:]
                sys.exit(f"depth {depth}: the {what} pipeline failed "
                         f"(exit {code}):\n{log}")
        rows.append((depth, params, fl, qu, out.stat().st_size))
        print(f"depth {depth:2d}: {params / 1e6:7.1f} M params, prepared in "
              f"{prep:5.1f} s; float {fl[0]:6.1f} s {fl[1]:5.2f} GiB; "
              f"{args.scheme}/{args.hadamard} {qu[0]:6.1f} s {qu[1]:5.2f} GiB",
              flush=True)
        out.unlink()
        if not args.keep:
            weights.unlink()

    print()
    print(f"hqdm-opt --hqdm-load-weights --hqdm-quantize=\"{quantize}\" "
          "--hqdm-lower-to-cpu --emit-bytecode, DiT-XL/2 with D blocks, "
          f"{os.cpu_count()} cores")
    print()
    print("| blocks | params (M) | float lowering s | float GiB | "
          "quantize+lower s | peak GiB | time ratio to float | s per block |"
          " output MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for depth, params, fl, qu, size in rows:
        print(f"| {depth} | {params / 1e6:.1f} | {fl[0]:.1f} | {fl[1]:.2f} | "
              f"{qu[0]:.1f} | {qu[1]:.2f} | {qu[0] / fl[0]:.2f} | "
              f"{qu[0] / depth:.2f} | {size / 2**20:.0f} |")
    last = rows[-1]
    if last[0] == 28:
        ok = last[3][0] < 60 and last[3][1] < 8
        print(f"\ntarget (DESIGN.md: < 60 s and < 8 GB at 28 blocks): "
              f"{'met' if ok else 'NOT met'} ({last[3][0]:.1f} s, "
              f"{last[3][1]:.2f} GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
