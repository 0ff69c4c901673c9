"""RawDetections: masks with a score and a class, no identity yet.

The format remots writes (and reads) is the TrackR-CNN / MOTSChallenge public-detections text
format, one mask per line::

    frame x1 y1 x2 y2 score class_id img_height img_width rle

with the box as floats in pixels (``x2 = x + w``), ``score`` in [0, 1], the frame numbered from the
sequence's ``frame_base``. Masks of one frame may overlap (fusion removes that). Also read:

- COCO-results JSON (``image_id``, ``category_id``, ``score``, and ``segmentation`` as RLE or
  polygons, or only ``bbox``);
- MOTChallenge box CSV (``frame,id,bb_left,bb_top,bb_width,bb_height,conf,...``: MOT17 / MOT20
  ``det/det.txt``, or a ``gt.txt`` with its class column);
- MOTS txt (score 1, ids dropped).

Boxes without a mask get one drawn inside the box by ``remots.masks.box_masks`` (``box_rule``:
``shape``, the class's outline, by default; ``ellipse``; ``box``).

Classes: every reader of a format that carries classes takes a ``category_map`` (the file's
class id -> MOTS class id, 1 car / 2 pedestrian). RawDetections of a class outside the map are
dropped and counted, never silently: readers return a ``RawDetections`` list whose ``dropped``
(``DropCounts``) counts them by reason and class, fusion adds the detections it drops for their
score and their area, and ``require_detections_of_gt_classes`` fails a sequence where every
detection of a class that has ground truth was dropped (a wrong ``category_map``).

Raw detections, as readers and detector backends return them, are ``Instance`` lists
(``RawDetections``) whose ``obj_id`` is the input's own id (another tracker's track id in refine
mode, else a running index that only keeps their order stable). The fused detections of a
sequence are ``Detections``: columns in which detection k is row k (of the file, of the crop
cache and of the appearance features). Readers take the frames of part of a source with
``select`` (0-based indices into the whole source, ``Video.selection``): other frames are
skipped, kept ones renumbered.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from remots import masks
from remots.errors import ConfigError, InputError, MOTSFormatError
from remots.io.atomic import atomic_open
from remots.io.instances import CAR, CLASS_NAMES, IGNORE, PEDESTRIAN, Instance
from remots.io.mots import (
    check_image_size,
    frame_index,
    read_bytes,
    read_mots_txt,
    read_text_lines,
    text_lines,
)

# COCO category ids of the classes MOTS tracks.
COCO_TO_MOTS = {1: PEDESTRIAN, 3: CAR}
# MOTChallenge classes (the class column of MOT17 / MOT20 gt.txt): 1 pedestrian, 3 car.
MOTCHALLENGE_TO_MOTS = {1: PEDESTRIAN, 3: CAR}
# The TrackR-CNN text format already carries MOTS class ids.
TRACKRCNN_TO_MOTS = {CAR: CAR, PEDESTRIAN: PEDESTRIAN}

DROP_REASONS = {
    "class_not_tracked": "for their class",
    "score_below_threshold": "with a score under the threshold",
    "area_below_minimum": "with an area under the minimum",
}


# ----------------------------------------------------------------------------- drops


@dataclass
class DropCounts:
    """RawDetections dropped, counted by ``(reason, class)``.

    ``reason`` is one of ``DROP_REASONS``; the class is the file's own class id for
    ``class_not_tracked`` (it has no MOTS class) and the MOTS class id for the others.
    """

    counts: Counter = field(default_factory=Counter)

    def add(self, reason: str, class_id: int, n: int = 1) -> None:
        if reason not in DROP_REASONS:
            raise ValueError(f"unknown drop reason {reason!r} (expected one of {DROP_REASONS})")
        if n:
            self.counts[(reason, int(class_id))] += int(n)

    def merge(self, other: DropCounts | None) -> DropCounts:
        """Add ``other``'s counts to these; returns self."""
        if other is not None:
            self.counts.update(other.counts)
        return self

    def total(self, reason: str | None = None) -> int:
        return sum(n for (r, _), n in self.counts.items() if reason is None or r == reason)

    def by_class(self, reason: str) -> dict[int, int]:
        return {c: n for (r, c), n in sorted(self.counts.items()) if r == reason}

    def __bool__(self) -> bool:
        return self.total() > 0

    def summary(self) -> str:
        """One line: ``12 detections dropped: 10 for their class (file class 3: 10), 2 with a
        score under the threshold (pedestrian: 2)``; empty when nothing was dropped."""
        if not self:
            return ""
        parts = []
        for reason, words in DROP_REASONS.items():
            classes = self.by_class(reason)
            if not classes:
                continue
            if reason == "class_not_tracked":
                detail = ", ".join(f"file class {c}: {n}" for c, n in classes.items())
            else:
                detail = ", ".join(f"{CLASS_NAMES.get(c, c)}: {n}" for c, n in classes.items())
            parts.append(f"{sum(classes.values())} {words} ({detail})")
        return f"{self.total()} detections dropped: " + ", ".join(parts)


