"""Grad-CAM++ (EXPLAINERS.md §2): pixel-wise weighted positive gradients at the cam_layer."""
from __future__ import annotations

import dataclasses
from typing import Literal

import torch
import torch.nn.functional as F

from xaibench.metrics.explainers.cam import CAMExplainer, expand_like
from xaibench.registries import EXPLAINERS

Variant = Literal["paper", "official", "pytorch_grad_cam"]


def gradcam_pp_alpha(g: torch.Tensor, activations: torch.Tensor, variant: Variant = "paper") -> torch.Tensor:
    """α_kij = g² / (2g² + (Σ_ab A_kab)·g³) for gradients ``g`` and activations N×K×spatial.

    ``paper``: α = 0 where g = 0, a zero denominator becomes 1 (as the official code);
    ``official``: α_k also divided by Σ_ij α_kij over positions with g > 0;
    ``pytorch_grad_cam``: ε = 1e-6 added to the denominator, α = 0 where g = 0.

    >>> gradcam_pp_alpha(torch.tensor([[[3., 0.]]]), torch.tensor([[[1., -1.]]])).tolist()  # Σ A = 0
    [[[0.5, 0.0]]]
    """
    g2 = g * g
    total = expand_like(activations.flatten(2).sum(2), activations)
    denominator = 2 * g2 + total * g2 * g
    if variant == "pytorch_grad_cam":
        return torch.where(g != 0, g2 / (denominator + 1e-6), torch.zeros_like(g))
    alpha = g2 / torch.where(denominator != 0, denominator, torch.ones_like(denominator))
    if variant == "official":
        norm = (alpha * (g > 0)).flatten(2).sum(2)
        alpha = alpha / expand_like(torch.where(norm != 0, norm, torch.ones_like(norm)), alpha)
    return alpha


@EXPLAINERS.register
class GradCAMPlusPlus(CAMExplainer):
    """Grad-CAM++ (Chattopadhay et al. 2018): channels weighted by Σ_ij α_kij·ReLU(∂z_c/∂A_kij).

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN(SmallCNN.Config(), (3, 32, 32), num_classes=4)
    >>> with GradCAMPlusPlus(model, {"variant": "official"}) as e:
    ...     A = e.explain(torch.rand(2, 3, 32, 32), torch.tensor([0, 3]))
    >>> A.shape, A.amin().item(), A.amax().item()
    (torch.Size([2, 3, 32, 32]), 0.0, 1.0)
    """

    name = "grad_cam_pp"
    version = "1"
    mean_shift_invariant = True

    @dataclasses.dataclass(frozen=True)
    class Config:
        variant: Variant = "paper"

    def channel_weights(self, x: torch.Tensor, target: torch.Tensor, activations: torch.Tensor,
                        logits: torch.Tensor) -> torch.Tensor:
        # The paper's exp(S) factor cancels in α and scales w by a positive constant that minmax removes.
        g = self.target_gradients(activations, logits, target)
        alpha = gradcam_pp_alpha(g, activations.detach(), self.cfg.variant)
        return (alpha * F.relu(g)).flatten(2).sum(2)
