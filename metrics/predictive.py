"""Predictive metrics: scored once per trained model, on the whole test split."""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.metrics.functional.predictive import accuracy_gap
from xaibench.ranges import PositiveInt
from xaibench.registries import METRICS


@METRICS.register
class Accuracy(Metric):
    """Test accuracy: 1[argmax f(x) = y] per sample."""

    name = "accuracy"
    version = "1"
    category = "predictive"
    higher_is_better = True
    modalities = frozenset({"image", "time_series", "text"})
    label = "Accuracy"

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return (target == batch.y.to(target.device)).double()


class AccuracyGap(Metric):
    """Base of the paired accuracy gaps: ``reference(batch)`` re-renders the test images the way the model was
    trained on them; the value is accuracy there minus accuracy on the test split (`accuracy_gap`)."""

    category = "predictive"
    higher_is_better = False  # a model that does not use the shortcut or the background has no gap
    modalities = frozenset({"image"})

    @dataclasses.dataclass(frozen=True)
    class Config:
        eval_batch_size: PositiveInt = 256

    def reference(self, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        return accuracy_gap(model, self.reference(batch), batch.x, batch.y, self.cfg.eval_batch_size)


@METRICS.register
class ShortcutGap(AccuracyGap):
    """Shortcut gap (METRICS.md §9): accuracy on the test images with the decoy patch coded by the label, minus
    accuracy on the decoy test split (the same patches, coded at random). Near 0: the model ignores the patch.

    >>> D = torch.zeros(2, 2, 2, dtype=torch.bool); D[:, 0, 0] = True
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))  # class 0 if the patch pixel is above 0.5
    >>> with torch.no_grad():
    ...     _ = model[1].weight.zero_(); _ = model[1].bias.copy_(torch.tensor([0., 0.5])); model[1].weight[0, 0] = 1.0
    >>> batch = Batch(torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]), meta={"decoy_mask": D.float()})
    >>> ShortcutGap()(model, batch, None, batch.y).tolist()  # coded by y, the patch is 1.0 (y = 0) or 0.9 (y = 1)
    [1.0, -1.0]
    """

    name = "shortcut_gap"
    version = "1"
    requires = frozenset({"decoy_mask"})
    label = "Shortcut gap"

    def reference(self, batch: Batch) -> torch.Tensor:
        from xaibench.tasks.images.decoy_fashion_mnist import paint_decoy

        return paint_decoy(batch.x, batch.meta["decoy_mask"].bool(), batch.y)


@METRICS.register
class ShiftGap(AccuracyGap):
    """Shift gap (METRICS.md §9): accuracy on the test objects pasted on the training background family, minus
    accuracy on the test split (the same objects on the shifted family). Near 0: the background is not used.

    >>> M = torch.tensor([[[1., 0.]]]).expand(2, 1, 2)
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2))  # reads only the background pixel
    >>> with torch.no_grad():
    ...     _ = model[1].weight.copy_(torch.tensor([[0., 1.], [0., -1.]])); _ = model[1].bias.zero_()
    >>> batch = Batch(torch.zeros(2, 1, 1, 2) - 1, torch.tensor([0, 1]), M,
    ...               meta={"train_background": torch.ones(2, 1, 2)})
    >>> ShiftGap()(model, batch, None, batch.y).tolist()  # background +1 says class 0, the test's -1 class 1
    [1.0, -1.0]
    """

    name = "shift_gap"
    version = "1"
    requires = frozenset({"mask", "train_background"})
    label = "Shift gap"

    def reference(self, batch: Batch) -> torch.Tensor:
        from xaibench.tasks.images.textured_fashion_mnist import paste_objects

        return paste_objects(batch.x, batch.mask, batch.meta["train_background"])
