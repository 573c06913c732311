"""Gaussian diffusion for DiT-style ε-prediction models: the noise schedule,
timestep respacing, q_sample and the training loss, and DDPM / DDIM sampling
with classifier-free guidance. The formulas are guided_diffusion's (which
DiT uses); the code is this project's.

Schedule. `linear_beta_schedule(T)`: β_t = linspace(1e-4·1000/T,
0.02·1000/T, T) in float64 (1e-4..0.02 for T = 1000). All per-step
coefficients are float64 numpy arrays, gathered and cast to float32 per step.

Respacing. `space_timesteps(T, counts)` chooses which of the T original
steps a shorter sampler visits, and `SpacedDiffusion` rebuilds the betas
over just those steps so that ᾱ is unchanged on them:
β'_i = 1 - ᾱ[s_i] / ᾱ[s_{i-1}] (ᾱ[s_{-1}] = 1). The model always sees the
ORIGINAL timestep s_i (DiT passes it as int64, rescale_timesteps=False).

Variance. For a learn_sigma model (2C output channels) the second half v
gives log σ² = f·log β_t + (1-f)·log β̃_t with f = (v + 1)/2 and β̃_t the
posterior variance (clipped at t = 0 to β̃_1): "learned_range". Otherwise
"fixed_small" (σ² = β̃_t) or "fixed_large" (σ² = β_t, β̃_1 at t = 0).

Classifier-free guidance. With cfg_scale s != None the model is called once
per step on the batch [x; x] with timesteps [t; t] and classes
[y; null] (null = num_classes), and ε = ε_u + s·(ε_c - ε_u) on the guided
channels: all C ε channels by default (cfg_channels=None), or the first k
(cfg_channels=3 reproduces DiT's forward_with_cfg, which guides 3 of the 4
latent channels). The variance channels are the conditional half's.

Determinism. Noise (x_T and each step's) is drawn from a CPU
torch.Generator (from `generator`, or `seed`) in a fixed order and moved to
the device, so a seed gives the same trajectory on CPU and CUDA up to the
model's own numerics. `noise` (x_T) and `step_noises` (one tensor per step,
or a callable (step_index, shape) -> tensor) override the draws.

Callback. `callback(step_index, t, model_inputs, model_output)` is called
after every model call, with step_index 0 for the first (noisiest) step, t
the original timestep (int), model_inputs the tuple (x, t, y) exactly as the
model got it (the CFG-concatenated batch; y is None for an unconditional
model) and model_output the raw output (before guidance).
"""

import math

import numpy as np
import torch

__all__ = ["linear_beta_schedule", "space_timesteps", "GaussianDiffusion",
           "SpacedDiffusion", "create_diffusion", "normal_kl",
           "discretized_gaussian_log_likelihood"]

MODEL_VAR_TYPES = ("learned_range", "fixed_small", "fixed_large")


def linear_beta_schedule(num_timesteps=1000, beta_start=1e-4, beta_end=0.02):
    """Linear β schedule (float64). The end points are scaled by
    1000 / num_timesteps so other step counts keep the same overall noise
    (guided_diffusion's "linear" schedule)."""
    scale = 1000.0 / num_timesteps
    return np.linspace(scale * beta_start, scale * beta_end, num_timesteps,
                       dtype=np.float64)


