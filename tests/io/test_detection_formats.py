"""Box detections (MOTChallenge CSV, COCO boxes), class maps and the counts of what is dropped,
on the real MOT17 files and hand-made ones."""

import csv
import json
from collections import Counter

import numpy as np
import pytest

from remots import masks
from remots.detection.fusion import fuse_detections
from remots.detection.precomputed import PrecomputedDetections
from remots.errors import ConfigError, InputError, MOTSFormatError
from remots.io import layouts
from remots.io.detections import (
    DropCounts,
    RawDetections,
    read_coco_results,
    read_detections_txt,
    read_mot_csv,
    require_detections_of_gt_classes,
    write_detections_txt,
)
from remots.io.instances import Instance


def mot17(shared_data, name="MOT17-09-FRCNN", stop=4):
    root = shared_data / "mot17_mini_frames"
    (seq,) = layouts.load_motschallenge(root, sequences=[name], with_gt=False, stop=stop)
    return seq


def csv_rows(path):
    with open(path) as f:
        return [[float(v) for v in row] for row in csv.reader(f) if row]


def test_mot17_public_detections_become_masks_inside_their_boxes(shared_data):
    seq = mot17(shared_data)
    det = PrecomputedDetections(path="{seq_dir}/det/det.txt", format="mot")
    got = det(seq)
    rows = sorted(
        (r for r in csv_rows(seq.extra["seq_dir"] / "det" / "det.txt") if r[0] <= 4),
        key=lambda r: (r[0], -r[6]),
    )
    assert len(got) == len(rows) == 16
    assert [d.frame for d in got] == [int(r[0]) - 1 for r in rows]
    assert [d.score for d in got] == [r[6] for r in rows]
    assert {d.class_id for d in got} == {2}
    assert not got.dropped
    boxes = masks.bbox([d.rle for d in got])
    for (x, y, w, h), r in zip(boxes, rows, strict=True):
        # 1-based MOTChallenge box -> 0-based pixels; the silhouette lies inside the box
        bx, by = r[2] - 1, r[3] - 1
        assert x >= np.floor(bx) and y >= np.floor(by)
        assert x + w <= np.ceil(bx + r[4]) and y + h <= np.ceil(by + r[5])
        assert h >= 0.9 * min(r[5], 1080 - max(by, 0))  # head to feet


def test_a_gt_style_csv_maps_its_class_column_and_counts_the_rest(shared_data):
    seq = mot17(shared_data)
    gt = seq.extra["seq_dir"] / "gt" / "gt.txt"
    got = read_mot_csv(gt, image_size=seq.image_size, num_frames=seq.source_length)
    classes = Counter(int(r[7]) for r in csv_rows(gt))
    assert len(got) == classes[1] + classes[3]
    assert got.dropped.by_class("class_not_tracked") == {
        c: n for c, n in sorted(classes.items()) if c not in (1, 3)
    }
    flags = sorted(r[6] for r in csv_rows(gt) if int(r[7]) in (1, 3))
    assert sorted(d.score for d in got) == flags  # the consider flag is the score


def test_box_only_coco_records_use_the_box_rule(tmp_path):
    records = [
        {"image_id": 1, "category_id": 1, "score": 0.9, "bbox": [2.0, 3.0, 10.0, 20.0]},
        {"image_id": 2, "category_id": 3, "score": 0.8, "bbox": [5, 5, 30, 12]},
    ]
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(records))
    for rule in ("box", "ellipse", "shape"):
        got = read_coco_results(path, image_size=(40, 50), box_rule=rule)
        expected = masks.box_masks(
            [[2, 3, 10, 20], [5, 5, 30, 12]], 40, 50, rule=rule, class_ids=[2, 1]
        )
        assert [(d.frame, d.class_id, d.score) for d in got] == [(0, 2, 0.9), (1, 1, 0.8)]
        assert [d.rle["counts"] for d in got] == [r["counts"] for r in expected]


def kitti_style_coco(tmp_path):
    """A COCO-results file with KITTI's ids (1 car, 2 pedestrian): 3 cars, 2 pedestrians."""
    rle = masks.encode(np.pad(np.ones((2, 2), np.uint8), ((1, 3), (1, 3))))[0]
    seg = {"size": [6, 6], "counts": masks.rle_to_string(rle)}
    records = [
        {"image_id": t, "category_id": c, "score": 0.9, "segmentation": seg}
        for t, c in ((1, 1), (2, 1), (3, 1), (1, 2), (2, 2))
    ]
    path = tmp_path / "kitti.json"
    path.write_text(json.dumps(records))
    return path


