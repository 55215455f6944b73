"""`check_metric`: the self-check of a metric (METRICS.md §0), for plugin authors.

On a small model and batch of every modality the metric declares, it scores random attributions and reports
every broken rule: metadata, per-sample values (one float64 per sample on the CPU, no infinities), values that
follow their sample when the batch is permuted, the same values on a repeat, and the model, its hooks and
modes and the batch left as they were.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.base import Metric
from xaibench.record import CATEGORIES
from xaibench.registries import ARCHITECTURES
from xaibench.testing.configs import component_problems, make_config
from xaibench.testing.helpers import (EXAMPLE_ARCHITECTURES, changed_modes, example_model, fail_on, hooks_left,
                                      modes, one_thread)

N, K = 6, 4
PERMUTATION = (3, 0, 5, 1, 4, 2)
MODALITIES = frozenset({"image", "time_series", "text"})
HARNESS_REQUIREMENTS = frozenset({"mask", "explainer", "retraining", "flint"})
TEXT_EMBEDDING_DIM = 8  # the attributions a text metric receives: N x L x D, at the embedding layer


@dataclasses.dataclass(frozen=True)
class MetricReport:
    """What the check ran: the modalities scored, per modality the values of the unpermuted batch, and what it
    could not run, with the reason (a requirement only the harness meets)."""

    metric: str
    modalities: tuple[str, ...]
    values: dict[str, torch.Tensor]
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)  # modality (or "all") -> why


def check_metric(cls: type, config: Any = None) -> MetricReport:
    """Score ``cls`` (with ``config``: None, a params dict or a Config) on a tiny case per declared modality.

    Raises `xaibench.testing.CheckError` listing what is wrong. The batch has 6 samples with dataset indices,
    masks where the metric requires them, per-sample ``meta`` for the task extras it requires (``intensity``:
    one value per sample; any other key: a per-pixel 0/1 map), and random attributions; metrics that require
    ``explainer`` get Saliency, ``flint`` models get untrained FLINT networks. Metrics that require
    ``retraining`` are checked for metadata only (retraining needs the harness).

    >>> from xaibench.metrics.localization import PointingGame
    >>> report = check_metric(PointingGame)
    >>> report.modalities, tuple(report.values["image"].shape)
    (('image',), (6,))
    """
    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    problems = _static_problems(cls)
    fail_on("metric", name, problems)
    config, problems = make_config(cls, config)
    fail_on("metric", name, problems)
    if "retraining" in cls.requires:
        return MetricReport(name, (), {}, {"all": "requires retraining: only the harness retrains models"})
    values, skipped = {}, {}
    with one_thread():
        for modality in sorted(cls.modalities):
            arch = ARCHITECTURES.get(EXAMPLE_ARCHITECTURES[modality])
            if "flint" in cls.requires and not arch.flint_layers:
                skipped[modality] = f"requires flint, and {arch.name} declares no flint_layers"
                continue
            values[modality] = _check_modality(cls, config, modality, problems)
    fail_on("metric", name, problems)
    return MetricReport(name, tuple(values), values, skipped)


def _static_problems(cls: Any) -> list[str]:
    problems = component_problems(cls, Metric)
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        return problems
    if getattr(cls, "category", None) not in CATEGORIES:
        problems.append(f"category={getattr(cls, 'category', None)!r}: choose from {', '.join(CATEGORIES)}")
    if not isinstance(getattr(cls, "higher_is_better", None), bool):
        problems.append("higher_is_better must be True or False (the leaderboard's arrow and ranking)")
    if not cls.modalities or not cls.modalities <= MODALITIES:
        problems.append(f"modalities={sorted(cls.modalities)}: a non-empty subset of {sorted(MODALITIES)}")
    if not isinstance(cls.requires, frozenset) or not all(isinstance(r, str) for r in cls.requires):
        problems.append("requires must be a frozenset of strings")
    if not isinstance(cls.label, str):
        problems.append("label must be a string (the table header; empty = the name)")
    if cls.compute is Metric.compute:
        problems.append("override compute(model, batch, attributions, target)")
    return problems


def example_case(cls: type, modality: str) -> tuple[nn.Module, Batch, torch.Tensor, torch.Tensor]:
    """(model in eval mode, batch, attributions, target = the predicted class) for ``modality``."""
    model, x = example_model(EXAMPLE_ARCHITECTURES[modality], K, n=N)
    if "flint" in cls.requires:
        from xaibench.methods.flint import attach_flint

        attach_flint(model, x[:2])
    g = torch.Generator().manual_seed(1)
    spatial = x.shape[2:] if modality == "image" else x.shape[1:]
    mask = (torch.rand(len(x), *spatial, generator=g) > 0.6).float()
    if modality == "text":
        mask = mask * (x != 0)  # rationales never cover padding
    meta = {key: (torch.rand(len(x), generator=g) if key == "intensity" else
                  (torch.rand(len(x), *spatial, generator=g) > 0.8).float())
            for key in sorted(cls.requires - HARNESS_REQUIREMENTS)}
    batch = Batch(x, torch.arange(len(x)) % K, mask, index=torch.arange(50, 50 + len(x)), meta=meta)
    shape = (len(x), x.shape[1], TEXT_EMBEDDING_DIM) if modality == "text" else x.shape
    model.eval()
    with torch.no_grad():
        target = model(x).argmax(1)
    return model, batch, torch.randn(*shape, generator=g), target


def _score(cls: type, config: Any, model: nn.Module, batch: Batch, A: torch.Tensor, target: torch.Tensor) -> Any:
    metric = cls(config)
    if "explainer" in cls.requires:
        from xaibench.metrics.explainers.saliency import Saliency

        metric.make_explainer = lambda net: Saliency(net)
    return metric(model, batch, A if metric.uses_attributions() else None, target)


def _check_modality(cls: type, config: Any, modality: str, problems: list[str]) -> torch.Tensor | None:
    model, batch, A, target = example_case(cls, modality)
    where = f"on {modality}"
    state = {k: v.clone() for k, v in model.state_dict().items()}
    inputs = {"x": batch.x.clone(), "A": A.clone(), "mask": batch.mask.clone()}
    before = modes(model)
    try:
        values = _score(cls, config, model, batch, A, target)
    except Exception as err:  # the author needs the error, not a traceback from inside the check
        problems.append(f"compute raised {type(err).__name__} {where}: {err}")
        return None
    if not isinstance(values, torch.Tensor):
        problems.append(f"compute returned {type(values).__name__} {where}; it must return a tensor")
        return None
    if hooks_left(model):
        problems.append(f"hooks left on the model {where}: {', '.join(hooks_left(model)[:5])}")
    if changed_modes(model, before):
        problems.append(f"train/eval mode changed and not restored {where}: "
                        f"{', '.join(changed_modes(model, before)[:5])}")
    after = model.state_dict()
    if after.keys() != state.keys() or any(not torch.equal(after[k], v) for k, v in state.items()):
        problems.append(f"the model's parameters or buffers changed {where} (work on a copy)")
    for key, tensor in (("x", batch.x), ("A", A), ("mask", batch.mask)):
        if not torch.equal(tensor, inputs[key]):
            problems.append(f"{'attributions' if key == 'A' else 'batch.' + key} modified in place {where}")
    if cls.dataset_level:
        if values.numel() != 1:
            problems.append(f"dataset_level metric returned {values.numel()} values {where}, expected 1")
        return values
    if values.shape != (len(batch),):
        problems.append(f"compute returned shape {tuple(values.shape)} {where}, expected ({len(batch)},): "
                        "one value per sample (NaN = excluded)")
        return values
    if values.isinf().any():
        problems.append(f"infinite values {where} for samples {values.isinf().nonzero().flatten().tolist()}")
    again = _score(cls, config, model, batch, A, target)
    if not torch.equal(again.nan_to_num(-7), values.nan_to_num(-7)):
        problems.append(f"a repeat gives other values {where}: draw randomness from (seed, batch.index) only")
    perm = torch.tensor(PERMUTATION)
    shuffled = _score(cls, config, model, batch[perm], A[perm], target[perm])
    try:  # other batch compositions: CPU kernels promise no bitwise equality, so a float tolerance
        torch.testing.assert_close(shuffled, values[perm], equal_nan=True)
    except AssertionError:
        problems.append(f"values do not follow their sample {where}: a permuted batch gives "
                        f"{shuffled.tolist()}, expected {values[perm].tolist()}")
    return values
