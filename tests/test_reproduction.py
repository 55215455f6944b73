"""The reproduction report: claims as data, paired effects over seeds, verdicts, rendering."""
import json
import math
import statistics

import pytest
from scipy import stats

from xaibench.leaderboard.claims import CLAIMS, Claim, Side
from xaibench.leaderboard.reproduction import judge, measure, render_reproduction, summary_row
from xaibench.leaderboard.stats import Summary
from xaibench.registries import REGISTRIES
from xaibench.store import ResultStore

BY_ID = {c.id: c for c in CLAIMS}


def record(method, seed, metric, value, explainer=None, task="shapes", architecture="small_cnn", task_config=None,
           task_label=None, method_label=None, values=None):
    """A stored metric record as benchmark/cell.py writes it (only the fields the report reads, plus provenance)."""
    config = task_config or {"n_train": 100}
    return {
        "key": {"task": {"name": task, "version": "1", "config": str(sorted(config.items()))}, "data_seed": 0,
                "architecture": {"name": architecture, "version": "1", "config": "a"},
                "method": {"name": method, "version": "1", "config": method_label or "m"},
                "seed": seed, "budget": {"epochs": 1},
                "explainer": {"name": explainer, "version": "1", "config": "e"} if explainer else None,
                **({"evaluation": {"n_samples": 8}} if explainer else {}),
                "metric": {"name": metric, "version": "1", "config": "x"}},
        "labels": {"task": task_label or task, "architecture": architecture, "method": method_label or method,
                   "explainer": explainer, "metric": metric, "task_config": config, "method_config": {}},
        "metric": {"name": metric, "version": "1", "label": metric, "category": "complexity",
                   "higher_is_better": True},
        "value": value, "values": values or [value], "n": 1, "n_excluded": 0,
        "code_version": "0.1.0+gabc", "versions": {"torch": "2.13.0"}, "suite": {"name": "s", "hash": "h1"},
    }


MODEL = ("task", "data_seed", "architecture", "budget", "seed")


def model_record(rec, method, metric, value, method_key=None):
    """A per-model metric record (no explainer) of ``method`` on the model behind ``rec``."""
    key = {**{k: rec["key"][k] for k in MODEL}, "explainer": None,
           "method": method_key or {"name": method, "version": "1", "config": "m"},
           "metric": {"name": metric, "version": "1", "config": "x"}}
    return {**rec, "key": key, "labels": {**rec["labels"], "method": method, "explainer": None, "metric": metric},
            "value": value, "values": [value]}


def training_record(rec, health=None):
    """The training record of the model behind ``rec``, with health figures (by default one without a range)."""
    return {"key": {**{k: rec["key"][k] for k in MODEL}, "method": rec["key"]["method"]},
            "labels": {k: rec["labels"][k] for k in ("task", "architecture", "method")},
            "health": health or {"per_epoch": {"kl": [0.5, 0.25]}, "ranges": {}, "warnings": []},
            **{k: rec[k] for k in ("code_version", "versions", "suite")}}


def met(records, accuracy=0.99, **gaps):
    """``records`` plus what their claims' preconditions read, all met: per model an ERM accuracy record (and the
    ``gaps``, e.g. shortcut_gap=0.3), and the training records with health figures."""
    extra, training, seen = [], [], set()
    for rec in records:
        model = json.dumps([rec["key"][k] for k in MODEL], sort_keys=True)
        if (model, "erm") not in seen:
            extra += [model_record(rec, "erm", m, v) for m, v in (("accuracy", accuracy), *gaps.items())]
        if (model, rec["key"]["method"]["name"]) not in seen:
            training.append(training_record(rec))
        seen |= {(model, "erm"), (model, rec["key"]["method"]["name"])}
    return records + extra, training


def gini(method, values, **kw):
    return [record(method, s, "gini", v, explainer="saliency", **kw) for s, v in enumerate(values)]


