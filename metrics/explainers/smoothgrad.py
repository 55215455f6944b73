"""SmoothGrad: the mean signed gradient over Gaussian-perturbed copies, batch-invariant by default."""
from __future__ import annotations

import dataclasses
from typing import Literal

import captum.attr
import torch

from xaibench.metrics.explainers.base import Explainer, in_chunks, per_sample_noise
from xaibench.metrics.explainers.captum_adapter import quiet_captum
from xaibench.ranges import NonNegativeFloat, PositiveInt, Seed
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class SmoothGrad(Explainer):
    """SmoothGrad (Smilkov et al. 2017): Saliency averaged over x + σ·ε, ε ~ N(0, 1) per sample.

    The default backend draws ε from per-sample generators seeded by (seed, index_i), so a sample's
    map does not depend on its batch; ``backend="captum"`` runs captum's NoiseTunnel in a forked,
    seeded RNG instead. On a linear model every noisy gradient is W_c:

    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> A = SmoothGrad(model).explain(torch.rand(2, 1, 2, 2), torch.tensor([0, 2]), index=torch.tensor([7, 8]))
    >>> torch.allclose(A.flatten(1), model[1].weight[[0, 2]])
    True
    """

    name = "smoothgrad"
    version = "1"
    stochastic = True
    mean_shift_invariant = True  # the noise is absolute, in input units

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_samples: PositiveInt = 16
        sigma: NonNegativeFloat = 0.15  # 0.15 · the value range, which is 1 for inputs in [0, 1]
        seed: Seed = 0
        internal_batch_size: PositiveInt = 64  # noisy copies per forward/backward pass
        backend: Literal["per_sample", "captum"] = "per_sample"

    def attribute(self, x: torch.Tensor, target: torch.Tensor, index: torch.Tensor | None) -> torch.Tensor:
        cfg = self.cfg
        if cfg.backend == "captum":
            devices = [x.device] if x.device.type == "cuda" else []
            with torch.random.fork_rng(devices=devices), quiet_captum():
                torch.manual_seed(cfg.seed)
                return captum.attr.NoiseTunnel(captum.attr.Saliency(self.model)).attribute(
                    x.detach().requires_grad_(True), nt_type="smoothgrad", nt_samples=cfg.n_samples,
                    nt_samples_batch_size=cfg.internal_batch_size, stdevs=cfg.sigma, target=target, abs=False)
        noise = per_sample_noise(torch.randn, (cfg.n_samples, *x.shape[1:]), len(x), cfg.seed, index).to(x.device)
        noisy = (x.detach()[:, None] + cfg.sigma * noise).flatten(0, 1)
        targets = target.repeat_interleave(cfg.n_samples)
        saliency = captum.attr.Saliency(self.model)
        grads = in_chunks(lambda xs, ts: saliency.attribute(xs.detach().requires_grad_(True), target=ts, abs=False),
                          cfg.internal_batch_size, noisy, targets)
        return grads.view(len(x), cfg.n_samples, *x.shape[1:]).mean(1)
