"""Measure ERM's test accuracy on every task whose data is here, with each modality's default
architecture and the task's standard budget, and write docs/ERM_ACCURACY.md.

    .venv/bin/python docs/erm_accuracy.py [--results results/erm-accuracy] [--seeds 0]

It runs through the harness (so it resumes, and reuses models already trained), one suite per
modality, with ``missing_data: skip``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from xaibench.config import load_suite
from xaibench.registries import TASKS
from xaibench.runner import Runner
from xaibench.store import ResultStore

DEFAULT_ARCHITECTURES = {"image": ["small_cnn"], "time_series": ["ts_tcn", "ts_transformer"], "text": ["text_transformer"]}
OUT = Path(__file__).with_name("ERM_ACCURACY.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results/erm-accuracy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    store = ResultStore(args.results)
    rows = []
    for modality, architectures in DEFAULT_ARCHITECTURES.items():
        tasks = [name for name in TASKS.names() if TASKS.get(name).meta.modality == modality]
        suite_file = Path(args.results) / f"erm-{modality}.yaml"
        suite_file.parent.mkdir(parents=True, exist_ok=True)
        suite_file.write_text(yaml.safe_dump({
            "name": f"erm-accuracy-{modality}", "seeds": args.seeds, "missing_data": "skip", "tasks": tasks,
            "architectures": architectures, "methods": ["erm"], "explainers": ["saliency"], "metrics": ["accuracy"],
        }))
        suite = load_suite(str(suite_file))
        for notice in suite.notices:
            print(notice)
        Runner(suite, store).run()
        rows += table_rows(suite, store)
    OUT.write_text(render(rows))
    print(f"wrote {OUT}")


def table_rows(suite, store: ResultStore) -> list[tuple[str, ...]]:
    from xaibench.plan import make_plan

    rows = []
    for cell in make_plan(suite):
        (evaluation,) = [e for e in cell.evals if e.metric.name == "accuracy"]
        record, training = store.get("records", cell.eval_key(evaluation)), store.get("training", cell.key)
        budget = suite.budget_for(cell.task)
        rows.append((cell.task.label, cell.architecture.label, str(cell.seed),
                     f"{budget.epochs} x {budget.batch_size}, lr {budget.lr:g}",
                     f"{record['value']:.3f}" if record else "failed", f"{training['wall_time_s']:.0f} s" if training else ""))
    return rows


def render(rows: list[tuple[str, ...]]) -> str:
    lines = ["# ERM test accuracy per task", "",
             "Produced by `docs/erm_accuracy.py`: ERM with each modality's default architecture and the task's "
             "standard budget, on 2 CPU cores. Tasks whose data is not installed are left out.", "",
             "| Task | Architecture | Seed | Budget (epochs x batch, lr) | Test accuracy | Training time |",
             "|---|---|---:|---|---:|---:|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
