"""Import -> compile -> run on the CPU, against PyTorch.

Needs hqdm-opt (HQDM_OPT, else build/bin/hqdm-opt; utils/test.sh builds it)
and the LLVM tools. Every figure compared here is computed by PyTorch in the
same test, never written down.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hqdm
from hqdm import zoo
from hqdm.importer import ImportError_, import_module

ROOT = Path(__file__).resolve().parents[2]


def _hqdm_opt():
    path = os.environ.get("HQDM_OPT") or str(ROOT / "build" / "bin" / "hqdm-opt")
    if not Path(path).is_file():
        pytest.fail(f"hqdm-opt not found at {path}: build first "
                    "(bash utils/build.sh) or set HQDM_OPT")
    return path


@pytest.fixture(scope="module")
def hqdm_opt():
    return _hqdm_opt()


def rel_err(out, ref):
    return float(np.abs(out - ref).max() / np.abs(ref).max())


def sqnr(out, ref):
    ref = ref.astype(np.float64)
    return float(10 * np.log10((ref ** 2).sum() / ((out - ref) ** 2).sum()))


def _torch_out(module, args):
    with torch.no_grad():
        return module(*args).numpy()


def _scramble(module, seed):
    """Random non-zero weights (the models zero-initialise adaLN and the last
    convs, which would make a test of them vacuous)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return module


@pytest.mark.parametrize("spec", ["dit-block", "unet-resblock"])
def test_float_matches_pytorch(spec, hqdm_opt, tmp_path):
    module, args = zoo.build(spec, seed=1)
    _scramble(module, 2)
    imported = import_module(module, args, weights=tmp_path / "w.safetensors")
    assert imported.parameters, "weights should be referenced by name"
    assert "dense_resource<" in imported.text and "{-#" not in imported.text
    compiled = hqdm.compile(imported, work_dir=tmp_path / "fp",
                            hqdm_opt=hqdm_opt)
    out = compiled(*args)
    ref = _torch_out(module, args)
    assert out.shape == ref.shape
    # f32 arithmetic, and torch-mlir's GELU-tanh constant 0.79772 for
    # sqrt(2/pi) (test/Models/README.md): 1e-4 of the largest output.
    assert rel_err(out, ref) < 1e-4


def test_named_weights_equal_inline_weights(hqdm_opt, tmp_path):
    module, args = zoo.build("dit-block", seed=3)
    _scramble(module, 4)
    named = import_module(module, args, weights=tmp_path / "w.safetensors")
    inline = import_module(module, args)
    assert "{-#" in inline.text  # the data is in the trailer
    options = "scheme=w4a8 hadamard=single"
    a = hqdm.compile(named, quantize=options, work_dir=tmp_path / "a",
                     hqdm_opt=hqdm_opt)(*args)
    b = hqdm.compile(inline, quantize=options, work_dir=tmp_path / "b",
                     hqdm_opt=hqdm_opt)(*args)
    np.testing.assert_array_equal(a, b)


def test_quantized_runs_and_hadamard_helps(hqdm_opt, tmp_path):
    module, args = zoo.build("dit-block", seed=5)
    _scramble(module, 6)
    # An outlier channel in the residual stream, as DiT activations have.
    args[0][..., 7] += 25.0
    imported = import_module(module, args, weights=tmp_path / "w.safetensors")
    ref = _torch_out(module, args)
    figures = {}
    for name, options in [("w8a8", "scheme=w8a8 hadamard=none"),
                          ("w4a4", "scheme=w4a4 hadamard=none"),
                          ("w4a4-h", "scheme=w4a4 hadamard=single")]:
        out = hqdm.compile(imported, quantize=options,
                           work_dir=tmp_path / name, hqdm_opt=hqdm_opt)(*args)
        figures[name] = sqnr(out, ref)
    print("output SQNR (dB):", figures)
    assert figures["w8a8"] > 30
    assert figures["w8a8"] > figures["w4a4"] + 10
    assert figures["w4a4-h"] > figures["w4a4"]


