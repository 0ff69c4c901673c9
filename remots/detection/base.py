"""What every detector backend is, and the ensemble of several.

A backend is called on a whole sequence, ``detector(seq) -> list[Instance]``: the raw (unfused)
detections with 0-based frames, a score in [0, 1], class 1 car / 2 pedestrian, and masks of the
sequence's image size; ``obj_id`` is a running index. Image models derive from ``FrameDetector``
and only implement ``detect_batch`` on a batch of BGR frames; frames are streamed from
``seq.iter_frames()`` (image folders or a video) with a progress bar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from tqdm.auto import tqdm

from remots.io.detections import DropCounts, RawDetections, dropped_of
from remots.io.instances import Instance
from remots.io.layouts import Video

log = logging.getLogger(__name__)


class Detector:
    """A detector backend: ``__call__(seq) -> list[Instance]`` (raw detections of a sequence)."""

    def __call__(self, seq: Video) -> list[Instance]:
        raise NotImplementedError


class FrameDetector(Detector):
    """A detector run on frames in batches of ``batch_size``; subclasses implement
    ``detect_batch``."""

    def __init__(self, *, batch_size: int = 1, progress: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)
        self.progress = progress

    def detect_batch(self, images: Sequence[np.ndarray], frames: Sequence[int]) -> list[Instance]:
        """RawDetections of a batch of ``(H, W, 3)`` uint8 BGR images whose 0-based frame indices
        are ``frames``."""
        raise NotImplementedError

    def __call__(self, seq: Video) -> list[Instance]:
        out: list[Instance] = []
        images: list[np.ndarray] = []
        frames: list[int] = []
        bar = tqdm(
            seq.iter_frames(),
            total=seq.num_frames,
            desc=f"detect {seq.name}",
            unit="frame",
            disable=not self.progress,
        )
        for t, image in bar:
            images.append(image)
            frames.append(t)
            if len(images) == self.batch_size:
                out.extend(self.detect_batch(images, frames))
                images, frames = [], []
        if images:
            out.extend(self.detect_batch(images, frames))
        return RawDetections(d.with_(obj_id=k) for k, d in enumerate(out))


class Ensemble(Detector):
    """Several backends on the same sequence, their raw detections concatenated (in member
    order) for fusion (paper, section 2.1: Detectron2 X152 + MMDetection X-101)."""

    def __init__(self, *, members: Sequence[Detector]):
        self.members = list(members)
        if not self.members:
            raise ValueError("an ensemble needs at least one member detector")

    def __call__(self, seq: Video) -> RawDetections:
        out: list[Instance] = []
        drops = DropCounts()
        for k, member in enumerate(self.members):
            dets = member(seq)
            log.info(
                "%s: member %d (%s) gave %d detections",
                seq.name,
                k,
                type(member).__name__,
                len(dets),
            )
            out.extend(dets)
            drops.merge(dropped_of(dets))
        return RawDetections((d.with_(obj_id=k) for k, d in enumerate(out)), drops)
