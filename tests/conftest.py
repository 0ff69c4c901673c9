import os
from pathlib import Path

import pytest

import remots.config  # noqa: F401  (registers the config schemas for compose())

os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("OMP_NUM_THREADS", "2")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real third-party data beside the project (../shared/data); tests skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def kitti_root(shared_data) -> Path:
    return shared_data / "kitti_mots_train"


@pytest.fixture(scope="session")
def kitti_sequences(kitti_root):
    """All 12 KITTI MOTS training sequences with their GT (read once per session)."""
    from remots.io.layouts import load_kitti_mots

    return load_kitti_mots(kitti_root, seqmap="seqmaps/train.seqmap")


@pytest.fixture(scope="session")
def small_synthetic(tmp_path_factory) -> Path:
    """A small synthetic dataset, generated once per session: 1 training + 1 target video of
    12 frames at 60x90, 6 walkers all visible from the start, no pillars."""
    from remots.synthetic import SyntheticParams, generate_dataset

    root = tmp_path_factory.mktemp("small_synthetic")
    params = SyntheticParams(
        num_train=1,
        num_target=1,
        num_frames=12,
        height=60,
        width=90,
        num_objects=6,
        entry_fraction=0.0,
        num_occluders=0,
    )
    generate_dataset(root, params)
    return root


@pytest.fixture(scope="session")
def small_crop_caches(tmp_path_factory, small_synthetic):
    """Crop caches (32x16) of the GT masks of ``small_synthetic``'s training and target video."""
    from remots.data.crops import ensure_crop_cache
    from remots.io.layouts import load_motschallenge

    folder = tmp_path_factory.mktemp("small_crops")
    train = load_motschallenge(small_synthetic / "train")[0]
    target = load_motschallenge(small_synthetic / "test")[0]
    return (
        ensure_crop_cache(folder / "train.npy", train, train.gt, size=(32, 16), progress=False),
        ensure_crop_cache(folder / "target.npy", target, target.gt, size=(32, 16), progress=False),
    )


@pytest.fixture()
def make_cfg(tmp_path, small_synthetic):
    """``make_cfg(*overrides)``: the composed ``track`` config of run ``r`` on the small
    synthetic dataset under ``tmp_path``."""
    from hydra import compose, initialize_config_dir

    conf = Path(__file__).resolve().parents[1] / "conf"

    def make(*overrides):
        with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
            return compose(
                config_name="track",
                overrides=[
                    f"paths.output_root={tmp_path}",
                    "run_name=r",
                    "data=motschallenge",
                    f"data.root={small_synthetic}",
                    *overrides,
                ],
            )

    return make
