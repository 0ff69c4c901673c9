"""The configured data (``cfg.data``): generating the synthetic default on first use and loading
the training and target splits as ``Video`` lists. The only module that reads ``cfg.data``."""

from __future__ import annotations

import logging
from pathlib import Path

from remots.errors import ConfigError
from remots.io.layouts import Video, load_sequences

log = logging.getLogger(__name__)


def ensure_data(data_cfg) -> Path:
    """The dataset root; the synthetic generator writes it first if it is missing."""
    root = Path(data_cfg.root)
    generator = data_cfg.get("generator")
    if generator is not None and not (root / "COMPLETE").is_file():
        from hydra.utils import instantiate

        log.info("generating the synthetic dataset into %s", root)
        instantiate(generator, root=str(root))
    if not root.exists():
        raise ConfigError(f"data.root {root} does not exist (data={data_cfg.name})")
    return root


def load_split(data_cfg, split: str, *, with_gt: bool = True) -> list[Video]:
    """Sequences of ``split``: ``"train"`` (GT triplets) or ``"target"`` (the videos refined)."""
    if split not in ("train", "target"):
        raise ValueError(f"split must be 'train' or 'target', not {split!r}")
    root = ensure_data(data_cfg)
    folder = data_cfg.get(f"{split}_split")
    if folder is None:
        return []
    path = root / folder
    if not path.exists():
        raise ConfigError(f"the {split} split folder {path} does not exist (data={data_cfg.name})")
    sequences = data_cfg.get("sequences") if split == "target" else None
    return load_sequences(
        data_cfg.layout, path, sequences=list(sequences) if sequences else None, with_gt=with_gt
    )
