"""Tracks as MOTS results: a track label per detection -> valid MOTS instances.

Used for the short tracklets (``tracklets_short/<seq>.txt``), the IoU-only baseline and the merged
tracks (``results/<seq>.txt``), so all three are numbered and made exclusive the same way.
"""

from __future__ import annotations

import logging

import numpy as np

from remots import masks
from remots.io.detections import Detections
from remots.io.instances import Instance, sort_instances, track_obj_id

log = logging.getLogger(__name__)


def results_from_tracks(
    detections: Detections, track_of_detection
) -> tuple[list[Instance], dict[int, int]]:
    """MOTS results from a track label per detection (-1: left out).

    Tracks of each class are numbered in order of their first frame (then label) and get
    obj_id ``track_obj_id(class, n)``; pixels shared within a frame go to the higher detection
    score (masks left empty are dropped); written masks carry score 1; instances come in
    canonical order (frame, obj_id).

    Returns:
        The results and the obj_id of each track label.
    """
    track = np.asarray(track_of_detection, dtype=np.int64)
    frames, classes = detections.frames, detections.classes
    kept = np.flatnonzero(track >= 0)
    by_track = kept[np.lexsort((frames[kept], track[kept]))]  # by label, then frame
    labels, first = np.unique(track[by_track], return_index=True)
    first_frame, class_of = frames[by_track][first], classes[by_track][first]
    obj_id_of_track: dict[int, int] = {}
    per_class: dict[int, int] = {}
    for j in np.lexsort((labels, first_frame)):
        cls = int(class_of[j])
        obj_id_of_track[int(labels[j])] = track_obj_id(cls, per_class.get(cls, 0))
        per_class[cls] = per_class.get(cls, 0) + 1
    results = [
        Instance(
            int(frames[k]),
            obj_id_of_track[int(track[k])],
            int(classes[k]),
            detections.rles[k],
            float(detections.scores[k]),
        )
        for k in kept
    ]
    return sort_instances(_exclusive_per_frame(results)), obj_id_of_track


def _exclusive_per_frame(results: list[Instance]) -> list[Instance]:
    """MOTS results must not share pixels: shared pixels go to the higher score; masks left
    empty are dropped. Written masks carry score 1."""
    by_frame: dict[int, list[Instance]] = {}
    for inst in results:
        by_frame.setdefault(inst.frame, []).append(inst)
    out: list[Instance] = []
    dropped = 0
    for frame_instances in by_frame.values():
        rles = [i.rle for i in frame_instances]
        if masks.overlapping_pairs(rles):
            rles = masks.make_exclusive(rles, [i.score for i in frame_instances])
        areas = masks.area(rles)
        for inst, rle, a in zip(frame_instances, rles, areas, strict=True):
            if a == 0:
                dropped += 1
                continue
            out.append(inst.with_(rle=rle, score=1.0))
    if dropped:
        log.info("%d masks left empty by pixel exclusivity were dropped", dropped)
    return out
