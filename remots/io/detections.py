"""Detections: masks with a score and a class, no identity yet.

The format remots writes (and reads) is the TrackR-CNN / MOTSChallenge public-detections text
format, one mask per line::

    frame x1 y1 x2 y2 score class_id img_height img_width rle

with the box as floats in pixels (``x2 = x + w``), ``score`` in [0, 1], the frame numbered from the
sequence's ``frame_base``. Masks of one frame may overlap (fusion removes that). Also read:
COCO-results JSON (``image_id``, ``category_id``, ``score``, ``segmentation``) and MOTS txt
(score 1, ids dropped).

In memory the fused detections of a sequence are ``Detections``: columns in which detection k is
row k (of the file, of the crop cache and of the appearance features). Raw detections, before
fusion, are ``Instance`` lists whose ``obj_id`` is the input's own id (another tracker's track id
in refine mode, else a running index that only keeps their order stable).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from remots import masks
from remots.errors import MOTSFormatError
from remots.io.atomic import atomic_open
from remots.io.instances import CAR, IGNORE, PEDESTRIAN, Instance
from remots.io.mots import read_mots_txt, read_text_lines

# COCO category ids of the classes MOTS tracks.
COCO_TO_MOTS = {1: PEDESTRIAN, 3: CAR}


@dataclass(frozen=True, eq=False)
class Detections:
    """The detections of one sequence as columns; detection k is row k of every field.

    frames: ``(N,)`` int64 0-based frame indices, non-decreasing as written.
    classes: ``(N,)`` int64 MOTS class ids.
    scores: ``(N,)`` float64 confidences in [0, 1].
    rles: N pycocotools RLE dicts of the sequence's image size.

    The row is the detection's key everywhere downstream: row k of the crop cache, of the
    appearance features and of ``tracklet_of_detection``.
    """

    frames: np.ndarray
    classes: np.ndarray
    scores: np.ndarray
    rles: list

    def __post_init__(self):
        n = len(self.rles)
        for name in ("frames", "classes", "scores"):
            if np.shape(getattr(self, name)) != (n,):
                raise ValueError(f"Detections.{name} must have one entry per mask ({n})")

    @classmethod
    def from_instances(cls, instances: Iterable[Instance]) -> Detections:
        """Columns of ``instances`` in their order (their ``obj_id`` is not kept)."""
        instances = list(instances)
        return cls(
            frames=np.array([i.frame for i in instances], np.int64),
            classes=np.array([i.class_id for i in instances], np.int64),
            scores=np.array([i.score for i in instances], np.float64),
            rles=[i.rle for i in instances],
        )

    def __len__(self) -> int:
        return len(self.rles)

    def subset(self, rows) -> Detections:
        """The detections at ``rows`` (an index array or a boolean mask), in that order."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, int)
        return Detections(
            self.frames[rows], self.classes[rows], self.scores[rows], [self.rles[k] for k in rows]
        )

    def rows_by_frame(self, num_frames: int | None = None) -> list[np.ndarray]:
        """Per frame 0 .. num_frames-1 (default: the last frame with a detection), the rows of its
        detections in row order."""
        if num_frames is None:
            num_frames = int(self.frames.max()) + 1 if len(self) else 0
        order = np.argsort(self.frames, kind="stable")
        bounds = np.searchsorted(self.frames[order], np.arange(num_frames + 1))
        return [order[bounds[t] : bounds[t + 1]] for t in range(num_frames)]

    def instances(self, obj_ids: Sequence[int] | np.ndarray | None = None) -> list[Instance]:
        """Row k as an ``Instance`` with ``obj_id = obj_ids[k]`` (default: k, a running index
        as raw detections carry)."""
        ids = range(len(self)) if obj_ids is None else obj_ids
        return [
            Instance(int(t), int(i), int(c), rle, float(s))
            for t, i, c, rle, s in zip(
                self.frames, ids, self.classes, self.rles, self.scores, strict=True
            )
        ]


