"""Loading and saving DiT checkpoints.

Accepted files (`load_dit_checkpoint`):
- facebookresearch/DiT's released weights (DiT-XL-2-256x256.pt, ...): a raw
  state dict;
- DiT train.py checkpoints: {"model", "ema", "opt", "args"}; the "ema"
  weights are used ("model" if there is no "ema"), and args (an
  argparse.Namespace, allowed through torch's weights_only loader) supplies
  num_classes and the model name when present;
- `.safetensors` files (with a config.json next to them or a config given),
  as examples/tiny_dit ships.
A "module." prefix (DistributedDataParallel) is stripped.

Config inference from the weights (`infer_dit_config`):
    hidden_size, in_channels, patch_size   x_embedder.proj.weight [D, C, p, p]
    depth                                   number of blocks.{i}
    mlp_ratio                               blocks.0.mlp.fc1.weight rows / D
    learn_sigma                             final_layer.linear rows / p² == 2C
    input_size                              sqrt(pos_embed tokens) * p
    num_classes, class_dropout_prob         y_embedder rows R: the table is
        assumed to have the CFG null row, so num_classes = R - 1 and
        class_dropout_prob = 0.1 (DiT's), unless train.py args say otherwise
    num_heads (not in the weights)          the num_heads argument; else the
        model name in train.py args (DiT_models); else 16 for hidden 1152
        (DiT-XL) and hidden // 64 otherwise (right for DiT-L/B/S).
"""

import argparse
import json
import math
import re
from pathlib import Path

import torch

from hqdm.models.dit import DiT

__all__ = ["CheckpointError", "read_state_dict", "infer_dit_config",
           "load_dit_checkpoint", "save_dit_checkpoint", "load_dit_model",
           "save_dit_safetensors"]


class CheckpointError(RuntimeError):
    """A file that is not a usable DiT checkpoint."""


_NAME_HEADS = {"XL": 16, "L": 16, "B": 12, "S": 6, "T": 4}


def _torch_load(path, device):
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(str(path), map_location=device, weights_only=True)
    except FileNotFoundError:
        raise CheckpointError("no such checkpoint: {}".format(path)) from None
    except IsADirectoryError:
        raise CheckpointError("{} is a directory, not a checkpoint".format(path)) from None
    except Exception as e:  # the unpickler raises many kinds on junk
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            "{} is not a PyTorch checkpoint that torch.load(weights_only=True) "
            "can read: {}".format(path, first)) from None


def _read_safetensors(path, device):
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise CheckpointError("{}: reading .safetensors needs the safetensors "
                              "package".format(path)) from None
    try:
        return load_file(str(path), device=str(device))
    except FileNotFoundError:
        raise CheckpointError("no such checkpoint: {}".format(path)) from None
    except Exception as e:  # safetensors raises its own error types
        raise CheckpointError("{} is not a readable .safetensors file: {}"
                              .format(path, e)) from None


