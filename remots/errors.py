"""Errors raised for bad input. Each names the file and the line or frame at fault."""

from __future__ import annotations

import errno
from pathlib import Path


class RemotsError(Exception):
    """Base class of every error remots raises on purpose (bad input, bad config, bad state)."""


class InputError(RemotsError):
    """Bad input data: names the file, and the line or frame where known."""

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        frame: int | None = None,
    ):
        self.path = None if path is None else str(path)
        self.line = line
        self.frame = frame
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if frame is not None:
            where.append(f"frame {frame}")
        self.reason = message
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class MOTSFormatError(InputError):
    """A MOTS txt/png file (ground truth, results or detections) that breaks its format."""


class ConfigError(RemotsError):
    """A configuration that cannot work (a missing file, an unknown name, contradictory values)."""


class RunFolderError(RemotsError):
    """A run folder that is locked by another run or holds artifacts of another config."""


class StorageError(RemotsError):
    """A file or folder that cannot be written: disk full, over quota, read-only file system or no
    permission. Names the path and what the system said."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


# errno values of a file system that refuses a write: full, over quota, too large for a limit,
# read-only, not permitted, or failing.
STORAGE_ERRNOS = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EACCES", "EPERM", "EIO")
    if hasattr(errno, name)
)


def is_storage_error(err: BaseException) -> bool:
    """An ``OSError`` of a file system that refuses a write (``STORAGE_ERRNOS``)."""
    return isinstance(err, OSError) and err.errno in STORAGE_ERRNOS


def storage_error(
    err: OSError, path: str | Path | None = None, *, prefer_path: bool = False
) -> StorageError:
    """``err`` as one line naming the path: the OSError's own, else ``path`` (``path`` first with
    ``prefer_path``: the artifact being written, not a library's temporary file)."""
    where = err.filename if err.filename is not None else path
    if prefer_path and path is not None:
        where = path
    reason = err.strerror or type(err).__name__
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1), errno.EFBIG):
        remedy = "free some space (or raise the limit) and run the same command again"
    elif err.errno == errno.EIO:
        remedy = "the storage failed; check it and run the same command again"
    else:
        remedy = (
            "choose a place remots may write (paths.output_root or paths.run_dir) or change "
            "its permissions"
        )
    return StorageError(where, f"{reason}: {remedy}")
