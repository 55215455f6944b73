"""The `xaibench` command: run a suite, render the leaderboard, list components."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

from xaibench.errors import XaibenchError

if TYPE_CHECKING:
    from xaibench.record import EvaluationRecord, TrainingRecord

SUITE_FILTER_HELP = ("only the records of this suite (a YAML file or a built-in name) as it is now configured, at any "
                     "seed: a store may also hold other suites or superseded configurations under the same labels")
KINDS = ("tasks", "architectures", "methods", "explainers", "metrics")
# --format -> (module of xaibench.leaderboard, its render function)
FORMATS = {"md": ("markdown", "render_markdown"), "html": ("html", "render_html"), "csv": ("csv_table", "render_csv"),
           "latex": ("latex", "render_latex")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xaibench",
        description="Benchmark interpretability-oriented training methods: train every method x architecture x "
                    "task x seed, explain each model, score the explanations, and render a leaderboard.",
        epilog="Examples:\n  xaibench run                       the default suite -> results/LEADERBOARD.md\n"
               "  xaibench run my_suite.yaml --plugin my_method.py\n"
               "  xaibench leaderboard --out LEADERBOARD.md\n  xaibench list methods",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a benchmark suite (resumes: finished cells are skipped)",
                         description="Validate SUITE, train the missing models, explain and score them, write one "
                                     "record per cell to the results directory, then write the leaderboard.")
    run.add_argument("suite", nargs="?", default=None,
                     help="a suite YAML file or the name of a built-in suite (default: 'default')")
    run.add_argument("--results", default="results", metavar="DIR", help="result store directory (default: results)")
    run.add_argument("--plugin", action="append", default=[], metavar="FILE",
                     help="a Python file that registers components; may be repeated")
    run.add_argument("--out", default=None, metavar="FILE",
                     help="where to write the leaderboard (default: DIR/LEADERBOARD.md)")
    run.add_argument("--quiet", action="store_true", help="no progress output")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="where cells run: this process (default) or a Ray cluster")
    run.add_argument("--address", default=None, metavar="ADDR",
                     help="Ray cluster address (default: start a local cluster); with --executor ray")
    run.add_argument("--threads", type=int, default=None, metavar="N",
                     help="torch threads per cell (default: torch's default here); recorded, as results may "
                          "depend on it; Ray tasks ask for N CPUs")
    run.add_argument("--seeds", default=None, metavar="LIST",
                     help="seeds to run instead of the suite's: integers and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7; "
                          "with resume, seeds already in the store are not redone")
    run.add_argument("--dry-run", action="store_true",
                     help="validate and print the plan (cells done and to do, estimated cost); run nothing")

    board = sub.add_parser("leaderboard", help="render the leaderboard from stored results",
                           description="Render the records in the results directory as markdown, one self-contained "
                                       "HTML page (sortable tables, figures), one CSV table or LaTeX tables.")
    board.add_argument("--results", default="results", metavar="DIR", help="result store directory (default: results)")
    board.add_argument("--out", default=None, metavar="FILE", help="output file (default: print to stdout)")
    board.add_argument("--format", choices=tuple(FORMATS), default="md",
                       help="markdown, an HTML page, one CSV table or LaTeX (booktabs) tables")
    board.add_argument("--task", default=None, metavar="NAME", help="only this task (its name, any parameters)")
    board.add_argument("--suite", default=None, metavar="SUITE", help=SUITE_FILTER_HELP)

    figures = sub.add_parser("figures", help="draw the leaderboard's figures as PNG files",
                             description="Draw per task the gallery of attribution maps, the metrics' curves and "
                                         "accuracy versus faithfulness as PNG files in the output directory.")
    figures.add_argument("--results", default="results", metavar="DIR",
                         help="result store directory (default: results)")
    figures.add_argument("--out", default="figures", metavar="DIR", help="output directory (default: figures)")
    figures.add_argument("--task", default=None, metavar="NAME", help="only this task (its name, any parameters)")
    figures.add_argument("--suite", default=None, metavar="SUITE", help=SUITE_FILTER_HELP)

    report = sub.add_parser("report", help="measure the seed papers' claims on stored results (REPRODUCTION.md)",
                            description="For each claim of the seed papers the benchmark can test, the paired "
                                        "effect over seeds with its 95% CI and a verdict: reproduced, "
                                        "contradicted, inconclusive or not run.")
    report.add_argument("--results", default="results", metavar="DIR", help="result store directory (default: results)")
    report.add_argument("--out", default=None, metavar="FILE", help="output file (default: print to stdout)")
    report.add_argument("--task", default=None, metavar="NAME", help="only this task (its name, any parameters)")
    report.add_argument("--suite", default=None, metavar="SUITE", help=SUITE_FILTER_HELP)

    lst = sub.add_parser("list", help="list registered components with a one-line description",
                         description="List tasks, architectures, methods, explainers or metrics (default: all).")
    lst.add_argument("kind", nargs="?", choices=KINDS, help="which registry to list")
    lst.add_argument("--plugin", action="append", default=[], metavar="FILE", help="load a plugin file first")
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from xaibench.config import load_suite, parse_seeds

    seeds = None if args.seeds is None else parse_seeds(args.seeds)
    suite = load_suite(args.suite, tuple(args.plugin), seeds)  # validates everything before any work
    for notice in suite.notices:
        print(f"xaibench: notice: {notice}", file=sys.stderr)

    from xaibench.leaderboard.markdown import render_markdown
    from xaibench.plan import make_plan
    from xaibench.runner import Runner
    from xaibench.store import ResultStore, write_atomic

    from xaibench.executors import EXECUTORS

    if args.address and args.executor != "ray":
        raise XaibenchError("--address is for --executor ray")
    executor = EXECUTORS[args.executor](args.address) if args.executor == "ray" else EXECUTORS["local"]()
    store = ResultStore(args.results)
    runner = Runner(suite, store, quiet=args.quiet, executor=executor, threads=args.threads)
    if args.dry_run:
        from xaibench.dry_run import describe_plan

        print(describe_plan(runner))
        return 0
    summary = runner.run()
    records = cast("list[EvaluationRecord]",
                   [r for r in (store.get("records", k) for k in summary.record_keys) if r is not None])
    out = Path(args.out) if args.out else Path(args.results) / "LEADERBOARD.md"
    training = cast("list[TrainingRecord]",
                    [r for r in (store.get("training", c.key) for c in make_plan(suite)) if r is not None])
    write_atomic(out, render_markdown(records, training).encode())
    print(f"trained {summary.trained} models, wrote {summary.records_written} records, "
          f"skipped {summary.cells_skipped} finished cells; leaderboard: {out}")
    if summary.failures:
        print(f"{len(summary.failures)} cell(s) failed (details in {Path(args.results) / 'failures'}):", file=sys.stderr)
        for label, error in summary.failures:
            print(f"  {label}: {error}", file=sys.stderr)
        return 1
    return 0


def load_results(args: argparse.Namespace) -> tuple[list[EvaluationRecord], list[TrainingRecord]]:
    """The records and training records of ``args.results``, only those of ``args.suite`` and ``args.task`` if
    given."""
    from xaibench.errors import did_you_mean
    from xaibench.store import ResultStore

    if not Path(args.results).is_dir():
        raise XaibenchError(f"--results {args.results}: no such directory (run `xaibench run` first)")
    store = ResultStore(args.results)
    records = cast("list[EvaluationRecord]", list(store.records()))  # the JSON files have the schema's layout
    training = cast("list[TrainingRecord]", list(store.records("training")))
    if args.suite:
        from xaibench.config import load_suite
        from xaibench.plan import of_suite

        n = len(records)
        records, training = of_suite(load_suite(args.suite), records, training)
        if not records:
            raise XaibenchError(f"--suite {args.suite}: none of the {n} records in {args.results} belong to it")
    check_one_configuration(records, args.results)
    if args.task:
        names = sorted({r["key"]["task"]["name"] for r in records})
        if args.task not in names:
            raise XaibenchError(f"--task {args.task}: no records of that task in {args.results}"
                                f"{did_you_mean(args.task, names)}")
        records = [r for r in records if r["key"]["task"]["name"] == args.task]
        training = [r for r in training if r["key"]["task"]["name"] == args.task]
    return records, training


def check_one_configuration(records: list[EvaluationRecord], results: str) -> None:
    """Refuse a store that holds two configurations of one table cell at one seed (their labels are equal, their
    keys are not): the tables keep one value per seed, so either could be shown."""
    seen: dict[tuple[object, ...], EvaluationRecord] = {}
    for record in records:
        labels, key = record["labels"], record["key"]
        cell = (labels["task"], key["task"]["version"], labels["architecture"], labels["method"],
                labels.get("explainer"), labels["metric"], key["seed"])
        other = seen.setdefault(cell, record)
        if other["key"] != key:
            fields = ", ".join(sorted(f for f in key.keys() | other["key"].keys() if key.get(f) != other["key"].get(f)))
            where = "/".join(str(c) for c in cell[:1] + cell[2:6] if c is not None)
            raise XaibenchError(f"--results {results}: two configurations of {where} "
                                f"at seed {key['seed']} (they differ in {fields}); pass --suite SUITE to read one "
                                "suite's records")


def cmd_leaderboard(args: argparse.Namespace) -> int:
    records, training = load_results(args)
    module, function = FORMATS[args.format]
    render = getattr(importlib.import_module(f"xaibench.leaderboard.{module}"), function)
    # the HTML page's gallery reads the stored attributions
    text = render(records, training, args.results) if args.format == "html" else render(records, training)
    return write_output(text, args.out, "leaderboard")


def cmd_report(args: argparse.Namespace) -> int:
    from xaibench.leaderboard.reproduction import render_reproduction

    return write_output(render_reproduction(*load_results(args)), args.out, "reproduction report")


def write_output(text: str, out: str | None, what: str) -> int:
    """Write ``text`` to ``out`` atomically (and say so), or to stdout."""
    from xaibench.store import write_atomic

    if out:
        write_atomic(Path(out), text.encode())
        print(f"{what}: {out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from xaibench.leaderboard.plots import write_figures

    records, training = load_results(args)
    for path in write_figures(records, training, args.results, args.out):
        print(path)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from xaibench.plugins import load_plugin_file
    from xaibench.registries import REGISTRIES

    for plugin in args.plugin:
        load_plugin_file(plugin)
    for kind in [args.kind] if args.kind else KINDS:
        registry = REGISTRIES[kind]
        names = [n for n in registry.names() if not n.startswith("quantus.")]  # listed below, by quantus category
        print_rows(f"{kind}:", [(name, *facts(registry.get(name)), registry.get(name).description()) for name in names])
        if kind == "metrics":
            list_quantus()
    return 0


def print_rows(title: str, rows: list[tuple[str, ...]]) -> None:
    """A title, then the rows as aligned columns (the last one free)."""
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(len(rows[0]) - 1)] if rows else []
    print(title)
    for row in rows:
        print("  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[-1])


def list_quantus() -> None:
    """The quantus metrics a suite may name, under their quantus category (or how to install quantus)."""
    from xaibench.errors import UnknownNameError
    from xaibench.metrics.quantus_bridge import PREFIX, quantus_metrics
    from xaibench.registries import METRICS

    try:
        known = quantus_metrics()
    except UnknownNameError as err:
        print(f"quantus metrics: {err}")
        return
    for category in dict.fromkeys(c for c, _, _ in known.values()):
        rows = []
        for name in (n for n, (c, _, _) in known.items() if c == category):
            try:
                cls = METRICS.get(PREFIX + name)
                rows.append((cls.name, *facts(cls), cls.label))
            except UnknownNameError as err:
                rows.append((PREFIX + name, "-", "-", "-", f"not available: {err}"))
        print_rows(f"metrics from quantus, {category} (name them as quantus.<MetricClass>, params: its keywords):",
                   rows)


def facts(cls: type) -> tuple[str, ...]:
    """The metadata columns `xaibench list` shows for a component, read from its class."""
    if hasattr(cls, "meta"):  # a task
        m = cls.meta
        mask = f"mask ({m.mask_kind})" if m.has_mask else "no mask"
        return (m.modality, "x".join(map(str, m.input_shape)), f"{m.num_classes} classes", mask, m.source)
    if hasattr(cls, "modality"):  # an architecture
        layers = [f"cam={cls.cam_layer}"] if cls.cam_layer else []
        layers += [f"embedding={cls.embedding_layer}"] if cls.embedding_layer else []
        return (cls.modality, " ".join(layers) or "-", "lrp" if cls.lrp_supported else "no lrp")
    if hasattr(cls, "higher_is_better"):  # a metric
        return (cls.category, "higher" if cls.higher_is_better else "lower",
                ",".join(sorted(cls.requires)) or "-")
    if hasattr(cls, "requires_mask"):  # a training method
        return ("needs mask" if cls.requires_mask else "-", cls.cost)
    return (",".join(sorted(getattr(cls, "requires", ()))) or "-",)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"run": cmd_run, "leaderboard": cmd_leaderboard, "figures": cmd_figures,
                "report": cmd_report, "list": cmd_list}[args.command](args)
    except XaibenchError as err:
        print(f"xaibench: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