ERM, SGT = [0.30, 0.32, 0.35], [0.40, 0.45, 0.43]
GINI = gini("erm", ERM) + gini("sgt", SGT)


def test_effect_is_the_paired_mean_with_its_t_interval():
    (o,) = measure(BY_ID["sgt-gini-shapes"], *met(GINI))
    diffs = [s - e for s, e in zip(SGT, ERM)]  # 0.10, 0.13, 0.08
    low, high = stats.t.interval(0.95, len(diffs) - 1, loc=statistics.fmean(diffs), scale=stats.sem(diffs))
    assert o.values == pytest.approx({0: 0.10, 1: 0.13, 2: 0.08}, abs=1e-12)
    assert o.summary.mean == pytest.approx(0.31 / 3, abs=1e-12) and o.summary.n_seeds == 3
    assert o.summary.mean - o.summary.ci95 == pytest.approx(low, abs=1e-12)
    assert o.summary.mean + o.summary.ci95 == pytest.approx(high, abs=1e-12)
    assert o.verdict == "reproduced" and o.setting == "shapes, small_cnn"


def test_golden_summary_row():
    # half-width t(.975, 2)·sd/√3 = 4.302653·0.0251661/1.7320508 = 0.062517; one-sided p = 0.00960 (t = 7.11, 2 df)
    p = stats.ttest_1samp([0.10, 0.13, 0.08], 0.0, alternative="greater").pvalue
    assert round(p, 3) == 0.010
    (o,) = measure(BY_ID["sgt-gini-shapes"], *met(GINI))
    assert o.p_value == pytest.approx(p, rel=1e-9)
    row = ("| sgt-gini-shapes | Ismail et al. 2021 (SGT) | shapes, small\\_cnn | gini: sgt − erm \\> 0 | +0.103 ± 0.063 "
           "| 3 | 0.010 | reproduced | 0.010 | reproduced | – |")  # the paper's only judged setting: Holm p = p
    assert row in render_reproduction(*met(GINI)).splitlines()
    assert summary_row(o) == row.replace("0.010 | reproduced | – |", "– |  | – |")  # before ``adjust``


HIGHER, LOWER = BY_ID["sgt-gini-shapes"], BY_ID["sgt-sufficiency-sst2"]
EQUIVALENT = BY_ID["sgt-accuracy-shapes"]  # within ±0.015
ABOVE, BELOW = BY_ID["flint-fidelity-shapes"], BY_ID["bias-mean-shift-saliency-invariant"]  # > 0.9, < 0.01
WITHIN = BY_ID["flint-conciseness-fmnist"]  # in [1, 1.3]


@pytest.mark.parametrize("claim, mean, half, verdict", [
    (HIGHER, 0.1, 0.05, "reproduced"), (HIGHER, -0.1, 0.05, "contradicted"), (HIGHER, 0.1, 0.2, "inconclusive"),
    (HIGHER, 0.1, 0.1, "inconclusive"),  # the CI touches 0: it does not exclude it
    (LOWER, -0.1, 0.05, "reproduced"), (LOWER, 0.1, 0.05, "contradicted"), (LOWER, -0.1, 0.2, "inconclusive"),
    (EQUIVALENT, 0.005, 0.005, "reproduced"), (EQUIVALENT, 0.0, 0.015, "reproduced"),  # inside, boundary included
    (EQUIVALENT, 0.05, 0.02, "contradicted"), (EQUIVALENT, -0.05, 0.02, "contradicted"),
    (EQUIVALENT, 0.01, 0.01, "inconclusive"), (EQUIVALENT, 0.0, 0.03, "inconclusive"),
    (ABOVE, 0.95, 0.02, "reproduced"), (ABOVE, 0.8, 0.05, "contradicted"), (ABOVE, 0.9, 0.05, "inconclusive"),
    (BELOW, 0.0, 0.0, "reproduced"), (BELOW, 0.5, 0.1, "contradicted"), (BELOW, 0.01, 0.001, "inconclusive"),
    (WITHIN, 1.1, 0.05, "reproduced"), (WITHIN, 1.6, 0.2, "contradicted"), (WITHIN, 0.5, 0.2, "contradicted"),
    (WITHIN, 1.25, 0.1, "inconclusive"),
])
def test_verdict_rule(claim, mean, half, verdict):
    assert judge(claim, Summary(mean, half, 3))[0] == verdict


