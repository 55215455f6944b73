"""FLINT fidelity within bins of f's max-softmax confidence: the metric's details and the report's pooled line."""
import math

import torch
from test_reproduction import BY_ID, met, model_record, record

from xaibench.batch import Batch
from xaibench.leaderboard.reproduction import measure, render_reproduction
from xaibench.methods.flint import attach_flint, flint_forward
from xaibench.metrics.flint import CONFIDENCE_EDGES, FlintFidelity, by_confidence
from xaibench.models.small_cnn import SmallCNN


def test_bins_closed_form():
    agree = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    confidence = torch.tensor([0.2, 0.5, 0.51, 0.8, 0.96, 1.0], dtype=torch.float64)  # right-closed bins
    out = by_confidence(agree, confidence)
    assert out["edges"] == [0.0, 0.5, 0.8, 0.95, 1.0] and out["count"] == [2, 2, 0, 2]
    assert out["fidelity"][:2] == [0.5, 1.0] and math.isnan(out["fidelity"][2]) and out["fidelity"][3] == 0.5


def test_fidelity_details_from_fs_logits():
    """score() on crafted logits: f's confidences 0.25, 0.6, 0.6, 0.9, 0.99 (two classes get the rest equally)."""
    conf = torch.tensor([0.25, 0.6, 0.6, 0.9, 0.99], dtype=torch.float64)
    probs = torch.stack([conf, (1 - conf) / 3, (1 - conf) / 3, (1 - conf) / 3], 1)
    logits = probs.log() + 2.0  # softmax is shift-invariant
    interpreter = torch.zeros(5, 4)
    interpreter[[0, 1, 2, 3, 4], [0, 0, 2, 0, 1]] = 1.0  # agrees with f's class 0 on samples 0, 1, 3
    metric = FlintFidelity()
    values = metric.score(None, Batch(torch.zeros(5, 1), torch.zeros(5, dtype=torch.long)), logits, interpreter,
                          torch.zeros(5, 3))
    assert values.tolist() == [1.0, 1.0, 0.0, 1.0, 0.0]
    details = metric.details["by_confidence"]
    assert details["count"] == [1, 2, 1, 1] and details["fidelity"] == [1.0, 0.5, 1.0, 0.0]


def test_fidelity_values_unchanged_on_a_flint_model():
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(width=4), (1, 28, 28), 10).eval()
    batch = Batch(torch.rand(300, 1, 28, 28), torch.randint(0, 10, (300,)))
    attach_flint(model, batch.x[:2])
    metric = FlintFidelity()
    values = metric(model, batch, None, batch.y)
    with torch.no_grad():
        out = flint_forward(model, batch.x)
    agree = (out.interpreter.argmax(1) == out.logits.argmax(1)).double()
    assert torch.equal(values, agree) and metric.version == "1"  # per-sample values as before: no version bump
    details = metric.details["by_confidence"]
    assert details["confidence"] == "max softmax of f" and details["edges"] == list(CONFIDENCE_EDGES)
    assert sum(details["count"]) == 300


def test_report_pools_the_bins_over_seeds():
    claim = BY_ID["flint-fidelity-shapes"]
    bins = [([0, 10, 30, 60], [math.nan, 0.5, 0.8, 1.0]), ([0, 20, 20, 60], [math.nan, 0.25, 0.75, 0.95])]
    records = []
    for seed, (count, fidelity) in enumerate(bins):
        r = record("flint", seed, "flint_fidelity", 0.9)
        r["details"] = {"by_confidence": {"confidence": "max softmax of f", "edges": list(CONFIDENCE_EDGES),
                                          "count": count, "fidelity": fidelity}}
        records.append(r)
    records, training = met(records)
    records += [model_record(r, "flint", "accuracy", 0.99) for r in records[:2]]
    (o,) = measure(claim, records, training)
    assert len(o.treated) == 2
    # (0.5, 0.8]: (10·0.5 + 20·0.25)/30 = 0.333; (0.8, 0.95]: (30·0.8 + 20·0.75)/50 = 0.780; (0.95, 1]: 0.975
    line = ("Fidelity by f's max-softmax confidence, pooled over 2 seed(s), shapes, small\\_cnn: (0, 0.5]: – (n = 0), "
            "(0.5, 0.8]: 0.333 (n = 30), (0.8, 0.95]: 0.780 (n = 50), (0.95, 1]: 0.975 (n = 120).")
    assert line in render_reproduction(records, training).splitlines()
