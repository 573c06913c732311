"""Models by name, with example inputs, for `hqdm import` and the tests.

    dit:DiT-XL/2          the DiT (python/hqdm/models/dit.py), any DiT_models key
    dit-block             one DiTBlock: forward(x [B,T,D], c [B,D])
    unet:UNet-S           the small latent-diffusion UNet
    unet-resblock         one ResBlock: forward(x [B,C,H,W], emb [B,E])
    tiny-dit              the trained DiT-T/2 shipped in examples/tiny_dit
    PKG.MODULE:FUNCTION   FUNCTION(**options) returns (module, example_args)

Options (`key=value`, as `hqdm import --option`) override the constructor's
arguments; `batch` sets the example batch. `checkpoint` loads weights: a DiT
`.pt` (facebookresearch/DiT's format, hqdm.checkpoint) or a `.safetensors`
state dict.
"""

import importlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TINY_DIT = ROOT / "examples" / "tiny_dit"


class ZooError(ValueError):
    pass


def _parse(value):
    try:
        return json.loads(value)
    except (json.JSONDecodeError, TypeError):
        return value


def _split_options(options):
    out = {}
    for item in options or ():
        if "=" not in item:
            raise ZooError(f"option {item!r} is not KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.replace("-", "_")] = _parse(v)
    return out


def _load_state(module, checkpoint):
    """Loads a DiT `.pt` or a `.safetensors` state dict into `module`,
    strictly (hqdm.checkpoint: missing, unexpected and mis-shaped keys are
    listed)."""
    from .checkpoint import CheckpointError, load_dit_checkpoint
    path = Path(checkpoint)
    if not path.is_file():
        raise ZooError(f"checkpoint {path} does not exist")
    try:
        return load_dit_checkpoint(str(path), module)
    except CheckpointError as e:
        raise ZooError(str(e)) from None


def _dit_config(name):
    """The constructor arguments of DiT_models[name] (e.g. DiT-XL/2)."""
    import torch
    from .models.dit import DiT_models
    with torch.device("meta"):
        return dict(DiT_models[name]().config)


def build(spec, options=(), *, device=None, seed=0):
    """(module in eval mode, example args tuple) for the model `spec`."""
    import torch
    opts = _split_options(options) if not isinstance(options, dict) \
        else dict(options)
    batch = int(opts.pop("batch", 2))
    checkpoint = opts.pop("checkpoint", None)
    gen = torch.Generator().manual_seed(seed)
    ctx = torch.device(device) if device else torch.device("cpu")

    def randn(*shape):
        return torch.randn(*shape, generator=gen).to(ctx)

    kind, _, name = spec.partition(":")
    if kind == "tiny-dit":
        from .checkpoint import read_config
        from .models.dit import DiT
        with ctx:
            model = DiT(**{**read_config(TINY_DIT / "config.json"), **opts})
        checkpoint = checkpoint or TINY_DIT / "tiny_dit.safetensors"
        kind = "dit"
    elif kind == "dit":
        from .models.dit import DiT_models
        if name not in DiT_models:
            raise ZooError(f"unknown DiT {name!r}; one of "
                           f"{', '.join(sorted(DiT_models))}")
        with ctx:
            if opts.keys() & {"depth", "hidden_size", "num_heads",
                              "patch_size"}:
                # A resized variant (e.g. DiT-XL/2 with depth=4, for the
                # compile-cost benchmark): the named configuration's
                # arguments, overridden.
                from .models.dit import DiT
                cfg = _dit_config(name)
                cfg.update(opts)
                model = DiT(**cfg)
            else:
                model = DiT_models[name](**opts)
    elif kind == "dit-block":
        from .models.dit import DiTBlock
        hidden = int(opts.pop("hidden_size", 64))
        tokens = int(opts.pop("tokens", 16))
        with ctx:
            model = DiTBlock(hidden, int(opts.pop("num_heads", 2)), **opts)
        return model.eval(), (randn(batch, tokens, hidden),
                              randn(batch, hidden))
    elif kind == "unet":
        from .models.unet import UNet_models
        name = name or "UNet-S"
        if name not in UNet_models:
            raise ZooError(f"unknown UNet {name!r}; one of "
                           f"{', '.join(sorted(UNet_models))}")
        with ctx:
            model = UNet_models[name](**opts)
    elif kind == "unet-resblock":
        from .models.unet import ResBlock
        channels = int(opts.pop("channels", 32))
        emb = int(opts.pop("emb_channels", 64))
        size = int(opts.pop("size", 8))
        with ctx:
            model = ResBlock(channels, emb, norm_groups=int(
                opts.pop("norm_groups", 8)), **opts)
        return model.eval(), (randn(batch, channels, size, size),
                              randn(batch, emb))
    elif ":" in spec and "." in kind:
        try:
            fn = getattr(importlib.import_module(kind), name)
        except (ImportError, AttributeError) as e:
            raise ZooError(f"cannot load {spec}: {e}")
        module, args = fn(**opts)
        return module.eval(), tuple(args)
    else:
        raise ZooError(f"unknown model {spec!r}: use dit:NAME, dit-block, "
                       "unet:NAME, unet-resblock, tiny-dit or "
                       "package.module:function")

    if checkpoint is not None:
        model = _load_state(model, checkpoint)
    model = model.eval()
    if kind == "dit":
        size = model.config["input_size"]
        x = randn(batch, model.config["in_channels"], size, size)
        classes = model.config["num_classes"]
        t = torch.randint(0, 1000, (batch,), generator=gen).to(ctx)
        y = torch.randint(0, classes, (batch,), generator=gen).to(ctx)
        return model, (x, t, y)
    # unet
    x = randn(batch, model.in_channels, model.image_size, model.image_size)
    t = torch.randint(0, 1000, (batch,), generator=gen).to(ctx)
    if model.num_classes is not None:
        y = torch.randint(0, model.num_classes, (batch,), generator=gen).to(ctx)
        return model, (x, t, y)
    return model, (x, t)
