"""A run killed with SIGKILL at any moment loses at most the cells in flight; reruns complete exactly those."""
import json
import random
import signal
import subprocess
import sys
import time

from test_run import TINY, flop_counts


def values(results):
    return {p.name: json.loads(p.read_text())["values"] for p in (results / "records").glob("*.json")}


def command(suite, results):
    return [sys.executable, "-m", "xaibench", "run", str(suite), "--results", str(results), "--quiet"]


def test_sigkill_at_random_points_then_resume_equals_uninterrupted(write_suite, tmp_path):
    # 6 models, 54 records; with SGT, so that the cost column (training FLOPs over ERM's) is compared too
    suite = write_suite(TINY.replace("seeds: [0, 1]", "seeds: [0, 1, 2]")
                        .replace("methods: [erm]", "methods: [erm, sgt]"))
    reference = tmp_path / "reference"
    start = time.monotonic()
    subprocess.run(command(suite, reference), check=True, capture_output=True)
    duration = time.monotonic() - start  # kill times scale with this machine's speed

    results = tmp_path / "killed"
    rng = random.Random(7)
    seen = []
    for _ in range(3):  # each run: wait for one more cell to land, then kill at a random moment after it
        before = len(values(results)) if (results / "records").exists() else 0
        proc = subprocess.Popen(command(suite, results), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10 * duration
        while proc.poll() is None and time.monotonic() < deadline and \
                len(list((results / "records").glob("*.json"))) <= before:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.15) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        seen.append(len(values(results)))
    assert 0 < seen[0] < 54, f"the first kill should land mid-run: {seen}"

    partial = values(results)
    resumed = subprocess.run(command(suite, results), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"skipped {len(partial)} finished cells" in resumed.stdout
    assert values(results) == values(reference)  # nothing lost, nothing duplicated, identical values
    assert flop_counts(results) == flop_counts(reference) != {}
    board = (results / "LEADERBOARD.md").read_text()
    assert board == (reference / "LEADERBOARD.md").read_text() and "Train FLOPs ×ERM ↓" in board
