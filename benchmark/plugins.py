"""Loading plugin files: a plugin is a Python file whose decorators register components."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from xaibench.errors import ConfigError


def load_plugin_file(path: str) -> None:
    """Import ``path`` as a module once; any failure is a ConfigError naming the file."""
    file = Path(path).resolve()
    module_name = f"xaibench_plugin_{file.stem}_{abs(hash(str(file))) % 10**8}"
    if module_name in sys.modules:
        return
    if not file.is_file():
        raise ConfigError(f"plugin {path}: no such file")
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[module_name]
        raise ConfigError(f"plugin {path}: failed to import: {type(err).__name__}: {err}") from err
