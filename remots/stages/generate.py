"""``python track.py stage=generate``: write the synthetic dataset (the embedded default; every
stage does it on first use anyway) and log its statistics."""

from __future__ import annotations

import logging

from omegaconf import DictConfig

from remots.config import typed
from remots.errors import ConfigError
from remots.stages.videos import ensure_data
from remots.synthetic import read_stats, stats_table

log = logging.getLogger(__name__)


def generate(cfg: DictConfig) -> None:
    """Make sure ``cfg.data`` exists (generating the synthetic dataset) and log its statistics."""
    data = typed(cfg.data)
    root = ensure_data(data)
    stats = read_stats(root)
    if stats is None:
        raise ConfigError(
            f"{root} has no stats.json: the generate stage describes the synthetic dataset "
            f"(data={data.name}); use data=synthetic"
        )
    log.info("synthetic dataset %s\n%s", root, stats_table(stats))
