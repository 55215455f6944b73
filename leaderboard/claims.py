"""The seed papers' claims that the benchmark can test at its scale, as data (spec: ../shared/specs).

Each claim names what to measure on stored records and which outcome the paper predicts. Relative claims compare
a ``treatment`` with a ``reference`` per seed (a method against ERM, or one explainer against another on the same
models); absolute claims test the treatment's own value against a threshold or range. Sides match records by the
task's name (plus ``task_params``, compared with the stored task config), the architecture's, method's and
explainer's names (any parameters: each configuration found is reported as its own setting), and the metric's
stored label (its name plus its non-default parameters, so ``flint_conciseness`` means τ = 2).

Each claim also declares its ``preconditions`` on the stored results (the models it measures must have learnt the
task, the task must pose its question, the method must have trained sanely); a claim whose precondition fails is
judged "precondition failed", never "contradicted" (reproduction.py).

Evidence tags in the texts are the specs': [V] checked against the authors' code or artifacts, [A] abstract only,
[U] unverified, [D] our design. Margins and thresholds say where they come from ("spec" or "ours").
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

Direction = Literal["higher", "lower", "equivalent", "above", "below", "within"]
RELATIVE = ("higher", "lower", "equivalent")  # need a reference side; the rest test the treatment's own value


@dataclasses.dataclass(frozen=True)
class Side:
    """One side of a comparison: records of this method, explainer (None: a per-model metric) and metric label.

    >>> Side("erm", None, "accuracy").describe()
    'erm, accuracy'
    """

    method: str
    explainer: str | None
    metric: str

    def describe(self) -> str:
        return f"{self.method}" + (f", {self.explainer}" if self.explainer else "") + f", {self.metric}"


@dataclasses.dataclass(frozen=True)
class AtLeast:
    """Precondition: the mean over the claim's seeds of a per-model ``metric`` of ``method``'s models, in the claim's
    setting (same task configuration, architecture, budget, data seed; the claim's own configuration of
    ``method`` when a side of the claim uses it), is at least ``threshold``.

    >>> AtLeast("erm", "accuracy", 0.88, "ours").describe()
    'erm accuracy ≥ 0.88'
    """

    method: str
    metric: str
    threshold: float
    source: str  # where the threshold comes from

    def describe(self) -> str:
        return f"{self.method} {self.metric} ≥ {self.threshold:g}"


@dataclasses.dataclass(frozen=True)
class HealthInRange:
    """Precondition: each health figure that ``method``'s training records give a sane range (methods' own
    ``health_ranges``; training records' ``health``) has its last-epoch value, mean over the claim's seeds, inside
    that range.

    >>> HealthInRange("rrr").describe()
    "rrr's health figures in range"
    """

    method: str
    source: ClassVar[str] = "the method's own health_ranges, TRAINING_METHODS.md §0"

    def describe(self) -> str:
        return f"{self.method}'s health figures in range"


@dataclasses.dataclass(frozen=True)
class TrainedFor:
    """Precondition: the claim's models trained for at least ``epochs`` epochs (every seed, both sides).

    A claim that a method costs no accuracy compares where two methods converge; at a shorter budget the
    difference also measures how fast they get there, and a slower method looks as if it lost accuracy.

    >>> TrainedFor(12, "ours").describe()
    'budget ≥ 12 epochs'
    """

    epochs: int
    source: str

    def describe(self) -> str:
        return f"budget ≥ {self.epochs} epochs"


Precondition = AtLeast | HealthInRange | TrainedFor


@dataclasses.dataclass(frozen=True)
class Claim:
    """A seed paper's claim: what to measure on which records, and the predicted outcome.

    ``bound``: the margin m of "equivalent" (effect within ±m), the threshold of "above"/"below", or the
    (low, high) range of "within"; for "higher"/"lower" the effect's threshold, None for 0.

    >>> sgt, erm = Side("sgt", "saliency", "gini"), Side("erm", "saliency", "gini")
    >>> c = Claim("x", "P", "t", "shapes", "small_cnn", sgt, erm, "higher")
    >>> c.relative, c.expected()
    (True, 'gini: sgt − erm > 0')
    >>> Claim("y", "P", "t", "shapes", "small_cnn", Side("flint", None, "flint_fidelity"), None, "above", 0.9,
    ...       "spec").expected()
    'flint_fidelity (flint) > 0.9'
    """

    id: str
    paper: str
    text: str  # the claim as the spec words it, with its evidence tag
    task: str
    architecture: str
    treatment: Side
    reference: Side | None
    direction: Direction
    bound: float | tuple[float, float] | None = None
    bound_source: str = ""  # "spec: ..." or "ours: ..."
    task_params: tuple[tuple[str, Any], ...] = ()  # e.g. (("design", "middle"),)
    preconditions: tuple[Precondition, ...] = ()

    def __post_init__(self) -> None:
        b = self.bound
        number = isinstance(b, (int, float))
        fits = {"higher": b is None or number, "lower": b is None or number, "equivalent": number and b > 0,
                "above": number, "below": number,
                "within": isinstance(b, tuple) and len(b) == 2 and b[0] <= b[1]}
        if self.direction not in fits:
            raise ValueError(f"claim {self.id}: direction={self.direction!r}: unknown")
        if not fits[self.direction] or (b is not None and not self.bound_source):
            raise ValueError(f"claim {self.id}: bound={b!r} (source {self.bound_source!r}) does not fit direction "
                             f"{self.direction!r}")
        if (self.reference is not None) != self.relative:
            raise ValueError(f"claim {self.id}: direction {self.direction!r} "
                             f"{'needs a' if self.relative else 'takes no'} reference side")

    @property
    def relative(self) -> bool:
        return self.direction in RELATIVE

    def limits(self) -> tuple[float, float]:
        """The claimed region of the measured quantity, (low, high): the CI must lie inside it to reproduce."""
        b, inf = self.bound, float("inf")
        if self.direction == "within":
            return b  # type: ignore[return-value]
        if self.direction in ("higher", "lower") and b is None:
            b = 0.0
        return {"higher": (b, inf), "lower": (-inf, b), "equivalent": (-b, b), "above": (b, inf),  # type: ignore
                "below": (-inf, b)}[self.direction]

    def quantity(self) -> str:
        """What is measured, e.g. 'gini: sgt − erm' or 'flint_fidelity (flint)'."""
        t, r = self.treatment, self.reference
        if r is None:
            return f"{t.metric} ({t.explainer or t.method})"
        if t.metric != r.metric:
            return f"{t.metric} − {r.metric} ({t.method})"
        a, b = (t.method, r.method) if t.method != r.method else (t.explainer, r.explainer)
        return f"{t.metric}: {a} − {b}"

    def expected(self) -> str:
        low, high = self.limits()
        above, below = f"> {low:g}", f"< {high:g}"
        rule = {"higher": above, "lower": below, "equivalent": f"within ±{high:g}", "above": above, "below": below,
                "within": f"in [{low:g}, {high:g}]"}[self.direction]
        return f"{self.quantity()} {rule}"


@dataclasses.dataclass(frozen=True)
class Untested:
    """A claim the benchmark cannot test at its scale, and why.

    >>> all(u.reason for u in NOT_TESTED)
    True
    """

    paper: str
    text: str
    reason: str


SGT = "Ismail et al. 2021 (SGT)"
FLINT = "Parekh et al. 2021 (FLINT)"
INTERP = "Torres Figueroa et al. 2024 (interpretable gradients)"
CONSISTENCY = "Wu et al. 2024 (explanation consistency)"
RRR = "Ross et al. 2017 (RRR)"
BIAS = "Brocki & Chung 2020 (input bias)"

ACCURACY = "accuracy"
SGT_MARGIN = "ours: the spec gives no number ('close to ERM' [U])"
# "No gain" is not "a fall": tested as a fall, 20 seeds of LSTM gave +0.002 ± 0.002 and 'contradicted' a claim of
# no gain. A gain under 0.02 of AUP counts as none: a third of the +0.058 the poster reports as a gain (TCN + IG).
NO_GAIN, NO_GAIN_SOURCE = 0.02, "ours: a third of the poster's TCN + IG gain (+0.058), the gain it reports"
INTERP_MARGIN = "ours: the spec gives no number ('a small margin' [A])"


# Preconditions (issue 15). ERM's test accuracy that a claim's models must reach: 2 points under the task's
# reference accuracy (docs/ERM_ACCURACY.md: its default architecture, standard budget, full data), held for every
# architecture a claim uses on the task. No entry: decoy_fashion_mnist and textured_fashion_mnist (their test sets
# break the shortcut by design, so the gap preconditions stand instead), eraser_movies and sst2 (no reference
# measured; their claims are not run).
_REF = "ours: 2 points under docs/ERM_ACCURACY.md's {}"
ERM_ACCURACY_AT_LEAST: dict[str, tuple[float, str]] = {
    "fashion_mnist": (0.88, "issue 15: within 2 points of the reference (0.887 full-data)"),
    "digits": (0.95, "issue 15: within 2 points of the reference (0.964)"),
    "shapes": (0.97, _REF.format(0.996)), "shapes_polarity": (0.97, _REF.format(0.996)),
    "intensity": (0.98, _REF.format("1.000")), "ts_boxes": (0.98, _REF.format("1.000 (TCN and Transformer)")),
    "text_planted": (0.98, _REF.format("1.000")),
}
# The epochs a no-accuracy-cost claim's models must be trained for, per task: at least the task's reference budget
# (its class default, which docs/ERM_ACCURACY.md trains; a test checks), and longer where a budget check shows a
# method's gap to ERM still closing there. The authors train to convergence (SGT's MNIST code: up to 100 epochs,
# stopping after 20 without a better test accuracy; FLINT's: 12), and at a shorter budget a slower-converging
# method looks as if it lost accuracy. Fashion-MNIST: SGT's gap to ERM shrinks from −0.027 at standard's 3 epochs
# to −0.018 ± 0.016 at 12 (seeds 0-2), FLINT's interpreter's to f from −0.023 to −0.010 (seed 0). Shapes (the
# reference is 6 epochs): SGT's gap is −0.034 ± 0.021 at 6, −0.030 ± 0.042 at 12, −0.004 ± 0.004 at 24 (seeds
# 0-4). README, "The standard suite"; docs/budget_check.yaml.
CONVERGED_EPOCHS: dict[str, int] = {"fashion_mnist": 12, "shapes": 24, "ts_boxes": 5, "text_planted": 5}
CONVERGED = ("ours: the task's reference budget (docs/ERM_ACCURACY.md), or longer where a method's gap was still "
             "closing there (docs/budget_check.yaml); the authors train to convergence")
GAP = 0.2  # issue 15's aim for both tasks: ERM must lose at least 20 points when the shortcut or background goes
SHORTCUT = AtLeast("erm", "shortcut_gap", GAP, "issue 15: ERM must use the decoy (Ross et al.'s falls to 0.52)")
SHIFT = AtLeast("erm", "shift_gap", GAP, "ours: issue 15's 0.2, as for the shortcut gap")


def _preconditions(task: str, method: str, *extra: Precondition) -> tuple[Precondition, ...]:
    """ERM's accuracy on the task (if it has a reference), ``extra``, and the health of ``method`` unless ERM.

    >>> [p.describe() for p in _preconditions("shapes", "sgt")]
    ['erm accuracy ≥ 0.97', "sgt's health figures in range"]
    """
    erm = [AtLeast("erm", ACCURACY, *ERM_ACCURACY_AT_LEAST[task])] if task in ERM_ACCURACY_AT_LEAST else []
    return (*erm, *extra, *([HealthInRange(method)] if method != "erm" else []))


def _f_accuracy(method: str, task: str) -> AtLeast:
    """FLINT's f must be trained as well as ERM must be: FLINT-f is within about 1 point of BASE-f in the paper."""
    threshold, _ = ERM_ACCURACY_AT_LEAST[task]
    return AtLeast(method, ACCURACY, threshold, "ours: the task's ERM threshold (FLINT-f ≈ BASE-f in the paper)")


