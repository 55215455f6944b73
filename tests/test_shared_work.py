"""Work that several metrics of a cell read is done once per cell: the clean-input confidences of AD, AI and AG,
and ROAD's imputed curves (one kernel call for its three metrics, tested in test_road.py)."""
import torch

from xaibench.cell import CellWorker
from xaibench.stages.train import TrainStage
from xaibench.config import load_suite
from xaibench.metrics.functional import road
from xaibench.plan import make_plan

SUITE = """\
name: shared
seeds: [0]
tasks:
  - {name: shapes, params: {n_train: 128, n_test: 48}}
architectures:
  - {name: small_cnn, params: {width: 4}}
methods: [erm]
explainers: [saliency]
metrics: [accuracy, average_drop, average_increase, average_gain, road_morf, road_lerf, road_combined]
budget: {epochs: 1}
evaluation: {n_samples: 16, batch_size: 32}
"""


def test_clean_inputs_and_road_curves_are_computed_once_per_cell(tmp_path, monkeypatch):
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE)
    suite = load_suite(str(path))
    (cell,) = make_plan(suite)
    worker = CellWorker(suite, device=torch.device("cpu"), threads=1)
    test = worker.data.load(cell.task)[1]
    clean_rows = {row.numpy().tobytes() for row in test.x}
    clean_calls, road_calls = [], []

    build = TrainStage.model

    def counted(self, *args):
        model, record = build(self, *args)
        model.register_forward_pre_hook(lambda _, inputs: clean_calls.append(len(inputs[0])) if all(
            row.numpy().tobytes() in clean_rows for row in inputs[0].detach()) else None)
        return model, record

    monkeypatch.setattr(TrainStage, "model", counted)
    real = road.road_curves
    monkeypatch.setattr("xaibench.metrics.road.road_curves", lambda *a, **k: road_calls.append(1) or real(*a, **k))
    out = worker.execute(cell, cell.evals)
    assert out.failure is None and len(out.records) == 7
    # The test set's predictions (48 samples in batches of 32: two calls), Saliency's own forward pass on the 16
    # explained samples, then one pass over them that AD, AI and AG share (each of them made its own before).
    # ROAD scores against the labels: it never needs the clean inputs.
    assert clean_calls == [32, 16, 16, 16] and len(road_calls) == 1
