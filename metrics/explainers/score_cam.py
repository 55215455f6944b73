"""Score-CAM (EXPLAINERS.md §2): cam_layer channels weighted by the target score of the input masked by each."""
from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.base import in_chunks
from xaibench.metrics.explainers.cam import CAMExplainer, expand_like, upsample
from xaibench.ranges import PositiveInt
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class ScoreCAM(CAMExplainer):
    """Score-CAM (Wang et al. 2020): L = ReLU(Σ_k s_k U_k), s_k = softmax(f(x ⊙ minmax(U_k)))_c.

    U_k is channel k upsampled to the input size; a constant channel gets weight 0. Switches:
    ``mask_space="normalized"`` masks the normalized input (masked-out regions become the mean
    colour, as the official code); ``baseline_subtract`` uses the paper's CIC s_k − p_c(masked-out
    input); ``variant="pytorch_grad_cam"`` is pytorch-grad-cam's ``ScoreCAM.get_cam_weights``: masks upsampled with
    align_corners=True (``nn.UpsamplingBilinear2d``), normalized by (max − min + 1e-8), weights the softmax over
    channels of the target logits (a constant channel keeps its weight; its mask is 0).

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN(SmallCNN.Config(width=4), (1, 16, 16), num_classes=3)
    >>> with ScoreCAM(model, {"internal_batch_size": 8}) as e:
    ...     A = e.explain(torch.rand(2, 1, 16, 16), torch.tensor([0, 2]))
    >>> A.shape, A.amax().item()
    (torch.Size([2, 1, 16, 16]), 1.0)
    """

    name = "score_cam"
    version = "2"  # 2: variant=pytorch_grad_cam upsamples with align_corners=True (ERRATA)

    @dataclasses.dataclass(frozen=True)
    class Config:
        internal_batch_size: PositiveInt = 64  # masked inputs per forward pass
        mask_space: Literal["pixel", "normalized"] = "pixel"
        baseline_subtract: bool = False
        variant: Literal["official", "pytorch_grad_cam"] = "official"

    def channel_weights(self, x: torch.Tensor, target: torch.Tensor, activations: torch.Tensor,
                        logits: torch.Tensor) -> torch.Tensor:
        pgc = self.cfg.variant == "pytorch_grad_cam"
        U = upsample(activations.detach(), x.shape[2:], align_corners=pgc)  # N×K×spatial
        lo, hi = U.flatten(2).amin(2), U.flatten(2).amax(2)
        valid = hi > lo
        if pgc:  # its normalization: a constant channel's mask is 0 there too
            H = (U - expand_like(lo, U)) / expand_like(hi - lo + 1e-8, U)
        else:
            span = expand_like(torch.where(valid, hi - lo, torch.ones_like(hi)), U)
            H = torch.where(expand_like(valid, U), (U - expand_like(lo, U)) / span, torch.zeros_like(U))
        n, k = H.shape[:2]
        # Sample i's K masked copies are rows i·K … i·K+K−1; they are built chunk by chunk, never all at once.
        rows, targets = torch.arange(n * k, device=x.device), target.repeat_interleave(k)
        scores = in_chunks(lambda r, t: self._scores(x, H, r, t), self.cfg.internal_batch_size, rows, targets)
        scores = scores.view(n, k)
        if self.cfg.baseline_subtract:
            masked_out = torch.zeros_like(H[:, :1])  # the input with every entry masked out
            scores = scores - self._scores(x, masked_out, torch.arange(n, device=x.device), target)[:, None]
        self._activations = None  # the masked passes went through the hook
        if pgc:
            return scores.softmax(1)
        return torch.where(valid, scores, torch.zeros_like(scores))

    @torch.no_grad()
    def _scores(self, x: torch.Tensor, H: torch.Tensor, rows: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Target scores of the masked inputs ``rows`` (row = sample · K + channel of the N×K masks H)."""
        k = H.shape[1]
        xs, masks = x[rows // k], H[rows // k, rows % k].unsqueeze(1)  # masks broadcast over input channels
        if self.cfg.mask_space == "normalized":
            mean = self._mean(x)
            masked = mean + (xs - mean) * masks  # normalization(masked) = normalization(x) ⊙ mask
        else:
            masked = xs * masks
        out = self.model(masked)
        if self.cfg.variant == "pytorch_grad_cam":
            return out.gather(1, target[:, None]).squeeze(1)
        return F.softmax(out, dim=1).gather(1, target[:, None]).squeeze(1)

    def _mean(self, x: torch.Tensor) -> torch.Tensor:
        mean = getattr(getattr(self.model, "normalization", None), "mean", None)
        if mean is None:
            raise ConfigError(f"explainer 'score_cam': mask_space 'normalized' needs the model's normalization "
                              f"layer with a mean, which {type(self.model).__name__} lacks")
        return mean.view(1, -1, *(1 for _ in x.shape[2:]))

    def combine(self, weights: torch.Tensor, activations: torch.Tensor, size: torch.Size) -> torch.Tensor:
        U = upsample(activations, size)
        return F.relu((expand_like(weights, U) * U).sum(1, keepdim=True))
