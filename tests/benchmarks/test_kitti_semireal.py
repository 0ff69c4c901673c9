"""benchmarks/kitti_semireal.py: the renderer and the detector simulation on short pieces of two
real KITTI MOTS sequences (0015: cars and pedestrians, 0017: a pedestrian crowd)."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from benchmarks.kitti_semireal import (
    BOXMOT_TRACKERS,
    CLASSES,
    DetectorKnobs,
    boxmot_tracks,
    build_dataset,
    evaluate_rows,
    fuse,
    gt_match,
    iou_link_tracks,
    min_area,
    oracle_tracks,
    relabel,
    render_sequence,
    simulate_detections,
)
from remots import masks
from remots.io.detections import read_detections_txt
from remots.io.instances import CAR, IGNORE, PEDESTRIAN, group_by_frame
from remots.io.layouts import load_kitti_mots
from remots.io.mots import read_mots_txt

SPLITS = {"val": ("0015", "0017")}
FRAMES = 20


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "dataset.json"
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, kitti_root) -> Path:
    root = tmp_path_factory.mktemp("kitti_semireal")
    return build_dataset(root, kitti_root=kitti_root, splits=SPLITS, max_frames=FRAMES, seed=3)


@pytest.fixture(scope="module")
def target(rendered):
    return load_kitti_mots(rendered / "val")


def test_layout_is_what_kitti_mots_reads(rendered, target):
    assert [s.name for s in target] == list(SPLITS["val"])
    for seq in target:
        assert seq.num_frames == FRAMES
        assert seq.image_size == (185, 612)  # 370 x 1224 halved
        assert {g.class_id for g in seq.gt} <= {CAR, PEDESTRIAN, IGNORE}
        dets = read_detections_txt(
            rendered / "val" / "det" / f"{seq.name}.txt",
            frame_base=0,
            num_frames=seq.num_frames,
            image_size=seq.image_size,
        )
        assert dets and all(0.0 < d.score <= 1.0 for d in dets)
    seqmap = (rendered / "val" / "seqmaps" / "val.seqmap").read_text().split("\n")
    assert seqmap[0] == f"0015 empty 000000 {FRAMES - 1:06d}"


def test_rendered_gt_masks_do_not_overlap(target):
    for seq in target:
        for frame in group_by_frame(seq.gt, seq.num_frames):
            if frame:
                assert masks.decode([g.rle for g in frame]).sum(axis=0).max() <= 1
        # the reader refuses overlaps too
        read_mots_txt(seq.gt_path, frame_base=0, num_frames=seq.num_frames)


def test_objects_stand_out_from_the_background(tmp_path, kitti_root):
    """Every object of a few frames, painted, differs from the lit background under it."""
    import cv2

    (seq,) = load_kitti_mots(kitti_root, sequences=["0011"], seqmap="seqmaps/train.seqmap")
    gt, n, (h, w), world = render_sequence(seq, tmp_path, factor=2, max_frames=8, seed=1)
    differences = []
    for t, frame in enumerate(group_by_frame(gt, n)):
        img = cv2.imread(str(tmp_path / "image_02" / "0011" / f"{t:06d}.png")).astype(float)
        cx, cy = int(world.cam_x[t]), int(world.cam_y[t])
        light = world.shadow[cy : cy + h, cx : cx + w] * world.gain[t]
        background = world.image[cy : cy + h, cx : cx + w] * light[..., None]
        for g in frame:
            m = masks.decode_one(g.rle).astype(bool)
            if g.class_id != IGNORE and m.sum() >= 30:
                differences.append(np.abs(img[m] - background[m]).mean())
    assert len(differences) >= 20
    assert np.mean(np.array(differences) > 12.0) >= 0.9, sorted(differences)[:5]


def test_same_seed_gives_identical_files(rendered, tmp_path, kitti_root):
    again = build_dataset(tmp_path, kitti_root=kitti_root, splits=SPLITS, max_frames=FRAMES, seed=3)
    assert _digest(again) == _digest(rendered)
    # a rerun finds the render in place and leaves it untouched
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "val" / "image_02").rglob("*.png")}
    build_dataset(tmp_path, kitti_root=kitti_root, splits=SPLITS, max_frames=FRAMES, seed=3)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    # other detector knobs: new detections over the same frames
    build_dataset(
        tmp_path,
        kitti_root=kitti_root,
        splits=SPLITS,
        max_frames=FRAMES,
        seed=3,
        knobs=DetectorKnobs(miss_rate=0.3),
    )
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    changed = {k for k, v in _digest(tmp_path).items() if _digest(rendered)[k] != v}
    assert changed == {"val/det/0015.txt", "val/det/0017.txt", ".done/0015.det", ".done/0017.det"}


def _recall(seq, knobs, seed=0):
    dets = simulate_detections(
        seq.gt,
        num_frames=seq.num_frames,
        size=seq.image_size,
        scale=0.5,
        knobs=knobs,
        rng=np.random.default_rng(seed),
    )
    matched = gt_match(dets, seq.gt, seq.num_frames)
    found = {(d.frame, int(matched[d.obj_id])) for d in dets if matched[d.obj_id] >= 0}
    objects = [(g.frame, g.obj_id) for g in seq.gt if g.class_id in CLASSES]
    hit = np.array([o in found for o in objects])
    return hit, objects


def test_recall_falls_as_the_miss_rate_rises(target):
    recalls = []
    for miss_rate in (0.0, 0.2, 0.5):
        hits = [_recall(seq, DetectorKnobs(miss_rate=miss_rate))[0] for seq in target]
        recalls.append(np.concatenate(hits).mean())
    assert recalls[0] > recalls[1] + 0.05 > recalls[2] + 0.1, recalls


def test_misses_come_in_runs(target):
    """A miss makes a miss in the identity's next frame likelier than a miss at all."""
    after_miss, total = [], []
    for seq in target:
        hit, objects = _recall(seq, DetectorKnobs(miss_rate=0.15))
        state = dict(zip(objects, hit, strict=True))
        for (t, obj), h in state.items():
            if (t - 1, obj) in state:
                total.append(not h)
                if not state[(t - 1, obj)]:
                    after_miss.append(not h)
    assert len(after_miss) >= 20
    assert np.mean(after_miss) > np.mean(total) + 0.15


