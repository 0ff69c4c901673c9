"""IoM-NMS fusion (paper, section 2.1): hand-computed cases, a dense reference, real KITTI masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from remots import masks
from remots.detection.fusion import (
    filter_detections,
    fuse_detections,
    fuse_frame,
    iom_nms,
)
from remots.io.instances import Instance, track_obj_id
from remots.io.mots import read_mots_txt, write_mots_txt


def box_mask(shape, rows, cols) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    m[rows[0] : rows[1], cols[0] : cols[1]] = 1
    return m


def det(mask, score, class_id=2, frame=0, obj_id=0) -> Instance:
    return Instance(frame, obj_id, class_id, masks.encode(mask)[0], score)


# --------------------------------------------------------------------------- hand-made masks


def test_small_mask_inside_large_one_iou_keeps_it_iom_removes_it():
    large = box_mask((20, 20), (0, 10), (0, 10))  # 100 px
    small = box_mask((20, 20), (2, 5), (2, 5))  # 9 px, inside
    rles = masks.encode(np.stack([large, small]))
    # hand-computed: intersection 9, IoU = 9 / 100, IoM = 9 / min(100, 9) = 1
    assert masks.iou_matrix(rles, rles)[0, 1] == pytest.approx(0.09)
    assert masks.iom_matrix(rles, rles)[0, 1] == pytest.approx(1.0)
    assert masks.pixel_iom(large, small) == pytest.approx(1.0)
    scores = [0.9, 0.8]
    # IoU-NMS at 0.5 would keep the duplicate fragment: its IoU 0.09 is far under the threshold
    assert not (masks.iou_matrix(rles, rles)[0, 1] > 0.5)
    np.testing.assert_array_equal(iom_nms(rles, scores, iom_threshold=0.5), [0])
    # the fragment scoring higher removes the large mask instead (the NMS is by score)
    np.testing.assert_array_equal(iom_nms(rles, [0.7, 0.8], iom_threshold=0.5), [1])


def test_iom_threshold_is_strict_on_a_hand_computed_half_overlap():
    a = box_mask((10, 10), (0, 4), (0, 10))  # 40 px
    b = box_mask((10, 10), (2, 6), (5, 10))  # 20 px; shares rows 2-3, cols 5-9: 10 px
    rles = masks.encode(np.stack([a, b]))
    assert masks.iom_matrix(rles, rles)[0, 1] == pytest.approx(10 / 20)
    assert masks.iou_matrix(rles, rles)[0, 1] == pytest.approx(10 / 50)
    np.testing.assert_array_equal(iom_nms(rles, [0.9, 0.8], iom_threshold=0.5), [0, 1])
    np.testing.assert_array_equal(iom_nms(rles, [0.9, 0.8], iom_threshold=0.49), [0])


def test_greedy_nms_a_suppressed_mask_suppresses_nothing():
    # A (0.9) swallows B (0.8); B would swallow C (0.7), but C barely touches A: C is kept
    a = box_mask((10, 30), (0, 10), (0, 10))
    b = box_mask((10, 30), (0, 10), (6, 14))
    c = box_mask((10, 30), (0, 10), (9, 14))
    rles = masks.encode(np.stack([a, b, c]))
    iom = masks.iom_matrix(rles, rles)
    assert iom[0, 1] == pytest.approx(40 / 80) and iom[1, 2] == pytest.approx(1.0)
    assert iom[0, 2] == pytest.approx(10 / 50)
    np.testing.assert_array_equal(iom_nms(rles, [0.9, 0.8, 0.7], iom_threshold=0.4), [0, 2])


def test_class_aware_nms_and_exclusivity_across_classes():
    pedestrian = box_mask((20, 20), (0, 10), (0, 10))  # 100 px
    car = box_mask((20, 20), (2, 5), (2, 5))  # 9 px inside the pedestrian
    dets = [det(pedestrian, 0.9, class_id=2), det(car, 0.95, class_id=1)]
    fused = fuse_frame(dets, iom_threshold=0.5, class_aware=True)
    # a car never suppresses a pedestrian; the more confident car keeps the shared 9 pixels
    assert [(d.class_id, int(masks.area([d.rle])[0])) for d in fused] == [(1, 9), (2, 91)]
    # class-agnostic NMS: the car (higher score, IoM 1) removes the pedestrian
    fused = fuse_frame(dets, iom_threshold=0.5, class_aware=False)
    assert [d.class_id for d in fused] == [1]


def test_exclusivity_then_min_area_drops_what_is_left_too_small():
    a = box_mask((10, 20), (0, 10), (0, 10))  # 100 px, score 0.9
    b = box_mask((10, 20), (0, 10), (6, 11))  # 50 px, 40 of them under a: IoM 0.8
    c = box_mask((10, 20), (0, 10), (9, 19))  # 100 px, 10 px under a, 20 px under b
    dets = [det(a, 0.9), det(b, 0.5, class_id=1), det(c, 0.8)]
    fused = fuse_frame(dets, iom_threshold=0.5, min_area=1)
    # b is another class (no NMS with a or c); exclusivity leaves b only column 10 minus c:
    # c covers columns 9-18, so b loses everything: dropped as empty
    assert [(d.score, int(masks.area([d.rle])[0])) for d in fused] == [(0.9, 100), (0.8, 90)]
    c_only = box_mask((10, 20), (0, 10), (10, 19))
    np.testing.assert_array_equal(masks.decode_one(fused[1].rle), c_only)
    # min_area 95 also drops c's remaining 90 pixels
    assert [d.score for d in fuse_frame(dets, iom_threshold=0.5, min_area=95)] == [0.9]


def test_score_and_class_filter():
    m = box_mask((5, 5), (0, 2), (0, 2))
    dets = [det(m, 0.3, 1), det(m, 0.5, 2), det(m, 0.7, 10)]
    kept = filter_detections(dets, score_threshold=0.5, classes=[1, 2])
    assert [(d.score, d.class_id) for d in kept] == [(0.5, 2)]
    assert len(filter_detections(dets, score_threshold=0.0, classes=None)) == 3


def test_fuse_detections_groups_frames_and_keeps_frame_order():
    m = box_mask((6, 6), (0, 3), (0, 3))
    inner = box_mask((6, 6), (0, 1), (0, 1))
    dets = [det(m, 0.6, frame=2), det(inner, 0.9, frame=0), det(m, 0.8, frame=0)]
    fused = fuse_detections(dets, iom_threshold=0.5, progress=False)
    assert [(d.frame, d.score) for d in fused] == [(0, 0.9), (2, 0.6)]
    # the inner mask wins the NMS in frame 0 (higher score, IoM 1): the larger one is gone
    assert int(masks.area([fused[0].rle])[0]) == 1


def test_ties_in_score_go_to_the_earlier_mask():
    m = box_mask((6, 6), (0, 3), (0, 3))
    n = box_mask((6, 6), (1, 4), (1, 4))
    rles = masks.encode(np.stack([m, n]))
    np.testing.assert_array_equal(iom_nms(rles, [0.5, 0.5], iom_threshold=0.3), [0])
    np.testing.assert_array_equal(iom_nms(rles[::-1], [0.5, 0.5], iom_threshold=0.3), [0])


def reference_iom_nms(dense, scores, class_ids, iom_threshold):
    """Pair-by-pair greedy NMS with the paper's pixel_iom on dense masks."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if all(
            class_ids[i] != class_ids[k] or masks.pixel_iom(dense[k], dense[i]) <= iom_threshold
            for k in kept
        ):
            kept.append(i)
    return sorted(kept)


