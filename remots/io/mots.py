"""MOTS txt and MOTS png, read and written losslessly, with validation that names file and line.

MOTS txt (one mask per line)::

    frame obj_id class_id img_height img_width rle

``obj_id = class_id * 1000 + instance``; class 1 car, 2 pedestrian, 10 ignore region. Frames are
1-based in MOTSChallenge and 0-based in KITTI MOTS: every reader and writer takes ``frame_base``
explicitly, and in memory frames are always 0-based indices into the sequence.

MOTS png: one 16-bit single-channel image per frame, pixel value = obj_id, 0 background.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from remots import masks
from remots.errors import MOTSFormatError
from remots.io.atomic import atomic_open, atomic_write_bytes
from remots.io.instances import (
    CAR,
    IGNORE,
    PEDESTRIAN,
    Instance,
    group_by_frame,
)
from remots.io.mots_fast import parse_checked

# Bounds on what an input file may claim, checked before any memory is sized by it.
MAX_FRAMES = 1_000_000  # frames of a sequence: 9 h 15 min at 30 fps
MAX_OBJ_ID = 2**31 - 1
MAX_IMAGE_SIDE = 65_536  # pixels per side of a mask
MAX_IMAGE_PIXELS = 2**28  # 16384 x 16384
MAX_FILE_BYTES = 2**30  # a text or JSON input read whole (GT, results, detections): 1 GiB


def select_frames(instances: Iterable[Instance], frames: range) -> list[Instance]:
    """The instances whose frame (a 0-based index into a whole source) is one of ``frames``,
    renumbered to their position in ``frames``; input order is kept."""
    out = []
    for inst in instances:
        if inst.frame in frames:
            out.append(inst.with_(frame=frames.index(inst.frame)))
    return out


def _strided(instances: list[Instance], step: int, frame_base: int, path) -> list[Instance]:
    """Instances read with one frame per number, renumbered for a sequence of every ``step``-th
    frame (``frame_base + t * step``); a frame between two of the sequence's is an error."""
    if step == 1:
        return instances
    for inst in instances:
        if inst.frame % step:
            label = inst.frame + frame_base
            raise MOTSFormatError(
                f"frame {label} is not one of the sequence's frames ({frame_base}, "
                f"{frame_base + step}, {frame_base + 2 * step}, ...)",
                path,
                frame=label,
            )
    return [inst.with_(frame=inst.frame // step) for inst in instances]


def parse_mots_lines(
    lines: Iterable[str],
    path: str | Path,
    *,
    frame_base: int,
    num_frames: int | None = None,
    image_size: tuple[int, int] | None = None,
    allowed_classes: Sequence[int] | None = (CAR, PEDESTRIAN, IGNORE),
    allow_overlap: bool = False,
    require_sorted: bool = True,
) -> list[Instance]:
    """Parse and validate MOTS txt lines; see ``read_mots_txt``."""
    instances: list[Instance] = []
    seen: dict[int, dict[int, int]] = {}  # frame -> obj_id -> line number
    line_of: list[int] = []
    size: tuple[int, int] | None = tuple(image_size) if image_size is not None else None
    size_line = None
    last_frame = -1
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        (frame, obj_id, class_id, height, width), counts = _mots_columns(line, path, lineno)
        try:
            t = frame_index(frame, frame_base, num_frames)
        except ValueError as err:
            raise MOTSFormatError(str(err), path, lineno) from None
        if require_sorted and t < last_frame:
            raise MOTSFormatError(
                f"frame {frame} comes after frame {last_frame + frame_base}: lines must be "
                "ordered by frame",
                path,
                lineno,
            )
        last_frame = max(last_frame, t)
        if allowed_classes is not None and class_id not in allowed_classes:
            raise MOTSFormatError(
                f"unknown class_id {class_id} (expected one of {sorted(allowed_classes)})",
                path,
                lineno,
            )
        if not 0 <= obj_id <= MAX_OBJ_ID:
            raise MOTSFormatError(
                f"obj_id must be in 0..{MAX_OBJ_ID}, found {obj_id}", path, lineno
            )
        check_image_size(height, width, path, lineno)
        if size is None:
            size, size_line = (height, width), lineno
        elif (height, width) != size:
            origin = "the sequence" if size_line is None else f"line {size_line}"
            raise MOTSFormatError(
                f"mask size {height}x{width} differs from the image size {size[0]}x{size[1]} "
                f"of {origin}",
                path,
                lineno,
            )
        try:
            rle = masks.rle_from_string(counts, height, width)
        except (ValueError, UnicodeError) as err:
            raise MOTSFormatError(f"bad RLE: {err}", path, lineno) from None
        ids = seen.setdefault(t, {})
        if obj_id in ids:
            raise MOTSFormatError(
                f"obj_id {obj_id} appears twice in frame {frame} (first on line {ids[obj_id]})",
                path,
                lineno,
            )
        ids[obj_id] = lineno
        instances.append(Instance(t, obj_id, class_id, rle))
        line_of.append(lineno)
    if not allow_overlap:
        _check_no_overlap(instances, line_of, path, frame_base)
    return instances


def _mots_columns(line: str, path, lineno: int) -> tuple[tuple[int, ...], str]:
    """The five integer columns of a stripped MOTS txt line and its RLE string."""
    fields = line.split(" ")
    if len(fields) != 6:
        hint = (
            " (commas: a MOTChallenge box CSV, not a MOTS txt of masks)"
            if len(fields) == 1 and line.count(",") >= 5
            else ""
        )
        raise MOTSFormatError(
            f"expected 6 space-separated columns "
            f"(frame obj_id class_id img_height img_width rle), found {len(fields)}{hint}",
            path,
            lineno,
        )
    try:
        return tuple(int(v) for v in fields[:5]), fields[5]
    except ValueError:
        raise MOTSFormatError(
            f"the first five columns must be integers, found {' '.join(fields[:5])!r}",
            path,
            lineno,
        ) from None


def frame_index(frame: int, frame_base: int, num_frames: int | None) -> int:
    """The 0-based frame of a file's frame number; raises ValueError (with the reason) when it
    is outside the sequence or, the sequence's length not known, past ``MAX_FRAMES``."""
    t = frame - frame_base
    if num_frames is None and t >= MAX_FRAMES:
        raise ValueError(
            f"frame {frame} is past {MAX_FRAMES} frames, more than any real sequence (the "
            "sequence's length is not known: give its images, seqinfo.ini or a seqmap)"
        )
    if t < 0 or (num_frames is not None and t >= num_frames):
        valid = (
            f"{frame_base}..{frame_base + num_frames - 1}"
            if num_frames is not None
            else f">= {frame_base}"
        )
        raise ValueError(f"frame {frame} is outside the sequence (valid frames: {valid})")
    return t


def check_image_size(height: int, width: int, path, line: int | None = None) -> None:
    """Refuse an image size that is not positive or larger than any real frame
    (``MAX_IMAGE_SIDE`` per side, ``MAX_IMAGE_PIXELS`` in all)."""
    if height <= 0 or width <= 0:
        raise MOTSFormatError(f"image size {height}x{width} is not positive", path, line)
    if max(height, width) > MAX_IMAGE_SIDE or height * width > MAX_IMAGE_PIXELS:
        raise MOTSFormatError(
            f"image size {height}x{width} is larger than any real frame (at most "
            f"{MAX_IMAGE_SIDE} pixels a side, {MAX_IMAGE_PIXELS} in all)",
            path,
            line,
        )


def _check_no_overlap(
    instances: list[Instance], line_of: list[int], path: str | Path, frame_base: int
) -> None:
    by_frame: dict[int, list[int]] = {}
    for k, inst in enumerate(instances):
        by_frame.setdefault(inst.frame, []).append(k)
    for t, idx in by_frame.items():
        pairs = masks.overlapping_pairs([instances[k].rle for k in idx])
        if pairs:
            a, b = idx[pairs[0][0]], idx[pairs[0][1]]
            raise MOTSFormatError(
                f"masks of obj_id {instances[a].obj_id} (line {line_of[a]}) and obj_id "
                f"{instances[b].obj_id} overlap in frame {t + frame_base}; MOTS masks must not "
                "share pixels",
                path,
                line_of[b],
            )


def read_mots_txt(
    path: str | Path,
    *,
    frame_base: int,
    num_frames: int | None = None,
    image_size: tuple[int, int] | None = None,
    allowed_classes: Sequence[int] | None = (CAR, PEDESTRIAN, IGNORE),
    allow_overlap: bool = False,
    require_sorted: bool = True,
    frame_step: int = 1,
) -> list[Instance]:
    """Read a MOTS txt file into 0-based ``Instance`` objects, validating every line.

    Args:
        frame_base: the number of the first frame in the file (1 MOTSChallenge, 0 KITTI MOTS).
        num_frames: if given, frames past the sequence are an error.
        frame_step: the file numbers frame ``t`` as ``frame_base + t * frame_step`` (a sequence
            of every ``frame_step``-th frame of its source); other frames are an error.
        image_size: ``(height, width)`` every mask must have; else the first line sets it.
        allowed_classes: class ids accepted (None accepts any).
        allow_overlap: accept masks of one frame that share pixels (detections may).
        require_sorted: lines must be ordered by frame.

    Raises:
        MOTSFormatError naming the file and line: wrong column count, non-integer fields, bad
        RLE, mask size not the image size, duplicate obj_id in a frame, overlapping masks,
        frames outside the sequence or out of order, unknown class.
    """
    path = Path(path)
    if frame_step != 1:
        span = None if num_frames is None else (num_frames - 1) * frame_step + 1
        kept = read_mots_txt(
            path,
            frame_base=frame_base,
            num_frames=span,
            image_size=image_size,
            allowed_classes=allowed_classes,
            allow_overlap=allow_overlap,
            require_sorted=require_sorted,
        )
        return _strided(kept, frame_step, frame_base, path)
    data = read_bytes(path)
    if require_sorted:  # fast path: the whole file checked at once; errors are worded below
        # bounds the fast path does not check: the slow one words the error
        bound = num_frames if num_frames is not None else MAX_FRAMES
        if image_size is not None or _first_size_ok(data):
            instances = parse_checked(
                data, frame_base, bound, image_size, allowed_classes, not allow_overlap
            )
            if instances is not None and all(i.obj_id <= MAX_OBJ_ID for i in instances):
                return instances
    return parse_mots_lines(
        text_lines(data, path),
        path,
        frame_base=frame_base,
        num_frames=num_frames,
        image_size=image_size,
        allowed_classes=allowed_classes,
        allow_overlap=allow_overlap,
        require_sorted=require_sorted,
    )


def _first_size_ok(data: bytes) -> bool:
    """Whether the image size on the first line of a MOTS txt file is within the bounds (or not
    in the plain form the fast path reads, which then refuses the file)."""
    fields = data[: data.find(b"\n")].split(b" ") if b"\n" in data else data.split(b" ")
    try:
        height, width = int(fields[3]), int(fields[4])
    except (IndexError, ValueError):
        return True
    return max(height, width) <= MAX_IMAGE_SIDE and height * width <= MAX_IMAGE_PIXELS


def read_text_lines(path: Path) -> list[str]:
    """The lines of a text file; a missing or non-UTF-8 file is a MOTSFormatError naming it."""
    return text_lines(read_bytes(path), path)


def read_bytes(path: Path, *, limit: int | None = None) -> bytes:
    """A file's bytes, at most ``limit`` (default ``MAX_FILE_BYTES``).

    A missing file, a folder, a device or pipe (a link to ``/dev/zero``), a file larger than the
    limit or an unreadable one is a MOTSFormatError naming it, raised before the file is read:
    the read itself is bounded too, for files whose size the system does not tell.
    """
    limit = MAX_FILE_BYTES if limit is None else int(limit)
    try:
        info = os.stat(path)  # before opening: opening a pipe would wait for a writer
        if stat.S_ISDIR(info.st_mode):
            raise MOTSFormatError("expected a file, found a folder", path)
        if not stat.S_ISREG(info.st_mode):
            raise MOTSFormatError(
                "not a regular file (a device, a pipe or a socket): expected a text file", path
            )
        if info.st_size > limit:
            raise MOTSFormatError(
                f"file is {info.st_size} bytes, more than the {limit} bytes an input may have",
                path,
            )
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise MOTSFormatError("file not found", path) from None
    except IsADirectoryError:
        raise MOTSFormatError("expected a file, found a folder", path) from None
    except PermissionError:
        raise MOTSFormatError("file cannot be read (permission denied)", path) from None
    except OSError as err:  # a name too long, a broken link loop, an I/O error
        raise MOTSFormatError(f"file cannot be read: {err.strerror or err}", path) from None
    if len(data) > limit:
        raise MOTSFormatError(f"file is longer than the {limit} bytes an input may have", path)
    return data


def text_lines(data: bytes, path: Path) -> list[str]:
    """The lines of a file's ``data``; non-UTF-8 data is a MOTSFormatError naming the line."""
    try:
        return data.decode("utf-8").split("\n")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise MOTSFormatError("not a text file (invalid UTF-8)", path, line) from None


def format_mots_line(inst: Instance, frame_base: int, frame_step: int = 1) -> str:
    h, w = inst.rle["size"]
    return (
        f"{frame_base + inst.frame * frame_step} {inst.obj_id} {inst.class_id} {h} {w} "
        f"{masks.rle_to_string(inst.rle)}"
    )


def write_mots_txt(
    path: str | Path, instances: Iterable[Instance], *, frame_base: int, frame_step: int = 1
) -> None:
    """Write instances as MOTS txt, in the given order, atomically (temp file + rename); frame
    ``t`` is numbered ``frame_base + t * frame_step``."""
    with atomic_open(path, "w", encoding="ascii", newline="\n") as f:
        for inst in instances:
            f.write(format_mots_line(inst, frame_base, frame_step) + "\n")


# ---------------------------------------------------------------------------- MOTS png


def instances_to_id_map(
    frame_instances: Sequence[Instance], height: int, width: int, *, path=None, frame=None
) -> np.ndarray:
    """Paint the masks of one frame into a ``(H, W)`` uint16 map of obj_ids (0 background)."""
    id_map = np.zeros((height, width), np.uint16)
    if not frame_instances:
        return id_map
    for inst in frame_instances:
        if inst.obj_id > np.iinfo(np.uint16).max or inst.obj_id == 0:
            raise MOTSFormatError(
                f"obj_id {inst.obj_id} cannot be stored in a 16-bit MOTS png (1..65535)",
                path,
                frame=frame,
            )
    dense = masks.decode([inst.rle for inst in frame_instances]).astype(bool)
    if (dense.sum(axis=0) > 1).any():
        raise MOTSFormatError("masks overlap; a MOTS png holds one id per pixel", path, frame=frame)
    for inst, m in zip(frame_instances, dense, strict=True):
        id_map[m] = inst.obj_id
    return id_map


def id_map_to_instances(id_map: np.ndarray, frame: int) -> list[Instance]:
    """Split a uint16 obj_id map into instances ordered by obj_id; class = obj_id // 1000."""
    ids = np.unique(id_map)
    ids = ids[ids != 0]
    if len(ids) == 0:
        return []
    rles = masks.encode(id_map[None] == ids[:, None, None])
    return [
        Instance(frame, int(obj_id), int(obj_id) // 1000, rle)
        for obj_id, rle in zip(ids, rles, strict=True)
    ]


def write_mots_png(path: str | Path, id_map: np.ndarray) -> None:
    """Write one MOTS png (16-bit, pixel = obj_id) atomically."""
    if id_map.dtype != np.uint16 or id_map.ndim != 2:
        raise ValueError(f"a MOTS png is a 2-D uint16 map, got {id_map.dtype} {id_map.shape}")
    ok, buf = cv2.imencode(".png", id_map)
    if not ok:
        raise OSError(f"OpenCV could not encode {path}")
    atomic_write_bytes(path, buf.tobytes())


def read_mots_png(path: str | Path, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read one MOTS png as a ``(H, W)`` uint16 obj_id map, checking depth and size."""
    from remots.io.frames import image_incomplete

    path = Path(path)
    data = read_bytes(path, limit=2**30)
    why = image_incomplete(data)
    if why is not None:
        raise MOTSFormatError(why, path)
    id_map = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if id_map is None:
        raise MOTSFormatError("not a readable PNG image", path)
    if id_map.ndim != 2 or id_map.dtype != np.uint16:
        raise MOTSFormatError(
            f"a MOTS png is 16-bit single-channel, found {id_map.dtype} with shape {id_map.shape}",
            path,
        )
    if image_size is not None and id_map.shape != tuple(image_size):
        raise MOTSFormatError(
            f"image is {id_map.shape[0]}x{id_map.shape[1]}, expected "
            f"{image_size[0]}x{image_size[1]}",
            path,
        )
    return id_map


def png_name(frame: int, frame_base: int) -> str:
    return f"{frame + frame_base:06d}.png"


def write_mots_png_dir(
    folder: str | Path,
    instances: Iterable[Instance],
    *,
    num_frames: int,
    height: int,
    width: int,
    frame_base: int,
) -> None:
    """Write one MOTS png per frame (``%06d.png`` numbered from ``frame_base``) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame_instances in enumerate(group_by_frame(instances, num_frames)):
        path = folder / png_name(t, frame_base)
        write_mots_png(
            path,
            instances_to_id_map(frame_instances, height, width, path=path, frame=t + frame_base),
        )


def read_mots_png_dir(
    folder: str | Path, *, frame_base: int, num_frames: int | None = None
) -> list[Instance]:
    """Read a folder of MOTS png frames (``%06d.png``) into instances ordered by frame, obj_id."""
    folder = Path(folder)
    files = sorted(folder.glob("*.png"))
    if not files:
        raise MOTSFormatError("no MOTS png frames (*.png) in the folder", folder)
    size = None
    instances: list[Instance] = []
    for f in files:
        try:
            number = int(f.stem)
        except ValueError:
            raise MOTSFormatError("a MOTS png is named by its frame number", f) from None
        t = number - frame_base
        if t < 0 or (num_frames is not None and t >= num_frames):
            raise MOTSFormatError(f"frame {number} is outside the sequence", f)
        id_map = read_mots_png(f, size)
        size = id_map.shape
        instances.extend(id_map_to_instances(id_map, t))
    return instances
