"""``python track.py stage=eval`` composed with Hydra, on real KITTI MOTS GT."""

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from remots.eval import evaluate_folder
from remots.io.mots import write_mots_txt
from remots.io.run_folder import RunFolder
from remots.stages import wandb_log
from remots.stages.evaluate import evaluate
from tests.support.perturb import perturb_results

CONF = Path(__file__).resolve().parents[2] / "conf"


def run_eval(cfg):
    return evaluate(cfg, RunFolder(cfg.paths.run_dir))


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _cfg(run_dir, kitti_root, *extra):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            "track",
            overrides=[
                "stage=eval",
                f"paths.run_dir={run_dir}",
                f"eval.gt_root={kitti_root}",
                "eval.layout=kitti_mots",
                "eval.seqmap=seqmaps/train.seqmap",
                "eval.sequences=['0012']",
                "eval.classes=[car,pedestrian]",
                *extra,
            ],
        )


@pytest.fixture()
def run_dir(tmp_path, kitti_sequences):
    seq = next(s for s in kitti_sequences if s.name == "0012")
    results = perturb_results(seq.gt, num_frames=seq.num_frames, rng=np.random.default_rng(1))
    write_mots_txt(tmp_path / "results" / "0012.txt", results, frame_base=0)
    return tmp_path


def test_stage_writes_metrics_and_returns_the_objective(run_dir, kitti_root):
    cfg = _cfg(run_dir, kitti_root, "eval.objective=HOTA")
    assert cfg.stage.name == "eval"
    assert cfg.eval.results_dir == f"{run_dir}/results"
    objective = run_eval(cfg)
    expected = evaluate_folder(
        kitti_root,
        run_dir / "results",
        layout="kitti_mots",
        seqmap="seqmaps/train.seqmap",
        sequences=["0012"],
        classes=("car", "pedestrian"),
    )
    assert objective == expected.combined["car"]["HOTA"]
    assert 0.3 < objective < 1.0
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["combined"] == expected.combined
    per_seq = expected.per_sequence["0012"]
    assert saved["per_sequence"]["0012"]["pedestrian"] == per_seq["pedestrian"]
    csv_lines = (run_dir / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].startswith("sequence,class,HOTA,DetA")
    assert len(csv_lines) == 1 + 2 * 2  # per class: the sequence and COMBINED


def test_stage_missing_results_error_or_empty(tmp_path, kitti_root):
    from remots.errors import InputError

    (tmp_path / "results").mkdir()
    with pytest.raises(InputError, match="no results file"):
        run_eval(_cfg(tmp_path, kitti_root))
    assert run_eval(_cfg(tmp_path, kitti_root, "eval.missing=empty")) == 0.0


def test_wandb_summary_and_table(run_dir, kitti_root, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = _cfg(run_dir, kitti_root, "logger=wandb")
    result = evaluate_folder(
        kitti_root,
        run_dir / "results",
        layout="kitti_mots",
        seqmap="seqmaps/train.seqmap",
        sequences=["0012"],
        classes=("car", "pedestrian"),
    )
    summary = wandb_log.evaluation(cfg, RunFolder(run_dir), result, [])
    assert summary["car/IDF1"] == result.combined["car"]["IDF1"]
    assert summary["pedestrian/HOTA"] == result.combined["pedestrian"]["HOTA"]
    # the offline run holds the table: one row per (sequence, class) and per class combined
    (table,) = (run_dir / "wandb").glob("offline-run-*/files/media/table/eval/metrics_*.json")
    saved = json.loads(table.read_text())
    rows = result.to_rows()
    assert saved["columns"] == list(rows[0])
    assert [r[:2] for r in saved["data"]] == [
        ["0012", "car"],
        ["COMBINED", "car"],
        ["0012", "pedestrian"],
        ["COMBINED", "pedestrian"],
    ]
    assert saved["data"][1][saved["columns"].index("IDF1")] == pytest.approx(
        result.combined["car"]["IDF1"]
    )


def test_stage_reads_gt_from_the_configured_data(run_dir, kitti_root):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "track",
            overrides=[
                "stage=eval",
                "data=kitti_mots",
                f"paths.run_dir={run_dir}",
                f"data.root={kitti_root.parent}",
                f"data.target_split={kitti_root.name}",
                "data.sequences=['0012']",
                "eval.objective=sMOTSA",
            ],
        )
    objective = run_eval(cfg)  # classes from data.classes: car first
    expected = evaluate_folder(
        kitti_root,
        run_dir / "results",
        layout="kitti_mots",
        seqmap="seqmaps/train.seqmap",
        sequences=["0012"],
        classes=("car", "pedestrian"),
    )
    assert objective == expected.combined["car"]["sMOTSA"]
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert saved["benchmark"] == "kitti_mots"
    assert saved["combined"] == expected.combined


def test_results_table_names_sequence_classes_without_a_theta_short_below_one(tmp_path):
    """The line under the results table: a sequence-class whose theta_short estimate is >= 1, or
    that has no estimate (fewer than two intra-frame pairs, or no detection), is named; one
    estimated below 1 is not."""
    from types import SimpleNamespace

    from remots.io.atomic import atomic_write_json
    from remots.stages.evaluate import theta_short_line, theta_short_rows

    run = RunFolder(tmp_path)
    pairs = {"1": {"num_pairs": 40, "mean": 0.3, "std": 0.1}, "2": {"num_pairs": 1}}
    atomic_write_json(
        run.short_meta("A"),
        {
            "intra_frame_similarity": pairs,
            "theta_short": {"1": 0.6, "2": None},
            "theta_short_estimate": {"1": 0.6, "2": None},
            "use_appearance": True,
        },
    )
    atomic_write_json(
        run.short_meta("B"),
        {
            "intra_frame_similarity": {"1": {"num_pairs": 9, "mean": 0.9, "std": 0.05}},
            "theta_short": {"1": None},
            "theta_short_estimate": {"1": 1.05},
            "use_appearance": True,
        },
    )
    videos = [SimpleNamespace(name="A"), SimpleNamespace(name="B")]
    rows = theta_short_rows(run, videos, [1, 2])
    assert [(r["sequence"], r["class"], r["estimate"]) for r in rows] == [
        ("A", "car", 0.6),
        ("A", "pedestrian", None),
        ("B", "car", 1.05),
        ("B", "pedestrian", None),
    ]
    line = theta_short_line(rows)
    assert "A/pedestrian missing (1 intra-frame pairs)" in line
    assert "B/car 1.050" in line
    assert "B/pedestrian missing (no detection)" in line
    assert "A/car" not in line
    below = theta_short_line([r for r in rows if r["sequence"] == "A" and r["class"] == "car"])
    assert below.startswith("theta_short: estimated below 1 on every sequence-class")
