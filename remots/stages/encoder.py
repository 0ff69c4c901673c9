"""What the training and embed stages share: the configured encoder, and the crop caches cut
with the encoder's input size."""

from __future__ import annotations

from omegaconf import DictConfig

from remots.config import PHASES
from remots.errors import ConfigError
from remots.io.instances import Instance
from remots.io.layouts import Video
from remots.io.run_folder import RunFolder


def build_net(model_cfg, *, seed: int, num_identities: int = 0):
    """The encoder of ``cfg.model.net``, its random initialisation fixed by ``seed``."""
    import torch
    from hydra.utils import instantiate

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return instantiate(model_cfg.net, num_identities=num_identities)


def load_encoder(cfg: DictConfig, run: RunFolder, phase: str):
    """The encoder of ``phase``: ``untrained`` is the configured backbone as built (pretrained
    weights if configured, no fine-tuning); ``intra`` / ``inter`` load ``run.checkpoint(phase)``."""
    from remots.models.embedding import load_module_weights

    if phase not in PHASES:
        raise ConfigError(f"encoder phase must be one of {PHASES}, not {phase!r}")
    net = build_net(cfg.model, seed=cfg.seed)
    if phase != "untrained":
        load_module_weights(net, run.checkpoint(phase))
    return net.eval()


def crop_cache(cfg: DictConfig, run: RunFolder, key: str, video: Video, instances: list[Instance]):
    """The crop cache ``crops/<key>.npy`` of ``instances`` (row k = instances[k]), cut at the
    encoder's ``model.data.input_size`` (reused when it matches)."""
    from remots.data.crops import ensure_crop_cache

    data = cfg.model.data
    return ensure_crop_cache(
        run.crops(key),
        video,
        instances,
        size=tuple(data.input_size),
        mask_background=bool(data.mask_background),
    )