def test_whole_dit_matches_pytorch(hqdm_opt, tmp_path):
    module, args = zoo.build("dit:DiT-T/2", ["input_size=8", "num_classes=10",
                                             "depth=2", "batch=2"], seed=7)
    _scramble(module, 8)
    imported = import_module(module, args, weights=tmp_path / "w.safetensors")
    out = hqdm.compile(imported, work_dir=tmp_path / "fp",
                       hqdm_opt=hqdm_opt)(*args)
    assert rel_err(out, _torch_out(module, args)) < 1e-4


def test_whole_unet_matches_pytorch(hqdm_opt, tmp_path):
    """The small class-conditional LDM UNet: ResBlocks, attention at 8x8,
    stride-2 downsampling, nearest upsampling and skip concatenation."""
    module, args = zoo.build("unet:UNet-S", ["num_classes=4",
                                             "class_dropout_prob=0.1"], seed=1)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    imported = import_module(module, args, weights=tmp_path / "w.safetensors")
    out = hqdm.compile(imported, work_dir=tmp_path / "fp",
                       hqdm_opt=hqdm_opt)(*args)
    assert rel_err(out, _torch_out(module, args)) < 1e-4


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

class _Eigh(torch.nn.Module):
    def forward(self, x):
        return torch.linalg.eigh(x)[0]


class _Branch(torch.nn.Module):
    def forward(self, x):
        return x if x.sum() > 0 else -x


class _Nonzero(torch.nn.Module):
    def forward(self, x):
        return torch.nonzero(x)


def test_unsupported_op_is_named():
    with pytest.raises(ImportError_, match=r"cannot lower torch\.aten\."
                       r"linalg_eigh \(in _Eigh\)"):
        import_module(_Eigh(), (torch.randn(4, 4),))


def test_data_dependent_control_flow():
    with pytest.raises(ImportError_, match="torch.export could not trace "
                       "_Branch"):
        import_module(_Branch(), (torch.randn(4),))


def test_dynamic_result_shape():
    with pytest.raises(ImportError_, match="symbolic shape"):
        import_module(_Nonzero(), (torch.randn(4, 4),))


def test_not_a_module():
    with pytest.raises(ImportError_, match="expected a torch.nn.Module"):
        import_module(lambda x: x, (torch.randn(2),))


def _imported_block(tmp_path):
    module, args = zoo.build("dit-block", seed=9)
    return import_module(module, args, weights=tmp_path / "w.safetensors"), args


def test_missing_weights_file(hqdm_opt, tmp_path):
    imported, _ = _imported_block(tmp_path)
    with pytest.raises(hqdm.CompileError, match="does not exist"):
        hqdm.compile(imported, weights=tmp_path / "nope.safetensors",
                     work_dir=tmp_path / "c", hqdm_opt=hqdm_opt)


def _drop(tensors, name):
    del tensors[name]


def _narrow(tensors, name):
    tensors[name] = tensors[name][:, :32].contiguous()


@pytest.mark.parametrize("edit, name", [(_drop, "attn.qkv.weight"),
                                        (_narrow, "mlp.fc1.weight")])
def test_weight_missing_or_misshapen(edit, name, hqdm_opt, tmp_path):
    """A weights file without one of the tensors, or with it in the wrong
    shape: the error names the tensor."""
    from safetensors.torch import load_file, save_file
    imported, _ = _imported_block(tmp_path)
    tensors = load_file(str(imported.weights))
    edit(tensors, name)
    save_file(tensors, str(tmp_path / "edited.safetensors"))
    with pytest.raises(hqdm.CompileError, match=name):
        hqdm.compile(imported, weights=tmp_path / "edited.safetensors",
                     work_dir=tmp_path / "c", hqdm_opt=hqdm_opt)