def test_fewer_than_two_seeds_is_inconclusive():
    (o,) = measure(HIGHER, *met(gini("erm", [0.3]) + gini("sgt", [0.9, 0.95])))  # seed 1 has no ERM pair
    assert (o.verdict, o.summary.n_seeds, o.values) == ("inconclusive", 1, {0: pytest.approx(0.6)})
    assert "1 seed(s)" in o.reason
    assert judge(HIGHER, Summary(0.6, 0.0, 1))[0] == "inconclusive"


def test_nan_seeds_are_left_out():
    (o,) = measure(HIGHER, *met(gini("erm", [0.3, 0.3, 0.3]) + gini("sgt", [0.4, math.nan, 0.5])))
    assert o.summary.n_seeds == 2 and o.summary.mean == pytest.approx(0.15)
    assert o.summary.ci95 == pytest.approx(stats.t.ppf(0.975, 1) * statistics.stdev([0.1, 0.2]) / math.sqrt(2))


def test_not_run_says_what_is_missing():
    (o,) = measure(HIGHER, [])
    assert o.verdict == "not run" and o.reason == "no records of sgt, saliency, gini on shapes / small_cnn"
    (o,) = measure(HIGHER, gini("sgt", SGT))
    assert o.verdict == "not run" and o.reason == "no records of erm, saliency, gini on shapes / small_cnn"
    (o,) = measure(HIGHER, gini("sgt", SGT) + gini("erm", ERM, task_config={"n_train": 5}))  # other scenes
    assert o.verdict == "not run" and "same task configuration" in o.reason
    text = render_reproduction([])
    assert ("| sgt-gini-shapes | Ismail et al. 2021 (SGT) | – | gini: sgt − erm \\> 0 | – | 0 | – | not run | – | "
            "not run | – |") in text
    assert "No stored records." in text and text.count("| 0 | – | not run | – | not run | – |") == len(CLAIMS)


def test_each_configuration_is_its_own_setting():
    other = {"n_train": 5}
    records = GINI + gini("erm", [0.1, 0.1, 0.1], task_config=other, task_label="shapes(n_train=5)") + \
        gini("sgt", [0.1, 0.1, 0.1], task_config=other, task_label="shapes(n_train=5)")
    outcomes = measure(HIGHER, *met(records))
    assert [(o.setting, o.verdict) for o in outcomes] == [("shapes(n_train=5), small_cnn", "inconclusive"),
                                                          ("shapes, small_cnn", "reproduced")]


def test_task_params_filter():
    claim = BY_ID["sgt-ts-aup-middle"]

    def aup(method, values, design):
        return [record(method, s, "aup", v, explainer="integrated_gradients", task="ts_boxes", architecture="ts_tcn",
                       task_config={"design": design}) for s, v in enumerate(values)]

    records = aup("erm", [0.2, 0.2, 0.2], "middle") + aup("sgt", [0.3, 0.31, 0.29], "middle") + \
        aup("erm", [0.2, 0.2, 0.2], "moving_middle") + aup("sgt", [0.1, 0.1, 0.1], "moving_middle")
    (o,) = measure(claim, *met(records))
    assert o.summary.mean == pytest.approx(0.1) and o.verdict == "reproduced"
    (o,) = measure(BY_ID["sgt-ts-aup-moving-middle"], *met(records))
    assert o.summary.mean == pytest.approx(-0.1) and o.verdict == "contradicted"


