"""The end of a run (``report``): track overlays of the final results (``plots/overlays/``) and
the plots and videos on W&B when the W&B logger is on. The results table itself is written by the
eval stage (``summary.md``); the report reads it, it does not evaluate again. ``sweep_row`` is
the row a sweep summary gathers, written after every ``stage=all``.
"""

from __future__ import annotations

import json
import logging

from omegaconf import DictConfig

from remots.config import OverlaysConfig, typed
from remots.io.atomic import atomic_write_json
from remots.io.layouts import Video
from remots.io.mots import read_mots_txt
from remots.io.run_folder import RunFolder
from remots.stages import wandb_log
from remots.stages.evaluate import theta_short_line, theta_short_rows
from remots.stages.videos import target_videos

log = logging.getLogger(__name__)


def report(cfg: DictConfig, run: RunFolder) -> float | None:
    """Overlays, the sweep row and W&B; returns the sweep objective (None without GT). Says
    which sequence-classes had no theta_short estimate below 1 (with or without GT)."""
    summary = read_summary(run)
    if summary is not None:
        log.info("results table: %s", run.summary_md())
    videos = target_videos(cfg)
    thetas = theta_short_rows(run, videos, [int(c) for c in cfg.data.classes])
    if thetas:
        log.info("%s", theta_short_line(thetas))
    overlays = typed(cfg.report).overlays
    if overlays.enabled:
        _overlays(run, videos, overlays)
    wandb_log.report(cfg, run)
    return objective(cfg, run)


def read_summary(run: RunFolder) -> dict | None:
    """``summary.json`` of the eval stage (rows of the results table, the objective), or None
    when the run was not evaluated (no ground truth)."""
    path = run.summary_json()
    return json.loads(path.read_text()) if path.is_file() else None


def objective(cfg: DictConfig, run: RunFolder) -> float | None:
    """The sweep objective of a finished run: ``eval.objective`` of the merged tracks."""
    summary = read_summary(run)
    return None if summary is None else summary.get("objective")


def _overlays(run: RunFolder, videos: list[Video], options: OverlaysConfig) -> None:
    from remots.viz.overlay import write_overlays

    for video in videos:
        path = run.results(video.name)
        if not path.is_file():
            continue
        tracks = read_mots_txt(
            path,
            frame_base=video.frame_base,
            num_frames=video.num_frames,
            image_size=video.image_size,
            frame_step=video.frame_step,
        )
        write_overlays(
            video,
            tracks,
            run.plots() / "overlays",
            every=options.every,
            max_frames=options.max_frames,
            video=options.video,
            keep_frames=options.keep_frames,
        )


def sweep_row(run: RunFolder) -> None:
    """One row per job for the sweep summary (``remots.sweep.SweepSummary`` gathers them)."""
    summary = read_summary(run)
    overrides = []
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = list(HydraConfig.get().overrides.task)
    except ValueError:  # not under @hydra.main
        pass
    atomic_write_json(
        run.sweep_row(),
        {
            "overrides": overrides,
            "objective": None if summary is None else summary["objective"],
            "rows": [] if summary is None else summary["rows"],
            "run_dir": str(run.root),
        },
    )
