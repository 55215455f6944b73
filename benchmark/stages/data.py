"""Each task's training and test splits, loaded once per worker (cells of one task share them)."""
from __future__ import annotations

from xaibench.batch import Batch
from xaibench.config import ComponentSpec


class TaskData:
    """``load(task)``: (train, test) of ``task`` at the suite's data seed, cached by the task's label.

    >>> from xaibench.config import load_suite
    >>> data = TaskData(data_seed=0)
    >>> task = load_suite("quick").components("tasks")[0]
    >>> data.load(task) is data.load(task)
    True
    """

    def __init__(self, data_seed: int):
        self.data_seed = data_seed
        self._splits: dict[str, tuple[Batch, Batch]] = {}

    def load(self, task: ComponentSpec) -> tuple[Batch, Batch]:
        if task.label not in self._splits:
            t = task.cls(task.config)
            self._splits[task.label] = (t.load("train", self.data_seed), t.load("test", self.data_seed))
        return self._splits[task.label]