def space_timesteps(num_timesteps, section_counts):
    """The set of original timesteps a respaced sampler uses.

    - "ddimN": the smallest stride k such that range(0, T, k) has exactly N
      elements; the set is range(0, T, k) (so "ddim25" of 1000 is
      0, 40, ..., 960). ValueError if no stride gives N.
    - otherwise (an int, a comma-separated string such as "10,15,20", or a
      list of ints): [0, T) is cut into len(counts) sections of equal size,
      the first T % len(counts) one step longer; section i of size L starting
      at a gets counts[i] steps a + round(j·(L-1)/(counts[i]-1)),
      j = 0..counts[i]-1 (a single step: a). Python's round (half to even);
      ValueError if a section is shorter than its count.
    "" or None means all steps."""
    if section_counts is None or section_counts == "":
        return set(range(num_timesteps))
    if isinstance(section_counts, str):
        if section_counts.startswith("ddim"):
            desired = int(section_counts[len("ddim"):])
            for stride in range(1, num_timesteps):
                if len(range(0, num_timesteps, stride)) == desired:
                    return set(range(0, num_timesteps, stride))
            raise ValueError("cannot create exactly {} steps with an integer "
                             "stride".format(desired))
        section_counts = [int(x) for x in section_counts.split(",")]
    elif isinstance(section_counts, int):
        section_counts = [section_counts]
    size_per = num_timesteps // len(section_counts)
    extra = num_timesteps % len(section_counts)
    start = 0
    steps = []
    for i, count in enumerate(section_counts):
        size = size_per + (1 if i < extra else 0)
        if size < count:
            raise ValueError("cannot divide a section of {} steps into {}"
                             .format(size, count))
        stride = 1 if count <= 1 else (size - 1) / (count - 1)
        cur = 0.0
        for _ in range(count):
            steps.append(start + round(cur))
            cur += stride
        start += size
    return set(steps)


def normal_kl(mean1, logvar1, mean2, logvar2):
    """KL(N(mean1, e^logvar1) || N(mean2, e^logvar2)), elementwise."""
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2)
                  + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _approx_std_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                   * (x + 0.044715 * torch.pow(x, 3))))


