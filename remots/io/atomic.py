"""Atomic file output: every artifact is written to a temporary file beside it, then renamed."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from remots.errors import is_storage_error, storage_error

# mkstemp creates files readable by their owner only; artifacts get the usual 0666 & ~umask
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


@contextlib.contextmanager
def _temporary_beside(path: Path) -> Iterator[tuple[int, str]]:
    """``(fd, name)`` of a new temporary file beside ``path`` with the artifacts' file mode;
    removed when the block raises. A file system that refuses (disk full, read-only, no
    permission) raises ``StorageError`` naming ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        if is_storage_error(err):
            raise storage_error(err, path) from None
        raise
    try:
        os.fchmod(fd, _FILE_MODE)
        yield fd, tmp
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if is_storage_error(err):
            raise storage_error(err, path) from None
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync and rename it onto ``path``.

    On an exception the temporary file is removed and ``path`` is left as it was, so a reader
    never sees a half-written artifact. A file system that refuses the write (disk full,
    read-only, no permission) raises ``StorageError`` naming ``path``.
    """
    path = Path(path)
    with _temporary_beside(path) as (fd, tmp):
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


@contextlib.contextmanager
def atomic_memmap(path: str | Path, dtype, shape: tuple[int, ...]) -> Iterator[np.memmap]:
    """A ``.npy`` memory map at a temporary name beside ``path``, renamed onto ``path`` when the
    block ends without an exception (removed otherwise).

    Its whole size is reserved on disk first: a full disk fails here with ``StorageError``
    naming ``path``, not later as a SIGBUS when a page of a sparse file is written.
    """
    path = Path(path)
    with _temporary_beside(path) as (fd, tmp):
        os.close(fd)
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
        _reserve(tmp)
        yield out
        out.flush()
        del out
        os.replace(tmp, path)


def _reserve(path: str) -> None:
    """Allocate every block of a (sparse) file now, where the file system supports it."""
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        if size:
            os.posix_fallocate(fd, 0, size)
    except OSError as err:
        if err.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise
    finally:
        os.close(fd)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write JSON with sorted keys and a trailing newline, so equal objects give equal bytes."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
