"""Recorded calibration trajectories: the layout hqdm.calibrate reads."""

import json
import types

import numpy as np
import pytest
import torch

from hqdm import calibrate
from hqdm.checkpoint import save_dit_safetensors
from hqdm.diffusion import space_timesteps
from hqdm.models import DiT
from hqdm.trajectories import (main, record_trajectories, recorded_step_indices,
                               write_trajectories)

CFG = dict(input_size=8, patch_size=2, in_channels=3, hidden_size=32, depth=1,
           num_heads=2, num_classes=5, learn_sigma=True)


def _model():
    torch.manual_seed(0)
    m = DiT(**CFG)
    with torch.no_grad():
        for p in m.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    return m.eval()


def test_recorded_step_indices():
    assert recorded_step_indices(100, 25) == list(range(0, 100, 4))
    assert recorded_step_indices(10, 5) == [0, 2, 4, 6, 8]
    assert recorded_step_indices(10, 3) == [0, 3, 6]
    with pytest.raises(ValueError):
        recorded_step_indices(10, 11)


def test_layout_and_values():
    arrays = record_trajectories(_model(), num_samples=4, batch_size=2, num_steps=10,
                                 num_recorded=5, cfg_scale=1.5, classes=[1, 4, 0, 2],
                                 seed=7)
    x, t, y = arrays["arg0"], arrays["arg1"], arrays["arg2"]
    assert set(arrays) == {"arg0", "arg1", "arg2"}
    # 5 steps x 2 sampler batches, each call the CFG batch of 2 x 2 rows
    assert x.shape == (10, 4, 3, 8, 8) and x.dtype == np.float32
    assert t.shape == (10, 4) and t.dtype == np.int64
    assert y.shape == (10, 4) and y.dtype == np.int64
    steps = sorted(space_timesteps(1000, [10]), reverse=True)
    assert t[:, 0].tolist() == [s for s in (steps[i] for i in (0, 2, 4, 6, 8))
                                for _ in range(2)]
    assert (t == t[:, :1]).all()                      # a call shares its step
    assert y[0].tolist() == [1, 4, 5, 5] and y[1].tolist() == [0, 2, 5, 5]
    assert np.array_equal(x[:, :2], x[:, 2:])         # CFG: [x; x]
    # the first call is at x_T: the generator's first draw
    g = torch.Generator().manual_seed(7)
    np.testing.assert_array_equal(x[0, :2], torch.randn(2, 3, 8, 8, generator=g).numpy())
    # the calibration driver sees the steps in descending order
    manifest = types.SimpleNamespace(timestep_arg=1)
    call_steps = calibrate.call_steps([x, t, y], manifest, "data")
    assert call_steps == sorted(call_steps, reverse=True)


def test_call_batch_split_and_no_cfg():
    a = record_trajectories(_model(), num_samples=2, batch_size=2, num_steps=4,
                            num_recorded=2, cfg_scale=1.5, call_batch=2, seed=1,
                            sampler="ddim")
    assert a["arg0"].shape == (4, 2, 3, 8, 8)
    assert a["arg2"].tolist()[1] == [5, 5]            # second call: the uncond rows
    b = record_trajectories(_model(), num_samples=2, batch_size=2, num_steps=4,
                            num_recorded=2, cfg_scale=None, seed=1)
    assert b["arg0"].shape == (2, 2, 3, 8, 8) and (b["arg2"] < 5).all()
    with pytest.raises(ValueError):
        record_trajectories(_model(), num_samples=3, batch_size=2, num_steps=4)


def test_cli_writes_npz_readable_by_calibrate(tmp_path):
    m = _model()
    save_dit_safetensors(m, tmp_path / "m.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"model": CFG}))
    out = tmp_path / "calib.npz"
    rc = main([str(tmp_path / "m.safetensors"), "-o", str(out), "--samples", "2",
               "--batch-size", "1", "--steps", "6", "--record", "3", "--seed", "3",
               "-q", "--device", "cpu"])
    assert rc == 0
    arrays = calibrate.read_data(out)
    assert sorted(arrays) == ["arg0", "arg1", "arg2"]
    assert arrays["arg0"].shape == (6, 2, 3, 8, 8)
    meta = json.loads((tmp_path / "calib.meta.json").read_text())
    assert meta["recorded_step_indices"] == [0, 2, 4] and meta["cfg_scale"] == 1.5
    direct = record_trajectories(m, num_samples=2, batch_size=1, num_steps=6,
                                 num_recorded=3, seed=3)
    np.testing.assert_array_equal(arrays["arg0"], direct["arg0"])
    with pytest.raises(ValueError):
        write_trajectories(tmp_path / "x.npy", direct)