def order_detections(raw: Iterable[Instance]) -> tuple[Detections, list[int]]:
    """Fused detections in the order they are written, by (frame, -score, input id), and the
    input id (``obj_id``) of each row: another tracker's track id in refine mode with seeds."""
    ordered = sorted(raw, key=lambda d: (d.frame, -d.score, d.obj_id))
    return Detections.from_instances(ordered), [d.obj_id for d in ordered]


def renumber(detections: Iterable[Instance]) -> list[Instance]:
    """Raw detections ordered by (frame, -score) with running ``obj_id`` 0, 1, 2, ..."""
    return order_detections(detections)[0].instances()


def write_detections_txt(
    path: str | Path, detections: Detections | Iterable[Instance], *, frame_base: int
) -> None:
    """Write detections (rows in order) in the TrackR-CNN text format, atomically."""
    if not isinstance(detections, Detections):
        detections = Detections.from_instances(detections)
    boxes = masks.bbox(detections.rles)
    rows = zip(
        detections.frames,
        detections.scores,
        detections.classes,
        detections.rles,
        boxes,
        strict=True,
    )
    with atomic_open(path, "w", encoding="ascii", newline="\n") as f:
        for t, score, class_id, rle, (x, y, w, h) in rows:
            height, width = rle["size"]
            f.write(
                f"{t + frame_base} {x:.1f} {y:.1f} {x + w:.1f} {y + h:.1f} "
                f"{float(score)!r} {class_id} {height} {width} {masks.rle_to_string(rle)}\n"
            )


