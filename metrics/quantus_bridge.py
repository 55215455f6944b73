"""Every quantus metric by name: a suite lists ``quantus.<MetricClass>`` (e.g. ``{name: quantus.MaxSensitivity,
params: {nr_samples: 10}}``) and it runs in the same cell machinery as the hand-written metrics.

The bridge hands quantus the cell's stored attributions (``a_batch``), the ground-truth masks where the metric
reads them (``s_batch``), and an ``explain_func`` built from the cell's explainer for the metrics that
re-explain (perturbed inputs, randomized logits, ...). Its values are quantus's per-sample scores, unchanged.
A record's key holds the metric's version (the quantus version and the bridge's) and the hash of its params.

Params are quantus's own ``__init__`` keywords; a function-valued one (``similarity_func``, ``perturb_func``,
...) is given by the name of a function in ``quantus.functions``. ``num_classes`` defaults to the model's
number of outputs. ``numpy_seed`` seeds numpy's global generator (where quantus draws its noise) for the
call, so the same cell gives the same numbers. quantus is an optional dependency: ``pip install
'xaibench[quantus]'``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, Optional

import numpy as np
import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.component import parse_config
from xaibench.errors import ConfigError, UnknownNameError, did_you_mean
from xaibench.metrics.base import Metric
from xaibench.registries import METRICS

PREFIX = "quantus."
BRIDGE_VERSION = "1"  # bump when the bridge changes what it hands quantus
# quantus's evaluation category -> the leaderboard's (MPRT-style randomization tests are its sanity checks)
CATEGORIES = {"Faithfulness": "faithfulness", "Localisation": "localization", "Complexity": "complexity",
              "Randomisation": "sanity", "Robustness": "robustness", "Axiomatic": "axiomatic"}
MODALITIES = {"image": "image", "time-series": "time_series"}  # quantus has no text; tabular is not a task here
# __init__ keywords the bridge fixes: scores per sample, no plots, no progress bars or warnings
FIXED = frozenset({"self", "return_aggregate", "aggregate_func", "default_plot_func", "disable_warnings",
                   "display_progressbar"})
FUNCTION_MODULES = ("similarity_func", "perturb_func", "normalise_func", "norm_func", "loss_func", "discretise_func",
                    "complexity_func", "n_bins_func")
FROM_MODEL = {"num_classes"}  # filled from the model's outputs unless given
# What a quantus metric reads besides x, y, a and s, which the cell cannot give it.
UNSUPPORTED = {"Focus": "mosaics of four images (c_batch), which xaibench's tasks do not build"}


def quantus_module() -> Any:
    try:
        return importlib.import_module("quantus")
    except ImportError as err:
        raise UnknownNameError(f"quantus metrics need quantus: pip install 'xaibench[quantus]' ({err})") from None


def quantus_metrics() -> dict[str, tuple[str, str, type]]:
    """Class name -> (quantus category, display name, class) of every metric quantus lists in AVAILABLE_METRICS."""
    q = quantus_module()
    return {cls.__name__: (category, display.strip(), cls) for category, metrics in q.AVAILABLE_METRICS.items()
            for display, cls in metrics.items()}


def check_quantus_name(class_name: str) -> tuple[str, str, type]:
    """The quantus category, display name and class of ``quantus.<class_name>``; UnknownNameError (with a
    did-you-mean) for a class quantus does not have or a metric the cell machinery cannot feed."""
    known = quantus_metrics()
    if class_name not in known:
        raise UnknownNameError(f"unknown quantus metric '{PREFIX}{class_name}'"
                               f"{did_you_mean(PREFIX + class_name, [PREFIX + n for n in known])}")
    if class_name in UNSUPPORTED:
        raise UnknownNameError(f"'{PREFIX}{class_name}' needs {UNSUPPORTED[class_name]}")
    return known[class_name]


def function_names() -> dict[str, Callable[..., Any]]:
    """The functions of ``quantus.functions`` a function-valued parameter may name."""
    out: dict[str, Callable[..., Any]] = {}
    for module in FUNCTION_MODULES:
        mod = importlib.import_module(f"quantus.functions.{module}")
        out.update({n: f for n, f in vars(mod).items() if inspect.isfunction(f) and f.__module__ == mod.__name__
                    and not n.startswith("_")})
    return out


def init_hints(cls: type) -> dict[str, Any]:
    """The type hints of ``cls.__init__``; none where quantus's annotations do not evaluate (np.float in 0.6)."""
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception:  # noqa: BLE001 - any failure only loses the types: every parameter is then free
        return {}


