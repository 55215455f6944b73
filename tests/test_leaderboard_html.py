"""The HTML page (in a real headless chromium), the figures and the LaTeX tables."""
import copy
import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from conftest import run_cli
from test_leaderboard import RECORDS, accuracy, deletion

from xaibench.leaderboard.aggregate import aggregate
from xaibench.leaderboard.html import render_html
from xaibench.leaderboard.latex import render_latex
from xaibench.leaderboard.pareto import pareto_front
from xaibench.leaderboard.plots import (attribution_maps, curves, gallery, render_figures, scatter, scatter_panels,
                                        write_figures)
from xaibench.leaderboard.stats import summarize

EVIL = "<script>alert(1)</script>"
DELETION = {"erm": [0.20, 0.40, 0.30], "sgt": [0.50, 0.70, 0.62], "rrr": [0.10, 0.15, 0.05], "flint": [0.45, 0.2, 0.3]}


def four_methods():
    records = []
    for i, (method, values) in enumerate(DELETION.items()):
        records += accuracy(method, [0.8 + 0.01 * i, 0.85, 0.9]) + deletion(method, values)
    return records


def with_curves(records):
    """Deletion records with a curve per seed: y = value at x = 0.5."""
    out = copy.deepcopy(records)
    for r in out:
        if r["metric"]["name"] == "deletion":
            r["details"] = {"curves": {"x_label": "fraction removed", "y_label": "p(class)",
                                       "series": {"deletion": {"x": [0.0, 0.5, 1.0], "y": [1.0, r["value"], 0.0]}}}}
    return out


def test_plugin_names_are_escaped():
    evil = copy.deepcopy(RECORDS)
    for r in evil:
        r["labels"]["method"] = EVIL if r["labels"]["method"] == "sgt" else r["labels"]["method"]
        r["labels"]["task"] = r["labels"]["task"] + EVIL
        r["metric"]["label"] = EVIL
    page = render_html(evil)
    assert page.count("<script") == 1 and "alert(1)</script>" not in page  # only the page's own script
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page
    assert "<h2>shapes&lt;script&gt;alert(1)&lt;/script&gt; (task v1)" in page
    assert r"\textless{}script\textgreater{}alert(1)\textless{}/script\textgreater{} & small\_cnn" \
        in render_latex(evil)


def test_one_file_with_the_markdown_cells_and_no_external_resource():
    page = render_html(RECORDS)
    assert not re.search(r"https?:|<link|@import|src=\"(?!data:image/png;base64,)", page)
    mean = summarize([0.50, 0.70, 0.62]).mean
    assert ('<tr><td>sgt</td><td>small_cnn</td><td class="num" data-value="0.9"><b>0.900 ± 0.124 †</b></td>'
            '<td class="num" data-value="2.0">2.00</td></tr>') in page  # the overview
    assert ('<tr><td>saliency</td><td>sgt</td><td>small_cnn</td>'
            f'<td class="num" data-value="{mean!r}">0.607 ± 0.250 †</td><td class="num" data-value="2.0">2.00</td>'
            "</tr>") in page
    assert ('<tr><td>control: random</td><td>erm</td><td>small_cnn</td>'
            '<td class="num" data-value="0.5">0.500 ± 0.124</td><td class="num">–</td></tr>') in page
    assert '<th colspan="2"></th><th colspan="1">predictive</th><th colspan="1">rank</th>' in page
    assert '<th colspan="3"></th><th colspan="1">faithfulness</th><th colspan="1">rank</th>' in page
    assert "Code version: 0.1.0+gabc. Suite: s (h1). 15 records." in page and "<b>Bold</b>: best" in page


def test_curves_are_the_mean_over_seeds_and_absent_without_details():
    assert curves(RECORDS) == [] and [p.kind for p in render_figures(RECORDS)] == ["scatter"]
    ((column, fig),) = curves(with_curves(RECORDS))
    assert column.metric == "deletion" and [ax.get_title() for ax in fig.axes] == ["Deletion: saliency",
                                                                                 "Deletion: random"]
    erm, sgt = fig.axes[0].lines
    assert erm.get_label() == "erm/small_cnn deletion"
    np.testing.assert_allclose(sgt.get_ydata(), [1.0, np.mean([0.50, 0.70, 0.62]), 0.0])
    assert 'class="curves"' in render_html(with_curves(RECORDS)) and 'class="curves"' not in render_html(RECORDS)


