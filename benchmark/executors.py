"""Executors run training cells and yield their outputs; the driver writes the store.

``local`` (default) runs them one after another in this process; ``ray`` sends them to a Ray
cluster (a local one started on the spot, or ``--address``). Ray workers rebuild the suite from its
file and plugins, so only file paths, keys and tensors cross the wire: the suite and plugin files
must be readable at the same paths on every node (a shared filesystem; true on one machine).
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import torch

from xaibench.cell import CellOutput, CellWorker
from xaibench.config import Suite
from xaibench.plan import EvalCell, TrainCell
from xaibench.store import key_hash


@dataclasses.dataclass
class Job:
    """A training cell, its missing evaluations, and what the store already holds for it."""

    cell: TrainCell
    missing: list[EvalCell]
    weights: dict[str, torch.Tensor] | None
    attributions: dict[str, torch.Tensor]
    retrained: dict[str, dict[str, torch.Tensor]] = dataclasses.field(default_factory=dict)  # ROAR/KAR models


class LocalExecutor:
    """Runs every job in this process, in order.

    >>> LocalExecutor().name
    'local'
    """

    name = "local"

    def map(self, suite: Suite, jobs: Iterable[Job], threads: int) -> Iterator[CellOutput]:
        worker = CellWorker(suite, threads=threads)
        for job in jobs:
            yield worker.execute(job.cell, job.missing, job.weights, job.attributions, job.retrained)


class RayExecutor:
    """Runs jobs as Ray tasks (each asks for ``threads`` CPUs), at most ``2 x`` the cluster's CPUs in flight.

    >>> RayExecutor(address="auto").address
    'auto'
    """

    name = "ray"

    def __init__(self, address: str | None = None):
        self.address = address

    def map(self, suite: Suite, jobs: Iterable[Job], threads: int) -> Iterator[CellOutput]:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False, runtime_env={"env_vars": openmp_env(os.environ)})
        remote = ray.remote(num_cpus=threads)(_execute_remotely)
        window = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)) // threads)
        # the seeds only where --seeds replaced the file's (a part's own seeds come from the file)
        suite_ref = (suite.source, suite.plugins, suite.seeds if suite.listed_seeds else None)
        in_flight: list[Any] = []
        for job in jobs:
            missing = [key_hash(job.cell.eval_key(e)) for e in job.missing]
            in_flight.append(remote.remote(suite_ref, threads, key_hash(job.cell.key), missing, job.weights,
                                           job.attributions, job.retrained))
            if len(in_flight) >= window:
                done, in_flight = ray.wait(in_flight, num_returns=1)
                yield ray.get(done[0])
        while in_flight:
            done, in_flight = ray.wait(in_flight, num_returns=1)
            yield ray.get(done[0])


_WORKERS: dict[tuple[str, tuple[str, ...], tuple[int, ...] | None, int],
               tuple[CellWorker, dict[str, TrainCell]]] = {}


def _execute_remotely(suite_ref: tuple[str, tuple[str, ...], tuple[int, ...] | None], threads: int, cell_hash: str,
                      missing: list[str], weights: dict[str, torch.Tensor] | None, attributions: dict[str, torch.Tensor],
                      retrained: dict[str, dict[str, torch.Tensor]]) -> CellOutput:
    """On a Ray worker: rebuild the suite and its plan once per process, then run one cell."""
    from xaibench.config import load_suite
    from xaibench.plan import make_plan

    key = (*suite_ref, threads)
    if key not in _WORKERS:
        suite = load_suite(*suite_ref)
        _WORKERS[key] = (CellWorker(suite, threads=threads), {key_hash(c.key): c for c in make_plan(suite)})
    worker, cells = _WORKERS[key]
    cell = cells[cell_hash]
    wanted = set(missing)
    evals = [e for e in cell.evals if key_hash(cell.eval_key(e)) in wanted]
    return worker.execute(cell, evals, weights, attributions, retrained)


EXECUTORS = {"local": LocalExecutor, "ray": RayExecutor}


def openmp_env(env: Mapping[str, str]) -> dict[str, str]:
    """The driver's OpenMP wait setting for Ray's workers, where it has one (``xaibench.openmp_wait`` leaves it unset
    on a quiet machine: each worker then chooses its own when it imports xaibench).

    >>> openmp_env({"GOMP_SPINCOUNT": "2000", "HOME": "/root"}), openmp_env({})
    ({'GOMP_SPINCOUNT': '2000'}, {})
    """
    return {k: env[k] for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY") if k in env}
