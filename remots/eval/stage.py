"""``python track.py stage=eval``: metrics of a run's results against ground truth.

Reads the ground truth of the configured data's target split (or ``eval.gt_root`` in
``eval.layout``), the results folder ``eval.results_dir`` (default ``<run>/results``), writes
``metrics.json`` and ``metrics.csv`` into the run folder, logs the table, logs a W&B summary and
table when ``logger.wandb`` is configured, and returns ``eval.objective`` of the first class
(combined over sequences) for sweeps.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from remots.artifacts import RunFolder
from remots.errors import ConfigError
from remots.eval.metrics import evaluate_folder, evaluate_results_folder
from remots.eval.result import METRIC_NAMES, EvalResult
from remots.io.instances import CLASS_NAMES, IGNORE

log = logging.getLogger(__name__)


def run_eval(cfg: DictConfig) -> float:
    """Evaluate, save, log; return the objective (``cfg.eval.objective``, first class)."""
    ecfg = cfg.eval
    results_dir = Path(ecfg.results_dir)
    classes = eval_classes(cfg)
    missing = ecfg.get("missing", "error")
    if ecfg.get("gt_root"):
        layout = ecfg.get("layout") or "motschallenge"
        result = evaluate_folder(
            ecfg.gt_root,
            results_dir,
            layout=layout,
            sequences=list(ecfg.sequences) if ecfg.get("sequences") else None,
            seqmap=ecfg.get("seqmap"),
            classes=classes,
            benchmark=ecfg.get("benchmark") or _benchmark_of(layout),
            missing=missing,
        )
    else:
        from remots.datasets import load_split

        gt = load_split(cfg.data, "target")
        if ecfg.get("sequences"):
            wanted = set(ecfg.sequences)
            gt = [seq for seq in gt if seq.name in wanted]
        result = evaluate_results_folder(
            gt,
            results_dir,
            classes=classes,
            benchmark=ecfg.get("benchmark") or _benchmark_of(cfg.data.layout),
            missing=missing,
        )
    run = RunFolder(cfg.paths.run_dir)
    json_path, csv_path = result.save(run)
    log.info("metrics of %s against the ground truth:\n%s", results_dir, result.table())
    log.info("wrote %s and %s", json_path, csv_path)
    if cfg.get("logger") and cfg.logger.get("wandb") is not None:
        log_to_wandb(result, cfg)
    objective = ecfg.get("objective", "IDF1")
    if objective not in METRIC_NAMES:
        raise ConfigError(f"eval.objective {objective!r} is not one of {METRIC_NAMES}")
    return float(result.combined[classes[0]][objective])


def eval_classes(cfg: DictConfig) -> list[str]:
    """Class names evaluated: ``eval.classes``, else the configured data's class ids."""
    names = cfg.eval.get("classes")
    if names:
        return [str(n) for n in names]
    ids = cfg.data.get("classes") or [2]
    return [CLASS_NAMES[int(i)] for i in ids if int(i) != IGNORE]


def _benchmark_of(layout: str) -> str:
    return "kitti_mots" if layout == "kitti_mots" else "motschallenge"


def log_to_wandb(result: EvalResult, cfg: DictConfig):
    """W&B run summary (``<class>/<metric>`` of the combined result) and a per-sequence table.

    The mode comes from ``WANDB_MODE`` (offline without network). Returns the summary logged.
    """
    import wandb

    wcfg = cfg.logger.wandb
    run = wandb.init(
        project=wcfg.get("project", "remots"),
        name=wcfg.get("name"),
        group=wcfg.get("group"),
        dir=str(cfg.paths.run_dir),
        job_type="eval",
        reinit=True,
    )
    summary = {
        f"{cls}/{name}": value
        for cls, metrics in result.combined.items()
        for name, value in metrics.items()
    }
    run.summary.update(summary)
    rows = result.to_rows()
    columns = list(rows[0])
    run.log(
        {"eval/metrics": wandb.Table(columns=columns, data=[[r[c] for c in columns] for r in rows])}
    )
    run.finish()
    return summary
