"""TrackEval's MOTS preprocessing, in memory, a whole sequence at a time.

Replicates ``get_raw_seq_data`` + ``get_preprocessed_seq_data`` of TrackEval's ``MOTSChallenge``
and ``KittiMOTS`` dataset classes (identical for the two) and produces the ``data`` dict its
metric classes (HOTA, CLEAR, Identity) take:

1. similarity = mask IoU, ground truth x tracker, in each file's order within a frame;
2. keep the ground-truth and tracker masks of the evaluated class;
3. match tracker masks to ground truth (Hungarian on IoU >= 0.5); an unmatched tracker mask whose
   intersection over its own area with the frame's ignore region (the union of the class-10 masks)
   exceeds 0.5 is removed: it is neither a true nor a false positive. The ground truth's masks,
   ignore regions included, share no pixel (checked), so a tracker mask more than half within
   the ignore region has IoU < 0.5 with every ground-truth mask and is never matched: the rule
   removes exactly the masks more than half within, with no match to run;
4. relabel ground-truth and tracker ids to 0..n-1 in increasing id order.

The masks of a sequence are decoded once into ``remots.masks.columns.MaskColumns``, which gives
the exact pixel intersections of all the pairs it needs in a few array operations: ground truth
x tracker within each frame and class (the IoUs, the same doubles pycocotools computes), tracker
x tracker (masks that share pixels, which TrackEval rejects) and tracker x ignore region (the
intersection over area TrackEval's ``do_ioa`` call computes).

Timesteps with neither a ground-truth nor a tracker mask of the class are left out of the lists:
HOTA, CLEAR and Identity pass over such a timestep without changing any count or state, so the
results are identical and the per-timestep Python loops of the metrics run less often.
``num_timesteps`` stays the sequence length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from remots.io.instances import IGNORE, Instance
from remots.masks.columns import (
    MaskColumns,
    first_overlap,
    frame_bounds,
    frame_pairs,
    intersections,
    iou,
    over_area,
)

_EPS = np.finfo("float").eps
IGNORE_IOA_THRESHOLD = 0.5  # TrackEval: unmatched masks more than 50% inside an ignore region


class OverlapError(ValueError):
    """Two masks of one frame share pixels: ``frame`` (0-based) and their ``obj_ids``."""

    def __init__(self, frame: int, obj_ids: tuple[int, int]):
        self.frame, self.obj_ids = frame, obj_ids
        super().__init__(
            f"masks of obj_id {obj_ids[0]} and obj_id {obj_ids[1]} overlap in frame index {frame}"
        )


class InvalidRLEError(ValueError):
    """A mask's RLE string does not decode to a mask of the image size."""


class EmptyRunsError(ValueError):
    """Ground truth and tracker masks both hold RLE strings with empty runs after the first,
    where pycocotools' IoU (TrackEval's) can miscount (``MaskColumns.empty_runs``)."""


