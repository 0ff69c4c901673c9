"""Encoder training stages of ReMOTS: `python train.py stage=intra|inter`."""

import hydra
from omegaconf import DictConfig

from remots.cli import run_stage


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig):
    return run_stage(cfg)


if __name__ == "__main__":
    main()
