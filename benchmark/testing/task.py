"""`check_task`: the self-check of a task (tasks/base.py, the data conventions of README "Tasks"), for plugin
authors.

It loads both splits and reports every broken rule: metadata, shapes and dtypes as ``meta`` declares them,
labels in range, unique dataset indices, the value conventions of the modality (images in [0, 1], padding only
at the end of a text), masks as declared, the declared per-sample extras, and identical data on a reload.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.errors import DataUnavailableError
from xaibench.tasks.base import Task, TaskMeta
from xaibench.testing.configs import component_problems, make_config
from xaibench.testing.helpers import fail_on

MODALITIES = ("image", "time_series", "text")


@dataclasses.dataclass(frozen=True)
class TaskReport:
    """What the check loaded: the number of samples per split, or why the data was unavailable."""

    task: str
    sizes: dict[str, int]
    unavailable: str = ""


def check_task(cls: type, config: Any = None, seed: int = 0) -> TaskReport:
    """Load both splits of ``cls`` (``config``: None, a params dict or a Config; pass small split sizes) and
    check them against its ``meta``.

    Missing data is not a failure: the report says why (``unavailable``) if ``check_available`` raises
    `DataUnavailableError` with a one-line message. Raises `xaibench.testing.CheckError` listing what is wrong.

    >>> from xaibench.tasks.images.shapes import Shapes
    >>> check_task(Shapes, {"n_train": 8, "n_test": 8}).sizes
    {'train': 8, 'test': 8}
    """
    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    problems = _static_problems(cls)
    fail_on("task", name, problems)
    config, problems = make_config(cls, config)
    fail_on("task", name, problems)
    task = cls(config)
    try:
        task.check_available()
    except DataUnavailableError as err:
        if "\n" in str(err):
            problems.append("the DataUnavailableError message must be one line (where we looked, how to get it)")
        fail_on("task", name, problems)
        return TaskReport(name, {}, unavailable=str(err))
    sizes = {}
    for split in ("train", "test"):
        try:
            batch = task.load(split, seed)
        except Exception as err:
            problems.append(f"load('{split}') raised {type(err).__name__}: {err}")
            continue
        if not isinstance(batch, Batch):
            problems.append(f"load('{split}') returned {type(batch).__name__}, expected a Batch")
            continue
        sizes[split] = len(batch)
        problems += [f"{split}: {p}" for p in batch_problems(batch, cls.meta)]
        if not same_batch(batch, task.load(split, seed)):
            problems.append(f"{split}: a second load with the same seed gives other data (use split_rng(seed, split))")
    fail_on("task", name, problems)
    return TaskReport(name, sizes)


def _static_problems(cls: Any) -> list[str]:
    problems = component_problems(cls, Task)
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        return problems
    meta = getattr(cls, "meta", None)
    if not isinstance(meta, TaskMeta):
        return problems + ["meta must be a TaskMeta (modality, input_shape, num_classes, has_mask, source)"]
    if meta.modality not in MODALITIES:
        problems.append(f"meta.modality={meta.modality!r}: choose from {', '.join(MODALITIES)}")
    if not meta.input_shape or not all(isinstance(d, int) and d > 0 for d in meta.input_shape):
        problems.append(f"meta.input_shape={meta.input_shape!r}: positive ints, without the sample axis")
    if not isinstance(meta.num_classes, int) or meta.num_classes < 2:
        problems.append(f"meta.num_classes={meta.num_classes!r}: an int >= 2")
    if meta.modality == "text" and not (isinstance(meta.vocab_size, int) and meta.vocab_size > 1):
        problems.append(f"text tasks declare meta.vocab_size (token ids in [0, vocab_size)), got {meta.vocab_size!r}")
    if not isinstance(cls.budget, Budget):
        problems.append("budget must be a xaibench.Budget (the same for every method on the task)")
    if cls.load is Task.load:
        problems.append("override load(split, seed)")
    return problems


def batch_problems(batch: Batch, meta: TaskMeta) -> list[str]:
    """What a split breaks of the conventions ``meta`` declares."""
    n, found = len(batch), []
    if n == 0:
        return ["no samples"]
    if tuple(batch.x.shape) != (n, *meta.input_shape):
        return [f"x is {tuple(batch.x.shape)}, expected (N, *meta.input_shape) = (N, {', '.join(map(str, meta.input_shape))})"]
    if batch.y.dtype != torch.int64 or batch.y.min() < 0 or batch.y.max() >= meta.num_classes:
        found.append(f"y must be int64 labels in [0, {meta.num_classes}), got {batch.y.dtype} in "
                     f"[{batch.y.min().item()}, {batch.y.max().item()}]")
    if batch.index is None or batch.index.dtype != torch.int64 or len(set(batch.index.tolist())) != n:
        found.append("index must hold a distinct int64 dataset index per sample (noise and ties follow it)")
    if meta.modality == "text":
        if batch.x.dtype != torch.int64 or batch.x.min() < 0 or batch.x.max() >= (meta.vocab_size or 0):
            found.append(f"x must be int64 token ids in [0, {meta.vocab_size})")
        elif ((batch.x[:, :-1] == 0) & (batch.x[:, 1:] != 0)).any():
            found.append("padding (token 0) may only come at the end of a text")
        mask_shape = (n, *meta.input_shape)
    else:
        if batch.x.dtype != torch.float32 or not batch.x.isfinite().all():
            found.append(f"x must be finite float32, got {batch.x.dtype}")
        elif meta.modality == "image" and (batch.x.min() < 0 or batch.x.max() > 1):
            found.append(f"images must be raw values in [0, 1] (the model normalizes), got "
                         f"[{batch.x.min().item():.3g}, {batch.x.max().item():.3g}]")
        mask_shape = (n, *meta.input_shape[1:]) if meta.modality == "image" else (n, *meta.input_shape)
    if meta.has_mask:
        m = batch.mask
        if m is None or m.dtype != torch.float32 or tuple(m.shape) != mask_shape:
            found.append(f"mask must be float32 {mask_shape} (images: no channel axis), got "
                         f"{None if m is None else (m.dtype, tuple(m.shape))}")
        elif m.min() < 0 or m.max() > 1:
            found.append("mask values must be in [0, 1] (1 = relevant)")
        elif meta.modality == "text" and (m[batch.x == 0] != 0).any():
            found.append("the mask covers padding")
    elif batch.mask is not None:
        found.append("meta.has_mask is False, but the batch has a mask")
    for key in meta.extras:
        value = batch.meta.get(key)
        if not isinstance(value, torch.Tensor) or len(value) != n:
            found.append(f"meta.extras declares '{key}', but batch.meta['{key}'] is not a tensor with one row per sample")
    return found


def same_batch(a: Batch, b: Batch) -> bool:
    """Every field of two batches bitwise equal."""
    for field in ("x", "y", "mask", "index"):
        va, vb = getattr(a, field), getattr(b, field)
        if (va is None) != (vb is None) or (va is not None and not torch.equal(va, vb)):
            return False
    return a.meta.keys() == b.meta.keys() and all(torch.equal(a.meta[k], b.meta[k]) for k in a.meta)
