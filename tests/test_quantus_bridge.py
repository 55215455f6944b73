"""The quantus bridge: bridged values equal quantus called directly on a tiny model; names and needs are
validated before any work; a suite with quantus metrics runs and shows them on the board."""
import numpy as np
import pytest
import torch
from conftest import run_cli

quantus = pytest.importorskip("quantus")

from xaibench.batch import Batch  # noqa: E402
from xaibench.config import load_suite  # noqa: E402
from xaibench.errors import ConfigError  # noqa: E402
from xaibench.registries import ARCHITECTURES, EXPLAINERS, METRICS  # noqa: E402


@pytest.fixture
def tiny(one_thread):
    """A small CNN on 16x16 inputs, 6 samples with a square mask, and abs-saliency maps (captum's default)."""
    arch = ARCHITECTURES.get("small_cnn")
    torch.manual_seed(0)
    model = arch(arch.Config(width=4), (1, 16, 16), 4).eval()
    x = torch.rand(6, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    mask = torch.zeros(6, 16, 16)  # as the image tasks give them: no channel axis
    mask[:, 3:9, 5:12] = 1
    target = model(x).argmax(1)
    batch = Batch(x, target, mask=mask, index=torch.arange(6))
    saliency = EXPLAINERS.get("saliency")
    with saliency(model, {"abs": True}) as e:
        attributions = e.explain(x, target, index=batch.index)
    return model, batch, attributions, lambda m: saliency(m, {"abs": True})


def bridged(name, params, tiny):
    model, batch, attributions, make_explainer = tiny
    metric = METRICS.get(f"quantus.{name}")(params)
    metric.make_explainer = make_explainer
    return metric(model, batch, attributions, batch.y).numpy()


def direct(metric, tiny, seed=0, **call):
    """quantus's own call with quantus's own captum Saliency as the explain function."""
    model, batch, attributions, _ = tiny
    np.random.seed(seed)
    return np.asarray(metric(model=model, x_batch=batch.x.numpy(), y_batch=batch.y.numpy(),
                             a_batch=attributions.numpy(), explain_func=quantus.explain,
                             explain_func_kwargs={"method": "Saliency"}, device="cpu", batch_size=6, **call),
                      dtype=np.float64)


def test_max_sensitivity_equals_quantus_which_re_explains_with_the_cells_explainer(tiny):
    ours = bridged("MaxSensitivity", {"nr_samples": 5, "lower_bound": 0.1}, tiny)
    theirs = direct(quantus.MaxSensitivity(nr_samples=5, lower_bound=0.1, disable_warnings=True), tiny)
    assert ours.shape == (6,) and np.all(ours > 0)
    # captum Saliency in both; the gradients of the same float32 graph: equal up to summation order
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    assert np.array_equal(ours, bridged("MaxSensitivity", {"nr_samples": 5, "lower_bound": 0.1}, tiny))  # seeded
    assert not np.allclose(ours, bridged("MaxSensitivity", {"nr_samples": 5, "lower_bound": 0.1, "numpy_seed": 1},
                                         tiny))


def test_random_logit_equals_quantus_with_the_models_number_of_classes(tiny):
    ours = bridged("RandomLogit", {}, tiny)  # num_classes: from the model's 4 outputs, not quantus's 1000
    theirs = direct(quantus.RandomLogit(num_classes=4, disable_warnings=True), tiny)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    with pytest.raises(RuntimeError, match="out of bounds"):  # quantus's default: classes the model does not have
        direct(quantus.RandomLogit(disable_warnings=True), tiny)


def test_mask_metrics_and_function_params_equal_quantus(tiny):
    model, batch, attributions, _ = tiny
    ours = bridged("RelevanceRankAccuracy", {}, tiny)
    theirs = quantus.RelevanceRankAccuracy(disable_warnings=True)(
        model=None, x_batch=batch.x.numpy(), y_batch=batch.y.numpy(), a_batch=attributions.numpy(),
        s_batch=batch.mask[:, None].numpy())
    np.testing.assert_array_equal(ours, theirs)
    from quantus.functions.similarity_func import correlation_pearson

    ours = bridged("FaithfulnessCorrelation", {"nr_runs": 4, "subset_size": 20, "similarity_func": "correlation_pearson"},
                   tiny)
    theirs = direct(quantus.FaithfulnessCorrelation(nr_runs=4, subset_size=20, similarity_func=correlation_pearson,
                                                    return_aggregate=False,
                                                    disable_warnings=True), tiny)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_a_metric_without_one_number_per_sample_is_a_clear_error(tiny):
    with pytest.raises(ValueError, match=r"quantus.PixelFlipping' returned list of shape \(6, 256\) for 6 samples"):
        bridged("PixelFlipping", {}, tiny)
    assert bridged("PixelFlipping", {"return_auc_per_sample": True, "features_in_step": 64}, tiny).shape == (6,)


def test_class_and_version_carry_quantus_metadata():
    cls = METRICS.get("quantus.MaxSensitivity")
    assert (cls.category, cls.higher_is_better, cls.requires) == ("robustness", False, frozenset({"explainer"}))
    assert cls.version == f"q{quantus.__version__}.b1" and cls.modalities == {"image", "time_series"}
    assert METRICS.get("quantus.PointingGame").requires == {"explainer", "mask"}
    assert METRICS.get("quantus.RandomLogit").category == "sanity"  # quantus "Randomisation": our sanity checks
    assert METRICS.get("quantus.IROF").modalities == {"image"}


SUITE = """\
name: q
seeds: [0]
tasks: [{task}]
architectures: [{{name: small_cnn, params: {{width: 4}}}}]
methods: [erm]
explainers: [saliency]
metrics: [{metric}]
budget: {{epochs: 1}}
"""


@pytest.mark.parametrize(("task", "metric", "message"), [
    ("shapes", "quantus.MaxSensitivty", "metrics[0]: unknown quantus metric 'quantus.MaxSensitivty'; "
                                        "did you mean 'quantus.MaxSensitivity'?"),
    ("shapes", "{name: quantus.MaxSensitivity, params: {nr_sample: 3}}",
     "metrics[0].params.nr_sample: unknown parameter; did you mean 'nr_samples'?"),
    ("shapes", "{name: quantus.MaxSensitivity, params: {similarity_func: diference}}",
     "metrics[0].params.similarity_func: unknown quantus function 'diference'; did you mean 'difference'?"),
    ("shapes", "{name: quantus.MaxSensitivity, params: {nr_samples: ten}}",
     "metrics[0].params.nr_samples: expected int, got str 'ten'"),
    ("digits", "quantus.PointingGame", "metrics[0]: metric 'quantus.PointingGame' requires mask, but task 'digits' "
                                       "has no ground-truth masks"),
    ("ts_boxes", "quantus.IROF", "metrics[0]: metric 'quantus.IROF' is defined for image data, but task 'ts_boxes' "
                                 "is time_series"),
    ("shapes", "quantus.Focus", "metrics[0]: 'quantus.Focus' needs mosaics of four images (c_batch)"),
    ("ts_boxes", "quantus.PointingGame", "metrics[0]: metric 'quantus.PointingGame' needs one-channel masks "
                                         "(quantus's s_batch), but task 'ts_boxes' has masks over its 10 input channels"),
])
def test_validated_before_any_work(write_suite, task, metric, message):
    path = write_suite(SUITE.format(task=task, metric=metric))
    with pytest.raises(ConfigError) as err:
        load_suite(str(path))
    assert str(err.value).startswith(f"{path}: {message}") and "\n" not in str(err.value)


def test_a_suite_with_quantus_metrics_runs_and_shows_them_on_the_board(write_suite, tmp_path):
    suite = write_suite(SUITE.format(task="{name: shapes, params: {n_train: 200, n_test: 16}}",
                                     metric="accuracy, {name: quantus.MaxSensitivity, params: {nr_samples: 3}}, "
                                            "quantus.RandomLogit, quantus.PointingGame").replace("methods", "evaluation: {n_samples: 8}\n"
                                                                                       "methods"))
    results = tmp_path / "results"
    done = run_cli("run", str(suite), "--results", str(results), "--quiet")
    assert done.returncode == 0, done.stderr
    board = (results / "LEADERBOARD.md").read_text()
    assert "Max-Sensitivity (quantus)(nr\\_samples=3) vq" in board and "Random Logit (quantus) vq" in board
    assert "Pointing Game (quantus) vq" in board.split("### Localization")[1]  # the task's masks reach quantus
    from xaibench.results import load

    df = load(results, per_sample=True)
    assert sorted(df.metric.unique()) == ["accuracy", "quantus.MaxSensitivity", "quantus.PointingGame",
                                          "quantus.RandomLogit"]
    assert len(df[df.metric == "quantus.RandomLogit"]) == 8  # one value per evaluated sample
