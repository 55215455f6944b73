"""Peak memory of the perturbation metrics on 10,000 random 1 x 28 x 28 samples with 100 steps (SmallCNN).

Each metric runs in a fresh subprocess: peak RSS (``ru_maxrss``) after imports, model and data creation is the
baseline; the metric's cost is the peak after it minus that baseline. The limit (2 GB, the issue's acceptance)
applies to the absolute peak, which is what a user's machine must hold; the table shows both and the ratio.
Exits non-zero if any absolute peak is over the limit.
Run: python perf/memory.py [--n 10000] [--metrics deletion_auc insertion_auc ...]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

LIMIT_MB = 2048.0
SHAPE = (1, 28, 28)
METRICS = ("deletion_auc", "insertion_auc", "road", "ad_ai_ag")


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(metric: str, n: int, threads: int) -> dict[str, float]:
    """Build the model and data, then run one metric; peak RSS before and after (MB)."""
    import torch

    from xaibench.metrics.functional.confidence import average_drop, average_gain, average_increase, \
        masked_confidence
    from xaibench.metrics.functional.faithfulness import deletion_auc, insertion_auc
    from xaibench.metrics.functional.road import road_auc, road_combined, road_curves
    from xaibench.models.small_cnn import SmallCNN

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), SHAPE, num_classes=10).eval()
    x, A = torch.rand(n, *SHAPE), torch.randn(n, *SHAPE)
    with torch.no_grad():
        target = torch.cat([model(x[i:i + 256]).argmax(1) for i in range(0, n, 256)])
    index = torch.arange(n)
    base = rss_mb()
    start = time.perf_counter()
    if metric == "deletion_auc":
        values = [deletion_auc(model, x, A, target, index=index, n_steps=100)]
    elif metric == "insertion_auc":
        values = [insertion_auc(model, x, A, target, index=index, n_steps=100)]
    elif metric == "road":
        rc = road_curves(model, x, A, target, target, index=index)
        values = [road_auc(rc.p, rc.morf_prob), road_auc(rc.p, rc.lerf_prob), road_combined(rc.morf_prob, rc.lerf_prob)]
    elif metric == "ad_ai_ag":  # AD, AI and AG share (Y, O)
        Y, O = masked_confidence(model, x, A, target)
        values = [average_drop(Y, O), average_increase(Y, O), average_gain(Y, O)]
    else:
        raise SystemExit(f"unknown metric {metric!r}; choose from {', '.join(METRICS)}")
    seconds = time.perf_counter() - start
    assert all(len(v) == n for v in values)
    return {"baseline_mb": base, "peak_mb": rss_mb(), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples (default 10000)")
    parser.add_argument("--metrics", nargs="+", default=list(METRICS), choices=METRICS)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (memory does not depend on it)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n, args.threads)))
        return
    print(f"{args.n} samples of {'x'.join(map(str, SHAPE))}, 100 steps, SmallCNN; limit {LIMIT_MB:.0f} MB")
    print(f"{'metric':<16}{'baseline MB':>12}{'metric MB':>11}{'peak MB':>9}{'peak/limit':>12}{'time s':>8}")
    over = []
    for metric in args.metrics:
        proc = subprocess.run([sys.executable, __file__, "--child", metric, "--n", str(args.n),
                               "--threads", str(args.threads)], capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"{metric} failed:\n{proc.stderr}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        ratio = r["peak_mb"] / LIMIT_MB
        print(f"{metric:<16}{r['baseline_mb']:>12.0f}{r['peak_mb'] - r['baseline_mb']:>11.0f}{r['peak_mb']:>9.0f}"
              f"{ratio:>12.2f}{r['seconds']:>8.0f}", flush=True)
        if ratio > 1:
            over.append(metric)
    if over:
        sys.exit(f"over the {LIMIT_MB:.0f} MB limit: {', '.join(over)}")


if __name__ == "__main__":
    main()
