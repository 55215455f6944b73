"""Run the input-bias probes (METRICS.md §3) on ERM models of the polarity and intensity tasks and write
docs/INPUT_BIAS.md: one table per probe, mean ± 95% CI over seeds.

    .venv/bin/python docs/input_bias.py [--results /tmp/input-bias] [--seeds 0 1 2]

It runs through the harness (so it resumes, and reuses models already trained). The polarity bias index is
derived from the bright and dark relevance mass accuracy as the leaderboard derives it.
"""
from __future__ import annotations

import argparse
import collections
import math
from pathlib import Path

import yaml

from xaibench.config import load_suite
from xaibench.leaderboard.derived import RMA, polarity_bias_records
from xaibench.leaderboard.stats import summarize
from xaibench.metrics.functional.maps import pool
from xaibench.plan import make_plan
from xaibench.runner import Runner
from xaibench.store import ResultStore

OUT = Path(__file__).with_name("INPUT_BIAS.md")
# The standard suite's subsampling (9 models of a few seconds each on idle cores).
SIZES = {"n_train": 2000, "n_test": 500}
EXPLAINERS = ["saliency", "guided_backprop", "nobias_rectgrad", "rectgrad", "input_x_gradient"]
# EXPLAINERS.md §5: which explainers carry the input (multiply by raw x) and so should show the bias.
INPUT_DEPENDENT = {"rectgrad", "input_x_gradient"}


def suite_yaml(seeds: list[int]) -> dict:
    return {
        "name": "input-bias", "seeds": seeds,
        "tasks": [{"name": "shapes_polarity", "params": {"polarity": p, **SIZES}} for p in ("bright", "dark")]
        + [{"name": "intensity", "params": SIZES}],
        "architectures": ["small_cnn"], "methods": ["erm"], "explainers": EXPLAINERS,
        "metrics": [RMA, "mean_shift_rank_corr", "mean_shift_delta", "intensity_correlation"],
        "incompatible": "skip", "evaluation": {"n_samples": 256},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="/tmp/input-bias")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    store = ResultStore(args.results)
    suite_file = Path(args.results) / "input-bias.yaml"
    suite_file.parent.mkdir(parents=True, exist_ok=True)
    suite_file.write_text(yaml.safe_dump(suite_yaml(args.seeds), sort_keys=False))
    suite = load_suite(str(suite_file))
    summary = Runner(suite, store).run()
    for cell, error in summary.failures:
        print(f"failed: {cell}: {error}")
    records = [r for cell in make_plan(suite) for e in cell.evals if (r := store.get("records", cell.eval_key(e)))]
    OUT.write_text(render(records, args.seeds, store))
    print(f"wrote {OUT}")


def cell_text(values: list[float]) -> str:
    if any(math.isinf(v) for v in values):  # δ = max|A₁ − A₂| / 0 on some sample (METRICS.md §3.2)
        return "∞"
    s = summarize(values)
    return "n/a" if s.n_seeds == 0 else f"{s.mean:.3f} ± {s.ci95:.3f}"


def mean(values: list[float]) -> float:
    return summarize(values).mean


def by_explainer(records: list[dict], value: str = "value") -> dict[str, list[float]]:
    out: dict[str, list[float]] = collections.defaultdict(list)
    for r in sorted(records, key=lambda r: r["key"]["seed"]):
        out[r["labels"]["explainer"]].append(r[value])
    return out


def rectgrad_zero_share(store: ResultStore, records: list[dict]) -> float:
    """Share of exactly-zero pixels in RectGrad's pooled maps (stored attributions of the given records)."""
    zeros, total = 0, 0
    for r in records:
        if r["labels"]["explainer"] == "rectgrad":
            found = store.get_tensors("attributions", {k: v for k, v in r["key"].items() if k != "metric"})
            if found is not None:
                R = pool(found["attributions"])
                zeros, total = zeros + int((R == 0).sum()), total + R.numel()
    return zeros / max(total, 1)


