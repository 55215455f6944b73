"""Time and FLOPs per training step of every method relative to ERM, on the same model and batch, beside its
declared cost. The FLOP ratio is the leaderboard's cost column (counted, the same on every machine); the time
ratio is measured here, on one thread, and depends on the machine.

One step = loss + backward + Adam step on a SmallCNN (width 16) and a batch of 64 shapes at 32 px; FLINT's step
includes Φ, h and d. expl_consistency's step is ERM's, plus a reweighting pass shown as its cost per sample
relative to an ERM step per sample. Floors: SGT ≈ 3x (saliency pass, two forwards, one backward), double
backprop (interp_grad, rrr, input_grad_l2) ≈ 2-3x.
Run: python perf/training_cost.py [--plugin FILE]
"""
from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

from timing import best_times  # perf/timing.py (the script's folder is on sys.path)
from xaibench.flops import FlopCounter
from xaibench.methods.base import TrainingContext
from xaibench.methods.expl_consistency import ExplanationConsistency
from xaibench.models.small_cnn import SmallCNN
from xaibench.plugins import load_plugin_file
from xaibench.registries import METHODS
from xaibench.tasks.images.shapes import Shapes

BATCH, REPEATS = 64, 5



def step_fn(name: str, batch) -> Callable[[], None]:
    """One optimizer step of method ``name`` on a fresh model (built once), at mid-training progress."""
    cls = METHODS.get(name)
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), (1, 32, 32), 4)
    method = cls()
    method.prepare(model, batch.x[:2])
    method.ctx = TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(0),
                                 total_steps=2, step=1, cam_layer=model.cam_layer, flint_layers=model.flint_layers,
                                 normalization=model.normalization)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        model.train()
        method.train_step(model, batch, optimizer)  # as in training: FLOPs counted once, then reused

    return step


def flops_of(fn: Callable[[], object]) -> int:
    with FlopCounter() as counter:
        fn()
    return counter.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plugin", action="append", default=[], help="a plugin file registering more methods")
    args = parser.parse_args()
    for plugin in args.plugin:
        load_plugin_file(plugin)
    torch.set_num_threads(1)  # the ratio measures the method, not thread-pool contention with other jobs
    batch = Shapes({"n_train": BATCH, "n_test": 4}).load("train", 0)
    erm = step_fn("erm", batch)
    print(f"one step = loss + backward + Adam; batch {BATCH}, small_cnn width 16, 1 thread; best of {REPEATS}")
    erm_flops = flops_of(erm)
    print(f"{'method':<20} {'time':>7} {'FLOPs':>7}  declared")
    for name in METHODS.names():
        step = step_fn(name, batch)
        ours, base = best_times(step, erm, repeats=REPEATS)
        print(f"{name:<20} {ours / base:>6.2f}x {flops_of(step) / erm_flops:>6.2f}x  {METHODS.get(name).cost}")
    method = ExplanationConsistency()
    model = SmallCNN(SmallCNN.Config(), (1, 32, 32), 4)
    reweight = lambda: method.consistency_weights(model, batch, BATCH)  # noqa: E731
    ours, base = best_times(reweight, erm, repeats=REPEATS)
    print(f"{'  reweighting pass':<20} {ours / base:>6.2f}x {flops_of(reweight) / erm_flops:>6.2f}x  per {BATCH} "
          f"samples (declared (n_steps + 2)x = {method.cfg.n_steps + 2}x forward-backward)")


if __name__ == "__main__":
    main()
