"""RLE mask helpers on pycocotools: area, bbox, IoU / IoM matrices, union, pixel exclusivity.

A mask is a pycocotools compressed RLE, ``{"size": [h, w], "counts": bytes}``. Masks stay RLE
everywhere; ``decode`` is called only where pixels are really needed (cutting crops, warping).
All matrix functions take two lists of RLEs of one image size and return ``(len(a), len(b))``
float64 arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from pycocotools import mask as mask_utils

RLE = dict

_MAX_RLE_CHARS_PER_COUNT = 7  # 35 bits: more than any image of < 2**32 pixels needs


def encode(masks: np.ndarray) -> list[RLE]:
    """Encode binary masks ``(H, W)`` or ``(N, H, W)`` into a list of compressed RLEs."""
    masks = np.asarray(masks)
    if masks.ndim == 2:
        masks = masks[None]
    if masks.ndim != 3:
        raise ValueError(f"masks must be (H, W) or (N, H, W), got shape {masks.shape}")
    if len(masks) == 0:
        return []
    fortran = np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8, copy=False))
    return mask_utils.encode(fortran)


def decode(rles: Sequence[RLE]) -> np.ndarray:
    """Decode RLEs into a ``(N, H, W)`` uint8 array of 0/1."""
    if len(rles) == 0:
        raise ValueError("decode needs at least one RLE (the image size comes from them)")
    return np.ascontiguousarray(mask_utils.decode(list(rles)).transpose(2, 0, 1))


def decode_one(rle: RLE) -> np.ndarray:
    """Decode one RLE into an ``(H, W)`` uint8 array of 0/1."""
    return mask_utils.decode(rle)


def empty_rle(height: int, width: int) -> RLE:
    """The RLE of an all-zero mask of the given size."""
    return encode(np.zeros((height, width), np.uint8))[0]


def area(rles: Sequence[RLE]) -> np.ndarray:
    """Pixel count of each mask, ``(N,)`` int64."""
    if len(rles) == 0:
        return np.zeros(0, np.int64)
    rles = list(rles)
    # pycocotools' area overflows a uint8 count under numpy 2 for lists of 256 or more
    return np.concatenate(
        [
            np.asarray(mask_utils.area(rles[k : k + 255]), dtype=np.int64)
            for k in range(0, len(rles), 255)
        ]
    )


def bbox(rles: Sequence[RLE]) -> np.ndarray:
    """Tight box of each mask as ``(N, 4)`` float64 ``x, y, w, h`` (zeros for an empty mask)."""
    if len(rles) == 0:
        return np.zeros((0, 4), np.float64)
    return np.asarray(mask_utils.toBbox(list(rles)), dtype=np.float64).reshape(-1, 4)


def iou_matrix(a: Sequence[RLE], b: Sequence[RLE]) -> np.ndarray:
    """Intersection over union of every pair, ``(len(a), len(b))``; 0 where both are empty."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float64)
    iou = mask_utils.iou(list(a), list(b), [0] * len(b))
    return np.asarray(iou, dtype=np.float64).reshape(len(a), len(b))


def intersection_matrix(a: Sequence[RLE], b: Sequence[RLE]) -> np.ndarray:
    """Pixel count of the intersection of every pair, ``(len(a), len(b))`` int64.

    Recovered exactly from pycocotools' IoU: with u = |A| + |B| - I, IoU = I / u gives
    I = IoU (|A| + |B|) / (1 + IoU), an integer well inside float64's exact range.
    """
    iou = iou_matrix(a, b)
    sums = area(a)[:, None] + area(b)[None, :]
    return np.rint(iou * sums / (1.0 + iou)).astype(np.int64)


def iom_matrix(a: Sequence[RLE], b: Sequence[RLE]) -> np.ndarray:
    """Intersection over minimum (paper, section 2.1) of every pair, ``(len(a), len(b))``.

    IoM(A, B) = |A ∩ B| / min(|A|, |B|): the matrix form of the paper's ``pixel_iom``. A small
    mask lying inside a large one has IoM 1 however small its IoU. 0 where either mask is empty.
    """
    inter = intersection_matrix(a, b).astype(np.float64)
    smaller = np.minimum(area(a)[:, None], area(b)[None, :]).astype(np.float64)
    return np.divide(inter, smaller, out=np.zeros_like(inter), where=smaller > 0)


def pixel_iom(target: np.ndarray, prediction: np.ndarray) -> float:
    """The paper's ``pixel_iom`` on two dense binary masks ``(H, W)`` (section 2.1), verbatim.

    Kept as the reference that ``iom_matrix`` is tested against.
    """
    intersection = np.logical_and(target, prediction)
    min_area = min(np.sum(target), np.sum(prediction))
    if min_area == 0:
        return 0.0
    iom_score = np.sum(intersection) / min_area
    return float(iom_score)


def union(rles: Sequence[RLE]) -> RLE:
    """The union of all masks, one RLE."""
    if len(rles) == 0:
        raise ValueError("union needs at least one RLE")
    return mask_utils.merge(list(rles), intersect=False)


