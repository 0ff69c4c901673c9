"""The in-memory form of MOTS masks: ``Instance`` (one mask in one frame) and the class ids.

Every reader (``remots.io.mots``, ``remots.io.detections``) returns instances with 0-based frames;
the file numbering lives with the sequence (``Video.frame_base``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

CAR = 1
PEDESTRIAN = 2
IGNORE = 10
CLASS_NAMES = {CAR: "car", PEDESTRIAN: "pedestrian", IGNORE: "ignore"}
CLASS_IDS = {name: cid for cid, name in CLASS_NAMES.items()}


@dataclass(frozen=True, slots=True, eq=False)
class Instance:
    """One object mask in one frame.

    frame: 0-based frame index within its sequence.
    obj_id: track id (``class_id * 1000 + instance`` in GT and results; a per-sequence running
        index for detections, which have no identity yet).
    class_id: 1 car, 2 pedestrian, 10 ignore region.
    rle: pycocotools compressed RLE of the mask.
    score: detection confidence (1.0 for GT and results).
    """

    frame: int
    obj_id: int
    class_id: int
    rle: dict
    score: float = 1.0

    @property
    def height(self) -> int:
        return int(self.rle["size"][0])

    @property
    def width(self) -> int:
        return int(self.rle["size"][1])

    def with_(self, **changes) -> Instance:
        return replace(self, **changes)


def group_by_frame(instances: Iterable[Instance], num_frames: int) -> list[list[Instance]]:
    """Per-frame lists of instances, ``num_frames`` long, in input order within a frame."""
    frames: list[list[Instance]] = [[] for _ in range(num_frames)]
    for inst in instances:
        frames[inst.frame].append(inst)
    return frames


def sort_instances(instances: Iterable[Instance]) -> list[Instance]:
    """Instances ordered by frame, then obj_id: the canonical order of written results."""
    return sorted(instances, key=lambda i: (i.frame, i.obj_id))


def track_obj_id(class_id: int, n: int) -> int:
    """The obj_id of the ``n``-th track (0-based) of a class in written results.

    ``class_id * 1000 + n + 1`` as MOTS tools expect (class = obj_id // 1000) while n < 999;
    a sequence with more tracks of one class continues at ``class_id * 1_000_000 + n + 1``, which
    stays unique per sequence (TrackEval reads the class from its own column).
    """
    if n < 999:
        return class_id * 1000 + n + 1
    return class_id * 1_000_000 + n + 1
