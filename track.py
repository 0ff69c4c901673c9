"""Tracking stages of ReMOTS: `python track.py stage=detect|embed_short|short|embed_merge|merge|
eval|report|all|generate` (code map: remots/stages/__init__.py)."""

import hydra
from omegaconf import DictConfig

import remots.config  # noqa: F401  (registers the config schemas before Hydra composes)
from remots.cli import main, run_stage


@hydra.main(version_base="1.3", config_path="conf", config_name="track")
def track(cfg: DictConfig):
    return run_stage(cfg)


if __name__ == "__main__":
    main(track)
