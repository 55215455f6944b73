"""Every module imports, and `import xaibench` stays light."""
import importlib
import pkgutil
import subprocess
import sys

import xaibench


def all_modules():
    names = ["xaibench"]
    for pkg in ("xaibench", "xaibench.metrics", "xaibench.tasks", "xaibench.leaderboard"):
        module = importlib.import_module(pkg)
        names += [m.name for m in pkgutil.walk_packages(module.__path__, prefix=f"{pkg}.")]
    return sorted(set(names) - {"xaibench.__main__"})


def test_every_module_imports():
    modules = all_modules()
    assert {"xaibench.cli", "xaibench.metrics.base", "xaibench.tasks.images.shapes",
            "xaibench.leaderboard.markdown"} <= set(modules)
    for name in modules:
        importlib.import_module(name)


def test_stage_folders_install_under_one_namespace():
    for sub in ("metrics", "tasks", "leaderboard"):
        assert importlib.import_module(f"xaibench.{sub}").__name__ == f"xaibench.{sub}"
    assert "metrics" not in sys.modules and "tasks" not in sys.modules


def test_import_xaibench_does_not_import_torch():
    code = "import sys, xaibench; print('torch' in sys.modules, xaibench.__version__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", xaibench.__version__]


def test_public_api_resolves_lazily():
    for name in xaibench.__all__:
        assert getattr(xaibench, name) is not None


def test_openmp_threads_spin_briefly_unless_the_user_chose():
    """libgomp spins 300,000 times per wait by default; `import xaibench` (before torch loads libgomp) shortens
    the spin, and leaves a value the user set alone."""
    code = "import os, xaibench, torch; print(os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in __import__("os").environ.items() if k != "GOMP_SPINCOUNT"}
    run = lambda extra: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: E731
                                       check=True, env={**env, **extra}).stdout.strip()
    assert run({}) == "2000" and run({"GOMP_SPINCOUNT": "INFINITY"}) == "INFINITY"
