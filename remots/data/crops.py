"""The crop cache: every mask of a sequence cut once into a fixed-size RGB crop.

Per sequence (in the run folder, ``crops/<seq>.npy`` and ``crops/train-<seq>.npy``)::

    <key>.npy        uint8 (N, H, W, 3) RGB crops, row k = instances[k], opened memory-mapped
    <key>.index.npy  int64 (N, 2) = (frame, obj_id) of each row (for detections obj_id is the
                     row itself)
    <key>.json       how the crops were cut (size, mask_background), to tell a stale cache

Frames are streamed with ``Video.iter_frames`` (each decoded once); training and embedding
read the memory map and never decode a frame again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from remots import masks
from remots.io.atomic import atomic_memmap, atomic_save_npy, atomic_write_json
from remots.io.instances import Instance

log = logging.getLogger(__name__)

GREY = 124  # ~ImageNet mean: a greyed-out background is close to zero after normalisation


def cut_crop(
    frame: np.ndarray,
    rle: dict,
    *,
    size: tuple[int, int] = (256, 128),
    mask_background: bool = False,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Cut the tight bounding box of one mask out of a frame and resize it.

    frame: ``(H_img, W_img, 3)`` uint8; rle: the mask. ``size`` is ``(height, width)`` of the
    crop. With ``mask_background`` pixels outside the mask become grey. An empty mask gives a
    grey crop. Returns ``(height, width, 3)`` uint8 in the frame's channel order.
    """
    height, width = size
    x, y, w, h = masks.bbox([rle])[0]
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    x1, y1 = max(x0 + 1, int(np.ceil(x + w))), max(y0 + 1, int(np.ceil(y + h)))
    if w <= 0 or h <= 0:
        return np.full((height, width, 3), GREY, np.uint8)
    patch = frame[y0:y1, x0:x1]
    if mask_background:
        m = (masks.decode_one(rle) if mask is None else mask)[y0:y1, x0:x1].astype(bool)
        patch = np.where(m[..., None], patch, np.uint8(GREY))
    interp = cv2.INTER_AREA if (y1 - y0) > height else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(patch), (width, height), interpolation=interp)


@dataclass
class CropCache:
    """The crops of one sequence: ``crops (N, H, W, 3)`` uint8 RGB (memory-mapped) and
    ``index (N, 2)`` int64 (frame, obj_id)."""

    crops: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @property
    def frames(self) -> np.ndarray:
        return self.index[:, 0]

    @property
    def obj_ids(self) -> np.ndarray:
        return self.index[:, 1]


def build_crop_cache(
    seq,
    instances: list[Instance],
    crops_path: str | Path,
    index_path: str | Path,
    *,
    size: tuple[int, int] = (256, 128),
    mask_background: bool = False,
    progress: bool = True,
) -> CropCache:
    """Cut every instance of ``seq`` into the cache files (both written atomically).

    Row k of the cache is ``instances[k]``. The crops are written into a memory-mapped temporary
    file beside the target and renamed, so memory stays flat on long sequences.
    """
    crops_path, index_path = Path(crops_path), Path(index_path)
    crops_path.parent.mkdir(parents=True, exist_ok=True)
    height, width = size
    n = len(instances)
    index = np.array([(i.frame, i.obj_id) for i in instances], np.int64).reshape(n, 2)
    rows_of_frame: list[list[int]] = [[] for _ in range(seq.num_frames)]
    for k, inst in enumerate(instances):
        rows_of_frame[inst.frame].append(k)
    with atomic_memmap(crops_path, np.uint8, (n, height, width, 3)) as out:
        frames_with_masks = [t for t in range(seq.num_frames) if rows_of_frame[t]]
        if frames_with_masks:
            start, stop = frames_with_masks[0], frames_with_masks[-1] + 1
            bar = tqdm(
                seq.iter_frames(start, stop),
                total=stop - start,
                disable=not progress,
                desc=f"crops {crops_path.stem}",
                unit="frame",
                leave=False,
            )
            for t, frame in bar:
                rows = rows_of_frame[t]
                if not rows:
                    continue
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                dense = masks.decode([instances[k].rle for k in rows]) if mask_background else None
                for j, k in enumerate(rows):
                    out[k] = cut_crop(
                        rgb,
                        instances[k].rle,
                        size=size,
                        mask_background=mask_background,
                        mask=None if dense is None else dense[j],
                    )
        del out
    atomic_save_npy(index_path, index)
    atomic_write_json(_meta_path(crops_path), _cut_settings(size, mask_background))
    log.info("cut %d crops of %s into %s", n, seq.name, crops_path)
    return open_crop_cache(crops_path, index_path)


def _meta_path(crops_path: Path) -> Path:
    return crops_path.with_suffix(".json")


def _cut_settings(size, mask_background: bool) -> dict:
    return {"size": [int(v) for v in size], "mask_background": bool(mask_background)}


def open_crop_cache(crops_path: str | Path, index_path: str | Path) -> CropCache:
    """Open a cache: crops memory-mapped read-only, index in memory."""
    return CropCache(np.load(crops_path, mmap_mode="r"), np.load(index_path))


def ensure_crop_cache(
    crops_path: str | Path,
    seq,
    instances: list[Instance],
    *,
    size: tuple[int, int] = (256, 128),
    mask_background: bool = False,
    progress: bool = True,
) -> CropCache:
    """The cache at ``crops_path`` (and its index ``<name>.index.npy`` beside it), reused when it
    exists and matches ``instances`` (same rows (frame, obj_id), crop size and masking), else
    (re)built."""
    crops_path = Path(crops_path)
    index_path = index_path_of(crops_path)
    want = np.array([(i.frame, i.obj_id) for i in instances], np.int64).reshape(-1, 2)
    if crops_path.is_file() and index_path.is_file():
        try:
            cache = open_crop_cache(crops_path, index_path)
            meta = _meta_path(crops_path)
            settings = json.loads(meta.read_text()) if meta.is_file() else None
        except (ValueError, OSError, EOFError) as err:  # a damaged cache is cut again
            log.warning("crop cache %s is not readable (%s): rebuilding", crops_path, err)
            cache, settings = None, None
        if (
            cache is not None
            and settings == _cut_settings(size, mask_background)
            and cache.crops.shape[1:3] == tuple(size)
            and np.array_equal(cache.index, want)
            and len(cache.crops) == len(want)
        ):
            return cache
        log.info("crop cache %s does not match (size or rows changed): rebuilding", crops_path)
    return build_crop_cache(
        seq,
        instances,
        crops_path,
        index_path,
        size=size,
        mask_background=mask_background,
        progress=progress,
    )


def index_path_of(crops_path: Path) -> Path:
    """``<name>.index.npy`` beside ``<name>.npy``."""
    return crops_path.with_suffix(".index.npy")
