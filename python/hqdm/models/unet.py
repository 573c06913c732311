"""A small latent-diffusion UNet in the style of openaimodel.py
(guided_diffusion / latent-diffusion), for testing the compiler on
convolutional diffusion models.

Structure (model_channels = M, channel_mult = (m_0, m_1, ...)):

    time_embed:     sinusoidal(t, M) -> Linear(M, 4M) -> SiLU -> Linear(4M, 4M)
    label_emb:      Embedding(num_classes (+1 null row), 4M), added to it
    input_blocks:   conv3x3(in, M); per level l: num_res_blocks x
                    [ResBlock(-> M*m_l) (+ AttentionBlock if the downsampling
                    factor is in attention_resolutions)], then Downsample
                    (stride-2 conv3x3) except after the last level
    middle_block:   ResBlock, AttentionBlock, ResBlock
    output_blocks:  levels in reverse, num_res_blocks + 1 x [ResBlock on the
                    concatenated skip (+ attention)], Upsample (nearest x2 +
                    conv3x3) at the end of every level but level 0
    out:            GroupNorm -> SiLU -> conv3x3(M, out) (zero-initialised)

Deviation from openaimodel: the attention block's qkv and proj_out are 1x1
Conv2d on the [N, C, H, W] map (openaimodel uses conv1d on [N, C, H*W];
the weights differ only by a trailing unit dimension), so the compiler sees
2-D convolutions; attention itself is explicit (q^T k * scale, softmax, v).
"""

import torch
from torch import nn
import torch.nn.functional as F

from hqdm.models.dit import timestep_embedding

__all__ = ["ResBlock", "AttentionBlock", "Downsample", "Upsample", "UNetModel",
           "small_unet", "UNet_models"]


def _norm(channels, groups):
    g = min(groups, channels)
    while channels % g:
        g -= 1
    return nn.GroupNorm(g, channels, eps=1e-5)


def _zero(module):
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv3x3 -> + Linear(SiLU(emb)) -> GroupNorm ->
    SiLU -> dropout -> conv3x3 (zero-initialised), plus the skip: identity
    when channels match, else a 1x1 conv. With use_scale_shift_norm the
    embedding gives (scale, shift) applied after the second GroupNorm:
    norm(h) * (1 + scale) + shift. forward(x [N,C,H,W], emb [N,E])."""

    def __init__(self, channels, emb_channels, out_channels=None, dropout=0.0,
                 use_scale_shift_norm=False, norm_groups=32):
        super().__init__()
        out_channels = out_channels or channels
        self.channels = channels
        self.out_channels = out_channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(
            _norm(channels, norm_groups), nn.SiLU(),
            nn.Conv2d(channels, out_channels, 3, padding=1))
        self.emb_layers = nn.Sequential(
            nn.SiLU(),
            nn.Linear(emb_channels,
                      2 * out_channels if use_scale_shift_norm else out_channels))
        self.out_layers = nn.Sequential(
            _norm(out_channels, norm_groups), nn.SiLU(), nn.Dropout(p=dropout),
            _zero(nn.Conv2d(out_channels, out_channels, 3, padding=1)))
        if out_channels == channels:
            self.skip_connection = nn.Identity()
        else:
            self.skip_connection = nn.Conv2d(channels, out_channels, 1)

    def forward(self, x, emb):
        h = self.in_layers(x)
        emb_out = self.emb_layers(emb)[:, :, None, None]
        if self.use_scale_shift_norm:
            norm, rest = self.out_layers[0], self.out_layers[1:]
            scale, shift = emb_out.chunk(2, dim=1)
            h = norm(h) * (1 + scale) + shift
            h = rest(h)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


class AttentionBlock(nn.Module):
    """Spatial self-attention: GroupNorm, qkv 1x1 conv, per-head softmax
    attention over the H*W positions, proj_out 1x1 conv (zero-initialised),
    residual. The qkv channels are grouped per head as [q; k; v] of
    head_dim each (openaimodel's "legacy" order)."""

    def __init__(self, channels, num_heads=1, norm_groups=32):
        super().__init__()
        if channels % num_heads:
            raise ValueError("channels {} not divisible by num_heads {}".format(
                channels, num_heads))
        self.channels = channels
        self.num_heads = num_heads
        self.norm = _norm(channels, norm_groups)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj_out = _zero(nn.Conv2d(channels, channels, 1))

    def forward(self, x):
        B, C, H, W = x.shape
        hd = C // self.num_heads
        qkv = self.qkv(self.norm(x)).reshape(B * self.num_heads, 3 * hd, H * W)
        q, k, v = qkv.split(hd, dim=1)                 # [B*heads, hd, T]
        scale = hd ** -0.5
        w = (q.transpose(1, 2) * scale) @ k            # [B*heads, T, T]
        w = w.softmax(dim=-1)
        a = v @ w.transpose(1, 2)                      # [B*heads, hd, T]
        return x + self.proj_out(a.reshape(B, C, H, W))


class Downsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.op = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class _Seq(nn.ModuleList):
    """Sequential that passes the embedding to the ResBlocks."""

    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, ResBlock) else layer(x)
        return x