def test_a_wrong_category_map_is_counted_and_stops_the_sequence(tmp_path):
    path = kitti_style_coco(tmp_path)
    got = read_coco_results(path, image_size=(6, 6))  # COCO's map: 1 person, 3 car
    assert Counter(d.class_id for d in got) == {2: 3}  # the cars became pedestrians
    assert got.dropped.by_class("class_not_tracked") == {2: 2}
    assert got.dropped.summary() == "2 detections dropped: 2 for their class (file class 2: 2)"
    with pytest.raises(InputError) as info:
        require_detections_of_gt_classes(got, {1: 40, 2: 25}, sequence="0001", source=path)
    assert str(info.value).startswith(
        f"{path}: sequence 0001: no car detection kept but the ground truth has 40 car masks "
        "(2 detections dropped: 2 for their class (file class 2: 2))"
    )
    right = read_coco_results(path, image_size=(6, 6), category_map={1: 1, "2": 2})
    assert Counter(d.class_id for d in right) == {1: 3, 2: 2} and not right.dropped
    require_detections_of_gt_classes(right, {1: 40, 2: 25}, sequence="0001")


def test_trackrcnn_category_map(tmp_path):
    rle = masks.encode(np.ones((2, 3), np.uint8))[0]
    path = tmp_path / "det.txt"
    write_detections_txt(
        path, [Instance(0, 0, 5, rle, 0.5), Instance(1, 1, 2, rle, 0.7)], frame_base=1
    )
    with pytest.raises(MOTSFormatError, match="unknown class_id 5") as info:
        read_detections_txt(path, frame_base=1)
    assert info.value.line == 1
    got = read_detections_txt(path, frame_base=1, category_map={5: 1, 2: 2})
    assert [d.class_id for d in got] == [1, 2]
    got = read_detections_txt(path, frame_base=1, category_map={2: 2})
    assert [d.class_id for d in got] == [2] and got.dropped.by_class("class_not_tracked") == {5: 1}
    with pytest.raises(ConfigError, match="MOTS classes are 1"):
        read_detections_txt(path, frame_base=1, category_map={5: 3})


def test_fusion_adds_score_area_and_class_drops_to_the_readers(tmp_path):
    big = np.zeros((10, 10), np.uint8)
    big[0:5, 0:5] = 1
    small = np.zeros((10, 10), np.uint8)
    small[8:10, 8:10] = 1
    rb, rs = masks.encode(np.stack([big, small]))
    raw = RawDetections(
        [
            Instance(0, 0, 2, rb, 0.9),  # kept
            Instance(0, 1, 2, rs, 0.9),  # 4 pixels: under min_area
            Instance(1, 2, 2, rb, 0.2),  # low score
            Instance(1, 3, 1, rb, 0.9),  # a car: not tracked
        ],
        DropCounts(),
    )
    raw.dropped.add("class_not_tracked", 7, 3)  # what a reader dropped
    fused = fuse_detections(raw, score_threshold=0.5, min_area=5, classes=[2], progress=False)
    assert len(fused) == 1
    assert fused.dropped.by_class("class_not_tracked") == {1: 1, 7: 3}
    assert fused.dropped.by_class("score_below_threshold") == {2: 1}
    assert fused.dropped.by_class("area_below_minimum") == {2: 1}
    assert fused.dropped.summary() == (
        "6 detections dropped: 4 for their class (file class 1: 1, file class 7: 3), "
        "1 with a score under the threshold (pedestrian: 1), 1 with an area under the minimum "
        "(pedestrian: 1)"
    )


def test_detections_of_part_of_a_sequence(tmp_path):
    rle = masks.encode(np.ones((4, 4), np.uint8))[0]
    seq_dir = tmp_path / "S"
    write_detections_txt(
        seq_dir / "det.txt", [Instance(t, t, 2, rle, 0.1 * (t + 1)) for t in range(6)], frame_base=1
    )
    seq = layouts.Video(name="S", num_frames=6, height=4, width=4, extra={"seq_dir": seq_dir})
    part = layouts._part(seq, range(2, 6, 2))  # source frames 3 and 5
    got = PrecomputedDetections(path="{seq_dir}/det.txt")(part)
    assert [(d.frame, d.score) for d in got] == [(0, pytest.approx(0.3)), (1, pytest.approx(0.5))]


def test_a_path_template_must_tell_sequences_apart(tmp_path):
    rle = masks.encode(np.ones((4, 4), np.uint8))[0]
    write_detections_txt(tmp_path / "det.txt", [Instance(0, 0, 2, rle, 0.5)], frame_base=1)
    det = PrecomputedDetections(path=str(tmp_path / "det.txt"))
    a, b = (layouts.Video(name=n, num_frames=1, height=4, width=4) for n in "AB")
    assert len(det(a)) == 1
    assert len(det(a)) == 1  # the same sequence again is fine
    with pytest.raises(ConfigError, match=r"gives the same file .* to sequences A and B"):
        det(b)
    with pytest.raises(ConfigError, match="not a valid template"):
        PrecomputedDetections(path=str(tmp_path / "{seq.txt"))
