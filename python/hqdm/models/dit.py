"""DiT (Peebles & Xie, "Scalable Diffusion Models with Transformers") in
plain PyTorch, with the parameter names and shapes of facebookresearch/DiT's
`models.py`, so that its released checkpoints (DiT-XL-2-256x256.pt, ...) load
with `load_state_dict(strict=True)`.

State dict (D = hidden_size, p = patch_size, C = in_channels, T = tokens):

    x_embedder.proj.{weight [D,C,p,p], bias [D]}      patch embedding conv
    t_embedder.mlp.{0,2}.{weight,bias}                 256 -> D -> D
    y_embedder.embedding_table.weight                  [num_classes (+1), D]
    pos_embed                                          [1, T, D] (fixed)
    blocks.{i}.attn.qkv / attn.proj / mlp.fc1 / mlp.fc2 / adaLN_modulation.1
    final_layer.linear / final_layer.adaLN_modulation.1

Differences from the original that do not change the state dict or the
numerics:
- attention is written out (q*scale @ k^T, softmax, @ v) instead of timm's
  fused scaled_dot_product_attention, so torch.export / torch-mlir see two
  batch matmuls and a softmax (the form test/Models/dit_block.mlir has);
- no timm dependency (PatchEmbed/Attention/Mlp are re-implemented with the
  same submodule names);
- the sin-cos position table is computed in torch (float64, then float32)
  and skipped on the meta device, so `with torch.device("meta"):
  DiT_models["DiT-XL/2"]()` allocates nothing.

The timestep `t` is taken as the sampler passes it (int64 or float, shape
[N]); the class `y` is int64 [N], with `num_classes` the null class for
classifier-free guidance when class_dropout_prob > 0.
"""

import math

import torch
from torch import nn

__all__ = [
    "modulate", "timestep_embedding", "sincos_pos_embed_2d",
    "PatchEmbed", "TimestepEmbedder", "LabelEmbedder", "Attention", "Mlp",
    "DiTBlock", "FinalLayer", "DiT", "DiT_models",
]


def modulate(x, shift, scale):
    """adaLN modulation of a token sequence [N, T, D] by per-sample [N, D]."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def timestep_embedding(t, dim, max_period=10000):
    """Sinusoidal embedding of a [N] vector of (possibly fractional)
    timesteps: [cos(t*f_i) || sin(t*f_i)] with f_i = max_period^(-i/half),
    i = 0..half-1, half = dim // 2; an odd dim gets a zero column appended."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period)
        * torch.arange(start=0, end=half, dtype=torch.float32, device=t.device)
        / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def _sincos_1d(dim, pos):
    # pos: float64 [M]; returns [M, dim] = [sin(pos*w) || cos(pos*w)],
    # w_i = 10000^(-i/(dim/2)).
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = pos[:, None] * omega[None]
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def sincos_pos_embed_2d(dim, grid_size):
    """DiT's fixed 2-D position table, [grid_size**2, dim] float64.

    Token k = r * grid_size + c (row-major over the patch grid). Its first
    dim/2 entries are the 1-D sin-cos code of the column index c, the last
    dim/2 of the row index r (DiT builds the grid with np.meshgrid(w, h), so
    its "emb_h" half is driven by the column coordinate)."""
    if dim % 4:
        raise ValueError("the position embedding needs hidden_size % 4 == 0")
    coords = torch.arange(grid_size, dtype=torch.float64)
    col = coords.repeat(grid_size)               # c for k = r*G + c
    row = coords.repeat_interleave(grid_size)    # r
    return torch.cat([_sincos_1d(dim // 2, col), _sincos_1d(dim // 2, row)], dim=1)


class PatchEmbed(nn.Module):
    """Non-overlapping p x p patches -> tokens [N, (H/p)*(W/p), D]."""

    def __init__(self, img_size, patch_size, in_chans, embed_dim):
        super().__init__()
        self.img_size = img_size
        self.patch_size = patch_size
        self.grid_size = img_size // patch_size
        self.num_patches = self.grid_size ** 2
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size,
                              stride=patch_size, bias=True)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class TimestepEmbedder(nn.Module):
    """Scalar timesteps -> [N, D]: sinusoidal code of size 256, Linear, SiLU,
    Linear."""

    def __init__(self, hidden_size, frequency_embedding_size=256):
        super().__init__()
        self.frequency_embedding_size = frequency_embedding_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size, bias=True),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size, bias=True),
        )

    timestep_embedding = staticmethod(timestep_embedding)

    def forward(self, t):
        return self.mlp(timestep_embedding(t, self.frequency_embedding_size))


