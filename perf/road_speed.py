"""ROAD: quantus 0.6 time / our time, and our imputation's max |difference| from a per-image scipy spsolve.

SmallCNN on 64 samples of 1 x 28 x 28, p = 0.1, ..., 0.9 (quantus: percentages 10, ..., 90), noise 0.01 in both.
Quantus computes MoRF only (9 x 64 images, one spsolve each, one batched forward pass per p); ``road_curves``
computes MoRF and LeRF (18 x 64 images), so its ratio is conservative. The like-for-like ratio times our MoRF half
alone (the same imputation and forward chunks as ``road_curves``). Our bare forward passes bound both ratios:
quantus / floor is the ceiling that a free imputation would reach.
The reference solver is quantus's ``noisy_linear_imputation`` (the official code's per-image spsolve) with noise 0.
Run: python perf/road_speed.py
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import torch

from timing import best_times, cnn_case  # perf/timing.py (the script's folder is on sys.path)
from xaibench.metrics.functional.maps import pool, rank_positions
from xaibench.metrics.functional.road import (PERCENTAGES, linear_imputation, noisy_linear_imputation,
                                              removal_sets, road_curves)

N, SHAPE, EVAL_BATCH = 64, (1, 28, 28), 256



def main() -> None:
    import quantus
    from quantus.functions.perturb_func import noisy_linear_imputation as reference_imputation

    model, x, A, target = cnn_case(N, SHAPE)  # one intra-op thread on both sides: scipy's spsolve is too
    metric = quantus.ROAD(percentages=[round(100 * p) for p in PERCENTAGES], disable_warnings=True)

    def theirs() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metric(model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=A.numpy(), device="cpu",
                   batch_size=N)

    def ours() -> None:
        road_curves(model, x, A, target, target, pooling="sum", eval_batch_size=EVAL_BATCH)

    P = len(PERCENTAGES)

    def ours_morf() -> None:  # road_curves' steps for the MoRF sets only, in chunks filling one forward pass each
        morf = removal_sets(rank_positions(pool(A, "sum")), PERCENTAGES)[:, :P]
        per_chunk = EVAL_BATCH // P
        with torch.no_grad():
            for lo in range(0, N, per_chunk):
                sl = slice(lo, lo + per_chunk)
                images = noisy_linear_imputation(x[sl], morf[sl], index=torch.arange(N)[sl])
                model(images.flatten(0, 1)).softmax(-1)

    def floor(n_sets: int):  # our bare forward passes: n_sets images per sample, in the kernel's chunks
        images = x.repeat_interleave(n_sets, 0)
        size = EVAL_BATCH // n_sets * n_sets

        def run() -> None:
            with torch.no_grad():
                for lo in range(0, len(images), size):
                    model(images[lo:lo + size]).softmax(-1)
        return run

    ours()  # warm-up
    t_ours, t_morf, t_theirs, t_floor, t_floor_morf = best_times(
        ours, ours_morf, theirs, floor(2 * P), floor(P), warmup=False)

    sets = removal_sets(rank_positions(pool(A, "sum")), PERCENTAGES)
    start = time.perf_counter()
    imputed = linear_imputation(x, sets).double().numpy()
    t_impute = time.perf_counter() - start
    start = time.perf_counter()
    diff = 0.0
    for i in range(N):
        for s in range(sets.shape[1]):
            ref = reference_imputation(x[i].double().numpy(), np.flatnonzero(sets[i, s].numpy()), noise=0.0)
            diff = max(diff, float(np.abs(imputed[i, s] - ref).max()))
    t_spsolve = time.perf_counter() - start

    print(f"speedup_vs_quantus_road: {t_theirs / t_ours:.2f}  (quantus MoRF {t_theirs:.3f} s, ours MoRF+LeRF "
          f"{t_ours:.3f} s)")
    print(f"speedup_morf_only: {t_theirs / t_morf:.2f}  (like for like: ours MoRF {t_morf:.3f} s)")
    print(f"ceiling_morf_only: {t_theirs / t_floor_morf:.2f}  (our {P * N} bare forward passes {t_floor_morf:.3f} s)")
    print(f"ceiling_morf_lerf: {t_theirs / t_floor:.2f}  (our {2 * P * N} bare forward passes {t_floor:.3f} s)")
    print(f"imputation_speedup_vs_spsolve: {t_spsolve / t_impute:.2f}  ({sets.shape[1] * N} images)")
    print(f"max_abs_diff_vs_spsolve: {diff:.2e}")


if __name__ == "__main__":
    main()
