"""Each perturbation metric's time against its floor: the same number of plain batched forward passes, on the
same model and batch size, measured in one run (target: at most 1.15x; ROAD's floor leaves out its imputation,
which perf/road_speed.py measures against quantus).

SmallCNN on 256 samples of 1 x 28 x 28, eval batches of 256, one intra-op thread (the ratio then measures our
overhead, not thread-pool contention with other jobs).
Run: python perf/perturbation_speed.py
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch

from timing import best_times, cnn_case  # perf/timing.py (the script's folder is on sys.path)
from xaibench.metrics.functional import confidence, faithfulness, masked_accuracy, road

N, SHAPE, EVAL_BATCH = 256, (1, 28, 28), 256


def main() -> None:
    model, x, A, target = cnn_case(N, SHAPE)
    n_curve = faithfulness.step_sizes(SHAPE[1] * SHAPE[2])[1] + 1
    n_road = 2 * len(road.PERCENTAGES)

    def forwards(images_per_sample: int) -> Callable[[], None]:
        def floor() -> None:
            with torch.no_grad():
                for _ in range(math.ceil(N * images_per_sample / EVAL_BATCH)):
                    model(x[:EVAL_BATCH]).softmax(-1)
        return floor

    kw = dict(eval_batch_size=EVAL_BATCH)
    metrics = {
        "deletion (zeros)": (lambda: faithfulness.deletion_auc(model, x, A, target, **kw), n_curve),
        "deletion (blur)": (lambda: faithfulness.deletion_auc(model, x, A, target, substrate="blur", **kw), n_curve),
        "insertion (blur)": (lambda: faithfulness.insertion_auc(model, x, A, target, **kw), n_curve),
        "AD / AI / AG (shared)": (lambda: confidence.masked_confidence(model, x, A, target, **kw), 2),
        "masked accuracy": (lambda: masked_accuracy.masked_accuracy_curve(model, x, A, target, **kw),
                            len(masked_accuracy.FRACTIONS)),
        "ROAD MoRF + LeRF": (lambda: road.road_curves(model, x, A, target, **kw), n_road),
    }
    print("| metric | forward passes per sample | ours / floor |\n|---|---:|---:|")
    for name, (fn, per_sample) in metrics.items():
        ours, floor = best_times(fn, forwards(per_sample))
        print(f"| {name} | {per_sample} | {ours / floor:.3f} |")


if __name__ == "__main__":
    main()
