"""Entry-point plumbing shared by train.py and track.py: the config checked before anything runs,
the stage dispatched through the pipeline, and remots' own errors (bad input, bad config) turned
into one line on stderr and exit code 2 instead of a traceback."""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Callable

from omegaconf import DictConfig

from remots.errors import RemotsError, is_storage_error, storage_error

log = logging.getLogger(__name__)


def run_stage(cfg: DictConfig):
    """Run ``cfg.stage.name``: ``generate``, one stage of the chain, or ``all``.

    Returns what the stage returns (a metric value for sweeps, or None).
    """
    from remots import config, pipeline
    from remots.stages.generate import generate

    try:
        config.validate(cfg)
        name = cfg.stage.name
        if name == "generate":
            return generate(cfg)
        if name == "all":
            return pipeline.run_chain(cfg)
        return pipeline.run_stages(cfg, [name]).get("value")
    except RemotsError as err:
        fail(err)
    except OSError as err:  # a file system that refuses a write: disk full, read-only, ...
        if not is_storage_error(err):
            raise
        fail(storage_error(err, cfg.paths.run_dir))


def fail(err: Exception) -> None:
    log.error("%s", err)
    print(f"remots: error: {err}", file=sys.stderr)
    sys.exit(2)


def main(task: Callable[[], None]) -> None:
    """Run a ``@hydra.main`` task (or a benchmark script's main); a config that does not compose
    (an unknown key, a value of the wrong type, an unknown option) is one line naming the key,
    and remots' own errors one line too, exit code 2."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    os.environ["HYDRA_FULL_ERROR"] = "1"  # let composition errors reach this handler
    # a log file on a full or read-only disk must not print a traceback per message
    logging.raiseExceptions = False
    try:
        task()
    except RemotsError as err:
        fail(err)
    except (HydraException, OmegaConfBaseException) as err:
        cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
        line = _one_line(cause)
        override = getattr(err, "override", None)  # a command-line override Hydra cannot parse
        if override:
            line = f"{override}: {line} (quote a value with braces: \"key='{{...}}'\")"
        print(f"remots: config error: {line}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:  # Hydra's own output folder (inside the run folder) not writable
        if not is_storage_error(err) and err.errno not in _FOLDER_ERRNOS:
            raise
        reason = storage_error(err) if is_storage_error(err) else f"{err.filename}: {err.strerror}"
        print(f"remots: error: {reason}", file=sys.stderr)
        sys.exit(2)


# a folder that is a file, or a file that is a folder, where the run folder should be
_FOLDER_ERRNOS = frozenset((errno.ENOTDIR, errno.EEXIST, errno.EISDIR))


def _one_line(err: Exception) -> str:
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")), None)
    head = lines[0] if lines else type(err).__name__
    if head.endswith(":") and len(lines) > 1 and not lines[1].startswith("full_key:"):
        head = f"{head} {lines[1]}"  # Hydra's "Error in call to target 'X':" and its cause
    return f"{key}: {head}" if key else head


def console_main() -> None:
    """The ``remots`` console script: ``remots STAGE [overrides...]`` == ``track.py stage=STAGE``
    (``train.py`` for the training stages intra and inter)."""
    import runpy
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    args = sys.argv[1:]
    if not args or args[0].startswith("-") or "=" in args[0]:
        print(
            "usage: remots STAGE [hydra overrides...]   (stages: generate detect intra "
            "embed_short short inter embed_merge merge eval report all)",
            file=sys.stderr,
        )
        sys.exit(2)
    stage, rest = args[0], args[1:]
    script = root / ("train.py" if stage in ("intra", "inter") else "track.py")
    if not script.is_file():
        print(
            f"remots: {script} not found (install remots from a source checkout)", file=sys.stderr
        )
        sys.exit(2)
    sys.argv = [str(script), f"stage={stage}", *rest]
    os.environ.setdefault("WANDB_MODE", "offline")
    runpy.run_path(str(script), run_name="__main__")
