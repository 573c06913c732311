"""Diffusion models in PyTorch for hqdm's tests, calibration and examples.

- `hqdm.models.dit`: DiT with facebookresearch/DiT's state-dict layout
  (`DiT`, `DiT_models`: XL/L/B/S/T x /2,/4,/8).
- `hqdm.models.unet`: a small openaimodel-style latent-diffusion UNet
  (`UNetModel`, `ResBlock`, `small_unet`).

Importing this package needs torch."""

from hqdm.models.dit import DiT, DiT_models, DiTBlock, timestep_embedding
from hqdm.models.unet import ResBlock, UNetModel, UNet_models, small_unet

__all__ = ["DiT", "DiT_models", "DiTBlock", "timestep_embedding", "ResBlock",
           "UNetModel", "UNet_models", "small_unet"]