def test_not_a_safetensors_file(hqdm_opt, tmp_path):
    imported, _ = _imported_block(tmp_path)
    bad = tmp_path / "junk.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    with pytest.raises(hqdm.CompileError, match="junk.safetensors"):
        hqdm.compile(imported, weights=bad, work_dir=tmp_path / "c",
                     hqdm_opt=hqdm_opt)


def test_wrong_input_shape(hqdm_opt, tmp_path):
    imported, args = _imported_block(tmp_path)
    compiled = hqdm.compile(imported, work_dir=tmp_path / "c",
                            hqdm_opt=hqdm_opt)
    with pytest.raises(ValueError, match="compiled for"):
        compiled(np.zeros((1, 16, 64), np.float32), args[1])


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------

def _hqdm(*argv, env=None):
    return subprocess.run([sys.executable, "-m", "hqdm", *argv],
                          capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_cli_import_and_compile(hqdm_opt, tmp_path):
    mlir = tmp_path / "rb.mlir"
    r = _hqdm("import", "unet-resblock", "-o", str(mlir), "--weights",
              str(tmp_path / "rb.safetensors"))
    assert r.returncode == 0, r.stderr
    assert "named weights" in r.stdout
    r = _hqdm("compile", str(mlir), "-o", str(tmp_path / "out"), "--quantize",
              "scheme=w8a8", "--weights", str(tmp_path / "rb.safetensors"),
              env={"HQDM_OPT": hqdm_opt})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "rb.so").is_file()


def test_cli_meta_import_of_dit_xl(tmp_path):
    """DiT-XL/2 imports on the meta device: no weight data, 292 names."""
    r = _hqdm("import", "dit:DiT-XL/2", "--meta", "--weights",
              str(tmp_path / "xl.safetensors"), "-o", str(tmp_path / "xl.mlir"))
    assert r.returncode == 0, r.stderr
    assert "292 named weights" in r.stdout
    assert not (tmp_path / "xl.safetensors").exists()
    text = (tmp_path / "xl.mlir").read_text()
    assert len(text) < 2_000_000
    assert "dense_resource<blocks.27.mlp.fc2.weight> : tensor<1152x4608xf32>" \
        in text


def test_cli_errors(tmp_path):
    r = _hqdm("import", "dit:DiT-Q/9", "-o", str(tmp_path / "x.mlir"))
    assert r.returncode == 1 and "unknown DiT 'DiT-Q/9'" in r.stderr
    r = _hqdm("compile", str(tmp_path / "missing.mlir"), "-o", str(tmp_path))
    assert r.returncode == 1 and "no such MLIR file" in r.stderr
    r = _hqdm("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_moved_weights_file(hqdm_opt, tmp_path):
    """The module names the file it was imported with; an explicit weights
    file replaces it, and without one the old path is reported."""
    module, args = zoo.build("dit-block", seed=9)
    imported = import_module(module, args, weights=tmp_path / "w.safetensors")
    moved = tmp_path / "moved.safetensors"
    imported.weights.rename(moved)
    out = hqdm.compile(imported, weights=moved, work_dir=tmp_path / "a",
                       hqdm_opt=hqdm_opt)(*args)
    assert rel_err(out, _torch_out(module, args)) < 1e-4
    imported.weights = None
    with pytest.raises(hqdm.CompileError, match="cannot open weights file "
                       ".*w.safetensors"):
        hqdm.compile(imported, work_dir=tmp_path / "b", hqdm_opt=hqdm_opt)


def test_two_models_compiled_into_one_work_dir(hqdm_opt, tmp_path):
    """The second compile into the same directory is the second model, not
    the first one dlopen already holds for that path."""
    results = []
    for spec in ("dit-block", "unet-resblock"):
        module, args = zoo.build(spec, seed=1)
        imported = import_module(module, args)
        out = hqdm.compile(imported, work_dir=tmp_path, hqdm_opt=hqdm_opt)(*args)
        assert rel_err(out, _torch_out(module, args)) < 1e-4
        results.append(out.shape)
    assert results == [(2, 16, 64), (2, 32, 8, 8)]
