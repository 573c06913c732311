"""Calibration data for a diffusion model, recorded along its own float
sampling trajectories (TaQ-DiT's protocol).

The float model is run with the sampler (DDPM or DDIM, N steps, CFG scale s)
over num_samples samples, in sampler batches of batch_size samples; at K
steps, uniformly spread over the N (step indices floor(i·N/K), i = 0..K-1,
index 0 being the first, noisiest step: 0, 4, ..., 96 for N=100, K=25), the
model's inputs are recorded exactly as the model receives them: with CFG the
concatenated batch [x_t; x_t], [t; t], [y; null] (2·batch_size rows), t the
original (unspaced) timestep as int64.

Defaults (TaQ-DiT, Sec. IV-A and its code): DDPM, 100 steps, 25 recorded
steps, CFG 1.5, 256 samples, i.e. 25 x 256 (x2 for CFG) model inputs.

Output (`write_trajectories`, `.npz`, the format `python -m hqdm.calibrate
MODEL DATA` reads): keys arg0, arg1, arg2, one per model argument in
forward order (x float32 [calls, B, C, H, W], t int64 [calls, B], y int64
[calls, B]; an unconditional model has no arg2), the leading dimension the
call. A call is one model invocation at one step: B = call_batch rows
(default the sampler's model batch, 2·batch_size with CFG; a smaller
call_batch splits each invocation into consecutive row blocks), so every
row of a call shares the step and the compiled model's batch is B. Calls
are ordered by step descending (t from 999 down), sampler batches in order
within a step. A sidecar OUT.meta.json records the settings.

CLI: python -m hqdm.trajectories CHECKPOINT -o calib.npz [options]
(CHECKPOINT: a DiT .pt, or a .safetensors with config.json beside it).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hqdm.diffusion import create_diffusion

__all__ = ["DEFAULTS", "recorded_step_indices", "record_trajectories",
           "write_trajectories", "main"]

DEFAULTS = dict(sampler="ddpm", num_steps=100, num_recorded=25, cfg_scale=1.5,
                num_samples=256, batch_size=32, eta=0.0, seed=0)


def recorded_step_indices(num_steps, num_recorded):
    """The sampler step indices recorded: floor(i·N/K), i = 0..K-1."""
    if not 1 <= num_recorded <= num_steps:
        raise ValueError("num_recorded must be in [1, num_steps]")
    return [i * num_steps // num_recorded for i in range(num_recorded)]


@torch.no_grad()
def record_trajectories(model, *, num_samples=256, num_steps=100, num_recorded=25,
                        cfg_scale=1.5, sampler="ddpm", eta=0.0, batch_size=32,
                        call_batch=None, classes=None, num_classes=None,
                        seed=0, device="cpu", diffusion_steps=1000,
                        learn_sigma=None, cfg_channels=None, clip_denoised=False,
                        image_shape=None, verbose=False):
    """Run the float sampler and return {"arg0": x, "arg1": t, "arg2": y}
    (see the module docstring). classes: the class of each sample (cycled
    if shorter), else uniform random from numpy default_rng(seed);
    cfg_scale None: no guidance (model batch = batch_size).
    image_shape defaults to (model.in_channels, model.input_size,
    model.input_size) (or model.image_size)."""
    if num_samples % batch_size:
        raise ValueError("num_samples {} is not a multiple of batch_size {}"
                         .format(num_samples, batch_size))
    device = torch.device(device)
    model = model.to(device).eval()
    if learn_sigma is None:
        learn_sigma = bool(getattr(model, "learn_sigma", False))
    if num_classes is None:
        num_classes = getattr(model, "num_classes", None)
    if image_shape is None:
        size = getattr(model, "input_size", None) or getattr(model, "image_size")
        image_shape = (model.in_channels, size, size)
    model_batch = batch_size * (2 if cfg_scale is not None else 1)
    call_batch = call_batch or model_batch
    if model_batch % call_batch:
        raise ValueError("the model batch {} is not a multiple of call_batch {}"
                         .format(model_batch, call_batch))

    rng = np.random.default_rng(seed)
    if num_classes is None:
        labels = None
    elif classes is not None:
        classes = np.asarray(classes, dtype=np.int64).reshape(-1)
        labels = np.resize(classes, num_samples)
    else:
        labels = rng.integers(0, num_classes, size=num_samples)

    diffusion = create_diffusion(str(num_steps), learn_sigma=learn_sigma,
                                 diffusion_steps=diffusion_steps)
    record = set(recorded_step_indices(num_steps, num_recorded))
    per_step = {i: [] for i in sorted(record)}

    def callback(step_index, t, inputs, output):
        if step_index not in record:
            return
        rows = [a.detach().cpu() if a is not None else None for a in inputs]
        for start in range(0, model_batch, call_batch):
            per_step[step_index].append(
                [r[start:start + call_batch] if r is not None else None for r in rows])

    generator = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for b in range(num_samples // batch_size):
        y = None if labels is None else torch.from_numpy(
            labels[b * batch_size:(b + 1) * batch_size])
        diffusion.sample(model, (batch_size,) + tuple(image_shape), y,
                         sampler=sampler, eta=eta, cfg_scale=cfg_scale,
                         null_class=num_classes, cfg_channels=cfg_channels,
                         clip_denoised=clip_denoised, generator=generator,
                         device=device, callback=callback)
        if verbose:
            print("batch {}/{} ({:.0f}s)".format(b + 1, num_samples // batch_size,
                                                 time.time() - t0), flush=True)

    calls = [c for i in sorted(per_step) for c in per_step[i]]
    n_args = 3 if calls and calls[0][2] is not None else 2
    out = {}
    for a in range(n_args):
        arr = torch.stack([c[a] for c in calls]).numpy()
        out["arg{}".format(a)] = (arr.astype(np.float32) if a == 0
                                  else arr.astype(np.int64))
    return out


def write_trajectories(path, arrays, metadata=None):
    """Write the arrays as an uncompressed .npz (keys arg0, arg1, ...) and,
    with metadata, PATH minus ".npz" plus ".meta.json"."""
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError("the output must be an .npz file: {}".format(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    if metadata is not None:
        meta = dict(metadata)
        meta["arrays"] = {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                          for k, v in arrays.items()}
        with open(path.with_suffix(".meta.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")


def main(argv=None, prog="python -m hqdm.trajectories"):
    d = DEFAULTS
    p = argparse.ArgumentParser(
        prog=prog, description="Record a DiT's inputs along its float sampling "
        "trajectories as calibration data (keys arg0=x, arg1=t, arg2=y).")
    p.add_argument("checkpoint", help="DiT .pt (raw or train.py format) or "
                   ".safetensors with config.json beside it")
    p.add_argument("-o", "--output", required=True, help="output .npz")
    p.add_argument("--config", help="config.json with the DiT constructor args")
    p.add_argument("--num-heads", type=int, help="attention heads (not in the weights)")
    p.add_argument("--sampler", choices=("ddpm", "ddim"), default=d["sampler"])
    p.add_argument("--steps", type=int, default=d["num_steps"])
    p.add_argument("--record", type=int, default=d["num_recorded"],
                   help="number of uniformly spaced steps recorded")
    p.add_argument("--cfg-scale", type=float, default=d["cfg_scale"])
    p.add_argument("--no-cfg", action="store_true", help="sample without guidance")
    p.add_argument("--cfg-channels", type=int, default=None,
                   help="guide only the first K channels (3 = DiT's sample.py)")
    p.add_argument("--eta", type=float, default=d["eta"], help="DDIM eta")
    p.add_argument("--samples", type=int, default=d["num_samples"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"],
                   help="samples per sampler batch")
    p.add_argument("--call-batch", type=int, default=None,
                   help="rows per recorded call (the compiled model's batch)")
    p.add_argument("--classes", help="comma-separated class labels (cycled)")
    p.add_argument("--clip-denoised", action="store_true",
                   help="clip predicted x0 to [-1, 1] (pixel-space models)")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args(argv)

    from hqdm.checkpoint import CheckpointError, load_dit_checkpoint, read_config
    try:
        model = load_dit_checkpoint(a.checkpoint, device=a.device, num_heads=a.num_heads,
                                    config=read_config(a.config) if a.config else None)
    except CheckpointError as e:
        sys.stderr.write("{}: {}\n".format(prog, e))
        return 1
    classes = [int(c) for c in a.classes.split(",")] if a.classes else None
    cfg = None if a.no_cfg else a.cfg_scale
    try:
        arrays = record_trajectories(
            model, num_samples=a.samples, num_steps=a.steps, num_recorded=a.record,
            cfg_scale=cfg, sampler=a.sampler, eta=a.eta, batch_size=a.batch_size,
            call_batch=a.call_batch, classes=classes, seed=a.seed, device=a.device,
            cfg_channels=a.cfg_channels, clip_denoised=a.clip_denoised,
            verbose=not a.quiet)
        write_trajectories(a.output, arrays, metadata=dict(
            checkpoint=str(a.checkpoint), model=getattr(model, "config", None),
            sampler=a.sampler, steps=a.steps, recorded=a.record,
            recorded_step_indices=recorded_step_indices(a.steps, a.record),
            cfg_scale=cfg, cfg_channels=a.cfg_channels, eta=a.eta,
            samples=a.samples, batch_size=a.batch_size, call_batch=a.call_batch,
            seed=a.seed))
    except ValueError as e:
        sys.stderr.write("{}: {}\n".format(prog, e))
        return 2
    if not a.quiet:
        print("wrote {}: {}".format(a.output, ", ".join(
            "{} {}{}".format(k, v.dtype, list(v.shape)) for k, v in arrays.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
