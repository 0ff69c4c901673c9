"""Exports of tracking results in the formats other tools read, and the reader of results given
as MOTS txt files or MOTS png folders.

- MOTS txt per sequence (``<folder>/<seq>.txt``), as TrackEval's ``MOTSChallenge`` and
  ``KittiMOTS`` read it; with ``mots_tools_names`` a MOTSChallenge sequence is named by its
  number (``MOTS20-09`` -> ``0009.txt``), the only name mots_tools' MOTSChallenge evaluation
  finds.
- MOTS png folders (``<folder>/<seq>/<frame>.png``): one 16-bit single-channel image per frame
  of the sequence (every frame, empty ones all 0), pixel = obj_id, 0 background; the frame
  number as the sequence's files write it, 6 digits (``000000.png`` for KITTI MOTS,
  ``000001.png`` for MOTSChallenge). obj_ids must fit 16 bits (1..65535).
- MOTChallenge box CSV (``<folder>/<seq>.txt``): each mask's tight box,
  ``frame,id,bb_left,bb_top,bb_width,bb_height,conf,-1,-1,-1`` as MOT17 / MOT20 trackers write
  them for TrackEval's ``MotChallenge2DBox``: frames 1-based over the whole source (source index
  + 1, so a KITTI frame 0 is 1), boxes 1-based (the top-left pixel is (1, 1)), conf 1. One class
  (pedestrian by default): the benchmark has no other.

Every writer is atomic per file and returns the paths it wrote. Instances are 0-based in
memory (``Instance.frame`` indexes the sequence's frames); the sequence gives the numbering.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from remots import masks
from remots.errors import ConfigError, MOTSFormatError
from remots.io.atomic import atomic_open
from remots.io.frames import read_image
from remots.io.instances import PEDESTRIAN, Instance, group_by_frame, sort_instances
from remots.io.mots import (
    id_map_to_instances,
    instances_to_id_map,
    read_mots_txt,
    write_mots_png,
    write_mots_txt,
)


def mots_tools_name(sequence: str) -> str:
    """The name mots_tools gives a sequence's results file: its trailing number on 4 digits
    (``MOTS20-09`` -> ``0009``, KITTI's ``0009`` unchanged)."""
    match = re.search(r"(\d+)$", sequence)
    if match is None:
        raise ConfigError(
            f"sequence {sequence!r} does not end with a number: mots_tools names results files "
            "by the sequence's number (MOTS20-09 -> 0009.txt)"
        )
    return f"{int(match.group(1)):04d}"


def _named(sequences, tracks: Mapping[str, Sequence[Instance]]):
    by_name = {seq.name: seq for seq in sequences}
    unknown = sorted(set(tracks) - set(by_name))
    if unknown:
        raise ValueError(f"tracks of sequences not given: {unknown}")
    return [(by_name[name], list(tracks[name])) for name in sorted(tracks)]


def export_mots_txt(
    folder: str | Path,
    tracks: Mapping[str, Sequence[Instance]],
    sequences: Iterable,
    *,
    mots_tools_names: bool = False,
) -> list[Path]:
    """Write ``<folder>/<seq>.txt`` (or ``<number>.txt`` with ``mots_tools_names``) for every
    sequence of ``tracks`` (name -> instances), numbered as the sequence's files, ordered by
    frame then obj_id."""
    folder = Path(folder)
    written = []
    names: dict[str, str] = {}
    for seq, instances in _named(sequences, tracks):
        name = mots_tools_name(seq.name) if mots_tools_names else seq.name
        if name in names:
            raise ConfigError(
                f"sequences {names[name]} and {seq.name} would both be written as {name}.txt"
            )
        names[name] = seq.name
        path = folder / f"{name}.txt"
        write_mots_txt(
            path,
            sort_instances(instances),
            frame_base=seq.frame_base,
            frame_step=getattr(seq, "frame_step", 1),
        )
        written.append(path)
    return written


def export_mots_png(
    folder: str | Path, tracks: Mapping[str, Sequence[Instance]], sequences: Iterable
) -> list[Path]:
    """Write ``<folder>/<seq>/<frame>.png`` for every frame of every sequence of ``tracks``
    (MOTS png: 16-bit, pixel = obj_id); returns the sequence folders."""
    folder = Path(folder)
    written = []
    for seq, instances in _named(sequences, tracks):
        seq_dir = folder / seq.name
        seq_dir.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(group_by_frame(instances, seq.num_frames)):
            label = seq.frame_label(t)
            path = seq_dir / f"{label:06d}.png"
            write_mots_png(
                path, instances_to_id_map(frame, seq.height, seq.width, path=path, frame=label)
            )
        written.append(seq_dir)
    return written


def export_mot_boxes(
    folder: str | Path,
    tracks: Mapping[str, Sequence[Instance]],
    sequences: Iterable,
    *,
    class_id: int = PEDESTRIAN,
) -> list[Path]:
    """Write ``<folder>/<seq>.txt`` in the MOTChallenge box CSV: the tight box of every mask of
    class ``class_id`` (other classes left out), frames ``source index + 1``, 1-based boxes."""
    folder = Path(folder)
    written = []
    for seq, instances in _named(sequences, tracks):
        kept = [i for i in sort_instances(instances) if i.class_id == class_id]
        boxes = masks.bbox([i.rle for i in kept])
        path = folder / f"{seq.name}.txt"
        with atomic_open(path, "w", encoding="ascii", newline="\n") as f:
            for inst, (x, y, w, h) in zip(kept, boxes, strict=True):
                if w == 0:  # an empty mask has no box
                    continue
                frame = seq.source_index(inst.frame) + 1
                f.write(f"{frame},{inst.obj_id},{x + 1:g},{y + 1:g},{w:g},{h:g},1,-1,-1,-1\n")
        written.append(path)
    return written


# ----------------------------------------------------------------------------- reading results


def find_results(results_dir: str | Path, sequence: str) -> Path | None:
    """The results of ``sequence`` in ``results_dir``: ``<seq>.txt``, else a MOTS png folder
    ``<seq>/``, else mots_tools' numeric ``<number>.txt``; None when there is none."""
    results_dir = Path(results_dir)
    txt = results_dir / f"{sequence}.txt"
    if txt.exists() and not txt.is_dir():  # a link to /dev/zero too: its reader refuses it
        return txt
    if (results_dir / sequence).is_dir():
        return results_dir / sequence
    try:
        numbered = results_dir / f"{mots_tools_name(sequence)}.txt"
    except ConfigError:
        return None
    return numbered if numbered.is_file() else None


def read_mots_png_results(folder: str | Path, seq) -> list[Instance]:
    """A MOTS png folder of ``seq``'s results as instances ordered by frame, obj_id (class =
    obj_id // 1000). Frames are named by their number (``000001.png``, numbered as the
    sequence's files); a frame without a file has no object. Errors name the file."""
    folder = Path(folder)
    step = getattr(seq, "frame_step", 1)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".png")
    if not files:
        raise MOTSFormatError("no MOTS png frames (*.png) in the folder", folder)
    frames = []
    for path in files:  # every name checked before any image is read
        if not path.stem.isdigit():
            raise MOTSFormatError("a MOTS png is named by its frame number (000001.png)", path)
        number = int(path.stem)
        offset = number - seq.frame_base
        if offset < 0 or offset % step or offset // step >= seq.num_frames:
            last = seq.frame_label(seq.num_frames - 1)
            raise MOTSFormatError(
                f"frame {number} is not a frame of sequence {seq.name} ({seq.frame_base}.."
                f"{last}, every {step})",
                path,
                frame=number,
            )
        frames.append((path, number, offset // step))
    out: list[Instance] = []
    for path, number, t in frames:
        id_map = read_image(path, frame=number, flags=cv2.IMREAD_UNCHANGED)
        if id_map.ndim != 2 or id_map.dtype != np.uint16:
            raise MOTSFormatError(
                f"a MOTS png is 16-bit single-channel, found {id_map.dtype} with shape "
                f"{id_map.shape}",
                path,
                frame=number,
            )
        if id_map.shape != (seq.height, seq.width):
            raise MOTSFormatError(
                f"image is {id_map.shape[0]}x{id_map.shape[1]}, the sequence's frames are "
                f"{seq.height}x{seq.width}",
                path,
                frame=number,
            )
        out.extend(id_map_to_instances(id_map, t))
    return out


def read_results(path: str | Path, seq) -> list[Instance]:
    """Results of ``seq`` from a MOTS txt file or a MOTS png folder (``find_results``), 0-based,
    checked against the sequence (frames, image size, overlaps)."""
    path = Path(path)
    if path.is_dir():
        return read_mots_png_results(path, seq)
    return read_mots_txt(
        path,
        frame_base=seq.frame_base,
        num_frames=seq.num_frames,
        image_size=(seq.height, seq.width),
        frame_step=getattr(seq, "frame_step", 1),
        allowed_classes=None,
    )
