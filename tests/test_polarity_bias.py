"""The polarity bias index pairs the models trained on the bright and the dark rendering."""
import json
import statistics

from conftest import run_cli

SUITE = """\
name: polarity
seeds: [0]
tasks:
  - {name: shapes_polarity, params: {polarity: bright, n_train: 128, n_test: 32}}
  - {name: shapes_polarity, params: {polarity: dark, n_train: 128, n_test: 32}}
architectures: [{name: small_cnn, params: {width: 4}}]
methods: [erm]
explainers: [saliency, input_x_gradient]
metrics: [relevance_mass_accuracy]
budget: {epochs: 1}
evaluation: {n_samples: 16}
"""


def test_polarity_bias_index_from_the_paired_records(write_suite, tmp_path):
    results = tmp_path / "results"
    proc = run_cli("run", str(write_suite(SUITE)), "--results", str(results), "--quiet")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(p.read_text()) for p in (results / "records").glob("*.json")]
    rma = {(r["labels"]["task_config"]["polarity"], r["labels"]["explainer"]): r["values"] for r in records}
    board = (results / "LEADERBOARD.md").read_text()
    assert "## shapes\\_polarity (bright vs dark) (task v1), seeds 0" in board
    derived = board.split("## shapes\\_polarity (bright vs dark)")[1].split("\n## ")[0]
    table = [line for line in derived.split("### Input bias\n")[1].splitlines() if line.startswith("|")]
    assert table[0] == "| Explainer | Method | Architecture | \\|Polarity bias\\| ↓ |"
    for line, explainer in zip(table[2:], ("input_x_gradient", "saliency")):
        b = statistics.fmean(x - y for x, y in zip(rma[("bright", explainer)], rma[("dark", explainer)]))
        assert line == f"| {explainer.replace('_', chr(92) + '_')} | erm | small\\_cnn(width=4) | {abs(b):.3f} |"
