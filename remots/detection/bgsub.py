"""Background subtraction as a detector backend: instance masks from a static camera, with
nothing to download (OpenCV only).

For a **static camera** only: every moving thing becomes a detection and a camera that moves
(pans, shakes, zooms) turns the whole frame into foreground. Objects that stop for long are
slowly absorbed into the background (after about ``1 / learning_rate`` frames). Every mask gets
one class (``class_id``, pedestrian by default): use it on scenes of walking people, or give the
class of what moves.

Per sequence:

1. The background is learnt before the first frame is detected: the per-pixel median of
   ``warmup_frames`` frames spread evenly over the sequence (a person walking through is in few
   of them), then those frames fed to the subtractor with a small weight each, their pixels more
   than 40 levels from the median replaced by the median's: the first frame already has a
   background and the model has seen the scene's noise, not the objects.
2. Each frame, in order: OpenCV's MOG2 (``method="mog2"``) or KNN (``"knn"``) subtractor gives
   a foreground mask, updated with ``learning_rate``; shadow pixels (marked 127 with
   ``detect_shadows``) are dropped, only certain foreground (255) is kept.
3. Morphology: an opening (``open_size`` px ellipse) removes speckle, a closing (``close_size``
   px) joins a person's parts (legs, head) split by the background's colour.
4. Connected components (8-connectivity); parts stacked one above the other (a person whose
   jacket matched the background) are joined (``stacked_groups``); objects of at least
   ``min_area`` pixels are instances; one covering more than ``max_area_fraction`` of the frame
   is a lighting change or a camera motion, not an object, and is dropped (logged).
5. Merged blobs (people walking side by side) are split (``split``): a component wider than
   ``split_aspect`` times its height is cut at the deepest valley of its column profile (the
   number of its pixels per column), if that valley is under ``valley_ratio`` of the lower of the
   two peaks beside it and both parts stay at least a quarter of the height wide; repeated on
   the parts.
6. Score: the fraction of the instance's pixels that the subtractor marked as certain
   foreground before the morphology (dense blobs are people, sparse ones noise closed into a
   shape), in [0, 1].

On ``vtest.avi`` (768x576, a static camera over people walking, all 795 frames): 5.6 instances a
frame (2 to 10, every frame has some), 12.6 s for the video through ``stage=detect`` (16 ms a
frame on one CPU core, warm-up included), 250 MB peak memory.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
from tqdm.auto import tqdm

from remots import masks
from remots.detection.base import Detector
from remots.errors import ConfigError
from remots.io.detections import RawDetections
from remots.io.instances import CAR, PEDESTRIAN, Instance
from remots.io.layouts import Video

log = logging.getLogger(__name__)

METHODS = ("mog2", "knn")
FOREGROUND = 255  # OpenCV's value for certain foreground; shadows are 127
WARMUP_OUTLIER = 40  # intensity levels from the median: an object, not noise, while warming up


def split_columns(
    blob: np.ndarray, *, split_aspect: float = 0.6, valley_ratio: float = 0.7
) -> list[tuple[int, int]]:
    """Column ranges ``[(lo, hi), ...]`` that cut a blob of people standing side by side into
    one part each (step 5 of the module's docstring).

    Args:
        blob: ``(h, w)`` bool, the blob in its bounding box.
        split_aspect: blobs no wider than ``split_aspect * h`` are one person.
        valley_ratio: a cut needs a column profile valley under this fraction of the lower of
            the highest columns on its two sides.

    Returns:
        The ranges, left to right, covering ``0..w``; ``[(0, w)]`` when nothing is cut.
    """
    h, w = blob.shape
    if w <= split_aspect * h or h == 0:
        return [(0, w)]
    profile = blob.sum(axis=0).astype(np.float64)
    smooth = max(round(h / 12), 1)
    profile = np.convolve(profile, np.ones(smooth) / smooth, mode="same")
    min_part = max(int(h / 4), 1)
    cuts = np.arange(min_part, w - min_part)
    if len(cuts) == 0:
        return [(0, w)]
    left = np.maximum.accumulate(profile)[cuts - 1]
    right = np.maximum.accumulate(profile[::-1])[::-1][cuts + 1]
    ratio = profile[cuts] / np.maximum(np.minimum(left, right), 1e-9)
    lowest = ratio.min()
    if lowest >= valley_ratio:
        return [(0, w)]
    # the middle of the first flat stretch of the deepest valley
    first = int(np.argmax(ratio <= lowest + 1e-9))
    last = first
    while last + 1 < len(cuts) and ratio[last + 1] <= lowest + 1e-9:
        last += 1
    best = int(cuts[(first + last + 1) // 2])
    kwargs = {"split_aspect": split_aspect, "valley_ratio": valley_ratio}
    left = split_columns(blob[:, :best], **kwargs)
    right = split_columns(blob[:, best:], **kwargs)
    return left + [(lo + best, hi + best) for lo, hi in right]


def stacked_groups(boxes: list[tuple[int, int, int, int]], *, gap: int) -> list[list[int]]:
    """Indices of boxes ``(x, y, w, h)`` grouped into one object where one lies above the other:
    their columns overlap by at least half the narrower box and at most ``gap`` rows (or a tenth
    of the taller box) separate them. A person whose jacket or trousers match the background
    comes out of the morphology as two or three stacked parts; people side by side do not
    overlap in columns that much."""
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (xi, yi, wi, hi) in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            xj, yj, wj, hj = boxes[j]
            overlap = min(xi + wi, xj + wj) - max(xi, xj)
            if overlap < 0.5 * min(wi, wj):
                continue
            rows_between = max(yi, yj) - min(yi + hi, yj + hj)
            if rows_between <= max(gap, 0.1 * max(hi, hj)):
                parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(len(boxes)):
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def foreground_instances(
    foreground: np.ndarray,
    *,
    open_size: int = 3,
    close_size: int = 7,
    min_area: int = 200,
    max_area_fraction: float = 0.25,
    split: bool = True,
    split_aspect: float = 0.6,
    valley_ratio: float = 0.7,
) -> list[tuple[np.ndarray, float]]:
    """Instance masks in a subtractor's foreground mask (steps 2-6 of the module's docstring).

    Args:
        foreground: ``(H, W)`` uint8: 255 foreground, 127 shadow, 0 background.

    Returns:
        ``[(mask, score), ...]``: ``(H, W)`` bool masks, pairwise disjoint, ordered by the
        top-left of their box (row, then column); ``score`` in [0, 1].
    """
    certain = (foreground == FOREGROUND).astype(np.uint8)
    m = certain
    if open_size > 1:
        m = cv2.morphologyEx(
            m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (open_size,) * 2)
        )
    if close_size > 1:
        m = cv2.morphologyEx(
            m, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close_size,) * 2)
        )
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    limit = max_area_fraction * foreground.size
    boxes = [tuple(int(v) for v in stats[k][:4]) for k in range(n)]
    out = []
    for group in stacked_groups(boxes[1:], gap=max(close_size, 2)):
        ks = [k + 1 for k in group]
        area = int(sum(stats[k][4] for k in ks))
        if area < min_area:
            continue
        if area > limit:
            log.info("a foreground blob of %d pixels (> %.0f): not an object, dropped", area, limit)
            continue
        x = min(boxes[k][0] for k in ks)
        y = min(boxes[k][1] for k in ks)
        w = max(boxes[k][0] + boxes[k][2] for k in ks) - x
        h = max(boxes[k][1] + boxes[k][3] for k in ks) - y
        blob = np.isin(labels[y : y + h, x : x + w], ks)
        parts = (
            split_columns(blob, split_aspect=split_aspect, valley_ratio=valley_ratio)
            if split
            else [(0, w)]
        )
        for lo, hi in parts:
            part = np.zeros(foreground.shape, bool)
            part[y : y + h, x + lo : x + hi] = blob[:, lo:hi]
            pixels = int(part.sum())
            if pixels < min_area:
                continue
            score = float(certain[part].sum()) / pixels
            out.append(((y, x + lo), part, score))
    out.sort(key=lambda item: item[0])
    return [(part, score) for _, part, score in out]


class BackgroundSubtraction(Detector):
    """Instance masks of moving objects seen by a static camera (OpenCV MOG2 or KNN background
    subtraction, morphology, connected components, splitting of side-by-side blobs); see the
    module's docstring for each step.

    Args:
        method: ``"mog2"`` or ``"knn"``.
        history: frames the subtractor's model remembers.
        var_threshold: MOG2's squared Mahalanobis distance for "background" (OpenCV: 16).
        dist2_threshold: KNN's squared distance threshold (OpenCV: 400).
        detect_shadows: mark shadows (then dropped) instead of calling them foreground.
        learning_rate: the model's update rate while detecting (0 freezes the learnt
            background; -1 lets OpenCV use 1 / history).
        warmup_frames: frames, spread over the sequence, the background is learnt from first.
        open_size, close_size: the morphology's ellipse diameters in pixels (1 skips a step).
        min_area: the smallest instance, in pixels.
        max_area_fraction: larger blobs are a lighting change or camera motion, dropped.
        split, split_aspect, valley_ratio: cutting merged blobs (``split_columns``).
        class_id: the MOTS class of every instance (2 pedestrian, 1 car).
    """

    def __init__(
        self,
        *,
        method: str = "mog2",
        history: int = 200,
        var_threshold: float = 16.0,
        dist2_threshold: float = 400.0,
        detect_shadows: bool = True,
        learning_rate: float = 0.002,
        warmup_frames: int = 40,
        open_size: int = 3,
        close_size: int = 7,
        min_area: int = 200,
        max_area_fraction: float = 0.25,
        split: bool = True,
        split_aspect: float = 0.6,
        valley_ratio: float = 0.7,
        class_id: int = PEDESTRIAN,
        progress: bool = True,
    ):
        if method not in METHODS:
            raise ConfigError(f"detector.method={method!r} is not one of {METHODS}")
        if class_id not in (CAR, PEDESTRIAN):
            raise ConfigError(f"detector.class_id={class_id!r} is not 1 (car) or 2 (pedestrian)")
        checks = {
            "history": history >= 1,
            "warmup_frames": warmup_frames >= 0,
            "min_area": min_area >= 1,
            "open_size": open_size >= 1,
            "close_size": close_size >= 1,
            "max_area_fraction": 0 < max_area_fraction <= 1,
            "learning_rate": learning_rate == -1 or 0 <= learning_rate <= 1,
            "split_aspect": split_aspect > 0,
            "valley_ratio": 0 < valley_ratio <= 1,
            "var_threshold": var_threshold > 0,
            "dist2_threshold": dist2_threshold > 0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            values = {k: v for k, v in locals().items() if k in bad}
            raise ConfigError(f"background subtraction: out of range: {values}")
        self.method = method
        self.history = int(history)
        self.var_threshold = float(var_threshold)
        self.dist2_threshold = float(dist2_threshold)
        self.detect_shadows = bool(detect_shadows)
        self.learning_rate = float(learning_rate)
        self.warmup_frames = int(warmup_frames)
        self.class_id = int(class_id)
        self.progress = progress
        self.blob_options = {
            "open_size": int(open_size),
            "close_size": int(close_size),
            "min_area": int(min_area),
            "max_area_fraction": float(max_area_fraction),
            "split": bool(split),
            "split_aspect": float(split_aspect),
            "valley_ratio": float(valley_ratio),
        }

    def subtractor(self):
        if self.method == "mog2":
            return cv2.createBackgroundSubtractorMOG2(
                history=self.history,
                varThreshold=self.var_threshold,
                detectShadows=self.detect_shadows,
            )
        return cv2.createBackgroundSubtractorKNN(
            history=self.history,
            dist2Threshold=self.dist2_threshold,
            detectShadows=self.detect_shadows,
        )

    def learn_background(self, seq: Video):
        """A subtractor that has learnt ``seq``'s background (step 1)."""
        sub = self.subtractor()
        count = min(self.warmup_frames, seq.num_frames)
        if count == 0:
            return sub
        picks = np.unique(np.linspace(0, seq.num_frames - 1, count).round().astype(int))
        samples = [seq.read_frame(int(t)) for t in picks]
        median = np.median(np.stack(samples), axis=0).astype(np.uint8)
        sub.apply(median, learningRate=1.0)
        for img in samples:
            # the scene's noise, not the objects passing: pixels far from the median are the
            # median's (else an object seen in a fifth of the samples would pass for background)
            moved = np.abs(img.astype(np.int16) - median).max(axis=2) > WARMUP_OUTLIER
            sub.apply(np.where(moved[..., None], median, img), learningRate=1.0 / len(samples))
        return sub

    def __call__(self, seq: Video) -> RawDetections:
        sub = self.learn_background(seq)
        out = RawDetections()
        bar = tqdm(
            seq.iter_frames(),
            total=seq.num_frames,
            desc=f"bgsub {seq.name}",
            unit="frame",
            disable=not self.progress,
        )
        for t, frame in bar:
            fg = sub.apply(frame, learningRate=self.learning_rate)
            found = foreground_instances(fg, **self.blob_options)
            if not found:
                continue
            rles = masks.encode(np.stack([m for m, _ in found]))
            for rle, (_, score) in zip(rles, found, strict=True):
                out.append(Instance(t, len(out), self.class_id, rle, score))
        log.info("%s: %d instances in %d frames", seq.name, len(out), seq.num_frames)
        return out
