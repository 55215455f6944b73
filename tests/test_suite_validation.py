"""A bad suite stops the run before any work: one line naming file and key, exit code 2, nothing written."""
import textwrap

import pytest

from conftest import REPO, run_cli
from xaibench.config import SUITES_DIR, load_suite
from xaibench.budget import Budget
from xaibench.errors import ConfigError
from xaibench.tasks.images.shapes import Shapes

GOOD = """\
name: t
seeds: [0]
tasks: [shapes]
architectures: [small_cnn]
methods: [erm]
explainers: [saliency]
metrics: [accuracy, pointing_game]
"""

MASKLESS_TASK_PLUGIN = '''
from xaibench.registries import TASKS
from xaibench.tasks.base import TaskMeta
from xaibench.tasks.images.shapes import Shapes

@TASKS.register
class ShapesNoMask(Shapes):
    """Shapes without its masks (a test fixture)."""
    name = "shapes_nomask"
    meta = TaskMeta(modality="image", input_shape=(1, 32, 32), num_classes=4, has_mask=False, source="synthetic")
'''


def test_good_suite_resolves(write_suite):
    suite = load_suite(str(write_suite(GOOD)))
    assert [m.name for m in suite.components("metrics")] == ["accuracy", "pointing_game"] and suite.seeds == (0,)
    assert suite.hash == load_suite(str(write_suite(GOOD, "again.yaml"))).hash


@pytest.mark.parametrize("old, new, message", [
    ("methods: [erm]", "methods: [ermm]", r"methods\[0\]: unknown method 'ermm'; did you mean 'erm'\?"),
    ("tasks: [shapes]", "tasks: [shape]", r"tasks\[0\]: unknown task 'shape'; did you mean 'shapes'\?"),
    ("explainers: [saliency]", "explainers: [saliancy]", r"explainers\[0\]: unknown explainer 'saliancy'; did you mean 'saliency'\?"),
    ("metrics: [accuracy, pointing_game]", "metrics: [accuracy, pointing_gam]",
     r"metrics\[1\]: unknown metric 'pointing_gam'; did you mean 'pointing_game'\?"),
    ("architectures: [small_cnn]", "architectures: [{name: small_cnn, params: {widht: 8}}]",
     r"architectures\[0\]\.params\.widht: unknown parameter; did you mean 'width'\?"),
    ("architectures: [small_cnn]", "architectures: [{name: small_cnn, params: {width: eight}}]",
     r"architectures\[0\]\.params\.width: expected int, got str 'eight'"),
    ("tasks: [shapes]", "tasks: [{name: shapes, parms: {}}]", r"tasks\[0\]\.parms: unknown key; did you mean 'params'\?"),
    ("seeds: [0]", "sedes: [0]", r": sedes: unknown key; did you mean 'seeds'\?"),
    ("seeds: [0]", "seeds: [zero]", r"seeds: expected a non-empty list of integers"),
    ("seeds: [0]", "seeds: [0]\nbudget: {epochs: 1.5}", r"budget\.epochs: expected int, got float 1\.5"),
    ("seeds: [0]", "seeds: [0]\nevaluation: {n_sample: 8}", r"evaluation\.n_sample: unknown parameter; did you mean 'n_samples'\?"),
    ("methods: [erm]", "methods: []", r"methods: expected a non-empty list of names"),
    ("methods: [erm]", "methods: [erm, erm]", r"methods\[1\]: 'erm' is listed twice"),
    ("seeds: [0]", "seeds: [0\n", r"not valid YAML"),
])
def test_errors_name_file_and_key(write_suite, old, new, message):
    path = write_suite(GOOD.replace(old, new))
    with pytest.raises(ConfigError, match=message) as info:
        load_suite(str(path))
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_mask_metric_on_task_without_masks(write_suite, tmp_path):
    (tmp_path / "nomask.py").write_text(MASKLESS_TASK_PLUGIN)
    path = write_suite(GOOD.replace("tasks: [shapes]", "tasks: [shapes_nomask]") + "plugins: [nomask.py]\n")
    with pytest.raises(ConfigError, match=r"metrics\[1\]: metric 'pointing_game' requires mask, "
                                          r"but task 'shapes_nomask' has no ground-truth masks"):
        load_suite(str(path))


def test_unknown_suite_name():
    with pytest.raises(ConfigError, match=r"quik: no such suite file or built-in suite; did you mean 'quick'\?"):
        load_suite("quik")


def test_broken_plugin_named(write_suite, tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ConfigError, match=r"plugin .*broken\.py: failed to import: RuntimeError: boom"):
        load_suite(str(write_suite(GOOD + "plugins: [broken.py]\n")))


