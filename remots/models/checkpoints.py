"""Checkpoints that hold data only, and their one safe loader.

A remots checkpoint (``checkpoints/<phase>.ckpt`` and the resume checkpoint
``<phase>-last.ckpt``) is loaded with ``torch.load(weights_only=True)``: tensors, numbers,
strings, lists and dicts, never an arbitrary pickled object, so a planted checkpoint cannot run
code. Lightning's own resume state (loops, optimizer and scheduler states, callback states) is
made of those already; the module's hyper-parameters are turned into plain values when it is
saved (``plain_hyperparameters``: an optimizer factory becomes ``{"_target_": "torch.optim.Adam",
"lr": ...}``), and ``SAFE_GLOBALS`` lists the few classes besides that may appear.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from remots.errors import ConfigError, InputError, is_storage_error, storage_error

# Globals that a remots checkpoint may hold besides torch's default allow-list (empty: it holds
# plain containers and tensors only); extend it rather than load with weights_only=False.
SAFE_GLOBALS: list = []

# Globals of checkpoints written before their hyper-parameters were made plain: a Hydra partial
# of the optimizer and scheduler. Such a file is ours and harmless, but cannot load safely.
_LEGACY_GLOBALS = ("hydra._internal.target_policy._DeferredTarget", "functools.partial")


class CheckpointError(InputError, ConfigError):
    """A checkpoint that cannot be used; names the file (a ``ConfigError`` too: the checkpoint of
    a phase is what the config points the stage at)."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that holds pickled Python objects (code could run if it were loaded)."""

    def __init__(self, path: Path, global_name: str | None, legacy: bool):
        self.global_name = global_name
        self.legacy = legacy
        what = f"a pickled Python object ({global_name})" if global_name else "pickled objects"
        if legacy:
            reason = (
                f"holds {what}: it was written by an older remots; not loaded (weights-only): "
                "run its training stage again (force=[intra] or force=[inter])"
            )
        else:
            reason = (
                f"refused: it holds {what} that could run code when loaded; a remots checkpoint "
                "holds tensors and plain values only; delete the file if you did not put it there"
            )
        super().__init__(reason, path)


class CorruptCheckpointError(CheckpointError):
    """A checkpoint that is not a readable torch file (truncated, damaged, another format)."""


def load_checkpoint(path: str | Path) -> dict:
    """Load a remots checkpoint weights-only, on the CPU.

    Raises ``UnsafeCheckpointError`` for a file holding pickled objects (nothing of it is run),
    ``CorruptCheckpointError`` for an unreadable one, both naming the file on one line.
    """
    path = Path(path)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        name = _refused_global(text)
        if name is not None or re.search(r"reduce|unrecognized|Unsupported class", text):
            raise UnsafeCheckpointError(path, name, name in _LEGACY_GLOBALS) from None
        reason = "not a readable checkpoint (its pickled data is damaged or not torch's)"
        raise CorruptCheckpointError(reason, path) from None
    except OSError as err:
        if is_storage_error(err):
            raise storage_error(err, path) from None
        reason = f"not a readable checkpoint, truncated or damaged ({_first_line(err)})"
        raise CorruptCheckpointError(reason, path) from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile) as err:
        reason = f"not a readable checkpoint, truncated or damaged ({_first_line(err)})"
        raise CorruptCheckpointError(reason, path) from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("state_dict"), dict):
        raise CorruptCheckpointError("not a remots checkpoint (no state_dict)", path)
    return ckpt


def _refused_global(text: str) -> str | None:
    found = re.search(r"GLOBAL ([\w.]+)", text)
    return found.group(1) if found else None


def _first_line(err: BaseException) -> str:
    """The first sentence of an error message (torch's go on for a paragraph)."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    return lines[0].split(". ", 1)[0].rstrip(".") if lines else type(err).__name__


def plain_hyperparameters(hparams) -> dict:
    """Hyper-parameters as plain values (loadable weights-only): a factory (``functools.partial``
    or Hydra's ``_partial_`` object) becomes ``{"_target_": "module.name", **keywords}``, any
    other object its class name."""
    return {str(k): _plain(v) for k, v in dict(hparams).items()}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):  # a dict, or an OmegaConf DictConfig
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes):  # list, tuple, ListConfig
        return [_plain(v) for v in value]
    func = getattr(value, "func", None)
    keywords = getattr(value, "keywords", None)
    if callable(func) and isinstance(keywords, dict):
        target = f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', func)}"
        return {"_target_": target, **{str(k): _plain(v) for k, v in keywords.items()}}
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"
