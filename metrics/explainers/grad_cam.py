"""Grad-CAM (EXPLAINERS.md §2)."""
from __future__ import annotations

import torch

from xaibench.metrics.explainers.cam import CAMExplainer
from xaibench.registries import EXPLAINERS


@EXPLAINERS.register
class GradCAM(CAMExplainer):
    """Grad-CAM (Selvaraju et al. 2017): cam_layer channels weighted by their mean target-logit gradient.

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> _ = torch.manual_seed(0)
    >>> model = SmallCNN(SmallCNN.Config(), (3, 32, 32), num_classes=4)
    >>> with GradCAM(model) as e:
    ...     A = e.explain(torch.rand(2, 3, 32, 32), torch.tensor([0, 3]))
    >>> A.shape, A.amin().item(), A.amax().item()
    (torch.Size([2, 3, 32, 32]), 0.0, 1.0)
    """

    name = "grad_cam"
    version = "1"
    requires = frozenset({"cam_layer"})
    mean_shift_invariant = True

    def channel_weights(self, x: torch.Tensor, target: torch.Tensor, activations: torch.Tensor,
                        logits: torch.Tensor) -> torch.Tensor:
        # α_k = mean_ij ∂z_c/∂A_kij
        return self.target_gradients(activations, logits, target).flatten(2).mean(2)
