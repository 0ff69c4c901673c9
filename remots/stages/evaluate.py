"""``python track.py stage=eval``: MOTS metrics against ground truth.

With the data's own ground truth (the default) every variant the run wrote is evaluated once: the
IoU-only baseline (``baseline/``), the short tracklets (``tracklets_short/``) and ReMOTS' merged
tracks (``eval.results_dir``, default ``results/``). The merged tracks' metrics go to
``metrics.json`` / ``metrics.csv`` (per sequence and combined); the table of every variant with
each stage's gain to ``summary.json`` / ``summary.md``, which the report stage and sweeps read.
With ``eval.gt_root`` the results folder is evaluated against that GT folder instead.

Target videos without ground truth: the stage says so in one line and writes nothing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from omegaconf import DictConfig

from remots.config import EvalConfig, typed
from remots.errors import ConfigError
from remots.eval import evaluate_folder, evaluate_results_folders
from remots.eval.result import EvalResult
from remots.io.atomic import atomic_write_json, atomic_write_text
from remots.io.instances import CLASS_NAMES, IGNORE
from remots.io.layouts import Video
from remots.io.run_folder import RunFolder
from remots.parallel import WorkerPool, resolve_workers
from remots.stages import wandb_log
from remots.stages.videos import target_videos

log = logging.getLogger(__name__)

# The variants of a run, in chain order, with the run-folder artifact of each.
VARIANTS = (
    ("IoU-only baseline", "baseline"),
    ("short tracklets", "short_tracklets"),
    ("ReMOTS (merged)", "results"),
)
TABLE_METRICS = ("IDF1", "HOTA", "sMOTSA", "IDSW")


def evaluate(cfg: DictConfig, run: RunFolder) -> float | None:
    """Evaluate, save, log; return ``eval.objective`` of the merged tracks (first class,
    combined), or None when the target videos have no ground truth. Sequences are evaluated
    side by side on ``cfg.workers`` processes."""
    options = typed(cfg.eval)
    classes = eval_classes(cfg, options)
    workers = resolve_workers(cfg.get("workers"))
    if options.gt_root:
        with WorkerPool(workers) as pool:
            result = evaluate_folder(
                options.gt_root,
                options.results_dir,
                layout=options.layout,
                sequences=options.sequences,
                seqmap=options.seqmap,
                classes=classes,
                benchmark=options.benchmark or benchmark_of(options.layout),
                missing=options.missing,
                pool=pool,
            )
        rows, thetas = [], []
    else:
        videos = target_videos(cfg, with_gt=True)
        if options.sequences:
            unknown = sorted(set(options.sequences) - {v.name for v in videos})
            if unknown:
                raise ConfigError(f"eval.sequences={unknown}: not sequences of the target split")
            videos = [v for v in videos if v.name in set(options.sequences)]
        if not videos or any(v.gt is None for v in videos):
            log.info("the target videos have no ground truth: evaluation skipped")
            return None
        benchmark = options.benchmark or benchmark_of(cfg.data.layout)
        folders = {"results": options.results_dir, **variant_folders(run, videos)}
        with WorkerPool(min(workers, len(videos))) as pool:
            results = evaluate_results_folders(
                videos, folders, classes=classes, benchmark=benchmark, missing=options.missing,
                pool=pool,
            )  # fmt: skip
        result = results["results"]
        rows = variant_rows(results, classes)
        thetas = theta_short_rows(run, videos, [int(c) for c in cfg.data.classes])
    result.save(run.metrics_json(), run.metrics_csv())
    log.info("metrics of %s against the ground truth:\n%s", options.results_dir, result.table())
    objective = float(result.combined[classes[0]][options.objective])
    if rows:
        table = format_table(rows)
        if thetas:
            table += "\n" + theta_short_line(thetas)
        atomic_write_text(run.summary_md(), table + "\n")
        atomic_write_json(
            run.summary_json(), {"rows": rows, "objective": objective, "theta_short": thetas}
        )
        log.info("results on the target videos (percent; gain over the row above):\n%s", table)
    wandb_log.evaluation(cfg, run, result, rows)
    return objective


def eval_classes(cfg: DictConfig, options: EvalConfig) -> list[str]:
    """Class names evaluated: ``eval.classes``, else the configured data's class ids."""
    if options.classes:
        return [str(n) for n in options.classes]
    return [CLASS_NAMES[int(i)] for i in cfg.data.classes if int(i) != IGNORE]


