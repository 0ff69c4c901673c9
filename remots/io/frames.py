"""Frame access for a ``Sequence``: image files or a video, checked for presence, corruption and
size. Errors name the file and the frame."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from remots.errors import InputError


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
    """Frame ``t`` (0-based) of ``seq`` as ``(H, W, 3)`` uint8 BGR."""
    if not 0 <= t < seq.num_frames:
        raise InputError(
            f"frame index {t} outside 0..{seq.num_frames - 1}", seq.name, frame=seq.frame_label(t)
        )
    if seq.frame_paths is not None:
        path = seq.frame_paths[t]
        if not path.is_file():
            raise InputError("frame image is missing", path, frame=seq.frame_label(t))
        return _check(seq, cv2.imread(str(path), cv2.IMREAD_COLOR), t, path)
    if seq.video_path is not None:
        cap = cv2.VideoCapture(str(seq.video_path))
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, t)
            ok, img = cap.read()
        finally:
            cap.release()
        return _check(seq, img if ok else None, t, seq.video_path)
    raise InputError(f"sequence {seq.name} has neither frame files nor a video")


def iter_frames(seq, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(t, frame)`` for ``start <= t < stop``; a video is decoded once, front to back."""
    stop = seq.num_frames if stop is None else min(stop, seq.num_frames)
    if seq.frame_paths is not None or seq.video_path is None:
        for t in range(start, stop):
            yield t, read_frame(seq, t)
        return
    cap = cv2.VideoCapture(str(seq.video_path))
    try:
        if start:
            cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        for t in range(start, stop):
            ok, img = cap.read()
            yield t, _check(seq, img if ok else None, t, seq.video_path)
    finally:
        cap.release()
