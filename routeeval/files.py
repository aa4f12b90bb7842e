"""Writing the files users keep: atomically, so a killed run never leaves a truncated policy or summary.

Each file is written to a temporary file in the same folder, flushed to disk, then renamed over the target
(``os.replace`` is atomic on POSIX and Windows): readers see the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from routeeval.errors import DataError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block ends without error.

    A write the system refuses (no permission, disk full, a file where a folder should be) is a DataError naming
    ``path``: the command stops with one line, and says nothing about having written it.
    """
    path = Path(path)
    make_folder(path.parent)
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _not_written(path, exc) from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise _not_written(path, exc) from None
    finally:
        temporary.unlink(missing_ok=True)


def make_folder(path: str | Path) -> Path:
    """Create the folder ``path`` (and its parents) if missing; a DataError naming it when the system refuses."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = f"cannot be made a folder ({exc.strerror or exc}); nothing was written there"
        raise DataError(str(path), problem) from None
    return path


def _not_written(path: Path, exc: OSError) -> DataError:
    return DataError(str(path), f"cannot be written ({exc.strerror or exc}); nothing was written there")


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)
