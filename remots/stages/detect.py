"""``python track.py stage=detect``: the fused detections of every target sequence (section 2.1).

Per sequence: run the configured detector (``cfg.detector``, one backend or an ensemble), fuse
its raw detections (``detector.fusion``: score and class filter, IoM-NMS, pixel exclusivity,
minimum area), order them and write ``detections/<seq>.txt``. A backend with ``keep_ids`` (refine
mode, ``detector.keep_ids=true``) keeps the input's track id of every fused detection in
``detections/<seq>.seeds.json``; the short stage then grows its tracklets from those seeds.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator

from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from remots.config import FusionConfig, typed
from remots.detection.fusion import fuse_detections
from remots.errors import ConfigError, RemotsError
from remots.io.atomic import atomic_write_json
from remots.io.detections import (
    dropped_of,
    order_detections,
    require_detections_of_gt_classes,
    write_detections_txt,
)
from remots.io.layouts import Video
from remots.io.run_folder import RunFolder
from remots.stages.videos import target_videos

log = logging.getLogger(__name__)


def build_detector(detector_cfg: DictConfig):
    """Instantiate the backend of ``cfg.detector`` (without its ``fusion`` node)."""
    from hydra.utils import instantiate

    try:
        node = OmegaConf.to_container(detector_cfg, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as err:
        raise ConfigError(f"{err.full_key} must be set (it is ??? in the config)") from None
    node.pop("fusion", None)
    if "_target_" not in node:
        raise ConfigError("cfg.detector has no _target_ (choose one of conf/detector/*.yaml)")
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as err:
        if isinstance(err.__cause__, RemotsError):  # the backend's own message, not Hydra's
            raise err.__cause__ from None
        raise


def _gt_class_counts(cfg: DictConfig) -> dict[str, dict[int, int]]:
    """GT masks per tracked class of each target video that has ground truth."""
    tracked = set(cfg.data.classes)
    counts = {}
    for video in target_videos(cfg, with_gt=True):
        if video.gt is not None:
            counts[video.name] = dict(
                Counter(g.class_id for g in video.gt if g.class_id in tracked)
            )
    return counts


def fusion_options(cfg: DictConfig) -> FusionConfig:
    """``detector.fusion``, its classes defaulting to ``data.classes``."""
    fusion = typed(cfg.detector.fusion)
    if fusion.classes is None:
        fusion = dataclasses.replace(fusion, classes=list(cfg.data.classes))
    return fusion


def detect(cfg: DictConfig, run: RunFolder, videos: list[Video]) -> Iterator[str]:
    """Detect and fuse each video; yields its name once its files are written.

    Detections dropped for their class, score or size are counted and logged as a warning; a
    class that has ground truth in the video but kept no detection at all (a wrong
    ``detector.category_map``, thresholds that drop everything) stops the run with an error.
    """
    fusion = dataclasses.asdict(fusion_options(cfg))
    detector = build_detector(cfg.detector)
    gt_counts = _gt_class_counts(cfg)
    for video in videos:
        raw = detector(video)
        fused = fuse_detections(
            raw, num_frames=video.num_frames, desc=f"fuse {video.name}", **fusion
        )
        dropped = dropped_of(fused)
        if dropped:
            log.warning("%s: %s", video.name, dropped.summary())
        if video.name in gt_counts:
            require_detections_of_gt_classes(
                fused, gt_counts[video.name], dropped=dropped, sequence=video.name
            )
        detections, input_ids = order_detections(fused)
        seeds = run.detection_seeds(video.name)
        if getattr(detector, "keep_ids", False):
            atomic_write_json(seeds, {"sequence": video.name, "seed_of_detection": input_ids})
        else:
            seeds.unlink(missing_ok=True)
        path = run.detections(video.name)
        write_detections_txt(
            path, detections, frame_base=video.frame_base, frame_step=video.frame_step
        )
        log.info("%s: %d raw -> %d fused detections in %s", video.name, len(raw), len(fused), path)
        yield video.name
