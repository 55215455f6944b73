"""The metric contract for every registered metric (plugins included), through the plugin self-check
`xaibench.testing.check_metric`, and the check itself: each broken rule is found and named."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from conftest import REPO
from xaibench.metrics.base import Metric
from xaibench.metrics.functional.maps import pool
from xaibench.plugins import load_plugin_file
from xaibench.registries import METRICS
from xaibench.testing import CheckError, check_metric

load_plugin_file(str(REPO / "examples" / "attribution_entropy.py"))  # the plugin example is checked like the rest
# Requirements the self-check cannot meet; such metrics have their own end-to-end tests.
ELSEWHERE = {"retraining": "tests/test_roar.py (retrains models)"}


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_passes_its_check(name: str):
    report = check_metric(METRICS.get(name))
    if "all" in report.skipped:
        pytest.skip(f"{report.skipped['all']}: see " + "; ".join(ELSEWHERE[r] for r in METRICS.get(name).requires
                                                                    if r in ELSEWHERE))
    assert report.modalities and set(report.modalities) | set(report.skipped) == METRICS.get(name).modalities


def metric(compute, **attrs):
    """A throwaway image metric with the given compute."""
    @dataclasses.dataclass(frozen=True)
    class Config:
        pass

    return type("Broken", (Metric,), {"name": "broken", "category": "complexity", "higher_is_better": True,
                                      "Config": Config, "compute": compute,
                                      "__doc__": "A broken metric (test fixture).", **attrs})


def mass(A):
    return pool(A).flatten(1).sum(1).double()


@pytest.mark.parametrize("compute, message", [
    (lambda self, m, b, A, t: mass(A)[:3], r"compute returned shape \(3,\) on image, expected \(6,\)"),
    (lambda self, m, b, A, t: mass(A) + torch.arange(len(A)), r"values do not follow their sample on image"),
    (lambda self, m, b, A, t: torch.rand(len(A)).double(), r"a repeat gives other values on image"),
    (lambda self, m, b, A, t: mass(A.abs_()), r"attributions modified in place on image"),
    (lambda self, m, b, A, t: (m.train(), mass(A))[1], r"train/eval mode changed and not restored on image: <model>"),
    (lambda self, m, b, A, t: (m.features[0].register_forward_hook(lambda *a: None), mass(A))[1],
     r"hooks left on the model on image: features\.0\._forward_hooks"),
    (lambda self, m, b, A, t: mass(A) / 0, r"infinite values on image for samples \[0, 1, 2, 3, 4, 5\]"),
    (lambda self, m, b, A, t: 1 / 0, r"compute raised ZeroDivisionError on image: division by zero"),
])
def test_check_names_what_is_wrong(compute, message):
    with pytest.raises(CheckError, match=r"^metric 'broken': .*" + message):
        check_metric(metric(compute))


def test_check_names_broken_metadata():
    broken = metric(lambda self, m, b, A, t: mass(A), category="fidelity", higher_is_better=1,
                    modalities=frozenset({"audio"}), __doc__=None, version=2)
    with pytest.raises(CheckError) as info:
        check_metric(broken)
    assert str(info.value) == (
        "metric 'broken': version=2: must be a non-empty string (it goes into result keys); no docstring: its first "
        "line is what `xaibench list` shows; category='fidelity': choose from predictive, cost, faithfulness, "
        "localization, input_bias, sanity, complexity, robustness, axiomatic; higher_is_better must be True or False (the leaderboard's "
        "arrow and ranking); modalities=['audio']: a non-empty subset of ['image', 'text', 'time_series']")
    with pytest.raises(CheckError, match=r"metric 'broken': override compute"):
        check_metric(metric(Metric.compute))
    with pytest.raises(CheckError, match=r"is not a Metric subclass"):
        check_metric(int)


def test_check_rejects_a_bad_config():
    with pytest.raises(CheckError, match=r"metric 'pointing_game': config: params\.tolerance: -1\.0 is out of range"):
        check_metric(METRICS.get("pointing_game"), {"tolerance": -1})
