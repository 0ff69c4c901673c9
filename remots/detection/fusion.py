"""Fusion of instance masks from one or several detectors (paper, section 2.1).

ReMOTS fuses the masks of two Mask R-CNNs with an NMS that measures overlap by IoM, the
intersection over the smaller mask, instead of IoU, "since heavily overlapped masks may also have
low IoU values": a small fragment lying inside a large mask has IoU |small| / |large| but IoM 1.
The masks kept may still overlap, so each shared pixel is then kept only by the most confident
mask. Per frame, in order:

1. ``filter_detections``: drop scores under ``score_threshold`` and classes outside ``classes``;
2. ``iom_nms``: greedy NMS by descending score; a mask is suppressed when its IoM with an
   already kept mask (of the same class unless ``class_aware=False``) exceeds ``iom_threshold``;
3. ``remots.masks.make_exclusive``: every pixel shared by kept masks goes to the highest score
   (across classes: a MOTS frame holds at most one object per pixel);
4. drop masks whose remaining area is under ``min_area`` pixels.

The detections dropped in steps 1 and 4 are counted by reason and class (``DropCounts``):
``fuse_detections`` returns a ``RawDetections`` list whose ``dropped`` adds them to the counts its
input carried (the classes a reader dropped), so the caller can warn with numbers.

All functions work on RLE lists and numpy arrays, with keyword arguments and no config objects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
from tqdm.auto import tqdm

from remots import masks
from remots.io.detections import DropCounts, RawDetections, dropped_of
from remots.io.instances import Instance

log = logging.getLogger(__name__)


def filter_detections(
    detections: Iterable[Instance],
    *,
    score_threshold: float = 0.0,
    classes: Sequence[int] | None = None,
    drops: DropCounts | None = None,
) -> list[Instance]:
    """RawDetections scoring at least ``score_threshold`` and, when ``classes`` is given, of one of
    those classes; the others are counted in ``drops`` (class first, then score)."""
    allowed = None if classes is None else {int(c) for c in classes}
    kept = []
    for d in detections:
        if allowed is not None and d.class_id not in allowed:
            if drops is not None:
                drops.add("class_not_tracked", d.class_id)
        elif d.score < score_threshold:
            if drops is not None:
                drops.add("score_below_threshold", d.class_id)
        else:
            kept.append(d)
    return kept


def iom_nms(
    rles: Sequence[masks.RLE],
    scores: Sequence[float] | np.ndarray,
    *,
    iom_threshold: float,
    class_ids: Sequence[int] | np.ndarray | None = None,
) -> np.ndarray:
    """Greedy non-maximum suppression on masks with IoM as the overlap (paper, section 2.1).

    IoM(A, B) = |A ∩ B| / min(|A|, |B|), the paper's ``pixel_iom``, computed for all pairs at once
    as an ``(N, N)`` matrix on RLE (``remots.masks.iom_matrix``). Masks are visited by descending
    score (ties: the earlier index first); a mask is kept unless its IoM with a kept mask of the
    same class is ``> iom_threshold``. With ``class_ids=None`` every mask competes with every other.

    Args:
        rles: ``N`` masks of one image.
        scores: ``(N,)`` confidences.
        iom_threshold: in [0, 1]; a mask whose IoM with a kept one exceeds it is suppressed
            (1 suppresses nothing, 0 suppresses any mask that touches a stronger one).
        class_ids: ``(N,)`` class of each mask, for class-aware suppression.

    Returns:
        ``(K,)`` int64 indices of the kept masks, in input order.
    """
    n = len(rles)
    scores = np.asarray(scores, np.float64)
    if scores.shape != (n,):
        raise ValueError(f"scores must have shape ({n},), got {scores.shape}")
    if n == 0:
        return np.zeros(0, np.int64)
    iom = masks.iom_matrix(rles, rles)
    overlapping = iom > iom_threshold
    if class_ids is not None:
        class_ids = np.asarray(class_ids)
        overlapping &= class_ids[:, None] == class_ids[None, :]
    np.fill_diagonal(overlapping, False)
    order = np.lexsort((np.arange(n), -scores))
    suppressed = np.zeros(n, bool)
    kept = np.zeros(n, bool)
    for i in order:
        if suppressed[i]:
            continue
        kept[i] = True
        suppressed |= overlapping[i]
    return np.flatnonzero(kept)


def fuse_frame(
    detections: Sequence[Instance],
    *,
    score_threshold: float = 0.0,
    iom_threshold: float = 0.5,
    min_area: int = 0,
    classes: Sequence[int] | None = None,
    class_aware: bool = True,
    drops: DropCounts | None = None,
) -> list[Instance]:
    """Fuse the raw detections of one frame into pixel-exclusive masks (paper, section 2.1).

    Steps: score / class filter, IoM-NMS (``iom_nms``), pixel exclusivity (higher score keeps a
    shared pixel), then masks with fewer than ``max(min_area, 1)`` pixels left are dropped.
    RawDetections dropped by the filter and by the area are counted in ``drops`` (those suppressed
    by the NMS are duplicates, not counted).

    Returns the surviving detections, their ``rle`` replaced by the exclusive mask, ordered by
    descending score (ties in input order). ``obj_id`` is left as given (renumber afterwards).
    """
    dets = filter_detections(
        detections, score_threshold=score_threshold, classes=classes, drops=drops
    )
    if not dets:
        return []
    sizes = {tuple(d.rle["size"]) for d in dets}
    if len(sizes) > 1:
        raise ValueError(f"detections of one frame have different mask sizes {sorted(sizes)}")
    rles = [d.rle for d in dets]
    scores = np.array([d.score for d in dets], np.float64)
    class_ids = np.array([d.class_id for d in dets]) if class_aware else None
    keep = iom_nms(rles, scores, iom_threshold=iom_threshold, class_ids=class_ids)
    keep = keep[np.lexsort((keep, -scores[keep]))]
    exclusive = masks.make_exclusive([rles[k] for k in keep], scores[keep])
    areas = masks.area(exclusive)
    minimum = max(int(min_area), 1)
    out = []
    for k, rle, a in zip(keep, exclusive, areas, strict=True):
        if a >= minimum:
            out.append(dets[k].with_(rle=rle))
        elif drops is not None:
            drops.add("area_below_minimum", dets[k].class_id)
    return out


def fuse_detections(
    detections: Iterable[Instance],
    *,
    num_frames: int | None = None,
    score_threshold: float = 0.0,
    iom_threshold: float = 0.5,
    min_area: int = 0,
    classes: Sequence[int] | None = None,
    class_aware: bool = True,
    progress: bool = True,
    desc: str = "fusing",
) -> RawDetections:
    """``fuse_frame`` on every frame of a sequence; returns fused detections ordered by frame.

    ``detections`` may come from several detectors (concatenated, any order). ``num_frames``
    only sizes the progress bar. The result's ``dropped`` holds the counts the input carried
    (``RawDetections.dropped``) plus those of the class, score and area filters here.
    """
    drops = DropCounts().merge(dropped_of(detections))
    by_frame: dict[int, list[Instance]] = {}
    for d in detections:
        by_frame.setdefault(d.frame, []).append(d)
    frames = sorted(by_frame)
    out: list[Instance] = []
    raw = 0
    for t in tqdm(frames, desc=desc, unit="frame", disable=not progress, total=len(frames)):
        raw += len(by_frame[t])
        out.extend(
            fuse_frame(
                by_frame[t],
                score_threshold=score_threshold,
                iom_threshold=iom_threshold,
                min_area=min_area,
                classes=classes,
                class_aware=class_aware,
                drops=drops,
            )
        )
    log.info(
        "fused %d raw detections in %d of %s frames into %d masks",
        raw,
        len(frames),
        num_frames if num_frames is not None else "?",
        len(out),
    )
    return RawDetections(out, drops)