@dataclass(frozen=True, eq=False)
class MaskTable:
    """The masks of one sequence (ground truth or results), ordered by frame, input order within
    a frame.

    frame, obj_id, class_id: ``(N,)`` int64, frames 0-based.
    columns: the N masks, decoded.
    bounds: ``(num_frames + 1,)``: frame t's masks are ``bounds[t]:bounds[t + 1]``.
    """

    frame: np.ndarray
    obj_id: np.ndarray
    class_id: np.ndarray
    columns: MaskColumns
    bounds: np.ndarray

    def __len__(self) -> int:
        return len(self.frame)

    @classmethod
    def decode(
        cls,
        frame: np.ndarray,
        obj_id: np.ndarray,
        class_id: np.ndarray,
        counts: Sequence[bytes | str],
        *,
        num_frames: int,
        height: int,
        width: int,
    ) -> MaskTable:
        """From columns of a MOTS file (frames 0-based, within the sequence, any order; RLE
        strings of ``height x width`` masks). Raises ``InvalidRLEError``."""
        frame = np.asarray(frame, np.int64)
        order = np.argsort(frame, kind="stable")
        if len(order) and (order[1:] < order[:-1]).any():
            frame = frame[order]
            obj_id, class_id = np.asarray(obj_id)[order], np.asarray(class_id)[order]
            counts = [counts[k] for k in order]
        columns = MaskColumns.decode(counts, height, width)
        if columns is None:
            raise InvalidRLEError("an RLE string does not decode to a mask of the image size")
        return cls(
            frame=frame,
            obj_id=np.asarray(obj_id, np.int64),
            class_id=np.asarray(class_id, np.int64),
            columns=columns,
            bounds=frame_bounds(frame, num_frames),
        )

    @classmethod
    def from_instances(
        cls, instances: Sequence[Instance], *, num_frames: int, height: int, width: int
    ) -> MaskTable:
        """From 0-based instances of ``height x width`` masks. Raises ``InvalidRLEError``."""
        n = len(instances)
        return cls.decode(
            np.fromiter((inst.frame for inst in instances), np.int64, count=n),
            np.fromiter((inst.obj_id for inst in instances), np.int64, count=n),
            np.fromiter((inst.class_id for inst in instances), np.int64, count=n),
            [inst.rle["counts"] for inst in instances],
            num_frames=num_frames,
            height=height,
            width=width,
        )

    def take(self, index: np.ndarray) -> MaskTable:
        """The masks ``index`` (in increasing order: still ordered by frame)."""
        frame = self.frame[index]
        return MaskTable(
            frame=frame,
            obj_id=self.obj_id[index],
            class_id=self.class_id[index],
            columns=self.columns.take(index),
            bounds=frame_bounds(frame, len(self.bounds) - 1),
        )

    def of_class(self, class_id: int) -> MaskTable:
        return self.take(np.flatnonzero(self.class_id == class_id))

    def check_exclusive(self) -> None:
        """Raise ``OverlapError`` for the first two masks of a frame that share a pixel."""
        pair = first_overlap(self.columns, self.bounds)
        if pair is not None:
            i, j = pair
            raise OverlapError(int(self.frame[i]), (int(self.obj_id[i]), int(self.obj_id[j])))


@dataclass(frozen=True, eq=False)
class SequenceMasks:
    """Ground truth and tracker masks of a sequence, ready to be preprocessed per class.

    gt: the ground-truth masks, ignore regions left out.
    ignore: the ignore regions (class 10).
    tracker: the tracker's masks.
    No two masks of a frame of ``gt`` and ``ignore`` together, or of ``tracker``, share a pixel.
    """

    gt: MaskTable
    ignore: MaskTable
    tracker: MaskTable

    @property
    def num_frames(self) -> int:
        return len(self.gt.bounds) - 1


def sequence_masks(gt: MaskTable, tracker: MaskTable) -> SequenceMasks:
    """Pair a sequence's ground truth (with its ignore regions; checked with
    ``MaskTable.check_exclusive``) with the tracker's masks. Raises ``OverlapError`` for the
    first frame where two tracker masks share a pixel, ``EmptyRunsError`` where the IoUs could
    differ from pycocotools'."""
    if gt.columns.empty_runs and tracker.columns.empty_runs:
        raise EmptyRunsError(
            "ground truth and results both hold RLE strings with empty runs after the first, "
            "which pycocotools (TrackEval's IoU) miscounts where two such masks meet; write "
            "the masks with pycocotools' encoder"
        )
    tracker.check_exclusive()
    is_ignore = gt.class_id == IGNORE
    return SequenceMasks(
        gt=gt.take(np.flatnonzero(~is_ignore)) if is_ignore.any() else gt,
        ignore=gt.take(np.flatnonzero(is_ignore)),
        tracker=tracker,
    )


def sequence_frames(
    gt: list[Instance], tracker: list[Instance], *, num_frames: int
) -> SequenceMasks:
    """``sequence_masks`` of instance lists (0-based, any order; within a frame the input order
    is kept; masks of one image size). Raises ``OverlapError`` for masks of a frame of the
    ground truth or of the tracker that share pixels."""
    size = next((inst.rle["size"] for inst in [*gt, *tracker]), (1, 1))
    height, width = int(size[0]), int(size[1])
    tables = [
        MaskTable.from_instances(x, num_frames=num_frames, height=height, width=width)
        for x in (gt, tracker)
    ]
    tables[0].check_exclusive()
    return sequence_masks(*tables)


