"""TrackEval's MOTS preprocessing, in memory.

Replicates ``get_raw_seq_data`` + ``get_preprocessed_seq_data`` of TrackEval's ``MOTSChallenge``
and ``KittiMOTS`` dataset classes (identical for the two) on ``Instance`` lists, producing the
``data`` dict its metric classes (HOTA, CLEAR, Identity) take:

1. similarity = mask IoU (pycocotools), ground truth x tracker, in each file's order;
2. keep the ground-truth and tracker masks of the evaluated class;
3. match tracker masks to ground truth (Hungarian on IoU >= 0.5); an unmatched tracker mask whose
   intersection over its own area with the frame's ignore region (the union of the class-10 masks)
   exceeds 0.5 is removed: it is neither a true nor a false positive;
4. relabel ground-truth and tracker ids to 0..n-1 in increasing id order.

One pycocotools call per frame gives the IoU of every ground-truth and tracker mask with every
tracker mask: the ground-truth x tracker block is the similarity, the tracker x tracker block
reveals tracker masks that share pixels, which TrackEval rejects. The same call, with the union
of the frame's ignore regions as one more (crowd) column, gives each tracker mask's intersection
over its area with it, once per frame for all classes.

Timesteps with neither a ground-truth nor a tracker mask of the class are left out of the lists:
HOTA, CLEAR and Identity pass over such a timestep without changing any count or state, so the
results are identical and the per-timestep Python loops of the metrics run less often.
``num_timesteps`` stays the sequence length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from remots.io.mots import IGNORE, Instance

_EPS = np.finfo("float").eps
IGNORE_IOA_THRESHOLD = 0.5  # TrackEval: unmatched masks more than 50% inside an ignore region
MATCH_IOU_THRESHOLD = 0.5


@dataclass(frozen=True)
class FrameMasks:
    """The masks of one frame, their IoUs, and how much of each tracker mask is ignore region.

    gt_ids, gt_classes: ``(G,)`` of the ground-truth masks (no ignore regions), file order.
    tracker_ids, tracker_classes: ``(T,)``, file order.
    similarity: ``(G, T)`` mask IoU.
    ignore_ioa: ``(T,)`` intersection of each tracker mask with the union of the frame's
        ignore regions over the tracker mask's area; None when the frame has no ignore region.
    """

    gt_ids: np.ndarray
    gt_classes: np.ndarray
    tracker_ids: np.ndarray
    tracker_classes: np.ndarray
    similarity: np.ndarray
    ignore_ioa: np.ndarray | None = None


class OverlapError(ValueError):
    """Two tracker masks of one frame share pixels (ground truth is checked when read)."""

    def __init__(self, frame: int, pair: tuple[Instance, Instance]):
        self.frame, self.pair = frame, pair
        super().__init__(
            f"masks of obj_id {pair[0].obj_id} and obj_id {pair[1].obj_id} overlap in frame "
            f"index {frame}"
        )


def sequence_frames(
    gt: list[Instance], tracker: list[Instance], *, num_frames: int
) -> list[FrameMasks]:
    """``FrameMasks`` of every frame of a sequence (0-based instances, any order; within a
    frame the input order is kept). Raises ``OverlapError`` for the first frame where two
    tracker masks share a pixel."""
    gt_objects = [inst for inst in gt if inst.class_id != IGNORE]
    ignore = [inst for inst in gt if inst.class_id == IGNORE]
    g_ids, g_classes, g_rles, g_bounds, gt_objects = _by_frame(gt_objects, num_frames)
    t_ids, t_classes, t_rles, t_bounds, tracker = _by_frame(tracker, num_frames)
    _, _, i_rles, i_bounds, _ = _by_frame(ignore, num_frames)
    frames = []
    for t in range(num_frames):
        g0, g1 = g_bounds[t], g_bounds[t + 1]
        t0, t1 = t_bounds[t], t_bounds[t + 1]
        if g0 == g1 and t0 == t1:
            frames.append(_EMPTY_FRAME)
            continue
        n_gt, n_tracker = g1 - g0, t1 - t0
        tracker_rles = t_rles[t0:t1]
        ignore_ioa = None
        i0, i1 = i_bounds[t], i_bounds[t + 1]
        if n_tracker and i0 < i1:
            # the ignore union as one more column, with iscrowd: intersection over the area of
            # the row's (tracker) mask, as TrackEval's do_ioa call computes it
            ignore_region = mask_utils.merge(i_rles[i0:i1], intersect=False)
            iou = np.asarray(
                mask_utils.iou(
                    g_rles[g0:g1] + tracker_rles,
                    [*tracker_rles, ignore_region],
                    [False] * n_tracker + [True],
                )
            )
            ignore_ioa = iou[n_gt:, n_tracker]
            iou = iou[:, :n_tracker]
        elif n_tracker and (n_gt or n_tracker > 1):
            iou = np.asarray(
                mask_utils.iou(g_rles[g0:g1] + tracker_rles, tracker_rles, [False] * n_tracker)
            )
        else:
            iou = None
        if iou is not None:
            similarity = iou[:n_gt]
            if n_tracker > 1:
                _check_exclusive(iou[n_gt:], tracker[t0:t1], t)
        else:
            similarity = np.zeros((n_gt, n_tracker), np.float64)
        frames.append(
            FrameMasks(
                gt_ids=g_ids[g0:g1],
                gt_classes=g_classes[g0:g1],
                tracker_ids=t_ids[t0:t1],
                tracker_classes=t_classes[t0:t1],
                similarity=similarity,
                ignore_ioa=ignore_ioa,
            )
        )
    return frames


_EMPTY = np.zeros(0, int)
_EMPTY_FRAME = FrameMasks(_EMPTY, _EMPTY, _EMPTY, _EMPTY, np.zeros((0, 0)))


def _by_frame(instances: list[Instance], num_frames: int):
    """Instances stably ordered by frame: ids, classes, rles, frame bounds, instances."""
    frames = np.fromiter((inst.frame for inst in instances), int, count=len(instances))
    order = np.argsort(frames, kind="stable")
    if len(order) and (order[1:] < order[:-1]).any():
        instances = [instances[k] for k in order]
        frames = frames[order]
    ids = np.fromiter((inst.obj_id for inst in instances), int, count=len(instances))
    classes = np.fromiter((inst.class_id for inst in instances), int, count=len(instances))
    bounds = np.searchsorted(frames, np.arange(num_frames + 1))
    return ids, classes, [inst.rle for inst in instances], bounds.tolist(), instances


def _check_exclusive(tracker_iou: np.ndarray, tracker: list[Instance], frame: int) -> None:
    """Raise ``OverlapError`` if an off-diagonal entry of the ``(T, T)`` IoU is positive."""
    if np.count_nonzero(tracker_iou) > np.count_nonzero(tracker_iou.diagonal()):
        i, j = np.argwhere(np.triu(tracker_iou > 0, k=1))[0]
        raise OverlapError(frame, (tracker[i], tracker[j]))


def unmatched_tracker_indices(similarity: np.ndarray) -> np.ndarray:
    """Columns of ``similarity`` ``(G, T)`` left unmatched by TrackEval's preprocessing match:
    Hungarian assignment maximising IoU among pairs with IoU >= 0.5. Returns sorted indices."""
    unmatched = np.arange(similarity.shape[1])
    if similarity.shape[0] == 0 or similarity.shape[1] == 0:
        return unmatched
    matching_scores = similarity.copy()
    matching_scores[matching_scores < MATCH_IOU_THRESHOLD - _EPS] = -10000
    match_rows, match_cols = linear_sum_assignment(-matching_scores)
    actually_matched = matching_scores[match_rows, match_cols] > 0 + _EPS
    return np.delete(unmatched, match_cols[actually_matched], axis=0)


def preprocess_sequence(
    frames: list[FrameMasks],
    *,
    class_id: int,
    seq: str = "",
    class_name: str = "",
) -> dict:
    """TrackEval's ``data`` dict for one sequence and one class.

    Args:
        frames: per timestep (the sequence length), from ``sequence_frames``.
        class_id: the MOTS class evaluated (1 car, 2 pedestrian).

    Returns:
        ``gt_ids``, ``tracker_ids`` (lists of ``(G_t,)`` / ``(T_t,)`` int arrays),
        ``similarity_scores`` (list of ``(G_t, T_t)`` float64), ``num_gt_dets``,
        ``num_tracker_dets``, ``num_gt_ids``, ``num_tracker_ids``, ``num_timesteps``, ``seq``,
        ``cls``: what ``trackeval.metrics`` classes read in ``eval_sequence``.
    """
    gt_ids_list, tracker_ids_list, similarity_list = [], [], []
    for f in frames:
        gt_sel = np.flatnonzero(f.gt_classes == class_id)
        tracker_sel = np.flatnonzero(f.tracker_classes == class_id)
        if len(gt_sel) == 0 and len(tracker_sel) == 0:
            continue
        similarity = f.similarity[gt_sel][:, tracker_sel]
        tracker_ids = f.tracker_ids[tracker_sel]
        if f.ignore_ioa is not None and len(tracker_sel):
            # TrackEval removes unmatched masks that are within the ignore region; finding the
            # ones within first spares the matching in most frames (same masks removed)
            within = f.ignore_ioa[tracker_sel] > IGNORE_IOA_THRESHOLD + _EPS
            if within.any():
                unmatched = unmatched_tracker_indices(similarity)
                to_remove = unmatched[within[unmatched]]
                if len(to_remove):
                    tracker_ids = np.delete(tracker_ids, to_remove, axis=0)
                    similarity = np.delete(similarity, to_remove, axis=1)
        if len(gt_sel) == 0 and len(tracker_ids) == 0:
            continue
        gt_ids_list.append(f.gt_ids[gt_sel])
        tracker_ids_list.append(tracker_ids)
        similarity_list.append(similarity)

    gt_ids_list, num_gt_ids = _relabel(gt_ids_list)
    tracker_ids_list, num_tracker_ids = _relabel(tracker_ids_list)
    return {
        "gt_ids": gt_ids_list,
        "tracker_ids": tracker_ids_list,
        "similarity_scores": similarity_list,
        "num_gt_dets": int(sum(len(ids) for ids in gt_ids_list)),
        "num_tracker_dets": int(sum(len(ids) for ids in tracker_ids_list)),
        "num_gt_ids": num_gt_ids,
        "num_tracker_ids": num_tracker_ids,
        "num_timesteps": len(frames),
        "seq": seq,
        "cls": class_name,
    }


def _relabel(ids_per_t: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Map ids to 0..n-1 in increasing order (TrackEval's relabelling); returns lists and n."""
    if not ids_per_t:
        return ids_per_t, 0
    unique = np.unique(np.concatenate(ids_per_t))
    return [np.searchsorted(unique, ids).astype(int) for ids in ids_per_t], len(unique)
