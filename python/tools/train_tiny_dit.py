#!/usr/bin/env python3
"""Train a tiny class-conditional DiT on the procedural shapes dataset
(hqdm.data.shapes) on a CPU, and write examples/tiny_dit:

    tiny_dit.safetensors   EMA weights (DiT state-dict names, float32)
    config.json            {"model": DiT constructor args, "training": ...,
                            "diffusion": ..., "classes": [...], "loss": [...]}
    samples.png            DDIM samples, one row per class (with matplotlib,
                           else a plain PNG without labels)

Training: DiT's recipe scaled down. ε-MSE + the variational-bound term for
the learned variance (learn_sigma=True, 2C output channels, like DiT-XL/2),
1000-step linear schedule, uniform timesteps, class dropout 0.1 (the null
class for CFG), AdamW (weight decay 0), a linear warm-up then cosine decay of
the learning rate, EMA of the weights with decay min(ema, (1+k)/(10+k)).
Seeded (torch and numpy); the data are generated on the fly.

Usage (from the repository root):
  PYTHONPATH=python .venv/bin/python python/tools/train_tiny_dit.py \
      [--steps 3000] [--time-budget 600] [--out examples/tiny_dit]
"""

import argparse
import json
import math
import sys
import time
import zlib
import struct
from pathlib import Path

import numpy as np
import torch

from hqdm.checkpoint import save_dit_safetensors
from hqdm.data.shapes import CLASSES, ShapesStream
from hqdm.diffusion import create_diffusion
from hqdm.models.dit import DiT


def _png(path, rgb):
    """Minimal PNG writer for an [H, W, 3] uint8 array."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[i].tobytes() for i in range(h))

    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def sample_grid(model, num_classes, per_class, steps, cfg_scale, seed):
    diffusion = create_diffusion(str(steps), learn_sigma=model.learn_sigma)
    y = torch.arange(num_classes).repeat_interleave(per_class)
    S = model.input_size
    x = diffusion.ddim_sample(model, (len(y), model.in_channels, S, S), y,
                              eta=0.0, cfg_scale=cfg_scale, clip_denoised=True,
                              seed=seed)
    return ((x.clamp(-1, 1) + 1) / 2).numpy()


def save_grid(images, num_classes, per_class, path, title=None):
    S = images.shape[-1]
    g = images.reshape(num_classes, per_class, 3, S, S).transpose(0, 3, 1, 4, 2)
    g = g.reshape(num_classes * S, per_class * S, 3)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        big = np.kron(g, np.ones((4, 4, 1)))
        _png(path, (big * 255 + 0.5).astype(np.uint8))
        return
    fig, ax = plt.subplots(figsize=(per_class * 0.6 + 1.2, num_classes * 0.6 + 0.5))
    ax.imshow(g, interpolation="nearest")
    ax.set_yticks([S * (i + 0.5) for i in range(num_classes)])
    ax.set_yticklabels(CLASSES[:num_classes])
    ax.set_xticks([])
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="examples/tiny_dit")
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--patch-size", type=int, default=2)
    p.add_argument("--hidden-size", type=int, default=128)
    p.add_argument("--depth", type=int, default=4)
    p.add_argument("--num-heads", type=int, default=4)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--time-budget", type=float, default=660.0,
                   help="stop after this many seconds of training")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sample-steps", type=int, default=50)
    p.add_argument("--cfg-scale", type=float, default=2.0)
    p.add_argument("--log-every", type=int, default=100)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model_cfg = dict(input_size=args.image_size, patch_size=args.patch_size,
                     in_channels=3, hidden_size=args.hidden_size, depth=args.depth,
                     num_heads=args.num_heads, mlp_ratio=4.0, class_dropout_prob=0.1,
                     num_classes=len(CLASSES), learn_sigma=True)
    model = DiT(**model_cfg)
    ema = DiT(**model_cfg)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    n_params = sum(p.numel() for p in model.parameters())
    print("DiT {} parameters".format(n_params), flush=True)

    diffusion = create_diffusion("", learn_sigma=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    data = ShapesStream(args.batch_size, args.image_size, seed=args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    def lr_at(k):
        if k < args.warmup:
            return args.lr * (k + 1) / args.warmup
        prog = min(1.0, (k - args.warmup) / max(1, args.steps - args.warmup))
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * prog)))

    model.train()
    losses, log = [], []
    start = time.time()
    step = 0
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, y = next(data)
        x, y = torch.from_numpy(x), torch.from_numpy(y)
        t = torch.randint(0, diffusion.num_timesteps, (len(x),), generator=gen)
        noise = torch.randn(x.shape, generator=gen)
        # class dropout with the seeded generator (the model's own token_drop
        # would use the global RNG)
        drop = torch.rand(len(y), generator=gen) < model.y_embedder.dropout_prob
        y = torch.where(drop, torch.full_like(y, len(CLASSES)), y)
        model.eval()  # labels are already dropped; eval skips a second drop
        terms = diffusion.training_losses(model, x, t, y, noise=noise)
        loss = terms["loss"].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        losses.append((loss.item(), terms["mse"].mean().item()))
        if (step + 1) % args.log_every == 0:
            l, m = np.mean(losses[-args.log_every:], axis=0)
            el = time.time() - start
            log.append({"step": step + 1, "loss": round(float(l), 5),
                        "mse": round(float(m), 5), "seconds": round(el, 1)})
            print("step {:5d}  loss {:.4f}  mse {:.4f}  lr {:.2e}  {:.0f}s".format(
                step + 1, l, m, lr_at(step), el), flush=True)
        if time.time() - start > args.time_budget:
            print("time budget reached after {} steps".format(step + 1), flush=True)
            break
    steps_done = step + 1
    train_seconds = time.time() - start

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ema.eval()
    save_dit_safetensors(ema, out / "tiny_dit.safetensors",
                         metadata={"format": "hqdm-tiny-dit", "weights": "ema"})
    config = {
        "model": model_cfg,
        "model_name": "DiT-T/{}".format(args.patch_size),
        "classes": list(CLASSES),
        "data": {"dataset": "hqdm.data.shapes", "image_size": args.image_size,
                 "range": [-1, 1], "channels": "RGB"},
        "diffusion": {"schedule": "linear", "diffusion_steps": 1000,
                      "beta_start": 1e-4, "beta_end": 0.02,
                      "model_var_type": "learned_range",
                      "loss": "mse + vb (DiT's RESCALED_MSE)"},
        "training": {"steps": steps_done, "planned_steps": args.steps,
                     "batch_size": args.batch_size, "optimizer": "AdamW",
                     "lr": args.lr, "weight_decay": 0.0, "warmup": args.warmup,
                     "schedule": "linear warm-up, cosine to 5%",
                     "grad_clip": 1.0, "ema": args.ema, "seed": args.seed,
                     "threads": args.threads, "seconds": round(train_seconds, 1),
                     "parameters": n_params, "weights": "ema"},
        "samples": {"sampler": "ddim", "eta": 0.0, "steps": args.sample_steps,
                    "cfg_scale": args.cfg_scale, "clip_denoised": True,
                    "seed": args.seed},
        "loss_log": log,
    }
    with open(out / "config.json", "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    per_class = 8
    imgs = sample_grid(ema, len(CLASSES), per_class, args.sample_steps,
                       args.cfg_scale, args.seed)
    save_grid(imgs, len(CLASSES), per_class, out / "samples.png",
              title="tiny DiT, DDIM {} steps, CFG {}".format(args.sample_steps,
                                                             args.cfg_scale))
    print("wrote {} ({} steps, {:.0f}s)".format(out, steps_done, train_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
