"""Detections computed elsewhere: MOTSChallenge public detections, or any model's output.

The file of a sequence is found by formatting ``path`` with ``{seq_dir}`` (the sequence's folder
for MOTSChallenge, the dataset root for KITTI MOTS: ``Sequence.extra["seq_dir"]``) and ``{seq}``
(the sequence name). Formats:

- ``trackrcnn``: ``frame x1 y1 x2 y2 score class_id img_height img_width rle`` (TrackR-CNN /
  MOTS20 public detections, and what the detect stage itself writes);
- ``mots``: MOTS txt (``frame obj_id class_id h w rle``), every mask with score 1; another
  tracker's results in refine mode, its ids dropped or, with ``keep_ids``, kept as seeds of the
  short tracklets (the detect stage writes them to ``detections/<seq>.seeds.json``);
- ``coco``: COCO-results JSON, one file per sequence, ``image_id`` = frame number.

Frame numbers in the files follow the sequence's ``frame_base``.
"""

from __future__ import annotations

from pathlib import Path

from remots.detection.base import Detector
from remots.errors import ConfigError
from remots.io.detections import read_coco_results, read_detections_txt, read_mots_as_detections
from remots.io.instances import Instance
from remots.io.layouts import Video

FORMATS = ("trackrcnn", "mots", "coco")


class PrecomputedDetections(Detector):
    """Read a sequence's detections from ``path`` (a template) in ``format``."""

    def __init__(self, *, path: str, format: str = "trackrcnn", keep_ids: bool = False):
        if format not in FORMATS:
            raise ConfigError(
                f"unknown precomputed detections format {format!r} (expected one of {FORMATS})"
            )
        if keep_ids and format != "mots":
            raise ConfigError(
                f"detector.keep_ids=true needs format=mots (track ids), not {format!r}"
            )
        self.path = str(path)
        self.format = format
        self.keep_ids = bool(keep_ids)

    def file_of(self, seq: Video) -> Path:
        seq_dir = seq.extra.get("seq_dir")
        if "{seq_dir}" in self.path and seq_dir is None:
            raise ConfigError(
                f"detections path {self.path!r} uses {{seq_dir}} but sequence {seq.name} has no "
                "folder (a video or frame folder): give an explicit path with {seq}"
            )
        try:
            return Path(self.path.format(seq_dir=seq_dir, seq=seq.name))
        except (KeyError, IndexError) as err:
            raise ConfigError(
                f"detections path {self.path!r}: unknown placeholder {err} (use {{seq_dir}} and "
                "{seq})"
            ) from None

    def __call__(self, seq: Video) -> list[Instance]:
        path = self.file_of(seq)
        common = {"frame_base": seq.frame_base, "num_frames": seq.num_frames}
        if self.format == "trackrcnn":
            return read_detections_txt(path, image_size=seq.image_size, **common).instances()
        if self.format == "mots":
            return read_mots_as_detections(
                path, image_size=seq.image_size, keep_ids=self.keep_ids, **common
            )
        return read_coco_results(path, image_size=seq.image_size, **common)
