"""``python track.py stage=embed_short`` / ``stage=embed_merge``: the appearance feature of every
detection, with the encoder the next stage uses.

``embed_short`` embeds with ``tracker.features_phase`` (the intra-frame-trained encoder by
default) for the short-term tracker and the Fig. 4 estimate of theta_short; ``embed_merge`` with
``merge.features`` (the inter-tracklet-trained encoder) for the merge and Fig. 5. Per sequence they
write ``features/<phase>/<seq>.npy`` (float32, L2-normalised, row k = detection k) and
``features/<phase>/<seq>.json``: the SHA-256 of the encoder checkpoint and of the detections the
features were computed from, which the short and merge stages check, so features of a retrained
encoder or of other detections are never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator

import numpy as np
from omegaconf import DictConfig, OmegaConf

from remots.config import typed
from remots.errors import ConfigError
from remots.io.layouts import Video
from remots.io.run_folder import RunFolder, check_finite, sha256_file
from remots.stages.encoder import crop_cache, load_encoder

log = logging.getLogger(__name__)


def embed_short(cfg: DictConfig, run: RunFolder, videos: list[Video]) -> Iterator[str]:
    """Features for the short stage (``tracker.features_phase``)."""
    yield from embed(cfg, run, videos, typed(cfg.tracker).features_phase)


def embed_merge(cfg: DictConfig, run: RunFolder, videos: list[Video]) -> Iterator[str]:
    """Features for the merge stage (``merge.features``)."""
    yield from embed(cfg, run, videos, typed(cfg.merge).features)


def embed(cfg: DictConfig, run: RunFolder, videos: list[Video], phase: str) -> Iterator[str]:
    """Embed the detections of each video with the ``phase`` encoder; yields its name once its
    features are written. Crops are cut once into ``crops/<seq>.npy`` (shared with training)."""
    from remots.devices import resolve_device
    from remots.models.embedding import embed_crops

    options = typed(cfg.model.embed)
    digest = encoder_digest(cfg, run, phase)
    encoder = None
    for video in videos:
        detections = run.read_detections(video)
        cache = crop_cache(cfg, run, video.name, video, detections.instances())
        if encoder is None:
            encoder = load_encoder(cfg, run, phase)
        features = embed_crops(
            encoder,
            cache.crops,
            batch_size=options.batch_size,
            device=resolve_device(options.device),
            desc=f"embed {video.name} ({phase})",
        )
        check_finite(features, run.checkpoint(phase))
        run.write_features(phase, video, features, features_source(run, video, phase, digest))
        log.info("embedded %d masks of %s with the %s encoder", len(features), video.name, phase)
        yield video.name


def encoder_digest(cfg: DictConfig, run: RunFolder, phase: str) -> str:
    """SHA-256 of what the ``phase`` encoder's weights come from: its checkpoint, or for the
    untrained encoder its config and seed."""
    if phase == "untrained":
        text = json.dumps(
            [OmegaConf.to_container(cfg.model.net, resolve=True), cfg.seed], sort_keys=True
        )
        return hashlib.sha256(text.encode()).hexdigest()
    path = run.checkpoint(phase)
    if not path.is_file():
        raise ConfigError(f"{path}: the {phase} encoder is missing (run stage={phase} first)")
    return sha256_file(path)


def features_source(run: RunFolder, video: Video, phase: str, digest: str) -> dict:
    """The record written beside a video's features: which encoder and detections made them."""
    return {
        "phase": phase,
        "encoder": digest,
        "detections": sha256_file(run.detections(video.name)),
    }


def read_features(
    cfg: DictConfig, run: RunFolder, video: Video, phase: str, num_detections: int, stage: str
) -> np.ndarray:
    """Features a later stage uses: present, from the current encoder and detections, finite."""
    source = features_source(run, video, phase, encoder_digest(cfg, run, phase))
    return run.read_features(
        phase,
        video,
        num_detections,
        source=source,
        remedy=f"run `python track.py stage={stage}` first",
    )
