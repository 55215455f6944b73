"""The versions and the machine facts that can change a result, recorded with every record.

Results are bitwise reproducible on the same machine, threads and versions; across processors they agree to float
tolerance, because CPU kernels (MKL, oneDNN) pick code paths per processor and batch shape. ``machine_info`` tells a
reader which case two records are in.
"""
from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("xaibench", "torch", "captum", "numpy")


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """``<package version>+g<commit>[.dirty]`` in a git checkout, else the package version."""
    from xaibench import __version__

    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"


def _processor() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _build_line(config: str, marker: str) -> str:
    line = next((ln.strip(" -") for ln in config.splitlines() if marker in ln), "")
    return line.split(" (Git Hash")[0] or "none"


@functools.lru_cache(maxsize=1)
def machine_info() -> dict[str, str]:
    """The processor and the kernel libraries torch runs on: what decides whether two records on the CPU can agree
    bit for bit (with the same versions and threads) or only to float tolerance.

    ``openmp_wait``: the OpenMP wait setting and why it was chosen (``xaibench.openmp_wait``; it changes speed only).

    >>> sorted(machine_info())
    ['blas', 'cpu_capability', 'cuda', 'onednn', 'openmp_wait', 'processor']
    """
    import torch

    from xaibench import openmp_wait

    config = torch.__config__.show()
    blas = _build_line(config, "Math Kernel Library") if "BLAS_INFO=mkl" in config else \
        next((f.split("=", 1)[1] for f in config.replace(",", " ").split() if f.startswith("BLAS_INFO=")), "none")
    cuda = "none"
    if torch.cuda.is_available():
        cuda = f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})"
    return {"processor": _processor(), "cpu_capability": torch.backends.cpu.get_cpu_capability(), "blas": blas,
            "onednn": _build_line(config, "MKL-DNN"), "cuda": cuda, "openmp_wait": openmp_wait.decision}
