"""Entry-point plumbing shared by train.py and track.py: logging, seeding, stage dispatch, and
turning remots' own errors into a clear message instead of a traceback."""

from __future__ import annotations

import logging
import sys

from omegaconf import DictConfig

from remots.errors import RemotsError

log = logging.getLogger(__name__)

# Single stages that write into the run folder; `all` locks the folder itself (remots.pipeline).
PER_RUN_STAGES = ("detect", "intra", "short", "inter", "merge", "eval")


def run_stage(cfg: DictConfig):
    """Call the function named by ``cfg.stage.fn`` with the whole config.

    Returns what the stage returns (a metric value for sweeps, or None). A ``RemotsError`` is
    logged as one line and ends the process with exit code 2.
    """
    from hydra.utils import get_method

    try:
        fn = get_method(cfg.stage.fn)
    except Exception as err:  # hydra wraps import errors in its own types
        log.error("stage %s: cannot import %s: %s", cfg.stage.name, cfg.stage.fn, err)
        sys.exit(2)
    try:
        if cfg.stage.name in PER_RUN_STAGES:
            from remots.runlock import run_folder_lock

            sequences = cfg.data.get("sequences")
            with run_folder_lock(
                cfg.paths.run_dir, cfg.stage.name, list(sequences) if sequences else None
            ):
                return fn(cfg)
        return fn(cfg)
    except RemotsError as err:
        log.error("%s", err)
        print(f"remots: error: {err}", file=sys.stderr)
        sys.exit(2)


def console_main() -> None:
    """The ``remots`` console script: ``remots STAGE [overrides...]`` == ``track.py stage=STAGE``
    (``train.py`` for the training stages intra and inter)."""
    import os
    import runpy
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    args = sys.argv[1:]
    if not args or args[0].startswith("-") or "=" in args[0]:
        print(
            "usage: remots STAGE [hydra overrides...]   (stages: generate detect intra short "
            "inter merge eval all)",
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
