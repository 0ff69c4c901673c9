"""Degenerate data through every stage of the real chain, and bad configs that must fail with one
clear line: an empty sequence, a sequence of one frame, a single object, an object seen in one
frame only; detections that all fall under the score threshold (a clear error), a missing data
folder, a missing detections file, NaN features."""

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from remots import masks
from remots.errors import InputError
from remots.io.detections import write_detections_txt
from remots.io.instances import Instance
from remots.io.layouts import write_seqinfo
from remots.io.mots import read_mots_txt, write_mots_txt
from remots.synthetic import SyntheticParams, generate_dataset

ROOT = Path(__file__).resolve().parent.parent
H, W = 90, 160


def box(x, y, w=14, h=30):
    m = np.zeros((H, W), np.uint8)
    m[y : y + h, x : x + w] = 1
    return masks.encode(m)[0]


def write_seq(root: Path, name: str, num_frames: int, objects: dict, score=0.9):
    """objects: obj_id -> {frame: (x, y)}; GT and one detector's detections are the same boxes."""
    seq_dir = root / "test" / name
    (seq_dir / "img1").mkdir(parents=True)
    rng = np.random.default_rng(len(name))
    for t in range(num_frames):
        img = rng.integers(60, 90, (H, W, 3), dtype=np.uint8)
        for k, (_, track) in enumerate(sorted(objects.items())):
            if t in track:
                x, y = track[t]
                img[y : y + 30, x : x + 14] = (40 + 80 * k, 200 - 60 * k, 120)
        cv2.imwrite(str(seq_dir / "img1" / f"{t + 1:06d}.jpg"), img)
    write_seqinfo(seq_dir, name=name, num_frames=num_frames, width=W, height=H)
    gt = [
        Instance(t, obj, 2, box(*track[t]))
        for t in range(num_frames)
        for obj, track in sorted(objects.items())
        if t in track
    ]
    (seq_dir / "gt").mkdir()
    write_mots_txt(seq_dir / "gt" / "gt.txt", gt, frame_base=1)
    (seq_dir / "det").mkdir()
    dets = [g.with_(obj_id=k, score=score) for k, g in enumerate(gt)]
    write_detections_txt(seq_dir / "det" / "det.txt", dets, frame_base=1)
    write_detections_txt(seq_dir / "det" / "det2.txt", [], frame_base=1)


@pytest.fixture(scope="module")
def degenerate_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("degenerate")
    data = tmp / "data"
    # training videos (GT triplets) from the tiny synthetic generator; its target video too
    params = SyntheticParams(num_train=1, num_target=1, num_frames=30, num_objects=5)
    generate_dataset(data, params)
    (data / "COMPLETE").unlink()  # now a hand-extended dataset, not a generated one
    write_seq(data, "EMPTY", 5, {})
    write_seq(data, "ONEFRAME", 1, {2001: {0: (20, 30)}, 2002: {0: (90, 30)}})
    write_seq(data, "SINGLE", 6, {2001: {t: (10 + 8 * t, 30) for t in range(6)}})
    write_seq(data, "ONCE", 5, {2001: {2: (70, 40)}})
    from remots import pipeline

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            config_name="track",
            overrides=[
                "experiment=tiny",
                f"paths.output_root={tmp / 'out'}",
                "data=motschallenge",
                f"data.root={data}",
                "data.train_split=train",
                "data.target_split=test",
                "detector=synthetic",
                "report.overlays.max_frames=3",
            ],
        )
    pipeline.run_chain(cfg)
    return tmp / "out" / cfg.run_name, data


def results(run_dir, name, num_frames):
    return read_mots_txt(
        run_dir / "results" / f"{name}.txt", frame_base=1, num_frames=num_frames, image_size=(H, W)
    )


def test_every_stage_handles_degenerate_sequences(degenerate_run):
    run_dir, _ = degenerate_run
    assert results(run_dir, "EMPTY", 5) == []
    once = results(run_dir, "ONCE", 5)
    assert [(i.frame, i.obj_id) for i in once] == [(2, once[0].obj_id)]
    single = results(run_dir, "SINGLE", 6)
    assert [i.frame for i in single] == list(range(6))
    assert len({i.obj_id for i in single}) == 1  # one object, one track
    oneframe = results(run_dir, "ONEFRAME", 1)
    assert len(oneframe) == 2 and len({i.obj_id for i in oneframe}) == 2
    for name in ("EMPTY", "ONCE", "SINGLE", "ONEFRAME"):
        assert (run_dir / "tracklets_short" / f"{name}.json").is_file()
        assert (run_dir / "results" / f"{name}.json").is_file()
    assert (run_dir / "metrics.json").is_file()


def test_merged_tracks_never_overlap_in_time(degenerate_run):
    run_dir, _ = degenerate_run
    for path in (run_dir / "results").glob("*.txt"):
        seen = set()
        for inst in read_mots_txt(path, frame_base=1):
            assert (inst.frame, inst.obj_id) not in seen
            seen.add((inst.frame, inst.obj_id))


def run_cli(*args):
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "track.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_config_naming_missing_things_fails_with_one_clear_line(tmp_path):
    out = run_cli(
        "stage=detect",
        "data=motschallenge",
        f"data.root={tmp_path / 'nope'}",
        f"paths.output_root={tmp_path}",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    assert out.returncode == 2
    assert f"remots: error: data.root {tmp_path / 'nope'} does not exist" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_a_class_whose_detections_are_all_dropped_stops_with_one_clear_line(tmp_path):
    """Every detection under the score threshold while the GT has the class: a wrong
    category_map or thresholds, not a video without objects; the run stops, naming the counts."""
    data = tmp_path / "data"
    write_seq(data, "LOWSCORE", 4, {2001: {t: (30, 30) for t in range(4)}}, score=0.1)
    out = run_cli(
        "stage=detect",
        "data=motschallenge",
        f"data.root={data}",
        "data.train_split=null",
        "detector=synthetic",
        f"paths.output_root={tmp_path}",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    assert out.returncode == 2
    expected = "sequence LOWSCORE: no pedestrian detection kept but the ground truth has 4"
    assert expected in out.stderr
    assert "4 with a score under the threshold" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_missing_detections_file_is_named(degenerate_run, tmp_path):
    _, data = degenerate_run
    out = run_cli(
        "stage=detect",
        "data=motschallenge",
        f"data.root={data}",
        "detector=precomputed",
        "detector.path='{seq_dir}/det/missing.txt'",
        f"paths.output_root={tmp_path}",
        f"hydra.run.dir={tmp_path / 'h'}",
    )
    assert out.returncode == 2
    assert "missing.txt" in out.stderr and "not found" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_nan_features_are_refused_naming_the_file(degenerate_run):
    from remots.io.layouts import load_motschallenge_sequence
    from remots.io.run_folder import RunFolder

    run_dir, data = degenerate_run
    run = RunFolder(run_dir)
    video = load_motschallenge_sequence(data / "test" / "SINGLE")
    path = run.features("inter", "SINGLE")
    features = np.load(path)
    features[3, 0] = np.nan
    np.save(path, features)
    source = json.loads(run.features_source("inter", "SINGLE").read_text())
    with pytest.raises(InputError, match=r"NaN or infinite .*row 3") as info:
        run.read_features("inter", video, len(features), source=source, remedy="")
    assert str(path) in str(info.value)