def table(header: list[str], columns: list[dict[str, list[float]]]) -> list[str]:
    lines = ["| Explainer | " + " | ".join(header) + " |", "|---|" + "---:|" * len(header)]
    for name in EXPLAINERS:
        lines.append(f"| {name} | " + " | ".join(cell_text(c.get(name, [])) for c in columns) + " |")
    return lines


def render(records: list[dict], seeds: list[int], store: ResultStore) -> str:
    def pick(metric: str, task: str, **config: str) -> list[dict]:
        return [r for r in records if r["labels"]["metric"] == metric and r["labels"]["task"].startswith(task)
                and all(r["labels"]["task_config"].get(k) == v for k, v in config.items())]

    rma = {p: by_explainer(pick(RMA, "shapes_polarity", polarity=p)) for p in ("bright", "dark")}
    bias = polarity_bias_records(pick(RMA, "shapes_polarity"))
    shift_tasks = [("shapes_polarity", {"polarity": "bright"}), ("shapes_polarity", {"polarity": "dark"}),
                   ("intensity", {})]
    shift_names = ["shapes bright", "shapes dark", "intensity"]
    rho = [by_explainer(pick("mean_shift_rank_corr", t, **c)) for t, c in shift_tasks]
    delta = [by_explainer(pick("mean_shift_delta", t, **c)) for t, c in shift_tasks]
    lines = [
        "# Input-bias probes on ERM models", "",
        f"Produced by `docs/input_bias.py` through the harness: SmallCNN trained with ERM (task budgets) on "
        f"`shapes_polarity` (bright and dark) and `intensity`, {SIZES['n_train']} training and {SIZES['n_test']} "
        f"test samples each, seeds {', '.join(map(str, seeds))}; metrics on the first 256 test samples. "
        "Cells: mean ± half-width of the 95% t-interval over seeds (`xaibench.leaderboard.stats`). "
        "Definitions: METRICS.md §3; expectations: EXPLAINERS.md §5.", "",
        "## 1. Polarity bias index (signed mean of b = RMA_bright − RMA_dark; bias-free ≈ 0)", "",
        *table(["RMA bright", "RMA dark", "b (signed mean)", "\\|b\\| (leaderboard)"],
               [rma["bright"], rma["dark"], by_explainer(bias, "signed_mean"), by_explainer(bias)]), "",
        "## 2. Mean-shift invariance (mean over c ∈ {−1, −0.5, 0.5, 1}; invariant: ρ = 1, δ = 0)", "",
        *table([f"ρ {n}" for n in shift_names] + [f"δ {n}" for n in shift_names], rho + delta), "",
        "## 3. Intensity–attribution correlation (|Spearman(I, Σ_M R)| on positives; bias-free ≈ 0)", "",
        *table(["\\|ρ\\| intensity"], [by_explainer(pick("intensity_correlation", "intensity"))]), "",
        "## What the numbers show", "",
        findings(rma, by_explainer(bias, "signed_mean"), rho, delta,
                 by_explainer(pick("intensity_correlation", "intensity")), pick("mean_shift_delta", "intensity"),
                 pick("mean_shift_delta", ""),
                 rectgrad_zero_share(store, pick("mean_shift_delta", "shapes_polarity"))),
        "",
    ]
    return "\n".join(lines)


