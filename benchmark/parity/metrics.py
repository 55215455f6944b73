"""Metric comparisons (METRICS.md): quantus 0.6 and scikit-learn on the same inputs, pytorch-grad-cam, RISE and
the official ROAD code transcribed, closed forms. Importing this module registers them.

Rankings: where a reference ranks by its own argsort, it is given ``ranking_scores``, scores whose descending order is
exactly our ranking (``maps.rank_positions``), so the comparison measures the metric, not the tie rule.
"""
from __future__ import annotations

import contextlib
import io
import math
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.functional.maps import minmax, pool, rank_positions
from xaibench.parity import comparison, gen, max_abs_diff, no_reference, small_cnn
from xaibench.parity import transcribed as T

QUANTUS = "quantus 0.6"


def quantus_metric(cls: type, **kwargs: Any) -> Any:
    """A quantus metric built with its warnings silenced (some print them regardless)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return cls(disable_warnings=True, **kwargs)


def quantus_call(metric: Any, **kwargs: Any) -> np.ndarray:
    """``metric(**kwargs)`` as float64, warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(metric(**kwargs), dtype=np.float64)


def ranking_scores(R: torch.Tensor, index: torch.Tensor | None = None) -> torch.Tensor:
    """D − (place in our ranking): distinct scores (float64) whose descending order is our exact ranking of R."""
    return (R[0].numel() - rank_positions(R, index)).double()


def localization_case(n: int = 16, h: int = 9, w: int = 11, seed: int = 15) -> tuple[torch.Tensor, torch.Tensor]:
    """Continuous float64 maps (n × 3 × h × w) with a unique maximum and masks of about half the pixels."""
    A = torch.randn(n, 3, h, w, generator=gen(seed), dtype=torch.float64)
    mask = (torch.rand(n, h, w, generator=gen(seed + 1)) > 0.5).double()
    return A, mask


# ---- faithfulness -----------------------------------------------------------------------------------------

