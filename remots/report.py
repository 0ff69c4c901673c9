"""The end of a run: the results table (IoU-only baseline, short tracklets, ReMOTS merged, and each
stage's gain), overlays, and the W&B dashboard when the W&B logger is on."""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from remots.artifacts import RunFolder
from remots.io.atomic import atomic_write_json, atomic_write_text
from remots.io.instances import CLASS_NAMES
from remots.io.mots import read_mots_txt

log = logging.getLogger(__name__)

TABLE_METRICS = ("IDF1", "HOTA", "sMOTSA", "IDSW")
VARIANTS = (
    ("IoU-only baseline", "baseline"),
    ("short tracklets", "short_tracklets"),
    ("ReMOTS (merged)", "results"),
)


def read_tracks(run: RunFolder, variant: str, sequences) -> dict | None:
    """The tracks of one variant for every sequence, or None when a file is missing."""
    out = {}
    for seq in sequences:
        path = getattr(run, variant)(seq.name)
        if not path.is_file():
            return None
        out[seq.name] = read_mots_txt(
            path, frame_base=seq.frame_base, num_frames=seq.num_frames, image_size=seq.image_size
        )
    return out


def results_table(cfg: DictConfig, sequences) -> tuple[list[dict], str]:
    """Evaluate every variant present in the run folder; rows and a printable table."""
    from remots.eval import evaluate

    run = RunFolder(cfg.paths.run_dir)
    classes = tuple(CLASS_NAMES[c] for c in cfg.data.classes)
    benchmark = "kitti_mots" if cfg.data.layout == "kitti_mots" else "motschallenge"
    rows = []
    for label, variant in VARIANTS:
        tracks = read_tracks(run, variant, sequences)
        if tracks is None:
            continue
        result = evaluate(sequences, tracks, classes=classes, benchmark=benchmark)
        for cls in classes:
            combined = result.combined[cls]
            rows.append(
                {"variant": label, "class": cls, **{m: float(combined[m]) for m in TABLE_METRICS}}
            )
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
    return rows, "\n".join(lines)


def write_report(cfg: DictConfig):
    """Results table, overlays and W&B logging for a finished run; returns the sweep objective."""
    from remots.datasets import load_split

    run = RunFolder(cfg.paths.run_dir)
    sequences = load_split(cfg.data, "target", with_gt=True)
    with_gt = [s for s in sequences if s.gt is not None]
    objective = None
    rows: list[dict] = []
    table = ""
    if with_gt and len(with_gt) == len(sequences):
        rows, table = results_table(cfg, sequences)
        objective_name = cfg.eval.get("objective", "IDF1")
        merged = [r for r in rows if r["variant"] == VARIANTS[-1][0]]
        if merged:
            objective = float(merged[0].get(objective_name, float("nan")))
        atomic_write_text(run.root / "summary.md", table + "\n")
        atomic_write_json(run.root / "summary.json", {"rows": rows, "objective": objective})
        log.info("results on the target videos (percent; gain over the row above):\n%s", table)
    else:
        log.info("the target videos have no ground truth: no results table")
    _sweep_row(cfg, run, rows, objective)
    overlays = cfg.stage.get("overlays", {})
    if overlays.get("enabled", False):
        _overlays(run, sequences, overlays)
    if cfg.get("logger") and cfg.logger.get("wandb") is not None:
        _log_wandb(cfg, run, rows)
    return objective


def _overlays(run: RunFolder, sequences, options) -> None:
    from remots.viz.overlay import write_overlays

    for seq in sequences:
        path = run.results(seq.name)
        if not path.is_file():
            continue
        tracks = read_mots_txt(
            path, frame_base=seq.frame_base, num_frames=seq.num_frames, image_size=seq.image_size
        )
        write_overlays(
            seq,
            tracks,
            run.plots() / "overlays",
            every=int(options.get("every", 1)),
            max_frames=options.get("max_frames"),
            video=bool(options.get("video", True)),
            keep_frames=int(options.get("keep_frames", 3)),
        )


def _sweep_row(cfg: DictConfig, run: RunFolder, rows: list[dict], objective) -> None:
    """One row per job for the sweep summary (remots.sweep.SweepSummary gathers them)."""
    overrides = []
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = list(HydraConfig.get().overrides.task)
    except ValueError:  # not under @hydra.main
        pass
    atomic_write_json(
        run.root / "sweep_row.json",
        {"overrides": overrides, "objective": objective, "rows": rows, "run_dir": str(run.root)},
    )


def _log_wandb(cfg: DictConfig, run: RunFolder, rows: list[dict]) -> None:
    import wandb

    node = cfg.logger.wandb
    wrun = wandb.init(
        project=node.get("project", "remots"),
        name=f"{cfg.run_name}-summary",
        group=node.get("group"),
        dir=str(run.root),
        mode="offline" if node.get("offline") else None,
        config=OmegaConf.to_container(cfg, resolve=True),
        reinit="finish_previous",
    )
    try:
        if rows:
            columns = list(rows[0])
            wrun.log(
                {"results": wandb.Table(columns=columns, data=[list(r.values()) for r in rows])}
            )
            for r in rows:
                for m in TABLE_METRICS:
                    wrun.summary[f"{r['variant']}/{r['class']}/{m}"] = r[m]
        images = {}
        for png in sorted(Path(run.plots()).glob("*.png")):
            images[f"plots/{png.stem}"] = wandb.Image(str(png))
        for jpg in sorted((Path(run.plots()) / "overlays").glob("*.jpg")):
            images[f"overlays/{jpg.stem}"] = wandb.Image(str(jpg))
        if images:
            wrun.log(images)
    finally:
        wrun.finish()
