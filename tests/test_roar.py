"""ROAR / KAR: removal kernels (closed forms), the t = 1 identity, and retrained-model caching in the harness."""
from __future__ import annotations

import json

import pytest
import torch

from xaibench.errors import ConfigError
from xaibench.metrics.functional.roar import normalized_area, random_removal_mask, remove, removal_mask
from xaibench.metrics.roar import Kar, Roar
from xaibench.store import ResultStore


def test_roar_removes_the_top_fraction_and_kar_the_bottom():
    A = torch.arange(16.).view(1, 1, 4, 4)  # pixel i has relevance i
    roar = removal_mask(A, 0.3, "roar").flatten()  # floor(0.3 * 16) = 4 pixels
    kar = removal_mask(A, 0.3, "kar").flatten()
    assert roar.nonzero().flatten().tolist() == [12, 13, 14, 15]
    assert kar.nonzero().flatten().tolist() == [0, 1, 2, 3]
    # without ties, ROAR at t and KAR at 1 - t split the pixels between them
    assert torch.equal(removal_mask(A, 0.25, "roar") ^ removal_mask(A, 0.75, "kar"), torch.ones(1, 1, 4, 4).bool())


def test_pixel_ranking_pools_channels_and_value_ranking_does_not():
    A = torch.zeros(1, 2, 1, 4)
    A[0, 0, 0] = torch.tensor([0., 5., -3., 1.])
    A[0, 1, 0] = torch.tensor([4., -4., 0., 0.])  # pooled sum,abs: [4, 1, 3, 1]
    assert removal_mask(A, 0.5, "roar").flatten().tolist() == [True, False, True, False]
    # value ranking: the 4 largest signed entries of 8 are 5, 4, 1 and 0 (ties in the seeded order)
    values = removal_mask(A, 0.5, "roar", rank_unit="value")
    assert values.shape == (1, 2, 1, 4) and values.sum() == 4 and values[0, 0, 0, 1] and values[0, 1, 0, 0]
    squared = removal_mask(A, 0.5, "roar", rank_unit="value", squared=True)  # 25, 16, 16, 9
    assert squared.flatten().nonzero().flatten().tolist() == [1, 2, 4, 5]


def test_random_baseline_removes_an_exact_count_independent_of_batch_order():
    index = torch.tensor([5, 9, 2])
    m = random_removal_mask((3, 1, 6, 6), 0.5, index, seed=3)
    assert m.flatten(1).sum(1).tolist() == [18, 18, 18]
    flipped = random_removal_mask((3, 1, 6, 6), 0.5, index.flip(0), seed=3)
    assert torch.equal(flipped, m.flip(0))
    assert not torch.equal(m, random_removal_mask((3, 1, 6, 6), 0.5, index, seed=4))


def test_everything_removed_leaves_the_mean_image_so_accuracy_is_one_over_k():
    """METRICS.md: at t = 1 all test inputs equal the mean image; a model predicts one class for all of them,
    so on a balanced test set of K classes its accuracy is 1/K."""
    torch.manual_seed(0)
    K, x = 4, torch.rand(40, 3, 5, 5)
    y = torch.arange(40) % K
    fill = torch.tensor([0.2, 0.5, 0.7])
    out = remove(x, removal_mask(torch.rand(40, 3, 5, 5), 1.0, "roar"), fill)
    assert torch.equal(out, fill.view(1, 3, 1, 1).expand_as(x))
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(75, K))
    assert (model(out).argmax(1) == y).double().mean().item() == 1 / K


def test_normalized_area_of_a_constant_curve_is_the_constant():
    t = [0.1, 0.3, 0.5, 0.7, 0.9]
    assert normalized_area(t, torch.full((2, 5), 0.6, dtype=torch.float64)).tolist() == pytest.approx([0.6, 0.6], abs=1e-15)
    # trapezoid by hand: 0.2 * ((1 + .5) + (.5 + .5) + (.5 + 0) + (0 + 0)) / 2 / 0.8
    assert normalized_area(t, torch.tensor([[1., .5, .5, 0., 0.]])).item() == pytest.approx(0.375, abs=1e-15)


def test_roar_and_kar_share_the_random_baseline_and_cache_keys():
    roar, kar = Roar({"fractions": [0.5, 0.9]}), Kar({"fractions": [0.5, 0.9]})
    assert [m for m, _ in roar.runs()] == ["roar", "roar", "random", "random"]
    assert roar.ranking_key("random") == kar.ranking_key("random")
    assert roar.ranking_key("roar") == {"rank_unit": "pixel", "pooling": "sum,abs", "tie_seed": 0, "ranking": "exact"}
    with pytest.raises(ConfigError, match="fractions=\\[0.5\\]"):
        Roar({"fractions": [0.5]})


SUITE = """
name: roar_small
seeds: [0]
tasks:
  - {name: shapes, params: {n_train: 240, n_test: 80}}
architectures: [small_cnn]
methods: [erm, sgt]
explainers: [saliency]
metrics: [{name: roar, params: {fractions: [0.5, 0.9]}}, {name: kar, params: {fractions: [0.5, 0.9]}}]
budget: {epochs: 1}
evaluation: {n_samples: 16}
"""


def _values(root):
    return {(r["labels"]["method"], r["labels"]["metric"]): (r["values"], r["details"])
            for r in ResultStore(root).records()}


def test_retrained_models_are_shared_cached_and_reused(write_suite, tmp_path):
    from tests.conftest import run_cli

    suite, results = write_suite(SUITE), tmp_path / "results"
    done = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert done.returncode == 0, done.stderr
    retrained = sorted((results / "retrained").glob("*.json"))
    # per model: ROAR 2 + KAR 2; the random baseline's 2 are shared by both methods and both metrics
    assert len(retrained) == 2 * 4 + 2
    modes = sorted(json.loads(p.read_text())["mode"] for p in retrained)
    assert modes == ["kar"] * 4 + ["random"] * 2 + ["roar"] * 4
    first = _values(results)
    assert len(first) == 4 and all(len(v) == 80 for v, _ in first.values())  # the whole test split
    # the random baseline is the same in every record: one set of models
    assert len({json.dumps(d["curves"]["series"]["random"]) for _, d in first.values()}) == 1
    # drop the records: a rerun retrains nothing (cached models) and gives identical values
    for path in (results / "records").glob("*.json"):
        path.unlink()
    again = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert again.returncode == 0, again.stderr
    assert sorted((results / "retrained").glob("*.json")) == retrained
    assert [p.stat().st_mtime_ns for p in retrained] == \
        [p.stat().st_mtime_ns for p in sorted((results / "retrained").glob("*.json"))]
    assert _values(results) == first
