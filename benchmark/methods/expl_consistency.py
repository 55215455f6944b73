"""Explanation-consistency reweighting (Wu et al. 2024): weight each sample by how much its Grad-CAM changes
under a background-only adversarial perturbation (TRAINING_METHODS.md §5)."""
from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Literal

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
from xaibench.ranges import NonNegativeFloat, NonNegativeInt, PositiveInt, UnitInterval
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


def normalized_weights(v: torch.Tensor) -> torch.Tensor:
    """v / mean(v): weights averaging 1 over the dataset; an all-zero v gives ones.

    >>> normalized_weights(torch.tensor([0.5, 0.0, 1.0])).tolist(), normalized_weights(torch.zeros(2)).tolist()
    ([1.0, 0.0, 2.0], [1.0, 1.0])
    """
    mean = v.mean()
    return v / mean if mean > 0 else torch.ones_like(v)


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
    version = "1"
    cost = "1x ERM + (n_steps + 2)x per reweighting pass (about 7 ERM epochs at the defaults)"
    _data: Batch | None = None  # the training set, while fit runs
    weights: torch.Tensor | None = None  # per dataset index; None = unit weights
    flagged = 0  # samples whose last CAM was all zero (E = 0)

    @dataclasses.dataclass(frozen=True)
    class Config:
        warmup: UnitInterval = 0.2  # fraction of the epochs trained with unit weights (at least one epoch)
        update_every: PositiveInt = 1  # epochs between reweighting passes
        eps: NonNegativeFloat = 8 / 255
        alpha: NonNegativeFloat = 2 / 255
        n_steps: NonNegativeInt = 5
        fg: Literal["threshold", "top_area"] = "threshold"
        t_fg: UnitInterval = 0.5  # fg=threshold: foreground = H >= t_fg
        fg_area: UnitInterval = 0.3  # fg=top_area: the top fraction of pixels by H
        attack_objective: Literal["ce", "explanation"] = "ce"  # explanation: maximize 1 - sim (differentiable Grad-CAM)
        sim: Sim = "cosine"
        normalize: bool = True
        pred_consistency: bool = False  # E *= 1[argmax f(x_hat) = y]
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

    def attack(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
        """L_inf PGD (no random start) on the background (1 - M) only; returns x_hat = clip01(x + δ(1 - M))."""
        c = self.cfg
        background = (~self.foreground(H)).to(x.dtype)[:, None]
        delta = torch.zeros_like(x)
        for _ in range(c.n_steps):
            delta.requires_grad_(True)
            x_adv = (x + delta * background).clamp(0, 1)
            if c.attack_objective == "ce":
                objective = F.cross_entropy(model(x_adv), y, reduction="sum")
            else:
                objective = (1 - similarity(H, differentiable_grad_cam(model, x_adv, y), c.sim)).sum()
            (grad,) = torch.autograd.grad(objective, delta)
            delta = (delta + c.alpha * grad.sign()).clamp(-c.eps, c.eps).detach()
        return (x + delta * background).clamp(0, 1)

    def consistency_weights(self, model: nn.Module, data: Batch, batch_size: int) -> torch.Tensor:
        """v_i = 1 - E(x_i, x_hat_i) for every sample (by dataset index), normalized to mean 1 unless disabled."""
        v = torch.zeros(int(data.index.max()) + 1, device=data.x.device)
        self.flagged = 0
        with eval_mode(model), torch.enable_grad():
            for batch in data.minibatches(batch_size):
                H = self.explain(model, batch.x, batch.y)
                x_hat = self.attack(model, batch.x, batch.y, H)
                E, zero = consistency(H.float(), self.explain(model, x_hat, batch.y).float(), self.cfg.sim)
                if self.cfg.pred_consistency:
                    with torch.no_grad():
                        E = E * (model(x_hat).argmax(1) == batch.y).to(E.dtype)
                self.flagged += int(zero.sum())
                v[batch.index] = 1 - E
        present = torch.zeros_like(v, dtype=torch.bool)
        present[data.index] = True
        if self.cfg.normalize:
            v[present] = normalized_weights(v[present])
        return v

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
