#!/usr/bin/env python3
"""Generates the kernels and data of the CUDA GEMM benchmark (issue 6).

Runs on the development machine (hqdm-opt and ptxas, no GPU). For every case
(scheme x M x (N, K)) it

  1. writes a float module with one `hqdm.linear` whose random weight and
     bias are `dense_resource`s in a safetensors file (docs/Weights.md);
  2. quantizes it (`--hqdm-quantize`, single Hadamard, block 32);
  3. runs `convert-hqdm-to-gpu` alone and reads, from the `hqdm.gpu_launch`
     that replaces the layer, the operands, temps and launches, and the packed
     weight constant feeding it;
  4. lowers the quantized module fully (`--hqdm-lower-to-cuda`, format=bin and
     format=isa) and extracts the cubin and the PTX with
     utils/extract-gpu-objects.py;
  5. checks, on the CPU, that packing the quantized layer's centered integer
     weights the way Kernels.cpp documents gives exactly the packed constant
     the pass emitted;

and writes OUT/manifest.json for gemm_bench. Packed weights are stored once
per distinct content (they do not depend on M when the padded N does not).
For the correctness cases (by default M=256, N=K=1152 of each scheme) it also
writes the centered integer weights [N, K] as int16, which the bench uses for
a host reference of the GEMM.

    .venv/bin/python bench/gemm_cuda/prepare.py [OUT]          # every case
    .venv/bin/python bench/gemm_cuda/prepare.py --ms 256       # smallest M
    .venv/bin/python bench/gemm_cuda/prepare.py --chip sm_89 --sm-count 128

OUT defaults to bench/gemm_cuda/out (git-ignored); it is what travels to the
GPU machine together with the bench binary (bench/gemm_cuda/build.sh).
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import safetensors.numpy

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The issue's shapes: DiT-XL/2's qkv, proj, fc1 and fc2 (hidden 1152, MLP
# 4608) at 256 tokens per image and batch 1, 8 and 32.
DEFAULT_MS = [256, 256 * 8, 256 * 32]
DEFAULT_SHAPES = [(3456, 1152), (1152, 1152), (4608, 1152), (1152, 4608)]
DEFAULT_SCHEMES = ["w4a4", "w4a8"]
DEFAULT_CHECK = (256, 1152, 1152)  # (M, N, K) of the correctness cases
CHIPS = ["sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"]


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def random_layer(n, k, seed):
    """A Linear layer's float weight [N, K] and bias [N]: Gaussian scaled by
    1/sqrt(K), with a few input channels 4x larger (as DiT weights have)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, k), dtype=np.float32)
    w *= np.float32(1.0 / np.sqrt(k))
    cols = rng.choice(k, size=max(1, k // 64), replace=False)
    w[:, cols] *= np.float32(4.0)
    b = rng.standard_normal(n, dtype=np.float32) * np.float32(0.02)
    return w, b


def float_module(m, n, k, weights_file):
    return f"""module attributes {{hqdm.weights = "{weights_file}"}} {{
  func.func @forward(%x: tensor<{m}x{k}xf32>) -> tensor<{m}x{n}xf32> {{
    %w = arith.constant dense_resource<fc.weight> : tensor<{n}x{k}xf32>
    %b = arith.constant dense_resource<fc.bias> : tensor<{n}xf32>
    %y = hqdm.linear %x, %w bias(%b) {{name = "fc"}} : (tensor<{m}x{k}xf32>, tensor<{n}x{k}xf32>, tensor<{n}xf32>) -> tensor<{m}x{n}xf32>
    return %y : tensor<{m}x{n}xf32>
  }}
}}
"""


# --------------------------------------------------------------------------
# Reading MLIR text
# --------------------------------------------------------------------------

def parse_tensor_type(text):
    """'tensor<2x64xi8>' -> ([2, 64], 'i8'); 'tensor<f32>' -> ([], 'f32')."""
    inner = text.strip()
    assert inner.startswith("tensor<") and inner.endswith(">"), text
    parts = inner[len("tensor<"):-1].split("x")
    return [int(p) for p in parts[:-1]], parts[-1]


def element_info(etype):
    """(numpy dtype of the storage, bit width, is float)."""
    if etype == "f32":
        return np.dtype("<f4"), 32, True
    if etype == "f64":
        return np.dtype("<f8"), 64, True
    match = re.fullmatch(r"[su]?i(\d+)", etype)
    if not match:
        raise ValueError(f"unsupported element type {etype}")
    bits = int(match.group(1))
    # MLIR stores non-boolean integers in whole bytes, rounded up.
    storage = {8: "<i1", 16: "<i2", 32: "<i4", 64: "<i8"}[
        max(8, 1 << (bits - 1).bit_length())]
    return np.dtype(storage), bits, False


def resources(text):
    """The blobs of the `{-# dialect_resources: { builtin: {...} } #-}`
    trailer, by key: hex strings whose first 4 bytes are the alignment."""
    start = text.find("{-#")
    if start < 0:
        return {}
    return dict(re.findall(r'([\w.$-]+): "0x([0-9A-Fa-f]*)"', text[start:]))


def parse_dense(attr, shape, etype, blobs):
    """The values of `dense<...>` / `dense_resource<key>` as a numpy array of
    `shape`, in the storage type (integers of fewer than 8 bits keep their
    stored byte; see raw_integer_levels)."""
    dtype, _, is_float = element_info(etype)
    count = int(np.prod(shape)) if shape else 1
    resource = re.fullmatch(r"dense_resource<([^>]+)>", attr)
    if resource:
        blob = bytes.fromhex(blobs[resource.group(1)])[4:]
        return np.frombuffer(blob, dtype=dtype).reshape(shape).copy()
    body = re.fullmatch(r"dense<(.*)>", attr, re.S).group(1).strip()
    if body.startswith('"0x'):
        raw = bytes.fromhex(body[3:-1])
        values = np.frombuffer(raw, dtype=dtype)
        if values.size == 1 and count != 1:  # a splat in hex
            values = np.full(count, values[0], dtype=dtype)
        return values.reshape(shape).copy()
    flat = body.replace("[", " ").replace("]", " ").replace(",", " ").split()
    flat = [v for v in flat if v]
    if is_float:
        values = np.array([float(v) for v in flat], dtype=dtype)
    else:
        values = np.array([int(v) for v in flat], dtype=np.int64).astype(dtype)
    if values.size == 1 and count != 1:  # a splat
        values = np.full(count, values[0], dtype=dtype)
    return values.reshape(shape)


def constants(text):
    """SSA name -> (attribute text, tensor type text) of every
    `arith.constant` in the module (one per line in MLIR's printing)."""
    out = {}
    pattern = re.compile(
        r"^\s*(%[\w.$-]+) = arith\.constant "
        r"(dense(?:_resource)?<.*>) : (tensor<[^>]*>)\s*$")
    for line in text.splitlines():
        if "arith.constant" not in line:
            continue
        match = pattern.match(line)
        if match:
            out[match.group(1)] = (match.group(2), match.group(3))
    return out


def constant_value(consts, blobs, name):
    attr, ttype = consts[name]
    shape, etype = parse_tensor_type(ttype)
    return parse_dense(attr, shape, etype, blobs), etype


def integer_levels(values, etype, unsigned):
    """Stored integers as int64: masked to their width, then zero- or
    sign-extended (the GPU pass reads levels as unsigned when the layer has
    weight zero points)."""
    _, bits, _ = element_info(etype)
    v = values.astype(np.int64) & ((1 << bits) - 1)
    if not unsigned:
        v = np.where(v >= 1 << (bits - 1), v - (1 << bits), v)
    return v


def read_quantized_layer(text):
    """The `hqdm.qlinear` of the quantized module: its centered integer
    weights [N, K], weight scale, bias and multiplier."""
    line = next(l for l in text.splitlines() if "hqdm.qlinear" in l)
    match = re.search(r"hqdm\.qlinear (%[\w.$-]+), (%[\w.$-]+) scales\("
                      r"(%[\w.$-]+), (%[\w.$-]+)\)", line)
    weight, weight_scale = match.group(2), match.group(4)
    zero = re.search(r"weight_zero_point\((%[\w.$-]+)\)", line)
    bias = re.search(r"bias\((%[\w.$-]+)\)", line)
    mult = re.search(r"multiplier = ([-+0-9.eE]+) : f32", line)
    consts, blobs = constants(text), resources(text)
    raw, etype = constant_value(consts, blobs, weight)
    levels = integer_levels(raw, etype, unsigned=zero is not None)
    if zero:
        zraw, zetype = constant_value(consts, blobs, zero.group(1))
        zeros = integer_levels(zraw, zetype, unsigned=False).reshape(-1)
        levels = levels - (zeros[:, None] if zeros.size > 1 else zeros[0])
    ws, _ = constant_value(consts, blobs, weight_scale)
    b = constant_value(consts, blobs, bias.group(1))[0] if bias else None
    return {"centered": levels, "weight_scale": ws.astype("<f4"),
            "bias": None if b is None else b.astype("<f4"),
            "multiplier": float(mult.group(1)) if mult else 1.0,
            "weight_type": etype}


def split_top(text, sep=","):
    """Splits at `sep` outside brackets."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "<[({":
            depth += 1
        elif ch in ">])}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def i64_array(text):
    return [int(v) for v in text.split(",") if v.strip()]


def read_gpu_launch(text):
    """Operands, temps and launches of the module's one `hqdm.gpu_launch`,
    and the packed weight constant among its operands."""
    lines = [l for l in text.splitlines() if "hqdm.gpu_launch" in l]
    if len(lines) != 1:
        raise RuntimeError(f"expected one hqdm.gpu_launch, found {len(lines)} "
                           "(the layer stayed on the CPU? see the remarks)")
    line = lines[0]
    ins = re.search(r"ins\((.*?) : (.*?)\) outs\((.*?) : (.*?)\) \{", line)
    in_names = split_top(ins.group(1))
    in_types = split_top(ins.group(2))
    out_types = split_top(ins.group(4))
    attrs = line[ins.end() - 1:]
    temps_text = re.search(r"temps = \[(.*?)\]\}", attrs).group(1)
    temps = []
    for t in split_top(temps_text):
        shape_match = re.fullmatch(r"memref<([0-9x]*?)x?([a-z]+[0-9]*)>", t)
        parts = (shape_match.group(1) + "x" + shape_match.group(2)).split("x")
        temps.append(([int(p) for p in parts[:-1] if p], parts[-1]))
    launches = []
    launches_text = re.search(r"launches = \[(.*?)\], temps", attrs).group(1)
    for entry in split_top(launches_text):
        get = lambda key: re.search(key + r" = array<i64: ([^>]*)>", entry)
        launches.append({
            "name": re.search(r"kernel = @\w+::@(\w+)", entry).group(1),
            "grid": i64_array(get("grid").group(1)),
            "block": i64_array(get("block").group(1)),
            "args": i64_array(get("args").group(1)),
        })
    operands = [(n,) + tuple(parse_tensor_type(t))
                for n, t in zip(in_names, in_types)]
    outputs = [tuple(parse_tensor_type(t)) for t in out_types]
    return operands, outputs, temps, launches


def read_remark(stderr):
    """Fields of convert-hqdm-to-gpu's 'Kernels' remark, e.g. 'qlinear0:
    256x3456x1152 A4 per-token W8, hadamard block 32, mma.sync m16n8k32 s8,
    tile 128x128x64' (on sm_90a: 'wgmma m64n128k32 s8')."""
    match = re.search(
        r'Remark="(\w+): (\d+)x(\d+)x(\d+) A(\d+) ([\w-]+) W(\d+)'
        r'( \(two int8 digits\))?, hadamard block (\d+), '
        r'(?:mma\.sync|wgmma) (\S+) (s\d), tile (\d+)x(\d+)x(\d+)"', stderr)
    if not match:
        raise RuntimeError("no Kernels remark from convert-hqdm-to-gpu:\n"
                           + stderr)
    g = match.groups()
    return {"layer": g[0], "activation_bits": int(g[4]),
            "dynamic_scale": g[5] == "per-token", "weight_bits": int(g[6]),
            "weight_planes": 2 if g[7] else 1, "hadamard_block": int(g[8]),
            "mma": f"{g[9]}.{g[10]}", "tile": [int(g[11]), int(g[12]),
                                              int(g[13])]}


# --------------------------------------------------------------------------
# The weight layout (mirror of gpu_kernels::packWeights, for the check)
# --------------------------------------------------------------------------

def weight_positions(k_pad, weight_bits, activation_bits, int4_mma):
    """For each element e < k_pad of a row: (word, shift) where the packed
    layout keeps it (Kernels.cpp, packWeights)."""
    e = np.arange(k_pad)
    chunk, in_chunk = e // 32, e % 32
    if weight_bits == 4:
        position = in_chunk.copy()
        if not int4_mma and activation_bits == 8:
            # Unpacking word t gives its even nibbles in bytes 4t.. and its
            # odd ones in 16 + 4t..: store so that this is element order.
            half, r = in_chunk // 16, in_chunk % 16
            position = (r // 4) * 8 + (r % 4) * 2 + half
        return chunk * 4 + position // 8, 4 * (position % 8)
    position = in_chunk.copy()
    if activation_bits == 4:
        # Against 4-bit activations unpacked in registers (even nibbles in
        # slots 4t..4t+3, odd ones in 16+4t..).
        t, j = in_chunk // 8, (in_chunk % 8) // 2
        position = np.where(in_chunk % 2 == 0, 4 * t + j, 16 + 4 * t + j)
    return chunk * 8 + position // 4, 8 * (position % 4)


def pack_weights(centered, n_pad, k_pad, cfg):
    """Packs centered weights [N, K] like packWeights: [planes, n_pad,
    words] int32."""
    n, k = centered.shape
    bits, planes = cfg["weight_bits"], cfg["weight_planes"]
    words = k_pad * bits // 32
    word, shift = weight_positions(k_pad, bits, cfg["activation_bits"],
                                   cfg["mma"].endswith("s4"))
    padded = np.zeros((n_pad, k_pad), dtype=np.int64)
    padded[:n, :k] = centered
    if planes == 2:
        # hi = llround(w / 128), rounding halves away from zero.
        hi = np.sign(padded) * np.floor(np.abs(padded) / 128.0 + 0.5)
        hi = hi.astype(np.int64)
        digits = [padded - 128 * hi, hi]
    else:
        digits = [padded]
    mask = (1 << bits) - 1
    out = np.zeros((planes, n_pad, words), dtype=np.uint64)
    order = np.argsort(word, kind="stable")
    per_word = 32 // bits
    cols = order.reshape(words, per_word)  # the elements of each word
    for p, d in enumerate(digits):
        for slot in range(per_word):
            e = cols[:, slot]
            out[p] |= ((d[:, e] & mask).astype(np.uint64)
                       << shift[e].astype(np.uint64)[None, :])
    return out.astype(np.uint32).view(np.int32)


# --------------------------------------------------------------------------
# One case
# --------------------------------------------------------------------------

def run(cmd, log):
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log.append(f"$ {' '.join(cmd)}  ({time.monotonic() - start:.1f} s)")
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): "
                           f"{' '.join(cmd)}\n{proc.stderr[-4000:]}")
    return proc


def store_blob(out_dir, array, suffix):
    """Writes `array` (little-endian) under data/, named by its content hash
    so that identical data is stored once; returns the relative path."""
    raw = np.ascontiguousarray(array).tobytes()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    rel = os.path.join("data", f"{digest}.{suffix}.bin")
    path = os.path.join(out_dir, rel)
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    return rel


def prepare_case(args, scheme, m, n, k, weights_file, with_check):
    """Generates, lowers and checks one case; returns its manifest entry."""
    name = f"{scheme}_m{m}_n{n}_k{k}"
    case_dir = os.path.join(args.out, "cases", name)
    os.makedirs(case_dir, exist_ok=True)
    hqdm_opt = args.hqdm_opt
    log = []
    t0 = time.monotonic()

    float_mlir = os.path.join(case_dir, "float.mlir")
    with open(float_mlir, "w") as f:
        f.write(float_module(m, n, k, os.path.abspath(weights_file)))
    quantized = os.path.join(case_dir, "quantized.mlir")
    options = quantize_options(args, scheme)
    run([hqdm_opt, float_mlir, f"--hqdm-quantize={options}", "-o", quantized],
        log)

    # The launches, from convert-hqdm-to-gpu alone.
    to_gpu = os.path.join(case_dir, "to-gpu.mlir")
    gpu_options = f"chip={args.chip} sm-count={args.sm_count}"
    proc = run([hqdm_opt, quantized,
                "--pass-pipeline=builtin.module(convert-hqdm-to-gpu{"
                + gpu_options + "})",
                "--remarks-filter=hqdm-lower-to-cuda", "-o", to_gpu], log)
    cfg = read_remark(proc.stderr)
    with open(to_gpu) as f:
        gpu_text = f.read()
    operands, outputs, temps, launches = read_gpu_launch(gpu_text)

    # The kernel objects, from the whole pipeline.
    objects = {}
    for fmt, ext in (("bin", "cubin"), ("isa", "ptx")):
        lowered = os.path.join(case_dir, f"lowered.{fmt}.mlir")
        run([hqdm_opt, quantized,
             f"--hqdm-lower-to-cuda={gpu_options} format={fmt}", "-o",
             lowered], log)
        obj_dir = os.path.join(case_dir, fmt)
        run([sys.executable, os.path.join(ROOT, "utils",
                                          "extract-gpu-objects.py"),
             lowered, obj_dir], log)
        obj = os.path.join(obj_dir, f"hqdm_kernels.{args.chip}.{ext}")
        if not os.path.exists(obj):
            raise RuntimeError(f"{name}: no {obj} was extracted")
        final = os.path.join(case_dir, f"hqdm_kernels.{args.chip}.{ext}")
        shutil.move(obj, final)
        shutil.rmtree(obj_dir)
        objects[ext] = os.path.relpath(final, args.out)
        if not args.keep_ir:
            os.remove(lowered)

    # The launches name kernels of the module that was compiled.
    with open(os.path.join(args.out, objects["ptx"])) as f:
        ptx = f.read()
    for launch in launches:
        if f".entry {launch['name']}(" not in ptx:
            raise RuntimeError(f"{name}: the kernel {launch['name']} is not "
                               f"in {objects['ptx']}")

    # The quantized layer, for the reference and the packing check.
    with open(quantized) as f:
        layer = read_quantized_layer(f.read())
    centered = layer["centered"]
    if centered.shape != (n, k):
        raise RuntimeError(f"{name}: quantized weight is {centered.shape}")

    # Buffers, numbered like the gpu_launch's arguments: operands, then
    # temps. Operands: x, [given scale], packed weight, weight scale,
    # [bias], output.
    buffers = []
    gpu_consts = constants(gpu_text)
    gpu_blobs = resources(gpu_text)
    weight_index = next(i for i, (_, shape, et) in enumerate(operands)
                        if et == "i32" and len(shape) == 3)
    packed = None
    for i, (ssa, shape, etype) in enumerate(operands):
        buf = {"dtype": etype, "shape": shape}
        if i == 0:
            buf.update(name="x", role="input", init="random")
        elif i < weight_index:
            buf.update(name="input_scale", role="input_scale",
                       init="absmax")
        elif i == weight_index:
            packed, _ = constant_value(gpu_consts, gpu_blobs, ssa)
            packed = packed.astype("<i4")
            buf.update(name="packed_weight", role="packed_weight",
                       file=store_blob(args.out, packed, "packed_weight"))
        elif i == weight_index + 1:
            ws = layer["weight_scale"]
            if list(ws.shape) != shape:
                raise RuntimeError(f"{name}: weight scale {ws.shape} vs "
                                   f"{shape}")
            buf.update(name="weight_scale", role="weight_scale",
                       file=store_blob(args.out, ws, "f32"))
        else:
            b = layer["bias"]
            if b is None or list(b.shape) != shape:
                raise RuntimeError(f"{name}: unexpected operand {i}: {shape}")
            buf.update(name="bias", role="bias",
                       file=store_blob(args.out, b, "f32"))
        buffers.append(buf)
    for shape, etype in outputs:
        buffers.append({"name": "y", "role": "output", "dtype": etype,
                        "shape": shape})
    temp_roles = [("packed_input", "packed_input"),
                  ("token_scale", "token_scale")]
    for (tname, role), (shape, etype) in zip(temp_roles, temps):
        buffers.append({"name": tname, "role": role, "dtype": etype,
                        "shape": shape, "temp": True})

    # The layout check: our packing of the centered weights is the pass's.
    n_pad = packed.shape[1]
    k_pad = packed.shape[2] * 32 // cfg["weight_bits"]
    if packed.shape[0] != cfg["weight_planes"]:
        raise RuntimeError(f"{name}: {packed.shape[0]} weight planes, remark "
                           f"says {cfg['weight_planes']}")
    repacked = pack_weights(centered, n_pad, k_pad, cfg)
    if not np.array_equal(repacked, packed):
        bad = int(np.count_nonzero(repacked != packed))
        raise RuntimeError(f"{name}: packing the quantized weights as "
                           f"Kernels.cpp documents differs from the pass's "
                           f"constant in {bad} of {packed.size} words")

    roles = {b["role"]: i for i, b in enumerate(buffers)}
    kernels = []
    for launch in launches:
        kernel_role = ("prologue" if launch["name"].endswith("_prologue")
                       else "gemm")
        kernels.append(dict(launch, role=kernel_role))
    packed_input = buffers[roles["packed_input"]]["shape"]
    config = dict(cfg, multiplier=layer["multiplier"],
                  activation_max_level=(1 << (cfg["activation_bits"] - 1)) - 1,
                  m_pad=packed_input[0], n_pad=n_pad, k_pad=k_pad,
                  has_bias="bias" in roles, quantized_weight_type=
                  layer["weight_type"], max_abs_weight=int(
                      np.abs(centered).max()))
    entry = {"name": name, "scheme": scheme, "m": m, "n": n, "k": k,
             "chip": args.chip, "module": objects, "config": config,
             "buffers": buffers, "kernels": kernels}
    if with_check:
        entry["check"] = {"centered_weights": store_blob(
            args.out, centered.astype("<i2"), "centered_i16"),
            "centered_shape": [n, k]}
        # The quantized module, self-contained (its float weights file is
        # gone), for verify_reference.py's CPU run.
        kept = os.path.join(case_dir, "reference.mlir")
        with open(quantized) as f:
            text = f.read()
        text = re.sub(r'^module attributes \{hqdm\.weights = "[^"]*"\}',
                      "module", text, count=1)
        with open(kept, "w") as f:
            f.write(text)
        entry["check"]["quantized_mlir"] = os.path.relpath(kept, args.out)
    if not args.keep_ir:
        for path in (float_mlir, quantized, to_gpu):
            os.remove(path)
    seconds = time.monotonic() - t0
    summary = (f"{name}: A{cfg['activation_bits']} W{cfg['weight_bits']}"
               f"{'x2' if cfg['weight_planes'] == 2 else ''} "
               f"max|w|={config['max_abs_weight']} {cfg['mma']} tile "
               f"{'x'.join(map(str, cfg['tile']))}, grids "
               + ", ".join("x".join(map(str, l["grid"])) for l in launches)
               + f" ({seconds:.1f} s)")
    return entry, summary, log


def quantize_options(args, scheme):
    """The --hqdm-quantize options of a case."""
    options = f"scheme={scheme} hadamard={args.hadamard} block={args.block}"
    if args.weight_symmetric:
        options += " weight-symmetric=true"
    if args.clip_candidates:
        options += f" clip-candidates={args.clip_candidates}"
    if args.quantize_options:
        options += " " + args.quantize_options
    return options


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        n, k = item.lower().split("x")
        shapes.append((int(n), int(k)))
    return shapes


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("out", nargs="?", default=os.path.join(HERE, "out"))
    parser.add_argument("--chip", default="sm_90", choices=CHIPS)
    parser.add_argument("--sm-count", type=int, default=132,
                        help="SMs the tiles should fill (H100/H200 SXM: 132)")
    parser.add_argument("--ms", default=",".join(map(str, DEFAULT_MS)),
                        help="comma-separated token counts M")
    parser.add_argument("--shapes", default=",".join(
        f"{n}x{k}" for n, k in DEFAULT_SHAPES), help="NxK,NxK,...")
    parser.add_argument("--schemes", default=",".join(DEFAULT_SCHEMES))
    parser.add_argument("--check", default="x".join(map(str, DEFAULT_CHECK)),
                        help="MxNxK of the cases the bench checks against a "
                             "host reference ('none': no check data)")
    parser.add_argument("--hadamard", default="single",
                        choices=["single", "double", "none"],
                        help="hqdm-quantize's online rotation (default: "
                             "single, as in the issue)")
    parser.add_argument("--block", type=int, default=32,
                        help="Hadamard block (the prologue handles up to 32)")
    parser.add_argument("--weight-symmetric", action="store_true",
                        help="symmetric weights (default: asymmetric)")
    parser.add_argument("--clip-candidates", type=int, default=0,
                        help="weight clipping ratios searched (0: the "
                             "pass's default; fewer is faster)")
    parser.add_argument("--quantize-options", default="",
                        help="further hqdm-quantize options, e.g. "
                             "'activation=per-tensor'")
    parser.add_argument("--hqdm-opt",
                        default=os.path.join(ROOT, "build", "bin", "hqdm-opt"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep-ir", action="store_true",
                        help="keep the intermediate .mlir files")
    parser.add_argument("--verbose", action="store_true",
                        help="print each command and its time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out = os.path.abspath(args.out)
    args.hqdm_opt = os.path.abspath(args.hqdm_opt)
    if not os.access(args.hqdm_opt, os.X_OK):
        sys.exit(f"error: {args.hqdm_opt} is not executable (build hqdm "
                 "first, or pass --hqdm-opt)")
    ms = [int(v) for v in args.ms.split(",")]
    shapes = parse_shapes(args.shapes)
    schemes = args.schemes.split(",")
    check = (None if args.check == "none"
             else tuple(int(v) for v in args.check.lower().split("x")))

    start = time.monotonic()
    # A fresh output, except what is not ours (build.sh's binary).
    for stale in ("cases", "data", "weights"):
        shutil.rmtree(os.path.join(args.out, stale), ignore_errors=True)
    if os.path.exists(os.path.join(args.out, "manifest.json")):
        os.remove(os.path.join(args.out, "manifest.json"))
    os.makedirs(os.path.join(args.out, "data"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "weights"), exist_ok=True)
    # One float layer per (N, K), shared by the schemes and the Ms.
    weights = {}
    for n, k in shapes:
        path = os.path.join(args.out, "weights", f"fc_n{n}_k{k}.safetensors")
        w, b = random_layer(n, k, seed=args.seed * 1000003 + n * 7919 + k)
        safetensors.numpy.save_file({"fc.weight": w, "fc.bias": b}, str(path))
        weights[(n, k)] = path
    print(f"[prepare] float weights written ({time.monotonic() - start:.1f} s)",
          flush=True)

    jobs = [(scheme, m, n, k) for scheme in schemes for (n, k) in shapes
            for m in ms]
    entries = {}
    failures = []
    with concurrent.futures.ProcessPoolExecutor(max(1, args.jobs)) as pool:
        futures = {
            pool.submit(prepare_case, args, scheme, m, n, k, weights[(n, k)],
                        (m, n, k) == check): (scheme, m, n, k)
            for scheme, m, n, k in jobs}
        for done, future in enumerate(
                concurrent.futures.as_completed(futures), 1):
            key = futures[future]
            try:
                entry, summary, log = future.result()
            except Exception as error:  # report every failure at the end
                failures.append(f"{key}: {error}")
                print(f"[prepare {done}/{len(jobs)}] FAILED {key}: {error}",
                      flush=True)
                continue
            entries[key] = entry
            if args.verbose:
                print("\n".join(log), flush=True)
            print(f"[prepare {done}/{len(jobs)}] {summary}  "
                  f"[{time.monotonic() - start:.0f} s]", flush=True)
    if failures:
        sys.exit("error: some cases failed:\n" + "\n".join(failures))

    if not any("check" in e for e in entries.values()) and check:
        print(f"[prepare] note: no case is {check}; the bench will run "
              "without a correctness check", flush=True)
    try:
        commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                                 "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    manifest = {
        "version": 1,
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        "hqdm_commit": commit,
        "chip": args.chip,
        "sm_count": args.sm_count,
        "quantize": quantize_options(args, "<scheme>"),
        "cases": [entries[key] for key in jobs],
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    # The float weights are only an input of the generation.
    shutil.rmtree(os.path.join(args.out, "weights"))
    size = sum(os.path.getsize(os.path.join(d, f))
               for d, _, files in os.walk(args.out) for f in files)
    print(f"[prepare] wrote {os.path.join(args.out, 'manifest.json')}: "
          f"{len(jobs)} cases, {size / 2**20:.1f} MiB in {args.out}, "
          f"{time.monotonic() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