class UNetModel(nn.Module):
    """forward(x [N, in_channels, S, S], t [N], y [N] or None) ->
    [N, out_channels, S, S]. out_channels defaults to in_channels, or
    2*in_channels with learn_sigma. With num_classes set the model is
    class-conditional; class_dropout_prob > 0 adds the null-class row
    (index num_classes) for classifier-free guidance."""

    def __init__(self, image_size=16, in_channels=4, model_channels=32,
                 out_channels=None, num_res_blocks=1, attention_resolutions=(2,),
                 channel_mult=(1, 2), num_heads=1, dropout=0.0,
                 num_classes=None, class_dropout_prob=0.0, learn_sigma=False,
                 use_scale_shift_norm=False, norm_groups=32):
        super().__init__()
        self.image_size = image_size
        self.in_channels = in_channels
        self.learn_sigma = learn_sigma
        self.out_channels = out_channels or (2 * in_channels if learn_sigma
                                             else in_channels)
        self.model_channels = model_channels
        self.num_classes = num_classes
        self.class_dropout_prob = class_dropout_prob
        emb_ch = 4 * model_channels
        self.time_embed = nn.Sequential(
            nn.Linear(model_channels, emb_ch), nn.SiLU(), nn.Linear(emb_ch, emb_ch))
        if num_classes is not None:
            self.label_emb = nn.Embedding(
                num_classes + int(class_dropout_prob > 0), emb_ch)

        def res(cin, cout):
            return ResBlock(cin, emb_ch, cout, dropout=dropout,
                            use_scale_shift_norm=use_scale_shift_norm,
                            norm_groups=norm_groups)

        def attn(ch):
            return AttentionBlock(ch, num_heads=num_heads, norm_groups=norm_groups)

        self.input_blocks = nn.ModuleList(
            [_Seq([nn.Conv2d(in_channels, model_channels, 3, padding=1)])])
        skip = [model_channels]
        ch, ds = model_channels, 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [res(ch, model_channels * mult)]
                ch = model_channels * mult
                if ds in attention_resolutions:
                    layers.append(attn(ch))
                self.input_blocks.append(_Seq(layers))
                skip.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(_Seq([Downsample(ch)]))
                skip.append(ch)
                ds *= 2
        self.middle_block = _Seq([res(ch, ch), attn(ch), res(ch, ch)])
        self.output_blocks = nn.ModuleList()
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                layers = [res(ch + skip.pop(), model_channels * mult)]
                ch = model_channels * mult
                if ds in attention_resolutions:
                    layers.append(attn(ch))
                if level and i == num_res_blocks:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(_Seq(layers))
        self.out = nn.Sequential(
            _norm(ch, norm_groups), nn.SiLU(),
            _zero(nn.Conv2d(model_channels, self.out_channels, 3, padding=1)))

    def forward(self, x, t, y=None):
        emb = self.time_embed(timestep_embedding(t, self.model_channels))
        if self.num_classes is not None:
            if y is None:
                raise ValueError("this UNet is class-conditional: pass y")
            emb = emb + self.label_emb(y)
        hs = []
        h = x
        for block in self.input_blocks:
            h = block(h, emb)
            hs.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = block(torch.cat([h, hs.pop()], dim=1), emb)
        return self.out(h)


def small_unet(**kwargs):
    """32 base channels, mults (1, 2), one res block per level, attention at
    8x8 (downsampling factor 2), 16x16 inputs with 4 channels."""
    cfg = dict(image_size=16, in_channels=4, model_channels=32, num_res_blocks=1,
               attention_resolutions=(2,), channel_mult=(1, 2), num_heads=1)
    cfg.update(kwargs)
    return UNetModel(**cfg)


UNet_models = {"UNet-S": small_unet}
