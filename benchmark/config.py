"""Suite files: YAML, resolved and validated completely before any work starts.

Every problem is a `ConfigError` whose one line names the file and the key, e.g.
``my.yaml: methods[0]: unknown method 'ermm'; did you mean 'erm'?``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xaibench.budget import Budget
from xaibench.component import config_dict, config_hash, parse_config, stable_hash
from xaibench.errors import ConfigError, DataUnavailableError, UnknownNameError, did_you_mean
from xaibench.plugins import load_plugin_file
from xaibench.ranges import PositiveInt
from xaibench.registries import REGISTRIES

SUITES_DIR = Path(__file__).parent / "suites"
COMPONENT_KINDS = ("tasks", "architectures", "methods", "explainers", "metrics")
TOP_LEVEL_KEYS = ("include", "name", "description", "seeds", "data_seed", "budget", "evaluation", "plugins",
                  "missing_data", "incompatible", "parts", *COMPONENT_KINDS)


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """How models are scored: explanation metrics use the first ``n_samples`` test samples."""

    n_samples: PositiveInt = 256
    batch_size: PositiveInt = 128


@dataclasses.dataclass(frozen=True)
class ComponentSpec:
    """One resolved suite entry: the registered class and its parsed Config."""

    cls: type
    config: Any
    where: str
    budget: tuple[tuple[str, Any], ...] = ()  # tasks only: the entry's own budget overrides, as (field, value)

    @property
    def name(self) -> str:
        return self.cls.name

    @property
    def key(self) -> dict[str, Any]:
        return {"name": self.cls.name, "version": self.cls.version, "config": config_hash(self.config)}

    @property
    def label(self) -> str:
        """The name, plus the parameters that differ from the defaults."""
        defaults = config_dict(self.cls.make_config())
        changed = {k: v for k, v in config_dict(self.config).items() if defaults.get(k) != v}
        changed.update({f"budget.{k}": v for k, v in self.budget})  # the same task on two budgets: two rows
        return self.name + (f"({', '.join(f'{k}={v}' for k, v in changed.items())})" if changed else "")


@dataclasses.dataclass(frozen=True)
class SuitePart:
    """One cross product of a suite: every task x architecture x method, every explainer x metric."""

    tasks: tuple[ComponentSpec, ...]
    architectures: tuple[ComponentSpec, ...]
    methods: tuple[ComponentSpec, ...]
    explainers: tuple[ComponentSpec, ...]
    metrics: tuple[ComponentSpec, ...]
    seeds: tuple[int, ...] = ()  # the part's own seeds (e.g. more where models are cheap); () = the suite's


@dataclasses.dataclass(frozen=True)
class Suite:
    """A validated suite: shared settings and one or more parts (e.g. one per modality)."""

    name: str
    source: str
    seeds: tuple[int, ...]
    data_seed: int
    budget: dict[str, Any]  # overrides of each task's Budget
    evaluation: Evaluation
    plugins: tuple[str, ...]
    parts: tuple[SuitePart, ...]
    hash: str
    notices: tuple[str, ...] = ()  # tasks skipped for missing data; explainer x architecture pairs left out
    listed_seeds: tuple[int, ...] = ()  # the suite file's seeds, when ``seeds`` came from the command line

    def seeds_of(self, part: SuitePart) -> tuple[int, ...]:
        """The seeds ``part`` runs: its own, else the suite's."""
        return part.seeds or self.seeds

    def budget_for(self, task: ComponentSpec) -> Budget:
        """The task's Budget, with the suite's ``budget`` overrides, then those of the task's own entry."""
        return dataclasses.replace(task.cls.budget, **{**self.budget, **dict(task.budget)})

    def components(self, kind: str) -> list[ComponentSpec]:
        """Every distinct component of one kind across the parts, in order of appearance."""
        seen: dict[str, ComponentSpec] = {}
        for part in self.parts:
            for spec in getattr(part, kind):
                seen.setdefault(spec.label, spec)
        return list(seen.values())


def suite_path(name_or_path: str | None) -> Path:
    """A suite file: an existing path, or the name of a built-in suite (default: ``quick``)."""
    if name_or_path is None:
        return SUITES_DIR / "quick.yaml"
    path = Path(name_or_path)
    if path.exists():
        return path
    builtin = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
    if name_or_path in builtin:
        return SUITES_DIR / f"{name_or_path}.yaml"
    raise ConfigError(f"{name_or_path}: no such suite file or built-in suite{did_you_mean(name_or_path, builtin)}")