def benchmark_of(layout: str) -> str:
    return "kitti_mots" if layout == "kitti_mots" else "motschallenge"


def variant_folders(run: RunFolder, videos: list[Video]) -> dict[str, Path]:
    """The folders of the variants before the merge that the run wrote for every video."""
    out = {}
    for _, artifact in VARIANTS:
        if artifact == "results":
            continue
        paths = [getattr(run, artifact)(v.name) for v in videos]
        if all(p.is_file() for p in paths):
            out[artifact] = paths[0].parent
    return out


def variant_rows(results: dict[str, EvalResult], classes) -> list[dict]:
    """One row per (variant, class) evaluated (``results``: artifact -> its evaluation):
    ``TABLE_METRICS`` combined over the sequences."""
    rows = []
    for label, artifact in VARIANTS:
        if artifact not in results:
            continue
        for cls in classes:
            combined = results[artifact].combined[cls]
            rows.append(
                {"variant": label, "class": cls, **{m: float(combined[m]) for m in TABLE_METRICS}}
            )
    return rows


def theta_short_rows(run: RunFolder, videos: list[Video], class_ids: list[int]) -> list[dict]:
    """theta_short of every target sequence and tracked class from ``tracklets_short/<seq>.json``:
    ``{sequence, class, pairs, estimate, used}``; ``estimate`` None where the class has fewer
    than two intra-frame pairs (no estimate), ``pairs`` 0 and both None where it has no
    detection. Empty when the short stage left no record (or ran without features)."""
    out = []
    for video in videos:
        path = run.short_meta(video.name)
        if not path.is_file():
            continue
        meta = json.loads(path.read_text())
        stats = meta.get("intra_frame_similarity") or {}
        if not stats:
            continue
        estimates = meta.get("theta_short_estimate") or {}
        used = meta.get("theta_short") or {}
        for class_id in class_ids:
            if class_id == IGNORE:
                continue
            key = str(class_id)
            out.append(
                {
                    "sequence": video.name,
                    "class": CLASS_NAMES.get(class_id, key),
                    "pairs": int(stats.get(key, {}).get("num_pairs", 0)),
                    "estimate": estimates.get(key),
                    "used": used.get(key),
                    "detections": key in stats,
                    "appearance": bool(meta.get("use_appearance", True)),
                }
            )
    return out


def theta_short_line(thetas: list[dict]) -> str:
    """The line under the results table: the sequence-classes whose theta_short estimate is >= 1
    or missing (Eq. 2 has no estimate to gate with there), or that every one is below 1."""

    def why(t: dict) -> str:
        if t["estimate"] is not None:
            return f"{t['estimate']:.3f}"
        if not t["detections"]:
            return "missing (no detection)"
        return f"missing ({t['pairs']} intra-frame pairs)"

    unusable = [
        f"{t['sequence']}/{t['class']} {why(t)}"
        for t in thetas
        if t["estimate"] is None or t["estimate"] >= 1.0
    ]
    note = "" if any(t["appearance"] for t in thetas) else " (not used: flow-warped IoU links)"
    if not unusable:
        values = [t["estimate"] for t in thetas]
        return (
            f"theta_short{note}: estimated below 1 on every sequence-class "
            f"({min(values):.3f}-{max(values):.3f})"
        )
    return (
        f"theta_short{note}: estimate >= 1 or missing (no appearance gate, Eq. 2) on "
        + ", ".join(unusable)
    )


def format_table(rows: list[dict]) -> str:
    """The results table: percent with the gain over the row above of the same class."""
    lines = [
        f"{'variant':<20} {'class':<11}" + "".join(f" {m:>8} {'gain':>7}" for m in TABLE_METRICS),
    ]
    previous: dict[str, dict] = {}
    for row in rows:
        prev = previous.get(row["class"])
        cells = []
        for m in TABLE_METRICS:
            value = row[m]
            shown = f"{value:8.0f}" if m == "IDSW" else f"{100 * value:8.2f}"
            if prev is None:
                gain = ""
            elif m == "IDSW":
                gain = f"{value - prev[m]:+7.0f}"
            else:
                gain = f"{100 * (value - prev[m]):+7.2f}"
            cells.append(f" {shown} {gain:>7}")
        lines.append(f"{row['variant']:<20} {row['class']:<11}" + "".join(cells))
        previous[row["class"]] = row
    return "\n".join(lines)
