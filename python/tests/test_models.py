"""DiT and UNet: layout against DiT's published state dict, numerics against
independent numpy / functional references, export and meta construction."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hqdm.models import DiT, DiT_models, ResBlock, UNetModel, small_unet
from hqdm.models.dit import Attention, DiTBlock, timestep_embedding
from hqdm.models.unet import AttentionBlock


def _randomize(model, std=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


def _tiny(**kw):
    cfg = dict(input_size=8, patch_size=2, in_channels=3, hidden_size=32, depth=2,
               num_heads=4, num_classes=5)
    cfg.update(kw)
    return DiT(**cfg)


# ----------------------------------------------------------------- embeddings
def test_pos_embed_matches_numpy_sincos():
    D, G = 16, 4
    m = _tiny(input_size=8, patch_size=2, hidden_size=D, num_heads=2)
    # numpy, as DiT: grid = meshgrid(w, h); first half from grid[0], second
    # from grid[1]; each half = [sin(pos*w), cos(pos*w)], w = 1/10000^(i/(D/4))
    gh = np.arange(G, dtype=np.float64)
    grid = np.stack(np.meshgrid(gh, gh), axis=0).reshape(2, -1)
    omega = 1.0 / 10000 ** (np.arange(D // 4) / (D / 4))

    def one(pos):
        out = np.outer(pos, omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    ref = np.concatenate([one(grid[0]), one(grid[1])], axis=1)
    assert m.pos_embed.shape == (1, G * G, D)
    assert not m.pos_embed.requires_grad
    np.testing.assert_allclose(m.pos_embed[0].numpy(), ref, atol=1e-6)
    # token 1 is (row 0, column 1): its first half codes position 1
    assert ref[1, 0] == pytest.approx(math.sin(1.0))
    assert ref[1, D // 2] == 0.0


def test_timestep_embedding_matches_numpy():
    t = torch.tensor([0, 1, 250, 999])
    emb = timestep_embedding(t, 256).numpy()
    freqs = np.exp(-np.log(10000.0) * np.arange(128) / 128)
    args = t.numpy()[:, None].astype(np.float64) * freqs[None]
    ref = np.concatenate([np.cos(args), np.sin(args)], axis=1)
    np.testing.assert_allclose(emb, ref, atol=2e-4)   # f32 args at t=999
    assert timestep_embedding(t, 7).shape == (4, 7)


# ----------------------------------------------------------- DiT-XL/2 layout
def _published_dit_keys(depth, D, p, C, out_c, classes_rows, tokens):
    keys = {"pos_embed": (1, tokens, D),
            "x_embedder.proj.weight": (D, C, p, p), "x_embedder.proj.bias": (D,),
            "t_embedder.mlp.0.weight": (D, 256), "t_embedder.mlp.0.bias": (D,),
            "t_embedder.mlp.2.weight": (D, D), "t_embedder.mlp.2.bias": (D,),
            "y_embedder.embedding_table.weight": (classes_rows, D)}
    for i in range(depth):
        b = "blocks.{}.".format(i)
        keys.update({b + "attn.qkv.weight": (3 * D, D), b + "attn.qkv.bias": (3 * D,),
                     b + "attn.proj.weight": (D, D), b + "attn.proj.bias": (D,),
                     b + "mlp.fc1.weight": (4 * D, D), b + "mlp.fc1.bias": (4 * D,),
                     b + "mlp.fc2.weight": (D, 4 * D), b + "mlp.fc2.bias": (D,),
                     b + "adaLN_modulation.1.weight": (6 * D, D),
                     b + "adaLN_modulation.1.bias": (6 * D,)})
    keys.update({"final_layer.linear.weight": (p * p * out_c, D),
                 "final_layer.linear.bias": (p * p * out_c,),
                 "final_layer.adaLN_modulation.1.weight": (2 * D, D),
                 "final_layer.adaLN_modulation.1.bias": (2 * D,)})
    return keys


def test_dit_xl2_state_dict_on_meta():
    with torch.device("meta"):
        m = DiT_models["DiT-XL/2"]()
    sd = m.state_dict()
    assert all(v.is_meta for v in sd.values())        # nothing allocated
    expected = _published_dit_keys(28, 1152, 2, 4, 8, 1001, 256)
    assert {k: tuple(v.shape) for k, v in sd.items()} == expected
    assert len(sd) == 292
    assert sum(p.numel() for p in m.parameters()) == 675_129_632
    # the same figure summed from the published shapes
    assert sum(math.prod(s) for s in expected.values()) == 675_129_632
    assert m.blocks[0].attn.num_heads == 16 and m.blocks[0].attn.head_dim == 72


def test_model_zoo():
    expected = {"XL": (28, 1152, 16), "L": (24, 1024, 16), "B": (12, 768, 12),
                "S": (12, 384, 6), "T": (4, 128, 4)}
    for size, (depth, hidden, heads) in expected.items():
        for p in (2, 4, 8):
            with torch.device("meta"):
                m = DiT_models["DiT-{}/{}".format(size, p)]()
            assert (len(m.blocks), m.hidden_size, m.num_heads, m.patch_size) == \
                (depth, hidden, heads, p)
    assert len(DiT_models) == 15


# ------------------------------------------------------------------ numerics
def test_fresh_dit_outputs_zero_and_shapes():
    torch.manual_seed(0)
    m = _tiny().eval()
    x = torch.randn(2, 3, 8, 8)
    out = m(x, torch.tensor([3, 900]), torch.tensor([0, 5]))
    assert out.shape == (2, 6, 8, 8)                  # learn_sigma: 2C
    assert torch.count_nonzero(out) == 0              # adaLN-Zero final layer
    assert _tiny(learn_sigma=False)(x, torch.tensor([1, 2]), torch.tensor([0, 1])).shape \
        == (2, 3, 8, 8)
    assert _tiny(class_dropout_prob=0).y_embedder.embedding_table.num_embeddings == 5
    assert _tiny().y_embedder.embedding_table.num_embeddings == 6


def test_unpatchify_inverts_patch_order():
    m = _tiny(learn_sigma=False)
    p, G, C = 2, 4, 3
    img = torch.randn(1, C, 8, 8)
    tokens = torch.zeros(1, G * G, p * p * C)
    for r in range(G):
        for c in range(G):
            patch = img[0, :, r * p:(r + 1) * p, c * p:(c + 1) * p]   # C p p
            tokens[0, r * G + c] = patch.permute(1, 2, 0).reshape(-1)  # (pr, pc, C)
    assert torch.equal(m.unpatchify(tokens), img)


def test_attention_matches_sdpa():
    torch.manual_seed(1)
    attn = _randomize(Attention(32, num_heads=4), std=0.2)
    x = torch.randn(2, 10, 32)
    qkv = F.linear(x, attn.qkv.weight, attn.qkv.bias).reshape(2, 10, 3, 4, 8)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    ref = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 10, 32)
    ref = F.linear(ref, attn.proj.weight, attn.proj.bias)
    torch.testing.assert_close(attn(x), ref, atol=1e-5, rtol=1e-5)


def _np_block(x, c, sd, heads):
    """numpy DiTBlock: adaLN-Zero, LayerNorm(no affine, 1e-6), attention,
    GELU(tanh)."""
    def lin(v, name):
        return v @ sd[name + ".weight"].T + sd[name + ".bias"]

    def ln(v):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + 1e-6)
    silu = c / (1 + np.exp(-c))
    mod = lin(silu, "adaLN_modulation.1")
    sm, cm, gm, sp, cp, gp = np.split(mod, 6, axis=1)
    B, N, D = x.shape
    hd = D // heads
    h = ln(x) * (1 + cm[:, None]) + sm[:, None]
    qkv = lin(h, "attn.qkv").reshape(B, N, 3, heads, hd)
    q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
    s = np.exp(s - s.max(-1, keepdims=True))
    s /= s.sum(-1, keepdims=True)
    a = (s @ v).transpose(0, 2, 1, 3).reshape(B, N, D)
    x = x + gm[:, None] * lin(a, "attn.proj")
    h = ln(x) * (1 + cp[:, None]) + sp[:, None]
    u = lin(h, "mlp.fc1")
    u = 0.5 * u * (1 + np.tanh(np.sqrt(2 / np.pi) * (u + 0.044715 * u ** 3)))
    return x + gp[:, None] * lin(u, "mlp.fc2")


def test_dit_block_matches_numpy():
    block = _randomize(DiTBlock(32, 4), std=0.15, seed=3)
    x, c = torch.randn(2, 6, 32), torch.randn(2, 32)
    sd = {k: v.double().numpy() for k, v in block.state_dict().items()}
    ref = _np_block(x.double().numpy(), c.double().numpy(), sd, 4)
    np.testing.assert_allclose(block(x, c).detach().numpy(), ref, atol=1e-4)


def test_forward_with_cfg_scale_one_is_conditional():
    m = _randomize(_tiny(input_size=8), seed=4).eval()
    x = torch.randn(2, 3, 8, 8)
    t = torch.tensor([500, 500, 500, 500])
    y = torch.tensor([1, 2, 5, 5])
    xx = torch.cat([x, x])
    with torch.no_grad():
        cond = m(x, t[:2], y[:2])
        uncond = m(x, t[:2], y[2:])
        out1 = m.forward_with_cfg(xx, t, y, 1.0)
        out3 = m.forward_with_cfg(xx, t, y, 3.0, cfg_channels=None)
    torch.testing.assert_close(out1[:2], cond, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out3[:2, :3], uncond[:, :3] + 3 * (cond[:, :3] - uncond[:, :3]),
                               atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out3[:2, 3:], cond[:, 3:], atol=1e-5, rtol=1e-5)


def test_export_dit_and_unet():
    m = _randomize(_tiny(), seed=5).eval()
    args = (torch.randn(2, 3, 8, 8), torch.tensor([999, 10]), torch.tensor([1, 5]))
    ep = torch.export.export(m, args, strict=False)
    graph = str(ep.graph)
    assert "scaled_dot_product" not in graph and "softmax" in graph
    torch.testing.assert_close(ep.module()(*args), m(*args))
    u = _randomize(small_unet(num_classes=3, class_dropout_prob=0.1), seed=6).eval()
    uargs = (torch.randn(2, 4, 16, 16), torch.tensor([999, 10]), torch.tensor([0, 3]))
    ep = torch.export.export(u, uargs, strict=False)
    assert "scaled_dot_product" not in str(ep.graph)
    torch.testing.assert_close(ep.module()(*uargs), u(*uargs))


# --------------------------------------------------------------------- UNet
def test_resblock_matches_functional():
    torch.manual_seed(7)
    rb = _randomize(ResBlock(16, 24, 32, norm_groups=8), std=0.2, seed=7).eval()
    x, emb = torch.randn(2, 16, 6, 6), torch.randn(2, 24)
    sd = rb.state_dict()
    h = F.conv2d(F.silu(F.group_norm(x, 8, sd["in_layers.0.weight"], sd["in_layers.0.bias"],
                                     1e-5)), sd["in_layers.2.weight"], sd["in_layers.2.bias"],
                 padding=1)
    h = h + F.linear(F.silu(emb), sd["emb_layers.1.weight"], sd["emb_layers.1.bias"])[:, :, None, None]
    h = F.conv2d(F.silu(F.group_norm(h, 8, sd["out_layers.0.weight"], sd["out_layers.0.bias"],
                                     1e-5)), sd["out_layers.3.weight"], sd["out_layers.3.bias"],
                 padding=1)
    ref = F.conv2d(x, sd["skip_connection.weight"], sd["skip_connection.bias"]) + h
    torch.testing.assert_close(rb(x, emb), ref, atol=1e-5, rtol=1e-5)
    fresh = ResBlock(32, 24)                          # zero out conv, identity skip
    x = torch.randn(1, 32, 4, 4)
    assert torch.equal(fresh(x, torch.randn(1, 24)), x)


def test_unet_attention_matches_sdpa():
    blk = _randomize(AttentionBlock(16, num_heads=2, norm_groups=4), std=0.3, seed=8)
    x = torch.randn(2, 16, 4, 4)
    sd = blk.state_dict()
    h = F.group_norm(x, 4, sd["norm.weight"], sd["norm.bias"], 1e-5)
    qkv = F.conv2d(h, sd["qkv.weight"], sd["qkv.bias"]).reshape(2, 2, 3, 8, 16)
    q, k, v = (qkv[:, :, i].transpose(-1, -2) for i in range(3))   # B H T hd
    a = F.scaled_dot_product_attention(q, k, v).transpose(-1, -2).reshape(2, 16, 4, 4)
    ref = x + F.conv2d(a, sd["proj_out.weight"], sd["proj_out.bias"])
    torch.testing.assert_close(blk(x), ref, atol=1e-5, rtol=1e-5)


def test_small_unet_shapes():
    u = small_unet().eval()
    x = torch.randn(2, 4, 16, 16)
    assert u(x, torch.tensor([1, 2])).shape == (2, 4, 16, 16)
    u2 = small_unet(learn_sigma=True, num_classes=10)
    assert u2(x, torch.tensor([1, 2]), torch.tensor([3, 4])).shape == (2, 8, 16, 16)
    assert any(isinstance(mod, AttentionBlock) for mod in u.modules())
    with pytest.raises(ValueError):
        u2(x, torch.tensor([1, 2]))
