"""Measure RRR, interpretable gradients and explanation consistency against ERM at the standard suite's former
Fashion-MNIST scale (2000 training images, 500 test images, small_cnn; `standard` now trains on 50000 and records
every model's health figures in its training records), with their health figures, and write
docs/METHOD_HEALTH.md (TRAINING_METHODS.md; issue 13's acceptance).

    nice -n 5 .venv/bin/python docs/method_health.py [--results results/method-health] [--seeds 0 1 2]

It runs through the harness (so it resumes and reuses models already trained):

1. ERM on fashion_mnist and decoy_fashion_mnist, every seed;
2. RRR's calibration at each trained ERM decoy model: CE and penalty (per-sample means over the training set,
   the annotation being the task's shortcut mask), λ·penalty / CE at RRR's default λ, and λ* = CE / penalty;
3. the defaults, every seed: interp_grad and expl_consistency on fashion_mnist, rrr on decoy_fashion_mnist;
4. the sweeps, on ``--sweep-seeds``: interp_grad λ in {7.5e-4, 7.5e-2} (7.5e-3 is the default), rrr λ at
   1/10 and 10x its default, expl_consistency with linear weights (mix 0.5 and 0.25).
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from xaibench.cell import CellWorker
from xaibench.config import Suite, load_suite
from xaibench.methods.erm import ERM
from xaibench.methods.rrr import DEFAULT_LAM, rrr_terms
from xaibench.plan import TrainCell, make_plan
from xaibench.runner import Runner
from xaibench.store import ResultStore

OUT = Path(__file__).with_name("METHOD_HEALTH.md")
SIZE = {"n_train": 2000, "n_test": 500}
FMNIST = {"name": "fashion_mnist", "params": SIZE}
DECOY = {"name": "decoy_fashion_mnist", "params": SIZE}
IG_SWEEP = (7.5e-4, 7.5e-2)
RRR_SWEEP = (DEFAULT_LAM / 10, DEFAULT_LAM * 10)
EC_SWEEP = ({"weighting": "linear"}, {"weighting": "linear", "mix": 0.25})  # the default: rank weights, mix 0.5


def suite_file(results: Path, name: str, seeds: list[int], parts: list[dict[str, Any]]) -> Suite:
    path = results / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"name": name, "seeds": seeds, "architectures": ["small_cnn"],
                                    "metrics": ["accuracy"], "explainers": ["saliency"], "parts": parts}, sort_keys=False))
    return load_suite(str(path))


def run(suite: Suite, store: ResultStore) -> list[TrainCell]:
    start = time.perf_counter()
    Runner(suite, store, quiet=True).run()
    print(f"{suite.name}: {time.perf_counter() - start:.0f} s")
    return list(make_plan(suite))


def accuracy(store: ResultStore, cell: TrainCell) -> float:
    (evaluation,) = [e for e in cell.evals if e.metric.name == "accuracy"]
    return store.get("records", cell.eval_key(evaluation))["value"]


def calibration(suite: Suite, store: ResultStore, cell: TrainCell) -> dict[str, float]:
    """CE and RRR's penalty (per-sample means over the training set) at the stored ERM model of ``cell``."""
    worker = CellWorker(suite)
    train, _ = worker.data.load(cell.task)
    model = worker.trainer.new_model(cell, ERM(), train)
    model.load_state_dict(store.get_tensors("models", cell.key))
    model.eval()
    key = cell.task.cls.meta.shortcut_mask
    ce_sum, pen_sum = 0.0, 0.0
    for batch in train.minibatches(250):
        ce, penalty = rrr_terms(model, batch.x, batch.y, batch.meta[key])
        ce_sum, pen_sum = ce_sum + ce.item() * len(batch), pen_sum + penalty.item() * len(batch)
    ce, penalty = ce_sum / len(train), pen_sum / len(train)
    return {"ce": ce, "penalty": penalty, "ratio": DEFAULT_LAM * penalty / ce, "lam_star": ce / penalty}


def last(record: dict[str, Any], figure: str) -> float | None:
    values = [v for v in record.get("health", {}).get("per_epoch", {}).get(figure, []) if v is not None]
    return values[-1] if values else None