def discretized_gaussian_log_likelihood(x, means, log_scales):
    """Log-likelihood of data x in [-1, 1] quantised to 256 levels (bins of
    width 2/255) under N(means, e^(2·log_scales)); the end bins extend to
    ±infinity."""
    centered = x - means
    inv_stdv = torch.exp(-log_scales)
    cdf_plus = _approx_std_normal_cdf(inv_stdv * (centered + 1.0 / 255.0))
    cdf_min = _approx_std_normal_cdf(inv_stdv * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    return torch.where(x < -0.999, log_cdf_plus,
                       torch.where(x > 0.999, log_one_minus_cdf_min, log_delta))


def _gather(arr, t, ndim):
    """arr[t] (numpy float64, t an int64 tensor [N]) as float32 [N, 1, ...]."""
    out = torch.from_numpy(arr).to(t.device)[t].float()
    return out.reshape(out.shape + (1,) * (ndim - 1))


def _mean_flat(x):
    return x.mean(dim=tuple(range(1, x.ndim)))


class GaussianDiffusion:
    """Diffusion over len(betas) steps. Step indices t are 0-based positions
    in this (possibly respaced) schedule; `timestep_map[t]` is what the model
    is given."""

    def __init__(self, betas, model_var_type="learned_range", timestep_map=None):
        if model_var_type not in MODEL_VAR_TYPES:
            raise ValueError("model_var_type must be one of {}".format(MODEL_VAR_TYPES))
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or not ((betas > 0).all() and (betas <= 1).all()):
            raise ValueError("betas must be a 1-D array in (0, 1]")
        self.model_var_type = model_var_type
        self.betas = betas
        self.num_timesteps = T = len(betas)
        self.timestep_map = np.asarray(
            range(T) if timestep_map is None else timestep_map, dtype=np.int64)

        alphas = 1.0 - betas
        self.alphas_cumprod = ac = np.cumprod(alphas)
        self.alphas_cumprod_prev = acp = np.append(1.0, ac[:-1])
        self.alphas_cumprod_next = np.append(ac[1:], 0.0)
        self.sqrt_alphas_cumprod = np.sqrt(ac)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - ac)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / ac)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / ac - 1)
        # q(x_{t-1} | x_t, x_0)
        self.posterior_variance = betas * (1.0 - acp) / (1.0 - ac)
        pv = self.posterior_variance
        self.posterior_log_variance_clipped = np.log(
            np.append(pv[1], pv[1:]) if T > 1 else np.maximum(pv, 1e-20))
        self.posterior_mean_coef1 = betas * np.sqrt(acp) / (1.0 - ac)
        self.posterior_mean_coef2 = (1.0 - acp) * np.sqrt(alphas) / (1.0 - ac)

    # ---------------------------------------------------------------- forward
    def q_sample(self, x_start, t, noise=None, generator=None):
        """x_t = sqrt(ᾱ_t)·x_0 + sqrt(1-ᾱ_t)·ε."""
        if noise is None:
            noise = torch.randn(x_start.shape, generator=generator,
                                dtype=x_start.dtype).to(x_start.device)
        n = x_start.ndim
        return (_gather(self.sqrt_alphas_cumprod, t, n) * x_start
                + _gather(self.sqrt_one_minus_alphas_cumprod, t, n) * noise)

    def q_posterior_mean_variance(self, x_start, x_t, t):
        n = x_t.ndim
        mean = (_gather(self.posterior_mean_coef1, t, n) * x_start
                + _gather(self.posterior_mean_coef2, t, n) * x_t)
        return (mean, _gather(self.posterior_variance, t, n),
                _gather(self.posterior_log_variance_clipped, t, n))

    def predict_xstart_from_eps(self, x_t, t, eps):
        n = x_t.ndim
        return (_gather(self.sqrt_recip_alphas_cumprod, t, n) * x_t
                - _gather(self.sqrt_recipm1_alphas_cumprod, t, n) * eps)

    def predict_eps_from_xstart(self, x_t, t, pred_xstart):
        n = x_t.ndim
        return ((_gather(self.sqrt_recip_alphas_cumprod, t, n) * x_t - pred_xstart)
                / _gather(self.sqrt_recipm1_alphas_cumprod, t, n))

    def p_mean_variance(self, model_output, x, t, clip_denoised=False):
        """From an ε-prediction (plus v channels if learned_range): the
        reverse-step mean, variance, log variance and predicted x_0."""
        C = x.shape[1]
        n = x.ndim
        if self.model_var_type == "learned_range":
            if model_output.shape[1] != 2 * C:
                raise ValueError("learned_range needs 2*{} output channels, got {}"
                                 .format(C, model_output.shape[1]))
            eps, v = model_output[:, :C], model_output[:, C:]
            min_log = _gather(self.posterior_log_variance_clipped, t, n)
            max_log = _gather(np.log(self.betas), t, n)
            frac = (v + 1) / 2
            log_var = frac * max_log + (1 - frac) * min_log
            var = torch.exp(log_var)
        else:
            eps = model_output[:, :C]
            if self.model_var_type == "fixed_small":
                var_arr = self.posterior_variance
                log_arr = self.posterior_log_variance_clipped
            else:
                var_arr = np.append(self.posterior_variance[1], self.betas[1:])
                log_arr = np.log(var_arr)
            var = _gather(var_arr, t, n).expand_as(x)
            log_var = _gather(log_arr, t, n).expand_as(x)
        pred_xstart = self.predict_xstart_from_eps(x, t, eps)
        if clip_denoised:
            pred_xstart = pred_xstart.clamp(-1, 1)
        mean, _, _ = self.q_posterior_mean_variance(pred_xstart, x, t)
        return {"mean": mean, "variance": var, "log_variance": log_var,
                "pred_xstart": pred_xstart, "eps": eps}

    # --------------------------------------------------------------- training
    def _vb_terms_bpd(self, model_output, x_start, x_t, t):
        true_mean, _, true_log_var = self.q_posterior_mean_variance(x_start, x_t, t)
        out = self.p_mean_variance(model_output, x_t, t)
        kl = _mean_flat(normal_kl(true_mean, true_log_var, out["mean"],
                                  out["log_variance"])) / math.log(2.0)
        nll = -discretized_gaussian_log_likelihood(
            x_start, out["mean"], 0.5 * out["log_variance"])
        nll = _mean_flat(nll) / math.log(2.0)
        return torch.where(t == 0, nll, kl)

    def training_losses(self, model, x_start, t, y=None, noise=None, generator=None):
        """Per-sample losses {"loss", "mse", "vb"?}: "mse" is the ε-MSE; for
        learned_range, "vb" is the variational bound term (bits/dim) with the
        mean's gradient stopped, scaled by num_timesteps / 1000 (DiT's
        RESCALED_MSE), and loss = mse + vb."""
        if noise is None:
            noise = torch.randn(x_start.shape, generator=generator,
                                dtype=x_start.dtype).to(x_start.device)
        x_t = self.q_sample(x_start, t, noise=noise)
        model_t = torch.from_numpy(self.timestep_map).to(t.device)[t]
        out = model(x_t, model_t, y)
        C = x_start.shape[1]
        terms = {"mse": _mean_flat((noise - out[:, :C]) ** 2)}
        if self.model_var_type == "learned_range":
            frozen = torch.cat([out[:, :C].detach(), out[:, C:]], dim=1)
            terms["vb"] = (self._vb_terms_bpd(frozen, x_start, x_t, t)
                           * (self.num_timesteps / 1000.0))
            terms["loss"] = terms["mse"] + terms["vb"]
        else:
            terms["loss"] = terms["mse"]
        return terms

    # --------------------------------------------------------------- sampling
    def _model_eps(self, model, x, t, y, cfg_scale, null_class, cfg_channels,
                   step_index, callback):
        """One model call (CFG-batched when cfg_scale is not None); returns
        the (guided) output for the batch of x."""
        n = x.shape[0]
        t_model = torch.from_numpy(self.timestep_map).to(x.device)[t]
        if cfg_scale is not None:
            if y is None or null_class is None:
                raise ValueError("classifier-free guidance needs y and null_class")
            x_in = torch.cat([x, x], dim=0)
            t_in = torch.cat([t_model, t_model], dim=0)
            y_in = torch.cat([y, torch.full_like(y, null_class)], dim=0)
        else:
            x_in, t_in, y_in = x, t_model, y
        out = model(x_in, t_in, y_in)
        if callback is not None:
            callback(step_index, int(t_model[0]), (x_in, t_in, y_in), out)
        if cfg_scale is None:
            return out
        cond, uncond = out[:n], out[n:]
        k = x.shape[1] if cfg_channels is None else cfg_channels
        guided = uncond[:, :k] + cfg_scale * (cond[:, :k] - uncond[:, :k])
        return torch.cat([guided, cond[:, k:]], dim=1)

    def _noise_source(self, shape, device, generator, seed, step_noises):
        if generator is None:
            generator = torch.Generator().manual_seed(0 if seed is None else seed)

        def draw(step_index):
            if step_noises is not None:
                z = (step_noises(step_index, shape) if callable(step_noises)
                     else step_noises[step_index])
                return torch.as_tensor(z, dtype=torch.float32).to(device)
            return torch.randn(shape, generator=generator).to(device)
        return generator, draw

    @torch.no_grad()
    def sample(self, model, shape, y=None, *, sampler="ddpm", eta=0.0,
               cfg_scale=None, null_class=None, cfg_channels=None,
               clip_denoised=False, noise=None, step_noises=None,
               generator=None, seed=None, device="cpu", callback=None,
               return_trajectory=False):
        """Run the reverse process from x_T to x_0.

        sampler "ddpm": ancestral sampling with the model's variance;
        "ddim": DDIM with parameter eta (0 = deterministic). shape is the
        sample batch's shape [N, C, H, W] (the model sees 2N rows with CFG).
        null_class defaults to model.num_classes when the model has one.
        Returns x_0, or (x_0, [x_T, ..., x_0]) with return_trajectory."""
        if sampler not in ("ddpm", "ddim"):
            raise ValueError("sampler must be 'ddpm' or 'ddim'")
        device = torch.device(device)
        if null_class is None and cfg_scale is not None:
            null_class = getattr(model, "num_classes", None)
        if y is not None:
            y = torch.as_tensor(y, dtype=torch.int64).to(device)
        generator, draw = self._noise_source(tuple(shape), device, generator,
                                             seed, step_noises)
        if noise is not None:
            x = torch.as_tensor(noise, dtype=torch.float32).to(device)
        else:
            x = torch.randn(tuple(shape), generator=generator).to(device)
        trajectory = [x] if return_trajectory else None
        for i, step in enumerate(range(self.num_timesteps - 1, -1, -1)):
            t = torch.full((x.shape[0],), step, dtype=torch.int64, device=device)
            out = self._model_eps(model, x, t, y, cfg_scale, null_class,
                                  cfg_channels, i, callback)
            pm = self.p_mean_variance(out, x, t, clip_denoised=clip_denoised)
            z = draw(i)
            if sampler == "ddpm":
                x = pm["mean"] + (step != 0) * torch.exp(0.5 * pm["log_variance"]) * z
            else:
                x = self._ddim_update(x, t, pm["pred_xstart"], eta, z, step)
            if return_trajectory:
                trajectory.append(x)
        return (x, trajectory) if return_trajectory else x

    def _ddim_update(self, x, t, pred_xstart, eta, z, step):
        n = x.ndim
        eps = self.predict_eps_from_xstart(x, t, pred_xstart)
        ab = _gather(self.alphas_cumprod, t, n)
        ab_prev = _gather(self.alphas_cumprod_prev, t, n)
        sigma = (eta * torch.sqrt((1 - ab_prev) / (1 - ab))
                 * torch.sqrt(1 - ab / ab_prev))
        mean = (pred_xstart * torch.sqrt(ab_prev)
                + torch.sqrt((1 - ab_prev - sigma ** 2).clamp(min=0)) * eps)
        return mean + (step != 0) * sigma * z

    def ddpm_sample(self, model, shape, y=None, **kwargs):
        return self.sample(model, shape, y, sampler="ddpm", **kwargs)

    def ddim_sample(self, model, shape, y=None, eta=0.0, **kwargs):
        return self.sample(model, shape, y, sampler="ddim", eta=eta, **kwargs)


