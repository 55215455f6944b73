"""ROAD: quantus 0.6 time / our time, and our imputation's max |difference| from a per-image scipy spsolve.

SmallCNN on 64 samples of 1 x 28 x 28, p = 0.1, ..., 0.9 (quantus: percentages 10, ..., 90), noise 0.01 in both.
Quantus computes MoRF only (9 x 64 images, one spsolve each); ours computes MoRF and LeRF (18 x 64 images), so
the end-to-end ratio is conservative; the forward passes alone bound it (printed as ``forward_floor_ratio``).
The reference solver is quantus's ``noisy_linear_imputation`` (the official code's per-image spsolve) with noise 0.
Run: python perf/road_speed.py
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch

from xaibench.metrics.functional.maps import pool, rank_scores
from xaibench.metrics.functional.road import PERCENTAGES, linear_imputation, removal_sets, road_curves
from xaibench.models.small_cnn import SmallCNN

N, SHAPE, REPEATS = 64, (1, 28, 28), 2


def best_time(fn) -> float:
    best = math.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    import quantus
    from quantus.functions.perturb_func import noisy_linear_imputation

    # One intra-op thread on both sides: scipy's spsolve is single-threaded too.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), SHAPE, num_classes=10).eval()
    x, A = torch.rand(N, *SHAPE), torch.randn(N, *SHAPE)
    with torch.no_grad():
        target = model(x).argmax(1)
    metric = quantus.ROAD(percentages=[round(100 * p) for p in PERCENTAGES], disable_warnings=True)

    def theirs() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metric(model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=A.numpy(), device="cpu",
                   batch_size=N)

    def ours() -> None:
        road_curves(model, x, A, target, target, pooling="sum")

    def forwards() -> None:  # our floor: the 2 P N forward passes, in the kernel's chunks
        images = x.repeat_interleave(2 * len(PERCENTAGES), 0)
        with torch.no_grad():
            for lo in range(0, len(images), 252):
                model(images[lo:lo + 252]).softmax(-1)

    ours()  # warm-up
    t_ours, t_theirs, t_floor = best_time(ours), best_time(theirs), best_time(forwards)

    sets = removal_sets(rank_scores(pool(A, "sum")), PERCENTAGES)
    start = time.perf_counter()
    imputed = linear_imputation(x, sets).double().numpy()
    t_impute = time.perf_counter() - start
    start = time.perf_counter()
    diff = 0.0
    for i in range(N):
        for s in range(sets.shape[1]):
            ref = noisy_linear_imputation(x[i].double().numpy(), np.flatnonzero(sets[i, s].numpy()), noise=0.0)
            diff = max(diff, float(np.abs(imputed[i, s] - ref).max()))
    t_spsolve = time.perf_counter() - start

    print(f"speedup_vs_quantus_road: {t_theirs / t_ours:.2f}  (quantus {t_theirs:.3f} s, ours {t_ours:.3f} s)")
    print(f"forward_floor_ratio: {t_theirs / t_floor:.2f}  (our forward passes alone {t_floor:.3f} s)")
    print(f"imputation_speedup_vs_spsolve: {t_spsolve / t_impute:.2f}  ({sets.shape[1] * N} images)")
    print(f"max_abs_diff_vs_spsolve: {diff:.2e}")


if __name__ == "__main__":
    main()