def sum_model(weights: list[float]) -> nn.Module:
    """Logits (0, w·x) on 1×1×2 inputs: METRICS.md §1's AD/AI/AG test models."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[0.0, 0.0], weights]))
    return model


def confidence_spec(name: str, weights: list[float]) -> float:
    from xaibench.registries import METRICS

    x, A, y = torch.ones(1, 1, 1, 2), torch.tensor([[[[1.0, 0.0]]]]), torch.tensor([1])
    return METRICS.get(name)()(sum_model(weights), Batch(x, y), A, y).item()


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


@comparison("metric", "average_drop", "closed form: 100(1 − σ(1)/σ(2)) = 17.0003 (METRICS.md §1)",
            "logits (0, x₁ + x₂), x = (1, 1), map (1, 0)", 1e-9)
def average_drop_spec() -> float:
    return abs(confidence_spec("average_drop", [1.0, 1.0]) - 100 * (1 - sigmoid(1) / sigmoid(2)))


@comparison("metric", "average_gain", "closed form: 100(σ(2) − σ(1))/(1 − σ(1) + 1e-8) = 55.6770 (METRICS.md §1)",
            "logits (0, 2x₁ − x₂), x = (1, 1), map (1, 0)", 1e-9)
def average_gain_spec() -> float:
    want = 100 * (sigmoid(2) - sigmoid(1)) / (1 - sigmoid(1) + 1e-8)
    return abs(confidence_spec("average_gain", [2.0, -1.0]) - want)


def pgc_case() -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """small_cnn, 3 inputs, random maps and the cams pytorch-grad-cam is given: our S = minmax(pooled map)."""
    model, x, target = small_cnn()
    A = torch.rand(x.shape, generator=gen(7))
    return model, x, target, A, minmax(pool(A)).float().numpy()


@comparison("metric", "average_drop", f"pytorch-grad-cam DropInConfidence ({T.PGC}, transcribed)",
            "small_cnn, 3 × 2×16×16, reference=pytorch_grad_cam", 1e-5,
            "pytorch-grad-cam is usually given the normalized tensor (masked regions → mean colour); here it runs "
            "on our model, whose first layer normalizes, as our switch does")
def average_drop_pgc() -> float:
    from xaibench.metrics.faithfulness import AverageDrop

    model, x, target, A, cams = pgc_case()
    ours = AverageDrop({"reference": "pytorch_grad_cam"})(model, Batch(x, target), A, target)
    return max_abs_diff(ours, T.pgc_drop_in_confidence(model, x, cams, target))


@comparison("metric", "average_increase",
            f"pytorch-grad-cam IncreaseInConfidence ({T.PGC}, transcribed), ClassifierOutputSoftmaxTarget, ×100",
            "small_cnn, 3 × 2×16×16", 0.0, "on logits (its default target) the indicator can differ")
def average_increase_pgc() -> float:
    from xaibench.metrics.faithfulness import AverageIncrease

    model, x, target, A, cams = pgc_case()
    ours = AverageIncrease()(model, Batch(x, target), A, target)
    return max_abs_diff(ours, 100 * T.pgc_increase_in_confidence(model, x, cams, target))


def pixel_flipping(model: nn.Module, x: torch.Tensor, r: np.ndarray, target: torch.Tensor, features: int,
                   baseline: str = "black") -> np.ndarray:
    """quantus PixelFlipping curves (N × n): ``features`` values flipped per step, in the order of ``r``."""
    import quantus

    metric = quantus_metric(quantus.PixelFlipping, features_in_step=features, perturb_baseline=baseline, abs=False,
                            normalise=False)
    return quantus_call(metric, model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=r, softmax=True,
                        device="cpu")


def deletion_case(channels: int = 1, size: int = 10, n: int = 6) -> tuple[Any, ...]:
    from xaibench.metrics.functional import faithfulness as F

    model, _, _ = small_cnn(channels=channels, size=size, seed=1)
    x = torch.rand(n, channels, size, size, generator=gen(17))
    x[:, 0, 0, 0] = 0  # quantus "black" = min of the image; a 0 pixel makes it our zeros substrate
    A = torch.randn(n, channels, size, size, generator=gen(18))
    target = model(x).argmax(1)
    index = torch.arange(40, 40 + n)
    t, ours = F.deletion_curve(model, x, A, target, index=index)
    return model, x, A, target, index, t, ours


@comparison("metric", "deletion_auc", f"{QUANTUS} PixelFlipping (black baseline) curve",
            "small_cnn, 6 × {1×10×10, 3×12×12}, s = 1 and 2 px per step", 1e-6,
            "quantus's curve omits the unperturbed point and its AUC is np.trapz with dx = 1; the points are equal")
def deletion_quantus() -> float:
    from xaibench.metrics.functional import faithfulness as F

    worst = 0.0
    for channels, size in ((1, 10), (3, 12)):
        model, x, A, target, index, t, ours = deletion_case(channels, size)
        s, _ = F.step_sizes(size * size, 100)
        # quantus argsorts C·H·W values: our r per channel keeps a pixel's channels together.
        r = ranking_scores(pool(A), index).unsqueeze(1).expand(-1, channels, -1, -1).numpy()
        worst = max(worst, max_abs_diff(ours[:, 1:], pixel_flipping(model, x, r, target, s * channels)))
    return worst


def rise_parity(mode: str) -> float:
    from xaibench.metrics.functional import faithfulness as F

    model, x, A, target, index, t, _ = deletion_case(3, 12)
    r = ranking_scores(pool(A), index)
    if mode == "del":
        ours = F.deletion_curve(model, x, A, target, index=index)[1]
        substrate = torch.zeros_like
    else:
        ours = F.insertion_curve(model, x, A, target, index=index)[1]
        kern = T.rise_gkern(11, 5, x.shape[1])
        substrate = lambda img: nn.functional.conv2d(img, kern, padding=11 // 2)  # noqa: E731  (Evaluation.ipynb)
    s, _ = F.step_sizes(x.shape[-1] * x.shape[-2], 100)
    probs = nn.Sequential(model, nn.Softmax(dim=1))
    with torch.no_grad():
        theirs = np.stack([T.rise_curve(probs, x[i:i + 1], r[i].numpy(), mode, s, substrate) for i in range(len(x))])
    worst = max_abs_diff(ours, theirs)
    # The AUC: RISE's equal-width rule is our trapezoid over t when s divides HW (here 2 divides 144).
    auc = np.array([(a.sum() - a[0] / 2 - a[-1] / 2) / (a.shape[0] - 1) for a in theirs])
    return max(worst, max_abs_diff(F.auc(t, ours), auc))


@comparison("metric", "deletion_auc", f"RISE CausalMetric('del', zeros) and auc ({T.RISE}, transcribed)",
            "small_cnn, 6 × 3×12×12, 2 px per step", 1e-6,
            "RISE deletes to zeros of the normalized tensor (the mean colour): that is our substrate=mean")
def deletion_rise() -> float:
    return rise_parity("del")


@comparison("metric", "insertion_auc", f"RISE CausalMetric('ins', blur: gkern(11, 5)) and auc ({T.RISE}, "
            "transcribed)", "small_cnn, 6 × 3×12×12, 2 px per step", 1e-6)
def insertion_rise() -> float:
    return rise_parity("ins")


@comparison("metric", "road_morf", f"{QUANTUS} ROAD (MoRF correctness per p, noise 0)",
            "small_cnn, 16 × 1×28×28, p = 0.1…0.9, pooling=sum", 0.0,
            "quantus has no LeRF and no p_c curves and averages only its first batch; ours are per sample")
def road_morf_quantus() -> float:
    rc, theirs, _ = road_quantus_case()
    return max_abs_diff(rc.morf_correct, theirs)


def road_quantus_case() -> tuple[Any, np.ndarray, Any]:
    """Our ROAD curves, quantus ROAD's per-sample MoRF correctness (N × P) and the quantus metric, same inputs."""
    import quantus

    from xaibench.metrics.functional import road as R

    n = 16
    model, _, _ = small_cnn(channels=1, size=28, seed=19)
    x = torch.rand(n, 1, 28, 28, generator=gen(20))
    A = torch.randn(n, 1, 28, 28, generator=gen(21))
    y = torch.randint(0, 3, (n,), generator=gen(22))
    index = torch.arange(n)
    rc = R.road_curves(model, x, A, y, y, index=index, pooling="sum", noise_std=0.0)
    # Same ranking: give quantus our r. Its percentages are integers: p = 0.1 ... 0.9 is 10 ... 90.
    r = ranking_scores(pool(A, "sum"), index).unsqueeze(1).numpy()
    metric = quantus_metric(quantus.ROAD, percentages=list(range(10, 100, 10)), noise=0.0)
    metric.custom_postprocess = lambda **kw: None  # keep its per-sample 0/1 matrix (N x P)
    theirs = quantus_call(metric, model=model, x_batch=x.numpy(), y_batch=y.numpy(), a_batch=r, device="cpu",
                          batch_size=n)[0]
    return rc, theirs, metric


