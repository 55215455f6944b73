"""Deletion AUC time / floor time, where the floor is the same number of plain batched forward passes.

SmallCNN on 256 samples of 1 x 28 x 28: HW = 784, s = 8, n = 98, so 256 * 99 images in chunks of 256.
Run: python perf/deletion_speed.py
"""
from __future__ import annotations

import math

import torch

from timing import best_times  # perf/timing.py (the script's folder is on sys.path)
from xaibench.metrics.functional.faithfulness import deletion_auc, step_sizes
from xaibench.models.small_cnn import SmallCNN

N, SHAPE, EVAL_BATCH = 256, (1, 28, 28), 256



def main() -> None:
    # One intra-op thread: the ratio then measures our overhead, not thread-pool contention with other jobs.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), SHAPE, num_classes=10).eval()
    x, A = torch.rand(N, *SHAPE), torch.randn(N, *SHAPE)
    with torch.no_grad():
        target = model(x).argmax(1)
    _, n = step_sizes(SHAPE[1] * SHAPE[2])
    chunks = math.ceil(N * (n + 1) / EVAL_BATCH)

    def floor() -> None:
        with torch.no_grad():
            for _ in range(chunks):
                model(x[:EVAL_BATCH]).softmax(-1)

    ours, base = best_times(lambda: deletion_auc(model, x, A, target, eval_batch_size=EVAL_BATCH), floor)
    print(f"{ours / base:.3f}")


if __name__ == "__main__":
    main()
