"""The synthetic MOTS videos: determinism, valid files, statistics that match the files, and the
hardness statistics on hand-made tracks."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from remots import masks
from remots.errors import ConfigError, InputError
from remots.io.detections import Detections, read_detections_txt
from remots.io.instances import Instance
from remots.io.layouts import load_motschallenge, read_seqinfo, read_seqmap
from remots.stages.generate import generate
from remots.synthetic import (
    SyntheticParams,
    detection_stats,
    generate_dataset,
    merge_stats,
    track_hardness,
)
from remots.synthetic.dataset import GT_ID_BASE
from remots.synthetic.params import DEFAULT_DETECTORS

CONF = Path(__file__).resolve().parents[2] / "conf"
SMALL = dict(
    num_train=1, num_target=1, num_frames=30, height=108, width=192, num_objects=6, pan_px=32
)


def gen(root, **knobs) -> dict:
    return generate_dataset(root, SyntheticParams(**knobs))


def tree_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("syn") / "seed0"
    return root, gen(root, seed=0, **SMALL)


def test_same_seed_gives_identical_bytes_and_another_seed_differs(small, tmp_path):
    root, _ = small
    again = gen(tmp_path / "again", seed=0, **SMALL)
    other = gen(tmp_path / "other", seed=1, **SMALL)
    a, b, c = tree_bytes(root), tree_bytes(tmp_path / "again"), tree_bytes(tmp_path / "other")
    # per sequence: frames, seqinfo, gt, det, det2; then 2 seqmaps, stats.json, COMPLETE
    assert len(a) == 2 * (30 + 4) + 2 + 2
    assert a == b
    assert again["splits"] == small[1]["splits"]
    assert a.keys() == c.keys()
    differing = [k for k in a if a[k] != c[k]]
    assert "train/SYN-TRAIN-01/gt/gt.txt" in differing
    assert sum(k.endswith(".jpg") for k in differing) == 60
    assert other["sequences"] != small[1]["sequences"]


def test_detector_knobs_leave_frames_and_gt_unchanged(small, tmp_path):
    root, _ = small
    gen(tmp_path / "d", seed=0, detectors={"det": {"fp_per_frame": 3.0}}, **SMALL)
    base, changed = tree_bytes(root), tree_bytes(tmp_path / "d")
    assert "train/SYN-TRAIN-01/det/det2.txt" not in changed
    for key in base:
        if key.endswith((".jpg", "gt.txt", "seqinfo.ini")):
            assert base[key] == changed[key], key
    assert base["train/SYN-TRAIN-01/det/det.txt"] != changed["train/SYN-TRAIN-01/det/det.txt"]


def test_folder_loads_as_motschallenge_with_valid_gt(small):
    root, stats = small
    for split, name in (("train", "SYN-TRAIN-01"), ("test", "SYN-TEST-01")):
        # load_motschallenge reads gt.txt with read_mots_txt, which rejects overlapping masks,
        # duplicate ids per frame, frames outside the sequence and sizes other than the image's.
        (seq,) = load_motschallenge(root / split)
        assert seq.name == name
        info = read_seqinfo(root / split / name / "seqinfo.ini")
        frames = sorted((root / split / name / "img1").glob("*.jpg"))
        assert info["seqLength"] == seq.num_frames == len(frames) == 30
        assert [f.name for f in frames] == [f"{t:06d}.jpg" for t in range(1, 31)]
        for f in frames[::7]:
            shape = cv2.imread(str(f)).shape
            assert shape == (info["imHeight"], info["imWidth"], 3) == (108, 192, 3)
        assert {g.class_id for g in seq.gt} == {2}
        ids = {g.obj_id for g in seq.gt}
        assert ids <= set(range(GT_ID_BASE + 1, GT_ID_BASE + 7))
        assert len(ids) == stats["sequences"][name]["gt_tracks"]
        assert len(seq.gt) == stats["sequences"][name]["gt_masks"]
        assert masks.area([g.rle for g in seq.gt]).min() >= 40  # min_visible_area
        assert read_seqmap(root / "seqmaps" / f"SYN-{split}.txt") == [(name, -1, -1)]


def test_mask_outlines_lie_on_image_edges(small):
    """GT masks are the walkers' pixels: the image gradient along the mask outlines is far
    stronger than at a typical pixel of the frame (the background is smooth, walkers stand out)."""
    root, _ = small
    (seq,) = load_motschallenge(root / "train")
    for t, frame_gt in enumerate(seq.gt_by_frame()):
        if t % 6 or not frame_gt:
            continue
        gray = cv2.cvtColor(seq.read_frame(t), cv2.COLOR_BGR2GRAY).astype(np.float32)
        gradient = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
        dense = masks.decode([g.rle for g in frame_gt])
        outline = np.zeros(gray.shape, bool)
        for m in dense:
            outline |= m.astype(bool) & ~cv2.erode(m, np.ones((3, 3), np.uint8)).astype(bool)
        on_outline = np.median(gradient[outline])
        assert on_outline > 2 * np.median(gradient), t
        shifted = np.roll(outline, 5, axis=1)  # the same outline 5 pixels off the walkers
        assert on_outline > 1.5 * np.median(gradient[shifted]), t


def test_detections_read_back_and_stats_match_the_files(small):
    root, stats = small
    for split in ("train", "test"):
        (seq,) = load_motschallenge(root / split)
        seq_stats = stats["sequences"][seq.name]
        for name in ("det", "det2"):
            dets = read_detections_txt(
                root / split / seq.name / "det" / f"{name}.txt",
                frame_base=1,
                num_frames=seq.num_frames,
                image_size=seq.image_size,
            )
            dets = Detections.from_instances(dets)
            expected = detection_stats(dets.instances(), seq.gt, num_frames=seq.num_frames)
            for key in ("detections", "tp_like", "fp", "gt_covered"):
                assert seq_stats["detectors"][name][key] == expected[key]
            assert expected["tp_like"] > expected["fp"] > 0
            # written in (frame, -score) order, as remots.io.detections.renumber orders them
            order = np.lexsort((-dets.scores, dets.frames))
            assert (order == np.arange(len(dets))).all()
            iou = _best_iou(dets.instances(), seq.gt, seq.num_frames)
            scores = dets.scores
            assert scores[iou >= 0.5].mean() > scores[iou < 0.1].mean() + 0.2
            # raw detections, as a Mask R-CNN gives them: some masks of a frame overlap
            overlapping = sum(
                len(masks.overlapping_pairs([dets.rles[k] for k in rows]))
                for rows in dets.rows_by_frame(seq.num_frames)
                if len(rows) > 1
            )
            assert overlapping > 0
    # det2 is the weaker detector: over both splits it covers fewer GT masks, with more FPs
    total = merge_stats([stats["splits"]["train"], stats["splits"]["test"]])["detectors"]
    assert total["det"]["gt_covered"] > total["det2"]["gt_covered"]
    assert total["det2"]["fp"] > total["det"]["fp"]


def _best_iou(dets: list[Instance], gt: list[Instance], num_frames: int) -> np.ndarray:
    best = np.zeros(len(dets))
    for k, d in enumerate(dets):
        frame_gt = [g.rle for g in gt if g.frame == d.frame]
        if frame_gt:
            best[k] = masks.iou_matrix([d.rle], frame_gt).max()
    return best


def test_hardness_stats_are_positive_and_match_the_gt_files(small):
    root, stats = small
    per_split = {}
    for split in ("train", "test"):
        (seq,) = load_motschallenge(root / split)
        hard = track_hardness(seq.gt, num_frames=seq.num_frames)
        for key, value in hard.items():
            assert stats["sequences"][seq.name][key] == value, key
        per_split[split] = stats["sequences"][seq.name] | {"frames": seq.num_frames}
        assert stats["splits"][split] == merge_stats([per_split[split]]) | {"names": [seq.name]}
    total = merge_stats(list(per_split.values()))
    assert total["crossing_tracks"] > 0
    assert total["reappearing_tracks"] > 0
    assert 2 <= total["occlusion_gap_min"] <= total["occlusion_gap_max"]
    assert total["entering_tracks"] > 0
    assert total["lookalike_pairs"] > 0
    # nearer walkers and pillars both hide walkers (counted by the generator, not in the files)
    assert 0 < total["masks_occluded_by_people"] < total["gt_masks"]
    assert 0 < total["masks_occluded_by_pillars"] < total["gt_masks"]


def _box(frame: int, obj_id: int, x: int, w: int = 4, y: int = 2, h: int = 6) -> Instance:
    mask = np.zeros((12, 40), np.uint8)
    mask[y : y + h, x : x + w] = 1
    return Instance(frame, obj_id, 2, masks.encode(mask)[0])


def test_track_hardness_on_hand_made_tracks():
    gt = [
        # 2001 walks right, 2002 walks left: boxes overlap at frames 2-3, order swaps -> crossing
        *[_box(t, 2001, 2 + 4 * t) for t in range(6)],
        *[_box(t, 2002, 21 - 4 * t) for t in range(6)],
        # 2003 is far below-right, never overlapping; hidden in frames 2-3 (gap 2), so it
        # reappears; it enters at frame 1
        *[_box(t, 2003, 34, y=9, h=3) for t in (1, 4, 5)],
        # 2004 overlaps 2001 at frame 0 only and stays left of it: no swap, no crossing; a gap of
        # one frame is not an occlusion; it leaves after frame 3
        *[_box(t, 2004, 0, w=3) for t in (0, 1, 3)],
    ]
    hard = track_hardness(gt, num_frames=6)
    assert hard == {
        "gt_masks": 18,
        "gt_tracks": 4,
        "crossing_tracks": 2,
        "reappearing_tracks": 1,
        "occlusion_gaps": 1,
        "occlusion_gap_min": 2,
        "occlusion_gap_max": 2,
        "entering_tracks": 1,
        "leaving_tracks": 1,
        "track_frames": 18,
        "mean_track_length": 4.5,
    }


def test_detection_stats_on_hand_made_masks():
    gt = [_box(0, 2001, 0, w=10), _box(0, 2002, 20, w=10), _box(1, 2001, 0, w=10)]
    dets = [
        _box(0, 0, 1, w=10),  # IoU 9/11 with 2001
        _box(0, 1, 0, w=6),  # a duplicate of 2001, IoU 0.6: TP-like, covers nothing new
        _box(0, 2, 26, w=10),  # IoU 4/16 with 2002: a false positive
        _box(1, 3, 30, w=5),  # nothing there
    ]
    assert detection_stats(dets, gt, num_frames=2) == {
        "detections": 4,
        "tp_like": 2,
        "fp": 2,
        "gt_covered": 1,
    }


def test_complete_dataset_is_kept_and_changed_knobs_regenerate(small, tmp_path):
    root, stats = small
    stamp = (root / "COMPLETE").stat().st_mtime_ns
    assert gen(root, seed=0, **SMALL) == stats
    assert (root / "COMPLETE").stat().st_mtime_ns == stamp
    copy = tmp_path / "copy"
    gen(copy, seed=0, **SMALL)
    changed = gen(copy, seed=0, **(SMALL | {"num_frames": 20}))
    assert changed["splits"]["train"]["frames"] == 20
    assert len(list((copy / "train" / "SYN-TRAIN-01" / "img1").glob("*.jpg"))) == 20
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="refusing to overwrite"):
        gen(tmp_path / "mine", **SMALL)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "knobs, message",
    [
        ({"detectors": {"det": {"miss": 0.1}}}, "unknown knobs"),
        ({"walk_speed": [3.0, 1.0]}, "walk_speed"),
        ({"num_frames": 0}, "num_frames"),
    ],
)
def test_bad_knobs_raise_config_errors(tmp_path, knobs, message):
    with pytest.raises(ConfigError, match=message):
        gen(tmp_path / "x", **(SMALL | knobs))


def test_config_node_lists_every_knob_with_the_dataclass_defaults():
    from omegaconf import OmegaConf

    node = OmegaConf.to_container(OmegaConf.load(CONF / "data" / "synthetic.yaml").generator)
    assert node.keys() == {f.name for f in dataclasses.fields(SyntheticParams)}
    assert node["detectors"].keys() == DEFAULT_DETECTORS.keys()
    assert SyntheticParams(**node).to_json() == SyntheticParams().to_json()


def test_generate_stage_through_hydra_logs_the_table(tmp_path, caplog):
    from hydra import compose, initialize_config_dir

    small = [f"data.generator.{k}={v}" for k, v in SMALL.items()]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="track",
            overrides=["stage=generate", f"paths.data_dir={tmp_path}", *small],
        )
    with caplog.at_level(logging.INFO, logger="remots"):
        assert generate(cfg) is None
    root = tmp_path / "generated" / "synthetic-seed0"
    assert (root / "COMPLETE").is_file()
    assert tree_bytes(root)["train/SYN-TRAIN-01/gt/gt.txt"]
    table = caplog.text[caplog.text.index("crossing tracks") :].splitlines()[0].split()
    assert len(table) == 4 and all(int(v) > 0 for v in table[2:])


def test_trackeval_accepts_the_gt_as_it_is(small, tmp_path):
    """TrackEval's own MOTSChallenge reader loads the generated folder unchanged, and the GT
    scored against itself is perfect."""
    import shutil

    from tests.support.reference import run_trackeval

    root, _ = small
    results = tmp_path / "trackers" / "gt_copy" / "data"
    results.mkdir(parents=True)
    shutil.copy(root / "train" / "SYN-TRAIN-01" / "gt" / "gt.txt", results / "SYN-TRAIN-01.txt")
    result = run_trackeval(  # TrackEval's own evaluator and MOTSChallenge reader on the files
        {
            "GT_FOLDER": str(root / "train"),
            "TRACKERS_FOLDER": str(tmp_path / "trackers"),
            "TRACKERS_TO_EVAL": ["gt_copy"],
            "SEQMAP_FILE": str(root / "seqmaps" / "SYN-train.txt"),
        },
        benchmark="motschallenge",
    )
    combined = result.trackeval["COMBINED_SEQ"]["pedestrian"]
    assert combined["HOTA"]["HOTA"].mean() == pytest.approx(1.0)
    assert combined["CLEAR"]["sMOTA"] == pytest.approx(1.0)  # TrackEval's name for sMOTSA
    assert combined["Identity"]["IDF1"] == pytest.approx(1.0)
    assert combined["CLEAR"]["CLR_TP"] == small[1]["sequences"]["SYN-TRAIN-01"]["gt_masks"]
