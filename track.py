"""Tracking stages of ReMOTS: `python track.py stage=detect|short|merge|eval|all|generate`."""

import hydra
from omegaconf import DictConfig

from remots.cli import run_stage


@hydra.main(version_base="1.3", config_path="conf", config_name="track")
def main(cfg: DictConfig):
    return run_stage(cfg)


if __name__ == "__main__":
    main()