def overlapping_pairs(rles: Sequence[RLE]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, i < j, of masks that share at least one pixel."""
    if len(rles) < 2:
        return []
    if int(area([union(rles)])[0]) == int(area(rles).sum()):
        return []  # fast path: no pixel is counted twice
    inter = intersection_matrix(rles, rles)
    i, j = np.nonzero(np.triu(inter > 0, k=1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


def complement(rle: RLE) -> RLE:
    """The pixels outside ``rle``, computed on the run lengths (no decoding).

    A compressed RLE alternates runs of 0s and 1s starting with 0s; the complement is the same
    runs starting with 1s, so a leading run of zero length is dropped or one is added.
    """
    height, width = rle["size"]
    counts = rle_counts(rle_to_string(rle)).tolist()
    counts = counts[1:] if counts and counts[0] == 0 else [0, *counts]
    return mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)


def make_exclusive(rles: Sequence[RLE], scores: Sequence[float]) -> list[RLE]:
    """Give every shared pixel to the most confident mask that covers it (paper, section 2.1:
    "we only keep the mask with the top confident score for each overlapping area").

    Mask i becomes ``i AND NOT (union of the stronger masks overlapping i)``, the complement
    taken on the run lengths, so no frame is decoded. Returns new RLEs in the input order; masks
    that share no pixel with a stronger one are returned unchanged. Ties in score go to the
    earlier mask, so the result does not depend on sort stability.
    """
    rles = list(rles)
    if len(rles) < 2:
        return rles
    scores = np.asarray(scores, dtype=np.float64)
    inter = intersection_matrix(rles, rles)
    np.fill_diagonal(inter, 0)
    if not inter.any():
        return rles
    order = np.lexsort((np.arange(len(rles)), -scores))  # by score desc, then index
    rank = np.empty(len(rles), np.int64)
    rank[order] = np.arange(len(rles))
    out = list(rles)
    for i in np.flatnonzero(inter.any(axis=1)):
        stronger = np.flatnonzero((inter[i] > 0) & (rank < rank[i]))
        if len(stronger) == 0:
            continue
        taken = union([rles[j] for j in stronger])
        out[i] = mask_utils.merge([rles[i], complement(taken)], intersect=True)
    return out


def rle_to_string(rle: RLE) -> str:
    """The RLE's counts as the ASCII string MOTS txt files carry."""
    counts = rle["counts"]
    return counts.decode("ascii") if isinstance(counts, bytes) else str(counts)


def rle_counts(counts: str) -> np.ndarray:
    """Decode the run lengths of a compressed RLE string without trusting it.

    pycocotools' C decoder does no bounds checks: a truncated string reads past its end and run
    lengths that sum past h*w write past the mask. This parser mirrors ``rleFrString`` in numpy
    and raises ``ValueError`` for anything it would misread, so callers can validate first.
    """
    b = np.frombuffer(counts.encode("ascii", errors="strict"), np.uint8).astype(np.int64) - 48
    if len(b) == 0:
        return np.zeros(0, np.int64)
    if (b < 0).any() or (b > 63).any():
        pos = int(np.flatnonzero((b < 0) | (b > 63))[0])
        raise ValueError(f"invalid character {counts[pos]!r} at position {pos} of the RLE string")
    more = (b & 0x20) != 0
    if more[-1]:
        raise ValueError("RLE string is truncated (its last character continues a number)")
    ends = np.flatnonzero(~more)
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts + 1
    if lengths.max() > _MAX_RLE_CHARS_PER_COUNT:
        raise ValueError("RLE string holds a run length too large for any image")
    k = np.arange(len(b)) - np.repeat(starts, lengths)
    x = np.add.reduceat((b & 0x1F) << (5 * k), starts)
    negative = (b[ends] & 0x10) != 0
    x = np.where(negative, x - (np.int64(1) << (5 * lengths)), x)
    cnts = x.copy()
    if len(cnts) > 3:  # counts after the third are coded as a difference to the one two back
        cnts[1::2] = np.cumsum(x[1::2])
        cnts[2::2] = np.cumsum(x[2::2])
    if (cnts < 0).any():
        raise ValueError("RLE string decodes to a negative run length")
    return cnts


def rle_from_string(counts: str, height: int, width: int) -> RLE:
    """Build a pycocotools RLE from a MOTS txt RLE string, validating it against ``height x width``.

    Raises ``ValueError`` naming what is wrong; never hands a malformed string to pycocotools.
    """
    runs = rle_counts(counts)
    total = int(runs.sum())
    if total != height * width:
        raise ValueError(
            f"RLE covers {total} pixels but the mask is {height}x{width} = {height * width} pixels"
        )
    return {"size": [int(height), int(width)], "counts": counts.encode("ascii")}


# ----------------------------------------------------------------------------- boxes to masks

# Class-specific outlines of ``box_masks(rule="shape")``, in box coordinates (x right, y down,
# both in [0, 1]): the left half of each outline from the top centre down to the bottom centre,
# mirrored for the right half. Fitted to the KITTI MOTS training GT (all 12 sequences): the mean
# of every GT mask resized to its box, mirrored, thresholded at 0.4 and simplified to a polygon
# (benchmarks/bench_box_masks.py measures every rule and re-fits these).
_LEFT_OUTLINES = {
    1: (  # car: rounded roof, straight flanks, the gap between the wheels at the bottom
        (0.336, 0.004), (0.148, 0.090), (0.039, 0.332), (0.008, 0.777), (0.055, 0.926),
        (0.133, 0.949), (0.227, 0.918),
    ),
    2: (  # pedestrian: head, shoulders, arms at the hips, legs
        (0.414, 0.012), (0.320, 0.035), (0.289, 0.113), (0.133, 0.207), (0.070, 0.301),
        (0.086, 0.473), (0.195, 0.629), (0.180, 0.941), (0.336, 0.973),
    ),
}  # fmt: skip

BOX_MASK_RULES = ("box", "ellipse", "shape")


def class_outline(class_id: int) -> np.ndarray:
    """The ``(K, 2)`` polygon (x, y in [0, 1] of the box) of ``box_masks(rule="shape")``; classes
    without an outline of their own get the ellipse's 32-gon."""
    left = _LEFT_OUTLINES.get(int(class_id))
    if left is None:
        a = (np.arange(32) + 0.5) * (2 * np.pi / 32)
        return np.column_stack([0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a)])
    left = np.asarray(left, np.float64)
    right = np.column_stack([1.0 - left[::-1, 0], left[::-1, 1]])
    return np.concatenate([left, right])


