import sys
import types

import pytest

from xaibench.errors import ConfigError, UnknownNameError
from xaibench.registries import Registry
from xaibench.registries import REGISTRIES


def test_register_and_get():
    r = Registry("widget")

    @r.register("a")
    class A:
        pass

    @r.register
    class B:
        name = "b"

    assert r.get("a") is A and r.get("b") is B and r.names() == ["a", "b"] and "a" in r


def test_did_you_mean():
    r = Registry("method")
    r.add("saliency_guided", object())
    with pytest.raises(UnknownNameError, match=r"unknown method 'saliency_guidd'; did you mean 'saliency_guided'\?"):
        r.get("saliency_guidd")
    with pytest.raises(UnknownNameError, match="choose from: saliency_guided"):
        r.get("zzz")


def test_duplicates_rejected():
    r = Registry("widget")
    r.add("a", int)
    with pytest.raises(ConfigError, match="'a' is registered twice"):
        r.add("a", str)
    r.add("a", int)  # the same object again (a module imported twice) is fine


def test_lazy_entry_imported_on_first_use(monkeypatch):
    module = types.ModuleType("fake_plugin_mod")
    module.Thing = type("Thing", (), {})
    monkeypatch.setitem(sys.modules, "fake_plugin_mod", module)
    r = Registry("widget")
    r.add_lazy("thing", "fake_plugin_mod:Thing")
    assert r.names() == ["thing"]
    assert r.get("thing") is module.Thing
    r.add_lazy("broken", "no_such_module_xyz:Thing")
    with pytest.raises(ConfigError, match="could not be imported from no_such_module_xyz:Thing"):
        r.get("broken")


class FakeEntryPoint:
    def __init__(self, name, value):
        self.name, self.value = name, value


def test_entry_points_loaded_unless_switched_off(monkeypatch):
    module = types.ModuleType("fake_ep_mod")
    module.Method = type("Method", (), {})
    monkeypatch.setitem(sys.modules, "fake_ep_mod", module)
    monkeypatch.setattr("xaibench.registries.entry_points",
                        lambda group: [FakeEntryPoint("ep_method", "fake_ep_mod:Method")] if group == "g" else [])
    monkeypatch.delenv("XAIBENCH_NO_PLUGINS", raising=False)
    assert Registry("method", group="g").get("ep_method") is module.Method
    monkeypatch.setenv("XAIBENCH_NO_PLUGINS", "1")
    assert Registry("method", group="g").names() == []


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_builtin_components_have_metadata(kind):
    registry = REGISTRIES[kind]
    assert registry.names(), f"no built-in {kind}"
    for name in registry.names():
        cls = registry.get(name)
        assert cls.name == name and cls.version and cls.description(), (kind, name)
        cls.make_config()  # defaults form a valid Config


@pytest.mark.parametrize("kind, base", [("tasks", "Task"), ("architectures", "Architecture"),
                                        ("methods", "TrainingMethod"), ("explainers", "Explainer"),
                                        ("metrics", "Metric")])
def test_registries_check_the_base_class(kind, base):
    import xaibench

    registry = REGISTRIES[kind]
    assert registry.base is getattr(xaibench, base)
    stray = type("Stray", (), {"name": "stray"})
    with pytest.raises(ConfigError, match=rf"'stray': test_registry\.Stray is not a subclass of .*\.{base}$"):
        registry.register(stray)
    with pytest.raises(ConfigError, match=r"'fn': <function .*> \(not a class\) is not a subclass"):
        registry.add("fn", lambda: None)
    assert "stray" not in registry and "fn" not in registry


def test_lazy_entries_are_checked_when_imported(monkeypatch):
    module = types.ModuleType("fake_bad_plugin")
    module.NotAMethod = type("NotAMethod", (), {})
    monkeypatch.setitem(sys.modules, "fake_bad_plugin", module)
    r = Registry("method", base="xaibench.methods.base:TrainingMethod")
    r.add_lazy("bad", "fake_bad_plugin:NotAMethod")
    with pytest.raises(ConfigError, match=r"method 'bad': .*NotAMethod is not a subclass of "
                                          r"xaibench\.methods\.base\.TrainingMethod"):
        r.get("bad")


def test_public_imports():
    from xaibench import METHODS, Registry as PublicRegistry, TrainingMethod
    from xaibench.registries import METHODS as methods

    assert METHODS is methods and PublicRegistry is Registry and METHODS.base is TrainingMethod
