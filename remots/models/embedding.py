"""Appearance features of crops: L2-normalised encoder outputs (``embed_crops``), and the encoder
weights of a remots training checkpoint (``load_module_weights``). The embed stage
(``remots.stages.embed``) runs them over every detection of a sequence."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from remots.errors import ConfigError
from remots.models.checkpoints import load_checkpoint
from remots.models.components.backbone import ReIDEncoder

log = logging.getLogger(__name__)

PHASES = ("untrained", "intra", "inter")


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


def load_module_weights(net: ReIDEncoder, path: str | Path, *, with_classifier: bool = False):
    """Load the encoder weights of a remots training checkpoint (``checkpoints/<phase>.ckpt``).

    The identity classifier is left out unless ``with_classifier`` (it depends on the training
    set, not needed to embed). The file is loaded weights-only (``models.checkpoints``). Raises
    ConfigError naming the file when it is missing or made for another backbone, InputError when
    it is corrupt or holds pickled objects.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: encoder checkpoint not found (run its training stage first)")
    state = load_checkpoint(path)["state_dict"]  # weights-only: nothing in it can run code
    state = {k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")}
    if not with_classifier or net.classifier is None:
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    try:
        net.load_state_dict(state, strict=net.classifier is None or with_classifier)
    except RuntimeError as err:
        first = " ".join(str(err).strip().splitlines()[:3])
        raise ConfigError(f"{path}: the checkpoint does not fit model.net: {first}") from None
    return net