def box_masks(
    boxes: np.ndarray,
    height: int,
    width: int,
    *,
    rule: str = "shape",
    class_ids: Sequence[int] | np.ndarray | None = None,
) -> list[RLE]:
    """Masks drawn inside boxes, for detections that come as boxes only.

    Args:
        boxes: ``(N, 4)`` float ``x, y, w, h`` in pixels, 0-based: the box covers
            ``[x, x + w) x [y, y + h)``, pixel ``(i, j)`` being the square ``[j, j+1) x [i, i+1)``.
        height, width: the image size; boxes are clipped to it.
        rule: which pixels of the box form the mask (a pixel belongs where its centre lies):
            ``box`` every pixel of the box; ``ellipse`` the inscribed ellipse; ``shape`` the
            class's outline (``class_outline``: a car or a person silhouette fitted to KITTI MOTS,
            the ellipse for other classes). Mean IoU with the true mask of a KITTI MOTS GT box
            (benchmarks/bench_box_masks.py): car 0.705 / 0.734 / 0.765, pedestrian 0.504 / 0.565
            / 0.599 (box / ellipse / shape; the outlines scored on sequences they were not fitted
            on: 0.761, 0.592): ``shape`` is the default.
        class_ids: ``(N,)`` class of each box (needed by ``shape``).

    Returns:
        N RLEs of ``height x width``; a box outside the image gives an empty mask.
    """
    if rule not in BOX_MASK_RULES:
        raise ValueError(f"unknown box-to-mask rule {rule!r} (expected one of {BOX_MASK_RULES})")
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if rule == "shape" and class_ids is None:
        raise ValueError("rule='shape' needs the class of every box (class_ids)")
    out = []
    frame = np.zeros((height, width), np.uint8)
    for k, (x, y, w, h) in enumerate(boxes):
        frame[:] = 0
        # the pixels whose centres may lie in the box
        j0, j1 = max(int(np.ceil(x - 0.5)), 0), min(int(np.ceil(x + w - 0.5)), width)
        i0, i1 = max(int(np.ceil(y - 0.5)), 0), min(int(np.ceil(y + h - 0.5)), height)
        if w > 0 and h > 0 and j1 > j0 and i1 > i0:
            crop = frame[i0:i1, j0:j1]
            if rule == "box":
                u = np.arange(j0, j1) + 0.5
                v = np.arange(i0, i1) + 0.5
                crop[np.ix_((v >= y) & (v < y + h), (u >= x) & (u < x + w))] = 1
            elif rule == "ellipse":
                u = (np.arange(j0, j1) + 0.5 - (x + w / 2)) / (w / 2)
                v = (np.arange(i0, i1) + 0.5 - (y + h / 2)) / (h / 2)
                crop[(u[None, :] ** 2 + v[:, None] ** 2) <= 1.0] = 1
            else:
                poly = class_outline(int(class_ids[k]))
                # fillPoly's integer grid has pixel centres on integers; 4 fractional bits
                pts = np.column_stack(
                    [x + poly[:, 0] * w - 0.5 - j0, y + poly[:, 1] * h - 0.5 - i0]
                )
                cv2.fillPoly(crop, [np.round(pts * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
        out.append(encode(frame)[0])
    return out
