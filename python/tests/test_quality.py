"""`hqdm eval` (hqdm.quality): a --quick run on a tiny randomised DiT, the
identities its figures must satisfy, the metric functions, and its errors.

Needs hqdm-opt (HQDM_OPT, or build/bin/hqdm-opt) and the LLVM tools; the
quick run compiles about ten models (about a minute on two cores)."""

import contextlib
import io
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from hqdm import quality

ROOT = Path(__file__).resolve().parents[2]
HQDM_OPT = os.environ.get("HQDM_OPT", str(ROOT / "build" / "bin" / "hqdm-opt"))
MODEL = ["--model", "dit:DiT-T/4", "--option", "input_size=8",
         "--option", "num_classes=4", "--option", "in_channels=3"]

needs_tools = pytest.mark.skipif(
    not Path(HQDM_OPT).is_file() or not Path("/usr/lib/llvm-22/bin/llc").is_file(),
    reason="needs hqdm-opt and LLVM 22's tools")


# ---------------------------------------------------------------- metrics

def test_psnr_matches_numpy_formula():
    rng = np.random.default_rng(0)
    ref = rng.uniform(-1, 1, (3, 3, 8, 8)).astype(np.float32)
    val = ref + rng.normal(0, 0.05, ref.shape).astype(np.float32)
    mse = np.mean((val.astype(np.float64) - ref.astype(np.float64)) ** 2)
    assert quality.psnr_db(ref, val, 2.0) == pytest.approx(
        10 * np.log10(4.0 / mse), rel=1e-12)
    r64 = ref.astype(np.float64)
    rng_peak = float(r64.max() - r64.min())
    assert quality.psnr_db(ref, val, "range") == pytest.approx(
        20 * np.log10(rng_peak) - 10 * np.log10(mse), rel=1e-12)
    # Known arrays: an error of 0.02 everywhere, peak 2: 10 log10(4 / 4e-4).
    a = np.zeros((4, 4))
    assert quality.psnr_db(a, a + 0.02, 2.0) == pytest.approx(40.0)
    assert quality.psnr_db(ref, ref) == math.inf


def test_sqnr_matches_numpy_formula():
    ref = np.array([1.0, -2.0, 3.0])
    val = np.array([1.1, -2.0, 2.9])
    assert quality.sqnr_db(ref, val) == pytest.approx(
        10 * np.log10(14.0 / 0.02))
    assert quality.sqnr_db(ref, ref) == math.inf


def test_method_options_map_to_hqdm_quantize():
    assert quality.method_options("rtn", "w4a4") == "scheme=w4a4 hadamard=none"
    assert quality.method_options("float", "w4a4") is None
    opts = quality.method_options("hqdm", "w4a3", calibration="s.json")
    assert opts == ("scheme=w4a3 hadamard=single time-aware=rotated groups=0 "
                    "timestep-arg=1 calibration=s.json")
    opts = quality.method_options("taq", "w4a8", calibration="t.json",
                                  config="c.json")
    assert "taq=true" in opts and "activation-symmetric=false" in opts
    assert opts.endswith("config=c.json")
    with pytest.raises(quality.EvalError):
        quality.method_options("ta", "w4a4")  # needs a calibration file
    keys = [k for k, _, _ in quality.grid(["w8a8", "w4a4"],
                                          ["float", "rtn", "hqdm"])]
    assert keys == ["float", "w8a8/rtn", "w8a8/hqdm", "w4a4/rtn", "w4a4/hqdm"]


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("args, message", [
    (["--schemes", "w4a4,w9"], "unknown scheme 'w9'"),
    (["--methods", "rtn,smoothquant"], "unknown method 'smoothquant'"),
    (["--layer-method", "float"], "--layer-method"),
    (["--calib-samples", "3", "--samples", "2"], "multiple of --samples"),
    (["--cfg-scale", "lots"], "--cfg-scale"),
])
def test_bad_options(args, message, capsys, tmp_path):
    rc = quality.main(args + ["--out", str(tmp_path)], prog="hqdm eval")
    assert rc == 1
    assert message in capsys.readouterr().err


def test_missing_weights(capsys, tmp_path):
    rc = quality.main(MODEL + ["--option", "checkpoint=/nonexistent/w.safetensors",
                               "--quick", "--out", str(tmp_path),
                               "--hqdm-opt", HQDM_OPT], prog="hqdm eval")
    assert rc == 1
    assert "/nonexistent/w.safetensors does not exist" in capsys.readouterr().err