def parse_seeds(text: str, where: str = "--seeds") -> tuple[int, ...]:
    """Seeds written as comma-separated integers and inclusive ranges, in order; a ConfigError names ``where``.

    >>> parse_seeds("0-2,7"), parse_seeds("3"), parse_seeds("0,2,5")
    ((0, 1, 2, 7), (3,), (0, 2, 5))
    >>> parse_seeds("4-2")
    Traceback (most recent call last):
    ...
    xaibench.errors.ConfigError: --seeds 4-2: a range runs from low to high (e.g. 2-4)
    """
    seeds: list[int] = []
    for item in text.split(","):
        bounds = item.strip().split("-")
        if not 1 <= len(bounds) <= 2 or not all(b.strip().isdigit() for b in bounds):
            raise ConfigError(f"{where} {text}: expected integers >= 0 and ranges, e.g. 0-9, 3, 0,2,5 or 0-2,7")
        low, high = int(bounds[0]), int(bounds[-1])
        if low > high:
            raise ConfigError(f"{where} {text}: a range runs from low to high (e.g. {high}-{low})")
        for seed in range(low, high + 1):
            if seed in seeds:
                raise ConfigError(f"{where} {text}: seed {seed} is listed twice")
            seeds.append(seed)
    return tuple(seeds)


def load_suite(name_or_path: str | None = None, extra_plugins: tuple[str, ...] = (),
               seeds: tuple[int, ...] | None = None) -> Suite:
    """Read, resolve and validate a suite; raise ConfigError on the first problem.

    ``seeds`` (e.g. from ``--seeds``) replaces the suite's own and those of its parts; the records of seeds already
    run are kept, so a resumed run with more seeds trains only the new ones."""
    path = suite_path(name_or_path)
    src = str(path)  # as the user wrote it, for messages
    raw = read_suite_file(path, src)

    # Absolute paths: Ray workers rebuild the suite from these, in another working directory.
    plugins = tuple(_plugin_paths(raw.get("plugins", []), path, src)) + tuple(str(Path(p).resolve()) for p in extra_plugins)
    plugins = tuple(dict.fromkeys(plugins))
    for plugin in plugins:
        load_plugin_file(plugin)

    parts, skipped = [], []
    raw_parts = raw.get("parts", [{}])
    if not isinstance(raw_parts, list) or not raw_parts:
        raise ConfigError(f"{src}: parts: expected a non-empty list of mappings, got {raw_parts!r}")
    for i, raw_part in enumerate(raw_parts):
        where = f"{src}: parts[{i}]" if "parts" in raw else src
        part, left_out = _resolve_part(raw, raw_part, where)
        available, notices = _available_tasks(part.tasks, raw.get("missing_data", "fail"), where)
        skipped += notices + left_out
        if available:
            parts.append(dataclasses.replace(part, tasks=available))
            skipped += unsupported_pairs(part)
    if not parts:
        raise ConfigError(f"{src}: tasks: no task has its data available ({'; '.join(skipped)})")
    listed = _seed_list(raw.get("seeds", [0]), f"{src}: seeds")
    if seeds is not None and not (seeds and all(type(s) is int and s >= 0 for s in seeds)):
        raise ConfigError(f"--seeds: expected a non-empty list of integers >= 0, got {seeds!r}")
    overridden = seeds is not None and (list(seeds) != listed or any(part.seeds for part in parts))
    if seeds is not None:
        parts = [dataclasses.replace(part, seeds=()) for part in parts]
    seeds = listed if seeds is None else list(seeds)
    data_seed = raw.get("data_seed", 0)
    if type(data_seed) is not int or data_seed < 0:
        raise ConfigError(f"{src}: data_seed: expected an integer >= 0, got {data_seed!r}")
    budget = dict(raw.get("budget") or {})
    parse_config(Budget, budget, f"{src}: budget")
    evaluation = parse_config(Evaluation, raw.get("evaluation") or {}, f"{src}: evaluation")

    resolved = [{kind: [{"name": s.name, "version": s.cls.version, "config": config_dict(s.config),
                         **({"budget": dict(s.budget)} if s.budget else {})}
                        for s in getattr(part, kind)] for kind in COMPONENT_KINDS}
                | ({"seeds": list(part.seeds)} if part.seeds else {}) for part in parts]
    content = {"seeds": seeds, "data_seed": data_seed, "budget": budget,
               "evaluation": dataclasses.asdict(evaluation), "parts": resolved}
    return Suite(name=str(raw.get("name", path.stem)), source=str(path.resolve()), seeds=tuple(seeds),
                 data_seed=data_seed, budget=budget, evaluation=evaluation, plugins=plugins, parts=tuple(parts),
                 hash=stable_hash(content), notices=tuple(skipped),
                 listed_seeds=tuple(listed) if overridden else ())