def preprocess_sequence(
    masks: SequenceMasks,
    *,
    class_id: int,
    seq: str = "",
    class_name: str = "",
) -> dict:
    """TrackEval's ``data`` dict for one sequence and one class.

    Args:
        masks: from ``sequence_masks`` (or ``sequence_frames``).
        class_id: the MOTS class evaluated (1 car, 2 pedestrian).

    Returns:
        ``gt_ids``, ``tracker_ids`` (lists of ``(G_t,)`` / ``(T_t,)`` int arrays),
        ``similarity_scores`` (list of ``(G_t, T_t)`` float64), ``num_gt_dets``,
        ``num_tracker_dets``, ``num_gt_ids``, ``num_tracker_ids``, ``num_timesteps``, ``seq``,
        ``cls``: what ``trackeval.metrics`` classes read in ``eval_sequence``.
    """
    gt = masks.gt.of_class(class_id)
    tracker = masks.tracker.of_class(class_id)
    g, d = frame_pairs(gt.bounds, tracker.bounds)
    shared = intersections(gt.columns, g, tracker.columns, d)
    similarity = iou(shared, gt.columns.area[g], tracker.columns.area[d])
    within = _within_ignore(tracker, masks.ignore, matched=d[similarity > 0.5])
    if within.any():  # removed (step 3 of the module docstring)
        similarity = similarity[~within[d]]
        tracker = tracker.take(np.flatnonzero(~within))
    return _data(gt, tracker, similarity, num_timesteps=masks.num_frames, seq=seq, cls=class_name)


def _within_ignore(tracker: MaskTable, ignore: MaskTable, matched) -> np.ndarray:
    """Which tracker masks lie more than half within their frame's ignore region: intersection
    with the union of the frame's ignore regions over the mask's area > 0.5.

    ``matched`` masks (IoU > 0.5 with a ground-truth mask, so more than half of them lies on
    it, outside the ignore regions) are not measured.
    """
    within = np.zeros(len(tracker), bool)
    if len(ignore) == 0 or len(tracker) == 0:
        return within
    candidate = np.ones(len(tracker), bool)
    candidate[matched] = False
    candidate &= np.diff(ignore.bounds)[tracker.frame] > 0
    index = np.flatnonzero(candidate)
    if len(index) == 0:
        return within
    measured = tracker.take(index)
    t, k = frame_pairs(measured.bounds, ignore.bounds)
    # the ignore regions of a frame are disjoint, so the intersection with their union is the
    # sum of the intersections (pycocotools merges them, then counts; the same integers)
    shared = intersections(measured.columns, t, ignore.columns, k)
    inside = np.bincount(t, weights=shared, minlength=len(index)).astype(np.int64)
    ioa = over_area(inside, measured.columns.area)
    within[index] = ioa > IGNORE_IOA_THRESHOLD + _EPS
    return within


def _data(gt: MaskTable, tracker: MaskTable, similarity, *, num_timesteps, seq, cls) -> dict:
    """The ``data`` dict, timesteps without a ground-truth or tracker mask left out."""
    gt_ids, num_gt_ids = _relabel(gt.obj_id)
    tracker_ids, num_tracker_ids = _relabel(tracker.obj_id)
    size_g, size_t = np.diff(gt.bounds), np.diff(tracker.bounds)
    per_frame = size_g * size_t
    sim_end = np.cumsum(per_frame)
    gt_list, tracker_list, similarity_list = [], [], []
    for t in np.flatnonzero((size_g > 0) | (size_t > 0)).tolist():
        g0, g1 = gt.bounds[t], gt.bounds[t + 1]
        t0, t1 = tracker.bounds[t], tracker.bounds[t + 1]
        s1 = sim_end[t]
        gt_list.append(gt_ids[g0:g1])
        tracker_list.append(tracker_ids[t0:t1])
        similarity_list.append(similarity[s1 - per_frame[t] : s1].reshape(g1 - g0, t1 - t0))
    return {
        "gt_ids": gt_list,
        "tracker_ids": tracker_list,
        "similarity_scores": similarity_list,
        "num_gt_dets": len(gt),
        "num_tracker_dets": len(tracker),
        "num_gt_ids": num_gt_ids,
        "num_tracker_ids": num_tracker_ids,
        "num_timesteps": num_timesteps,
        "seq": seq,
        "cls": cls,
    }


def _relabel(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Map ids to 0..n-1 in increasing order (TrackEval's relabelling); returns ids and n."""
    unique = np.unique(ids)
    return np.searchsorted(unique, ids).astype(int), len(unique)
