"""Background subtraction: blob splitting and joining on hand-made masks, a synthetic video with
a known moving object, and the real vtest.avi."""

import cv2
import numpy as np
import pytest

from remots import masks
from remots.detection.bgsub import (
    BackgroundSubtraction,
    foreground_instances,
    split_columns,
    stacked_groups,
)
from remots.errors import ConfigError
from remots.io.layouts import load_frame_folder, load_video


def test_side_by_side_people_are_cut_at_the_valley():
    blob = np.zeros((40, 30), bool)
    blob[:, 0:12] = True
    blob[:, 18:30] = True
    blob[20:24, 12:18] = True  # arms touching
    assert split_columns(blob) == [(0, 15), (15, 30)]
    assert split_columns(blob[:, :12]) == [(0, 12)]  # one person: no cut
    solid = np.ones((40, 30), bool)
    assert split_columns(solid) == [(0, 30)]  # wide but no valley


def test_stacked_parts_are_one_object_side_by_side_ones_are_not():
    torso, legs, beside = (10, 10, 12, 20), (11, 33, 10, 20), (40, 10, 12, 40)
    assert sorted(map(sorted, stacked_groups([torso, legs, beside], gap=3))) == [[0, 1], [2]]
    far_below = (11, 60, 10, 20)
    assert len(stacked_groups([torso, far_below], gap=3)) == 2


def test_foreground_instances_drop_shadows_speckle_and_huge_blobs():
    fg = np.zeros((100, 120), np.uint8)
    fg[10:60, 10:25] = 255  # a person
    fg[10:60, 60:75] = 255  # another
    fg[60:70, 60:90] = 127  # its shadow
    fg[90, 100] = 255  # speckle
    found = foreground_instances(fg, min_area=100)
    assert len(found) == 2
    (a, sa), (b, sb) = found
    # the opening's 3x3 cross rounds each corner off by one pixel
    assert a[10:60, 10:25].sum() == a.sum() == 50 * 15 - 4
    assert b.sum() == 50 * 15 - 4 and not b[60:70].any()
    assert sa == sb == 1.0
    everything = np.full((100, 120), 255, np.uint8)
    assert foreground_instances(everything, max_area_fraction=0.25) == []


def synthetic_video(folder, n=12, h=60, w=80):
    """A textured static background and a 10x20 dark box walking right 4 px a frame."""
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(60, 200, (h, w, 3), dtype=np.uint8), (5, 5), 0)
    truth = []
    folder.mkdir()
    for t in range(n):
        img = background.copy()
        x = 5 + 4 * t
        img[20:40, x : x + 10] = (20, 30, 200)
        m = np.zeros((h, w), np.uint8)
        m[20:40, x : x + 10] = 1
        truth.append(m)
        cv2.imwrite(str(folder / f"{t:06d}.png"), img)
    return truth


def test_a_moving_object_is_found_in_every_frame_from_the_first(tmp_path):
    truth = synthetic_video(tmp_path / "frames")
    seq = load_frame_folder(tmp_path / "frames")
    dets = BackgroundSubtraction(min_area=50, warmup_frames=12, progress=False)(seq)
    assert [d.frame for d in dets] == list(range(12))
    for d in dets:
        iou = masks.iou_matrix([d.rle], masks.encode(truth[d.frame]))[0, 0]
        assert iou > 0.9, (d.frame, iou)
        assert d.class_id == 2 and 0.9 <= d.score <= 1.0
    again = BackgroundSubtraction(min_area=50, warmup_frames=12, progress=False)(seq)
    assert [d.rle["counts"] for d in again] == [d.rle["counts"] for d in dets]


def test_real_video_people_per_frame(shared_data):
    seq = load_video(shared_data / "videos" / "vtest.avi", start=100, stop=130)
    dets = BackgroundSubtraction(progress=False)(seq)
    per_frame = np.bincount([d.frame for d in dets], minlength=seq.num_frames)
    assert per_frame.min() >= 3 and per_frame.max() <= 12
    areas = masks.area([d.rle for d in dets])
    assert areas.min() >= 200 and areas.max() < 0.02 * 768 * 576  # people, not the scene
    for t in range(seq.num_frames):  # instances of a frame are disjoint
        frame = [d.rle for d in dets if d.frame == t]
        assert masks.overlapping_pairs(frame) == []


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="method"):
        BackgroundSubtraction(method="gmg")
    with pytest.raises(ConfigError, match="min_area"):
        BackgroundSubtraction(min_area=0)
