"""``EvalResult``: per-sequence and combined MOTS metrics, as a table, CSV rows and JSON."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from remots.io.atomic import atomic_write_json, atomic_write_text

# The metrics reported, in table order, named as MOTS papers and TrackEval's MOTS output name them.
METRIC_NAMES = (
    "HOTA", "DetA", "AssA", "LocA",
    "sMOTSA", "MOTSA", "MOTSP", "MODSA",
    "TP", "FP", "FN", "IDSW", "Frag", "MT", "PT", "ML",
    "IDF1", "IDP", "IDR",
)  # fmt: skip
COUNT_METRICS = frozenset({"TP", "FP", "FN", "IDSW", "Frag", "MT", "PT", "ML"})
COMBINED = "COMBINED"


@dataclass
class EvalResult:
    """Metrics of one evaluation.

    ``per_sequence[seq][class_name][metric]`` and ``combined[class_name][metric]`` are plain
    floats (fractions, e.g. HOTA 0.61) or ints (counts); ``combined`` is TrackEval's
    ``combine_sequences`` of each metric, not an average of sequences. ``trackeval`` keeps
    TrackEval's own result dicts (``[seq or "COMBINED_SEQ"][class][HOTA|CLEAR|Identity]``), with
    the HOTA arrays over the 19 alpha thresholds.
    """

    per_sequence: dict[str, dict[str, dict[str, float]]]
    combined: dict[str, dict[str, float]]
    classes: tuple[str, ...]
    benchmark: str
    trackeval: dict = field(default_factory=dict, repr=False)

    @property
    def sequences(self) -> list[str]:
        return sorted(self.per_sequence)

    def to_rows(self) -> list[dict]:
        """One dict per (sequence, class), then one per class for the combined result:
        ``sequence``, ``class``, then every metric in ``METRIC_NAMES`` order."""
        rows = []
        for cls in self.classes:
            for seq in self.sequences:
                rows.append({"sequence": seq, "class": cls, **self.per_sequence[seq][cls]})
            rows.append({"sequence": COMBINED, "class": cls, **self.combined[cls]})
        return rows

    def to_dict(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "classes": list(self.classes),
            "per_sequence": self.per_sequence,
            "combined": self.combined,
        }

    def table(self) -> str:
        """A fixed-width table per class: one line per sequence and a combined line; fractions
        as percentages with 2 decimals, counts as integers."""
        blocks = []
        width = max([len(COMBINED), *(len(s) for s in self.sequences)]) + 2
        for cls in self.classes:
            header = f"{cls:<{width}}" + "".join(f"{m:>8}" for m in METRIC_NAMES)
            lines = [header, "-" * len(header)]
            for seq in self.sequences:
                lines.append(_table_line(seq, self.per_sequence[seq][cls], width))
            lines.append(_table_line(COMBINED, self.combined[cls], width))
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(
            buf, fieldnames=["sequence", "class", *METRIC_NAMES], lineterminator="\n"
        )
        writer.writeheader()
        for row in self.to_rows():
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
        return buf.getvalue()

    def save(self, json_path: str | Path, csv_path: str | Path) -> None:
        """Write the metrics as JSON (``to_dict``) and CSV (``to_csv``), atomically."""
        atomic_write_json(json_path, self.to_dict())
        atomic_write_text(csv_path, self.to_csv())


def _table_line(name: str, metrics: dict, width: int) -> str:
    cells = []
    for m in METRIC_NAMES:
        v = metrics[m]
        cells.append(f"{int(v):>8d}" if m in COUNT_METRICS else f"{100 * v:>8.2f}")
    return f"{name:<{width}}" + "".join(cells)


def _csv_value(v):
    return repr(float(v)) if isinstance(v, float) else v
