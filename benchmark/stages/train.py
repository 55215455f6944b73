"""The train stage: a cell's model, fitted by its training method or built and loaded from stored weights."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from xaibench.batch import Batch
from xaibench.methods.base import TrainingContext, TrainingMethod
from xaibench.record import TrainingRecord
from xaibench.stages.measure import measure
from xaibench.stages.record import RecordStage
from xaibench.tasks.base import TaskMeta

if TYPE_CHECKING:
    from xaibench.config import Suite
    from xaibench.plan import TrainCell


def model_inputs(meta: TaskMeta, train: Batch) -> dict[str, Any]:
    """What an architecture needs to know of the data: the vocabulary size for text, otherwise the
    per-channel mean and std of the training inputs (for the model's normalization layer)."""
    if meta.modality == "text":
        return {"vocab_size": meta.vocab_size}
    reduce = [0, *range(2, train.x.dim())]
    return {"mean": train.x.mean(reduce).tolist(), "std": train.x.std(reduce).clamp_min(1e-6).tolist()}


class TrainStage:
    """New models of a cell's architecture: ``fit`` trains one with a method, ``load`` restores given weights.

    >>> from xaibench.config import load_suite
    >>> suite = load_suite("quick")
    >>> stage = TrainStage(suite, torch.device("cpu"), RecordStage(suite, torch.device("cpu"), 1))
    >>> stage.device.type
    'cpu'
    """

    def __init__(self, suite: Suite, device: torch.device, recorder: RecordStage):
        self.suite, self.device, self.recorder = suite, device, recorder

    def new_model(self, cell: TrainCell, method: TrainingMethod, train: Batch) -> torch.nn.Module:
        """The architecture, seeded by the cell, with the method's auxiliary networks (before weights load)."""
        arch, meta = cell.architecture, cell.task.cls.meta
        torch.manual_seed(cell.seed)  # weight initialization
        model = arch.cls(arch.config, meta.input_shape, meta.num_classes, **model_inputs(meta, train)).to(self.device)
        method.prepare(model, train.x[:2].to(self.device))
        if self.device.type == "cuda" and meta.modality == "image":
            model = model.to(memory_format=torch.channels_last)  # cuDNN's fast convolution layout; same values
        return model

    def fit(self, cell: TrainCell, method: TrainingMethod, train: Batch) -> tuple[torch.nn.Module, TrainingRecord]:
        """Train a new model of ``cell``'s architecture with ``method``; returns it and its training record."""
        model = self.new_model(cell, method, train)
        arch = cell.architecture
        budget = self.suite.budget_for(cell.task)
        method.ctx = TrainingContext(
            device=self.device, generator=torch.Generator().manual_seed(cell.seed),
            cam_layer=arch.cls.cam_layer, flint_layers=arch.cls.flint_layers, normalization=model.normalization,
            precision=budget.precision, shortcut_mask=cell.task.cls.meta.shortcut_mask)
        with measure(self.device) as cost:
            model = method.fit(model, train.to(self.device), budget)
        return model, self.recorder.training(cell, method, cost)

    def load(self, cell: TrainCell, method: TrainingMethod, train: Batch,
             weights: dict[str, torch.Tensor]) -> torch.nn.Module:
        model = self.new_model(cell, method, train)
        model.load_state_dict(weights)
        return model

    def model(self, cell: TrainCell, train: Batch,
              weights: dict[str, torch.Tensor] | None) -> tuple[torch.nn.Module, TrainingRecord | None]:
        """The cell's model in eval mode: loaded from ``weights``, else fitted (then with its training record)."""
        method = cell.method.cls(cell.method.config)
        if weights is not None:
            return self.load(cell, method, train, weights).eval(), None
        model, record = self.fit(cell, method, train)
        return model.eval(), record
