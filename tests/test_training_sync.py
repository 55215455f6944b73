"""No host synchronization per training step (a GPU would wait for every one): xaibench's own code in a method's
fit makes no call that copies a tensor's value to the host (``.item()``, ``.tolist()``, ``.cpu()``, ``.numpy()``,
``bool``/``float``/``int`` of a tensor) in its step loop. Counted under a mock on the CPU: doubling the steps per
epoch must not add a single call (per-fit and per-epoch ones are allowed). torch's own code (the optimizer keeps
its step counters on the host) is not ours to count."""
import sys
from pathlib import Path

import pytest
import torch

import xaibench
import xaibench.metrics
import xaibench.tasks
from xaibench.budget import Budget
from xaibench.registries import METHODS
from xaibench.testing.helpers import tiny_data, tiny_model
from xaibench.testing.method import tiny_context

# The folders of the installed stages (wherever the tests run from): the calls they make are ours to count.
OURS = tuple(str(Path(m.__file__).resolve().parent) for m in (xaibench, xaibench.metrics, xaibench.tasks))
SYNCING = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__")


def count_syncs(monkeypatch, fn):
    calls = []
    for name in SYNCING:
        original = getattr(torch.Tensor, name)

        def counted(self, *a, __original=original, __name=name, **k):
            caller = sys._getframe(1).f_code.co_filename
            if caller.startswith(OURS):
                calls.append(f"{__name} at {caller}:{sys._getframe(1).f_lineno}")
            return __original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    fn()
    monkeypatch.undo()
    return calls


@pytest.mark.parametrize("name", METHODS.names())
def test_no_host_sync_per_training_step(name, monkeypatch, one_thread):
    cls = METHODS.get(name)

    def fit(n: int) -> list[str]:
        data, model = tiny_data(cls.requires_mask, n=n), tiny_model()
        method = cls()
        method.prepare(model, data.x[:2])
        method.ctx = tiny_context(model)
        return count_syncs(monkeypatch, lambda: method.fit(model, data, Budget(epochs=1, batch_size=8)))

    few, many = fit(16), fit(32)  # 2 and 4 steps in one epoch
    assert len(many) == len(few), f"{name}: host syncs grow with the steps: {sorted(set(many) - set(few)) or many}"
