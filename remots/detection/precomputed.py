"""RawDetections computed elsewhere: MOTSChallenge public detections, or any model's output.

The file of a sequence is found by formatting ``path`` with ``{seq_dir}`` (the sequence's folder
for MOTSChallenge, the dataset root for KITTI MOTS: ``Video.extra["seq_dir"]``) and ``{seq}``
(the sequence name); two sequences that get the same file are an error (a template without
``{seq}``). Formats:

- ``trackrcnn``: ``frame x1 y1 x2 y2 score class_id img_height img_width rle`` (TrackR-CNN /
  MOTS20 public detections, and what the detect stage itself writes);
- ``mots``: MOTS txt (``frame obj_id class_id h w rle``), every mask with score 1; another
  tracker's results in refine mode, its ids dropped or, with ``keep_ids``, kept as seeds of the
  short tracklets (the detect stage writes them to ``detections/<seq>.seeds.json``);
- ``coco``: COCO-results JSON, one file per sequence, ``image_id`` = frame number; masks as RLE
  or polygons, or boxes only (``bbox``);
- ``mot``: MOTChallenge box CSV (MOT17 / MOT20 ``det/det.txt``: ``frame,id,x,y,w,h,conf,...``).

Boxes without a mask get one drawn inside the box by ``box_rule`` (``shape``: the class's
outline; ``ellipse``; ``box``; see ``remots.masks.box_masks`` for the measured IoUs).
``category_map`` maps the file's class ids to MOTS classes (1 car, 2 pedestrian) for every format
that carries classes (defaults: COCO 1 person -> 2, 3 car -> 1; TrackR-CNN its own ids; MOT CSV
gt-style class column 1 -> 2, 3 -> 1); detections of other classes are dropped and counted in
the result's ``dropped``. ``class_id`` is the class of MOT CSV boxes without a class column.

Frame numbers in the files follow the source's numbering (``frame_base``); for part of a source
(``data.start`` / ``stop`` / ``stride``) only the selected frames are kept, renumbered.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from remots.detection.base import Detector
from remots.errors import ConfigError
from remots.io.detections import (
    RawDetections,
    category_map_of,
    read_coco_results,
    read_detections_txt,
    read_mot_csv,
    read_mots_as_detections,
)
from remots.io.layouts import Video
from remots.masks import BOX_MASK_RULES

FORMATS = ("trackrcnn", "mots", "coco", "mot")


class PrecomputedDetections(Detector):
    """Read a sequence's detections from ``path`` (a template) in ``format``."""

    def __init__(
        self,
        *,
        path: str,
        format: str = "trackrcnn",
        keep_ids: bool = False,
        category_map: Mapping[int, int] | None = None,
        box_rule: str = "shape",
        class_id: int = 2,
    ):
        if format not in FORMATS:
            raise ConfigError(
                f"unknown precomputed detections format {format!r} (expected one of {FORMATS})"
            )
        if keep_ids and format != "mots":
            raise ConfigError(
                f"detector.keep_ids=true needs format=mots (track ids), not {format!r}"
            )
        if category_map is not None and format == "mots":
            raise ConfigError("detector.category_map does not apply to format=mots (MOTS ids)")
        if box_rule not in BOX_MASK_RULES:
            raise ConfigError(f"detector.box_rule={box_rule!r} is not one of {BOX_MASK_RULES}")
        if class_id not in (1, 2):
            raise ConfigError(f"detector.class_id={class_id!r} is not 1 (car) or 2 (pedestrian)")
        self.path = str(path)
        self.format = format
        self.keep_ids = bool(keep_ids)
        self.category_map = None if category_map is None else category_map_of(category_map, {})
        self.box_rule = box_rule
        self.class_id = int(class_id)
        self._file_owner: dict[Path, str] = {}
        self.file_of_template_check()

    def file_of_template_check(self) -> None:
        try:
            self.path.format(seq_dir="", seq="")
        except (KeyError, IndexError) as err:
            raise ConfigError(
                f"detector.path {self.path!r}: unknown placeholder {err} (use {{seq_dir}} and "
                "{seq})"
            ) from None
        except ValueError as err:
            raise ConfigError(
                f"detector.path {self.path!r} is not a valid template ({err}; a literal brace "
                "is written {{ or }})"
            ) from None

    def file_of(self, seq: Video) -> Path:
        seq_dir = seq.extra.get("seq_dir")
        if "{seq_dir}" in self.path and seq_dir is None:
            raise ConfigError(
                f"detections path {self.path!r} uses {{seq_dir}} but sequence {seq.name} has no "
                "folder (a video or frame folder): give an explicit path with {seq}"
            )
        path = Path(self.path.format(seq_dir=seq_dir, seq=seq.name))
        owner = self._file_owner.setdefault(path, seq.name)
        if owner != seq.name:
            raise ConfigError(
                f"detector.path {self.path!r} gives the same file {path} to sequences {owner} "
                f"and {seq.name}: put {{seq}} or {{seq_dir}} in it"
            )
        return path

    def __call__(self, seq: Video) -> RawDetections:
        path = self.file_of(seq)
        # read in the source's numbering, keep the sequence's frames
        common = {
            "frame_base": seq.source_base,
            "num_frames": seq.source_length,
            "select": seq.selection,
        }
        if self.format == "trackrcnn":
            return read_detections_txt(
                path, image_size=seq.image_size, category_map=self.category_map, **common
            )
        if self.format == "mots":
            return read_mots_as_detections(
                path, image_size=seq.image_size, keep_ids=self.keep_ids, **common
            )
        boxes = {"category_map": self.category_map, "box_rule": self.box_rule}
        if self.format == "coco":
            return read_coco_results(path, image_size=seq.image_size, **boxes, **common)
        return read_mot_csv(
            path, image_size=seq.image_size, class_id=self.class_id, **boxes, **common
        )
