"""Finding a real dataset's files: the user's ``root`` or a default directory, plain or gzipped files,
and the one-line error that says where we looked and how to get them."""
from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from xaibench.errors import DataUnavailableError


def find_file(directory: Path, name: str) -> Path | None:
    """``directory/name`` or else ``directory/name.gz``, whichever exists.

    >>> find_file(Path("."), "absent.bin") is None
    True
    """
    for path in (directory / name, directory / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def open_binary(path: Path) -> IO[bytes]:
    """Open for reading, decompressing ``.gz`` files."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed if ``.gz``; `DataUnavailableError` naming the file if it cannot be read."""
    try:
        with open_binary(path) as f:
            return f.read()
    except (OSError, EOFError) as err:
        raise DataUnavailableError(f"{path}: unreadable ({err}); get the file again") from None


def require_files(dataset: str, root: str | None, names: Sequence[str], subdirs: Sequence[str],
                  how: str) -> list[Path]:
    """The paths of ``names`` (each plain or ``.gz``) in ``root`` or the first ``root/subdir`` holding all of them.

    Raises `DataUnavailableError` naming the directories searched, the missing files and ``how`` to get them.

    >>> require_files("Toy", "nowhere", ["a.bin"], [], "make a.bin")
    Traceback (most recent call last):
    ...
    xaibench.errors.DataUnavailableError: Toy not found: no a.bin[.gz] in nowhere; make a.bin
    """
    if root is None:
        raise DataUnavailableError(f"{dataset} not found: no params.root given; {how}")
    base = Path(root).expanduser()
    candidates = [base, *(base / s for s in subdirs)]
    for directory in candidates:
        paths = [find_file(directory, name) for name in names]
        if all(paths):
            return paths  # type: ignore[return-value]
    # name the files missing from the most complete candidate
    closest = max(candidates, key=lambda d: sum(find_file(d, name) is not None for name in names))
    missing = [name for name in names if find_file(closest, name) is None]
    where = " or ".join(str(d) for d in candidates)
    raise DataUnavailableError(f"{dataset} not found: no {', '.join(f'{m}[.gz]' for m in missing)} in {where}; {how}")