# ---------------------------------------------------------------- a run

@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    if not Path(HQDM_OPT).is_file():
        pytest.skip("no hqdm-opt")
    out = tmp_path_factory.mktemp("eval")
    # W16A16 cannot be compiled (the i32 accumulator check refuses it): the
    # run goes on and reports it.
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = quality.main(MODEL + ["--quick", "--quiet", "--out", str(out),
                                   "--schemes", "w8a8,w4a4,w16a16",
                                   "--hqdm-opt", HQDM_OPT], prog="hqdm eval")
    report = json.loads((out / "results.json").read_text())
    return rc, out, report, err.getvalue()


def _num(v):
    return math.inf if v == "inf" else v


@needs_tools
def test_quick_writes_everything(quick):
    rc, out, report, err = quick
    assert rc == 3  # W16A16 failed, the rest ran
    for name in ("results.md", "results.json", "activation_histograms.png",
                 "activation_scales.png", "layer_sqnr.png", "step_sqnr.png",
                 "samples.png"):
        assert (out / name).stat().st_size > 0, name
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "results.md").read_text()
    assert "| W8A8 |" in md and "| W4A4 |" in md and "HQ-DM" in md
    assert set(report["configs"]) == {
        "float", "w8a8/rtn", "w8a8/hqdm", "w4a4/rtn", "w4a4/hqdm",
        "w16a16/rtn", "w16a16/hqdm"}
    steps = report["float"]["timesteps"]
    assert len(steps) == 4 and steps == sorted(steps, reverse=True)
    for key, c in report["configs"].items():
        if key.startswith("w16a16"):
            continue
        assert c["status"] == "ok"
        assert len(c["step_sqnr_db"]) == 4


@needs_tools
def test_quick_identities(quick):
    rc, out, report, err = quick
    c = report["configs"]
    # The reference compiled again through the same path: bit-identical.
    assert all(v == "inf" for v in c["float"]["step_sqnr_db"])
    assert c["float"]["psnr_db"] == "inf"
    # The compiled float model against PyTorch: float rounding only.
    assert report["float"]["compiled_vs_torch_sqnr_db"] > 90
    for method in ("rtn", "hqdm"):
        w8, w4 = c["w8a8/" + method], c["w4a4/" + method]
        assert w8["mean_step_sqnr_db"] > w4["mean_step_sqnr_db"] + 6
        assert all(a > b for a, b in zip(w8["step_sqnr_db"],
                                         w4["step_sqnr_db"]))
        for v in (w8, w4):
            assert math.isfinite(v["mean_step_sqnr_db"])
            assert v["mean_step_sqnr_db"] == pytest.approx(
                np.mean(v["step_sqnr_db"]))
            # The first step's input is the shared initial noise.
            assert v["trajectory_input_sqnr_db"][0] == "inf"
            assert v["psnr_db"] != "inf"
    # One layer quantized loses less than all of them.
    pl = report["per_layer"]
    assert pl["scheme"] == "w4a4" and pl["method"] == "rtn"
    assert len(pl["layers"]) == 1
    for layer in pl["layers"].values():
        assert layer["status"] == "ok"
        assert layer["module"].startswith("blocks.0.")
        assert layer["sqnr_db"] > c["w4a4/rtn"]["all_steps_sqnr_db"]
    # HQ-DM's per-step scales, read from the quantized IR: one per
    # calibrated step, and the steps are the sampler's.
    scales = [s["hqdm"] for s in report["scales"].values() if "hqdm" in s]
    assert scales
    for s in scales:
        assert s["kind"] == "per-step"
        assert [int(t) for t in s["steps"]] == report["float"]["timesteps"]
        assert all(v > 0 for v in s["scales"])


@needs_tools
def test_failing_configuration_is_named(quick):
    rc, out, report, err = quick
    for key in ("w16a16/rtn", "w16a16/hqdm"):
        c = report["configs"][key]
        assert c["status"] == "failed"
        assert "accumulator" in c["error"]
        assert "scheme=w16a16" in c["options"]
    assert "| W16A16 | failed | failed |" in (out / "results.md").read_text()
    assert "configuration w16a16/rtn (RTN: hqdm-quantize=\"scheme=w16a16" in err
