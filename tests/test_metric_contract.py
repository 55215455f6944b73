"""The metric contract for every registered metric (plugins included): metadata, and on a small model and
batch of each modality it supports, one float64 value per sample on the CPU that follows its sample (a
permuted batch, with its dataset indices, gives the permuted values) and does not change on a repeat."""
from __future__ import annotations

import typing

import pytest
import torch

from conftest import example_model
from xaibench.batch import Batch
from xaibench.metrics.base import Category, Metric
from xaibench.registries import METRICS

N, K = 6, 4
ARCH = {"image": "small_cnn", "time_series": "ts_tcn", "text": "text_transformer"}
# Requirements this generic harness cannot meet; such metrics have their own end-to-end tests.
ELSEWHERE = {"flint": "tests/test_methods.py (FLINT models)", "retraining": "tests/test_roar.py (retrains models)"}


def _batch(metric: type[Metric], modality: str) -> tuple[torch.nn.Module, Batch, torch.Tensor]:
    model, x = example_model(ARCH[modality], K)
    g = torch.Generator().manual_seed(1)
    spatial = x.shape[2:] if modality == "image" else x.shape[1:]
    mask = (torch.rand(len(x), *spatial, generator=g) > 0.6).float()
    if modality == "text":
        mask = mask * (x != 0)  # rationales never cover padding
    meta = {key: (torch.rand(len(x), generator=g) if key == "intensity" else
                  (torch.rand(len(x), *spatial, generator=g) > 0.8).float())
            for key in metric.requires - {"mask", "explainer"}}
    batch = Batch(x, torch.arange(len(x)) % K, mask, index=torch.arange(50, 50 + len(x)), meta=meta)
    if modality == "text":  # text attributions are taken at the embedding layer: N x L x D
        shape = (len(x), x.shape[1], 8)
    else:
        shape = x.shape
    return model.eval(), batch, torch.randn(*shape, generator=g)


def _call(metric: type[Metric], model, batch: Batch, A: torch.Tensor) -> torch.Tensor:
    m = metric()
    if "explainer" in metric.requires:
        from xaibench.registries import EXPLAINERS

        saliency = EXPLAINERS.get("saliency")
        m.make_explainer = lambda net: saliency(net)
    with torch.no_grad():
        target = model(batch.x).argmax(1)
    return m(model, batch, A, target)


@pytest.mark.parametrize("name", METRICS.names())
def test_metadata(name: str):
    cls = METRICS.get(name)
    assert cls.name == name and isinstance(cls.version, str) and cls.version
    assert cls.category in typing.get_args(Category)
    assert isinstance(cls.higher_is_better, bool)
    assert cls.modalities <= {"image", "time_series", "text"} and cls.modalities
    assert (cls.__doc__ or "").strip().splitlines()[0], "first docstring line is the one-line description"
    cls()  # the default config is valid


@pytest.mark.parametrize("name", METRICS.names())
def test_values_per_sample_follow_their_sample(name: str):
    cls = METRICS.get(name)
    if cls.requires & ELSEWHERE.keys():
        pytest.skip(f"needs {', '.join(sorted(cls.requires & ELSEWHERE.keys()))}: see "
                    + "; ".join(ELSEWHERE[r] for r in sorted(cls.requires & ELSEWHERE.keys())))
    for modality in sorted(cls.modalities):
        torch.manual_seed(0)
        model, batch, A = _batch(cls, modality)
        values = _call(cls, model, batch, A)
        assert values.dtype == torch.float64 and values.device.type == "cpu"
        if cls.dataset_level:
            assert values.numel() == 1
            continue
        assert values.shape == (len(batch),)
        assert not values.isinf().any()
        assert torch.equal(_call(cls, model, batch, A).nan_to_num(-7), values.nan_to_num(-7)), "repeatable"
        perm = torch.tensor([3, 0, 5, 1, 4, 2])
        shuffled = _call(cls, model, batch[perm], A[perm])
        torch.testing.assert_close(shuffled, values[perm], equal_nan=True, rtol=1e-6, atol=1e-9)