class RawDetections(list):
    """A list of raw detection ``Instance`` objects that carries the counts of the ones dropped
    on the way (``dropped``). It is a plain list everywhere else."""

    def __init__(self, items: Iterable[Instance] = (), dropped: DropCounts | None = None):
        super().__init__(items)
        self.dropped = dropped if dropped is not None else DropCounts()


def dropped_of(detections) -> DropCounts:
    """The drop counts carried by ``detections`` (empty for a plain list)."""
    return getattr(detections, "dropped", None) or DropCounts()


def require_detections_of_gt_classes(
    detections: Iterable[Instance],
    gt_class_counts: Mapping[int, int],
    *,
    dropped: DropCounts | None = None,
    sequence: str = "",
    source: str | Path | None = None,
) -> None:
    """Fail when a class that has ground truth in a sequence kept no detection at all.

    Args:
        detections: the detections kept (after fusion).
        gt_class_counts: MOTS class id -> number of GT masks of the class in the sequence
            (classes not tracked by the run left out).
        dropped: what was dropped on the way (default: ``detections.dropped``), for the message.
        sequence: the sequence's name; source: the detections' file, named in the error.

    Raises:
        InputError: naming the class, the GT count and what was dropped; the usual cause is a
        ``category_map`` that does not fit the file (e.g. a KITTI-style file, 1 car / 2
        pedestrian, read with COCO's 1 person / 3 car).
    """
    dropped = dropped if dropped is not None else dropped_of(detections)
    kept = Counter(d.class_id for d in detections)
    for class_id, n_gt in sorted(gt_class_counts.items()):
        if n_gt > 0 and kept[class_id] == 0:
            name = CLASS_NAMES.get(class_id, str(class_id))
            why = dropped.summary() or "the detections hold none of this class"
            raise InputError(
                f"sequence {sequence}: no {name} detection kept but the ground truth has "
                f"{n_gt} {name} masks ({why}): check detector.category_map and the fusion "
                "thresholds",
                source,
            )


def category_map_of(category_map: Mapping | None, default: Mapping[int, int]) -> dict[int, int]:
    """``category_map`` (file class id -> MOTS class id; keys may be digit strings, as from the
    command line) checked, or ``default``. A value of None drops the file class on purpose."""
    if category_map is None:
        return dict(default)
    if not isinstance(category_map, Mapping):
        raise ConfigError(
            f"category_map must map the file's class ids to MOTS class ids, got {category_map!r}"
        )
    out = {}
    for key, value in category_map.items():
        try:
            file_id = int(key)
            if isinstance(key, float) and not key.is_integer():
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigError(f"category_map key {key!r} is not an integer class id") from None
        if value is None:
            continue
        if isinstance(value, bool) or value not in (CAR, PEDESTRIAN):
            raise ConfigError(
                f"category_map maps {key!r} to {value!r}; MOTS classes are {CAR} (car) and "
                f"{PEDESTRIAN} (pedestrian), or null to drop"
            )
        out[file_id] = int(value)
    return out


