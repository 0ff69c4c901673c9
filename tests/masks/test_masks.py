"""RLE helpers against a dense numpy reference on random masks."""

import numpy as np
import pytest

from remots import masks


def random_masks(rng, n, h=37, w=53):
    """Blobby random masks (rectangles and noise), some empty, some identical."""
    out = np.zeros((n, h, w), np.uint8)
    for k in range(n):
        kind = rng.integers(4)
        if kind == 0:
            continue  # empty
        y0, x0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
        y1, x1 = rng.integers(y0 + 1, h + 1), rng.integers(x0 + 1, w + 1)
        out[k, y0:y1, x0:x1] = 1
        if kind == 2:
            out[k] &= rng.random((h, w)) < 0.7
    if n > 2:
        out[-1] = out[1]  # a duplicate
    return out


@pytest.mark.parametrize("seed", range(5))
def test_matrices_equal_dense_reference(seed):
    rng = np.random.default_rng(seed)
    a, b = random_masks(rng, 7), random_masks(rng, 5)
    ra, rb = masks.encode(a), masks.encode(b)
    area_a, area_b = a.reshape(7, -1).sum(1), b.reshape(5, -1).sum(1)
    inter = np.einsum("ihw,jhw->ij", a.astype(np.int64), b.astype(np.int64))
    union = area_a[:, None] + area_b[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros(inter.shape), where=union > 0)
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    iom = np.divide(inter, smaller, out=np.zeros(inter.shape), where=smaller > 0)

    np.testing.assert_array_equal(masks.area(ra), area_a)
    np.testing.assert_array_equal(masks.intersection_matrix(ra, rb), inter)
    np.testing.assert_allclose(masks.iou_matrix(ra, rb), iou, rtol=0, atol=1e-12)
    np.testing.assert_allclose(masks.iom_matrix(ra, rb), iom, rtol=0, atol=1e-12)
    for i in range(7):
        for j in range(5):
            assert masks.iom_matrix([ra[i]], [rb[j]])[0, 0] == pytest.approx(
                masks.pixel_iom(a[i], b[j]), abs=1e-12
            )
    np.testing.assert_array_equal(masks.decode(ra), a)
    np.testing.assert_array_equal(masks.decode_one(masks.union(ra)), a.max(axis=0))


def test_bbox_equals_dense():
    m = np.zeros((10, 12), np.uint8)
    m[2:5, 3:9] = 1
    np.testing.assert_array_equal(masks.bbox(masks.encode(m)), [[3, 2, 6, 3]])


def test_iom_removes_small_mask_inside_large_one_where_iou_does_not():
    big = np.zeros((20, 20), np.uint8)
    big[0:20, 0:10] = 1  # 200 px
    small = np.zeros((20, 20), np.uint8)
    small[5:10, 2:6] = 1  # 20 px, inside big
    rb, rs = masks.encode(big)[0], masks.encode(small)[0]
    assert masks.iou_matrix([rb], [rs])[0, 0] == pytest.approx(20 / 200)
    assert masks.iom_matrix([rb], [rs])[0, 0] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_make_exclusive_gives_shared_pixels_to_higher_score(seed):
    rng = np.random.default_rng(seed)
    dense = random_masks(rng, 6)
    scores = rng.random(6)
    out = masks.decode(masks.make_exclusive(masks.encode(dense), scores))
    # reference: paint from the lowest score up, so the highest score wins each pixel
    owner = np.full(dense.shape[1:], -1)
    for k in np.argsort(scores, kind="stable"):
        owner[dense[k] > 0] = k
    expected = np.stack([(owner == k) for k in range(6)]).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    assert out.sum(axis=0).max() <= 1


def test_rle_counts_matches_pycocotools_and_rejects_garbage():
    rng = np.random.default_rng(0)
    for m in random_masks(rng, 6, 60, 80):
        rle = masks.encode(m)[0]
        runs = masks.rle_counts(masks.rle_to_string(rle))
        assert runs.sum() == 60 * 80
        # the runs alternate 0 / 1 starting with zeros
        dense = np.repeat(np.arange(len(runs)) % 2, runs).reshape(80, 60).T
        np.testing.assert_array_equal(dense, m)
    with pytest.raises(ValueError, match="truncated"):
        masks.rle_counts("PPY")  # 'Y' continues a number
    with pytest.raises(ValueError, match="invalid character"):
        masks.rle_counts("a b")
    with pytest.raises(ValueError, match="pixels"):
        masks.rle_from_string(masks.rle_to_string(masks.encode(np.ones((4, 4), np.uint8))[0]), 5, 5)


def test_complement_on_run_lengths():
    m = np.zeros((4, 5), np.uint8)
    m[0:2, 1:3] = 1
    for mask in (m, 1 - m, np.zeros_like(m), np.ones_like(m)):
        np.testing.assert_array_equal(
            masks.decode_one(masks.complement(masks.encode(mask)[0])), 1 - mask
        )


def test_make_exclusive_with_a_full_image_mask_and_ties():
    dense = np.zeros((3, 6, 7), np.uint8)
    dense[0] = 1  # covers everything: its complement is empty
    dense[1, 0, 0] = 1  # starts with a 1 pixel: its runs start with a zero-length run
    dense[2, 2:5, 2:6] = 1
    out = masks.decode(masks.make_exclusive(masks.encode(dense), [0.5, 0.9, 0.5]))
    assert out[1, 0, 0] == 1 and out[0, 0, 0] == 0  # higher score keeps the pixel
    assert out[0, 3, 3] == 1 and out[2, 3, 3] == 0  # a tie goes to the earlier mask
    assert out.sum(axis=0).min() == 1 and out.sum(axis=0).max() == 1


def test_area_and_overlap_checks_of_many_masks():
    """pycocotools' own area() fails for 256+ masks under numpy 2; ours must not."""
    dense = np.zeros((300, 20, 20), np.uint8)
    for k in range(300):
        dense[k].flat[k] = 1  # one distinct pixel each: no overlaps
    rles = masks.encode(dense)
    np.testing.assert_array_equal(masks.area(rles), np.ones(300))
    assert masks.overlapping_pairs(rles) == []
    dense[299].flat[0] = 1
    assert masks.overlapping_pairs(masks.encode(dense)) == [(0, 299)]
