"""The CUDA target: quantized linear and conv layers compiled to generated
kernels.

Without a GPU (CI): the library links against hqdm's CUDA runtime and, run
where no driver is installed, stops with the runtime's message instead of
crashing. With a GPU (a libcuda that initialises): every layer shape, the
DiT-XL/2 GEMM shapes and an LDM UNet 3x3 conv among them, matches the CPU reference library compiled
from the same quantized IR, on fresh random inputs, with device buffers
poisoned before the kernels run (HQDM_CUDA_POISON); so do Hadamard blocks
above 32 (128, 1152 = 36 x 32, 4608 = 36 x 128) and a GELU fused into the
GEMM epilogue.
"""
import ctypes
import re
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hqdm import aot
from hqdm.compiler import compile as hqdm_compile

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "test" / "Conversion" / "HqdmToGPU" / "Inputs"
MAKE_LINEAR = INPUTS / "make_linear.py"
MAKE_CONV = INPUTS / "make_conv.py"


def have_runtime():
    try:
        aot.cuda_runtime_dir()
        return True
    except aot.AotError:
        return False


def have_gpu():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return (cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
            and count.value > 0)


def gpu_capability():
    """(major, minor) of device 0, or None without a GPU."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    major, minor, device = ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(0)
    # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR.
    if (cuda.cuInit(0) != 0 or cuda.cuDeviceGet(ctypes.byref(device), 0) != 0
            or cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, device) != 0
            or cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, device) != 0):
        return None
    return major.value, minor.value


needs_runtime = pytest.mark.skipif(not have_runtime(),
                                   reason="built without cuda.h: no CUDA runtime")
needs_gpu = pytest.mark.skipif(not have_gpu(), reason="no CUDA GPU here")


def linear_model(tmp_path, m, n, k, seed=0, gelu=None):
    path = tmp_path / f"linear_{m}x{n}x{k}{'_gelu_' + gelu if gelu else ''}.mlir"
    subprocess.run([sys.executable, MAKE_LINEAR, path, f"{m}:{n}:{k}",
                    "--forward", "--seed", str(seed)]
                   + (["--gelu", gelu] if gelu else []), check=True)
    return path


def conv_model(tmp_path, shape, seed=0):
    """A model of one hqdm.conv2d; `shape` is make_conv.py's
    (N, C, H, W, F, K[, stride[, padding[, dilation]]])."""
    spec = ":".join(map(str, shape))
    path = tmp_path / f"conv_{spec.replace(':', 'x')}.mlir"
    subprocess.run([sys.executable, MAKE_CONV, path, spec, "--forward",
                    "--seed", str(seed)], check=True)
    return path


# hqdm-quantize options for each operand form the kernels cover.
SCHEMES = {
    "w4a4-single": "clip-candidates=8",
    "w4a8-single": "scheme=w4a8 clip-candidates=8",
    "w4a4-none-symmetric": "hadamard=none weight-symmetric=true clip-candidates=8",
}


@needs_runtime
@pytest.mark.parametrize("chip", ["sm_80", "sm_90a"])
def test_cuda_library_links_and_fails_cleanly_without_driver(tmp_path, chip):
    source = linear_model(tmp_path, 37, 72, 96)
    hqdm_compile(source, quantize=SCHEMES["w4a4-single"], target=f"cuda:{chip}",
                 work_dir=tmp_path / "cuda")
    library = tmp_path / "cuda" / (source.stem + ".so")
    undefined = subprocess.run(["nm", "-D", "--undefined-only", library],
                               capture_output=True, text=True, check=True).stdout
    for symbol in ("mgpuModuleLoad", "mgpuModuleGetFunction", "mgpuLaunchKernel",
                   "mgpuMemAlloc", "mgpuMemcpy", "mgpuStreamSynchronize"):
        assert symbol in undefined
    # Loading needs no driver (modules load lazily); running does: in a
    # child process pointed at a driver that does not exist, the runtime
    # prints its message and exits 1.
    env = dict(os.environ, HQDM_CUDA_DRIVER=str(tmp_path / "no-such-libcuda.so"),
               PYTHONPATH=str(ROOT / "python"))
    child = subprocess.run(
        [sys.executable, "-c",
         "import numpy as np; from hqdm.compiler import compile as c; "
         f"m = c({str(source)!r}, quantize={SCHEMES['w4a4-single']!r}, "
         f"target='cuda:{chip}', work_dir={str(tmp_path / 'child')!r}); "
         "print('loaded', flush=True); m(np.ones((37, 96), np.float32))"],
        env=env, capture_output=True, text=True)
    assert child.returncode == 1, child.stderr
    assert child.stdout == "loaded\n"
    assert "hqdm CUDA runtime: cannot load" in child.stderr
    assert "no-such-libcuda.so" in child.stderr


def test_unknown_target_is_an_error(tmp_path):
    from hqdm.compiler import CompileError
    with pytest.raises(CompileError, match="unknown target 'tpu'"):
        hqdm_compile(tmp_path / "x.mlir", target="tpu")


# (M, N, K): DiT-XL/2's GEMMs at batch 1 (M = 256 tokens) and odd sizes.
SHAPES = [(256, 3456, 1152), (256, 1152, 1152), (256, 4608, 1152),
          (256, 1152, 4608), (37, 72, 96), (130, 200, 160), (1, 64, 32)]


# The default chip (sm_90: mma.sync) and sm_90a (wgmma), which runs only on
# a compute capability 9.0 device (H100, H200).
TARGETS = ["cuda", "cuda:sm_90a"]


@needs_runtime
@needs_gpu
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_cuda_matches_cpu_reference(tmp_path, monkeypatch, shape, scheme, target):
    if target == "cuda:sm_90a" and gpu_capability() != (9, 0):
        pytest.skip(f"sm_90a kernels need compute capability 9.0, not {gpu_capability()}")
    monkeypatch.setenv("HQDM_CUDA_POISON", "1")
    m, n, k = shape
    source = linear_model(tmp_path, m, n, k, seed=m + n + k)
    cpu = hqdm_compile(source, quantize=SCHEMES[scheme], work_dir=tmp_path / "cpu")
    gpu = hqdm_compile(source, quantize=SCHEMES[scheme], target=target,
                       work_dir=tmp_path / "cuda")
    rng = np.random.default_rng(1234 + m)
    for trial in range(3):
        x = rng.normal(0, 1, (m, k)).astype(np.float32)
        x[:, rng.integers(0, k, 4)] *= 20  # outlier channels
        if trial == 2:
            x[0] = 0  # an all-zero token: scale 0, levels 0
        expected = cpu(x)
        got = gpu(x)
        assert np.all(np.isfinite(got)), "an output the kernels did not write"
        # The integer parts are exact; the f32 epilogue may differ by an FMA
        # contraction (DESIGN.md: 1e-6 relative).
        scale = np.max(np.abs(expected)) + 1e-30
        assert np.max(np.abs(got - expected)) / scale <= 1e-6


# (M, N, K, Hadamard block, GELU): the prologue's large and K x 2^m blocks
# (DiT-XL/2's qkv/fc1 inputs: K = 1152; fc2's: K = 4608), and fc1 + GELU.
LARGE_BLOCK_CASES = [(256, 1152, 1152, 128, None), (256, 1152, 1152, 1152, None),
                     (256, 1152, 4608, 4608, None), (70, 200, 2304, 1152, None),
                     (256, 4608, 1152, 1152, "tanh"), (37, 72, 96, 32, "none")]


@needs_runtime
@needs_gpu
@pytest.mark.parametrize("case", LARGE_BLOCK_CASES,
                         ids=lambda c: f"{c[0]}x{c[1]}x{c[2]}-block{c[3]}"
                                       + (f"-gelu-{c[4]}" if c[4] else ""))
def test_cuda_large_blocks_and_gelu_match_cpu_reference(tmp_path, monkeypatch, case):
    monkeypatch.setenv("HQDM_CUDA_POISON", "1")
    m, n, k, block, gelu = case
    quantize = f"clip-candidates=8 block={block}"
    source = linear_model(tmp_path, m, n, k, seed=m + n + k, gelu=gelu)
    cpu = hqdm_compile(source, quantize=quantize, work_dir=tmp_path / "cpu")
    gpu = hqdm_compile(source, quantize=quantize, target="cuda",
                       work_dir=tmp_path / "cuda")
    # The layer without its GELU, for the magnitude of GELU's input.
    pre = hqdm_compile(linear_model(tmp_path, m, n, k, seed=m + n + k),
                       quantize=quantize, work_dir=tmp_path / "pre") if gelu else cpu
    rng = np.random.default_rng(4321 + k)
    for trial in range(3):
        x = rng.normal(0, 1, (m, k)).astype(np.float32)
        x[:, rng.integers(0, k, 4)] *= 20
        if trial == 2:
            x[0] = 0
        expected = cpu(x)
        got = gpu(x)
        assert np.all(np.isfinite(got)), "an output the kernels did not write"
        # The rotation, the integers and the dequantization are bit-exact; the
        # GELU's erf/tanh are libdevice's on the GPU and libm's on the CPU (a
        # few ulp each), which moves 0.5 x (1 + f) by a few ulp of |x|:
        # DESIGN.md's 1e-6, relative to the largest GELU input.
        scale = np.max(np.abs(pre(x))) + 1e-30
        assert np.max(np.abs(got - expected)) / scale <= 1e-6


@needs_runtime
def test_cuda_conv_is_lowered_to_kernels(tmp_path):
    # Without a GPU: the conv becomes the three generated kernels (no CPU
    # fallback remark) and the library links.
    source = conv_model(tmp_path, (2, 20, 9, 11, 24, 3, 2, 1))
    work = tmp_path / "cuda"
    hqdm_compile(source, quantize=SCHEMES["w4a4-none-symmetric"],
                 target="cuda:sm_80", work_dir=work)
    assert (work / (source.stem + ".so")).is_file()
    kernels = "".join(p.read_text(errors="replace") for p in work.glob("*.mlir"))
    for kernel in ("qconv0_absmax", "qconv0_prologue", "qconv0_gemm"):
        assert kernel in kernels


# (N, C, H, W, F, K[, stride[, padding[, dilation]]]): an LDM UNet 3x3 conv
# at 64 x 64 and 32 x 32, and odd ones (stride 2, dilation 2, 1x1, C not a
# multiple of 32, F not a multiple of 8).
CONV_SHAPES = [(1, 320, 64, 64, 320, 3), (2, 320, 32, 32, 320, 3),
               (2, 20, 9, 11, 24, 3, 2, 1), (2, 8, 7, 7, 16, 3, 1, 2, 2),
               (3, 64, 5, 5, 17, 1)]


@needs_runtime
@needs_gpu
@pytest.mark.parametrize("scheme", sorted(SCHEMES))
@pytest.mark.parametrize("shape", CONV_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_cuda_conv_matches_cpu_reference(tmp_path, monkeypatch, shape, scheme):
    monkeypatch.setenv("HQDM_CUDA_POISON", "1")
    n, c, h, w = shape[:4]
    source = conv_model(tmp_path, shape, seed=sum(shape))
    cpu = hqdm_compile(source, quantize=SCHEMES[scheme], work_dir=tmp_path / "cpu")
    gpu = hqdm_compile(source, quantize=SCHEMES[scheme], target="cuda",
                       work_dir=tmp_path / "cuda")
    rng = np.random.default_rng(4321 + c)
    for trial in range(3):
        x = rng.normal(0, 1, (n, c, h, w)).astype(np.float32)
        x[:, rng.integers(0, c, 4)] *= 20  # outlier channels
        if trial == 2:
            x[:] = 0  # scale 0: every level 0, the output is the bias
        expected = cpu(x)
        got = gpu(x)
        assert np.all(np.isfinite(got)), "an output the kernels did not write"
        scale = np.max(np.abs(expected)) + 1e-30
        assert np.max(np.abs(got - expected)) / scale <= 1e-6


# Whole models on the GPU (whole_model=True): the held-in DiT block and UNet
# ResBlock (test/Models), without the @main that prints on the host.
MODELS = ROOT / "test" / "Models"
FORWARD_ONLY = INPUTS / "forward_only.py"
WHOLE_MODELS = {"dit_block": [(2, 16, 64), (2, 64)],
                "unet_resblock": [(2, 32, 8, 8), (2, 64)]}


def forward_only(tmp_path, name):
    path = tmp_path / f"{name}.mlir"
    subprocess.run([sys.executable, FORWARD_ONLY, MODELS / f"{name}.mlir", path],
                   check=True)
    return path


@needs_runtime
def test_whole_model_library_describes_itself(tmp_path):
    # Without a GPU: the library links, exports the signature the C ABI
    # reads, and loading it through the C ABI where there is no driver stops
    # with the runtime's message (exit 1) once it needs the device.
    source = forward_only(tmp_path, "dit_block")
    work = tmp_path / "cuda"
    aot.compile_shared_library(source, work, target="cuda",
                               whole_model=True,
                               pipeline_args=["--hqdm-quantize=scheme=w4a4"])
    library = work / "dit_block.so"
    # A char array: its address is the string.
    start = ctypes.c_char.in_dll(ctypes.CDLL(str(library)), "hqdm_model_signature")
    signature = ctypes.cast(ctypes.addressof(start), ctypes.c_char_p).value.decode()
    assert signature == ("hqdm-model-signature v1\nfunction forward\n"
                         "in f32 2x16x64\nin f32 2x64\nout f32 2x16x64\n")
    env = dict(os.environ, HQDM_CUDA_DRIVER=str(tmp_path / "no-such-libcuda.so"),
               PYTHONPATH=str(ROOT / "python"))
    child = subprocess.run(
        [sys.executable, "-c",
         f"from hqdm import aot; aot.DeviceModel({str(library)!r})"],
        env=env, capture_output=True, text=True)
    assert child.returncode == 1, child.stderr
    assert "hqdm CUDA runtime: cannot load" in child.stderr


@needs_runtime
def test_whole_model_load_errors(tmp_path):
    # A library without a signature (compiled for the CPU) is refused by
    # the C ABI with a message, before any device is needed.
    source = forward_only(tmp_path, "dit_block")
    library = aot.compile_shared_library(source, tmp_path / "cpu")
    with pytest.raises(aot.AotError, match="has no hqdm_model_signature"):
        aot.DeviceModel(library)
    with pytest.raises(aot.AotError, match="cannot load"):
        aot.DeviceModel(tmp_path / "missing.so")


# Bounds on |GPU - CPU| relative to max |CPU|: (largest, mean). The
# quantized layers are exact; the float ops around them (norms, softmax,
# SiLU/GELU through libdevice, FMA contraction) differ by ulps, which can move
# an activation across a rounding boundary of the next quantizer: one level
# of a 4-bit activation at most. The fused attention rounds q, k, v and the
# probabilities to f16 (2^-11 relative), which moves the attention's output
# by ~5e-4 and makes the 4-bit quantizers after it (proj, and through the
# residual fc1 and fc2) flip levels far more often. Measured on the CPU by
# rounding those four tensors of the DiT block's attention to f16, over 200
# random inputs: largest 0.062 median, 0.21 worst, mean 1.9e-3 worst for
# W4A4; 0.019 and 7.1e-4 worst for W4A8. So W4A4 with the fused attention
# gets looser bounds (about 1.5x the worst seen); everything else keeps the
# strict ones, and the DiT block is also checked without the fusion.
STRICT = (0.05, 1e-3)
FUSED_ATTENTION_W4A4 = (0.3, 3e-3)


@needs_runtime
@needs_gpu
@pytest.mark.parametrize("scheme", ["w4a4", "w4a8"])
@pytest.mark.parametrize("name,fuse_attention", [("dit_block", True),
                                                 ("dit_block", False),
                                                 ("unet_resblock", True)])
def test_whole_model_matches_cpu_reference(tmp_path, monkeypatch, name,
                                           fuse_attention, scheme):
    monkeypatch.setenv("HQDM_CUDA_POISON", "1")
    source = forward_only(tmp_path, name)
    quantize = f"scheme={scheme}"
    cpu = hqdm_compile(source, quantize=quantize, work_dir=tmp_path / "cpu")
    gpu = hqdm_compile(source, quantize=quantize, target="cuda",
                       whole_model=True, work_dir=tmp_path / "cuda",
                       fuse_attention=fuse_attention)
    largest, mean = (FUSED_ATTENTION_W4A4
                     if name == "dit_block" and fuse_attention
                     and scheme == "w4a4" else STRICT)
    rng = np.random.default_rng(7)
    first = None
    for trial in range(3):
        args = [rng.normal(0, 1, s).astype(np.float32)
                for s in WHOLE_MODELS[name]]
        expected = cpu(*args)
        got = gpu(*args)  # eager, then captured, then replayed
        assert np.all(np.isfinite(got)), "an output the kernels did not write"
        scale = np.max(np.abs(expected))
        assert np.max(np.abs(got - expected)) <= largest * scale
        assert np.mean(np.abs(got - expected)) <= mean * scale
        if trial == 0:
            first = (args, got)
    assert gpu.graph_nodes() > 0
    # Replaying the graph on the first inputs gives the eager result.
    assert np.array_equal(gpu(*first[0]), first[1])


# The fused attention alone (make_attention.py: torch-mlir's DiT attention
# on a qkv tensor, float, nothing quantized) against float64.
MAKE_ATTENTION = INPUTS / "make_attention.py"


def attention_reference(qkv, b, t, h, d, half):
    """softmax(q k^T / sqrt(d)) v in float64 from [B, T, 3*H*D], with q, k
    and v first rounded to f16 when `half`; returns [B, T, H*D] and max |v|."""
    x = qkv.reshape(b, t, 3, h, d)
    if half:
        x = x.astype(np.float16)
    x = x.astype(np.float64).transpose(2, 0, 3, 1, 4)  # [3, B, H, T, D]
    q, k, v = x
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    o = (p @ v).transpose(0, 2, 1, 3).reshape(b, t, h * d)
    return o, np.max(np.abs(v))


# External weights (compile_shared_library(..., external_weights=...)): the
# library keeps no weight data; the runtime loads and checks the safetensors
# file beside it.
def read_safetensors(path):
    """(header without __metadata__, metadata, data bytes) of a file."""
    import json
    import struct
    raw = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", {})
    return header, metadata, raw[8 + length:]


def write_safetensors(path, header, metadata, data):
    import json
    import struct
    text = json.dumps({"__metadata__": metadata, **header}).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + data)


def c_string(library, symbol):
    start = ctypes.c_char.in_dll(library, symbol)
    return ctypes.cast(ctypes.addressof(start), ctypes.c_char_p).value.decode()


DIT_QUANTIZE = ["--hqdm-quantize=scheme=w4a4 clip-candidates=4"]


@pytest.fixture(scope="module")
def dit_external(tmp_path_factory):
    """The DiT block compiled whole-model twice: weights embedded and
    external. Returns (work dir, source)."""
    tmp = tmp_path_factory.mktemp("external")
    source = forward_only(tmp, "dit_block")
    aot.compile_shared_library(source, tmp / "embedded", target="cuda",
                               whole_model=True, pipeline_args=DIT_QUANTIZE)
    aot.compile_shared_library(source, tmp / "external", target="cuda",
                               whole_model=True, pipeline_args=DIT_QUANTIZE,
                               external_weights=True)
    return tmp, source


@needs_runtime
def test_external_weights_equal_the_embedded_bytes(dit_external):
    tmp, _ = dit_external
    library = tmp / "external" / "dit_block.so"
    weights = tmp / "external" / "dit_block.weights.safetensors"
    header, metadata, data = read_safetensors(weights)

    # The library names the file and what it holds, and calls the runtime
    # for its weights instead of carrying them.
    description = c_string(ctypes.CDLL(str(library)), "hqdm_model_weights")
    assert description == (
        "hqdm-model-weights v1\nfile dit_block.weights.safetensors\n"
        f"tensors {len(header)}\nbytes {len(data)}\n"
        f"fingerprint {metadata['fingerprint']}\n")
    undefined = subprocess.run(["nm", "-D", "--undefined-only", library],
                               capture_output=True, text=True,
                               check=True).stdout
    assert "hqdmDeviceWeight" in undefined
    assert "hqdmDeviceConstant" not in undefined
    embedded_so = tmp / "embedded" / "dit_block.so"
    assert embedded_so.stat().st_size - library.stat().st_size >= len(data)

    # The embedded library's globals, made visible: relink its LLVM-dialect
    # output with the weight globals external, and read each one's bytes
    # where the loader put them.
    lowered = (tmp / "embedded" / "dit_block.llvm.mlir").read_text()
    globals_ = set(re.findall(
        r"llvm\.mlir\.global private constant @(__constant_\w+)", lowered))
    assert globals_ == set(header), "one tensor per weight global"
    visible = tmp / "visible"
    visible.mkdir()
    (visible / "dit_block.llvm.mlir").write_text(lowered.replace(
        "llvm.mlir.global private constant @__constant_",
        "llvm.mlir.global external constant @__constant_"))
    relinked = aot.compile_shared_library(
        visible / "dit_block.llvm.mlir", visible, lower=False,
        target="cuda", name="relinked")
    embedded = ctypes.CDLL(str(relinked))
    assert len(header) == 15
    for name, tensor in header.items():
        begin, end = tensor["data_offsets"]
        address = ctypes.addressof(ctypes.c_char.in_dll(embedded, name))
        assert ctypes.string_at(address, end - begin) == data[begin:end], name
    assert sum(e - b for b, e in (t["data_offsets"]
                                  for t in header.values())) == len(data)


def device_model_error(library, weights=None):
    """The message of the AotError DeviceModel raises (None if it loads)."""
    try:
        aot.DeviceModel(library, weights=weights).close()
    except aot.AotError as e:
        return str(e)
    return None


@needs_runtime
def test_external_weights_load_errors(dit_external, tmp_path):
    # Every check happens before the device is needed, so without a GPU
    # each bad file is a message (never an exit or a crash).
    tmp, source = dit_external
    built = tmp / "external"
    header, metadata, data = read_safetensors(
        built / "dit_block.weights.safetensors")

    def copy_library(name, weights_bytes=None):
        directory = tmp_path / name
        directory.mkdir()
        library = directory / "dit_block.so"
        library.write_bytes((built / "dit_block.so").read_bytes())
        if weights_bytes is not None:
            (directory / "dit_block.weights.safetensors").write_bytes(
                weights_bytes)
        return library

    # No file beside the library.
    message = device_model_error(copy_library("missing"))
    assert "cannot open the weights file" in message
    assert "compiled with external weights in dit_block.weights.safetensors" \
        in message
    # A file named explicitly that does not exist.
    message = device_model_error(built / "dit_block.so",
                                 weights=tmp_path / "nowhere.safetensors")
    assert "cannot open the weights file" in message and "nowhere" in message
    # Not safetensors.
    message = device_model_error(copy_library("short", b"abc"))
    assert "not a safetensors file" in message
    message = device_model_error(copy_library("huge", b"\xff" * 16))
    assert "header length" in message
    message = device_model_error(
        copy_library("json", b"\x04\x00\x00\x00\x00\x00\x00\x00{\"a\"" + data))
    assert "malformed safetensors header" in message
    # Truncated: the last tensor's data is cut.
    full = (built / "dit_block.weights.safetensors").read_bytes()
    message = device_model_error(copy_library("truncated", full[:-100]))
    assert "truncated" in message
    # Extra bytes after the data.
    message = device_model_error(copy_library("longer", full + b"\0" * 64))
    assert f"the library expects {len(data)}" in message
    # Same sizes, a tensor renamed: the fingerprint differs.
    renamed = dict(header)
    first = sorted(renamed)[0]
    renamed["renamed_" + first] = renamed.pop(first)
    write_safetensors(tmp_path / "renamed.safetensors", renamed, metadata, data)
    message = device_model_error(built / "dit_block.so",
                                 weights=tmp_path / "renamed.safetensors")
    assert "does not match the library" in message
    # A tensor less.
    fewer = dict(header)
    fewer.pop(first)
    write_safetensors(tmp_path / "fewer.safetensors", fewer, metadata, data)
    message = device_model_error(built / "dit_block.so",
                                 weights=tmp_path / "fewer.safetensors")
    assert f"has {len(header) - 1} tensors, the library expects " \
        f"{len(header)}" in message
    # A library with embedded weights takes no file.
    message = device_model_error(tmp / "embedded" / "dit_block.so",
                                 weights=built / "dit_block.weights.safetensors")
    assert "takes no weights file" in message

    # The right file passes every check; then the device is needed: where
    # there is no driver the runtime says so and exits 1.
    env = dict(os.environ, HQDM_CUDA_DRIVER=str(tmp_path / "no-such-libcuda.so"),
               PYTHONPATH=str(ROOT / "python"))
    child = subprocess.run(
        [sys.executable, "-c",
         f"from hqdm import aot; aot.DeviceModel({str(built / 'dit_block.so')!r})"],
        env=env, capture_output=True, text=True)
    assert child.returncode == 1, child.stderr
    assert "hqdm CUDA runtime: cannot load" in child.stderr


@needs_runtime
def test_device_model_needs_no_hqdm_opt(dit_external, tmp_path):
    # On a machine with the libraries and the runtime but no MLIR (the
    # benchmark's GPU machine): HQDM_CUDA_RUNTIME is enough. The library
    # depends on nothing of LLVM's.
    tmp, _ = dit_external
    library = tmp / "external" / "dit_block.so"
    needed = subprocess.run(["readelf", "-d", library], capture_output=True,
                            text=True, check=True).stdout
    assert "mlir" not in needed and "LLVM" not in needed
    runtime = aot.find_cuda_runtime()
    env = dict(os.environ, HQDM_CUDA_RUNTIME=str(runtime),
               HQDM_OPT=str(tmp_path / "no-hqdm-opt"),
               PATH="/usr/bin:/bin", PYTHONPATH=str(ROOT / "python"))
    child = subprocess.run(
        [sys.executable, "-c",
         "from hqdm import aot\n"
         "try:\n"
         f"    aot.DeviceModel({str(library)!r}, weights='/nonexistent')\n"
         "except aot.AotError as e:\n"
         "    print(e)\n"],
        env=env, capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    assert "cannot open the weights file /nonexistent" in child.stdout


@needs_runtime
@needs_gpu
@pytest.mark.parametrize("shape", ["2:16:2:32", "1:17:2:72", "2:255:3:64",
                                   "1:100:2:128", "1:256:16:72",
                                   "8:256:16:72", "1:1000:2:72"])
def test_fused_attention_matches_float64(tmp_path, monkeypatch, shape):
    # The kernel's own error (f32 accumulation, ex2.approx, the probabilities
    # rounded to f16: at most 2 * 2^-11 of max |v|) against float64 on the
    # same f16-rounded q, k and v; and against the f32 CPU library, within
    # what rounding q, k and v to f16 does to float64 itself.
    monkeypatch.setenv("HQDM_CUDA_POISON", "1")
    b, t, h, d = map(int, shape.split(":"))
    source = tmp_path / "attention.mlir"
    subprocess.run([sys.executable, MAKE_ATTENTION, source, shape], check=True)
    gpu = hqdm_compile(source, target="cuda", whole_model=True,
                       work_dir=tmp_path / "cuda")
    cpu = hqdm_compile(source, work_dir=tmp_path / "cpu")
    rng = np.random.default_rng(3)
    qkv = (rng.normal(0, 2, (b, t, 3 * h * d)) + 0.5).astype(np.float32)
    got = gpu(qkv)
    assert np.all(np.isfinite(got)), "an output the kernel did not write"
    half, max_v = attention_reference(qkv, b, t, h, d, half=True)
    exact, _ = attention_reference(qkv, b, t, h, d, half=False)
    assert np.max(np.abs(got - half)) <= 1e-3 * max_v
    rounding = np.max(np.abs(half - exact))
    assert np.max(np.abs(got - cpu(qkv))) <= rounding + 1e-3 * max_v


@needs_runtime
@needs_gpu
@pytest.mark.parametrize("scheme", ["w4a4", "w4a8"])
def test_whole_model_external_weights_match_embedded(tmp_path, scheme):
    # On a GPU: the same outputs with the weights in the library or in the
    # file.
    source = forward_only(tmp_path, "dit_block")
    quantize = f"scheme={scheme}"
    embedded = hqdm_compile(source, quantize=quantize, target="cuda",
                            whole_model=True, work_dir=tmp_path / "embedded")
    external = hqdm_compile(source, quantize=quantize, target="cuda",
                            whole_model=True, work_dir=tmp_path / "external",
                            external_weights=True)
    assert external.weight_tensors() > 0 and embedded.weight_tensors() == 0
    assert external.weight_bytes() >= Path(
        tmp_path / "external" / "dit_block.weights.safetensors").stat().st_size \
        - 8 - 4096
    rng = np.random.default_rng(3)
    for _ in range(3):
        args = [rng.normal(0, 1, s).astype(np.float32)
                for s in WHOLE_MODELS["dit_block"]]
        assert np.array_equal(external(*args), embedded(*args))