def test_absolute_claim_uses_the_value_itself():
    records = [record("flint", s, "flint_fidelity", v) for s, v in enumerate([0.95, 0.97, 0.96])]
    records, training = met(records)
    records += [model_record(r, "flint", "accuracy", 0.99) for r in records[:3]]  # f trained: precondition met
    (o,) = measure(ABOVE, records + [record("erm", s, "flint_fidelity", math.nan) for s in range(3)], training)
    assert o.values == {0: 0.95, 1: 0.97, 2: 0.96} and o.verdict == "reproduced"
    assert "| flint-fidelity-shapes | Parekh et al. 2021 (FLINT) | shapes, small\\_cnn | flint\\_fidelity (flint) " \
           "\\> 0.9 | 0.960 ± 0.025 | 3 | " in render_reproduction(records, training)


def test_metric_against_metric_on_the_same_model():
    claim = BY_ID["flint-interpreter-fmnist"]
    records = [record("flint", s, m, v, task="fashion_mnist") for s in range(3)
               for m, v in (("accuracy", 0.90 + s / 100), ("flint_interpreter_accuracy", 0.895 + s / 100))]
    records = [dict(r, key={**r["key"], "budget": {"epochs": 12}}) for r in records]  # the reference budget
    (o,) = measure(claim, *met(records))  # f's accuracy (0.90–0.92 ≥ 0.88) is the reference side's records
    assert o.values == pytest.approx({0: -0.005, 1: -0.005, 2: -0.005}) and o.verdict == "reproduced"


def test_polarity_bias_claim_pairs_explainers_on_derived_records():
    def rma(explainer, polarity, seed, values):
        return record("erm", seed, "relevance_mass_accuracy", statistics.fmean(values), explainer=explainer,
                      task="shapes_polarity", task_config={"polarity": polarity, "n_train": 8}, values=values)

    records = []
    for seed, (rect, nobias) in enumerate([(0.40, 0.02), (0.50, -0.01), (0.45, 0.00)]):
        records += [rma("rectgrad", "bright", seed, [0.6, 0.6 + 2 * rect]), rma("rectgrad", "dark", seed, [0.6, 0.6]),
                    rma("nobias_rectgrad", "bright", seed, [0.5, 0.5 + 2 * nobias]),
                    rma("nobias_rectgrad", "dark", seed, [0.5, 0.5])]
    (o,) = measure(BY_ID["bias-polarity-rectgrad-vs-nobias"], records)
    assert o.verdict == "not run"  # the derived records come with the report
    text = render_reproduction(*met(records))
    row = next(line for line in text.splitlines() if line.startswith("| bias-polarity-rectgrad-vs-nobias |"))
    diffs = [0.40 - 0.02, 0.50 - 0.01, 0.45 - 0.00]  # |mean b| per seed, rectgrad minus nobias
    half = stats.t.ppf(0.975, 2) * statistics.stdev(diffs) / math.sqrt(3)
    assert f"| {statistics.fmean(diffs):+.3f} ± {half:.3f} | 3 |" in row and row.endswith("| reproduced | – |")


def test_no_polarity_bias_is_tested_on_the_signed_index():
    """Signed indices of +-0.06 around 0: each seed's |index| (0.06) is over the 0.05 bound, the signed mean is 0."""
    def rma(polarity, seed, values):
        return record("erm", seed, "relevance_mass_accuracy", statistics.fmean(values), explainer="saliency",
                      task="shapes_polarity", task_config={"polarity": polarity, "n_train": 8}, values=values)

    signed = [0.06 if seed % 2 else -0.06 for seed in range(10)]
    records = [r for seed, b in enumerate(signed)
               for r in (rma("bright", seed, [0.5, 0.5 + 2 * b]), rma("dark", seed, [0.5, 0.5]))]
    text = render_reproduction(*met(records))
    row = next(line for line in text.splitlines() if line.startswith("| bias-polarity-saliency-unbiased |"))
    half = stats.t.ppf(0.975, 9) * statistics.stdev(signed) / math.sqrt(10)
    assert f"| {0:.3f} ± {half:.3f} | 10 |" in row and row.endswith("| reproduced | – |")
    assert half < 0.05  # on each seed's |index| (0.06 ten times) the verdict would be 'contradicted'


