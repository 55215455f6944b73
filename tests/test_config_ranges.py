"""Every numeric parameter has a valid range that validation enforces before any work (xaibench.ranges).

The catalogue test walks the Config of every registered component, the budget and the evaluation block, and
tries values just outside each declared bound (and NaN/infinity for floats): each must be refused with one line
naming the key. The CLI tests show the promise end to end: one line, exit code 2, nothing written.
"""
from __future__ import annotations

import dataclasses

import pytest

from conftest import run_cli
from xaibench.budget import Budget
from xaibench.component import parse_config
from xaibench.config import Evaluation, load_suite
from xaibench.errors import ConfigError
from xaibench.methods.sgt import SGT
from xaibench.ranges import Range
from xaibench.registries import REGISTRIES
from xaibench.testing import numeric_fields, out_of_range_params

CONFIGS = {f"{kind}/{name}": REGISTRIES[kind].get(name).Config for kind in REGISTRIES
           for name in REGISTRIES[kind].names()}
CONFIGS.update({"budget": Budget, "evaluation": Evaluation})
CASES = [(owner, key, value) for owner, cls in CONFIGS.items() for key, value in out_of_range_params(cls)]


def test_the_catalogue_finds_fields_of_every_kind():
    owners = {owner.split("/")[0] for owner, _, _ in CASES}
    assert owners == {*REGISTRIES, "budget", "evaluation"}
    assert len(CASES) > 150


@pytest.mark.parametrize("owner", sorted(CONFIGS))
def test_every_int_field_declares_a_range(owner):
    """Floats are at least finite; an int has no such default, so every int field must say what it accepts."""
    missing = [f.name for f in numeric_fields(CONFIGS[owner]) if f.number is int and not f.ranges]
    assert missing == [], f"{owner}: int fields without a Range (xaibench.ranges): {missing}"


@pytest.mark.parametrize("owner, key, value", CASES, ids=[f"{o}.{k}={v!r}" for o, k, v in CASES])
def test_out_of_range_values_are_refused(owner, key, value):
    with pytest.raises(ConfigError) as info:
        parse_config(CONFIGS[owner], {key: value}, "params")
    message = str(info.value)
    assert message.startswith(f"params.{key}") and "\n" not in message
    assert "out of range" in message or "not a finite number" in message


@pytest.mark.parametrize("owner", sorted(CONFIGS))
def test_defaults_are_in_range(owner):
    cls = CONFIGS[owner]
    default = cls()
    assert parse_config(cls, {f.name: getattr(default, f.name) for f in dataclasses.fields(cls)}) == default


def test_range_messages_and_edges():
    assert str(Range(ge=1)) == ">= 1" and str(Range(gt=0, lt=1)) == "> 0 and < 1" and str(Range()) == "any number"
    assert 0 in Range(ge=0) and 0 not in Range(gt=0) and 1 in Range(le=1) and 1 not in Range(lt=1)
    with pytest.raises(ConfigError, match=r"^params\.k: 1\.5 is out of range \(must be >= 0 and <= 1\)$"):
        SGT({"k": 1.5})
    with pytest.raises(ConfigError, match=r"^params\.fractions\[0\]: 0\.0 is out of range \(must be > 0 and < 1\)$"):
        REGISTRIES["metrics"].get("roar")({"fractions": [0.0, 0.5]})
    with pytest.raises(ConfigError, match=r"^params\.n_train: 0 is out of range"):
        REGISTRIES["tasks"].get("fashion_mnist")({"n_train": 0})  # Optional: None stays allowed, 0 does not
    with pytest.raises(ConfigError, match=r"^params\.lr: nan is not a finite number$"):
        parse_config(Budget, {"lr": float("nan")}, "params")


def test_a_ready_config_is_checked_too():
    """A Config built directly (bypassing the suite parser) is refused when a component receives it."""
    with pytest.raises(ConfigError, match=r"^sgt: params\.k: -0\.5 is out of range"):
        SGT(SGT.Config(k=-0.5))
    arch = REGISTRIES["architectures"].get("small_cnn")
    with pytest.raises(ConfigError, match=r"^small_cnn: params\.width: 0 is out of range"):
        arch(arch.Config(width=0), (1, 32, 32), 4)


GOOD = """\
name: t
seeds: [0]
tasks: [{name: shapes, params: {n_train: 40, n_test: 20}}]
architectures: [small_cnn]
methods: [erm]
explainers: [saliency]
metrics: [accuracy]
"""


ACCEPTANCE = [
    ("metrics: [accuracy]", "metrics: [{name: deletion_auc, params: {n_steps: 0}}]",
     "metrics[0].params.n_steps: 0 is out of range (must be >= 1)"),
    ("seeds: [0]", "seeds: [0]\nevaluation: {n_samples: -4}", "evaluation.n_samples: -4 is out of range (must be >= 1)"),
    ("metrics: [accuracy]", "metrics: [{name: pointing_game, params: {tolerance: -3}}]",
     "metrics[0].params.tolerance: -3.0 is out of range (must be >= 0)"),
    ("seeds: [0]", "seeds: [0]\nbudget: {epochs: 0}", "budget.epochs: 0 is out of range (must be >= 1)"),
    ("seeds: [0]", "seeds: [0]\nbudget: {lr: 0}", "budget.lr: 0.0 is out of range (must be > 0)"),
    ("methods: [erm]", "methods: [{name: sgt, params: {k: 1.5}}]",
     "methods[0].params.k: 1.5 is out of range (must be >= 0 and <= 1)"),
    ("metrics: [accuracy]", "metrics: [{name: roar, params: {fractions: [0.0, 0.5]}}]",
     "metrics[0].params.fractions[0]: 0.0 is out of range (must be > 0 and < 1)"),
    ("metrics: [accuracy]", "metrics: [{name: roar, params: {fractions: [0.5, 1.0]}}]",
     "metrics[0].params.fractions[1]: 1.0 is out of range (must be > 0 and < 1)"),
    ("seeds: [0]", "seeds: [-1]", "seeds: expected a non-empty list of integers >= 0, got [-1]"),
]


@pytest.mark.parametrize("old, new, message", ACCEPTANCE)
def test_suite_validation_refuses_out_of_range_values(write_suite, old, new, message):
    path = write_suite(GOOD.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_suite(str(path))
    assert str(info.value) == f"{path}: {message}"


@pytest.mark.parametrize("old, new, message", [ACCEPTANCE[0], ACCEPTANCE[1], ACCEPTANCE[5]])
def test_cli_refuses_out_of_range_values(write_suite, tmp_path, old, new, message):
    """Through the real command (a few cases: each takes seconds; the path from load_suite to the CLI's one
    line is shared by every ConfigError)."""
    path = write_suite(GOOD.replace(old, new))
    results = tmp_path / "results"
    proc = run_cli("run", str(path), "--results", str(results), "--quiet")
    assert (proc.returncode, proc.stderr.strip().splitlines(), proc.stdout) == (
        2, [f"xaibench: error: {path}: {message}"], "")
    assert not results.exists()