def _converged(task: str) -> tuple[TrainedFor]:
    """The precondition of a no-accuracy-cost claim: the task's ``CONVERGED_EPOCHS``."""
    return (TrainedFor(CONVERGED_EPOCHS[task], CONVERGED),)


def _vs_erm(id: str, paper: str, text: str, method: str, task: str, architecture: str, explainer: str | None,
            metric: str, direction: Direction, bound: float | None = None, bound_source: str = "",
            extra: tuple[Precondition, ...] = (), **task_params: Any) -> Claim:
    """Method against ERM on the same task, architecture, explainer, metric and seed."""
    return Claim(id, paper, text, task, architecture, Side(method, explainer, metric), Side("erm", explainer, metric),
                 direction, bound, bound_source, tuple(sorted(task_params.items())),
                 _preconditions(task, method, *extra))


def _vs_explainer(id: str, paper: str, text: str, task: str, explainer: str, reference: str, metric: str,
                  direction: Direction) -> Claim:
    """One explainer against another on the same ERM small-CNN models."""
    return Claim(id, paper, text, task, "small_cnn", Side("erm", explainer, metric), Side("erm", reference, metric),
                 direction, preconditions=_preconditions(task, "erm"))


def _absolute(id: str, paper: str, text: str, task: str, side: Side, direction: Direction,
              bound: float | tuple[float, float], bound_source: str) -> Claim:
    extra = (_f_accuracy(side.method, task),) if side.method.startswith("flint") else ()
    return Claim(id, paper, text, task, "small_cnn", side, None, direction, bound, bound_source,
                 preconditions=_preconditions(task, side.method, *extra))


