"""Errors raised for bad input. Each names the file and the line or frame at fault."""

from __future__ import annotations

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