def test_scatter_points_are_means_and_absent_without_accuracy():
    ((table, acc, column, points),) = scatter_panels(aggregate(four_methods()))
    assert (acc.metric, column.metric, table.explainer) == ("accuracy", "deletion", "saliency")
    rrr = summarize([0.8 + 0.01 * 2, 0.85, 0.9]).mean, summarize(DELETION["rrr"]).mean  # the third method
    assert points[("rrr", "small_cnn")] == rrr
    (front,) = scatter(aggregate(four_methods())).axes[0].lines  # rrr: best deletion; flint: best accuracy
    assert list(zip(front.get_xdata(), front.get_ydata())) == [rrr, points[("flint", "small_cnn")]]
    no_accuracy = [r for r in four_methods() if r["metric"]["name"] != "accuracy"]
    assert scatter_panels(aggregate(no_accuracy)) == [] and 'class="scatter"' not in render_html(no_accuracy)


def test_pareto_front_honors_each_direction():
    points = [(0.9, 0.3), (0.8, 0.2), (0.7, 0.5), (0.9, 0.4), (0.6, 0.1)]
    assert pareto_front(points, higher_x=True, higher_y=False) == [4, 1, 0]
    assert pareto_front(points, higher_x=True, higher_y=True) == [2, 3]
    assert pareto_front(points, higher_x=False, higher_y=False) == [4]
    assert pareto_front([(1.0, 1.0), (1.0, 1.0)]) == [0, 1]  # equal points do not dominate each other


def test_latex_cells():
    tex = render_latex(RECORDS)
    assert r"erm & small\_cnn & 0.850 $\pm$ 0.124 & \textbf{1.00} \\" in tex
    assert r"sgt & small\_cnn & \textbf{0.900 $\pm$ 0.124$^\dagger$} & 2.00 \\" in tex
    assert r"saliency & erm & small\_cnn & \textbf{0.300 $\pm$ 0.248} & 1.00 \\" in tex
    assert r"saliency & sgt & small\_cnn & 0.607 $\pm$ 0.250$^\dagger$ & 2.00 \\" in tex
    assert r"\textit{control: random} & erm & small\_cnn & 0.500 $\pm$ 0.124 & -- \\" in tex
    assert r"Method & Architecture & Accuracy $\uparrow$ & Faithfulness rank $\downarrow$ \\" in tex
    assert r"Explainer & Method & Architecture & Deletion $\downarrow$ & Rank $\downarrow$ \\" in tex
    assert r"\caption{shapes (task v1), faithfulness; seeds 0, 1, 2.}" in tex
    assert tex.count(r"\toprule") == tex.count(r"\bottomrule") == 2


def test_png_files(tmp_path):
    from matplotlib.image import imread

    paths = write_figures(with_curves(four_methods()), [], None, tmp_path / "figures")
    assert [p.name for p in paths] == ["shapes-v1-curves-Deletion.png", "shapes-v1-scatter.png"]
    assert all(imread(p).ndim == 3 and imread(p).shape[0] > 100 for p in paths)


TINY = """\
name: tiny
seeds: [0]
tasks:
  - {name: shapes, params: {n_train: 200, n_test: 16}}
architectures:
  - {name: small_cnn, params: {width: 4}}
methods: [erm]
explainers: [saliency]
metrics: [accuracy, deletion_auc]
budget: {epochs: 1}
evaluation: {n_samples: 4}
"""