def test_no_gain_is_a_gain_under_the_margin_not_a_fall():
    claim = BY_ID["sgt-ts-lstm-aup"]
    assert claim.expected() == "aup: sgt − erm < 0.02" and claim.bound_source.startswith("ours")
    gains = [0.001, 0.003, 0.002, 0.001, 0.003, 0.002]  # a gain, but far under the margin
    records = [record(m, seed, "aup", v, explainer="saliency", task="ts_boxes", architecture="ts_lstm",
                      task_config={"design": "middle"})
               for seed, g in enumerate(gains) for m, v in (("sgt", 0.1 + g), ("erm", 0.1))]
    (o,) = measure(claim, *met(records))
    assert o.values == pytest.approx(dict(enumerate(gains))) and o.verdict == "reproduced"  # a fall: contradicted
    records = [dict(r, value=r["value"] + 0.05) if r["labels"]["method"] == "sgt" else r for r in records]
    (o,) = measure(claim, *met(records))
    assert o.verdict == "contradicted"  # a gain of about 0.05 is one


def test_plugin_names_are_escaped():
    evil = "sgt(k=0.5|<b>*)"
    records = gini("erm", ERM) + gini("sgt", SGT, method_label=evil)
    (o,) = measure(HIGHER, records)
    assert o.setting == f"shapes, small_cnn, {evil}"
    text = render_reproduction(records)
    assert "| shapes, small\\_cnn, sgt(k=0.5\\|\\<b\\>\\*) |" in text and evil not in text


def test_report_command_reads_a_store_and_writes_the_report(tmp_path):
    from conftest import run_cli

    store = ResultStore(tmp_path / "results")
    for rec in GINI:
        store.put("records", rec["key"], {k: v for k, v in rec.items() if k != "key"})
    out = tmp_path / "REPRODUCTION.md"
    done = run_cli("report", "--results", str(tmp_path / "results"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == render_reproduction(GINI)
    missing = run_cli("report", "--results", str(tmp_path / "no-such-dir"))
    assert missing.returncode == 2 and "no-such-dir: no such directory" in missing.stderr


def test_claims_name_registered_components():
    derived = {"polarity_bias_index", "polarity_bias_signed"}  # computed from stored records (leaderboard/derived.py)
    for c in CLAIMS:
        assert c.task in REGISTRIES["tasks"].names(), c.id
        assert c.architecture in REGISTRIES["architectures"].names(), c.id
        for side in filter(None, (c.treatment, c.reference)):
            assert side.method in REGISTRIES["methods"].names(), c.id
            assert side.explainer is None or side.explainer in REGISTRIES["explainers"].names(), c.id
            assert side.metric in set(REGISTRIES["metrics"].names()) | derived, c.id
    assert len({c.id for c in CLAIMS}) == len(CLAIMS)


def test_a_claim_whose_bound_does_not_fit_its_direction_is_rejected():
    side = Side("sgt", None, "accuracy")
    with pytest.raises(ValueError, match="claim x: bound=None"):
        Claim("x", "P", "t", "shapes", "small_cnn", side, Side("erm", None, "accuracy"), "equivalent")
    with pytest.raises(ValueError, match="claim x: direction 'above' takes no reference side"):
        Claim("x", "P", "t", "shapes", "small_cnn", side, side, "above", 0.9, "ours")
    with pytest.raises(ValueError, match="claim x: direction 'higher' needs a reference side"):
        Claim("x", "P", "t", "shapes", "small_cnn", side, None, "higher")
