"""The detect stage: ``python track.py stage=detect``.

For every target sequence: run the configured detector (``cfg.detector``, one backend or an
ensemble), fuse its raw detections (``cfg.detector.fusion``: score and class filter, IoM-NMS,
pixel exclusivity, minimum area; paper, section 2.1), renumber them and write
``<run_dir>/detections/<seq>.txt``. A sequence whose file exists is skipped unless
``detector.overwrite=true`` (files are written atomically, so an existing one is complete).
A backend with ``keep_ids`` (refine mode, ``detector.keep_ids=true``) keeps the input's track id
of every fused detection in ``<run_dir>/detections/<seq>.seeds.json``, written before the txt; the
short stage then grows its tracklets from those seeds.
"""

from __future__ import annotations

import logging

from hydra.errors import InstantiationException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue
from tqdm.auto import tqdm

from remots.artifacts import RunFolder
from remots.datasets import load_split
from remots.detection.fusion import fuse_detections
from remots.errors import ConfigError, RemotsError
from remots.io.atomic import atomic_write_json
from remots.io.detections import renumber_keeping_ids, write_detections_txt

log = logging.getLogger(__name__)

# Keys of cfg.detector read by the stage, not passed to the backend's constructor.
STAGE_KEYS = ("overwrite", "fusion")
FUSION_KEYS = ("score_threshold", "iom_threshold", "min_area", "classes", "class_aware")


def build_detector(detector_cfg: DictConfig):
    """Instantiate the backend of ``cfg.detector`` (without the stage's own keys)."""
    from hydra.utils import instantiate

    try:
        node = OmegaConf.to_container(detector_cfg, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as err:
        raise ConfigError(f"{err.full_key} must be set (it is ??? in the config)") from None
    for key in STAGE_KEYS:
        node.pop(key, None)
    if "_target_" not in node:
        raise ConfigError("cfg.detector has no _target_ (choose one of conf/detector/*.yaml)")
    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as err:
        if isinstance(err.__cause__, RemotsError):  # the backend's own message, not Hydra's
            raise err.__cause__ from None
        raise


def fusion_kwargs(cfg: DictConfig) -> dict:
    """Keyword arguments of ``fuse_detections`` from ``cfg.detector.fusion`` (classes default to
    ``cfg.data.classes``)."""
    fusion = OmegaConf.to_container(cfg.detector.get("fusion") or {}, resolve=True)
    unknown = sorted(set(fusion) - set(FUSION_KEYS))
    if unknown:
        raise ConfigError(f"unknown detector.fusion keys {unknown} (expected {list(FUSION_KEYS)})")
    if fusion.get("classes") is None:
        fusion["classes"] = cfg.data.get("classes")
    if fusion["classes"] is not None:
        fusion["classes"] = [int(c) for c in fusion["classes"]]
    for key in ("score_threshold", "iom_threshold"):
        if key in fusion and not 0.0 <= float(fusion[key]) <= 1.0:
            raise ConfigError(f"detector.fusion.{key}={fusion[key]} is not in [0, 1]")
    if int(fusion.get("min_area", 0)) < 0:
        raise ConfigError(f"detector.fusion.min_area={fusion['min_area']} is negative")
    return fusion


def run_detect(cfg: DictConfig) -> dict[str, int]:
    """Detect and fuse every target sequence; returns the number of fused detections per
    sequence written by this call (skipped sequences are absent)."""
    sequences = load_split(cfg.data, "target", with_gt=False)
    run = RunFolder(cfg.paths.run_dir)
    overwrite = bool(cfg.detector.get("overwrite", False))
    fusion = fusion_kwargs(cfg)
    todo = [s for s in sequences if overwrite or not run.detections(s.name).is_file()]
    names = {s.name for s in todo}
    for s in sequences:
        if s.name not in names:
            log.info(
                "%s: %s exists, skipped (detector.overwrite=true redoes it)",
                s.name,
                run.detections(s.name),
            )
    written: dict[str, int] = {}
    if not todo:
        return written
    detector = build_detector(cfg.detector)
    for seq in tqdm(todo, desc="detect", unit="seq"):
        raw = detector(seq)
        fused = fuse_detections(raw, num_frames=seq.num_frames, desc=f"fuse {seq.name}", **fusion)
        path = run.detections(seq.name)
        detections, input_ids = renumber_keeping_ids(fused)
        seeds = run.detection_seeds(seq.name)
        if getattr(detector, "keep_ids", False):
            atomic_write_json(seeds, {"sequence": seq.name, "seed_of_detection": input_ids})
        else:
            seeds.unlink(missing_ok=True)
        write_detections_txt(path, detections, frame_base=seq.frame_base)
        log.info("%s: %d raw -> %d fused detections in %s", seq.name, len(raw), len(fused), path)
        written[seq.name] = len(fused)
    return written
