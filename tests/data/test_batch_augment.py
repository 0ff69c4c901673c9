"""The batched (device-side) augmentation against the per-crop one of the loader: same
parameters from the same seed, the same pixels up to OpenCV's fixed-point rounding."""

import cv2
import numpy as np
import pytest
import torch

from remots.data import augment as A
from remots.data.batch_augment import (
    COL,
    COLUMNS,
    _colour_jitter,
    _gaussian_blur,
    _resized_crop,
    augment_batch,
    draw_view,
)


def _crop(h=64, w=32, seed=1):
    """Smooth colour blobs, as crops of objects are (pure noise is the worst case for rounding)."""
    noise = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2)


def _loader_views(crop, seeds, *, strong, erasing=0.5, jitter=1.0):
    """What a loader worker makes of ``crop`` for each seed, and the rows ``draw_view`` draws."""
    outs, rows = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        c = A.strong_augment(crop, rng, colour_jitter_strength=jitter) if strong else crop
        outs.append(A.reid_augment(c, rng, erasing=erasing))
        rows.append(
            draw_view(
                np.random.default_rng(seed),
                *crop.shape[:2],
                strong=strong,
                augment=True,
                erasing=erasing,
                colour_jitter=jitter,
            )
        )
    return np.stack(outs), np.stack(rows)


def _not_erased(rows, shape):
    """Pixels no erased box covers (a view erased by the strong augmentation is left out: its box
    moved with the later flip and pad)."""
    keep = np.ones(shape[:3], bool)
    for k, row in enumerate(rows):
        if row[COL["erase1_h"]] > 0:
            keep[k] = False
        if row[COL["erase2_h"]] > 0:
            y, x, h, w = (int(row[COL[f"erase2_{c}"]]) for c in "yxhw")
            keep[k, y : y + h, x : x + w] = False
    return keep


@pytest.mark.parametrize("size", [(64, 32), (9, 7)])
def test_the_reid_augmentation_of_a_batch_equals_the_loaders_outside_erased_boxes(size):
    crop = _crop(*size)
    want, rows = _loader_views(crop, range(60), strong=False)
    got = augment_batch(torch.from_numpy(np.stack([crop] * 60)), torch.from_numpy(rows)).numpy()
    keep = _not_erased(rows, want.shape)
    assert keep.any(axis=(1, 2)).all()
    assert np.array_equal(got[keep], want[keep])  # flip and pad-and-crop exactly
    erased = ~keep
    assert erased.any() and (got[erased] != want[erased]).any()  # the noise is its own


def test_the_strong_augmentation_of_a_batch_agrees_with_the_loaders_up_to_rounding():
    crop = _crop()
    want, rows = _loader_views(crop, range(80), strong=True, jitter=1.0)
    got = augment_batch(torch.from_numpy(np.stack([crop] * 80)), torch.from_numpy(rows)).numpy()
    keep = _not_erased(rows, want.shape)
    assert keep.any(axis=(1, 2)).sum() > 20
    diff = np.abs(got.astype(int) - want.astype(int))[keep]
    assert diff.mean() < 1.0 and np.mean(diff <= 2) > 0.99
    # it is the strong augmentation: far from the crop itself
    assert np.abs(got.astype(int) - crop).mean() > 10


def test_each_strong_operation_matches_opencv_within_one_or_two_levels():
    crop = _crop()
    x = torch.from_numpy(np.stack([crop] * 40)).float()
    rows = np.zeros((40, len(COLUMNS)))
    want_resize, want_jitter, want_blur, sigmas = [], [], [], []
    for s in range(40):
        box = A.draw_resized_crop(np.random.default_rng(s), 64, 32) or (0, 0, 64, 32)
        rows[s, [COL["crop_y"], COL["crop_x"], COL["crop_h"], COL["crop_w"]]] = box
        want_resize.append(A.random_resized_crop(crop, np.random.default_rng(s)))
        b, c, sat, hue = A.draw_colour_jitter(np.random.default_rng(s))
        rows[s, [COL["brightness"], COL["contrast"], COL["saturation"], COL["hue"]]] = (
            b,
            c,
            sat,
            hue,
        )
        want_jitter.append(A.colour_jitter(crop, np.random.default_rng(s)))
        sigmas.append(A.draw_blur(np.random.default_rng(s), p=1.0))
        want_blur.append(cv2.GaussianBlur(crop, (0, 0), sigmaX=sigmas[-1], sigmaY=sigmas[-1]))
    p = torch.from_numpy(rows)
    resized = _resized_crop(x.clone(), p).numpy()
    assert np.abs(resized - np.stack(want_resize)).max() <= 1
    blurred = _gaussian_blur(x.clone(), torch.tensor(sigmas, dtype=torch.float64)).numpy()
    assert np.abs(blurred - np.stack(want_blur)).max() <= 1
    jittered = _colour_jitter(x.clone(), p).numpy()
    diff = np.abs(jittered - np.stack(want_jitter))
    assert diff.mean() < 0.5 and np.mean(diff <= 1) > 0.99  # hue truncation flips a level


def test_a_batch_is_seeded_by_its_rows_alone():
    crop = _crop()
    _, rows = _loader_views(crop, range(16), strong=True)
    images = torch.from_numpy(np.stack([crop] * 16))
    a = augment_batch(images, torch.from_numpy(rows))
    assert torch.equal(a, augment_batch(images, torch.from_numpy(rows)))
    assert a.dtype == torch.uint8 and a.shape == images.shape
    _, other = _loader_views(crop, range(100, 116), strong=True)
    assert not torch.equal(a, augment_batch(images, torch.from_numpy(other)))


def test_rows_of_the_wrong_shape_are_refused():
    images = torch.zeros((2, 8, 8, 3), dtype=torch.uint8)
    with pytest.raises(ValueError, match="params"):
        augment_batch(images, torch.zeros((3, len(COLUMNS))))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_batch_augmented_on_cuda_matches_the_cpu_outside_erased_boxes():
    crop = _crop()
    _, rows = _loader_views(crop, range(64), strong=True)
    images = torch.from_numpy(np.stack([crop] * 64))
    cpu = augment_batch(images, torch.from_numpy(rows)).numpy().astype(int)
    gpu = augment_batch(images.cuda(), torch.from_numpy(rows).cuda()).cpu().numpy().astype(int)
    keep = _not_erased(rows, cpu.shape)
    diff = np.abs(gpu - cpu)[keep]
    assert diff.max() <= 1 and diff.mean() < 0.01  # float rounding at .5 may differ