def _field_type(hint: Any) -> Any:
    """The Config type of a quantus keyword: a function becomes its name; plain scalars stay; the rest is free."""
    if "Callable" in str(hint):
        return Optional[str]
    args = set(typing.get_args(hint)) - {type(None)}
    if hint in (int, float, bool, str) or (len(args) == 1 and args <= {int, float, bool, str}):
        return Optional[args.pop()] if args else hint
    return Any


def _config_class(cls: type) -> type:
    """A frozen dataclass of ``cls.__init__``'s keywords with quantus's defaults, plus ``numpy_seed``."""
    hints = init_hints(cls)
    fields: list[tuple[str, Any, Any]] = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name in FIXED or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        default = None if callable(p.default) or p.name in FROM_MODEL else p.default
        if default is p.empty:
            default = None
        kind = _field_type(hints.get(p.name, Any))
        kind = Optional[str] if callable(p.default) else kind
        fields.append((p.name, Optional[kind] if p.name in FROM_MODEL else kind, dataclasses.field(default=default)))
    fields.append(("numpy_seed", int, dataclasses.field(default=0)))
    config = dataclasses.make_dataclass("Config", fields, frozen=True)
    config.__module__, config.__qualname__ = __name__, f"{cls.__name__}.Config"
    return config


class QuantusMetric(Metric):
    """A quantus metric in the cell machinery (one subclass per quantus class, made by ``bridged``).

    >>> cls = METRICS.get("quantus.Sparseness")
    >>> cls.category, cls.higher_is_better, cls.label
    ('complexity', True, 'Sparseness (quantus)')
    >>> batch = Batch(torch.rand(1, 1, 2, 2), torch.tensor([0]))
    >>> values = cls({"abs": True, "normalise": False})(None, batch, torch.tensor([[[[0., 0.], [0., 1.]]]]), batch.y)
    >>> round(values.item(), 4)  # the Gini index of (0, 0, 0, 1), with quantus's epsilon
    0.75
    """

    quantus_class: ClassVar[type]
    quantus_category: ClassVar[str]
    needs_mask: ClassVar[bool] = False

    @classmethod
    def task_problem(cls, meta: Any, task: str) -> str | None:
        """quantus compares masks with one channel (``s_batch`` of shape N x 1 x ...): a task whose masks cover
        several input channels (the multivariate series) cannot give them."""
        channels = meta.input_shape[0] if len(meta.input_shape) > 1 else 1
        if cls.needs_mask and meta.modality == "time_series" and channels > 1:
            return (f"needs one-channel masks (quantus's s_batch), but task '{task}' has masks over its "
                    f"{channels} input channels")
        return None

    @classmethod
    def parse_config(cls, params: Mapping[str, Any] | None = None, where: str = "params") -> Any:
        config = parse_config(cls.Config, params or {}, where)
        check_quantus_params(cls, config, where)
        return config

    def quantus_metric(self, model: nn.Module | None, x: torch.Tensor) -> Any:
        """The quantus metric object of this config (functions resolved by name, num_classes from the model).
        A parameter left at None is left out, so quantus applies its own default."""
        functions, callables = function_names(), _callable_params(self.quantus_class)
        kwargs = {k: functions[v] if k in callables and isinstance(v, str) else v
                  for k, v in dataclasses.asdict(self.cfg).items() if k != "numpy_seed"}
        for k in FROM_MODEL & kwargs.keys():
            if kwargs[k] is None and model is not None:
                with torch.no_grad():
                    kwargs[k] = int(model(x[:1]).shape[1])
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return self.quantus_class(**kwargs, return_aggregate=False, disable_warnings=True, display_progressbar=False)

    def compute(self, model: nn.Module, batch: Batch, attributions: torch.Tensor | None,
                target: torch.Tensor) -> torch.Tensor:
        metric = self.quantus_metric(model, batch.x)
        with seeded_numpy(self.cfg.numpy_seed):
            scores = metric(model=model, x_batch=batch.x.cpu().numpy(), y_batch=target.cpu().numpy(),
                            a_batch=attributions.cpu().numpy(),
                            s_batch=quantus_masks(batch) if self.needs_mask else None,
                            channel_first=True, explain_func=self.explain_func(batch),
                            device=str(batch.x.device), batch_size=len(batch))
        return per_sample(scores, len(batch), self.name)

    def explain_func(self, batch: Batch) -> Callable[..., np.ndarray] | None:
        """quantus's ``explain_func(model, inputs, targets)`` from the cell's explainer. A call on the whole
        batch (quantus gets it as one batch) passes the samples' indices to seeded explainers."""
        if self.make_explainer is None:
            return None

        def explain(model: nn.Module, inputs: np.ndarray, targets: np.ndarray, **_: Any) -> np.ndarray:
            x = torch.as_tensor(inputs, dtype=batch.x.dtype, device=batch.x.device)
            index = batch.index if len(x) == len(batch) else None
            with self.make_explainer(model) as e:
                return e.explain(x, torch.as_tensor(targets, device=x.device).long(), index=index).cpu().numpy()

        return explain


