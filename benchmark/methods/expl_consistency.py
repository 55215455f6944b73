"""Explanation-consistency reweighting (Wu et al. 2024): weight each sample by how much its Grad-CAM changes
under a background-only adversarial perturbation (TRAINING_METHODS.md §5)."""
from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.errors import ConfigError
from xaibench.methods.base import TrainingMethod
from xaibench.methods.hooks import capture_outputs, eval_mode
from xaibench.methods.sgt import lowest_k
from xaibench.metrics.explainers.cam import CAMExplainer, cam_layer_of, expand_like, upsample
from xaibench.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt, Range, UnitInterval
from xaibench.registries import EXPLAINERS, METHODS

Sim = Literal["cosine", "l1", "pearson", "ssim"]


def _safe_div(a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    return a / torch.where(d != 0, d, torch.ones_like(d))


def similarity(H: torch.Tensor, H_hat: torch.Tensor, sim: Sim = "cosine") -> torch.Tensor:
    """Per-sample similarity of two maps in [0, 1] (N×spatial), before clamping: cosine of the flattened maps,
    ``l1`` = 1 - ½‖H/ΣH - Ĥ/ΣĤ‖₁, Pearson correlation, or mean SSIM (11×11 Gaussian window, σ 1.5, 2-D maps).

    >>> H, G = torch.tensor([[1., 0.]]), torch.tensor([[1., 1.]])
    >>> [round(similarity(H, G, s).item(), 4) for s in ("cosine", "l1", "pearson")]
    [0.7071, 0.5, 0.0]
    """
    a, b = H.flatten(1), H_hat.flatten(1)
    if sim == "cosine":
        return _safe_div((a * b).sum(1), a.norm(dim=1) * b.norm(dim=1))
    if sim == "l1":
        return 1 - 0.5 * (_safe_div(a, a.sum(1, keepdim=True)) - _safe_div(b, b.sum(1, keepdim=True))).abs().sum(1)
    if sim == "pearson":
        a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
        return _safe_div((a * b).sum(1), a.norm(dim=1) * b.norm(dim=1))
    return ssim(H, H_hat)


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004) of N×H×W maps: Gaussian window 11, σ 1.5, K1 = 0.01, K2 = 0.03, zero padding."""
    if a.dim() != 3:
        raise ConfigError(f"expl_consistency: sim=ssim needs 2-D maps, got shape {tuple(a.shape)}")
    coords = torch.arange(11, dtype=a.dtype, device=a.device) - 5
    g = torch.exp(-coords**2 / (2 * 1.5**2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None]
    blur = lambda t: F.conv2d(t[:, None], window, padding=5)[:, 0]  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def consistency(H: torch.Tensor, H_hat: torch.Tensor, sim: Sim = "cosine") -> tuple[torch.Tensor, torch.Tensor]:
    """(E = clamp(sim, 0, 1) per sample, zero-map flags); a sample with an all-zero map gets E = 0.

    >>> consistency(torch.tensor([[1., 0.], [0., 0.]]), torch.tensor([[1., 1.], [1., 0.]]))[0].tolist()
    [0.7071067690849304, 0.0]
    """
    zero = (H.flatten(1).abs().amax(1) == 0) | (H_hat.flatten(1).abs().amax(1) == 0)
    E = similarity(H, H_hat, sim).clamp(0, 1)
    return torch.where(zero, torch.zeros_like(E), E), zero


Weighting = Literal["linear", "rank"]


def average_ranks(v: torch.Tensor) -> torch.Tensor:
    """Ranks 0..n-1 of ``v`` (ascending), tied values sharing their average rank.

    >>> average_ranks(torch.tensor([0.3, 0.1, 0.3, 0.0])).tolist()
    [2.5, 1.0, 2.5, 0.0]
    """
    order = v.argsort(stable=True)
    _, inverse, counts = torch.unique_consecutive(v[order], return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).to(torch.float64)
    average = (ends - counts + ends - 1) / 2
    ranks = torch.empty(len(v), dtype=torch.float64, device=v.device)
    ranks[order] = average[inverse]
    return ranks.to(v.dtype)


def bounded_weights(v: torch.Tensor, degenerate: torch.Tensor, mix: float = 0.5, clip: float = 4.0,
                    weighting: Weighting = "rank") -> torch.Tensor:
    """Sample weights of mean 1 from v = 1 - E [D]: degenerate samples (an all-zero map) get the neutral weight 1;
    the others w = (1 - mix) + mix·r, renormalized to mean 1 among them, with r = 2·rank / (m - 1) (``rank``, ties
    averaged: w in [1 - mix, 1 + mix]) or r = min(v / mean(v), clip) (``linear``). ``linear, mix=1, clip=inf``:
    the paper's v / mean(v).

    >>> v, none = torch.tensor([0.0, 0.1, 0.2, 9.7]), torch.zeros(4, dtype=torch.bool)
    >>> [round(w, 4) for w in bounded_weights(v, none, weighting="linear").tolist()]  # r = (0, .04, .08, 3.88)
    [0.5, 0.52, 0.54, 2.44]
    >>> bounded_weights(v, torch.tensor([False, False, False, True])).tolist()  # rank: r = (0, 1, 2)
    [0.5, 1.0, 1.5, 1.0]
    """
    w = torch.ones_like(v)
    ok = ~degenerate
    m = int(ok.sum())
    if m == 0:
        return w
    vo = v[ok]
    if weighting == "rank":
        r = 2 * average_ranks(vo) / (m - 1) if m > 1 else torch.ones_like(vo)
    else:
        mean = vo.mean()
        r = (vo / mean).clamp(max=clip) if mean > 0 else torch.ones_like(vo)
    wo = (1 - mix) + mix * r
    w[ok] = wo / wo.mean()
    return w


def effective_sample_size(w: torch.Tensor) -> float:
    """(Σw)² / Σw² (Kish): n for equal weights, 1 when one sample carries all.

    >>> effective_sample_size(torch.ones(10)), effective_sample_size(torch.tensor([1.0, 0.0, 0.0]))
    (10.0, 1.0)
    """
    return (w.sum() ** 2 / w.pow(2).sum()).item() if w.abs().sum() > 0 else 0.0


def differentiable_grad_cam(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """minmax(up(ReLU(Σ_k α_k A_k))) at the model's cam_layer, N×spatial, differentiable w.r.t. x (create_graph).

    The values match the ``grad_cam`` explainer's map (its float32 version, one channel)."""
    cam_layer_of(model)  # a clear error if the model declares none
    with capture_outputs(model, [model.cam_layer]) as captured:
        logits = model(x)
    A = captured[model.cam_layer]
    (grads,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), A, create_graph=True)
    cam = F.relu((expand_like(grads.flatten(2).mean(2), A) * A).sum(1, keepdim=True))
    flat = upsample(cam, x.shape[2:])[:, 0].flatten(1)
    lo, hi = flat.amin(1, keepdim=True), flat.amax(1, keepdim=True)
    out = torch.where(hi > lo, _safe_div(flat - lo, hi - lo), (lo > 0).to(flat.dtype).expand_as(flat))
    return out.view(len(x), *x.shape[2:])


