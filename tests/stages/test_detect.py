"""The detect stage end to end on composed configs, through the pipeline as the CLI runs it: the
synthetic detector config (two precomputed files fused), skip / force, and the torchvision
backend on real frames."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from remots import masks, pipeline
from remots.errors import ConfigError, MOTSFormatError
from remots.io.detections import Detections, read_detections_txt, write_detections_txt
from remots.io.instances import Instance
from remots.io.layouts import write_seqinfo
from remots.io.mots import write_mots_txt
from remots.io.run_folder import RunFolder
from remots.stages.detect import build_detector, fusion_options

CONF = str(Path(__file__).resolve().parents[2] / "conf")


def compose_track(overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("track", overrides=["stage=detect", *overrides])


def run_detect(cfg) -> dict[str, int]:
    """The detect stage through the pipeline; the detections per sequence it wrote (none when
    the manifest skipped it)."""
    status = pipeline.run_stages(cfg, ["detect"])
    if status["detect"] != "ran":
        return {}
    run = RunFolder(cfg.paths.run_dir)
    return {p.stem: len(p.read_text().splitlines()) for p in run.root.glob("detections/*.txt")}


def box(rows, cols, shape=(40, 60)) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    m[rows[0] : rows[1], cols[0] : cols[1]] = 1
    return m


def det(frame, mask, score, class_id=2) -> Instance:
    return Instance(frame, 0, class_id, masks.encode(mask)[0], score)


@pytest.fixture
def two_detector_dataset(tmp_path):
    """One MOTSChallenge-layout sequence (no frames needed) with det.txt and det2.txt."""
    seq_dir = tmp_path / "data" / "test" / "S1"
    write_seqinfo(seq_dir, name="S1", num_frames=3, width=60, height=40)
    a = box((0, 20), (0, 10))  # 200 px
    a_shifted = box((2, 20), (1, 10))  # the other detector's copy: IoM 162 / 162 = 1
    b = box((10, 30), (5, 15))  # 200 px, 50 under a: IoM 0.25, kept, loses those 50 px
    write_detections_txt(
        seq_dir / "det" / "det.txt",
        [det(0, a, 0.9), det(0, box((30, 40), (40, 60)), 0.8, class_id=1)],  # a car
        frame_base=1,
    )
    write_detections_txt(
        seq_dir / "det" / "det2.txt",
        [
            det(0, a_shifted, 0.7),
            det(0, b, 0.6),
            det(0, box((0, 10), (40, 60)), 0.3),  # under the score threshold
            det(2, box((0, 3), (0, 3)), 0.95),  # 9 px: under min_area
            det(2, box((20, 40), (30, 60)), 0.55),
        ],
        frame_base=1,
    )
    overrides = [
        "data=motschallenge",
        f"data.root={tmp_path / 'data'}",
        f"paths.run_dir={tmp_path / 'run'}",
        "detector=synthetic",
    ]
    return overrides, (a, b), tmp_path


def test_synthetic_config_fuses_both_detectors(two_detector_dataset):
    overrides, (a, b), tmp_path = two_detector_dataset
    cfg = compose_track(overrides)
    assert cfg.detector.fusion.classes == [2] and cfg.detector.fusion.min_area == 20
    assert run_detect(cfg) == {"S1": 3}
    path = RunFolder(tmp_path / "run").detections("S1")
    got = Detections.from_instances(
        read_detections_txt(path, frame_base=1, num_frames=3, image_size=(40, 60))
    )
    assert got.frames.tolist() == [0, 0, 2]
    assert got.scores.tolist() == [0.9, 0.6, 0.55]
    assert got.classes.tolist() == [2, 2, 2]
    np.testing.assert_array_equal(masks.decode_one(got.rles[0]), a)
    np.testing.assert_array_equal(masks.decode_one(got.rles[1]), b & ~a)
    assert path.read_text().startswith("1 0.0 0.0 10.0 20.0 0.9 2 40 60 ")


def test_a_second_run_is_skipped_unless_forced_or_its_inputs_change(two_detector_dataset):
    overrides, _, tmp_path = two_detector_dataset
    path = RunFolder(tmp_path / "run").detections("S1")
    assert run_detect(compose_track(overrides)) == {"S1": 3}
    first = path.read_bytes()
    os.utime(path, (1, 1))
    assert run_detect(compose_track(overrides)) == {}  # skipped: the file is left alone
    assert path.stat().st_mtime == 1 and path.read_bytes() == first
    assert run_detect(compose_track([*overrides, "force=[detect]"])) == {"S1": 3}
    # a detector input replaced: the sequence is detected again (here: a bad file, named)
    (tmp_path / "data" / "test" / "S1" / "det" / "det2.txt").write_text("garbage\n")
    with pytest.raises(MOTSFormatError, match=r"det2\.txt, line 1: expected 10 columns"):
        run_detect(compose_track(overrides))
    (tmp_path / "data" / "test" / "S1" / "det" / "det2.txt").unlink()
    (tmp_path / "data" / "test" / "S1" / "det" / "det.txt").rename(
        tmp_path / "data" / "test" / "S1" / "det" / "det2.txt"
    )
    (tmp_path / "data" / "test" / "S1" / "det" / "det.txt").write_text("")
    assert run_detect(compose_track(overrides)) == {"S1": 1}  # the first file's pedestrian


def test_torchvision_stage_on_real_frames(shared_data, tmp_path):
    src = shared_data / "mot17_mini_frames" / "MOT17-05-FRCNN" / "img1"
    seq_dir = tmp_path / "data" / "test" / "MOT17-05"
    (seq_dir / "img1").mkdir(parents=True)
    for name in ("000001.jpg", "000002.jpg"):
        (seq_dir / "img1" / name).symlink_to(src / name)
    write_seqinfo(seq_dir, name="MOT17-05", num_frames=2, width=640, height=480, fps=14)
    cfg = compose_track(
        [
            "data=motschallenge",
            f"data.root={tmp_path / 'data'}",
            "data.classes=[1,2]",
            f"paths.run_dir={tmp_path / 'run'}",
            "detector=torchvision",
            "detector.weights=null",
            "detector.model=maskrcnn_resnet50_fpn",
            "detector.device=cpu",
            "detector.min_size=320",
            "detector.max_size=320",
            "detector.box_score_thresh=0.0",
            "detector.proposals_per_img=100",
            "detector.detections_per_img=10",
            "detector.num_classes=3",
            "detector.progress=false",
            "detector.fusion.score_threshold=0.0",
            "detector.fusion.min_area=1",
        ]
    )
    cfg.detector.label_map = {1: 2, 2: 1}
    written = run_detect(cfg)
    path = RunFolder(tmp_path / "run").detections("MOT17-05")
    dets = Detections.from_instances(
        read_detections_txt(path, frame_base=1, num_frames=2, image_size=(480, 640))
    )
    assert written == {"MOT17-05": len(dets)} and len(dets) > 0
    assert set(dets.classes.tolist()) <= {1, 2}
    for rows in dets.rows_by_frame(2):
        if len(rows):
            assert masks.decode([dets.rles[k] for k in rows]).sum(axis=0).max() <= 1
    # ordered: frame, then descending score
    keys = list(zip(dets.frames.tolist(), (-dets.scores).tolist(), strict=True))
    assert keys == sorted(keys)


def test_config_errors_name_the_key(tmp_path):
    cfg = compose_track(["detector=detectron2"])
    with pytest.raises(ConfigError, match=r"^detector.weights must be set"):
        build_detector(cfg.detector)
    cfg = compose_track(["detector.fusion.iom_threshold=1.5"])
    with pytest.raises(ConfigError, match=r"detector.fusion.iom_threshold=1.5: expected a number"):
        fusion_options(cfg)
    with pytest.raises(Exception, match=r"Could not override 'detector.fusion.nms'"):
        compose_track(["detector.fusion.nms=iou"])  # a misspelt key fails at composition
    with pytest.raises(ConfigError, match=r"^detector.fusion.nms: not a key of FusionConfig"):
        fusion_options(compose_track(["+detector.fusion.nms=iou"]))  # so does an added one
    # classes default to the dataset's
    cfg = compose_track(["detector.fusion.classes=null", "data=kitti_mots"])
    assert fusion_options(cfg).classes == [1, 2]


def test_refine_with_kept_ids_writes_each_detections_input_track_id(tmp_path):
    """detector=refine keep_ids=true: another tracker's results become the detections, and the
    input track id of every fused detection is written beside them (renumbered order: frame, then
    the input's order); keep_ids=false on overwrite removes the stale seeds."""
    seq_dir = tmp_path / "data" / "test" / "S1"
    write_seqinfo(seq_dir, name="S1", num_frames=3, width=60, height=40)
    results = [
        Instance(0, 2007, 2, masks.encode(box((0, 20), (0, 10)))[0]),
        Instance(0, 2003, 2, masks.encode(box((0, 20), (30, 40)))[0]),
        Instance(2, 2003, 2, masks.encode(box((0, 20), (32, 42)))[0]),
        Instance(2, 1001, 1, masks.encode(box((30, 40), (40, 60)))[0]),  # a car: not tracked
    ]
    write_mots_txt(tmp_path / "other" / "S1.txt", results, frame_base=1)
    overrides = [
        "data=motschallenge",
        f"data.root={tmp_path / 'data'}",
        f"paths.run_dir={tmp_path / 'run'}",
        "detector=refine",
        f"detector.path='{tmp_path / 'other'}/{{seq}}.txt'",
        "detector.keep_ids=true",
    ]
    assert run_detect(compose_track(overrides)) == {"S1": 3}
    run = RunFolder(tmp_path / "run")
    seeds = json.loads(run.detection_seeds("S1").read_text())
    assert seeds["seed_of_detection"] == [2003, 2007, 2003]
    dets = Detections.from_instances(
        read_detections_txt(run.detections("S1"), frame_base=1, num_frames=3)
    )
    assert masks.bbox(dets.rles)[:, 0].tolist() == [30, 0, 32]
    run_detect(compose_track([*overrides, "detector.keep_ids=false"]))
    assert not run.detection_seeds("S1").exists()
    with pytest.raises(ConfigError, match="keep_ids=true needs format=mots"):
        run_detect(compose_track([*overrides, "detector.format=coco"]))
