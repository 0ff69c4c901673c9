"""Run-folder locking: a second run on the same folder refuses clearly instead of interleaving.

The whole chain (``stage=all``) holds ``<run_dir>/.lock`` exclusively. A single stage holds it
shared, plus an exclusive lock for its own (stage, sequences) selection, so per-sequence jobs of one
stage (Hydra's joblib or submitit launcher) can work side by side while a whole-chain run cannot
overlap any of them. Locks are ``fcntl.flock`` locks: the kernel drops them when a process dies,
so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from remots.errors import RunFolderError


def _acquire(path: Path, exclusive: bool, what: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunFolderError(
            f"{what}: another remots run is using this run folder ({path} is locked); wait for it "
            "to finish or choose another run_name / paths.run_dir"
        ) from None
    if exclusive:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd


@contextlib.contextmanager
def run_folder_lock(
    run_dir: str | Path, stage: str, sequences: list[str] | None = None
) -> Iterator[None]:
    """Hold the run folder's lock for ``stage`` (``"all"`` locks the whole folder)."""
    run_dir = Path(run_dir)
    fds = []
    try:
        if stage == "all":
            fds.append(_acquire(run_dir / ".lock", True, str(run_dir)))
        else:
            fds.append(_acquire(run_dir / ".lock", False, str(run_dir)))
            key = ",".join(sorted(sequences)) if sequences else "*"
            digest = hashlib.sha256(key.encode()).hexdigest()[:12]
            fds.append(_acquire(run_dir / ".locks" / f"{stage}-{digest}.lock", True, str(run_dir)))
        yield
    finally:
        for fd in reversed(fds):
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
