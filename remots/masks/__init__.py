"""RLE mask helpers on pycocotools: area, bbox, IoU / IoM matrices, union, pixel exclusivity.

A mask is a pycocotools compressed RLE, ``{"size": [h, w], "counts": bytes}``. Masks stay RLE
everywhere; ``decode`` is called only where pixels are really needed (cutting crops, warping).
All matrix functions take two lists of RLEs of one image size and return ``(len(a), len(b))``
float64 arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

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