class LabelEmbedder(nn.Module):
    """Class labels -> [N, D]. With dropout_prob > 0 the table has an extra
    last row, the null class used for classifier-free guidance; in training
    labels are replaced by it with probability dropout_prob."""

    def __init__(self, num_classes, hidden_size, dropout_prob):
        super().__init__()
        use_cfg_embedding = dropout_prob > 0
        self.embedding_table = nn.Embedding(num_classes + int(use_cfg_embedding),
                                            hidden_size)
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob

    def token_drop(self, labels, force_drop_ids=None, generator=None):
        if force_drop_ids is None:
            drop = torch.rand(labels.shape[0], device=labels.device,
                              generator=generator) < self.dropout_prob
        else:
            drop = force_drop_ids == 1
        return torch.where(drop, torch.full_like(labels, self.num_classes), labels)

    def forward(self, labels, train=False, force_drop_ids=None):
        if (train and self.dropout_prob > 0) or force_drop_ids is not None:
            labels = self.token_drop(labels, force_drop_ids)
        return self.embedding_table(labels)


class Attention(nn.Module):
    """Multi-head self-attention with timm's parameter names (qkv, proj),
    written with explicit matmuls."""

    def __init__(self, dim, num_heads=8, qkv_bias=True):
        super().__init__()
        if dim % num_heads:
            raise ValueError("hidden size {} is not a multiple of num_heads {}"
                             .format(dim, num_heads))
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)   # [B, H, N, hd] each
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Mlp(nn.Module):
    """fc1 -> GELU(tanh) -> fc2 (timm Mlp's names)."""

    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(hidden_features, in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DiTBlock(nn.Module):
    """Transformer block with adaLN-Zero conditioning."""

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size, bias=True))

    def forward(self, x, c):
        (shift_msa, scale_msa, gate_msa,
         shift_mlp, scale_mlp, gate_mlp) = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(
            modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + gate_mlp.unsqueeze(1) * self.mlp(
            modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x


class FinalLayer(nn.Module):
    def __init__(self, hidden_size, patch_size, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels,
                                bias=True)
        self.adaLN_modulation = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size, bias=True))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class DiT(nn.Module):
    """Class-conditional latent DiT. forward(x [N,C,H,W], t [N], y [N]) ->
    [N, out_channels, H, W], out_channels = 2C with learn_sigma (ε then the
    variance interpolation values v), else C (ε)."""

    def __init__(self, input_size=32, patch_size=2, in_channels=4,
                 hidden_size=1152, depth=28, num_heads=16, mlp_ratio=4.0,
                 class_dropout_prob=0.1, num_classes=1000, learn_sigma=True):
        super().__init__()
        if input_size % patch_size:
            raise ValueError("input_size {} is not a multiple of patch_size {}"
                             .format(input_size, patch_size))
        self.config = dict(input_size=input_size, patch_size=patch_size,
                           in_channels=in_channels, hidden_size=hidden_size,
                           depth=depth, num_heads=num_heads, mlp_ratio=mlp_ratio,
                           class_dropout_prob=class_dropout_prob,
                           num_classes=num_classes, learn_sigma=learn_sigma)
        self.input_size = input_size
        self.learn_sigma = learn_sigma
        self.in_channels = in_channels
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.patch_size = patch_size
        self.num_heads = num_heads
        self.num_classes = num_classes
        self.hidden_size = hidden_size

        self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        num_patches = self.x_embedder.num_patches
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, hidden_size),
                                      requires_grad=False)
        self.blocks = nn.ModuleList(
            [DiTBlock(hidden_size, num_heads, mlp_ratio=mlp_ratio) for _ in range(depth)])
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
        self.initialize_weights()

    def initialize_weights(self):
        """DiT's initialisation: Xavier-uniform linears (and the patch conv as
        a [D, C*p*p] matrix) with zero biases, N(0, 0.02) label table and
        timestep MLP weights, the fixed sin-cos pos_embed, and adaLN-Zero:
        every adaLN_modulation linear and the final linear are zero, so a
        fresh model outputs zeros and each block starts as the identity.
        The pos_embed fill is skipped on the meta device."""
        def basic_init(module):
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.constant_(module.bias, 0)
        self.apply(basic_init)

        self.reset_pos_embed()

        w = self.x_embedder.proj.weight
        nn.init.xavier_uniform_(w.data.view(w.shape[0], -1))
        nn.init.constant_(self.x_embedder.proj.bias, 0)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.constant_(block.adaLN_modulation[-1].weight, 0)
            nn.init.constant_(block.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].weight, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.linear.weight, 0)
        nn.init.constant_(self.final_layer.linear.bias, 0)

    def reset_pos_embed(self):
        """Fill pos_embed with the sin-cos table (no-op on the meta device;
        call after `to_empty()` to materialise it)."""
        if self.pos_embed.is_meta:
            return
        table = sincos_pos_embed_2d(self.hidden_size, self.x_embedder.grid_size)
        with torch.no_grad():
            self.pos_embed.copy_(table.float().unsqueeze(0))

    def unpatchify(self, x):
        """[N, T, p*p*C] -> [N, C, H, W]; token (r, c) fills the p x p patch
        at rows r*p.., columns c*p.., its features ordered (p_row, p_col, C)."""
        c = self.out_channels
        p = self.patch_size
        h = w = self.x_embedder.grid_size
        x = x.reshape(x.shape[0], h, w, p, p, c)
        x = x.permute(0, 5, 1, 3, 2, 4)               # n c h p w q
        return x.reshape(x.shape[0], c, h * p, w * p)

    def forward(self, x, t, y):
        x = self.x_embedder(x) + self.pos_embed
        c = self.t_embedder(t) + self.y_embedder(y, self.training)
        for block in self.blocks:
            x = block(x, c)
        x = self.final_layer(x, c)
        return self.unpatchify(x)

    def forward_with_cfg(self, x, t, y, cfg_scale, cfg_channels=3):
        """Classifier-free guidance as DiT's sample.py calls it: the batch is
        [cond half; uncond half] (y's second half the null class); the first
        half of x is used for both halves, and the result's guided channels
        are uncond + s * (cond - uncond), duplicated over both halves.

        cfg_channels=3 reproduces DiT exactly (it guides the first 3 output
        channels; with 4 latent channels the 4th ε channel and the variance
        channels stay the halves' own outputs). cfg_channels=None guides all
        in_channels ε channels."""
        half = x[: len(x) // 2]
        combined = torch.cat([half, half], dim=0)
        out = self.forward(combined, t, y)
        k = self.in_channels if cfg_channels is None else cfg_channels
        eps, rest = out[:, :k], out[:, k:]
        cond_eps, uncond_eps = torch.split(eps, len(eps) // 2, dim=0)
        half_eps = uncond_eps + cfg_scale * (cond_eps - uncond_eps)
        eps = torch.cat([half_eps, half_eps], dim=0)
        return torch.cat([eps, rest], dim=1)


def _factory(depth, hidden_size, patch_size, num_heads):
    def make(**kwargs):
        return DiT(depth=depth, hidden_size=hidden_size, patch_size=patch_size,
                   num_heads=num_heads, **kwargs)
    make.__name__ = "DiT_d{}_h{}_p{}".format(depth, hidden_size, patch_size)
    return make


# name -> (depth, hidden_size, num_heads). XL/L/B/S are DiT's; "T" (tiny:
# depth 4, hidden 128, 4 heads of 32) is this project's, small enough to
# train on a CPU in minutes (examples/tiny_dit).
_SIZES = {"XL": (28, 1152, 16), "L": (24, 1024, 16), "B": (12, 768, 12),
          "S": (12, 384, 6), "T": (4, 128, 4)}

DiT_models = {"DiT-{}/{}".format(size, p): _factory(d, h, p, heads)
              for size, (d, h, heads) in _SIZES.items() for p in (2, 4, 8)}