_SGT_ACC = "Clean accuracy close to ERM [U; no number]."
_SGT_GINI = "Visibly sparser gradient maps [V poster, qualitative]; proxy: higher Gini of |Saliency| [D]."
_SGT_TS = ("SGT raises Diff(AUP)/Diff(AUR) for TCN, e.g. TCN + IG AUP 0.233 → 0.291, AUR 0.191 → 0.210 "
           "[V poster Table 2]. The random control is model-independent, so the paired difference of {m} equals "
           "that of Diff({m}).")
_SGT_COMP = ("Text: SGT raises comprehensiveness with IG (Movies 0.265 → 0.306) [V poster Table 1]; model [U], "
             "here the small text transformer.")
_SGT_SUFF = ("Text: SGT lowers sufficiency with IG (Movies 0.054 → 0.002) [V poster Table 1]; model [U], "
             "here the small text transformer.")
_INTERP_MAPS = ("Grad-CAM, Grad-CAM++ and Score-CAM maps improve: AD ↓, AG ↑, AI ↑, insertion ↑, deletion ↓ "
                "(metric set [A]; directions our reading; no verified numbers); small-scale analogue FMNIST, "
                "small ReLU CNN.")
_INTERP_METRICS = (("average_drop", "lower"), ("average_gain", "higher"), ("average_increase", "higher"),
                   ("insertion_auc", "higher"), ("deletion_auc", "lower"))