def test_the_oracle_associates_best(rendered, target):
    """On the same fused detections, the oracle's IDF1 is at least every other row's."""
    detections, rows = {}, {"oracle": {}, "IoU linker": {}, "shuffled": {}}
    rng = np.random.default_rng(0)
    for seq in target:
        raw = read_detections_txt(
            rendered / "val" / "det" / f"{seq.name}.txt",
            frame_base=0,
            num_frames=seq.num_frames,
            image_size=seq.image_size,
        )
        dets = fuse(raw, num_frames=seq.num_frames, min_area=min_area(2))
        detections[seq.name] = dets
        rows["oracle"][seq.name] = oracle_tracks(dets, seq.gt, seq.num_frames)
        rows["IoU linker"][seq.name] = iou_link_tracks(dets, seq.num_frames)
        shuffled = {}  # a random association: in each frame, ids 0..k-1 in random order
        for frame in group_by_frame(dets, seq.num_frames):
            for d, k in zip(frame, rng.permutation(len(frame)), strict=True):
                shuffled[d.obj_id] = (d.class_id, int(k))
        rows["shuffled"][seq.name] = relabel(dets, shuffled)
        for kind, (row, _, _) in BOXMOT_TRACKERS.items():  # optional dependency
            try:
                rows.setdefault(row, {})[seq.name] = boxmot_tracks(
                    kind, dets, seq.num_frames, seq.image_size
                )
            except ImportError:
                rows.pop(row, None)
    metrics = evaluate_rows(target, rows, detections)
    for cls in CLASSES.values():
        oracle = metrics["oracle"][cls]
        assert oracle["purity"] == 1.0 and oracle["IDSW"] == 0
        for row, per_class in metrics.items():
            assert oracle["IDF1"] >= per_class[cls]["IDF1"] - 1e-9, (row, cls)
        assert oracle["IDF1"] > metrics["shuffled"][cls]["IDF1"] + 0.1
