"""Tracker-like results made from ground truth by controlled perturbations.

For checking an evaluator against another (the cross-check with TrackEval) and for seeing how
each kind of tracking error moves each metric: dropped masks (misses), eroded and dilated masks
(worse localisation), identity swaps, track fragments with new ids, and false positives, some
of them inside ignore regions. Masks stay pixel-exclusive within a frame, as results must be.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import cv2
import numpy as np

from remots import masks
from remots.io.instances import IGNORE, Instance, group_by_frame, sort_instances, track_obj_id


def perturb_results(
    gt: Sequence[Instance],
    *,
    num_frames: int,
    rng: np.random.Generator,
    drop: float = 0.1,
    erode: float = 0.1,
    dilate: float = 0.1,
    swaps: int = 2,
    splits: int = 2,
    false_positives: float = 0.05,
    in_ignore: float = 0.5,
) -> list[Instance]:
    """Results from the ground truth ``gt`` (0-based instances; ignore regions are not copied).

    Args:
        drop: fraction of masks removed.
        erode, dilate: fraction of masks eroded / dilated by 1-4 pixels (dilation only into
            pixels no other mask of the frame holds).
        swaps: identity swaps: two tracks of one class exchange ids from a random frame on.
        splits: tracks cut in two at a random frame, the second part under a new id.
        false_positives: false positive masks added, as a fraction of the ground-truth masks.
        in_ignore: the fraction of false positives placed inside an ignore region when the frame
            has one (a box cut out of the region: all of it inside, or about half of it).

    Returns instances ordered by frame and obj_id.
    """
    objects = [inst for inst in gt if inst.class_id != IGNORE]
    ignore_by_frame = defaultdict(list)
    for inst in gt:
        if inst.class_id == IGNORE:
            ignore_by_frame[inst.frame].append(inst.rle)
    keep = rng.random(len(objects)) >= drop
    objects = [inst for inst, k in zip(objects, keep, strict=True) if k]
    objects = _swap_identities(objects, swaps, rng)
    ids = _NewIds({i.obj_id for i in objects})
    objects = _split_tracks(objects, splits, rng, ids)
    frames = group_by_frame(objects, num_frames)
    out: list[Instance] = []
    num_fp = round(false_positives * len(objects))
    fp_frames = np.sort(rng.integers(0, num_frames, size=num_fp))
    fp_per_frame = np.bincount(fp_frames, minlength=num_frames)
    for t, frame in enumerate(frames):
        frame = _reshape_masks(frame, erode, dilate, rng)
        for _ in range(int(fp_per_frame[t])):
            fp = _false_positive(frame, ignore_by_frame.get(t, []), in_ignore, rng, gt_any=gt)
            if fp is None:
                continue
            class_id = int(rng.choice([1, 2]))
            frame.append(Instance(t, ids.new(class_id), class_id, fp))
        out.extend(frame)
    return sort_instances(out)


def _swap_identities(objects: list[Instance], swaps: int, rng) -> list[Instance]:
    by_class = defaultdict(list)
    for class_id, obj_id in sorted({(i.class_id, i.obj_id) for i in objects}):
        by_class[class_id].append(obj_id)
    for _ in range(swaps):
        candidates = [ids for ids in by_class.values() if len(ids) >= 2]
        if not candidates:
            break
        ids = candidates[int(rng.integers(len(candidates)))]
        a, b = rng.choice(ids, size=2, replace=False)
        frames = sorted({i.frame for i in objects if i.obj_id in (a, b)})
        start = frames[int(rng.integers(len(frames)))]
        swap = {a: b, b: a}
        objects = [
            i.with_(obj_id=int(swap[i.obj_id])) if i.obj_id in swap and i.frame >= start else i
            for i in objects
        ]
    return objects


class _NewIds:
    """Unused obj_ids per class, numbered as results are (``track_obj_id``)."""

    def __init__(self, used: set[int]):
        self.used = set(used)
        self.next = defaultdict(int)

    def new(self, class_id: int) -> int:
        while track_obj_id(class_id, self.next[class_id]) in self.used:
            self.next[class_id] += 1
        obj_id = track_obj_id(class_id, self.next[class_id])
        self.used.add(obj_id)
        return obj_id


def _split_tracks(objects: list[Instance], splits: int, rng, new_ids: _NewIds) -> list[Instance]:
    for _ in range(splits):
        tracks = sorted({i.obj_id for i in objects})
        if not tracks:
            break
        victim = tracks[int(rng.integers(len(tracks)))]
        frames = sorted({i.frame for i in objects if i.obj_id == victim})
        if len(frames) < 2:
            continue
        start = frames[int(rng.integers(1, len(frames)))]
        class_id = next(i.class_id for i in objects if i.obj_id == victim)
        new_id = new_ids.new(class_id)
        objects = [
            i.with_(obj_id=new_id) if i.obj_id == victim and i.frame >= start else i
            for i in objects
        ]
    return objects


def _reshape_masks(frame: list[Instance], erode: float, dilate: float, rng) -> list[Instance]:
    """Erode or dilate some masks of one frame, keeping the frame's masks exclusive."""
    if not frame:
        return []
    draw = rng.random(len(frame))
    sizes = rng.integers(1, 5, size=len(frame))
    out = list(frame)
    for k, inst in enumerate(frame):
        if draw[k] < erode:
            op = cv2.erode
        elif draw[k] < erode + dilate:
            op = cv2.dilate
        else:
            continue
        kernel = np.ones((2 * sizes[k] + 1, 2 * sizes[k] + 1), np.uint8)
        m = op(masks.decode_one(inst.rle), kernel)
        if op is cv2.dilate and len(out) > 1:
            others = masks.decode_one(masks.union([o.rle for j, o in enumerate(out) if j != k]))
            m &= 1 - others
        out[k] = inst.with_(rle=masks.encode(m)[0])
    return [inst for inst in out if masks.area([inst.rle])[0] > 0]


def _false_positive(frame, ignore_rles, in_ignore, rng, gt_any) -> dict | None:
    """A mask where no result mask of the frame is: a box, inside an ignore region or not."""
    h, w = (gt_any[0].height, gt_any[0].width)
    taken = (
        masks.decode_one(masks.union([i.rle for i in frame]))
        if frame
        else np.zeros((h, w), np.uint8)
    )
    bh, bw = int(rng.integers(10, 60)), int(rng.integers(10, 60))
    if ignore_rles and rng.random() < in_ignore:
        region = masks.decode_one(masks.union(ignore_rles))
        ys, xs = np.nonzero(region)
        if len(ys) == 0:
            return None
        k = int(rng.integers(len(ys)))
        y0, x0 = max(0, ys[k] - bh // 2), max(0, xs[k] - bw // 2)
        box = np.zeros((h, w), np.uint8)
        box[y0 : y0 + bh, x0 : x0 + bw] = 1
        fully = rng.random() < 0.5
        m = box & region if fully else box
    else:
        y0, x0 = int(rng.integers(0, h - bh)), int(rng.integers(0, w - bw))
        m = np.zeros((h, w), np.uint8)
        m[y0 : y0 + bh, x0 : x0 + bw] = 1
    m &= 1 - taken
    if not m.any():
        return None
    return masks.encode(m)[0]
