"""Detections: masks with a score and a class, no identity yet.

The format remots writes (and reads) is the TrackR-CNN / MOTSChallenge public-detections text
format, one mask per line::

    frame x1 y1 x2 y2 score class_id img_height img_width rle

with the box as floats in pixels (``x2 = x + w``), ``score`` in [0, 1], the frame numbered from the
sequence's ``frame_base``. Masks of one frame may overlap (fusion removes that). Also read:
COCO-results JSON (``image_id``, ``category_id``, ``score``, ``segmentation``) and MOTS txt
(score 1, ids dropped).

In memory a detection is an ``Instance`` whose ``obj_id`` is its running index in the sequence
(0, 1, 2, ... in frame order), so every detection has a stable key ``(sequence, obj_id)``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from remots import masks
from remots.errors import MOTSFormatError
from remots.io.atomic import atomic_open
from remots.io.instances import CAR, IGNORE, PEDESTRIAN, Instance
from remots.io.mots import read_mots_txt, read_text_lines

# COCO category ids of the classes MOTS tracks.
COCO_TO_MOTS = {1: PEDESTRIAN, 3: CAR}


def renumber(detections: Iterable[Instance]) -> list[Instance]:
    """Order detections by (frame, -score) and give them running ``obj_id`` 0, 1, 2, ..."""
    return renumber_keeping_ids(detections)[0]


def renumber_keeping_ids(detections: Iterable[Instance]) -> tuple[list[Instance], list[int]]:
    """``renumber``, and the ``obj_id`` each renumbered detection had before (in refine mode with
    seeds, the other tracker's track id)."""
    ordered = sorted(detections, key=lambda d: (d.frame, -d.score, d.obj_id))
    return [d.with_(obj_id=k) for k, d in enumerate(ordered)], [d.obj_id for d in ordered]


def write_detections_txt(
    path: str | Path, detections: Iterable[Instance], *, frame_base: int
) -> None:
    """Write detections in the TrackR-CNN text format, atomically."""
    detections = list(detections)
    boxes = masks.bbox([d.rle for d in detections])
    with atomic_open(path, "w", encoding="ascii", newline="\n") as f:
        for d, (x, y, w, h) in zip(detections, boxes, strict=True):
            height, width = d.rle["size"]
            f.write(
                f"{d.frame + frame_base} {x:.1f} {y:.1f} {x + w:.1f} {y + h:.1f} "
                f"{d.score!r} {d.class_id} {height} {width} {masks.rle_to_string(d.rle)}\n"
            )


def read_detections_txt(
    path: str | Path,
    *,
    frame_base: int,
    num_frames: int | None = None,
    image_size: tuple[int, int] | None = None,
    allowed_classes: Sequence[int] | None = (CAR, PEDESTRIAN),
) -> list[Instance]:
    """Read TrackR-CNN-style detections (``frame x1 y1 x2 y2 score class h w rle``)."""
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
    return out


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


def scores(detections: Sequence[Instance]) -> np.ndarray:
    return np.array([d.score for d in detections], np.float64)