@comparison("metric", "road_morf", f"{QUANTUS} noisy_linear_imputation (port of the official ROAD imputer)",
            "3 × 2×28×28, 20/60/95 % removed, noise 0", 1e-5)
def road_imputation() -> float:
    from quantus.functions.perturb_func import noisy_linear_imputation

    from xaibench.metrics.functional import road as R

    x = torch.rand(3, 2, 28, 28, generator=gen(17))
    removed = torch.rand(3, 28, 28, generator=gen(18)) < torch.tensor([0.2, 0.6, 0.95]).view(-1, 1, 1)
    ours = R.linear_imputation(x, removed)
    theirs = [noisy_linear_imputation(x[k].numpy().astype(np.float64), np.flatnonzero(removed[k].numpy()), noise=0.0)
              for k in range(3)]
    return max_abs_diff(ours, np.stack(theirs))


ROAD_HW = (63, 100, 225, 784, 1024)


@comparison("metric", "road_lerf", f"official ROAD removal counts ({T.ROAD}, transcribed), th_p = 1 − p",
            f"HW ∈ {{{', '.join(map(str, ROAD_HW))}}}, p = 0.1…0.9 (pixels)", 1.0,
            "we remove ⌊p·HW⌋ least relevant pixels (as MoRF); the official LeRF removes HW − int(HW(1 − p)), one "
            "more when p·HW is fractional or 1 − p rounds down in binary (METRICS.md §1)")
def road_lerf_counts() -> float:
    from xaibench.metrics.functional import road as R

    ps = [k / 10 for k in range(1, 10)]
    return float(max(abs(T.road_removed_count(hw, 1 - p, False) - ours)
                     for hw in ROAD_HW for p, ours in zip(ps, R.removal_counts(hw, ps))))


@comparison("metric", "road_morf", f"official ROAD removal counts ({T.ROAD}, transcribed)",
            f"HW ∈ {{{', '.join(map(str, ROAD_HW))}}}, p = 0.1…0.9 (pixels)", 0.0)
def road_morf_counts() -> float:
    from xaibench.metrics.functional import road as R

    ps = [k / 10 for k in range(1, 10)]
    return float(max(abs(T.road_removed_count(hw, p, True) - ours)
                     for hw in ROAD_HW for p, ours in zip(ps, R.removal_counts(hw, ps))))


# ---- localization and complexity --------------------------------------------------------------------------

