"""Frame access for a ``Video``: image files or a video, checked for presence, corruption,
truncation and size. Errors name the file and the frame (the source's frame number).

Image files are decoded from their bytes after a completeness check, because OpenCV decodes a
truncated JPEG without an error (libjpeg only prints "Premature end of JPEG file" and fills the
rest of the image with grey): a JPEG must end with its end-of-image marker (``FF D9``; entropy
coded data cannot hold it, so a cut file cannot end with it by chance), a PNG with its ``IEND``
chunk, a BMP must be as long as its header says.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from remots.errors import InputError

MAX_IMAGE_FILE_BYTES = 512 * 2**20  # one frame's file

_JPEG_START, _JPEG_END = b"\xff\xd8", b"\xff\xd9"
_PNG_START, _PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


def image_incomplete(data: bytes) -> str | None:
    """Why the encoded image ``data`` is cut short, or None when it is complete (or of a format
    not checked here)."""
    if data.startswith(_JPEG_START):
        # trailing padding (NUL bytes, a newline) after the marker is tolerated
        if not data.rstrip(b"\x00\r\n ").endswith(_JPEG_END):
            return "truncated JPEG (no end-of-image marker FF D9 at the end of the file)"
    elif data.startswith(_PNG_START):
        if not data.rstrip(b"\x00\r\n ").endswith(_PNG_END):
            return "truncated PNG (no IEND chunk at the end of the file)"
    elif data.startswith(b"BM") and len(data) >= 6:
        size = int.from_bytes(data[2:6], "little")
        if len(data) < size:
            return f"truncated BMP ({len(data)} of the {size} bytes its header gives)"
    return None


def read_image(path: str | Path, *, frame: int | None = None, flags: int = cv2.IMREAD_COLOR):
    """Decode one image file, checked: missing, unreadable, truncated or undecodable files raise
    ``InputError`` naming the file (and ``frame`` when given)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_FILE_BYTES:
            raise InputError(
                f"image file is {size} bytes, more than {MAX_IMAGE_FILE_BYTES}", path, frame=frame
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("frame image is missing", path, frame=frame) from None
    except IsADirectoryError:
        raise InputError("expected an image file, found a folder", path, frame=frame) from None
    except OSError as err:
        raise InputError(
            f"cannot read the image: {err.strerror or err}", path, frame=frame
        ) from None
    if not data:
        raise InputError("cannot read the frame (empty file)", path, frame=frame)
    why = image_incomplete(data)
    if why is not None:
        raise InputError(why, path, frame=frame)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if img is None:
        raise InputError(
            "cannot read the frame (not an image OpenCV can decode, or corrupt)", path, frame=frame
        )
    return img


def _check(seq, img: np.ndarray | None, t: int, source) -> np.ndarray:
    if img is None:
        raise InputError(
            "cannot read the frame (missing, empty or corrupt image)",
            source,
            frame=seq.frame_label(t),
        )
    if img.shape[:2] != (seq.height, seq.width):
        raise InputError(
            f"frame is {img.shape[0]}x{img.shape[1]} but the sequence is {seq.height}x{seq.width}",
            source,
            frame=seq.frame_label(t),
        )
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def read_frame(seq, t: int) -> np.ndarray:
    """Frame ``t`` (0-based index into the sequence's selected frames) of ``seq`` as
    ``(H, W, 3)`` uint8 BGR."""
    if not 0 <= t < seq.num_frames:
        raise InputError(
            f"frame index {t} outside 0..{seq.num_frames - 1}", seq.name, frame=seq.frame_label(t)
        )
    if seq.frame_paths is not None:
        path = seq.frame_paths[t]
        return _check(seq, read_image(path, frame=seq.frame_label(t)), t, path)
    if seq.video_path is not None:
        cap = cv2.VideoCapture(str(seq.video_path))
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, seq.source_index(t))
            ok, img = cap.read()
        finally:
            cap.release()
        return _check(seq, img if ok else None, t, seq.video_path)
    raise InputError(f"sequence {seq.name} has neither frame files nor a video")


def iter_frames(seq, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(t, frame)`` for ``start <= t < stop``; a video is decoded once, front to back
    (the source frames between two selected ones are grabbed, not decoded)."""
    stop = seq.num_frames if stop is None else min(stop, seq.num_frames)
    if seq.frame_paths is not None or seq.video_path is None:
        for t in range(start, stop):
            yield t, read_frame(seq, t)
        return
    cap = cv2.VideoCapture(str(seq.video_path))
    try:
        if start < stop and seq.source_index(start):
            cap.set(cv2.CAP_PROP_POS_FRAMES, seq.source_index(start))
        for t in range(start, stop):
            if t > start:
                for _ in range(seq.frame_step - 1):
                    if not cap.grab():
                        break
            ok, img = cap.read()
            yield t, _check(seq, img if ok else None, t, seq.video_path)
    finally:
        cap.release()
