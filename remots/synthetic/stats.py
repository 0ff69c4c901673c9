"""Statistics of a synthetic dataset: how hard its tracks are, how good its detectors are."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from remots import masks
from remots.io.instances import Instance, group_by_frame

log = logging.getLogger(__name__)


def track_hardness(gt: Sequence[Instance], *, num_frames: int) -> dict:
    """How hard the ground truth is for a tracker without appearance.

    Args:
        gt: the masks of one sequence (0-based frames; ``obj_id`` is the track).
        num_frames: the sequence length.

    Returns a dict of
        gt_masks, gt_tracks;
        crossing_tracks: tracks that cross another track: in some frame where both are visible
            their boxes overlap, and the sign of their box-centre x difference is positive in one
            common frame and negative in another (their horizontal order swaps);
        reappearing_tracks: tracks with a gap of >= 2 frames between two visible frames (they
            reappear after an occlusion, or after leaving and coming back);
        occlusion_gaps, occlusion_gap_min, occlusion_gap_max: the number of such gaps and their
            length range in frames (0 when there are none);
        entering_tracks / leaving_tracks: first visible after the first frame / last visible
            before the last frame;
        track_frames: visible frames summed over tracks; mean_track_length: its mean per track.
    """
    tracks: dict[int, list[Instance]] = {}
    for inst in gt:
        tracks.setdefault(inst.obj_id, []).append(inst)
    boxes: dict[int, dict[int, np.ndarray]] = {}
    gaps: list[int] = []
    reappearing = entering = leaving = 0
    for obj_id, insts in tracks.items():
        frames = np.array(sorted(i.frame for i in insts))
        track_gaps = np.diff(frames) - 1
        long_gaps = track_gaps[track_gaps >= 2]
        gaps.extend(int(g) for g in long_gaps)
        reappearing += bool(len(long_gaps))
        entering += bool(frames[0] > 0)
        leaving += bool(frames[-1] < num_frames - 1)
        xywh = masks.bbox([i.rle for i in insts])
        boxes[obj_id] = {i.frame: b for i, b in zip(insts, xywh, strict=True)}
    ids = sorted(boxes)
    crossing: set[int] = set()
    for a_pos, a in enumerate(ids):
        for b in ids[a_pos + 1 :]:
            common = sorted(boxes[a].keys() & boxes[b].keys())
            if len(common) < 2:
                continue
            ba = np.stack([boxes[a][t] for t in common])
            bb = np.stack([boxes[b][t] for t in common])
            overlap = (
                (ba[:, 0] < bb[:, 0] + bb[:, 2])
                & (bb[:, 0] < ba[:, 0] + ba[:, 2])
                & (ba[:, 1] < bb[:, 1] + bb[:, 3])
                & (bb[:, 1] < ba[:, 1] + ba[:, 3])
            )
            order = np.sign((ba[:, 0] + ba[:, 2] / 2) - (bb[:, 0] + bb[:, 2] / 2))
            if overlap.any() and (order > 0).any() and (order < 0).any():
                crossing.update((a, b))
    track_frames = len(gt)
    return {
        "gt_masks": len(gt),
        "gt_tracks": len(tracks),
        "crossing_tracks": len(crossing),
        "reappearing_tracks": reappearing,
        "occlusion_gaps": len(gaps),
        "occlusion_gap_min": min(gaps, default=0),
        "occlusion_gap_max": max(gaps, default=0),
        "entering_tracks": entering,
        "leaving_tracks": leaving,
        "track_frames": track_frames,
        "mean_track_length": round(track_frames / len(tracks), 3) if tracks else 0.0,
    }


def detection_stats(
    detections: Sequence[Instance],
    gt: Sequence[Instance],
    *,
    num_frames: int,
    iou_threshold: float = 0.5,
) -> dict:
    """Count detections that cover a GT mask (``tp_like``: IoU >= ``iou_threshold`` with one)
    and those that cover none (``fp``), and the GT masks covered by some detection
    (``gt_covered``; duplicates count as TP-like but cover a GT mask once)."""
    det_by_frame = group_by_frame(detections, num_frames)
    gt_by_frame = group_by_frame(gt, num_frames)
    tp_like = covered = 0
    for dets, gts in zip(det_by_frame, gt_by_frame, strict=True):
        if not dets or not gts:
            continue
        iou = masks.iou_matrix([d.rle for d in dets], [g.rle for g in gts]) >= iou_threshold
        tp_like += int(iou.any(axis=1).sum())
        covered += int(iou.any(axis=0).sum())
    return {
        "detections": len(detections),
        "tp_like": tp_like,
        "fp": len(detections) - tp_like,
        "gt_covered": covered,
    }


def merge_stats(per_sequence: Sequence[dict]) -> dict:
    """Sum the statistics of several sequences (one split); ratios are recomputed from sums."""
    out: dict = {"sequences": len(per_sequence)}
    for key in (
        "frames",
        "gt_masks",
        "gt_tracks",
        "crossing_tracks",
        "reappearing_tracks",
        "occlusion_gaps",
        "entering_tracks",
        "leaving_tracks",
        "track_frames",
        "lookalike_pairs",
        "masks_occluded_by_people",
        "masks_occluded_by_pillars",
    ):
        out[key] = sum(s.get(key, 0) for s in per_sequence)
    with_gaps = [s for s in per_sequence if s.get("occlusion_gaps")]
    out["occlusion_gap_min"] = min((s["occlusion_gap_min"] for s in with_gaps), default=0)
    out["occlusion_gap_max"] = max((s["occlusion_gap_max"] for s in with_gaps), default=0)
    out["masks_per_frame"] = round(out["gt_masks"] / out["frames"], 3) if out["frames"] else 0.0
    out["mean_track_length"] = (
        round(out["track_frames"] / out["gt_tracks"], 3) if out["gt_tracks"] else 0.0
    )
    detectors: dict[str, dict] = {}
    for s in per_sequence:
        for name, d in s.get("detectors", {}).items():
            acc = detectors.setdefault(
                name, {"detections": 0, "tp_like": 0, "fp": 0, "gt_covered": 0}
            )
            for key in acc:
                acc[key] += d[key]
    for d in detectors.values():
        d["recall"] = round(d["gt_covered"] / out["gt_masks"], 4) if out["gt_masks"] else 0.0
    out["detectors"] = detectors
    return out


def stats_table(stats: dict) -> str:
    """The per-split statistics of ``generate_dataset`` as a fixed-width text table."""
    splits = stats["splits"]
    detector_names = sorted({n for s in splits.values() for n in s.get("detectors", {})})
    rows = [
        ("sequences", "sequences"),
        ("frames", "frames"),
        ("GT masks", "gt_masks"),
        ("GT tracks", "gt_tracks"),
        ("masks per frame", "masks_per_frame"),
        ("mean track length", "mean_track_length"),
        ("crossing tracks", "crossing_tracks"),
        ("reappearing tracks", "reappearing_tracks"),
        ("occlusion gaps (>=2 frames)", "occlusion_gaps"),
        ("gap length min", "occlusion_gap_min"),
        ("gap length max", "occlusion_gap_max"),
        ("entering tracks", "entering_tracks"),
        ("leaving tracks", "leaving_tracks"),
        ("masks >=25% hidden by people", "masks_occluded_by_people"),
        ("masks >=25% hidden by pillars", "masks_occluded_by_pillars"),
        ("look-alike identity pairs", "lookalike_pairs"),
    ]
    names = [n for n in ("train", "test") if n in splits] + sorted(set(splits) - {"train", "test"})
    lines = [f"{'':<30}" + "".join(f"{n:>14}" for n in names)]
    for label, key in rows:
        lines.append(f"{label:<30}" + "".join(f"{splits[n].get(key, ''):>14}" for n in names))
    for det in detector_names:
        for key in ("detections", "tp_like", "fp", "recall"):
            lines.append(
                f"{det + ' ' + key:<30}"
                + "".join(f"{splits[n]['detectors'].get(det, {}).get(key, ''):>14}" for n in names)
            )
    return "\n".join(lines)
