"""DiT checkpoints: train.py format round trip, raw/module. state dicts,
config inference, strict-load errors, non-checkpoint files."""

import argparse
import json
from pathlib import Path

import pytest
import torch

from hqdm.checkpoint import (CheckpointError, infer_dit_config, load_dit_checkpoint,
                             read_state_dict, save_dit_checkpoint, save_dit_safetensors)
from hqdm.models import DiT, DiT_models

REPO = Path(__file__).resolve().parents[2]
CFG = dict(input_size=8, patch_size=2, in_channels=4, hidden_size=48, depth=2,
           num_heads=3, mlp_ratio=4.0, class_dropout_prob=0.1, num_classes=7,
           learn_sigma=True)


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    m = DiT(**dict(CFG, **kw))
    with torch.no_grad():
        for p in m.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    return m.eval()


def _inputs():
    g = torch.Generator().manual_seed(1)
    return (torch.randn(2, 4, 8, 8, generator=g), torch.tensor([999, 3]),
            torch.tensor([6, 7]))


def test_train_format_round_trip_takes_ema(tmp_path):
    model, ema = _model(0), _model(1)
    path = tmp_path / "0001000.pt"
    save_dit_checkpoint(model, path, ema=ema, args={"model": "custom"})
    raw = torch.load(path, weights_only=False)
    assert set(raw) == {"model", "ema", "opt", "args"}
    assert isinstance(raw["args"], argparse.Namespace)
    loaded = load_dit_checkpoint(path)
    assert loaded.config == ema.config                # num_heads 3 from args
    x = _inputs()
    with torch.no_grad():
        assert torch.equal(loaded(*x), ema(*x))
        assert not torch.equal(loaded(*x), model(*x))
    # into a given model
    target = DiT(**CFG)
    assert load_dit_checkpoint(path, target) is target
    with torch.no_grad():
        assert torch.equal(target(*x), ema(*x))


def test_raw_and_module_prefixed_state_dicts(tmp_path):
    m = _model(2)
    torch.save(m.state_dict(), tmp_path / "raw.pt")
    torch.save({"module." + k: v for k, v in m.state_dict().items()}, tmp_path / "ddp.pt")
    x = _inputs()
    for name in ("raw.pt", "ddp.pt"):
        loaded = load_dit_checkpoint(tmp_path / name, num_heads=3)
        with torch.no_grad():
            assert torch.equal(loaded(*x), m(*x))
    # without num_heads: hidden // 64 = 0 -> 1 head (the documented default)
    assert infer_dit_config(m.state_dict())["num_heads"] == 1


def test_infer_config_published_models():
    for name, heads in (("DiT-XL/2", 16), ("DiT-B/4", 12), ("DiT-S/8", 6), ("DiT-L/2", 16)):
        with torch.device("meta"):
            m = DiT_models[name]()
        cfg = infer_dit_config(m.state_dict())
        assert cfg == m.config, name
        assert cfg["num_heads"] == heads
    with torch.device("meta"):
        m = DiT_models["DiT-XL/2"](input_size=64, learn_sigma=False, class_dropout_prob=0)
    cfg = infer_dit_config(m.state_dict())
    assert (cfg["input_size"], cfg["learn_sigma"]) == (64, False)
    # 1000 rows read as 999 classes + null unless args say otherwise
    assert cfg["num_classes"] == 999
    assert infer_dit_config(m.state_dict(), args={"num_classes": 1000})["num_classes"] == 1000


def test_strict_errors_list_keys_and_shapes(tmp_path):
    sd = _model(3).state_dict()
    missing = dict(sd)
    del missing["blocks.1.mlp.fc2.bias"]
    torch.save(missing, tmp_path / "missing.pt")
    with pytest.raises(CheckpointError, match=r"missing keys \(1\): blocks\.1\.mlp\.fc2\.bias"):
        load_dit_checkpoint(tmp_path / "missing.pt", DiT(**CFG))
    extra = dict(sd, **{"blocks.0.attn.bogus": torch.zeros(2)})
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(CheckpointError, match=r"unexpected keys \(1\): blocks\.0\.attn\.bogus"):
        load_dit_checkpoint(tmp_path / "extra.pt", DiT(**CFG))
    torch.save(sd, tmp_path / "ok.pt")
    with pytest.raises(CheckpointError, match=r"shape mismatches .*y_embedder\.embedding_table"
                       r"\.weight: checkpoint \[8, 48\] vs model \[11, 48\]"):
        load_dit_checkpoint(tmp_path / "ok.pt", DiT(**dict(CFG, num_classes=10)))
    torch.save({"foo": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a DiT state dict"):
        load_dit_checkpoint(tmp_path / "other.pt")


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "junk.pt").write_text("this is not a checkpoint\n")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        load_dit_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_dit_checkpoint(tmp_path / "absent.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="holds a list"):
        read_state_dict(tmp_path / "list.pt")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 5)
    with pytest.raises(CheckpointError, match="not a readable .safetensors"):
        load_dit_checkpoint(tmp_path / "bad.safetensors", config=CFG)


def test_safetensors_with_config_json(tmp_path):
    m = _model(4)
    save_dit_safetensors(m, tmp_path / "w.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"model": CFG}))
    loaded = load_dit_checkpoint(tmp_path / "w.safetensors")
    x = _inputs()
    with torch.no_grad():
        assert torch.equal(loaded(*x), m(*x))


def test_shipped_tiny_dit_loads():
    path = REPO / "examples" / "tiny_dit" / "tiny_dit.safetensors"
    if not path.exists():
        pytest.skip("examples/tiny_dit not generated")
    m = load_dit_checkpoint(path)
    cfg = json.loads((path.parent / "config.json").read_text())["model"]
    assert m.config == cfg
    assert path.stat().st_size < 5 * 1024 * 1024
    S = cfg["input_size"]
    out = m(torch.zeros(2, cfg["in_channels"], S, S), torch.tensor([500, 20]),
            torch.tensor([0, cfg["num_classes"]]))
    assert torch.isfinite(out).all() and out.abs().max() > 0