def test_cli_exit_code_2_and_nothing_written(write_suite, tmp_path):
    path = write_suite(GOOD.replace("methods: [erm]", "methods: [ermm]"))
    results = tmp_path / "results"
    proc = run_cli("run", str(path), "--results", str(results), "--quiet")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"xaibench: error: {path}: methods[0]: unknown method 'ermm'; did you mean 'erm'?"]
    assert not results.exists() and proc.stdout == ""


MISSING_DATA_PLUGIN = '''
from xaibench.errors import DataUnavailableError
from xaibench.registries import TASKS
from xaibench.tasks.images.shapes import Shapes

@TASKS.register
class Absent(Shapes):
    """A task whose files are never there (a test fixture)."""
    name = "absent_POLICY"

    def check_available(self):
        raise DataUnavailableError("looked in /nowhere; apt-get install -y dataset-absent")
'''


@pytest.mark.parametrize("policy", ["fail", "skip"])
def test_missing_data_fails_or_skips_as_the_suite_says(write_suite, tmp_path, policy):
    (tmp_path / "absent.py").write_text(MISSING_DATA_PLUGIN.replace("POLICY", policy))  # one name per file
    text = GOOD.replace("tasks: [shapes]", f"tasks: [shapes, absent_{policy}]") + f"plugins: [absent.py]\nmissing_data: {policy}\n"
    path = write_suite(text)
    if policy == "fail":
        with pytest.raises(ConfigError, match=r"tasks\[1\]: looked in /nowhere; apt-get install -y dataset-absent"):
            load_suite(str(path))
    else:
        suite = load_suite(str(path))
        assert [t.name for t in suite.components("tasks")] == ["shapes"]
        assert suite.notices == (f"{path}: tasks[1]: skipped: looked in /nowhere; apt-get install -y dataset-absent",)


def test_include_and_override(write_suite):
    write_suite(GOOD, "base.yaml")
    child = load_suite(str(write_suite("include: base.yaml\nseeds: [3, 4]\nname: child\n", "child.yaml")))
    base = load_suite(str(write_suite(GOOD, "base.yaml")))
    assert child.seeds == (3, 4) and child.name == "child"
    assert [m.label for m in child.components("metrics")] == [m.label for m in base.components("metrics")]
    builtin = load_suite(str(write_suite("include: quick\nseeds: [0]\n", "small.yaml")))
    assert [t.name for t in builtin.components("tasks")] == ["shapes"] and builtin.seeds == (0,)


