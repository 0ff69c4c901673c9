"""Simulated detectors: Mask R-CNN-like raw detections of a rendered frame (misses, false positives,
resampled masks, duplicates, scores), and stand-in detections made from GT masks."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from remots import masks
from remots.io.instances import PEDESTRIAN, Instance

log = logging.getLogger(__name__)


def detect_frame(
    t: int,
    people: list[dict],
    clutter: list[tuple[int, tuple[int, int, int, int], np.ndarray]],
    knobs: dict,
    rng: np.random.Generator,
    state: dict,
    H: int,
    W: int,
) -> list[Instance]:
    """One simulated Mask R-CNN on frame ``t``: people detected or missed, clutter false
    positives. ``state`` carries the walkers missed in the previous frame (miss streaks) and
    the per-clutter false-positive weights (the same clutter fires again)."""
    out: list[Instance] = []
    missed_before = state["missed"]
    missed_now = set()
    for person in people:
        k = person["identity"]
        visible_fraction = person["visible_area"] / max(person["amodal_area"], 1)
        p_miss = knobs["miss_rate"] + knobs["occlusion_miss"] * (1.0 - visible_fraction) ** 3
        if k in missed_before:
            p_miss += knobs["miss_streak"]
        if rng.random() < p_miss:
            missed_now.add(k)
            continue
        amodal = person["hidden_by_people"] > 0 and rng.random() < knobs["amodal_rate"]
        base = person["amodal_behind_people"] if amodal else person["visible"]
        partial = rng.random() < knobs["partial_rate"]
        mask = mask_head(base, person["region"], rng, knobs, partial=partial)
        if mask is None:
            continue
        score = (
            knobs["score_mean"]
            - knobs["occlusion_score_drop"] * (1.0 - visible_fraction)
            + rng.normal(0.0, knobs["score_noise"])
        )
        score = round(float(np.clip(score, 0.3, 0.999)), 4)
        out.append(Instance(t, 0, PEDESTRIAN, masks.encode(mask)[0], score))
        if rng.random() < knobs["duplicate_rate"]:
            dup = mask_head(base, person["region"], rng, knobs, partial=True)
            if dup is not None:
                dup_score = round(score * float(rng.uniform(0.3, 0.7)), 4)
                out.append(Instance(t, 0, PEDESTRIAN, masks.encode(dup)[0], dup_score))
    state["missed"] = missed_now
    weights = state["fp_weights"]
    total = sum(weights[i] for i, _, _ in clutter)
    lo, hi = knobs["fp_score"]
    for i, region, visible in clutter:
        p_fire = min(0.95, knobs["fp_per_frame"] * weights[i] / total) if total > 0 else 0.0
        if rng.random() >= p_fire:
            continue
        partial = rng.random() < knobs["partial_rate"]
        mask = mask_head(visible, region, rng, knobs, partial=partial)
        if mask is None:
            continue
        score = round(lo + (hi - lo) * float(rng.beta(2.0, 3.0)), 4)
        out.append(Instance(t, 0, PEDESTRIAN, masks.encode(mask)[0], score))
    return out


def mask_head(
    base: np.ndarray,
    region: tuple[int, int, int, int],
    rng: np.random.Generator,
    knobs: dict,
    *,
    partial: bool,
) -> np.ndarray | None:
    """What a Mask R-CNN mask head makes of the object ``base`` ``(H, W)`` bool, which lies
    inside ``region`` ``(x0, y0, x1, y1)``.

    The (optionally partial) object is resampled to a ``mask_resolution`` square over its box,
    pasted back into a jittered box (shift, scale) and thresholded at a jittered level around
    0.5 (erosion above, dilation below). Returns ``(H, W)`` uint8 (Fortran order, as pycocotools
    encodes it), or None when nothing is left.
    """
    H, W = base.shape
    rx0, ry0, rx1, ry1 = region
    inside = base[ry0:ry1, rx0:rx1]
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if len(rows) == 0:
        return None
    y0, y1 = ry0 + int(rows[0]), ry0 + int(rows[-1]) + 1
    x0, x1 = rx0 + int(cols[0]), rx0 + int(cols[-1]) + 1
    crop = base[y0:y1, x0:x1].astype(np.float32)
    if partial:
        keep = float(rng.uniform(0.45, 0.8))
        side = int(rng.integers(3))
        if side == 0:  # upper body only
            crop[round(keep * crop.shape[0]) :] = 0
        elif side == 1:
            crop[:, round(keep * crop.shape[1]) :] = 0
        else:
            crop[:, : round((1 - keep) * crop.shape[1])] = 0
        rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
        if len(rows) == 0:
            return None
        y0, y1 = y0 + int(rows[0]), y0 + int(rows[-1]) + 1
        x0, x1 = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
        crop = crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    res = knobs["mask_resolution"]
    grid = cv2.resize(crop, (res, res), interpolation=cv2.INTER_AREA)
    bw, bh = x1 - x0, y1 - y0
    jitter = rng.normal(0.0, knobs["box_jitter"], 4) * np.array([bw, bh, bw, bh])
    nx0, ny0 = round(x0 + jitter[0]), round(y0 + jitter[1])
    nx1, ny1 = max(round(x1 + jitter[2]), nx0 + 2), max(round(y1 + jitter[3]), ny0 + 2)
    up = cv2.resize(grid, (nx1 - nx0, ny1 - ny0), interpolation=cv2.INTER_LINEAR)
    threshold = float(np.clip(0.5 + rng.normal(0.0, knobs["threshold_noise"]), 0.15, 0.85))
    out = np.zeros((H, W), np.uint8, order="F")
    cx0, cy0, cx1, cy1 = max(nx0, 0), max(ny0, 0), min(nx1, W), min(ny1, H)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    out[cy0:cy1, cx0:cx1] = up[cy0 - ny0 : cy1 - ny0, cx0 - nx0 : cx1 - nx0] > threshold
    return out if out.any() else None


def detections_from_gt(
    gt: list[Instance], *, rng: np.random.Generator, drop: float = 0.0
) -> tuple[list[Instance], np.ndarray]:
    """Stand-in detections: the GT masks (a share ``drop`` removed) with random scores, in the
    detection order (frame, -score) with running obj_id. Returns them and ``(N,)`` the GT obj_id
    of each, for measurements."""
    kept = [g for g in gt if rng.random() >= drop]
    scores = rng.uniform(0.5, 1.0, len(kept))
    order = sorted(range(len(kept)), key=lambda i: (kept[i].frame, -scores[i]))
    dets = [kept[i].with_(obj_id=n, score=float(scores[i])) for n, i in enumerate(order)]
    return dets, np.array([kept[i].obj_id for i in order], np.int64)