@functools.lru_cache(maxsize=None)
def _callable_params(cls: type) -> frozenset[str]:
    hints = init_hints(cls)
    return frozenset(p.name for p in inspect.signature(cls.__init__).parameters.values()
                     if "Callable" in str(hints.get(p.name, "")) or callable(p.default))


def quantus_masks(batch: Batch) -> np.ndarray:
    """The masks as quantus's ``s_batch``: float, with a channel axis of 1 (the tasks' image masks have none)."""
    mask = batch.mask if batch.mask.dim() == batch.x.dim() else batch.mask.unsqueeze(1)
    if mask.shape[1] != 1:
        raise ValueError(f"quantus needs one-channel masks, got masks of shape {tuple(batch.mask.shape)}")
    return mask.cpu().numpy().astype(np.float32)


def check_quantus_params(cls: type[QuantusMetric], config: Any, where: str) -> None:
    """A function-valued parameter must name a function of quantus.functions (with a did-you-mean)."""
    functions = function_names()
    for name in _callable_params(cls.quantus_class):
        value = getattr(config, name, None)
        if isinstance(value, str) and value not in functions:
            raise ConfigError(f"{where}.{name}: unknown quantus function '{value}'{did_you_mean(value, functions)}")


def per_sample(scores: Any, n: int, name: str) -> torch.Tensor:
    """quantus's scores as one float64 per sample (None -> NaN); a clear error for anything else."""
    if isinstance(scores, Mapping) or np.ndim(np.asarray(scores, dtype=object)) != 1 or len(scores) != n:
        raise ValueError(f"metric '{name}' returned {type(scores).__name__} of shape "
                         f"{np.shape(np.asarray(scores, dtype=object))} for {n} samples: the bridge needs one "
                         "number per sample (see the metric's return_* parameters)")
    try:
        return torch.tensor([np.nan if s is None else float(s) for s in scores], dtype=torch.float64)
    except (TypeError, ValueError):
        raise ValueError(f"metric '{name}' returned non-scalar scores per sample: the bridge needs one number "
                         "per sample (see the metric's return_* parameters)") from None


@contextlib.contextmanager
def seeded_numpy(seed: int) -> Iterator[None]:
    """numpy's global generator seeded for the block and restored after it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


@functools.lru_cache(maxsize=None)
def bridged(class_name: str) -> type[QuantusMetric]:
    """The metric class of ``quantus.<class_name>``, made on first use (the registry's ``quantus.`` prefix)."""
    category, display, cls = check_quantus_name(class_name)
    q = quantus_module()
    needs_mask = "s_batch" in inspect.signature(cls.evaluate_batch).parameters
    return type(class_name, (QuantusMetric,), {
        "__doc__": f"quantus {class_name}: {display} ({category}; quantus's own definition and defaults).",
        "__module__": __name__, "__qualname__": class_name,
        "name": PREFIX + class_name, "version": f"q{q.__version__}.b{BRIDGE_VERSION}",
        "category": CATEGORIES.get(category, category.lower()), "quantus_class": cls, "quantus_category": category,
        "higher_is_better": cls.score_direction.value == "higher", "needs_mask": needs_mask,
        "requires": frozenset({"explainer", *(["mask"] if needs_mask else [])}),
        "modalities": frozenset(MODALITIES[d.value] for d in cls.data_applicability if d.value in MODALITIES),
        "label": f"{display} (quantus)", "Config": _config_class(cls),
    })


def __getattr__(name: str) -> type[QuantusMetric]:
    """``quantus_bridge.MaxSensitivity`` is the bridged class, so pickle finds bridged classes by reference."""
    if name.startswith("_") or not name[:1].isupper():
        raise AttributeError(name)
    try:
        return bridged(name)
    except UnknownNameError as err:
        raise AttributeError(str(err)) from None


METRICS.add_prefix(PREFIX, bridged)
