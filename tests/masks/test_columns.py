"""Masks as one-column pieces: intersections, IoUs and overlaps equal pycocotools', bit for bit."""

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from remots import masks
from remots.masks.columns import (
    MaskColumns,
    decode_rle_chunk,
    first_overlap,
    frame_bounds,
    frame_pairs,
    intersections,
    iou,
    over_area,
    pairs_within,
    rle_chars,
)


def _random_masks(rng, n, h, w):
    """Blobs, boxes with holes, stripes (several pieces a column), full-height masks (runs
    that go on into the next column), masks in the first or last column, and empty ones."""
    out = np.zeros((n, h, w), np.uint8)
    for k in range(n):
        kind = k % 6
        if kind == 0:
            y, x = rng.integers(0, h), rng.integers(0, w)
            yy, xx = np.ogrid[:h, :w]
            out[k] = (yy - y) ** 2 + (xx - x) ** 2 <= rng.integers(1, max(h, w)) ** 2
        elif kind == 1:
            y0, x0 = rng.integers(0, h - 1), rng.integers(0, w - 1)
            out[k, y0 : y0 + rng.integers(1, h), x0 : x0 + rng.integers(1, w)] = 1
            out[k, rng.integers(0, h), :] = 0  # a hole row
        elif kind == 2:
            out[k, :: rng.integers(2, 4), rng.integers(0, w) :] = 1
        elif kind == 3:
            out[k, :, rng.integers(0, w) : rng.integers(0, w) + 3] = 1
        elif kind == 4:
            out[k, rng.integers(0, h) :, 0] = 1
            out[k, : rng.integers(1, h), w - 1] = 1
        out[k] &= rng.random((h, w)) < 0.9 if k % 4 == 0 else 1  # speckles
    return out


@pytest.mark.parametrize("seed", range(4))
def test_intersections_and_iou_equal_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(3, 12)), int(rng.integers(3, 12))
    dense = _random_masks(rng, 40, h, w)
    rles = masks.encode(dense)
    # chunk=7: masks in several decoding chunks
    cols = MaskColumns.from_chars(*rle_chars([r["counts"] for r in rles]), h, w, chunk=7)
    np.testing.assert_array_equal(cols.area, dense.reshape(40, -1).sum(1))
    i, j = np.meshgrid(np.arange(40), np.arange(40), indexing="ij")
    i, j = i.ravel(), j.ravel()
    shared = intersections(cols, i, cols, j)
    want = (dense[i].astype(bool) & dense[j].astype(bool)).reshape(len(i), -1).sum(1)
    np.testing.assert_array_equal(shared, want)
    ours = iou(shared, cols.area[i], cols.area[j]).reshape(40, 40)
    theirs = np.asarray(mask_utils.iou(rles, rles, [False] * 40))
    assert (ours == theirs).all()  # bit for bit
    ours = over_area(shared, cols.area[i]).reshape(40, 40)
    theirs = np.asarray(mask_utils.iou(rles, rles, [True] * 40))
    assert (ours == theirs).all()


def test_take_and_invalid_strings():
    dense = _random_masks(np.random.default_rng(5), 12, 6, 7)
    rles = masks.encode(dense)
    cols = MaskColumns.decode([r["counts"] for r in rles], 6, 7)
    sub = cols.take(np.array([3, 3, 0]))
    np.testing.assert_array_equal(
        intersections(sub, np.arange(3), cols, np.array([3, 0, 3])),
        intersections(cols, np.array([3, 3, 0]), cols, np.array([3, 0, 3])),
    )
    good = masks.rle_to_string(rles[0])
    assert MaskColumns.decode([good, good[:-1]], 6, 7) is None  # truncated
    assert MaskColumns.decode([good], 6, 8) is None  # not 6 x 8 pixels
    assert len(MaskColumns.decode([], 6, 7)) == 0


def test_pairs_within_frames_and_first_overlap():
    frames = np.array([0, 0, 0, 2, 2])
    bounds = frame_bounds(frames, 3)
    np.testing.assert_array_equal(bounds, [0, 3, 3, 5])
    i, j = frame_pairs(bounds, frame_bounds(np.array([0, 2, 2]), 3))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [
        (0, 0), (1, 0), (2, 0), (3, 1), (3, 2), (4, 1), (4, 2)
    ]  # fmt: skip
    i, j = pairs_within(bounds)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 2), (3, 4)]
    m = np.zeros((5, 4, 4), np.uint8)
    m[0, :, 0] = m[1, :, 1] = m[2, :, 2] = 1
    m[3, :2, :] = m[4, 1:3, 3] = 1  # frame 2: masks 3 and 4 share pixel (1, 3)
    cols = MaskColumns.decode([r["counts"] for r in masks.encode(m)], 4, 4)
    assert first_overlap(cols, bounds) == (3, 4)
    m[4, 1, 3] = 0
    cols = MaskColumns.decode([r["counts"] for r in masks.encode(m)], 4, 4)
    assert first_overlap(cols, bounds) is None


def test_empty_runs_hold_no_pixel():
    # uncompressed runs with empty ones (pycocotools' encoder never writes them; files may)
    runs = [[2, 0, 3, 5], [0, 4, 0, 6], [10]]
    rles = [mask_utils.frPyObjects({"size": [2, 5], "counts": r}, 2, 5) for r in runs]
    cols = MaskColumns.decode([r["counts"] for r in rles], 2, 5)
    np.testing.assert_array_equal(cols.area, [5, 10, 0])
    assert cols.empty_runs
    i, j = np.repeat(np.arange(3), 3), np.tile(np.arange(3), 3)
    ours = iou(intersections(cols, i, cols, j), cols.area[i], cols.area[j]).reshape(3, 3)
    np.testing.assert_array_equal(ours, [[1, 0.5, 0], [0.5, 1, 0], [0, 0, 0]])
    # pycocotools' walk over the runs ends where both masks reach an empty run: mask 0 with
    # itself at pixel 2. Pairs where one mask has none are exact.
    theirs = np.asarray(mask_utils.iou(rles, rles, [False] * 3))
    assert theirs[0, 0] == 0
    assert (ours[[0, 1, 2], [1, 0, 2]] == theirs[[0, 1, 2], [1, 0, 2]]).all()
    canonical = MaskColumns.decode([masks.encode(np.ones((2, 5), np.uint8))[0]["counts"]], 2, 5)
    assert not canonical.empty_runs


@pytest.mark.parametrize("seed", range(3))
def test_decode_equals_pycocotools_on_long_numbers(seed):
    # run lengths from 0 to 2**28: numbers of 1 to 7 characters, deltas of either sign; strings
    # of odd and even numbers of runs, decoded together in one chunk
    rng = np.random.default_rng(seed)
    strings, expected = [], []
    for _ in range(30):
        runs = rng.integers(0, 2 ** rng.integers(1, 29), rng.integers(1, 12)).tolist()
        rle = mask_utils.frPyObjects({"size": [sum(runs), 1], "counts": runs}, sum(runs), 1)
        strings.append(rle["counts"])
        expected.append(runs)
    pixels = np.array([sum(r) for r in expected])
    background, foreground, num_pairs, _ = decode_rle_chunk(*rle_chars(strings), pixels)
    first = np.cumsum(num_pairs) - num_pairs
    for k, runs in enumerate(expected):
        pairs = slice(first[k], first[k] + num_pairs[k])
        got = np.column_stack([background[pairs], foreground[pairs]]).ravel().tolist()
        assert got[: len(runs)] == runs and got[len(runs) :] in ([], [0])
    assert decode_rle_chunk(*rle_chars(strings), pixels + 1) is None
