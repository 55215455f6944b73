"""A run killed with SIGKILL loses at most the cells in flight; the rerun completes exactly those."""
import json
import signal
import subprocess
import sys
import time

from test_run import TINY


def values(results):
    out = {}
    for path in (results / "records").glob("*.json"):
        rec = json.loads(path.read_text())
        out[path.name] = rec["values"]
    return out


def test_sigkill_then_resume_equals_uninterrupted(write_suite, tmp_path):
    suite = write_suite(TINY)
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, "-m", "xaibench", "run", str(suite), "--results", str(reference), "--quiet"],
                   check=True, capture_output=True)

    results = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "xaibench", "run", str(suite), "--results", str(results),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((results / "records").glob("*.json")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = values(results)
    assert 0 < len(partial) < 18, "the kill should land mid-run"

    resumed = subprocess.run([sys.executable, "-m", "xaibench", "run", str(suite), "--results", str(results),
                              "--quiet"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"skipped {len(partial)} finished cells" in resumed.stdout
    assert values(results) == values(reference)  # same keys, identical per-sample values
    assert (results / "LEADERBOARD.md").read_text() == (reference / "LEADERBOARD.md").read_text()