def read_detections_txt(
    path: str | Path,
    *,
    frame_base: int,
    num_frames: int | None = None,
    image_size: tuple[int, int] | None = None,
    allowed_classes: Sequence[int] | None = (CAR, PEDESTRIAN),
) -> Detections:
    """Read TrackR-CNN-style detections (``frame x1 y1 x2 y2 score class h w rle``); row k of
    the result is the k-th mask line."""
    path = Path(path)
    out: list[Instance] = []
    size = tuple(image_size) if image_size is not None else None
    for lineno, raw in enumerate(read_text_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        fields = line.split(" ")
        if len(fields) != 10:
            raise MOTSFormatError(
                "expected 10 columns (frame x1 y1 x2 y2 score class_id img_height img_width "
                f"rle), found {len(fields)}",
                path,
                lineno,
            )
        try:
            frame = int(fields[0])
            score = float(fields[5])
            class_id, height, width = int(fields[6]), int(fields[7]), int(fields[8])
            [float(v) for v in fields[1:5]]
        except ValueError:
            raise MOTSFormatError(
                "non-numeric field in the first nine columns", path, lineno
            ) from None
        t = frame - frame_base
        if t < 0 or (num_frames is not None and t >= num_frames):
            raise MOTSFormatError(f"frame {frame} is outside the sequence", path, lineno)
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise MOTSFormatError(f"score {fields[5]} is not in [0, 1]", path, lineno)
        if allowed_classes is not None and class_id not in allowed_classes:
            raise MOTSFormatError(
                f"unknown class_id {class_id} (expected one of {sorted(allowed_classes)})",
                path,
                lineno,
            )
        if size is None:
            size = (height, width)
        elif (height, width) != size:
            raise MOTSFormatError(
                f"mask size {height}x{width} is not the image size {size[0]}x{size[1]}",
                path,
                lineno,
            )
        try:
            rle = masks.rle_from_string(fields[9], height, width)
        except (ValueError, UnicodeError) as err:
            raise MOTSFormatError(f"bad RLE: {err}", path, lineno) from None
        out.append(Instance(t, len(out), class_id, rle, score))
    return Detections.from_instances(out)


def read_mots_as_detections(
    path: str | Path,
    *,
    frame_base: int,
    num_frames: int | None = None,
    image_size: tuple[int, int] | None = None,
    keep_ids: bool = False,
) -> list[Instance]:
    """A MOTS txt (another tracker's results, or GT) as detections with score 1.

    Ignore regions are dropped. With ``keep_ids`` the original obj_id is kept in the running
    index's place (refine mode with short-tracklet seeds); by default ids are renumbered.
    """
    insts = read_mots_txt(path, frame_base=frame_base, num_frames=num_frames, image_size=image_size)
    dets = [i.with_(score=1.0) for i in insts if i.class_id != IGNORE]
    return dets if keep_ids else renumber(dets)


def read_coco_results(
    path: str | Path,
    *,
    image_size: tuple[int, int],
    frame_of_image: Mapping[int, int] | None = None,
    frame_base: int = 1,
    num_frames: int | None = None,
    category_map: Mapping[int, int] = COCO_TO_MOTS,
) -> list[Instance]:
    """Read COCO-results JSON (a list of ``{image_id, category_id, score, segmentation}``).

    ``frame_of_image`` maps ``image_id`` to a 0-based frame; without it ``image_id`` is the frame
    number counted from ``frame_base``. Categories outside ``category_map`` (COCO id -> MOTS
    class) are skipped; segmentations may be compressed RLE (string or bytes counts) or
    polygons.
    """
    path = Path(path)
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MOTSFormatError("COCO results file not found", path) from None
    except json.JSONDecodeError as err:
        raise MOTSFormatError(f"not valid JSON: {err.msg}", path, err.lineno) from None
    if not isinstance(records, list):
        raise MOTSFormatError("COCO results JSON must be a list of detections", path)
    height, width = image_size
    out: list[Instance] = []
    for k, rec in enumerate(records):
        where = f"record {k}"
        try:
            image_id = int(rec["image_id"])
            category = int(rec["category_id"])
            score = float(rec["score"])
            seg = rec["segmentation"]
        except (KeyError, TypeError, ValueError):
            raise MOTSFormatError(
                f"{where} lacks image_id, category_id, score or segmentation", path
            ) from None
        if category not in category_map:
            continue
        t = frame_of_image[image_id] if frame_of_image is not None else image_id - frame_base
        if t < 0 or (num_frames is not None and t >= num_frames):
            raise MOTSFormatError(f"{where}: image_id {image_id} is outside the sequence", path)
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise MOTSFormatError(f"{where}: score {score} is not in [0, 1]", path)
        rle = _coco_segmentation(seg, height, width, path, where)
        out.append(Instance(t, 0, category_map[category], rle, score))
    return renumber(out)


def _coco_segmentation(seg, height: int, width: int, path: Path, where: str) -> dict:
    if isinstance(seg, dict):
        size = list(seg.get("size", []))
        if size != [height, width]:
            raise MOTSFormatError(f"{where}: mask size {size} is not [{height}, {width}]", path)
        counts = seg.get("counts")
        if isinstance(counts, list):  # uncompressed RLE
            if sum(counts) != height * width or min(counts, default=0) < 0:
                raise MOTSFormatError(f"{where}: uncompressed RLE does not cover the image", path)
            from pycocotools import mask as mask_utils

            return mask_utils.frPyObjects(seg, height, width)
        if isinstance(counts, bytes):
            counts = counts.decode("ascii")
        try:
            return masks.rle_from_string(str(counts), height, width)
        except (ValueError, UnicodeError) as err:
            raise MOTSFormatError(f"{where}: bad RLE: {err}", path) from None
    if isinstance(seg, list):  # polygons
        from pycocotools import mask as mask_utils

        polys = [list(map(float, p)) for p in seg if len(p) >= 6]
        if not polys:
            raise MOTSFormatError(f"{where}: polygon segmentation with no polygon", path)
        return mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    raise MOTSFormatError(f"{where}: segmentation is neither RLE nor polygons", path)


def detections_to_coco_results(detections: Iterable[Instance], frame_base: int = 1) -> list:
    """Detections as COCO-results records (image_id = frame number), RLE counts as strings."""
    inverse = {v: k for k, v in COCO_TO_MOTS.items()}
    return [
        {
            "image_id": d.frame + frame_base,
            "category_id": inverse.get(d.class_id, d.class_id),
            "score": d.score,
            "segmentation": {"size": list(d.rle["size"]), "counts": masks.rle_to_string(d.rle)},
        }
        for d in detections
    ]
