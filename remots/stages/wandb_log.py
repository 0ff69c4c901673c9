"""Weights & Biases logging of the stages that are not Lightning training (which logs through
``cfg.logger.wandb``, Lightning's WandbLogger): one W&B run per stage, ``job_type`` the stage's
name, grouped by the run folder. Nothing happens unless the W&B logger is configured
(``logger=wandb``); the mode comes from ``WANDB_MODE`` (``offline`` without network).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from omegaconf import DictConfig, OmegaConf

from remots.eval.result import EvalResult
from remots.io.run_folder import RunFolder


def enabled(cfg: DictConfig) -> bool:
    return bool(cfg.get("logger")) and cfg.logger.get("wandb") is not None


@contextlib.contextmanager
def wandb_run(cfg: DictConfig, run: RunFolder, job_type: str) -> Iterator:
    """A W&B run for one stage of this run folder, finished on exit."""
    import wandb

    node = cfg.logger.wandb
    wrun = wandb.init(
        project=node.get("project", "remots"),
        name=f"{cfg.run_name}-{job_type}",
        group=node.get("group") or run.root.name,
        job_type=job_type,
        dir=str(run.root),
        mode="offline" if node.get("offline") else None,
        config=OmegaConf.to_container(cfg, resolve=True),
        reinit="finish_previous",
    )
    try:
        yield wrun
    finally:
        wrun.finish()


def evaluation(
    cfg: DictConfig, run: RunFolder, result: EvalResult, rows: list[dict]
) -> dict | None:
    """The eval stage: ``<class>/<metric>`` of the combined result in the run summary, the
    per-sequence metrics and the variants table as W&B tables; returns the summary logged."""
    if not enabled(cfg):
        return None
    import wandb

    summary = {f"{c}/{m}": v for c, metrics in result.combined.items() for m, v in metrics.items()}
    with wandb_run(cfg, run, "eval") as wrun:
        wrun.summary.update(summary)
        tables = {"eval/metrics": result.to_rows()}
        if rows:
            tables["eval/variants"] = rows
        wrun.log(
            {
                key: wandb.Table(columns=list(t[0]), data=[list(r.values()) for r in t])
                for key, t in tables.items()
            }
        )
    return summary


def report(cfg: DictConfig, run: RunFolder) -> None:
    """The report stage: the threshold plots (Fig. 4, Fig. 5), the overlay frames and videos."""
    if not enabled(cfg):
        return
    import wandb

    images = {f"plots/{p.stem}": wandb.Image(str(p)) for p in sorted(run.plots().glob("*.png"))}
    for jpg in sorted((run.plots() / "overlays").glob("*.jpg")):
        images[f"overlays/{jpg.stem}"] = wandb.Image(str(jpg))
    for mp4 in sorted((run.plots() / "overlays").glob("*.mp4")):
        images[f"videos/{mp4.stem}"] = wandb.Video(str(mp4), format="mp4")
    if images:
        with wandb_run(cfg, run, "report") as wrun:
            wrun.log(images)