class SpacedDiffusion(GaussianDiffusion):
    """A diffusion that visits only `use_timesteps` of base_betas' steps,
    with β'_i = 1 - ᾱ[s_i]/ᾱ[s_{i-1}] so ᾱ is preserved on those steps."""

    def __init__(self, use_timesteps, base_betas, model_var_type="learned_range"):
        base = GaussianDiffusion(base_betas, model_var_type="fixed_small")
        self.use_timesteps = sorted(set(use_timesteps))
        self.original_num_steps = len(base_betas)
        last = 1.0
        betas = []
        for s in self.use_timesteps:
            ac = base.alphas_cumprod[s]
            betas.append(1.0 - ac / last)
            last = ac
        super().__init__(np.array(betas), model_var_type=model_var_type,
                         timestep_map=self.use_timesteps)


def create_diffusion(timestep_respacing="", learn_sigma=True, diffusion_steps=1000,
                     model_var_type=None):
    """DiT's create_diffusion: linear schedule over diffusion_steps, respaced
    by `timestep_respacing` (see space_timesteps; "" = all steps, an int N
    = N evenly spaced steps), learned_range variance when learn_sigma else
    fixed_small (unless model_var_type is given)."""
    betas = linear_beta_schedule(diffusion_steps)
    if model_var_type is None:
        model_var_type = "learned_range" if learn_sigma else "fixed_small"
    if timestep_respacing in ("", None):
        timestep_respacing = [diffusion_steps]
    return SpacedDiffusion(space_timesteps(diffusion_steps, timestep_respacing),
                           betas, model_var_type=model_var_type)
