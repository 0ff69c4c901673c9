"""Appearance features of every mask: L2-normalised encoder outputs, cached per sequence and per
encoder phase (``untrained``, ``intra``, ``inter``) in the run folder."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from remots.errors import ConfigError, InputError
from remots.io.atomic import atomic_save_npy
from remots.models.components.backbone import ReIDEncoder

log = logging.getLogger(__name__)

PHASES = ("untrained", "intra", "inter")


def resolve_device(device: str | None) -> torch.device:
    """``auto``/None: CUDA when available, else CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def embed_crops(
    model: ReIDEncoder,
    crops: np.ndarray,
    *,
    batch_size: int = 128,
    device: str | torch.device = "cpu",
    progress: bool = True,
    desc: str = "embed",
) -> np.ndarray:
    """L2-normalised appearance features of crops.

    crops: uint8 ``(N, H, W, 3)`` RGB (a memory map is read batch by batch).
    Returns float32 ``(N, D)``, row k the feature of crop k, ||row|| = 1. Runs under
    ``torch.inference_mode`` in eval mode; on CUDA with channels-last and fp16 autocast.
    """
    device = torch.device(device)
    model = model.to(device).eval()
    cuda = device.type == "cuda"
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    out = np.empty((len(crops), model.feature_dim), np.float32)
    starts = range(0, len(crops), batch_size)
    with torch.inference_mode():
        for i in tqdm(starts, disable=not progress, desc=desc, unit="batch", leave=False):
            x = torch.from_numpy(np.array(crops[i : i + batch_size])).to(device)
            x = x.permute(0, 3, 1, 2).float().div_(255.0)
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.float16, enabled=cuda):
                f = model.embed(x)
            out[i : i + len(x)] = F.normalize(f.float(), dim=1).cpu().numpy()
    return out


def build_net(model_cfg, *, seed: int, num_identities: int = 0) -> ReIDEncoder:
    """The encoder of ``cfg.model.net``, its random initialisation fixed by ``seed``."""
    from hydra.utils import instantiate

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return instantiate(model_cfg.net, num_identities=num_identities)


def load_module_weights(net: ReIDEncoder, path: str | Path, *, with_classifier: bool = False):
    """Load the encoder weights of a remots training checkpoint (``run.checkpoint(phase)``).

    The identity classifier is left out unless ``with_classifier`` (it depends on the training
    set, not needed to embed). Raises ConfigError naming the file when it is missing, corrupt or
    made for another backbone.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: encoder checkpoint not found (run its training stage first)")
    try:
        # our own checkpoint: its hyper-parameters hold functools.partial objects
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        state = ckpt["state_dict"]
    except Exception as err:  # torch raises many types for a corrupt file
        raise ConfigError(f"{path}: not a readable remots encoder checkpoint ({err})") from None
    state = {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}
    if not with_classifier or net.classifier is None:
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    try:
        net.load_state_dict(state, strict=net.classifier is None or with_classifier)
    except RuntimeError as err:
        first = " ".join(str(err).strip().splitlines()[:3])
        raise ConfigError(f"{path}: the checkpoint does not fit model.net: {first}") from None
    return net


_ENCODERS: dict[tuple, ReIDEncoder] = {}


def load_encoder(cfg, run, phase: str) -> ReIDEncoder:
    """The encoder of ``phase``: ``untrained`` is the configured backbone as built (pretrained
    weights if configured, no fine-tuning); ``intra`` / ``inter`` load ``run.checkpoint(phase)``.
    Kept in memory per checkpoint file and modification time."""
    if phase not in PHASES:
        raise ConfigError(f"encoder phase must be one of {PHASES}, not {phase!r}")
    path = run.checkpoint(phase) if phase != "untrained" else None
    key = (
        str(path),
        path.stat().st_mtime_ns if path and path.is_file() else None,
        repr(cfg.model.net),
        cfg.seed,
    )
    if key not in _ENCODERS:
        _ENCODERS.clear()
        net = build_net(cfg.model, seed=cfg.seed)
        if path is not None:
            load_module_weights(net, path)
        _ENCODERS[key] = net.eval()
    return _ENCODERS[key]


def ensure_features(cfg, run, phase: str, seq, detections) -> np.ndarray:
    """Features of every detection of ``seq`` under the ``phase`` encoder, cached.

    Returns float32 ``(N, D)`` L2-normalised, row k = ``detections[k]``. Reuses
    ``run.features(phase, seq.name)`` when present with N rows; else cuts (or reuses) the crop
    cache ``run.crops(seq.name)``, embeds and writes the features atomically.
    """
    from remots.data.crops import ensure_crop_cache

    path = run.features(phase, seq.name)
    if path.is_file():
        try:
            cached = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            log.warning("%s is not a readable feature file (%s): recomputing", path, err)
            cached = None
        if cached is not None and cached.ndim == 2 and cached.shape[0] == len(detections):
            return _check_finite(cached, path)
        if cached is not None:
            log.info(
                "%s has %d rows for %d detections: recomputing",
                path,
                len(cached),
                len(detections),
            )
    data = cfg.model.data
    cache = ensure_crop_cache(
        run,
        seq.name,
        seq,
        list(detections),
        size=tuple(data.input_size),
        mask_background=bool(data.mask_background),
    )
    model = load_encoder(cfg, run, phase)
    embed = cfg.model.embed
    features = embed_crops(
        model,
        cache.crops,
        batch_size=int(embed.batch_size),
        device=resolve_device(embed.get("device")),
        desc=f"embed {seq.name} ({phase})",
    )
    _check_finite(features, run.checkpoint(phase))
    atomic_save_npy(path, features)
    log.info("embedded %d masks of %s with the %s encoder", len(features), seq.name, phase)
    return features


def _check_finite(features: np.ndarray, source) -> np.ndarray:
    """NaN or infinite features (a diverged or corrupt encoder) would poison every similarity:
    refuse them, naming where they came from."""
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} of {len(features)} feature rows are NaN or infinite (first: row "
            f"{int(np.flatnonzero(bad)[0])}); the encoder diverged or its file is corrupt",
            source,
        )
    return features