@pytest.mark.parametrize("seed", range(5))
def test_iom_nms_matches_the_papers_pixel_iom_pair_by_pair(seed):
    rng = np.random.default_rng(seed)
    h, w, n = 40, 50, 14
    dense = np.zeros((n, h, w), np.uint8)
    for k in range(n):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        ay, ax = rng.integers(2, 15, size=2)
        cv2.ellipse(dense[k], (int(cx), int(cy)), (int(ax), int(ay)), 0, 0, 360, 1, -1)
    scores = rng.permutation(n) / n
    class_ids = rng.integers(1, 3, n)
    rles = masks.encode(dense)
    for thr in (0.2, 0.5, 0.8):
        expected = reference_iom_nms(dense, scores, class_ids, thr)
        got = iom_nms(rles, scores, iom_threshold=thr, class_ids=class_ids)
        assert got.tolist() == expected


# --------------------------------------------------------------------------- real KITTI masks


@pytest.fixture(scope="module")
def kitti_seq(kitti_root):
    """KITTI MOTS 0011: 81 car / pedestrian masks in its first 8 frames, parked cars in rows."""
    from remots.io.layouts import load_kitti_mots

    return load_kitti_mots(kitti_root, sequences=["0011"])[0]


NUM_FRAMES = 8


def dilated_kitti_detections(seq, rng):
    """Dilate every real car / pedestrian mask so neighbours overlap; add a lower-scored fragment
    (the upper half) of each: a duplicate that IoM-NMS must remove."""
    dets, fragments = [], []
    kernel = np.ones((15, 15), np.uint8)
    for inst in seq.gt:
        if inst.frame >= NUM_FRAMES or inst.class_id not in (1, 2):
            continue
        dense = masks.decode_one(inst.rle)
        dilated = cv2.dilate(dense, kernel)
        score = float(rng.uniform(0.5, 1.0))
        dets.append(Instance(inst.frame, len(dets), inst.class_id, masks.encode(dilated)[0], score))
        rows = np.flatnonzero(dense.any(axis=1))
        fragment = dense.copy()
        fragment[(rows[0] + rows[-1]) // 2 + 1 :] = 0
        frag = Instance(inst.frame, 0, inst.class_id, masks.encode(fragment)[0], score * 0.9)
        fragments.append((dets[-1].obj_id, frag))
    return dets, fragments


def test_fusion_of_dilated_real_kitti_masks_is_pixel_exclusive_and_trackeval_reads_it(
    kitti_seq, tmp_path
):
    from trackeval.datasets import KittiMOTS
    from trackeval.utils import TrackEvalException

    seq = kitti_seq
    rng = np.random.default_rng(0)
    dets, fragments = dilated_kitti_detections(seq, rng)
    frag_ids = {}
    raw = list(dets)
    for parent, frag in fragments:
        frag = frag.with_(obj_id=len(raw))
        frag_ids[frag.obj_id] = parent
        raw.append(frag)
    overlapping_before = sum(
        len(masks.overlapping_pairs([d.rle for d in dets if d.frame == t]))
        for t in range(NUM_FRAMES)
    )
    assert overlapping_before > 0, "the dilation must make real masks overlap for the test to bite"

    fused = fuse_detections(raw, iom_threshold=0.5, min_area=1, progress=False)
    by_id = {d.obj_id: d for d in raw}
    kept_ids = {d.obj_id for d in fused}
    # every fragment of a surviving mask was suppressed (IoM 1 with a higher-scored mask)
    assert all(i not in kept_ids for i, parent in frag_ids.items() if parent in kept_ids)
    for t in range(NUM_FRAMES):
        frame = [d for d in fused if d.frame == t]
        if not frame:
            continue
        dense = masks.decode([d.rle for d in frame])
        assert dense.sum(axis=0).max() <= 1  # no pixel belongs to two masks
        # each mask only lost pixels, and every covered pixel went to the most confident cover
        original = masks.decode([by_id[d.obj_id].rle for d in frame])
        assert (dense <= original).all()
        scores = np.array([d.score for d in frame])
        covered = original.any(axis=0)
        owner = np.argmax(np.where(original > 0, scores[:, None, None], -1.0), axis=0)
        np.testing.assert_array_equal(dense.argmax(axis=0)[covered], owner[covered])
        np.testing.assert_array_equal(dense.any(axis=0), covered)

    # written as MOTS txt with unique ids per frame, it passes remots' and TrackEval's readers
    results = []
    for t in range(NUM_FRAMES):
        frame = [d for d in fused if d.frame == t]
        per_class = {1: 0, 2: 0}
        for d in frame:
            results.append(d.with_(obj_id=track_obj_id(d.class_id, per_class[d.class_id])))
            per_class[d.class_id] += 1
    tracker_dir = tmp_path / "trackers" / "fused" / "data"
    write_mots_txt(tracker_dir / f"{seq.name}.txt", results, frame_base=0)
    back = read_mots_txt(tracker_dir / f"{seq.name}.txt", frame_base=0, num_frames=NUM_FRAMES)
    assert len(back) == len(fused)
    gt = [i for i in seq.gt if i.frame < NUM_FRAMES]
    write_mots_txt(tmp_path / "gt" / "label_02" / f"{seq.name}.txt", gt, frame_base=0)
    config = {
        "GT_FOLDER": str(tmp_path / "gt"),
        "TRACKERS_FOLDER": str(tmp_path / "trackers"),
        "TRACKERS_TO_EVAL": ["fused"],
        "SEQ_INFO": {seq.name: NUM_FRAMES},
        "PRINT_CONFIG": False,
    }
    dataset = KittiMOTS(config)
    raw_data = dataset.get_raw_seq_data("fused", seq.name)
    assert raw_data["num_timesteps"] == NUM_FRAMES
    assert sum(len(ids) for ids in raw_data["tracker_ids"]) == len(fused)
    for cls in ("car", "pedestrian"):
        data = dataset.get_preprocessed_seq_data(raw_data, cls)
        class_id = 1 if cls == "car" else 2
        assert data["num_tracker_dets"] == sum(d.class_id == class_id for d in fused)

    # the unfused dilated masks (same ids) are refused by TrackEval: the check above can fail
    unfused = [d.with_(obj_id=track_obj_id(d.class_id, k)) for k, d in enumerate(dets)]
    write_mots_txt(tracker_dir / f"{seq.name}.txt", unfused, frame_base=0)
    with pytest.raises(TrackEvalException, match="overlapping"):
        KittiMOTS(config).get_raw_seq_data("fused", seq.name)
