#!/usr/bin/env python3
"""Checks gemm_bench's host reference against hqdm's own CPU lowering (no GPU).

On the GPU, gemm_bench compares the generated kernels with a host reference
of its own (the prologue's rotation, scales and levels, then the integer GEMM
and the dequantizing epilogue). This script makes sure that reference means
what hqdm means: for every case prepare.py marked for the full check, it

  1. runs `gemm_bench OUT --dry-run --dump TMP`, which writes the bench's
     random input x [M, K] and its reference output y [M, N];
  2. compiles the case's quantized module for the CPU (hqdm.aot:
     --hqdm-lower-to-cpu, mlir-translate, llc) and runs it on the same x;
  3. compares: the integer parts must agree exactly, so any difference must
     stay at f32 rounding (relative to max |y|, below 1e-5).

    .venv/bin/python bench/gemm_cuda/verify_reference.py [OUT] [--bench BIN]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))

from hqdm import aot  # noqa: E402


def bench_environment(tmp):
    """The environment to run gemm_bench without a driver: it needs
    libcuda.so.1 to start, and the toolkit's stub serves (--dry-run makes
    no CUDA call)."""
    env = dict(os.environ)
    found = subprocess.run(["ldconfig", "-p"], capture_output=True,
                           text=True).stdout
    if "libcuda.so.1 " in found:
        return env
    cuda = os.environ.get("CUDA_HOME", "/usr/local/cuda")
    stub = os.path.join(cuda, "lib64", "stubs", "libcuda.so")
    if not os.path.exists(stub):
        sys.exit(f"error: no libcuda.so.1 and no stub at {stub}")
    link_dir = os.path.join(tmp, "stub")
    os.makedirs(link_dir, exist_ok=True)
    os.symlink(stub, os.path.join(link_dir, "libcuda.so.1"))
    env["LD_LIBRARY_PATH"] = link_dir + os.pathsep + env.get(
        "LD_LIBRARY_PATH", "")
    return env


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", default=os.path.join(HERE, "out"))
    parser.add_argument("--bench", default=None,
                        help="gemm_bench binary (default: OUT/gemm_bench)")
    parser.add_argument("--hqdm-opt",
                        default=os.path.join(ROOT, "build", "bin", "hqdm-opt"))
    args = parser.parse_args()
    bench = args.bench or os.path.join(args.out, "gemm_bench")
    with open(os.path.join(args.out, "manifest.json")) as f:
        manifest = json.load(f)
    cases = [c for c in manifest["cases"]
             if "check" in c and "quantized_mlir" in c["check"]]
    if not cases:
        sys.exit("error: no case with check data in the manifest")

    failed = False
    with tempfile.TemporaryDirectory(prefix="gemm-bench-ref-") as tmp:
        dump = os.path.join(tmp, "dump")
        os.makedirs(dump)
        command = [bench, args.out, "--dry-run", "--dump", dump]
        for case in cases:
            command += ["--only", case["name"]]
        proc = subprocess.run(command, env=bench_environment(tmp),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"error: {' '.join(command)} failed:\n{proc.stdout}"
                     f"{proc.stderr}")
        for case in cases:
            name, m, n, k = case["name"], case["m"], case["n"], case["k"]
            x = np.fromfile(os.path.join(dump, name + ".x.f32.bin"),
                            dtype="<f4").reshape(m, k)
            y_bench = np.fromfile(os.path.join(dump, name + ".y.f32.bin"),
                                  dtype="<f4").reshape(m, n)
            module = os.path.join(args.out, case["check"]["quantized_mlir"])
            library = aot.compile_shared_library(
                module, os.path.join(tmp, name), hqdm_opt=args.hqdm_opt,
                name="reference")
            with aot.Library(library) as lib:
                (y_cpu,) = lib.call("forward", x, results=[((m, n), "f32")])
            diff = np.abs(y_cpu.astype(np.float64) - y_bench)
            scale = float(np.abs(y_cpu).max())
            rel = float(diff.max()) / scale if scale else float(diff.max())
            exact = int(np.count_nonzero(diff == 0))
            ok = rel < 1e-5
            failed |= not ok
            print(f"{name}: bench reference vs hqdm CPU lowering: "
                  f"{exact}/{diff.size} bit-exact, max |diff|/max|y| "
                  f"{rel:.2e} {'ok' if ok else 'MISMATCH'}", flush=True)
    if failed:
        sys.exit("error: gemm_bench's reference does not compute what hqdm's "
                 "CPU lowering computes")
    print("the bench's host reference agrees with hqdm's CPU lowering")


if __name__ == "__main__":
    main()
