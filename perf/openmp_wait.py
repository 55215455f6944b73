"""How OpenMP's wait policy changes training time on a quiet machine and beside one CPU-bound process.

Each setting trains a small CNN (100 Adam steps on 64 x 1 x 32 x 32, then 30 evaluation batches of 256) in a fresh
process, since libgomp reads its settings once when torch loads it. Settings: libgomp's default (spin 300,000 times
per wait; what `import xaibench` keeps on a quiet machine), the short spin (GOMP_SPINCOUNT=2000; what it sets
when other processes hold the cores: xaibench.openmp_wait), and PASSIVE (sleep at once). Prints wall
and CPU seconds and the wall ratio to the short spin, interleaved over ``--repeats`` rounds (best of each).
Run: python perf/openmp_wait.py [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

WORK = """
import time, torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1),
                      nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 4))
opt = torch.optim.Adam(model.parameters())
x, y = torch.rand(64, 1, 32, 32), torch.randint(0, 4, (64,))
wall, cpu = time.perf_counter(), time.process_time()
for _ in range(100):
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad(); loss.backward(); opt.step()
with torch.no_grad():
    for _ in range(30):
        model(torch.rand(256, 1, 32, 32))
print(time.perf_counter() - wall, time.process_time() - cpu)
"""
# An invalid OMP_WAIT_POLICY makes libgomp fall back to its default (with a warning on stderr, dropped here).
SETTINGS = {"libgomp default": {"OMP_WAIT_POLICY": "default"},
            "short spin (GOMP_SPINCOUNT=2000)": {"GOMP_SPINCOUNT": "2000"},
            "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"}}


def timed(extra: dict[str, str]) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", WORK], env={**env, **extra}, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print("| machine | setting | wall s | CPU s | wall / short spin |\n|---|---|---:|---:|---:|")
    for machine in ("quiet", "beside a CPU-bound process"):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if machine != "quiet" else None
        try:
            best = {name: (float("inf"), 0.0) for name in SETTINGS}
            for _ in range(args.repeats):
                for name, extra in SETTINGS.items():
                    best[name] = min(best[name], timed(extra))
        finally:
            if hog:
                hog.kill()
        ours = best["short spin (GOMP_SPINCOUNT=2000)"][0]
        for name, (wall, cpu) in best.items():
            print(f"| {machine} | {name} | {wall:.2f} | {cpu:.2f} | {wall / ours:.2f} |")


if __name__ == "__main__":
    main()