@dataclass(frozen=True, eq=False)
class Detections:
    """The fused detections of one sequence as columns; detection k is row k of every field.

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
    """Order detections by (frame, -score) and give them running ``obj_id`` 0, 1, 2, ...
    (a ``RawDetections`` keeps its drop counts)."""
    out = renumber_keeping_ids(detections)[0]
    if isinstance(detections, RawDetections):
        return RawDetections(out, detections.dropped)
    return out


def renumber_keeping_ids(detections: Iterable[Instance]) -> tuple[list[Instance], list[int]]:
    """``renumber``, and the ``obj_id`` each renumbered detection had before (in refine mode with
    seeds, the other tracker's track id)."""
    ordered, input_ids = order_detections(detections)
    return ordered.instances(), input_ids


# ----------------------------------------------------------------------------- TrackR-CNN txt


def write_detections_txt(
    path: str | Path,
    detections: Detections | Iterable[Instance],
    *,
    frame_base: int,
    frame_step: int = 1,
) -> None:
    """Write detections (in row order) in the TrackR-CNN text format, atomically; frame ``t`` is
    numbered ``frame_base + t * frame_step``."""
    if isinstance(detections, Detections):
        detections = detections.instances()
    detections = list(detections)
    boxes = masks.bbox([d.rle for d in detections])
    with atomic_open(path, "w", encoding="ascii", newline="\n") as f:
        for d, (x, y, w, h) in zip(detections, boxes, strict=True):
            height, width = d.rle["size"]
            f.write(
                f"{frame_base + d.frame * frame_step} {x:.1f} {y:.1f} {x + w:.1f} {y + h:.1f} "
                f"{d.score!r} {d.class_id} {height} {width} {masks.rle_to_string(d.rle)}\n"
            )


def read_detections_txt(
    path: str | Path,
    *,
    frame_base: int,
    num_frames: int | None = None,
    image_size: tuple[int, int] | None = None,
    allowed_classes: Sequence[int] | None = (CAR, PEDESTRIAN),
    category_map: Mapping[int, int] | None = None,
    select: range | None = None,
    frame_step: int = 1,
) -> RawDetections:
    """Read TrackR-CNN-style detections (``frame x1 y1 x2 y2 score class h w rle``).

    Without ``category_map`` the file's classes are MOTS classes and a class outside
    ``allowed_classes`` is an error naming the line. With one, the file's class ids are mapped
    to MOTS classes and the ones outside the map are dropped and counted in the result's
    ``dropped``. ``select`` keeps only those 0-based frames (renumbered), ``frame_step``: the
    file numbers frame ``t`` as ``frame_base + t * frame_step``.
    """
    path = Path(path)
    mapping = None if category_map is None else category_map_of(category_map, {})
    out = RawDetections()
    size = tuple(image_size) if image_size is not None else None
    span = None if num_frames is None else (num_frames - 1) * frame_step + 1
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
        try:
            t = frame_index(frame, frame_base, span)
        except ValueError as err:
            raise MOTSFormatError(str(err), path, lineno) from None
        if t % frame_step:
            raise MOTSFormatError(
                f"frame {frame} is not one of the sequence's frames (every {frame_step}th from "
                f"{frame_base})",
                path,
                lineno,
            )
        t //= frame_step
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise MOTSFormatError(f"score {fields[5]} is not in [0, 1]", path, lineno)
        if mapping is not None:
            if class_id not in mapping:
                out.dropped.add("class_not_tracked", class_id)
                continue
            class_id = mapping[class_id]
        elif allowed_classes is not None and class_id not in allowed_classes:
            raise MOTSFormatError(
                f"unknown class_id {class_id} (expected one of {sorted(allowed_classes)}, or "
                "give a category_map)",
                path,
                lineno,
            )
        check_image_size(height, width, path, lineno)
        if size is None:
            size = (height, width)
        elif (height, width) != size:
            raise MOTSFormatError(
                f"mask size {height}x{width} is not the image size {size[0]}x{size[1]}",
                path,
                lineno,
            )
        if select is not None:
            if t not in select:
                continue
            t = select.index(t)
        try:
            rle = masks.rle_from_string(fields[9], height, width)
        except (ValueError, UnicodeError) as err:
            raise MOTSFormatError(f"bad RLE: {err}", path, lineno) from None
        out.append(Instance(t, len(out), class_id, rle, score))
    return out


def read_mots_as_detections(
    path: str | Path,
    *,
    frame_base: int,
    num_frames: int | None = None,
    image_size: tuple[int, int] | None = None,
    keep_ids: bool = False,
    select: range | None = None,
) -> RawDetections:
    """A MOTS txt (another tracker's results, or GT) as detections with score 1.

    Ignore regions are dropped. With ``keep_ids`` the original obj_id is kept in the running
    index's place (refine mode with short-tracklet seeds); by default ids are renumbered.
    ``select`` keeps only those 0-based frames, renumbered.
    """
    from remots.io.mots import select_frames

    insts = read_mots_txt(path, frame_base=frame_base, num_frames=num_frames, image_size=image_size)
    if select is not None:
        insts = select_frames(insts, select)
    dets = RawDetections(i.with_(score=1.0) for i in insts if i.class_id != IGNORE)
    return dets if keep_ids else renumber(dets)


# ----------------------------------------------------------------------------- COCO results

MAX_JSON_BYTES = 256 * 2**20  # a COCO-results file (Python's objects take ~10x the text)


def _strict_int(value, what: str) -> int:
    """``value`` as an int: a JSON integer, or a float with an integral value; anything else
    (1.7, "1", true, null) raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{what} is {value!r}, not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    raise ValueError(f"{what} is {value!r}, not an integer")


def _finite_number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} is {value!r}, not a number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} is {value}, not a finite number")
    return value


def read_coco_results(
    path: str | Path,
    *,
    image_size: tuple[int, int],
    frame_of_image: Mapping[int, int] | None = None,
    frame_base: int = 1,
    num_frames: int | None = None,
    category_map: Mapping[int, int] | None = None,
    select: range | None = None,
    box_rule: str = "shape",
) -> RawDetections:
    """Read COCO-results JSON: a list of ``{image_id, category_id, score, segmentation}``, or
    ``{image_id, category_id, score, bbox}`` for a box detector.

    ``frame_of_image`` maps ``image_id`` to a 0-based frame; without it ``image_id`` is the frame
    number counted from ``frame_base``. ``category_map`` maps the file's category ids to MOTS
    classes (default ``COCO_TO_MOTS``: 1 person, 3 car); others are dropped and counted in the
    result's ``dropped``. Segmentations may be compressed RLE (string or bytes counts),
    uncompressed RLE, or polygons; a record without one gets a mask drawn in its ``bbox``
    (``[x, y, w, h]``, pixels) by ``box_rule`` (``remots.masks.box_masks``).

    Checked, each error naming the file and the record (and its frame): ``image_id`` and
    ``category_id`` integers (1.7 is not frame 1), a finite score in [0, 1], polygons of finite
    coordinates in pairs, at least 3 points, within one image size of the image and of bounded
    length (pycocotools sizes its buffers by them: a NaN once took 20 GB), RLE covering the image.
    """
    path = Path(path)
    records = _coco_records(path)
    mapping = category_map_of(category_map, COCO_TO_MOTS)
    height, width = image_size
    out = RawDetections()
    boxed: list[tuple[int, int, float, list[float]]] = []  # (t, class, score, box)
    for k, rec in enumerate(records):
        where = f"record {k}"
        image_id, category, score = _coco_record_fields(rec, path, where)
        if frame_of_image is not None:
            if image_id not in frame_of_image:
                raise MOTSFormatError(f"{where}: image_id {image_id} is not a known image", path)
            frame = frame_of_image[image_id] + frame_base
        else:
            frame = image_id
        try:
            t = frame_index(frame, frame_base, num_frames)
        except ValueError as err:
            raise MOTSFormatError(f"{where}: image_id {image_id}: {err}", path) from None
        where = f"{where} (frame {frame})"
        if not 0.0 <= score <= 1.0:
            raise MOTSFormatError(f"{where}: score {score} is not in [0, 1]", path, frame=frame)
        if category not in mapping:
            out.dropped.add("class_not_tracked", category)
            continue
        seg = rec.get("segmentation")
        boxes_only = seg is None or (seg == [] and "bbox" in rec)
        if boxes_only:
            box = _coco_box(rec.get("bbox"), height, width, path, where, frame)
        else:
            rle = _coco_segmentation(seg, height, width, path, where, frame)
        if select is not None:
            if t not in select:
                continue
            t = select.index(t)
        if boxes_only:
            boxed.append((t, mapping[category], score, box))
        else:
            out.append(Instance(t, 0, mapping[category], rle, score))
    out.extend(_box_instances(boxed, height, width, box_rule))
    return renumber(out)


def _coco_records(path: Path) -> list:
    """The records of a COCO-results JSON file (bounded size, valid UTF-8, a list)."""
    data = read_bytes(path, limit=MAX_JSON_BYTES)
    text_lines(data, path)  # invalid UTF-8: an error naming the line
    try:
        records = json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as err:
        raise MOTSFormatError(f"not valid JSON: {err.msg}", path, err.lineno) from None
    except RecursionError:
        raise MOTSFormatError("not valid JSON: nested too deeply", path) from None
    if not isinstance(records, list):
        raise MOTSFormatError("COCO results JSON must be a list of detections", path)
    return records


def _coco_record_fields(rec, path: Path, where: str) -> tuple[int, int, float]:
    """``image_id``, ``category_id`` and ``score`` of one record, which must hold them and a
    segmentation or a bbox."""
    if not isinstance(rec, dict):
        raise MOTSFormatError(f"{where} is not a JSON object", path)
    missing = [key for key in ("image_id", "category_id", "score") if key not in rec]
    if missing or ("segmentation" not in rec and "bbox" not in rec):
        raise MOTSFormatError(
            f"{where} lacks {', '.join(missing) or 'both segmentation and bbox'} (expected "
            "image_id, category_id, score, and segmentation or bbox)",
            path,
        )
    try:
        return (
            _strict_int(rec["image_id"], "image_id"),
            _strict_int(rec["category_id"], "category_id"),
            _finite_number(rec["score"], "score"),
        )
    except ValueError as err:
        raise MOTSFormatError(f"{where}: {err}", path) from None


def _coco_box(box, height: int, width: int, path: Path, where: str, frame: int) -> list[float]:
    if not isinstance(box, list) or len(box) != 4:
        raise MOTSFormatError(f"{where}: bbox must be [x, y, w, h], found {box!r}"[:200], path)
    try:
        x, y, w, h = (_finite_number(v, "a bbox value") for v in box)
    except ValueError as err:
        raise MOTSFormatError(f"{where}: {err}", path, frame=frame) from None
    _check_box(x, y, w, h, height, width, path, where, frame)
    return [x, y, w, h]


def _check_box(x, y, w, h, height, width, path, where, frame=None, line=None) -> None:
    if w <= 0 or h <= 0:
        raise MOTSFormatError(
            f"{where}box width {w:g} and height {h:g} must be positive", path, line, frame
        )
    if x + w < -width or y + h < -height or x > 2 * width or y > 2 * height:
        raise MOTSFormatError(
            f"{where}box ({x:g}, {y:g}, {w:g}, {h:g}) lies far outside the {width}x{height} image",
            path,
            line,
            frame,
        )


# A polygon's perimeter (in pixels) may be at most this many times the image's width + height:
# pycocotools' rasteriser allocates 5 points per pixel of perimeter.
MAX_POLYGON_PERIMETER = 100


def _coco_segmentation(seg, height: int, width: int, path: Path, where: str, frame: int) -> dict:
    from pycocotools import mask as mask_utils

    if isinstance(seg, dict):
        size = seg.get("size")
        if size != [height, width]:
            raise MOTSFormatError(
                f"{where}: mask size {size!r} is not [{height}, {width}]"[:300], path, frame=frame
            )
        counts = seg.get("counts")
        if isinstance(counts, list):  # uncompressed RLE
            if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
                raise MOTSFormatError(
                    f"{where}: uncompressed RLE counts must be integers", path, frame=frame
                )
            if min(counts, default=0) < 0 or sum(counts) != height * width:
                raise MOTSFormatError(
                    f"{where}: uncompressed RLE does not cover the image", path, frame=frame
                )
            return mask_utils.frPyObjects(seg, height, width)
        if isinstance(counts, bytes):
            counts = counts.decode("ascii", errors="replace")
        if not isinstance(counts, str):
            raise MOTSFormatError(
                f"{where}: RLE counts must be a string or a list of integers", path, frame=frame
            )
        try:
            return masks.rle_from_string(counts, height, width)
        except (ValueError, UnicodeError) as err:
            raise MOTSFormatError(f"{where}: bad RLE: {err}", path, frame=frame) from None
    if isinstance(seg, list):  # polygons
        if not seg:
            raise MOTSFormatError(
                f"{where}: polygon segmentation with no polygon", path, frame=frame
            )
        polys = []
        perimeter = 0.0
        for j, poly in enumerate(seg):
            if not isinstance(poly, list):
                raise MOTSFormatError(
                    f"{where}: polygon {j} is {type(poly).__name__} {poly!r}, not a list of "
                    "x, y numbers"[:300],
                    path,
                    frame=frame,
                )
            if len(poly) < 6 or len(poly) % 2:
                raise MOTSFormatError(
                    f"{where}: polygon {j} has {len(poly)} numbers; a polygon is x, y pairs of at "
                    "least 3 points",
                    path,
                    frame=frame,
                )
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in poly):
                raise MOTSFormatError(
                    f"{where}: polygon {j} holds something other than numbers", path, frame=frame
                )
            xy = np.asarray(poly, np.float64).reshape(-1, 2)
            if not np.isfinite(xy).all():
                raise MOTSFormatError(
                    f"{where}: polygon {j} has a coordinate that is not finite (NaN or infinity)",
                    path,
                    frame=frame,
                )
            if (
                (xy[:, 0] < -width).any()
                or (xy[:, 0] > 2 * width).any()
                or (xy[:, 1] < -height).any()
                or (xy[:, 1] > 2 * height).any()
            ):
                raise MOTSFormatError(
                    f"{where}: polygon {j} reaches more than one image size outside the "
                    f"{width}x{height} image",
                    path,
                    frame=frame,
                )
            perimeter += float(np.abs(np.diff(np.vstack([xy, xy[:1]]), axis=0)).max(axis=1).sum())
            polys.append(xy.ravel().tolist())
        if perimeter > MAX_POLYGON_PERIMETER * (height + width):
            raise MOTSFormatError(
                f"{where}: polygons {perimeter:.0f} pixels long, more than "
                f"{MAX_POLYGON_PERIMETER} x (width + height) of the image",
                path,
                frame=frame,
            )
        return mask_utils.merge(mask_utils.frPyObjects(polys, height, width))
    raise MOTSFormatError(
        f"{where}: segmentation is neither RLE nor polygons (found {type(seg).__name__})",
        path,
        frame=frame,
    )


def detections_to_coco_results(
    detections: Iterable[Instance], frame_base: int = 1, *, boxes_only: bool = False
) -> list:
    """RawDetections as COCO-results records (image_id = frame number), RLE counts as strings;
    ``boxes_only`` writes ``bbox`` (the mask's box) instead of the segmentation."""
    inverse = {v: k for k, v in COCO_TO_MOTS.items()}
    detections = list(detections)
    boxes = masks.bbox([d.rle for d in detections])
    out = []
    for d, box in zip(detections, boxes, strict=True):
        rec = {
            "image_id": d.frame + frame_base,
            "category_id": inverse.get(d.class_id, d.class_id),
            "score": d.score,
        }
        if boxes_only:
            rec["bbox"] = [float(v) for v in box]
        else:
            rec["segmentation"] = {
                "size": list(d.rle["size"]),
                "counts": masks.rle_to_string(d.rle),
            }
        out.append(rec)
    return out


# ----------------------------------------------------------------------------- MOTChallenge CSV


def read_mot_csv(
    path: str | Path,
    *,
    image_size: tuple[int, int],
    frame_base: int = 1,
    num_frames: int | None = None,
    class_id: int = PEDESTRIAN,
    category_map: Mapping[int, int] | None = None,
    select: range | None = None,
    box_rule: str = "shape",
) -> RawDetections:
    """Read MOTChallenge box detections, ``frame,id,bb_left,bb_top,bb_width,bb_height,conf,...``
    (MOT16 / MOT17 / MOT20 ``det/det.txt``, any line order), as masks drawn in the boxes.

    Columns: 7 (``det.txt``), 10 (``det.txt`` with the three world coordinates, -1): every box is
    of class ``class_id`` (pedestrian: MOTChallenge detections are of people). 9 (a ``gt.txt``:
    ``...,conf,class,visibility``): the 8th column is the class, mapped by ``category_map``
    (default ``MOTCHALLENGE_TO_MOTS``: 1 pedestrian, 3 car; others dropped and counted); its
    ``conf`` is the 0/1 "consider" flag, read as the score. Boxes are 1-based as in MOTChallenge
    (the top-left pixel is (1, 1)) and turned into 0-based pixel boxes; the mask inside follows
    ``box_rule`` (``remots.masks.box_masks``). The score must be in [0, 1].
    """
    path = Path(path)
    if class_id not in (CAR, PEDESTRIAN):
        raise ConfigError(f"class_id {class_id} is not a MOTS class ({CAR} car, {PEDESTRIAN} ped)")
    mapping = category_map_of(category_map, MOTCHALLENGE_TO_MOTS)
    height, width = image_size
    out = RawDetections()
    rows: list[tuple[int, int, float, list[float]]] = []
    for lineno, raw in enumerate(read_text_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) not in (7, 9, 10):
            raise MOTSFormatError(
                "expected 7, 9 or 10 comma-separated columns (frame,id,bb_left,bb_top,"
                f"bb_width,bb_height,conf[,class,visibility | ,x,y,z]), found {len(fields)}",
                path,
                lineno,
            )
        try:
            frame_value = float(fields[0])
            x, y, w, h, score = (float(v) for v in fields[2:7])
            file_class = int(float(fields[7])) if len(fields) == 9 else None
        except ValueError:
            raise MOTSFormatError(
                f"non-numeric field in {','.join(fields[:8])!r}"[:200], path, lineno
            ) from None
        if not frame_value.is_integer():
            raise MOTSFormatError(f"frame {fields[0]} is not an integer", path, lineno)
        if not all(math.isfinite(v) for v in (x, y, w, h, score)):
            raise MOTSFormatError("a box or score value is not finite", path, lineno)
        frame = int(frame_value)
        try:
            t = frame_index(frame, frame_base, num_frames)
        except ValueError as err:
            raise MOTSFormatError(str(err), path, lineno) from None
        if not 0.0 <= score <= 1.0:
            raise MOTSFormatError(
                f"conf {fields[6]} is not in [0, 1] (rescale the detector's scores)", path, lineno
            )
        _check_box(x - 1, y - 1, w, h, height, width, path, "", line=lineno)
        if file_class is None:
            cls = class_id
        elif file_class in mapping:
            cls = mapping[file_class]
        else:
            out.dropped.add("class_not_tracked", file_class)
            continue
        if select is not None:
            if t not in select:
                continue
            t = select.index(t)
        rows.append((t, cls, score, [x - 1, y - 1, w, h]))
    rows.sort(key=lambda r: r[0])
    out.extend(_box_instances(rows, height, width, box_rule))
    return renumber(out)


def _box_instances(rows: list, height: int, width: int, box_rule: str) -> list[Instance]:
    """Instances of ``(frame, class_id, score, box)`` rows, each mask drawn inside its box by
    ``box_rule`` (``masks.box_masks``)."""
    if not rows:
        return []
    rles = masks.box_masks(
        np.array([b for *_, b in rows]),
        height,
        width,
        rule=box_rule,
        class_ids=[c for _, c, _, _ in rows],
    )
    return [Instance(t, 0, c, rle, s) for (t, c, s, _), rle in zip(rows, rles, strict=True)]


def scores(detections: Sequence[Instance]) -> np.ndarray:
    return np.array([d.score for d in detections], np.float64)
