"""Every root config composes, with every option of every group and typical overrides."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

CONF = Path(__file__).resolve().parent.parent / "conf"
ROOTS = ["track", "train"]
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and any(p.glob("*.yaml")))


def options(group):
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def compose_cfg(root, overrides=()):
    """Compose like @hydra.main does, with the hydra node set so ${hydra:...} resolves."""
    from hydra.core.hydra_config import HydraConfig

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=root, overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


@pytest.mark.parametrize("root", ROOTS)
def test_root_composes_and_resolves(root, tmp_path):
    cfg = compose_cfg(root, [f"paths.output_root={tmp_path}"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved["paths"]["run_dir"] == f"{tmp_path}/{resolved['data']['name']}"
    assert cfg.stage.name == ("all" if root == "track" else "intra")


@pytest.mark.parametrize(
    "group,option",
    [(g, o) for g in GROUPS if g not in ("hydra", "experiment") for o in options(g)],
)
def test_every_group_option_composes(group, option, tmp_path):
    cfg = compose_cfg("track", [f"{group}={option}", f"paths.output_root={tmp_path}"])
    OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("experiment", options("experiment"))
def test_every_experiment_composes(experiment, tmp_path):
    cfg = compose_cfg("track", [f"experiment={experiment}", f"paths.output_root={tmp_path}"])
    OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize(
    "overrides",
    [
        ["stage=generate", "data.generator.seed=3", "data.generator.num_frames=10"],
        ["stage=eval", "data=kitti_mots", "data.root=/some/where"],
        ["stage=eval", "data=motschallenge", "seed=7", "run_name=mots20-try"],
        ["logger=wandb", "logger.wandb.offline=true"],
        ["logger=csv"],
    ],
)
def test_typical_overrides(overrides, tmp_path):
    cfg = compose_cfg("track", [*overrides, f"paths.output_root={tmp_path}"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    for o in overrides:
        key, value = o.split("=", 1)
        if key in ("stage", "data", "logger"):
            continue
        node = resolved
        for part in key.split("."):
            node = node[part]
        assert str(node).lower() == value.lower()


def test_every_stage_config_names_a_stage_of_the_pipeline():
    from remots import pipeline

    for stage in options("stage"):
        cfg = OmegaConf.load(CONF / "stage" / f"{stage}.yaml")
        assert cfg.name == stage
        assert stage in (*pipeline.STAGE_NAMES, "all", "generate")
    assert set(pipeline.STAGE_NAMES) <= set(options("stage"))


@pytest.mark.parametrize("root", ROOTS)
@pytest.mark.parametrize(("value", "ok"), [("null", True), ("0", True), ("3", True), ("-1", False)])
def test_workers_is_checked_and_enters_no_stage_hash(root, value, ok, tmp_path):
    from remots import config, pipeline
    from remots.errors import ConfigError

    cfg = compose_cfg(root, [f"workers={value}", f"paths.output_root={tmp_path}"])
    if not ok:
        with pytest.raises(ConfigError, match="workers=-1"):
            config.validate(cfg)
        return
    config.validate(cfg)
    serial = compose_cfg(root, ["workers=1", f"paths.output_root={tmp_path}"])
    for stage in pipeline.STAGES:
        assert pipeline.stage_hash(cfg, stage, "") == pipeline.stage_hash(serial, stage, "")


def test_augment_on_is_checked_and_changes_the_training_hash(tmp_path):
    """Where the crops are augmented changes their pixels (rounding, the erased boxes' noise):
    it enters the training stages' hash; a value other than loader / device is refused."""
    from remots import config, pipeline
    from remots.errors import ConfigError

    out = f"paths.output_root={tmp_path}"
    with pytest.raises(ConfigError, match=r"model\.data\.augment_on"):
        config.validate(compose_cfg("train", ["model.data.augment_on=gpu", out]))
    loader = compose_cfg("train", [out])
    device = compose_cfg("train", ["model.data.augment_on=device", out])
    config.validate(device)
    intra = next(s for s in pipeline.STAGES if s.name == "intra")
    assert pipeline.stage_hash(loader, intra, "") != pipeline.stage_hash(device, intra, "")


def test_crops_on_is_checked_and_enters_no_stage_hash(tmp_path):
    """The crop bank gives the batches the workers would read, byte for byte
    (tests/data/test_datamodules.py): crops_on is how a run is fed, not what it writes. It needs
    the device augmentation; anything else is refused naming the key."""
    from remots import config, pipeline
    from remots.errors import ConfigError

    out = f"paths.output_root={tmp_path}"
    with pytest.raises(ConfigError, match=r"model\.data\.crops_on='device'"):
        config.validate(compose_cfg("train", ["model.data.crops_on=device", out]))
    with pytest.raises(ConfigError, match=r"model\.data\.crops_on='gpu'"):
        config.validate(compose_cfg("train", ["model.data.crops_on=gpu", out]))
    read = compose_cfg("train", ["model.data.augment_on=device", out])
    banked = compose_cfg(
        "train", ["model.data.augment_on=device", "model.data.crops_on=device", out]
    )
    config.validate(banked)
    for stage in pipeline.STAGES:
        assert pipeline.stage_hash(read, stage, "") == pipeline.stage_hash(banked, stage, "")


@pytest.mark.parametrize(
    ("override", "first_changed"),
    [
        ("model.data.inter_target_epochs=2.5", "inter"),
        ("model.short_term_appearance=false", "short"),
        ("model.embed.batch_size=64", "embed_short"),
        ("model.data.target_epochs=2", "intra"),
    ],
)
def test_a_key_read_later_reruns_the_chain_from_the_stage_that_reads_it(
    override, first_changed, tmp_path
):
    """Stage hashes chain (each builds on the previous digest): a key enters the hash of the first
    stage that reads it. The inter phase's epochs, the short tracker's use of appearance and the
    embedding batch leave the intra encoder as it is (a sweep over them keeps it)."""
    from remots import pipeline

    out = f"paths.output_root={tmp_path}"
    base, changed = compose_cfg("track", [out]), compose_cfg("track", [override, out])
    differs = [
        s.name
        for s in pipeline.STAGES
        if pipeline.stage_hash(base, s, "") != pipeline.stage_hash(changed, s, "")
    ]
    assert differs[0] == first_changed