def mean_sd(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def method_label(cell: TrainCell) -> str:
    return cell.method.label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results/method-health")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sweep-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--calibrate-only", action="store_true", help="stop after step 2 (ERM and RRR's calibration)")
    args = parser.parse_args()
    results, store = Path(args.results), ResultStore(args.results)
    started = time.perf_counter()
    lines = ["# Training-method health at the standard suite's former Fashion-MNIST scale", "",
             "`standard` now trains on 50000 Fashion-MNIST images (decoy and textured: 10000); the health figures of "
             "its own models are in their training records, on the HTML board and in docs/REPRODUCTION.md's "
             "preconditions (all in range in the 5-seed run).", "",
             f"Produced by `docs/method_health.py` (seeds {args.seeds}, sweeps on seeds {args.sweep_seeds}): "
             "2000 training and 500 test images, small_cnn, the task's budget (12 epochs x 128, Adam lr 2e-3). "
             "Accuracy: mean ± sd over seeds. Health figures: the last epoch's mean, from the training records.", ""]

    erm = suite_file(results, "health-erm", args.seeds, [{"tasks": [FMNIST, DECOY], "methods": ["erm"]}])
    erm_cells = run(erm, store)
    cal = [calibration(erm, store, c) for c in erm_cells if c.task.name == "decoy_fashion_mnist"]
    lines += ["## RRR's calibration at the trained ERM decoy models", "",
              "Training set, per-sample means, gradients of the summed log-probabilities w.r.t. the [0, 1] input, "
              f"annotation = the swatch (`decoy_mask`); default λ = {DEFAULT_LAM:g}.", "",
              "| seed | CE | penalty | λ·penalty / CE at the default | λ* = CE / penalty |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {s} | {c['ce']:.4f} | {c['penalty']:.4g} | {c['ratio']:.3g} | {c['lam_star']:.3g} |"
              for s, c in zip(args.seeds, cal)]
    for s, c in zip(args.seeds, cal):
        print(f"RRR calibration, seed {s}: CE {c['ce']:.4f}, penalty {c['penalty']:.4g}, "
              f"lambda*penalty/CE at lambda={DEFAULT_LAM:g}: {c['ratio']:.3g}, lambda* = {c['lam_star']:.3g}")
    if args.calibrate_only:
        return

    methods = suite_file(results, "health-methods", args.seeds, [
        {"tasks": [FMNIST], "methods": ["interp_grad", "expl_consistency"]},
        {"tasks": [DECOY], "methods": ["rrr"]}])
    sweeps = suite_file(results, "health-sweeps", args.sweep_seeds, [
        {"tasks": [FMNIST], "methods": [{"name": "interp_grad", "params": {"lam": lam}} for lam in IG_SWEEP]
                                       + [{"name": "expl_consistency", "params": p} for p in EC_SWEEP]},
        {"tasks": [DECOY], "methods": [{"name": "rrr", "params": {"lam": lam}} for lam in RRR_SWEEP]}])
    cells = erm_cells + run(methods, store) + run(sweeps, store)

    groups: dict[tuple[str, str], list[TrainCell]] = {}
    for c in cells:
        groups.setdefault((c.task.name, method_label(c)), []).append(c)
    erm_acc = {(c.task.name, c.seed): accuracy(store, c) for c in erm_cells}  # paired: ERM on the same seeds
    lines += ["", "## Accuracy and health", "",
              "| task | method | seeds | test accuracy | vs ERM on the same seeds (points) | health (last epoch; mean over seeds) |",
              "|---|---|---|---:|---:|---|"]
    for (task, label), cs in groups.items():
        accs = [accuracy(store, c) for c in cs]
        records = [store.get("training", c.key) for c in cs]
        figures = sorted({f for r in records for f in r.get("health", {}).get("per_epoch", {})})
        health = ", ".join(f"{f} {statistics.mean(v):.3g}" for f in figures
                           if (v := [x for r in records if (x := last(r, f)) is not None]))
        warnings = sum(len(r.get("health", {}).get("warnings", [])) for r in records)
        delta = 100 * statistics.mean(a - erm_acc[task, c.seed] for a, c in zip(accs, cs))
        lines.append(f"| {task} | {label} | {', '.join(str(c.seed) for c in cs)} | {mean_sd(accs)} | "
                     f"{delta:+.1f} | {health}{f'; {warnings} warnings' if warnings else ''} |")
    trained = sum(store.get("training", c.key)["wall_time_s"] for c in cells)
    lines += ["", f"Training wall time of these {len(cells)} models (from their records): {trained:.0f} s on 2 CPU "
              f"cores shared with other jobs; this run: {time.perf_counter() - started:.0f} s (models already in "
              "the store are reused).", ""]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