def read_state_dict(path, *, device="cpu"):
    """(state_dict, args) from a checkpoint file; args is the train.py
    Namespace as a dict, or None."""
    path = Path(path)
    if path.suffix == ".safetensors":
        obj = _read_safetensors(path, device)
    else:
        obj = _torch_load(path, device)
    args = None
    if isinstance(obj, dict) and ("ema" in obj or "model" in obj) and not all(
            isinstance(v, torch.Tensor) for v in obj.values()):
        a = obj.get("args")
        if isinstance(a, argparse.Namespace):
            args = vars(a)
        elif isinstance(a, dict):
            args = a
        obj = obj["ema"] if obj.get("ema") is not None else obj.get("model")
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError("{} holds a {}, not a state dict (or a train.py "
                              "dict with 'ema'/'model')".format(path, type(obj).__name__))
    bad = [k for k, v in obj.items() if not isinstance(k, str)
           or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError("{}: the state dict has non-tensor entries: {}"
                              .format(path, ", ".join(map(str, bad[:5]))))
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj, args


def _heads_from_name(name):
    m = re.match(r"DiT-(XL|L|B|S|T)/\d+$", str(name or ""))
    return _NAME_HEADS[m.group(1)] if m else None


def infer_dit_config(state_dict, num_heads=None, args=None):
    """DiT constructor arguments from a state dict's shapes (rules in the
    module docstring). Raises CheckpointError when a needed key is absent."""
    def get(key):
        if key not in state_dict:
            raise CheckpointError("not a DiT state dict: no '{}'".format(key))
        return state_dict[key]

    D, C, p, p2 = get("x_embedder.proj.weight").shape
    depth = len({int(m.group(1)) for k in state_dict
                 for m in [re.match(r"blocks\.(\d+)\.", k)] if m})
    mlp_hidden = get("blocks.0.mlp.fc1.weight").shape[0] if depth else 4 * D
    out = get("final_layer.linear.weight").shape[0] // (p * p)
    tokens = get("pos_embed").shape[1]
    grid = math.isqrt(tokens)
    if grid * grid != tokens:
        raise CheckpointError("pos_embed has {} tokens, not a square grid".format(tokens))
    rows = get("y_embedder.embedding_table.weight").shape[0]
    args = args or {}
    if "num_classes" in args and int(args["num_classes"]) in (rows, rows - 1):
        num_classes = int(args["num_classes"])
    else:
        num_classes = rows - 1
    dropout = float(args.get("class_dropout_prob", 0.1))
    if num_classes == rows:
        dropout = 0.0
    elif dropout <= 0:
        dropout = 0.1
    if num_heads is None:
        num_heads = args.get("num_heads") or _heads_from_name(args.get("model"))
    if num_heads is None:
        num_heads = 16 if D == 1152 else max(1, D // 64)
    return dict(input_size=grid * p, patch_size=p, in_channels=C, hidden_size=D,
                depth=depth, num_heads=int(num_heads), mlp_ratio=mlp_hidden / D,
                class_dropout_prob=dropout, num_classes=num_classes,
                learn_sigma=out == 2 * C)


def _strict_load(model, state_dict, source):
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = ["{}: checkpoint {} vs model {}".format(
                      k, list(state_dict[k].shape), list(own[k].shape))
                  for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        lines = ["{} does not match the model:".format(source)]
        for title, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                            ("shape mismatches", mismatched)):
            if keys:
                shown = keys[:20] + (["... ({} more)".format(len(keys) - 20)]
                                     if len(keys) > 20 else [])
                lines.append("  {} ({}): {}".format(title, len(keys), ", ".join(shown)))
        raise CheckpointError("\n".join(lines))
    model.load_state_dict(state_dict, strict=True)


def load_dit_checkpoint(path, model=None, *, device="cpu", num_heads=None,
                        config=None):
    """Load a DiT checkpoint (see the module docstring for the formats) into
    `model`, or into a new DiT built from `config` (a dict of constructor
    arguments) or from the inferred config. Strict: missing/unexpected keys
    and shape mismatches raise CheckpointError listing them. Returns the
    model, in eval mode, on `device`."""
    state_dict, args = read_state_dict(path, device=device)
    if model is None:
        if config is None and Path(path).suffix == ".safetensors":
            cfg_path = Path(path).with_name("config.json")
            if cfg_path.exists():
                config = read_config(cfg_path)
        if config is None:
            config = infer_dit_config(state_dict, num_heads=num_heads, args=args)
        elif num_heads is not None:
            config = dict(config, num_heads=num_heads)
        with torch.device("meta"):
            model = DiT(**config)
        model = model.to_empty(device=device)
    _strict_load(model, state_dict, path)
    return model.to(device).eval()


def read_config(path):
    """DiT constructor arguments from a config.json: its "model" object (as
    train_tiny_dit.py writes), or the top level."""
    with open(path) as f:
        data = json.load(f)
    cfg = data.get("model", data)
    keys = ("input_size", "patch_size", "in_channels", "hidden_size", "depth",
            "num_heads", "mlp_ratio", "class_dropout_prob", "num_classes",
            "learn_sigma")
    return {k: cfg[k] for k in keys if k in cfg}


load_dit_model = load_dit_checkpoint


def save_dit_checkpoint(model, path, ema=None, *, opt=None, args=None):
    """Write DiT train.py's format: {"model": model weights, "ema": ema's
    weights (the model's when ema is None), "opt": opt.state_dict() or {},
    "args": argparse.Namespace(model config + `args`)}. Readable with
    torch.load(weights_only=True) given safe_globals([argparse.Namespace])
    (load_dit_checkpoint does that)."""
    def sd(m):
        return {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}
    ns = dict(getattr(model, "config", {}))
    ns.update(args or {})
    torch.save({"model": sd(model), "ema": sd(ema if ema is not None else model),
                "opt": opt.state_dict() if opt is not None else {},
                "args": argparse.Namespace(**ns)}, str(path))


def save_dit_safetensors(model, path, metadata=None):
    """The model's weights as a .safetensors file (float tensors as stored)."""
    from safetensors.torch import save_file
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, str(path), metadata={k: str(v) for k, v in (metadata or {}).items()})
