"""Encoder training stages of ReMOTS: `python train.py stage=intra|inter`."""

import hydra
from omegaconf import DictConfig

import remots.config  # noqa: F401  (registers the config schemas before Hydra composes)
from remots.cli import main, run_stage


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def train(cfg: DictConfig):
    return run_stage(cfg)


if __name__ == "__main__":
    main(train)
