"""The same suite on a local Ray cluster gives exactly the local executor's results."""
import json

import pytest

from conftest import run_cli
from test_run import TINY, flop_counts

pytest.importorskip("ray")


def values(results):
    return {p.name: json.loads(p.read_text())["values"] for p in (results / "records").glob("*.json")}


def test_ray_executor_equals_local(write_suite, tmp_path):
    suite = write_suite(TINY.replace("methods: [erm]", "methods: [erm, sgt]"))  # sgt: a cost column to compare
    local, remote = tmp_path / "local", tmp_path / "ray"
    a = run_cli("run", str(suite), "--results", str(local), "--quiet", "--threads", "1")
    b = run_cli("run", str(suite), "--results", str(remote), "--quiet", "--threads", "1", "--executor", "ray")
    assert a.returncode == 0 and b.returncode == 0, b.stderr[-2000:]
    assert "trained 4 models, wrote 36 records" in b.stdout
    assert values(local) == values(remote) and len(values(remote)) == 36
    assert flop_counts(local) == flop_counts(remote) != {}
    assert (local / "LEADERBOARD.md").read_text() == (remote / "LEADERBOARD.md").read_text()
    record = json.loads(next((remote / "records").glob("*.json")).read_text())
    assert record["threads"] == 1