@METHODS.register
class ExplanationConsistency(TrainingMethod):
    """Explanation-consistency reweighting (Wu et al. 2024): CE weighted by 1 - similarity of Grad-CAMs of x and a background-attacked x.

    >>> ExplanationConsistency().cfg.n_steps, ExplanationConsistency({"warmup": 0.5}).warmup_epochs(4)
    (5, 2)
    """

    name = "expl_consistency"
    version = "2"
    cost = "1x ERM + (n_steps + 2)x per reweighting pass (about 7 ERM epochs at the defaults)"
    health_ranges = {"ess_fraction": (0.1, 1.0), "degenerate_share": (0.0, 0.5),
                     "perturbation_fraction": (0.1, 1.0 + 1e-6)}
    _data: Batch | None = None  # the training set, while fit runs
    weights: torch.Tensor | None = None  # per dataset index; None = unit weights
    flagged = 0  # samples whose last CAM was all zero (E = 0)

    @dataclasses.dataclass(frozen=True)
    class Config:
        warmup: UnitInterval = 0.2  # fraction of the epochs trained with unit weights (at least one epoch)
        update_every: PositiveInt = 1  # epochs between reweighting passes
        eps: NonNegativeFloat = 8 / 255  # L_inf budget as a fraction of the training data's range (max - min) [D]
        alpha: NonNegativeFloat = 2 / 255  # step, same unit
        n_steps: NonNegativeInt = 5
        clip: bool = False  # clamp x_hat to the data range; off: the background moves by up to eps everywhere [D]
        fg: Literal["threshold", "top_area"] = "threshold"
        t_fg: UnitInterval = 0.5  # fg=threshold: foreground = H >= t_fg
        fg_area: UnitInterval = 0.3  # fg=top_area: the top fraction of pixels by H
        attack_objective: Literal["ce", "explanation"] = "ce"  # explanation: maximize 1 - sim (differentiable Grad-CAM)
        sim: Sim = "cosine"
        weighting: Weighting = "rank"  # bounded_weights [D]; linear: proportional to v / mean(v), clipped
        mix: UnitInterval = 0.5  # w = (1 - mix) + mix * r; linear with mix=1 and a huge clip_ratio: the paper's v / mean(v)
        clip_ratio: Annotated[float, Range(ge=1)] = 4.0  # linear weighting: r = min(v / mean(v), clip_ratio)
        pred_consistency: bool = False  # E *= 1[argmax f(x_hat) = argmax f(x)] [D]
        cam: str = "grad_cam"  # any registered CAM explainer

    def warmup_epochs(self, epochs: int) -> int:
        return max(1, round(self.cfg.warmup * epochs))

    def explain(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The CAM map of ``cam`` for the true class, one channel: N×spatial in [0, 1]."""
        cls = EXPLAINERS.get(self.cfg.cam)
        if not (isinstance(cls, type) and issubclass(cls, CAMExplainer)):
            raise ConfigError(f"expl_consistency: cam='{self.cfg.cam}' is not a CAM explainer")
        with cls(model) as e:
            return e.explain(x, y)[:, 0]

    def foreground(self, H: torch.Tensor) -> torch.Tensor:
        if self.cfg.fg == "threshold":
            return H >= self.cfg.t_fg
        return lowest_k(-H, self.cfg.fg_area)  # the largest values, ties by index

    def attack(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, H: torch.Tensor,
               data_range: tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
        """L_inf PGD (no random start) on the background (1 - M) only: x_hat = x + δ(1 - M), |δ| <= eps·(hi - lo),
        clamped to [lo, hi] = ``data_range`` only with ``clip``."""
        c = self.cfg
        lo, hi = data_range
        eps, alpha = c.eps * (hi - lo), c.alpha * (hi - lo)
        background = (~self.foreground(H)).to(x.dtype)[:, None]
        perturbed = (lambda d: (x + d * background).clamp(lo, hi)) if c.clip else (lambda d: x + d * background)
        delta = torch.zeros_like(x)
        for _ in range(c.n_steps):
            delta.requires_grad_(True)
            x_adv = perturbed(delta)
            if c.attack_objective == "ce":
                objective = F.cross_entropy(model(x_adv), y, reduction="sum")
            else:
                objective = (1 - similarity(H, differentiable_grad_cam(model, x_adv, y), c.sim)).sum()
            (grad,) = torch.autograd.grad(objective, delta)
            delta = (delta + alpha * grad.sign()).clamp(-eps, eps).detach()
        return perturbed(delta).detach()

    def consistency_weights(self, model: nn.Module, data: Batch, batch_size: int) -> torch.Tensor:
        """Weights by dataset index from v_i = 1 - E(x_i, x_hat_i) (``bounded_weights``); records the pass's health:
        effective sample size, the weight share of degenerate maps and the mean background perturbation."""
        c = self.cfg
        size = int(data.index.max()) + 1
        v = torch.zeros(size, device=data.x.device)
        degenerate = torch.zeros(size, dtype=torch.bool, device=data.x.device)
        data_range = (data.x.min().item(), data.x.max().item())
        moved, background = torch.zeros((), device=v.device), torch.zeros((), device=v.device)  # no sync per batch
        with eval_mode(model), torch.enable_grad():
            for batch in data.minibatches(batch_size):
                H = self.explain(model, batch.x, batch.y)
                x_hat = self.attack(model, batch.x, batch.y, H, data_range)
                E, zero = consistency(H.float(), self.explain(model, x_hat, batch.y).float(), c.sim)
                if c.pred_consistency:
                    with torch.no_grad():
                        E = E * (model(x_hat).argmax(1) == model(batch.x).argmax(1)).to(E.dtype)
                v[batch.index], degenerate[batch.index] = 1 - E, zero
                bg = (~self.foreground(H))[:, None].expand_as(batch.x)
                moved += ((x_hat - batch.x).abs() * bg).sum()
                background += bg.sum()
        self.flagged = int(degenerate.sum())
        present = torch.zeros(size, dtype=torch.bool, device=v.device)
        present[data.index] = True
        w = torch.ones_like(v)
        w[present] = bounded_weights(v[present], degenerate[present], c.mix, c.clip_ratio, c.weighting)
        wp = w[present]
        ess = effective_sample_size(wp)
        mean_perturbation = (moved / background).item() if background > 0 else 0.0
        eps = c.eps * (data_range[1] - data_range[0])
        self.health.add(ess=ess, ess_fraction=ess / len(wp),
                        degenerate_share=(wp[degenerate[present]].sum() / wp.sum()).item(),
                        mean_perturbation=mean_perturbation,
                        perturbation_fraction=mean_perturbation / eps if eps > 0 else 0.0)
        return w

    def fit(self, model: nn.Module, train_data: Batch, budget: Budget) -> nn.Module:
        self._data, self._batch_size = train_data, budget.batch_size
        self._steps_per_epoch = -(-len(train_data) // budget.batch_size)
        self._warmup = self.warmup_epochs(budget.epochs)
        self.weights = torch.ones(int(train_data.index.max()) + 1, device=train_data.x.device)
        self.flagged = 0
        try:
            return super().fit(model, train_data, budget)  # the default loop; `loss` reweights at epoch starts
        finally:
            self._data = None  # do not keep the training set alive

    def reweights(self, step: int) -> bool:
        """Whether step ``step`` starts with a reweighting pass (the start of each due epoch, inside fit)."""
        if self._data is None:
            return False
        epoch, offset = divmod(step, self._steps_per_epoch)
        return offset == 0 and epoch >= self._warmup and (epoch - self._warmup) % self.cfg.update_every == 0

    def step_key(self, model: nn.Module, batch: Batch, step: int) -> Hashable | None:
        key = super().step_key(model, batch, step)  # a reweighting step does a pass over the whole training set
        return None if key is None else (*key, self.reweights(step))

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        if self.reweights(step):
            self.weights = self.consistency_weights(model, self._data, self._batch_size)
        ce = F.cross_entropy(model(batch.x), batch.y, reduction="none")
        return (ce if self.weights is None else self.weights[batch.index] * ce).mean()
