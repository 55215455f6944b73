"""Every registered task whose data is available keeps the data conventions of its modality."""
import dataclasses

import pytest
import torch

from xaibench.budget import Budget
from xaibench.errors import DataUnavailableError
from xaibench.registries import TASKS


def small_task(name: str):
    """The task with small split sizes where its Config has them (enough samples to hold every class)."""
    cls = TASKS.get(name)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    k = cls.meta.num_classes
    small = {"n_train": max(40, 2 * k), "n_test": max(20, k)}
    return cls({key: value for key, value in small.items() if key in fields})


def assert_same_batch(a, b):
    for field in ("x", "y", "mask", "index"):
        va, vb = getattr(a, field), getattr(b, field)
        assert (va is None and vb is None) or torch.equal(va, vb), field
    assert a.meta.keys() == b.meta.keys() and all(torch.equal(a.meta[k], b.meta[k]) for k in a.meta)


@pytest.mark.parametrize("name", TASKS.names())
def test_task_contract(name):
    task = small_task(name)
    meta = task.meta
    try:
        task.check_available()
    except DataUnavailableError as err:
        assert "\n" not in str(err)
        pytest.skip(f"data unavailable: {err}")
    assert task.name == name and isinstance(task.version, str) and task.description()
    assert isinstance(task.budget, Budget)
    for split in ("train", "test"):
        batch = task.load(split, seed=0)
        n = len(batch)
        assert n > 0 and batch.x.shape == (n, *meta.input_shape), (split, batch.x.shape)
        assert batch.y.dtype == torch.int64 and 0 <= batch.y.min() and batch.y.max() < meta.num_classes
        assert batch.index.dtype == torch.int64 and len(set(batch.index.tolist())) == n
        if meta.modality == "text":
            assert batch.x.dtype == torch.int64 and meta.vocab_size is not None
            assert 0 <= batch.x.min() and batch.x.max() < meta.vocab_size
            assert not ((batch.x[:, :-1] == 0) & (batch.x[:, 1:] != 0)).any(), "padding (0) only at the end"
            mask_shape = (n, *meta.input_shape)
        else:
            assert batch.x.dtype == torch.float32 and torch.isfinite(batch.x).all()
            mask_shape = (n, *meta.input_shape[1:]) if meta.modality == "image" else (n, *meta.input_shape)
            if meta.modality == "image":
                assert 0 <= batch.x.min() and batch.x.max() <= 1
        if meta.has_mask:
            assert batch.mask is not None and batch.mask.dtype == torch.float32 and batch.mask.shape == mask_shape
            assert 0 <= batch.mask.min() and batch.mask.max() <= 1
            if meta.modality == "text":
                assert (batch.mask[batch.x == 0] == 0).all(), "no rationale on padding"
        else:
            assert batch.mask is None
        assert_same_batch(batch, task.load(split, seed=0))
