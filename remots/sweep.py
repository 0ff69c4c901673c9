"""Sweep summary: one row per job of a ``python track.py -m ...`` sweep, gathered at its end."""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from remots.eval.result import COUNT_METRICS
from remots.io.atomic import atomic_write_text

log = logging.getLogger(__name__)


def summarise_sweep(
    sweep_dir: str | Path, objective: str = "IDF1", *, since_ns: int = 0
) -> list[dict]:
    """Read every ``<sweep_dir>/*/sweep_row.json`` written at ``since_ns`` or later (the jobs of
    this sweep: the job folders stay from sweep to sweep, so a repeated job reuses its stages);
    write ``sweep_summary.csv`` and ``.md`` sorted by the objective (best first), metrics in
    percent as the run tables give them (counts as counts); return the rows."""
    sweep_dir = Path(sweep_dir)
    rows = []
    for path in sorted(sweep_dir.glob("*/sweep_row.json")):
        if path.stat().st_mtime_ns < since_ns:
            continue
        job = json.loads(path.read_text())
        row = {"job": path.parent.name, "overrides": " ".join(job["overrides"])}
        for r in job["rows"]:
            if r["variant"] == "ReMOTS (merged)":
                for key, value in r.items():
                    if key not in ("variant", "class"):
                        row[f"{r['class']}/{key}"] = value
        row[objective] = job["objective"]
        rows.append(row)
    rows.sort(key=lambda r: -(r[objective] if r[objective] is not None else float("-inf")))
    if not rows:
        return rows
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(sweep_dir / "sweep_summary.csv", buf.getvalue())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(c, r.get(c)) for c in columns) + " |")
    atomic_write_text(sweep_dir / "sweep_summary.md", "\n".join(lines) + "\n")
    return rows


def _cell(column: str, value) -> str:
    """A markdown cell: metrics in percent with 2 decimals, counts (IDSW, TP, ...) as integers."""
    if not isinstance(value, float):
        return "" if value is None else str(value)
    if column.rsplit("/", 1)[-1] in COUNT_METRICS:
        return f"{value:.0f}"
    return f"{100 * value:.2f}"


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, write this sweep's summary table."""

    def __init__(self, objective: str = "IDF1"):
        self.objective = objective
        self.started_ns = 0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started_ns = time.time_ns()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarise_sweep(sweep_dir, self.objective, since_ns=self.started_ns)
        log.info("sweep summary (%d jobs) in %s", len(rows), sweep_dir / "sweep_summary.md")
