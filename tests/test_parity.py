"""Every explainer and metric against its reference (xaibench.parity), and docs/PARITY.md generated from the same
comparisons."""
from __future__ import annotations

import re
import subprocess
import sys
import warnings

import pytest

from conftest import REPO
from xaibench.parity import comparisons
from xaibench.registries import EXPLAINERS, METRICS

pytest.importorskip("quantus")
MEASURED = [c for c in comparisons() if c.run is not None]


@pytest.mark.usefixtures("deterministic", "one_thread")
@pytest.mark.parametrize("c", MEASURED, ids=[c.label for c in MEASURED])
def test_equals_its_reference(c):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert c.run() <= c.tolerance


def test_every_registered_component_has_a_row_and_no_row_is_unknown():
    rows = {(c.kind, c.name) for c in comparisons()}
    # Built-in components only: plugin files that other tests load (examples/) register theirs in the same process,
    # and bridged `quantus.<Metric>` classes (quantus itself, the reference) are registered when first named.
    builtin = lambda registry: {n for n in registry.names()  # noqa: E731
                                if registry.get(n).__module__.startswith("xaibench.") and not n.startswith("quantus.")}
    registered = {("explainer", n) for n in builtin(EXPLAINERS)} | {("metric", n) for n in builtin(METRICS)}
    assert rows == registered


def test_the_script_reproduces_its_rows_of_docs_parity(tmp_path):
    """A subset (a captum, a pytorch-grad-cam, a quantus, a no-reference row) rerun equals docs/PARITY.md's lines."""
    out = tmp_path / "PARITY.md"
    names = ["saliency", "score_cam", "gini", "mprt"]
    run = subprocess.run([sys.executable, str(REPO / "docs" / "parity.py"), "--only", ",".join(names),
                          "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    table = [line for line in out.read_text().splitlines() if line.startswith("| ") and "`" in line]
    assert {re.search(r"`(\w+)`", line).group(1) for line in table} == set(names)
    committed = (REPO / "docs" / "PARITY.md").read_text().splitlines()
    assert all(line in committed for line in table), "docs/PARITY.md is stale: run python docs/parity.py"
