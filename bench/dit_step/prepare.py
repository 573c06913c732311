#!/usr/bin/env python3
"""Compiles the libraries of the DiT-XL/2 denoising-step benchmark (issue 7).

Runs on the development machine (hqdm-opt, ptxas, the torch-mlir importer;
no GPU). For each batch (1 and 8 by default) it

  1. builds DiT-XL/2 (python/hqdm/models/dit.py: 28 blocks, hidden 1152,
     16 heads, patch 2, 32x32x4 latents, 1000 classes, learned sigma) on the
     meta device and imports it with hqdm's importer, parameters by name
     (`hqdm import --meta`): forward(x [B,4,32,32] f32, t [B] i64,
     y [B] i64) -> [B,8,32,32] f32, the whole model: timestep and label
     embedders, patch-embedding conv, the blocks, final layer, unpatchify;
  2. writes random float32 weights of the real shapes (N(0, 0.02), --seed)
     to one safetensors file shared by the batches;

and for each case (batch x scheme, w4a8 and w4a4 by default) runs, as one
process,

    hqdm-opt IMPORT --hqdm-load-weights=file=WEIGHTS
      --hqdm-quantize="scheme=S" (single Hadamard, block 32, per-token
        activation scales: no calibration needed)
      --hqdm-lower-to-cuda="chip=sm_90 whole-model=true format=bin
        emit-c-interface external-weights=WORK/NAME.weights.safetensors"

then mlir-translate, llc and cc (hqdm.aot) to NAME.so. It reads the
launch count that `hqdm-report-launches` reports, and the header of the
weights file (the weights themselves are not carried: the GPU side writes
random values of the same tensors, which the runtime accepts because it
checks the tensor list, not the values). The library is compressed with xz
(its 28 blocks are the same kernels 28 times) into OUT, with the header in
OUT/manifest.json, and libhqdm_cuda_runtime.so is copied beside them.

    .venv/bin/python bench/dit_step/prepare.py [OUT]
        [--batches 1,8] [--schemes w4a8,w4a4] [--depth 28] [--chip sm_90]
        [--jobs 2] [--work-dir /tmp/hqdm-dit-step] [--keep-work]

OUT defaults to bench/dit_step/out (git-ignored); it must fit the 64 MiB
that travel to the GPU machine, which this script checks. On the GPU
machine: bash bench/dit_step/run.sh (bench/RESULTS.md).
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "python"))

CARRY_LIMIT = 64 * 2**20
LAUNCHES = re.compile(
    r'Remark="@forward launches (\d+) kernels per call \((\d+) of quantized '
    r'layers, (\d+) from parallel loops\) and allocates (\d+) device buffers"')
KERNEL_REMARK = re.compile(r'\[Passed\] Kernels \| Category:hqdm-lower-to-cuda '
                           r'\| Remark="([^"]*)"')
MISSED_REMARK = re.compile(r'\[Missed\][^\n]*Remark="([^"]*)"')


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def measure(command, stderr_path):
    """Runs `command` with its stderr in `stderr_path`; (wall s, peak RSS
    GiB). Raises with the stderr's tail on failure."""
    start = time.perf_counter()
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen([str(c) for c in command],
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = Path(stderr_path).read_text()[-4000:]
        raise RuntimeError(f"{command[0]} failed (exit {code}):\n"
                           f"  {' '.join(map(str, command))}\n{tail}")
    return wall, usage.ru_maxrss / 2**20


def read_header(path):
    """(header without __metadata__, metadata, header bytes, data bytes) of
    a safetensors file."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    size = Path(path).stat().st_size
    metadata = header.pop("__metadata__", {})
    return header, metadata, length, size - 8 - length


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_model(batch, depth, work, weights, seed):
    """Imports DiT-XL/2 at `batch` (weights by name in `weights`, written
    once); returns (mlir path, parameter count, seconds)."""
    from hqdm import zoo
    from hqdm.importer import import_module, random_weights
    start = time.perf_counter()
    mlir = work / f"dit_xl2_b{batch}.mlir"
    module, args = zoo.build("dit:DiT-XL/2", [f"depth={depth}",
                                              f"batch={batch}"],
                             device="meta", seed=seed)
    params = sum(p.numel() for p in module.parameters())
    imported = import_module(module, args, weights=weights)
    imported.save(mlir)
    if not weights.is_file():
        log(f"writing random float32 weights to {weights} "
            f"({params * 4 / 2**30:.1f} GiB)")
        random_weights(imported, weights, module, seed=seed)
    signature = ([(list(s.shape), s.dtype) for s in imported.inputs],
                 [(list(s.shape), s.dtype) for s in imported.outputs])
    return mlir, params, signature, time.perf_counter() - start


def compile_case(case, args, work, out):
    """Quantizes and lowers one case, links and compresses its library;
    returns its manifest entry."""
    from hqdm import aot
    name = case["name"]
    weights_file = work / f"{name}.weights.safetensors"
    lowered = work / f"{name}.llvm.mlirbc"
    remarks = work / f"{name}.remarks.txt"
    quantize = f"scheme={case['scheme']}"
    if args.quantize_options:
        quantize += " " + args.quantize_options
    lowering = (f"chip={args.chip} sm-count={args.sm_count} whole-model=true "
                f"format=bin emit-c-interface "
                f"external-weights={weights_file}")
    command = [aot.find_hqdm_opt(args.hqdm_opt), case["import"],
               f"--hqdm-load-weights=file={case['float_weights']}",
               f"--hqdm-quantize={quantize}",
               f"--hqdm-lower-to-cuda={lowering}",
               "--remarks-filter=hqdm-lower-to-cuda", "--emit-bytecode",
               "-o", lowered]
    log(f"{name}: quantize + lower (hqdm-opt)")
    wall, rss = measure(command, remarks)
    text = remarks.read_text()
    launches = LAUNCHES.search(text)
    if not launches:
        raise RuntimeError(f"{name}: no launch remark in {remarks}")
    kernels = KERNEL_REMARK.findall(text)
    missed = sorted(set(MISSED_REMARK.findall(text)))

    log(f"{name}: hqdm-opt {wall:.0f} s, {rss:.2f} GiB; linking")
    start = time.perf_counter()
    library = aot.compile_shared_library(lowered, work, lower=False,
                                         target=f"cuda:{args.chip}",
                                         hqdm_opt=args.hqdm_opt, name=name)
    link = time.perf_counter() - start

    header, metadata, header_bytes, data_bytes = read_header(weights_file)
    compressed = out / f"{name}.so.xz"
    with open(library, "rb") as src, lzma.open(compressed, "wb",
                                               preset=9) as dst:
        shutil.copyfileobj(src, dst)
    entry = {
        "name": name,
        "batch": case["batch"],
        "scheme": case["scheme"],
        "quantize": quantize,
        "lowering": lowering.replace(str(work) + "/", ""),
        "library": compressed.name,
        "library_bytes": library.stat().st_size,
        "library_xz_bytes": compressed.stat().st_size,
        "library_sha256": sha256(library),
        "inputs": case["signature"][0],
        "outputs": case["signature"][1],
        "launches": {"kernels": int(launches.group(1)),
                     "quantized_layer_kernels": int(launches.group(2)),
                     "parallel_loop_kernels": int(launches.group(3)),
                     "device_buffers": int(launches.group(4))},
        "quantized_layers": len(kernels),
        "layers_left_float": missed,
        "weights": {"file": weights_file.name,
                    "tensors": len(header),
                    "data_bytes": data_bytes,
                    "header_bytes": header_bytes,
                    "metadata": metadata,
                    "header": header},
        "seconds": {"hqdm_opt": round(wall, 1), "link": round(link, 1)},
        "hqdm_opt_peak_gib": round(rss, 2),
    }
    if not args.keep_work:
        for path in (weights_file, lowered, work / f"{name}.ll",
                     work / f"{name}.o", library):
            path.unlink(missing_ok=True)
    log(f"{name}: {entry['launches']['kernels']} kernels per step, "
        f"{len(header)} weight tensors ({data_bytes / 2**20:.0f} MiB), "
        f"library {entry['library_bytes'] / 2**20:.1f} MiB "
        f"({entry['library_xz_bytes'] / 2**20:.2f} MiB xz)")
    return entry


def git_commit():
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", nargs="?", default=str(HERE / "out"))
    p.add_argument("--batches", default="1,8")
    p.add_argument("--schemes", default="w4a8,w4a4")
    p.add_argument("--depth", type=int, default=28,
                   help="blocks (DiT-XL/2 has 28; fewer for a quick check)")
    p.add_argument("--chip", default="sm_90")
    p.add_argument("--sm-count", type=int, default=132)
    p.add_argument("--quantize-options", default="",
                   help="more hqdm-quantize options, e.g. clip-candidates=8")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2,
                   help="cases compiled at once (each ~4 GiB at depth 28)")
    p.add_argument("--work-dir", default="/tmp/hqdm-dit-step")
    p.add_argument("--keep-work", action="store_true",
                   help="keep the intermediate files and the weights files")
    p.add_argument("--hqdm-opt", default=None)
    args = p.parse_args(argv)

    started = time.perf_counter()
    out = Path(args.out)
    work = Path(args.work_dir)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob("*.so.xz")) + [out / "manifest.json"]:
        stale.unlink(missing_ok=True)
    shutil.rmtree(out / "run", ignore_errors=True)  # dit_step.py's
    batches = [int(b) for b in args.batches.split(",")]
    schemes = args.schemes.split(",")

    float_weights = work / f"dit_xl2_d{args.depth}_seed{args.seed}.safetensors"
    imports = {}
    for batch in batches:
        log(f"importing DiT-XL/2 (depth {args.depth}) at batch {batch}")
        mlir, params, signature, seconds = import_model(
            batch, args.depth, work, float_weights, args.seed)
        imports[batch] = (mlir, signature)
        log(f"imported {params / 1e6:.1f} M parameters in {seconds:.0f} s")
    cases = [{"name": f"dit_xl2_b{b}_{s}", "batch": b, "scheme": s,
              "import": imports[b][0], "signature": imports[b][1],
              "float_weights": float_weights}
             for b in batches for s in schemes]

    entries, failures = {}, []
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        futures = {pool.submit(compile_case, c, args, work, out): c["name"]
                   for c in cases}
        for future in concurrent.futures.as_completed(futures):
            try:
                entries[futures[future]] = future.result()
            except Exception as e:  # reported below, after the others
                failures.append(f"{futures[future]}: {e}")
    if failures:
        sys.exit("prepare.py: error:\n" + "\n".join(failures))

    runtime = Path(__import__("hqdm.aot", fromlist=["aot"]).find_cuda_runtime(
        hqdm_opt=args.hqdm_opt))
    (out / "runtime").mkdir(exist_ok=True)
    shutil.copy2(runtime, out / "runtime" / runtime.name)
    if not args.keep_work:
        float_weights.unlink(missing_ok=True)

    elapsed = time.perf_counter() - started
    manifest = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "commit": git_commit(),
        "command": " ".join([Path(sys.executable).name,
                             os.path.relpath(__file__, ROOT)] +
                            (argv if argv is not None else sys.argv[1:])),
        "machine": f"{os.uname().nodename}, {os.cpu_count()} cores",
        "model": {"name": "DiT-XL/2", "depth": args.depth,
                  "float_weights": f"random N(0, 0.02), seed {args.seed}"},
        "chip": args.chip,
        "prepare_seconds": round(elapsed, 1),
        "runtime": f"runtime/{runtime.name}",
        "cases": [entries[c["name"]] for c in cases],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    log(f"prepared {len(cases)} cases in {elapsed:.0f} s; {out} holds "
        f"{total / 2**20:.1f} MiB")
    for e in manifest["cases"]:
        print(f"  {e['name']}: {e['launches']['kernels']} kernels/step, "
              f"{e['weights']['tensors']} tensors, "
              f"{e['weights']['data_bytes'] / 2**20:.0f} MiB of weights, "
              f"library {e['library_bytes'] / 2**20:.1f} MiB, "
              f"hqdm-opt {e['seconds']['hqdm_opt']} s "
              f"({e['hqdm_opt_peak_gib']} GiB)")
    if total > CARRY_LIMIT:
        sys.exit(f"prepare.py: error: {out} holds {total / 2**20:.1f} MiB, "
                 f"more than the {CARRY_LIMIT // 2**20} MiB that travel to "
                 "the GPU machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
