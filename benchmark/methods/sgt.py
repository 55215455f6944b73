"""Saliency Guided Training (Ismail, Corrada Bravo, Feizi 2021): mask the least salient features, keep the output
distribution (TRAINING_METHODS.md §2)."""
from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.methods.base import TrainingMethod
from xaibench.methods.hooks import embedded, eval_mode
from xaibench.ranges import UnitInterval
from xaibench.registries import METHODS

RankBy = Literal["abs", "signed"]
Fill = Literal["uniform_sample", "uniform_channel", "channel_mean"]


def lowest_k(key: torch.Tensor, k: float) -> torch.Tensor:
    """Bool mask (shape of ``key``) of the int(k · units) smallest entries per sample, ties broken by index.

    >>> lowest_k(torch.tensor([[3., 1., 1., 2.]]), 0.5).tolist()
    [[False, True, True, False]]
    >>> lowest_k(torch.tensor([[1., 1., 1., 1.]]), 0.5).tolist()  # ties: the lower index first
    [[True, True, False, False]]
    """
    flat = key.flatten(1)
    count = int(k * flat.shape[1])
    order = flat.sort(dim=1, stable=True).indices
    masked = torch.zeros_like(flat, dtype=torch.bool)
    masked.scatter_(1, order[:, :count], True)
    return masked.view(key.shape)


def fill_values(e: torch.Tensor, fill: Fill, generator: torch.Generator) -> torch.Tensor:
    """Replacement values shaped like ``e`` (N×C×...): U[min, max] of each sample over all channels
    (``uniform_sample``), of each sample's channel (``uniform_channel``), i.i.d. per entry; or each
    sample's channel mean (``channel_mean``). Random draws come from ``generator`` (a CPU generator)."""
    if fill == "channel_mean":
        return e.mean(dim=tuple(range(2, e.dim())), keepdim=True).expand_as(e)
    dims = tuple(range(1, e.dim())) if fill == "uniform_sample" else tuple(range(2, e.dim()))
    lo, hi = e.amin(dim=dims, keepdim=True), e.amax(dim=dims, keepdim=True)
    u = torch.rand(e.shape, generator=generator, dtype=e.dtype).to(e.device)
    return lo + (hi - lo) * u


def sgt_mask(e: torch.Tensor, g: torch.Tensor, k: float, rank_by: RankBy = "abs", fill: Fill = "uniform_sample",
             generator: torch.Generator | None = None, image: bool | None = None) -> torch.Tensor:
    """``e`` with its k least salient units replaced by ``fill``, detached.

    Images (4-D ``e``, ``g`` of the same shape): a unit is a pixel, scored by the signed channel mean of ``g``
    and masked on all channels. Time series: a unit is one cell (``g`` shaped like ``e``). Token embeddings
    (``e`` N×L×D, ``g`` N×L, one score per token): a unit is a token, masked on all its embedding entries.

    >>> e = torch.arange(8.).view(1, 2, 2, 2)
    >>> g = torch.tensor([[[[1., -4.], [2., 0.]], [[1., 0.], [2., 0.]]]])  # channel means 1, -2, 2, 0
    >>> sgt_mask(e, g, 0.5, fill="channel_mean")[0].tolist()  # |mean| smallest: pixels 0 (|1|) and 3 (0)
    [[[1.5, 1.0], [2.0, 1.5]], [[5.5, 5.0], [6.0, 5.5]]]
    """
    image = e.dim() == 4 if image is None else image
    s = g.mean(1) if image else g
    key = s.abs() if rank_by == "abs" else s
    masked = lowest_k(key, k)
    if image:
        masked = masked[:, None]
    elif masked.dim() < e.dim():  # token units: every embedding entry of a masked token
        masked = masked[..., None]
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    return torch.where(masked, fill_values(e.detach(), fill, generator), e).detach()


def kl_div(out: torch.Tensor, out_m: torch.Tensor) -> torch.Tensor:
    """KL(p(x) ‖ p(x_m)) per batch: Σ softmax(out)(log_softmax(out) - log_softmax(out_m)), mean over samples.

    >>> kl_div(torch.tensor([[0., 0.]]), torch.tensor([[0., 0.]])).item()
    0.0
    """
    return (F.softmax(out, 1) * (F.log_softmax(out, 1) - F.log_softmax(out_m, 1))).sum(1).mean()


@METHODS.register
class SGT(TrainingMethod):
    """Saliency Guided Training (Ismail et al. 2021): CE + KL between outputs on x and on x with its k least salient features masked.

    >>> SGT({"k": 0.1}).cfg
    SGT.Config(k=0.1, rank_by='signed', fill='uniform_sample', saliency_of='log_prob')
    """

    name = "sgt"
    version = "3"  # 3: the saliency pass shares the training forward on mode_free models (same weights, fewer FLOPs)
    cost = "about 3x ERM (saliency pass, two forwards, one backward; one forward fewer on mode_free models)"
    lam = 1.0  # hard-wired, as the paper and code

    @dataclasses.dataclass(frozen=True)
    class Config:
        k: UnitInterval = 0.5  # fraction of features masked (official argparse default 0.1; MNIST README 0.5)
        rank_by: RankBy = "signed"  # the official code (--abs off); abs: the paper text's "small gradients"
        fill: Fill = "uniform_sample"
        saliency_of: Literal["logit", "log_prob"] = "log_prob"  # the official MNIST net ends in log_softmax

    def saliency(self, out: torch.Tensor, e: torch.Tensor, y: torch.Tensor, keep_graph: bool = False) -> torch.Tensor:
        """∂(true-label logit or log-probability)/∂e from the logits ``out`` = forward(e)."""
        if self.cfg.saliency_of == "log_prob":
            out = F.log_softmax(out, 1)
        (g,) = torch.autograd.grad(out.gather(1, y[:, None]).sum(), e, retain_graph=keep_graph)
        return g

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        with embedded(model, batch.x) as (e, forward):
            out = None
            if getattr(model, "mode_free", False) and batch.x.dtype.is_floating_point:
                # Eval and train mode are the same forward here: the saliency pass is the training pass (one
                # forward fewer, the same values; its graph also carries the unused input gradient).
                e = e.detach().requires_grad_(True)
                out = forward(e)
                g = self.saliency(out, e, batch.y, keep_graph=True)
            else:
                with eval_mode(model):  # as the official code
                    e_in = e.detach().requires_grad_(True)
                    g = self.saliency(forward(e_in), e_in, batch.y)
            image = e.dim() == 4
            if not batch.x.dtype.is_floating_point:  # token embeddings N×L×D: one unit per token
                g = g.mean(-1)
            e_m = sgt_mask(e, g, self.cfg.k, self.cfg.rank_by, self.cfg.fill, self.ctx.generator, image)
            out = forward(e) if out is None else out
            out_m = forward(e_m)
        kl = kl_div(out, out_m)
        self.health.add(kl=kl, masked_fraction=(e_m != e.detach()).to(e.dtype).mean())
        return F.cross_entropy(out, batch.y) + self.lam * kl
