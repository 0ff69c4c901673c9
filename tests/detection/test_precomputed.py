"""Precomputed detections: TrackR-CNN txt, MOTS txt and COCO-results JSON per sequence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from remots import masks
from remots.detection.precomputed import PrecomputedDetections
from remots.errors import ConfigError, MOTSFormatError
from remots.io.detections import detections_to_coco_results, write_detections_txt
from remots.io.instances import Instance
from remots.io.layouts import Video
from remots.io.mots import write_mots_txt


def tiny_sequence(seq_dir, frame_base=1) -> Video:
    return Video(
        name="seqA",
        num_frames=3,
        height=6,
        width=8,
        frame_base=frame_base,
        extra={"seq_dir": seq_dir},
    )


def tiny_detections() -> list[Instance]:
    a = np.zeros((6, 8), np.uint8)
    a[1:3, 1:4] = 1
    b = np.zeros((6, 8), np.uint8)
    b[2:6, 5:8] = 1
    ra, rb = masks.encode(np.stack([a, b]))
    return [Instance(0, 0, 2, ra, 0.75), Instance(2, 1, 1, rb, 0.5), Instance(2, 2, 2, ra, 0.25)]


def as_tuples(dets):
    return [(d.frame, d.class_id, d.score, masks.rle_to_string(d.rle)) for d in dets]


@pytest.mark.parametrize("frame_base", [0, 1])
def test_trackrcnn_txt_from_the_templated_path(tmp_path, frame_base):
    seq = tiny_sequence(tmp_path / "seqA", frame_base)
    dets = tiny_detections()
    write_detections_txt(tmp_path / "seqA" / "det" / "det.txt", dets, frame_base=frame_base)
    got = PrecomputedDetections(path="{seq_dir}/det/det.txt", format="trackrcnn")(seq)
    assert as_tuples(got) == as_tuples(dets)
    # the first frame is numbered frame_base in the file
    first = (tmp_path / "seqA" / "det" / "det.txt").read_text().split(" ")[0]
    assert first == str(frame_base)


def test_mots_txt_gets_score_one_and_running_ids(tmp_path):
    seq = tiny_sequence(tmp_path)
    gt = [
        Instance(0, 2001, 2, tiny_detections()[0].rle),
        Instance(2, 1001, 1, tiny_detections()[1].rle),
    ]
    write_mots_txt(tmp_path / "seqA.txt", gt, frame_base=1)
    got = PrecomputedDetections(path=str(tmp_path / "{seq}.txt"), format="mots")(seq)
    assert [(d.frame, d.obj_id, d.class_id, d.score) for d in got] == [
        (0, 0, 2, 1.0),
        (2, 1, 1, 1.0),
    ]


def test_coco_results_json_image_id_is_the_frame_number(tmp_path):
    seq = tiny_sequence(tmp_path)
    dets = tiny_detections()
    records = detections_to_coco_results(dets, frame_base=1)
    records.append({**records[0], "category_id": 18, "score": 0.99})  # a dog: not tracked
    (tmp_path / "coco.json").write_text(json.dumps(records))
    got = PrecomputedDetections(path=str(tmp_path / "coco.json"), format="coco")(seq)
    assert sorted(as_tuples(got)) == sorted(as_tuples(dets))


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="format"):
        PrecomputedDetections(path="x", format="yolo")
    video = Video(name="v", num_frames=2, height=4, width=4)  # no seq_dir
    with pytest.raises(ConfigError, match="seq_dir"):
        PrecomputedDetections(path="{seq_dir}/det/det.txt")(video)
    with pytest.raises(ConfigError, match="placeholder"):
        PrecomputedDetections(path=str(tmp_path / "{sequence}.txt"))(tiny_sequence(tmp_path))
    with pytest.raises(MOTSFormatError, match="not found"):
        PrecomputedDetections(path=str(tmp_path / "{seq}.txt"))(tiny_sequence(tmp_path))
    # a detection in frame 4 of a 3-frame sequence names the file and line
    write_detections_txt(tmp_path / "seqA.txt", [tiny_detections()[0].with_(frame=3)], frame_base=1)
    with pytest.raises(MOTSFormatError, match=r"seqA.txt, line 1: frame 4 is outside"):
        PrecomputedDetections(path=str(tmp_path / "{seq}.txt"))(tiny_sequence(tmp_path))
