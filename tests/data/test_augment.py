import numpy as np

from remots.data.augment import (
    colour_jitter,
    horizontal_flip,
    random_erasing,
    reid_augment,
    strong_augment,
)


def _crop(seed=0):
    rng = np.random.default_rng(seed)
    crop = np.zeros((64, 32, 3), np.uint8)
    crop[:32] = rng.integers(0, 256, 3)
    crop[32:] = rng.integers(0, 256, 3)
    crop[:, :8] = (255, 255, 255)
    return crop


def test_strong_augment_changes_pixels_keeps_shape_and_is_seeded():
    crop = _crop()
    outs = [strong_augment(crop, np.random.default_rng(s)) for s in range(20)]
    for out in outs:
        assert out.shape == crop.shape and out.dtype == np.uint8
    diffs = [np.abs(o.astype(int) - crop).mean() for o in outs]
    assert np.median(diffs) > 10  # "dramatically change the pixel content"
    again = strong_augment(crop, np.random.default_rng(7))
    assert np.array_equal(again, outs[7])


def test_flip_and_erasing_do_what_they_say():
    crop = _crop()
    assert np.array_equal(horizontal_flip(crop, np.random.default_rng(0), p=1.0), crop[:, ::-1])
    assert horizontal_flip(crop, np.random.default_rng(0), p=0.0) is crop
    erased = random_erasing(crop, np.random.default_rng(0), p=1.0)
    changed = (erased != crop).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 0
    # one rectangle: every pixel of its bounding box may change, none outside it
    box = np.zeros_like(changed)
    box[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
    assert not (changed & ~box).any()


def test_colour_jitter_identity_when_ranges_are_zero():
    crop = _crop()
    out = colour_jitter(
        crop, np.random.default_rng(0), brightness=0, contrast=0, saturation=0, hue=0
    )
    assert np.abs(out.astype(int) - crop).max() <= 2  # HSV round trip only


def test_reid_augment_is_seeded():
    crop = _crop()
    a = reid_augment(crop, np.random.default_rng(3))
    b = reid_augment(crop, np.random.default_rng(3))
    assert np.array_equal(a, b) and a.shape == crop.shape