def findings(rma: dict, signed: dict, rho: list, delta: list, intensity: dict, delta_records: list[dict],
             delta_records_all: list[dict], zero_share: float) -> str:
    """The paragraph under the tables. Its numbers are read from the records (means over seeds); its qualitative
    sentences were written for the committed numbers, so re-read them after a rerun that changes them."""
    b = {e: mean(v) for e, v in signed.items()}
    bright, dark = ({e: mean(v) for e, v in rma[p].items()} for p in ("bright", "dark"))
    zero_maps = {r["labels"]["explainer"]: sum(math.isinf(v) for v in r["values"]) for r in delta_records}
    n_eval = len(delta_records[0]["values"]) if delta_records else 0
    rho_shapes = {e: mean(rho[0].get(e, []) + rho[1].get(e, [])) for e in EXPLAINERS}
    delta_shapes = {e: mean(delta[0].get(e, []) + delta[1].get(e, [])) for e in EXPLAINERS}
    I = {e: mean(v) for e, v in intensity.items()}
    unbiased = [e for e in EXPLAINERS if e not in INPUT_DEPENDENT]
    invariant = [r["values"] for r in delta_records_all if r["labels"]["explainer"] not in INPUT_DEPENDENT]
    max_delta = max((max(v) for v in invariant), default=0.0)
    max_outliers = max((sum(d > 1e-5 for d in v) for v in invariant), default=0)
    min_rho = min(v for column in rho for e in unbiased for v in column.get(e, []))
    max_mean_delta = max(v for column in delta for e in unbiased for v in column.get(e, []))
    return (
        "All three probes separate the explainers as METRICS.md §3 and EXPLAINERS.md §5 expect. "
        f"**Polarity:** RectGrad's relevance mass on the object falls from {bright['rectgrad']:.2f} on bright "
        f"scenes to {dark['rectgrad']:.2f} on the inverted ones (b = {b['rectgrad']:+.2f}), as does "
        f"Input×Gradient's ({bright['input_x_gradient']:.2f} → {dark['input_x_gradient']:.2f}, "
        f"b = {b['input_x_gradient']:+.2f}): both multiply by the raw input, which is small on a dark object. "
        f"Bias-free RectGrad keeps its mass ({bright['nobias_rectgrad']:.2f} → {dark['nobias_rectgrad']:.2f}, "
        f"b = {b['nobias_rectgrad']:+.2f}), like Saliency (b = {b['saliency']:+.2f}) and Guided Backprop "
        f"(b = {b['guided_backprop']:+.2f}); their residual b is the difference between two separately trained "
        "models, not an input term (the spec's b = 0 for Saliency holds for one linear model). "
        f"RectGrad's high bright-scene mass, the best of the five, is thus partly the input term. "
        f"**Mean shift:** {', '.join(unbiased)} are invariant (mean ρ ≥ {math.floor(min_rho * 1e4) / 1e4:.4f}, "
        f"mean δ ≤ {max_mean_delta:.0e}; at most {max_outliers} of {n_eval} samples per model reach "
        f"δ ≤ {max_delta:.2f}, most likely float32 rounding of "
        "the shifted normalization flipping one ReLU or max-pool decision), while RectGrad changes by "
        f"δ ≈ {delta_shapes['rectgrad']:.2f} of its maximum on the shapes scenes (Input×Gradient "
        f"{delta_shapes['input_x_gradient']:.2f}). RectGrad's ranking there moves less (ρ = "
        f"{rho_shapes['rectgrad']:.3f}) than Input×Gradient's ({rho_shapes['input_x_gradient']:.3f}) because about "
        f"{zero_share:.0%} of its pooled map is exactly zero (its percentile gate), and such ties weigh heavily in "
        "Spearman's ρ; δ shows that the values do move. On the black-background intensity "
        "task both ⊙x explainers give an all-zero map on the black negative images "
        f"({zero_maps.get('rectgrad', 0)} of {n_eval} samples) while the shifted input x + c is not black, so "
        "δ = ∞ by definition and ρ drops: the most direct sign of input dependence. "
        f"**Intensity:** the attribution mass on the object follows its intensity almost monotonically for "
        f"RectGrad (|ρ| = {I['rectgrad']:.2f}) and Input×Gradient ({I['input_x_gradient']:.2f}), but not for "
        f"bias-free RectGrad ({I['nobias_rectgrad']:.2f}), Saliency ({I['saliency']:.2f}) or Guided Backprop "
        f"({I['guided_backprop']:.2f}), which supports the spec's unverified [U] expectation of ≈ 0 for bias-free "
        "explainers on these models."
    )


if __name__ == "__main__":
    main()
