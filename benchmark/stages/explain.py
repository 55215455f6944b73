"""The explain stage: a model's predictions, and an explainer's attributions in evaluation-sized batches."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from xaibench.batch import Batch

if TYPE_CHECKING:
    from xaibench.config import ComponentSpec


class ExplainStage:
    """``predict`` (argmax classes) and ``explain`` (attributions on the CPU), ``batch_size`` samples at a time;
    ``attributions`` reuses the attributions given to the cell and says which it computed.

    >>> stage = ExplainStage(batch_size=2, device=torch.device("cpu"))
    >>> stage.predict(torch.nn.Linear(3, 2), torch.ones(5, 3)).shape
    torch.Size([5])
    """

    def __init__(self, batch_size: int, device: torch.device):
        self.batch_size, self.device = batch_size, device

    @torch.no_grad()
    def predict(self, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        size = self.batch_size
        return torch.cat([model(x[i:i + size].to(self.device)).argmax(1) for i in range(0, len(x), size)])

    def explain(self, explainer: ComponentSpec, model: torch.nn.Module, data: Batch,
                target: torch.Tensor) -> torch.Tensor:
        size = self.batch_size
        with explainer.cls(model, explainer.config) as e:
            return torch.cat([e.explain(data.x[i:i + size], target[i:i + size], index=data.index[i:i + size])
                              for i in range(0, len(data), size)]).cpu()

    def attributions(self, explainer: ComponentSpec, model: torch.nn.Module, data: Batch, target: torch.Tensor,
                     cached: torch.Tensor | None) -> tuple[torch.Tensor, bool]:
        """(The attributions of ``data`` on the CPU, whether they are new): ``cached`` if given, else computed."""
        if cached is None:
            return self.explain(explainer, model, data, target), True
        return cached, False
