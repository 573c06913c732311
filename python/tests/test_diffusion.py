"""Schedule, respacing, q_sample/posterior, DDPM/DDIM identities, CFG,
determinism and the callback."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from hqdm.diffusion import (GaussianDiffusion, SpacedDiffusion, create_diffusion,
                            linear_beta_schedule, space_timesteps)

SHAPE = (3, 2, 4, 4)


def test_linear_schedule():
    b = linear_beta_schedule(1000)
    assert b.dtype == np.float64 and b.shape == (1000,)
    assert b[0] == 1e-4 and b[-1] == pytest.approx(0.02, abs=1e-15)
    assert b[1] - b[0] == pytest.approx((0.02 - 1e-4) / 999)
    abar = np.prod(1 - b)                       # ᾱ_T of DDPM's schedule
    assert create_diffusion("").alphas_cumprod[-1] == pytest.approx(abar, rel=1e-12)
    assert abar == pytest.approx(4.036e-5, rel=1e-3)
    np.testing.assert_allclose(linear_beta_schedule(500), np.linspace(2e-4, 0.04, 500))


def test_space_timesteps_hand_derived():
    # 20 steps: one section of 1000, stride 999/19, rounded (no ties occur)
    assert sorted(space_timesteps(1000, [20])) == [
        0, 53, 105, 158, 210, 263, 315, 368, 421, 473, 526, 578, 631, 684, 736,
        789, 841, 894, 946, 999]
    # 250 steps: stride 999/249 = 333/83; exact rational rounding
    s250 = sorted(space_timesteps(1000, "250"))
    assert s250 == [round(Fraction(333 * k, 83)) for k in range(250)]
    assert s250[:5] == [0, 4, 8, 12, 16] and s250[41:43] == [164, 169]
    assert s250[-1] == 999 and len(s250) == 250
    # ddim25: smallest stride with exactly 25 elements is 40
    assert sorted(space_timesteps(1000, "ddim25")) == list(range(0, 1000, 40))
    # two sections of 50: [0, 49] and 50 + round(0, 24.5, 49) = 50, 74 (half
    # to even), 99
    assert sorted(space_timesteps(100, "2,3")) == [0, 49, 50, 74, 99]
    # uneven split: 10 -> sections of 4, 3, 3
    assert sorted(space_timesteps(10, [1, 1, 1])) == [0, 4, 7]
    with pytest.raises(ValueError):
        space_timesteps(1000, "ddim600")
    with pytest.raises(ValueError):
        space_timesteps(10, [6, 1])


def test_spaced_diffusion_keeps_alpha_bar():
    base = GaussianDiffusion(linear_beta_schedule(1000))
    d = create_diffusion("25")
    steps = sorted(space_timesteps(1000, "25"))
    assert d.num_timesteps == 25 and list(d.timestep_map) == steps
    np.testing.assert_allclose(d.alphas_cumprod, base.alphas_cumprod[steps], rtol=1e-12)
    assert isinstance(d, SpacedDiffusion)


def test_q_sample_and_posterior():
    d = create_diffusion("", learn_sigma=False)
    x0, eps = torch.randn(SHAPE), torch.randn(SHAPE)
    t = torch.tensor([0, 500, 999])
    ab = torch.tensor(np.cumprod(1 - linear_beta_schedule(1000))[[0, 500, 999]]).float()
    ref = ab.sqrt()[:, None, None, None] * x0 + (1 - ab).sqrt()[:, None, None, None] * eps
    torch.testing.assert_close(d.q_sample(x0, t, eps), ref)
    # posterior variance beta~_t = beta_t (1 - ab_{t-1}) / (1 - ab_t)
    b = linear_beta_schedule(1000)
    abar = np.cumprod(1 - b)
    assert d.posterior_variance[10] == pytest.approx(b[10] * (1 - abar[9]) / (1 - abar[10]))
    assert d.posterior_variance[0] == 0.0
    assert d.posterior_log_variance_clipped[0] == pytest.approx(np.log(d.posterior_variance[1]))


def test_learned_range_variance_endpoints():
    d = create_diffusion("", learn_sigma=True)
    x = torch.randn(SHAPE)
    t = torch.tensor([1, 300, 999])
    eps = torch.zeros(SHAPE)
    for v, arr in ((1.0, np.log(d.betas)), (-1.0, d.posterior_log_variance_clipped)):
        out = d.p_mean_variance(torch.cat([eps, torch.full(SHAPE, v)], 1), x, t)
        np.testing.assert_allclose(out["log_variance"][:, 0, 0, 0].numpy(),
                                   arr[[1, 300, 999]], rtol=1e-5)


class Oracle(torch.nn.Module):
    """Predicts the exact ε for a known x0 (given the ORIGINAL timestep),
    and optionally v channels."""

    def __init__(self, x0, learn_sigma=False, v=0.0):
        super().__init__()
        self.x0, self.learn_sigma, self.v = x0, learn_sigma, v
        self.abar = torch.tensor(np.cumprod(1 - linear_beta_schedule(1000)))
        self.calls = 0

    def forward(self, x, t, y=None):
        self.calls += 1
        ab = self.abar[t].reshape(-1, 1, 1, 1)
        x0 = self.x0.repeat(x.shape[0] // self.x0.shape[0], 1, 1, 1)
        eps = ((x.double() - ab.sqrt() * x0.double()) / (1 - ab).sqrt()).float()
        if self.learn_sigma:
            eps = torch.cat([eps, torch.full_like(eps, self.v)], 1)
        return eps


@pytest.mark.parametrize("respacing", ["", "25", "ddim10"])
def test_ddim_eta0_with_exact_eps_reconstructs_x0(respacing):
    x0 = torch.rand(SHAPE) * 2 - 1
    d = create_diffusion(respacing, learn_sigma=False)
    out = d.ddim_sample(Oracle(x0), SHAPE, eta=0.0, seed=3)
    torch.testing.assert_close(out, x0, atol=2e-4, rtol=0)


def test_ddpm_with_exact_eps_reconstructs_x0():
    # the last step (t=0) has posterior coefficients (1, 0) and no noise
    x0 = torch.rand(SHAPE) * 2 - 1
    d = create_diffusion("50", learn_sigma=True)
    out = d.ddpm_sample(Oracle(x0, learn_sigma=True, v=0.3), SHAPE, seed=4)
    torch.testing.assert_close(out, x0, atol=2e-4, rtol=0)


def test_training_loss_zero_for_exact_eps():
    x0 = torch.rand(SHAPE) * 2 - 1
    d = create_diffusion("", learn_sigma=False)
    t = torch.tensor([0, 10, 999])
    terms = d.training_losses(Oracle(x0), x0, t, noise=torch.randn(SHAPE))
    assert terms["loss"].abs().max() < 1e-6
    d2 = create_diffusion("", learn_sigma=True)
    terms = d2.training_losses(Oracle(x0, learn_sigma=True), x0, t, noise=torch.randn(SHAPE))
    assert terms["mse"].abs().max() < 1e-6 and torch.isfinite(terms["vb"]).all()
    assert (terms["vb"] >= -1e-5).all()


class ClassModel(torch.nn.Module):
    """ε depends on x, t and the class; 2C channels."""
    num_classes = 4

    def forward(self, x, t, y):
        s = (y.float() + 1)[:, None, None, None] * 0.1
        eps = torch.tanh(x) * s + 1e-4 * t.float()[:, None, None, None]
        return torch.cat([eps, torch.tanh(x) * 0.5], 1)


def test_cfg_scale_one_equals_conditional_and_callback():
    d = create_diffusion("10", learn_sigma=True)
    y = torch.tensor([0, 2, 3])
    plain = d.ddpm_sample(ClassModel(), SHAPE, y, seed=5)
    seen = []

    def cb(i, t, inputs, out):
        seen.append((i, t, [a.clone() for a in inputs], out.clone()))
    guided = d.ddpm_sample(ClassModel(), SHAPE, y, cfg_scale=1.0, seed=5, callback=cb)
    torch.testing.assert_close(guided, plain, atol=1e-6, rtol=1e-5)
    assert [s[0] for s in seen] == list(range(10))
    assert [s[1] for s in seen] == sorted(space_timesteps(1000, [10]), reverse=True)
    x_in, t_in, y_in = seen[3][2]
    assert x_in.shape == (6,) + SHAPE[1:] and torch.equal(x_in[:3], x_in[3:])
    assert y_in.tolist() == [0, 2, 3, 4, 4, 4]          # null class = num_classes
    assert (t_in == seen[3][1]).all() and t_in.dtype == torch.int64


def test_cfg_guidance_formula():
    d = create_diffusion("5", learn_sigma=True)
    y = torch.tensor([1, 2, 0])
    m = ClassModel()
    x = torch.randn(SHAPE)
    t = torch.full((3,), 2, dtype=torch.int64)
    for k in (None, 1):
        g = d._model_eps(m, x, t, y, 4.0, 4, k, 0, None)
        t_model = torch.from_numpy(d.timestep_map)[t]
        c, u = m(x, t_model, y), m(x, t_model, torch.full_like(y, 4))
        kk = 2 if k is None else k
        torch.testing.assert_close(g[:, :kk], u[:, :kk] + 4 * (c[:, :kk] - u[:, :kk]))
        torch.testing.assert_close(g[:, kk:], c[:, kk:])


def test_determinism_and_provided_noise():
    d = create_diffusion("8", learn_sigma=True)
    y = torch.tensor([0, 1, 2])
    a = d.ddpm_sample(ClassModel(), SHAPE, y, cfg_scale=2.0, seed=11)
    b = d.ddpm_sample(ClassModel(), SHAPE, y, cfg_scale=2.0, seed=11)
    assert torch.equal(a, b)
    assert not torch.equal(a, d.ddpm_sample(ClassModel(), SHAPE, y, cfg_scale=2.0, seed=12))
    # the same draws supplied explicitly: x_T first, then one per step
    g = torch.Generator().manual_seed(11)
    xT = torch.randn(SHAPE, generator=g)
    zs = [torch.randn(SHAPE, generator=g) for _ in range(8)]
    c = d.ddpm_sample(ClassModel(), SHAPE, y, cfg_scale=2.0, noise=xT, step_noises=zs)
    assert torch.equal(a, c)
    e1 = d.ddim_sample(ClassModel(), SHAPE, y, eta=0.0, noise=xT, seed=1)
    e2 = d.ddim_sample(ClassModel(), SHAPE, y, eta=0.0, noise=xT, seed=2)
    assert torch.equal(e1, e2)                          # η=0 ignores step noise
    e3 = d.ddim_sample(ClassModel(), SHAPE, y, eta=1.0, noise=xT, seed=2)
    assert not torch.equal(e1, e3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")
def test_sampling_on_cuda_matches_cpu():
    d = create_diffusion("10", learn_sigma=True)
    y = torch.tensor([0, 1, 2])
    a = d.ddpm_sample(ClassModel(), SHAPE, y, cfg_scale=1.5, seed=1)
    b = d.ddpm_sample(ClassModel().cuda(), SHAPE, y, cfg_scale=1.5, seed=1, device="cuda")
    torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=1e-4)
