"""Every docstring example runs (on the installed modules, so registrations happen once)."""
import doctest
import importlib

import pytest

from test_imports import all_modules


@pytest.mark.parametrize("name", all_modules())
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that touch the disk do it here
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