def test_include_cycle_is_an_error(write_suite):
    write_suite("include: b.yaml\n", "a.yaml")
    path = write_suite("include: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError, match="include: the suite includes itself"):
        load_suite(str(path))


def test_parts_are_cross_products_of_their_own(write_suite):
    text = GOOD.replace("metrics: [accuracy, pointing_game]", "metrics: [accuracy]") + (
        "parts:\n"
        "  - {}\n"
        "  - {architectures: [{name: small_cnn, params: {width: 4}}], metrics: [accuracy, pointing_game]}\n")
    suite = load_suite(str(write_suite(text)))
    from xaibench.plan import make_plan

    cells = make_plan(suite)
    assert [(c.architecture.label, [e.metric.name for e in c.evals]) for c in cells] == [
        ("small_cnn", ["accuracy"]), ("small_cnn(width=4)", ["accuracy", "pointing_game"])]
    bad = GOOD + "parts:\n  - {architectures: [small_cnnn]}\n"
    with pytest.raises(ConfigError, match=r"parts\[0\]: architectures\[0\]: unknown architecture 'small_cnnn'"):
        load_suite(str(write_suite(bad)))


def test_explainer_left_out_where_the_architecture_cannot_serve_it(write_suite):
    from xaibench.plan import make_plan

    text = GOOD.replace("architectures: [small_cnn]", "architectures: [small_cnn, mlp]").replace(
        "explainers: [saliency]", "explainers: [saliency, grad_cam]")
    path = write_suite(text)
    suite = load_suite(str(path))
    assert suite.notices == (f"{path}: explainers[1]: left out on architecture 'mlp': explainer 'grad_cam' needs a "
                             "cam_layer, which architecture 'mlp' does not declare",)
    explainers = {c.architecture.name: sorted({e.explainer.name for e in c.evals if e.explainer})
                  for c in make_plan(suite)}
    assert explainers == {"small_cnn": ["grad_cam", "saliency"], "mlp": ["saliency"]}
    with pytest.raises(ConfigError, match=r"explainers\[1\]: explainer 'grad_cam' needs a cam_layer"):
        load_suite(str(write_suite(text.replace("[small_cnn, mlp]", "[mlp]"))))


def test_incompatible_combinations_fail_or_are_left_out(write_suite):
    from xaibench.plan import make_plan

    text = GOOD.replace("tasks: [shapes]", "tasks: [shapes, digits]").replace(
        "architectures: [small_cnn]", "architectures: [small_cnn, ts_tcn]")
    with pytest.raises(ConfigError, match=r"architectures\[1\]: architecture 'ts_tcn' is for time_series data"):
        load_suite(str(write_suite(text)))
    path = write_suite(text + "incompatible: skip\n")
    suite = load_suite(str(path))
    assert suite.notices == (
        f"{path}: architectures[1]: left out on task 'shapes': architecture 'ts_tcn' is for time_series data, "
        "but task 'shapes' is image",
        f"{path}: metrics[1]: left out on task 'digits': metric 'pointing_game' requires mask, but task 'digits' "
        "has no ground-truth masks",
        f"{path}: architectures[1]: left out on task 'digits': architecture 'ts_tcn' is for time_series data, "
        "but task 'digits' is image",
    )
    plan = {(c.task.name, c.architecture.name): [e.metric.name for e in c.evals] for c in make_plan(suite)}
    assert plan == {("shapes", "small_cnn"): ["accuracy", "pointing_game"], ("digits", "small_cnn"): ["accuracy"]}


def test_flint_metrics_and_explainers_only_on_flint_models(write_suite):
    from xaibench.plan import make_plan

    text = GOOD.replace("methods: [erm]", "methods: [erm, flint]").replace(
        "explainers: [saliency]", "explainers: [saliency, flint_relevance]").replace(
        "metrics: [accuracy, pointing_game]", "metrics: [accuracy, flint_fidelity, pointing_game]")
    plan = {c.method.name: sorted((e.explainer.name if e.explainer else "-", e.metric.name) for e in c.evals)
            for c in make_plan(load_suite(str(write_suite(text))))}
    assert plan == {
        "erm": [("-", "accuracy"), ("saliency", "pointing_game")],
        "flint": [("-", "accuracy"), ("-", "flint_fidelity"), ("flint_relevance", "pointing_game"),
                  ("saliency", "pointing_game")]}
    with pytest.raises(ConfigError, match=r"metrics\[1\]: 'flint_fidelity' needs models trained by a method that "
                                          r"provides flint \(e.g. flint\), and no listed method does"):
        load_suite(str(write_suite(text.replace("methods: [erm, flint]", "methods: [erm]"))))


def test_a_task_entry_may_set_its_own_budget(write_suite):
    """A task entry's budget overrides the task's and the suite's, is in the model key and the label (so the same
    task on two budgets gives two rows), and is validated like the suite's."""
    path = write_suite(GOOD.replace("tasks: [shapes]", "tasks: [{name: shapes, budget: {epochs: 2, lr: 0.01}}, shapes]")
                       + "budget: {epochs: 3, batch_size: 16}\n")
    suite = load_suite(str(path))
    own, plain = suite.parts[0].tasks
    assert (own.label, plain.label) == ("shapes(budget.epochs=2, budget.lr=0.01)", "shapes")
    assert suite.budget_for(own) == Budget(epochs=2, batch_size=16, lr=0.01)
    assert suite.budget_for(plain) == Budget(epochs=3, batch_size=16, lr=Shapes.budget.lr)
    assert load_suite(str(write_suite(GOOD, "plain.yaml"))).hash != suite.hash
    bad = write_suite(GOOD.replace("tasks: [shapes]", "tasks: [{name: shapes, budget: {epochs: 0}}]"), "bad.yaml")
    with pytest.raises(ConfigError, match=r"^.*bad\.yaml: tasks\[0\]\.budget\.epochs: .*0"):
        load_suite(str(bad))
    other = write_suite(GOOD.replace("methods: [erm]", "methods: [{name: erm, budget: {epochs: 2}}]"), "other.yaml")
    with pytest.raises(ConfigError, match=r"other\.yaml: methods\[0\]\.budget: a budget belongs to a task entry "
                                          r"or the suite, not to methods$"):
        load_suite(str(other))


# paper.yaml needs the user's CIFAR-100 files and says so (missing_data: fail); the others skip what is absent
SHIPPED = [p for p in sorted(SUITES_DIR.glob("*.yaml")) if p.stem != "paper"] + [REPO / "docs" / "budget_check.yaml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_suites_validate(path):
    assert load_suite(str(path)).parts
