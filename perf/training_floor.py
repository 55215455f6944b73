"""The harness's ERM training against a bare PyTorch loop: the same model, data, batch, optimizer and threads.

The harness path is the one every cell takes (``TrainStage.fit``: the method's fit loop, the training context,
cost measurement and FLOP counting); the floor is a plain loop over shuffled minibatches. Prints the ratio
(target: at most 1.1), measured in one run, interleaved (perf/timing.py).
Run: python perf/training_floor.py [SUITE] [--epochs N] [--threads N]
"""
from __future__ import annotations

import argparse
import dataclasses

import torch
import torch.nn.functional as F

from timing import best_times  # perf/timing.py (the script's folder is on sys.path)
from xaibench.cell import CellWorker, model_inputs
from xaibench.config import load_suite
from xaibench.plan import make_plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", default="quick")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()

    suite = load_suite(args.suite)
    suite = dataclasses.replace(suite, budget={**suite.budget, "epochs": args.epochs})
    cell = next(c for c in make_plan(suite) if c.method.name == "erm")
    torch.set_num_threads(args.threads)
    worker = CellWorker(suite, device=torch.device("cpu"), threads=args.threads)
    train = worker.data.load(cell.task)[0]
    budget = suite.budget_for(cell.task)
    arch, meta = cell.architecture, cell.task.cls.meta

    def harness() -> None:
        worker.trainer.fit(cell, cell.method.cls(cell.method.config), train)

    def bare() -> None:
        torch.manual_seed(cell.seed)
        model = arch.cls(arch.config, meta.input_shape, meta.num_classes, **model_inputs(meta, train))
        optimizer = torch.optim.Adam(model.parameters(), lr=budget.lr, weight_decay=budget.weight_decay)
        generator = torch.Generator().manual_seed(cell.seed)
        model.train()
        for _ in range(budget.epochs):
            order = torch.randperm(len(train), generator=generator)
            for start in range(0, len(train), budget.batch_size):
                idx = order[start:start + budget.batch_size]
                loss = F.cross_entropy(model(train.x[idx]), train.y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()

    t_harness, t_bare = best_times(harness, bare, repeats=3)
    steps = budget.epochs * -(-len(train) // budget.batch_size)
    print(f"{cell.task.label} / {arch.label} / erm: {steps} steps of {budget.batch_size}, {args.threads} threads")
    print(f"harness {t_harness:.2f} s, bare loop {t_bare:.2f} s: ratio {t_harness / t_bare:.3f} (target <= 1.1)")


if __name__ == "__main__":
    main()