@comparison("metric", "pointing_game", f"{QUANTUS} PointingGame", "32 × 12×12 maps with a unique maximum", 0.0,
            "quantus has no tolerance (ours: 15 px, TorchRay; set to 0 here), counts any tied maximum, and an "
            "empty mask as a hit")
def pointing_game_quantus() -> float:
    import quantus

    from xaibench.metrics.functional.localization import pointing_game

    n, h, w = 32, 12, 12
    R = pool(torch.rand(n, 3, h, w, generator=gen(13)))
    flat = R.flatten(1)
    flat[torch.arange(n), flat.argmax(1)] += 0.5  # a unique maximum
    A = R.unsqueeze(1)
    mask = (torch.rand(n, h, w, generator=gen(14)) > 0.7).float()
    ours = pointing_game(A, mask, tolerance=0)
    theirs = quantus_call(quantus_metric(quantus.PointingGame, abs=False, normalise=False), model=None,
                          x_batch=torch.rand(n, 1, h, w).numpy(), y_batch=np.zeros(n, dtype=int), a_batch=A.numpy(),
                          s_batch=mask.unsqueeze(1).numpy())
    return max_abs_diff(ours, theirs)


def pooled_quantus(cls: type, ours: torch.Tensor, R: torch.Tensor, mask: torch.Tensor, **call: Any) -> float:
    """quantus ``cls`` (abs and normalise off) on our pooled map R as one channel against ``ours``."""
    metric = quantus_metric(cls, abs=False, normalise=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = metric.evaluate_batch(a_batch=R.unsqueeze(1).numpy(), s_batch=mask.unsqueeze(1).numpy(), **call)
    return max_abs_diff(ours, np.asarray(theirs, dtype=np.float64))


LOC = "16 × 3×9×11 float64 maps, pooled sum,abs, random masks"


@comparison("metric", "relevance_mass_accuracy", f"{QUANTUS} RelevanceMassAccuracy on the pooled map", LOC, 1e-12,
            "an all-zero map is 0/0 = NaN in quantus, |M|/HW here")
def rma_quantus() -> float:
    import quantus

    from xaibench.metrics.functional.localization import relevance_mass_accuracy

    A, mask = localization_case()
    return pooled_quantus(quantus.RelevanceMassAccuracy, relevance_mass_accuracy(A, mask), pool(A), mask)


@comparison("metric", "relevance_rank_accuracy", f"{QUANTUS} RelevanceRankAccuracy on the pooled map", LOC, 1e-12)
def rra_quantus() -> float:
    import quantus

    from xaibench.metrics.functional.localization import relevance_rank_accuracy

    A, mask = localization_case()
    index = torch.arange(len(A))
    return pooled_quantus(quantus.RelevanceRankAccuracy, relevance_rank_accuracy(A, mask, index=index),
                          ranking_scores(pool(A), index), mask)


@comparison("metric", "top_k_iou", f"{QUANTUS} RelevanceRankAccuracy ρ through IoU = ρ/(2 − ρ) (k = |M|)", LOC, 1e-12)
def top_k_iou_quantus() -> float:
    import quantus

    from xaibench.metrics.functional.localization import top_k_iou

    A, mask = localization_case()
    index = torch.arange(len(A))
    metric = quantus_metric(quantus.RelevanceRankAccuracy, abs=False, normalise=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = np.asarray(metric.evaluate_batch(a_batch=ranking_scores(pool(A), index).unsqueeze(1).numpy(),
                                               s_batch=mask.unsqueeze(1).numpy()), dtype=np.float64)
    return max_abs_diff(top_k_iou(A, mask, index=index), rho / (2 - rho))


@comparison("metric", "pixel_roc_auc", f"{QUANTUS} AUC (scikit-learn roc_auc) on the pooled map", LOC, 1e-12)
def roc_auc_quantus() -> float:
    import quantus

    from xaibench.metrics.functional.localization import pixel_roc_auc

    A, mask = localization_case()
    return pooled_quantus(quantus.AUC, pixel_roc_auc(A, mask), pool(A), mask)


@comparison("metric", "energy_pointing_game", f"{QUANTUS} AttributionLocalisation on minmax(pooled map)", LOC, 1e-8,
            "quantus divides by (total + 1e-9)")
def ebpg_quantus() -> float:
    import quantus

    from xaibench.metrics.functional.localization import energy_pointing_game

    A, mask = localization_case()
    S = minmax(pool(A))
    return pooled_quantus(quantus.AttributionLocalisation, energy_pointing_game(A, mask), S, mask,
                          x_batch=np.zeros((len(S), 1, *S.shape[1:])))


@comparison("metric", "gini", f"{QUANTUS} Sparseness", "6 × 1×8×8 float64 maps", 1e-6,
            "quantus adds 1e-7 to every value first (keeps an all-zero map defined; ours returns 0 there): the "
            "measured difference; with the same shift they agree to 1e-12")
def gini_quantus() -> float:
    import quantus

    from xaibench.metrics.functional.complexity import gini

    a = torch.rand(6, 1, 8, 8, generator=gen(10), dtype=torch.float64)
    metric = quantus_metric(quantus.Sparseness, abs=False, normalise=False)
    return max_abs_diff(gini(a), np.asarray(metric.evaluate_batch(x_batch=None, a_batch=a.numpy().copy())))


@comparison("metric", "token_auprc", "scikit-learn precision_recall_curve + auc per document",
            "40 documents of ≤ 12 tokens, integer scores (ties)", 1e-12)
def token_auprc_sklearn() -> float:
    from sklearn import metrics as sk

    from xaibench.metrics.functional import text as F
    from xaibench.metrics.text import TokenAUPRC

    g = torch.Generator().manual_seed(3)
    n, L, E = 40, 12, 3
    x = torch.randint(1, 30, (n, L), generator=g)
    lengths = torch.randint(1, L + 1, (n,), generator=g)
    x[torch.arange(L) >= lengths.unsqueeze(1)] = 0
    mask = (torch.rand(n, L, generator=g) < 0.3).float() * (x != 0)
    mask[0] = 0  # no rationale: NaN in both
    mask[1] = (x[1] != 0).float()  # every token is rationale
    A = torch.randint(-2, 3, (n, L, E), generator=g).float()
    got = TokenAUPRC()(None, Batch(x, torch.zeros(n, dtype=torch.long), mask), A, torch.zeros(n, dtype=torch.long))
    scores, want = F.token_scores(A, x), []
    for i in range(n):
        keep = x[i] != 0
        y, s = mask[i][keep].numpy(), scores[i][keep].numpy()
        if y.sum() == 0:
            want.append(float("nan"))
            continue
        precision, recall, _ = sk.precision_recall_curve(y, s)
        want.append(sk.auc(recall, precision))
    return max_abs_diff(got, want)


@comparison("metric", "accuracy", "closed form: 1[argmax f(x) = y]", "small_cnn, 3 × 2×16×16", 0.0)
def accuracy_closed_form() -> float:
    from xaibench.registries import METRICS

    model, x, y = small_cnn()
    with torch.no_grad():
        prediction = model(x).argmax(1)  # the harness passes the prediction as the target
    got = METRICS.get("accuracy")()(model, Batch(x, y), None, prediction)
    return max_abs_diff(got, (prediction == y).double())


for _name, _why in [
    ("aup", "Ismail et al.'s code not transcribed; a literal reading of the spec, one sample at a time, in "
            "tests/test_metrics_timeseries.py"),
    ("aur", "as aup"),
    ("comprehensiveness", "ERASER's scorer not transcribed; a per-document loop in tests/test_metrics_text.py"),
    ("sufficiency", "as comprehensiveness"),
    ("decoy_mass", "our metric (a decoy patch's share of the pooled map); closed form in tests"),
    ("flint_conciseness", "FLINT's notebook not run; METRICS.md §8's closed form in tests/test_methods.py"),
    ("flint_fidelity", "closed form (argmax agreement) in tests/test_methods.py"),
    ("flint_interpreter_accuracy", "closed form in tests/test_methods.py"),
    ("intensity_correlation", "our probe; closed forms in tests/test_metrics_probes.py"),
    ("kar", "needs retraining; the removal kernels are checked against closed forms in tests/test_roar.py"),
    ("roar", "as kar"),
    ("masked_accuracy", "SGT's protocol, not its code; closed form in tests"),
    ("mean_shift_delta", "closed forms on a linear model in tests/test_metrics_probes.py"),
    ("mean_shift_rank_corr", "as mean_shift_delta"),
    ("mprt", "quantus MPRT uses its own layer order, similarity and seed; closed forms in tests"),
    ("road_combined", "mean_p (LeRF − MoRF)/2 of the two curves compared above"),
    ("shortcut_gap", "our task check (Ross et al.'s decoy test, as a paired gap); closed forms in "
                     "tests/test_gap_metrics.py"),
    ("shift_gap", "our task check (in-distribution minus shifted background); closed forms in "
                  "tests/test_gap_metrics.py"),
]:
    no_reference("metric", _name, _why)