def test_gallery_from_a_real_store(write_suite, tmp_path, monkeypatch, capsys):
    from xaibench.errors import DataUnavailableError
    from xaibench.store import ResultStore
    from xaibench.tasks.images.shapes import Shapes

    results = tmp_path / "results"
    assert run_cli("run", str(write_suite(TINY)), "--results", str(results), "--quiet").returncode == 0
    records = list(ResultStore(results).records())
    key = {k: v for k, v in next(r for r in records if r["labels"]["explainer"])["key"].items() if k != "metric"}
    maps = attribution_maps(ResultStore(results).get_tensors("attributions", key)["attributions"])
    x = Shapes({"n_train": 200, "n_test": 16}).load("test", 0).x
    axes = gallery(records, results).axes
    assert len(axes) == 3 * 2  # 3 samples x 1 model; the input and saliency
    for i in range(3):
        np.testing.assert_array_equal(axes[2 * i].images[0].get_array(), x[i, 0].numpy())
        np.testing.assert_array_equal(axes[2 * i + 1].images[0].get_array(), maps[i])

    def unavailable(self):
        raise DataUnavailableError("no data here")

    monkeypatch.setattr(Shapes, "check_available", unavailable)
    assert len(gallery(records, results).axes) == 3  # no input column, no error

    from xaibench.cli import main

    assert main(["leaderboard", "--results", str(results), "--format", "html", "--out", str(tmp_path / "p.html")]) == 0
    assert 'class="gallery"' in (tmp_path / "p.html").read_text()
    capsys.readouterr()
    assert main(["figures", "--results", str(results), "--out", str(tmp_path / "figs")]) == 0
    printed = capsys.readouterr().out.split()
    assert sorted(printed) == sorted(str(p) for p in (tmp_path / "figs").iterdir())
    assert {"shapes_n_train_200_n_test_16-v1-gallery.png", "shapes_n_train_200_n_test_16-v1-scatter.png"} <= \
        {p.rsplit("/", 1)[1] for p in printed}
    assert main(["leaderboard", "--results", str(results), "--format", "latex"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out


# Records every error, rejection, console error or warning and alert() from the start of the page.
PROBE = """<script>
window.__problems = [];
addEventListener("error", e => __problems.push("error: " + e.message));
addEventListener("unhandledrejection", e => __problems.push("rejection: " + e.reason));
for (const level of ["error", "warn"]) {
  const original = console[level];
  console[level] = (...args) => { __problems.push(level + ": " + args.join(" ")); original.apply(console, args); };
}
window.alert = message => __problems.push("alert: " + message);
</script>"""

# After load: click the Deletion header of the faithfulness table twice, read the method column's order each time.
CLICKER = """<script>
addEventListener("load", () => {
  const table = document.querySelectorAll("table.board")[1], th = table.querySelector('th[data-col="3"]');
  const order = () => Array.from(table.tBodies[0].rows, row => row.cells[1].textContent);
  th.click();
  const asc = order();
  th.click();
  const out = document.createElement("pre");
  out.id = "result";
  out.textContent = JSON.stringify({asc, desc: order(), header: th.textContent, problems: __problems,
                                    images: Array.from(document.images, img => img.naturalWidth)});
  document.body.appendChild(out);
});
</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
def test_sorting_in_a_real_browser(tmp_path):
    records = four_methods()
    for r in records:  # an unescaped name would run and call alert()
        r["labels"]["method"] = EVIL if r["labels"]["method"] == "flint" else r["labels"]["method"]
    page = render_html(with_curves(records))
    page = page.replace("<head>", "<head>" + PROBE, 1).replace("</body>", CLICKER + "</body>", 1)
    (tmp_path / "page.html").write_text(page)
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
                          (tmp_path / "page.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result = json.loads(html.unescape(found.group(1)))
    assert result["problems"] == [] and result["header"] == "Deletion ↓"
    means = {m if m != "flint" else EVIL: summarize(v).mean for m, v in DELETION.items()}
    assert result["asc"] == sorted(means, key=means.get) == ["rrr", "erm", EVIL, "sgt"]
    assert result["desc"] == sorted(means, key=means.get, reverse=True)
    assert len(result["images"]) == 2 and all(w > 100 for w in result["images"])  # the PNGs decode


def test_the_page_shows_each_models_health_figures_and_warnings():
    def training(method, seed, health):
        return {"key": {"task": {"name": "shapes", "version": "1"}, "seed": seed, "data_seed": 0},
                "labels": {"task": "shapes", "architecture": "small_cnn", "method": method}, "wall_time_s": 1.0,
                "code_version": "0.1.0+gabc", "versions": {"torch": "2.13.0"}, "suite": {"name": "s", "hash": "h1"},
                "health": health}

    runs = [training("rrr", 0, {"per_epoch": {"ratio": [3.0, 0.5]}, "warnings": []}),
            training("expl_consistency", 1, {"per_epoch": {"ess_fraction": [None, 0.017]},
                                             "warnings": [f"{EVIL} 'ess_fraction' = 0.017"]}),
            training("erm", 0, {"per_epoch": {}, "warnings": []})]
    page = render_html(RECORDS, runs)
    section = page[page.index('<section id="health">'):]
    assert "<tr><td>rrr</td><td>small_cnn</td><td>0</td><td>ratio 0.5</td><td class=\"warn\"></td></tr>" in section
    assert "<td>ess_fraction 0.017</td><td class=\"warn\">&lt;script&gt;" in section and EVIL not in page
    assert "<td>erm</td>" not in section  # no figures: no row
    assert 'id="health"' not in render_html(RECORDS)


# After load at 1280 px: does the page fit, does the wide table scroll inside its box, does its first column stay?
FIT = """<script>
addEventListener("load", () => {
  const table = document.querySelectorAll("table.board")[1], box = table.parentElement;
  const first = () => table.tBodies[0].rows[0].cells[0].getBoundingClientRect().left;
  const before = first(), third = table.tBodies[0].rows[0].cells[3].getBoundingClientRect().left;
  box.scrollLeft = 600;
  const th = table.tHead.rows[1].cells[3];
  const out = document.createElement("pre");
  out.id = "result";
  out.textContent = JSON.stringify({
    page: document.documentElement.scrollWidth, viewport: innerWidth, box: box.clientWidth, table: box.scrollWidth,
    scrolled: box.scrollLeft, firstMoved: first() - before, thirdMoved: table.tBodies[0].rows[0].cells[3]
      .getBoundingClientRect().left - third, headerLines: Math.round(th.getBoundingClientRect().height /
      parseFloat(getComputedStyle(th).lineHeight)), problems: __problems});
  document.body.appendChild(out);
});
</script>"""


def wide_records(n_metrics=18):
    """Two methods, one explainer, ``n_metrics`` faithfulness metrics with long labels: wider than 1280 px."""
    records = accuracy("erm", [0.9, 0.8, 0.85]) + accuracy("sgt", [0.95, 0.85, 0.9])
    for i in range(n_metrics):
        for method, shift in (("erm", 0.0), ("sgt", 0.1)):
            for r in deletion(method, [0.2 + shift, 0.4, 0.3 + i / 100]):
                r["metric"] = {**r["metric"], "name": f"m{i}", "label": f"A long metric label number {i}"}
                r["labels"] = {**r["labels"], "metric": f"m{i}"}
                records.append(r)
    return records


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
def test_wide_tables_fit_a_1280_px_screen(tmp_path):
    page = render_html(wide_records())
    page = page.replace("<head>", "<head>" + PROBE, 1).replace("</body>", FIT + "</body>", 1)
    (tmp_path / "page.html").write_text(page)
    common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", "--hide-scrollbars"]
    dom = subprocess.run([*common, "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "page.html").as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    r = json.loads(html.unescape(found.group(1)))
    assert r["problems"] == [] and r["viewport"] == 1280
    assert r["page"] <= r["viewport"]  # the page itself never scrolls sideways
    assert r["table"] > r["box"] and r["scrolled"] > 0  # the table scrolls inside its box
    assert r["firstMoved"] == 0 and r["thirdMoved"] < -500  # the first column stays; the others move
    assert r["headerLines"] >= 2  # long headers wrap
    shot = tmp_path / "page.png"
    subprocess.run([*common, f"--screenshot={shot}", (tmp_path / "page.html").as_uri()], check=True,
                   capture_output=True, timeout=120)
    from matplotlib.image import imread

    assert imread(shot).shape[1] == 1280
