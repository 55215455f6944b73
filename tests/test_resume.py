"""A run killed with SIGKILL at any moment loses at most the cells in flight; reruns complete exactly those."""
import json
import random
import signal
import subprocess
import sys
import time

from test_run import TINY


def values(results):
    return {p.name: json.loads(p.read_text())["values"] for p in (results / "records").glob("*.json")}


def command(suite, results):
    return [sys.executable, "-m", "xaibench", "run", str(suite), "--results", str(results), "--quiet"]


def test_sigkill_at_random_points_then_resume_equals_uninterrupted(write_suite, tmp_path):
    suite = write_suite(TINY)
    reference = tmp_path / "reference"
    subprocess.run(command(suite, reference), check=True, capture_output=True)

    results = tmp_path / "killed"
    rng = random.Random(7)
    for kill in range(3):  # each run is killed once a random number of new records has landed
        before = len(values(results)) if (results / "records").exists() else 0
        target = before + rng.randint(1, 4)
        proc = subprocess.Popen(command(suite, results), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if (results / "records").exists() and len(list((results / "records").glob("*.json"))) >= target:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(values(results)) < 18, f"kill {kill} should land mid-run"

    partial = values(results)
    resumed = subprocess.run(command(suite, results), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"skipped {len(partial)} finished cells" in resumed.stdout
    assert values(results) == values(reference)  # nothing lost, nothing duplicated, identical values
    assert (results / "LEADERBOARD.md").read_text() == (reference / "LEADERBOARD.md").read_text()
