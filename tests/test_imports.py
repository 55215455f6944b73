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


def test_openmp_spin_is_short_when_other_processes_hold_the_cores_and_a_user_value_wins():
    """libgomp spins 300,000 times per wait by default; `import xaibench` (before torch loads libgomp) shortens the
    spin when the cores are taken, leaves a value the user set alone, and says what it chose in machine_info."""
    from xaibench import openmp_wait

    assert openmp_wait.choose({}, other_running=1, cores=2)[0] == "2000"
    assert openmp_wait.choose({}, other_running=0, cores=2)[0] is None
    assert openmp_wait.choose({"OMP_NUM_THREADS": "2"}, other_running=2, cores=4)[0] is None
    assert openmp_wait.choose({"OMP_NUM_THREADS": "3"}, other_running=2, cores=4)[0] == "2000"
    assert openmp_wait.choose({"OMP_WAIT_POLICY": "PASSIVE"}, other_running=5, cores=2) == (None, "set by the user")
    code = ("import os, xaibench, torch; from xaibench.versions import machine_info; "
            "print(os.environ.get('GOMP_SPINCOUNT'), machine_info()['openmp_wait'])")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    run = lambda extra: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,  # noqa: E731
                                       check=True, env={**env, **extra}).stdout.strip()
    assert run({"GOMP_SPINCOUNT": "INFINITY"}) == "INFINITY GOMP_SPINCOUNT=INFINITY (set by the user)"
    assert run({}).split(" ", 1)[1].startswith("GOMP_SPINCOUNT=")


def test_other_running_processes_are_read_from_proc_stat(tmp_path):
    """procs_running counts the reader itself; the least of the reads counts (a passing process is not counted)."""
    from xaibench.openmp_wait import other_running

    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3\nprocs_running 3\nprocs_blocked 0\n")
    assert other_running(reads=2, gap_s=0, stat_file=str(stat)) == 2
    assert other_running(stat_file=str(tmp_path / "absent")) is None
