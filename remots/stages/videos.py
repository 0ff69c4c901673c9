"""The configured videos (``cfg.data``): the synthetic default generated on first use, and the
training and target splits loaded as ``Video`` lists. The only module that reads ``cfg.data``'s
layout and folders."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from omegaconf import DictConfig

from remots.config import DataConfig, typed
from remots.errors import ConfigError
from remots.io.layouts import Video, load_sequences
from remots.synthetic import generate_dataset

log = logging.getLogger(__name__)


SINGLE_VIDEO_LAYOUTS = ("frames", "video")


def ensure_data(data: DataConfig) -> Path:
    """The dataset root; the synthetic generator writes it first if it is missing (it writes the
    MOTSChallenge layout, so a frames folder or a video file is never generated)."""
    root = Path(data.root)
    generate = data.generator is not None and data.layout not in SINGLE_VIDEO_LAYOUTS
    if generate and not (root / "COMPLETE").is_file():
        log.info("generating the synthetic dataset into %s", root)
        generate_dataset(root, data.generator)
    if not root.exists():
        raise ConfigError(f"data.root {root} does not exist (data={data.name})")
    return root


def load_split(data: DataConfig, split: str, *, with_gt: bool = True) -> list[Video]:
    """Sequences of ``split``: ``"train"`` (GT triplets) or ``"target"`` (the videos refined)."""
    if split not in ("train", "target"):
        raise ValueError(f"split must be 'train' or 'target', not {split!r}")
    root = ensure_data(data)
    part = (
        {"start": data.start, "stop": data.stop, "stride": data.stride} if split == "target" else {}
    )
    if data.layout == "frames" and data.fps is not None:
        part["fps"] = data.fps
    if data.layout in SINGLE_VIDEO_LAYOUTS:  # data.root is the one target video
        return load_sequences(data.layout, root, **part) if split == "target" else []
    folder = data.train_split if split == "train" else data.target_split
    if folder is None:
        return []
    path = root / folder
    if not path.exists():
        raise ConfigError(f"the {split} split folder {path} does not exist (data={data.name})")
    sequences = data.sequences if split == "target" else None
    return load_sequences(
        data.layout,
        path,
        sequences=list(sequences) if sequences else None,
        with_gt=with_gt,
        **part,
    )


def target_videos(cfg: DictConfig, *, with_gt: bool = False) -> list[Video]:
    """The videos ReMOTS refines (``data.target_split``, ``data.sequences`` of it)."""
    return load_split(typed(cfg.data), "target", with_gt=with_gt)


def training_videos(cfg: DictConfig) -> list[Video]:
    """The videos whose ground truth gives the GT triplets (``data.train_split``)."""
    return load_split(typed(cfg.data), "train")


def inputs_fingerprint(video: Video) -> str:
    """What a target video's files are now: name, size and modification time of every frame (or
    the video file), of the ground truth, and of the side files under ``<seq_dir>/det*`` where
    precomputed detections live. The detect stage reruns a video whose fingerprint changed, so
    replaced frames or detection files are not reported with the old results."""
    paths = [*(video.frame_paths or []), video.video_path, video.gt_path]
    seq_dir = video.extra.get("seq_dir")
    if seq_dir is not None:
        for det in sorted(Path(seq_dir).glob("det*")):
            paths += sorted(det.rglob("*")) if det.is_dir() else [det]
    entries = []
    for path in paths:
        if path is not None and Path(path).is_file():
            st = Path(path).stat()
            entries.append(f"{path}\t{st.st_size}\t{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(entries).encode()).hexdigest()
