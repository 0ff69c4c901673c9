"""Overlay frames and videos: masks coloured by track id, the id drawn at the mask's top."""

from __future__ import annotations

import colorsys
import contextlib
import os
from collections.abc import Sequence as Seq
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from remots import masks
from remots.errors import StorageError
from remots.io.atomic import atomic_write_bytes
from remots.io.instances import Instance, group_by_frame


def track_colour(obj_id: int) -> tuple[int, int, int]:
    """A stable, well-spread BGR colour per id (golden-ratio hue steps)."""
    hue = (obj_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_overlay(frame: np.ndarray, instances: Seq[Instance], alpha: float = 0.5) -> np.ndarray:
    """``frame`` (H, W, 3) BGR with each mask blended in its track colour and its id written."""
    out = frame.copy()
    if not instances:
        return out
    dense = masks.decode([i.rle for i in instances]).astype(bool)
    boxes = masks.bbox([i.rle for i in instances])
    for inst, m, (x, y, w, _) in zip(instances, dense, boxes, strict=True):
        colour = np.array(track_colour(inst.obj_id), np.float32)
        out[m] = (out[m] * (1 - alpha) + colour * alpha).astype(np.uint8)
        contours, _ = cv2.findContours(
            m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        cv2.drawContours(out, contours, -1, tuple(int(c) for c in colour), 1)
        if w > 0:
            org = (int(x), max(int(y) - 3, 10))
            cv2.putText(out, str(inst.obj_id), org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
            cv2.putText(
                out, str(inst.obj_id), org, cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1
            )
    return out


def even_size(img: np.ndarray) -> np.ndarray:
    """``img`` with a black row / column added where its height / width is odd."""
    h, w = img.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return img
    return cv2.copyMakeBorder(img, 0, h % 2, 0, w % 2, cv2.BORDER_CONSTANT, value=0)


def write_overlays(
    seq,
    instances: Seq[Instance],
    out_dir: str | Path,
    *,
    every: int = 1,
    max_frames: int | None = None,
    video: bool = True,
    keep_frames: int = 3,
) -> list[Path]:
    """Render a sequence's tracks: an MP4 ``<out_dir>/<seq>.mp4`` and ``keep_frames`` JPEGs
    (evenly spaced) ``<out_dir>/<seq>_<frame>.jpg``. Frames are streamed, one in memory.

    The video plays at the sequence's own rate (``seq.fps``, divided by its stride and by
    ``every``). Its encoder (4:2:0 chroma) needs an even width and height: a frame of odd size
    gets one black row (column) at the bottom (right) rather than losing its last one, so a
    375-row KITTI frame is a 376-row video holding all 375 rows.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    by_frame = group_by_frame(instances, seq.num_frames)
    stop = seq.num_frames if max_frames is None else min(seq.num_frames, max_frames)
    drawn = list(range(0, stop, every))
    keep = (
        set(np.linspace(0, len(drawn) - 1, num=min(keep_frames, len(drawn))).astype(int))
        if drawn
        else set()
    )
    written: list[Path] = []
    writer = None
    tmp_video = out_dir / f".{seq.name}.tmp.mp4"
    try:
        if video and drawn:
            fps = max(1.0, seq.fps / getattr(seq, "frame_step", 1) / every)
            size = (seq.width + seq.width % 2, seq.height + seq.height % 2)
            writer = cv2.VideoWriter(str(tmp_video), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
            if not writer.isOpened():
                raise StorageError(out_dir / f"{seq.name}.mp4", "OpenCV cannot write a video here")
        for k, t in enumerate(tqdm(drawn, desc=f"overlay {seq.name}", leave=False)):
            img = draw_overlay(seq.read_frame(t), by_frame[t])
            cv2.putText(
                img,
                f"{seq.name} frame {seq.frame_label(t)}",
                (5, 15),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.45,
                (255, 255, 255),
                1,
            )
            if writer is not None:
                writer.write(even_size(img))
            if k in keep:
                path = out_dir / f"{seq.name}_{seq.frame_label(t):06d}.jpg"
                _, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
                atomic_write_bytes(path, buf.tobytes())
                written.append(path)
        if writer is not None:
            writer.release()
            writer = None
            final = out_dir / f"{seq.name}.mp4"
            _check_video(tmp_video, final, len(drawn))
            os.replace(tmp_video, final)
            written.append(final)
    finally:
        if writer is not None:
            writer.release()
        with contextlib.suppress(FileNotFoundError):
            tmp_video.unlink()
    return written


def _check_video(path: Path, final: Path, num_frames: int) -> None:
    """OpenCV's video writer drops write errors (a full disk) silently: count the frames of the
    written file before it replaces ``final``."""
    capture = cv2.VideoCapture(str(path))
    try:
        written = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    finally:
        capture.release()
    if written != num_frames:
        raise StorageError(
            final,
            f"the video holds {written} of its {num_frames} frames (a full disk?); run the "
            "report stage again when there is space",
        )