_FIDELITY = ("Fidelity > 90% on all datasets [U paper tables]; released MNIST checkpoint 98.76% [V notebook].")
_POLARITY = ("RectGrad's final ⊙x ties its maps to bright pixels, NoBias-RectGrad (without it) and Saliency are "
             "not [V authors' fork]; probe: polarity bias index, METRICS.md §3.1 [D].")
_NO_POLARITY = ("{e} has no polarity bias: index ≈ 0 (METRICS.md §3.1, 'bias-free ≈ 0') [D], tested on the signed "
                "index of each seed (its mean over the seeds within ±0.05): the |index| of each seed is above 0 by "
                "the bright and dark models' spread alone.")
_SHIFT = ("Under the mean-shift probe NoBias-RectGrad is invariant and RectGrad is not (EXPLAINERS.md §3, §5) "
          "[V authors' fork; probe D]: lower Spearman ρ between maps before and after the shift.")
_INVARIANT = ("{e} is exactly mean-shift invariant (EXPLAINERS.md §5): δ = max|A₁ − A₂|/max|A₁| ≈ 0 [D].")

CLAIMS: tuple[Claim, ...] = (
    # Saliency Guided Training (TRAINING_METHODS.md §2)
    _vs_erm("sgt-accuracy-shapes", SGT, _SGT_ACC, "sgt", "shapes", "small_cnn", None, ACCURACY, "equivalent",
            0.015, SGT_MARGIN, extra=_converged("shapes")),
    _vs_erm("sgt-accuracy-fmnist", SGT, _SGT_ACC, "sgt", "fashion_mnist", "small_cnn", None, ACCURACY, "equivalent",
            0.015, SGT_MARGIN, extra=_converged("fashion_mnist")),
    _vs_erm("sgt-accuracy-ts-boxes", SGT, _SGT_ACC, "sgt", "ts_boxes", "ts_tcn", None, ACCURACY, "equivalent",
            0.015, SGT_MARGIN, extra=_converged("ts_boxes"), design="middle"),
    _vs_erm("sgt-accuracy-text-planted", SGT, _SGT_ACC, "sgt", "text_planted", "text_transformer", None, ACCURACY,
            "equivalent", 0.015, SGT_MARGIN, extra=_converged("text_planted")),
    _vs_erm("sgt-gini-shapes", SGT, _SGT_GINI, "sgt", "shapes", "small_cnn", "saliency", "gini", "higher"),
    _vs_erm("sgt-gini-fmnist", SGT, _SGT_GINI, "sgt", "fashion_mnist", "small_cnn", "saliency", "gini", "higher"),
    *(_vs_erm(f"sgt-masked-accuracy-{task.replace('_', '-')}", SGT, "The SGT-protocol masked-accuracy curve drops "
              "faster than ERM's (protocol [V]; direction from the paper's figure): a smaller area.", "sgt", task,
              "small_cnn", "saliency", "masked_accuracy", "lower") for task in ("shapes", "fashion_mnist")),
    *(_vs_erm(f"sgt-ts-{m}-{design.replace('_', '-')}", SGT, _SGT_TS.format(m=m.upper()), "sgt", "ts_boxes",
              "ts_tcn", "integrated_gradients", m, "higher", design=design)
      for design in ("middle", "moving_middle") for m in ("aup", "aur")),
    _vs_erm("sgt-ts-transformer-aup", SGT, "No AUP gain for Transformer: IG AUP 0.061 → 0.044 [V poster Table 2]; "
            "tested as no gain of 0.02 or more.", "sgt", "ts_boxes", "ts_transformer",
            "integrated_gradients", "aup", "lower", NO_GAIN, NO_GAIN_SOURCE, design="middle"),
    _vs_erm("sgt-ts-lstm-aup", SGT, "No AUP gain for plain LSTM: Grad AUP −0.113 → −0.119 [V poster Table 2]; "
            "tested as no gain of 0.02 or more.", "sgt", "ts_boxes", "ts_lstm", "saliency", "aup",
            "lower", NO_GAIN, NO_GAIN_SOURCE, design="middle"),
    *(_vs_erm(f"sgt-{short}-{task.replace('_', '-')}", SGT, text, "sgt", task, "text_transformer",
              "integrated_gradients", metric, direction)
      for task in ("text_planted", "eraser_movies", "sst2")
      for short, text, metric, direction in (("comprehensiveness", _SGT_COMP, "comprehensiveness", "higher"),
                                             ("sufficiency", _SGT_SUFF, "sufficiency", "lower"))),
    # FLINT (§3); fashion_mnist is the small analogue of the released MNIST checkpoint
    _vs_erm("flint-accuracy-fmnist", FLINT, "FLINT-f within about 1 point of BASE-f [U paper tables].", "flint",
            "fashion_mnist", "small_cnn", None, ACCURACY, "equivalent", 0.01, "spec: 'about 1 point'",
            extra=_converged("fashion_mnist")),
    *(_absolute(f"flint-fidelity-{short}", FLINT, _FIDELITY, task, Side("flint", None, "flint_fidelity"), "above",
                0.9, "spec: 'fidelity > 90%'")
      for short, task in (("fmnist", "fashion_mnist"), ("shapes", "shapes"), ("digits", "digits"))),
    Claim("flint-interpreter-fmnist", FLINT, "The interpreter h nearly matches f: released checkpoint interpreter "
          "98.37% vs f 99.05% [V notebook].", "fashion_mnist", "small_cnn",
          Side("flint", None, "flint_interpreter_accuracy"), Side("flint", None, ACCURACY), "equivalent", 0.015,
          "ours: the checkpoint's gap is 0.68 points",
          preconditions=_preconditions("fashion_mnist", "flint", _f_accuracy("flint", "fashion_mnist"),
                                       *_converged("fashion_mnist"))),
    _absolute("flint-conciseness-fmnist", FLINT, "Short budgets keep CNS near 1–1.3 (our expectation; released "
              "checkpoint CNS(τ=2) = 1.069 [V notebook]).", "fashion_mnist",
              Side("flint", None, "flint_conciseness"), "within", (1.0, 1.3), "spec: 'CNS near 1–1.3', τ = 2"),
    _absolute("flint-posthoc-fidelity-fmnist", FLINT, "Post-hoc fidelity stays high [U].", "fashion_mnist",
              Side("flint_posthoc", None, "flint_fidelity"), "above", 0.9,
              "ours: the paper's 90% for joint training"),
    # Interpretable gradients (§4)
    _vs_erm("interp-grad-accuracy-fmnist", INTERP, "Accuracy stays within a small margin of standard training [A].",
            "interp_grad", "fashion_mnist", "small_cnn", None, ACCURACY, "equivalent", 0.015, INTERP_MARGIN,
            extra=_converged("fashion_mnist")),
    *(_vs_erm(f"interp-grad-{explainer.replace('_', '-')}-{metric.replace('_', '-')}", INTERP, _INTERP_MAPS,
              "interp_grad", "fashion_mnist", "small_cnn", explainer, metric, direction)
      for explainer in ("grad_cam", "grad_cam_pp", "score_cam") for metric, direction in _INTERP_METRICS),
    # Explanation-consistency reweighting (§5): textured FMNIST, gratings in training, checkerboards at test
    _vs_erm("expl-consistency-accuracy", CONSISTENCY, "Higher accuracy [A]; small-scale analogue: higher accuracy "
            "on the shifted test backgrounds [D; U].", "expl_consistency", "textured_fashion_mnist", "small_cnn",
            None, ACCURACY, "higher", extra=(SHIFT,)),
    _vs_erm("expl-consistency-energy-pg", CONSISTENCY, "Better localization [A]; small-scale analogue: higher energy "
            "pointing game vs the object [D; U], on the Grad-CAM maps the method uses.", "expl_consistency",
            "textured_fashion_mnist", "small_cnn", "grad_cam", "energy_pointing_game", "higher", extra=(SHIFT,)),
    # Right for the Right Reasons (§6)
    _vs_erm("rrr-decoy-accuracy", RRR, "On a decoy task, RRR beats ERM on decoy-free test data [U].", "rrr",
            "decoy_fashion_mnist", "small_cnn", None, ACCURACY, "higher", extra=(SHORTCUT,)),
    _vs_erm("rrr-decoy-attribution", RRR, "RRR puts less attribution on the decoy [U]: less Saliency mass on the "
            "decoy patch (decoy_mass).", "rrr", "decoy_fashion_mnist", "small_cnn", "saliency", "decoy_mass", "lower",
            extra=(SHORTCUT,)),
    # Input bias of rectified gradients (METRICS.md §3, EXPLAINERS.md §3, §5), on ERM models
    _vs_explainer("bias-polarity-rectgrad-vs-nobias", BIAS, _POLARITY, "shapes_polarity", "rectgrad",
                  "nobias_rectgrad", "polarity_bias_index", "higher"),
    _vs_explainer("bias-polarity-rectgrad-vs-saliency", BIAS, _POLARITY, "shapes_polarity", "rectgrad", "saliency",
                  "polarity_bias_index", "higher"),
    *(_absolute(f"bias-polarity-{e.replace('_', '-')}-unbiased", BIAS, _NO_POLARITY.format(e=e), "shapes_polarity",
                Side("erm", e, "polarity_bias_signed"), "within", (-0.05, 0.05),
                "ours: 0.05 of relevance mass, small beside a ⊙x bias")
      for e in ("nobias_rectgrad", "saliency")),
    _vs_explainer("bias-mean-shift-rectgrad-vs-nobias", BIAS, _SHIFT, "shapes_polarity", "rectgrad", "nobias_rectgrad",
                  "mean_shift_rank_corr", "lower"),
    *(_absolute(f"bias-mean-shift-{e.replace('_', '-')}-invariant", BIAS, _INVARIANT.format(e=e), "shapes_polarity",
                Side("erm", e, "mean_shift_delta"), "below", 0.01, "ours: exact in theory, 0.01 allows float error")
      for e in ("nobias_rectgrad", "saliency")),
    _vs_explainer("bias-intensity-rectgrad-vs-nobias", BIAS, "Attribution mass of ⊙x methods follows the object's "
                  "intensity, NoBias-RectGrad's does not (METRICS.md §3.3; bias-free ≈ 0 [U expectation]).",
                  "intensity", "rectgrad", "nobias_rectgrad", "intensity_correlation", "higher"),
)