def _seed_list(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(type(s) is int and s >= 0 for s in value):
        raise ConfigError(f"{where}: expected a non-empty list of integers >= 0, got {value!r}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: a seed is listed twice in {value!r}")
    return value


def read_suite_file(path: Path, src: str, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The YAML mapping of a suite file; ``include: NAME_OR_PATH`` is read first and this file's keys override it."""
    import yaml

    if path.resolve() in _seen:
        raise ConfigError(f"{src}: include: the suite includes itself ({' -> '.join(map(str, _seen))})")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{src}: not valid YAML: {' '.join(str(err).split())}") from err
    except OSError as err:
        raise ConfigError(f"{src}: cannot read the suite file: {err.strerror}") from err
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{src}: expected a mapping of keys at the top level, got {type(raw).__name__}")
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"{src}: {key}: unknown key{did_you_mean(str(key), TOP_LEVEL_KEYS)}")
    if "include" not in raw:
        return dict(raw)
    include = raw["include"]
    if not isinstance(include, str):
        raise ConfigError(f"{src}: include: expected a suite name or file path, got {include!r}")
    relative = path.parent / include
    base_path = relative if relative.exists() else suite_path(include)
    base = read_suite_file(base_path, str(base_path), (*_seen, path.resolve()))
    if "plugins" in base:  # the included file's plugin paths are relative to it
        base["plugins"] = [str((base_path.parent / p).resolve()) for p in base["plugins"]]
    return {**base, **{k: v for k, v in raw.items() if k != "include"}}


def _resolve_part(raw: Mapping[str, Any], raw_part: Any, where: str) -> tuple[SuitePart, list[str]]:
    if not isinstance(raw_part, Mapping):
        raise ConfigError(f"{where}: expected a mapping of component lists, got {raw_part!r}")
    keys = (*COMPONENT_KINDS, "seeds")
    for key in raw_part:
        if key not in keys:
            raise ConfigError(f"{where}.{key}: unknown key{did_you_mean(str(key), keys)}")
    merged = {kind: raw_part.get(kind, raw.get(kind)) for kind in COMPONENT_KINDS}
    seeds = tuple(_seed_list(raw_part["seeds"], f"{where}.seeds")) if "seeds" in raw_part else ()
    part = SuitePart(**{kind: tuple(_resolve_entries(merged, kind, where)) for kind in COMPONENT_KINDS}, seeds=seeds)
    notices = _check_requirements({kind: getattr(part, kind) for kind in COMPONENT_KINDS}, where,
                                  raw.get("incompatible", "fail"))
    return part, notices


def _available_tasks(tasks: tuple[ComponentSpec, ...], policy: object,
                     src: str) -> tuple[tuple[ComponentSpec, ...], list[str]]:
    """Check every task's data; ``missing_data: fail`` (default) stops, ``skip`` drops the task with a notice."""
    if policy not in ("fail", "skip"):
        raise ConfigError(f"{src}: missing_data: {policy!r} is not 'fail' or 'skip'")
    kept, notices = [], []
    for task in tasks:
        try:
            task.cls(task.config).check_available()
            kept.append(task)
        except DataUnavailableError as err:
            if policy == "fail":
                raise ConfigError(f"{task.where}: {err}") from None
            notices.append(f"{task.where}: skipped: {err}")
    return tuple(kept), notices


def _plugin_paths(value: Any, suite_file: Path, src: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{src}: plugins: expected a list of file paths, got {value!r}")
    return [str((suite_file.parent / v).resolve()) for v in value]


def _resolve_entries(raw: Mapping[str, Any], kind: str, src: str) -> list[ComponentSpec]:
    entries = raw.get(kind)
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{src}: {kind}: expected a non-empty list of names, got {entries!r}")
    registry, specs, seen = REGISTRIES[kind], [], set()
    for i, entry in enumerate(entries):
        where = f"{src}: {kind}[{i}]"
        name, params, budget = _entry_name_params(entry, where, kind)
        try:
            cls = registry.get(name)
        except UnknownNameError as err:
            raise ConfigError(f"{where}: {err}") from None
        config = cls.parse_config(params, f"{where}.params")
        parse_config(Budget, budget, f"{where}.budget")
        spec = ComponentSpec(cls, config, where, tuple(budget.items()))
        if spec.label in seen:
            raise ConfigError(f"{where}: '{spec.label}' is listed twice")
        seen.add(spec.label)
        specs.append(spec)
    return specs


def _entry_name_params(entry: Any, where: str, kind: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(name, params, budget overrides) of one entry; only a task entry may carry a ``budget``."""
    if isinstance(entry, str):
        return entry, {}, {}
    if isinstance(entry, Mapping):
        keys = ("name", "params", "budget") if kind == "tasks" else ("name", "params")
        for key in entry:
            if key == "budget" and kind != "tasks":
                raise ConfigError(f"{where}.budget: a budget belongs to a task entry or the suite, not to {kind}")
            if key not in keys:
                raise ConfigError(f"{where}.{key}: unknown key{did_you_mean(str(key), keys)}")
        if not isinstance(entry.get("name"), str):
            raise ConfigError(f"{where}.name: expected a name, got {entry.get('name')!r}")
        params, budget = entry.get("params") or {}, entry.get("budget") or {}
        for key, value in (("params", params), ("budget", budget)):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}.{key}: expected a mapping, got {value!r}")
        return entry["name"], dict(params), dict(budget)
    raise ConfigError(f"{where}: expected a name or {{name: ..., params: {{...}}}}, got {entry!r}")


def incompatibility(task: ComponentSpec, spec: ComponentSpec, kind: str) -> str | None:
    """Why ``spec`` (a metric, method or architecture) cannot run on ``task``, in one line; None if it can."""
    meta, cls = task.cls.meta, spec.cls
    if kind == "metrics":
        if meta.modality not in cls.modalities:
            return (f"metric '{cls.name}' is defined for {'/'.join(sorted(cls.modalities))} data, "
                    f"but task '{task.name}' is {meta.modality}")
        if "mask" in cls.requires and not meta.has_mask:
            return f"metric '{cls.name}' requires mask, but task '{task.name}' has no ground-truth masks"
        missing = cls.requires - {"mask", "explainer", "retraining", "flint"} - set(meta.extras)
        if missing:
            return (f"metric '{cls.name}' requires per-sample {', '.join(sorted(missing))}, "
                    f"which task '{task.name}' does not provide")
        problem = cls.task_problem(meta, task.name)
        if problem:
            return f"metric '{cls.name}' {problem}"
    if kind == "methods" and cls.requires_mask and not meta.has_mask:
        return f"method '{cls.name}' requires masks, but task '{task.name}' has none"
    if kind == "architectures" and cls.modality != meta.modality:
        return f"architecture '{cls.name}' is for {cls.modality} data, but task '{task.name}' is {meta.modality}"
    return None


def _check_requirements(specs: dict[str, tuple[ComponentSpec, ...]], src: str, policy: object) -> list[str]:
    """Every metric, method and architecture must run on every task (``incompatible: fail``, the default),
    or the pairs that cannot are left out with a notice each (``incompatible: skip``)."""
    if policy not in ("fail", "skip"):
        raise ConfigError(f"{src}: incompatible: {policy!r} is not 'fail' or 'skip'")
    notices = []
    for task in specs["tasks"]:
        for kind in ("metrics", "methods", "architectures"):
            for spec in specs[kind]:
                reason = incompatibility(task, spec, kind)
                if reason and policy == "fail":
                    raise ConfigError(f"{spec.where}: {reason}")
                if reason:
                    notices.append(f"{spec.where}: left out on task '{task.label}': {reason}")
    provided = frozenset().union(*(m.cls.provides for m in specs["methods"]))
    for spec in (*specs["metrics"], *specs["explainers"]):
        lacking = spec.cls.requires & {"flint"} - provided
        if lacking:
            raise ConfigError(f"{spec.where}: '{spec.name}' needs models trained by a method that provides "
                              f"{', '.join(sorted(lacking))} (e.g. flint), and no listed method does")
    for explainer in specs["explainers"]:
        reasons = [explainer.cls.supports(arch.cls) for arch in specs["architectures"]]
        if all(reasons):  # a pair the explainer cannot serve is left out (see unsupported_pairs); none at all is a mistake
            raise ConfigError(f"{explainer.where}: {reasons[0]}")
    return notices


def unsupported_pairs(part: SuitePart) -> list[str]:
    """One line per (explainer, architecture) pair of a part that the plan leaves out, with the reason."""
    return [f"{e.where}: left out on architecture '{a.label}': {reason}"
            for e in part.explainers for a in part.architectures if (reason := e.cls.supports(a.cls))]
