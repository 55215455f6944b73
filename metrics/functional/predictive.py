"""Predictive kernels: scores of the model alone, no attributions."""
from __future__ import annotations

import torch
from torch import nn

from xaibench.metrics.functional.faithfulness import model_device
from xaibench.metrics.functional.maps import chunked


@torch.no_grad()
def accuracy_gap(model: nn.Module, x_reference: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                 eval_batch_size: int = 256) -> torch.Tensor:
    """Paired accuracy drop, per sample: 1[argmax f(x_reference) = y] - 1[argmax f(x) = y].

    Both inputs hold the same samples, rendered two ways (e.g. a decoy coded by the label, then at random), so
    the mean is the difference of the two accuracies and each sample is its own control.

    Args:
        model: the classifier, in eval mode.
        x_reference: the inputs the model should do well on (the training distribution), N x ...
        x: the same samples rendered as the test split renders them, N x ...
        y: the labels, N.
        eval_batch_size: samples per forward pass.

    Returns:
        float64 values in {-1, 0, 1}, N.

    Example:
        >>> model = nn.Flatten()  # class = argmax of the two inputs
        >>> accuracy_gap(model, torch.tensor([[1., 0], [0, 1]]), torch.tensor([[0., 1], [0, 1]]), torch.tensor([0, 1]))
        tensor([1., 0.], dtype=torch.float64)
    """
    device = model_device(model, x)

    def run(sl: slice) -> torch.Tensor:
        hit = [model(v[sl].to(device)).argmax(1) == y[sl].to(device) for v in (x_reference, x)]
        return (hit[0].double() - hit[1].double()).cpu()

    return chunked(run, len(x), eval_batch_size)