NOT_TESTED: tuple[Untested, ...] = (
    Untested(SGT, "CIFAR-10 per-sample mean gradient spread ≈ ±0.2 under SGT vs ±0.06 under ERM [V poster].",
             "a box plot read off paper-scale CIFAR-10 models; no metric measures gradient spread"),
    Untested(SGT, "Time-series gains for LSTM with input-cell attention [V poster Table 2].",
             "no input-cell-attention architecture"),
    Untested(SGT, "e-SNLI + Grad comprehensiveness 0.117 → 0.126 [V poster Table 1].", "no e-SNLI task"),
    Untested(SGT, "A parameter-randomization sanity check [U].", "the spec states no outcome to test"),
    Untested(FLINT, "Released MNIST checkpoint: f 99.05%, interpreter 98.37%, fidelity 98.76%, CNS 1.039–1.235 "
             "[V notebook].", "needs the released weights (nothing is downloaded); tested instead through the "
             "short-budget fidelity, interpreter and CNS claims above"),
    Untested(FLINT, "Paper tables on CIFAR-10, QuickDraw and CUB-200 [U].",
             "paper-scale datasets and budgets; fidelity is tested on the small image tasks"),
    Untested(INTERP, "CIFAR-100 results with ResNet-18 and MobileNet-V2 [A].",
             "paper-scale training is beyond the benchmark's CPU budget; tested on the FMNIST analogue"),
    Untested(CONSISTENCY, "Accuracy, debiasing (ImageNet-9 mixed-rand vs mixed-same), robustness and localization "
             "on STL-10, VOC, CUB-200-2011 and ImageNet-9 [A].",
             "those datasets are not available here and exceed the scale; tested on textured Fashion-MNIST"),
    Untested(RRR, "The paper's own decoy-MNIST and other numbers [U].",
             "no verified numbers and no decoy-MNIST task; tested on decoy Fashion-MNIST"),
)
