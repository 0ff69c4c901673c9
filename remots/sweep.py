"""Sweep summary: one row per job of a ``python track.py -m ...`` sweep, gathered at its end."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from remots.io.atomic import atomic_write_text

log = logging.getLogger(__name__)


def summarise_sweep(sweep_dir: str | Path, objective: str = "IDF1") -> list[dict]:
    """Read every ``<sweep_dir>/*/sweep_row.json``; write ``sweep_summary.csv`` and ``.md`` sorted
    by the objective (best first); return the rows."""
    sweep_dir = Path(sweep_dir)
    rows = []
    for path in sorted(sweep_dir.glob("*/sweep_row.json")):
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
        lines.append(
            "| "
            + " | ".join(
                f"{r.get(c):.4f}" if isinstance(r.get(c), float) else str(r.get(c, ""))
                for c in columns
            )
            + " |"
        )
    atomic_write_text(sweep_dir / "sweep_summary.md", "\n".join(lines) + "\n")
    return rows


class SweepSummary(Callback):
    """Hydra callback: at the end of a multirun, write the sweep's summary table."""

    def __init__(self, objective: str = "IDF1"):
        self.objective = objective

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarise_sweep(sweep_dir, self.objective)
        log.info("sweep summary (%d jobs) in %s", len(rows), sweep_dir / "sweep_summary.md")
