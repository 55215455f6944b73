"""Where a suite's time goes: runs SUITE into a scratch store and prints one table of stages with their shares,
then training throughput (achieved FLOP/s) against the machine's peak for the same work, measured in the same run.

Stages are exclusive: a stage's time excludes the stages it calls (a ROAR metric's retraining is "retrain", not
"metric: roar"). "other" is the harness itself: planning, progress, moving tensors between stages.
Run: python perf/suite_profile.py [SUITE] [--threads N] [--plugin FILE]
"""
from __future__ import annotations

import time

START = time.perf_counter()  # before torch loads: start-up and imports count

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402


class StageClock:
    """Exclusive wall time per stage label of the wrapped functions (nested calls are charged to the inner one)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: dict[str, int] = collections.defaultdict(int)
        self._stack: list[list[Any]] = []

    def inside(self, prefix: str) -> bool:
        return any(label.startswith(prefix) for label, *_ in self._stack)

    def wrap(self, owner: Any, attr: str, label: Callable[..., str]) -> None:
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            name = label(*args, **kwargs)
            self._stack.append([name, time.perf_counter(), 0.0])
            try:
                return original(*args, **kwargs)
            finally:
                name, start, nested = self._stack.pop()
                elapsed = time.perf_counter() - start
                self.seconds[name] += elapsed - nested
                self.calls[name] += 1
                if self._stack:
                    self._stack[-1][2] += elapsed

        setattr(owner, attr, timed)


def instrument(clock: StageClock) -> None:
    from xaibench.metrics.base import Metric
    from xaibench.metrics.roar import _RemoveAndRetrain
    from xaibench.stages.data import TaskData
    from xaibench.stages.explain import ExplainStage
    from xaibench.stages.train import TrainStage
    from xaibench.store import ResultStore

    clock.wrap(TaskData, "load", lambda *a, **k: "data")
    clock.wrap(TrainStage, "fit", lambda self, cell, method, train: (
        "retrain (ROAR/KAR)" if clock.inside("metric:") else f"train: {method.name}"))
    clock.wrap(ExplainStage, "predict", lambda *a, **k: "predict (clean test set)")
    clock.wrap(ExplainStage, "explain", lambda self, explainer, *a: (
        "explain (ROAR/KAR splits)" if clock.inside("metric:") else f"explain: {explainer.label}"))
    clock.wrap(Metric, "__call__", lambda self, *a, **k: f"metric: {self.name}")
    clock.wrap(_RemoveAndRetrain, "compute_retrained", lambda self, *a, **k: f"metric: {self.name}")
    for attr in ("put", "get", "has", "put_tensors", "get_tensors", "delete"):
        clock.wrap(ResultStore, attr, lambda *a, **k: "store I/O")


def peak_flops(arch: Any, input_shape: tuple[int, ...], num_classes: int, batch: int = 512) -> tuple[float, float]:
    """(FLOP/s of a large-batch forward-backward + Adam step of the architecture, FLOP/s of a 1024^2 GEMM)."""
    import torch

    from timing import best_times  # perf/timing.py
    from xaibench.flops import FlopCounter

    torch.manual_seed(0)
    model = arch.cls(arch.config, input_shape, num_classes)
    optimizer = torch.optim.Adam(model.parameters())
    x, y = torch.rand(batch, *input_shape), torch.randint(0, num_classes, (batch,))

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    with FlopCounter() as counter:  # the counter of the training records, so the ratio compares like with like
        step()
    a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
    t_step, t_gemm = best_times(step, lambda: a @ b, repeats=5)
    return counter.total / t_step, 2 * 1024**3 / t_gemm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", default="quick")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--plugin", action="append", default=[])
    args = parser.parse_args()

    from xaibench.config import load_suite
    from xaibench.runner import Runner
    from xaibench.store import ResultStore

    clock = StageClock()
    instrument(clock)
    suite = load_suite(args.suite, extra_plugins=tuple(args.plugin))
    with tempfile.TemporaryDirectory() as scratch:
        store = ResultStore(scratch)
        runner = Runner(suite, store, quiet=True, threads=args.threads)
        clock.seconds["start-up, imports, planning"] = time.perf_counter() - START
        began = time.perf_counter()
        summary = runner.run()
        total = time.perf_counter() - START
        clock.seconds["other (harness)"] = time.perf_counter() - began - sum(
            v for k, v in clock.seconds.items() if k != "start-up, imports, planning")
        trained = list(store.records("training"))

    print(f"suite {suite.name}: {summary.trained} models, {summary.records_written} records, "
          f"{runner.threads} threads, {total:.1f} s\n")
    print("| stage | calls | seconds | share |\n|---|---:|---:|---:|")
    for name, seconds in sorted(clock.seconds.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {clock.calls.get(name, '')} | {seconds:.2f} | {100 * seconds / total:.1f}% |")

    flops = sum((r.get("flops") or {}).get("total") or 0 for r in trained)  # xaibench.flops.flops_record
    train_s = sum(r["wall_time_s"] for r in trained)
    if flops:
        meta, arch = suite.components("tasks")[0].cls.meta, suite.components("architectures")[0]
        peak_step, peak_gemm = peak_flops(arch, meta.input_shape, meta.num_classes)
        achieved = flops / train_s
        print(f"\ntraining: {flops / 1e9:.1f} GFLOP in {train_s:.1f} s = {achieved / 1e9:.2f} GFLOP/s; "
              f"peak, same run: {peak_step / 1e9:.2f} GFLOP/s ({arch.label}, batch 512 forward-backward-Adam), "
              f"{peak_gemm / 1e9:.1f} GFLOP/s (1024^2 GEMM)")
        print(f"utilization: {achieved / peak_step:.2f} of the architecture's large-batch peak, "
              f"{achieved / peak_gemm:.3f} of GEMM peak")
    else:
        print("\ntraining: the records hold no training FLOPs (flops.total); no utilization figure")


if __name__ == "__main__":
    main()
