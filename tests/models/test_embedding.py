import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from remots.artifacts import RunFolder
from remots.errors import ConfigError
from remots.io.layouts import load_motschallenge
from remots.models.components.backbone import ReIDEncoder
from remots.models.embedding import embed_crops, ensure_features, load_module_weights

CONF = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "conf")


def test_embed_crops_unit_rows_and_batch_size_invariant():
    torch.manual_seed(0)
    net = ReIDEncoder(backbone="resnet18")
    crops = np.random.default_rng(0).integers(0, 256, (7, 32, 16, 3), dtype=np.uint8)
    f1 = embed_crops(net, crops, batch_size=1, progress=False)
    f7 = embed_crops(net, crops, batch_size=4, progress=False)
    assert f1.shape == (7, 512) and f1.dtype == np.float32
    assert np.allclose(np.linalg.norm(f1, axis=1), 1, atol=1e-5)
    assert np.allclose(f1, f7, atol=1e-4)
    assert not net.training  # eval mode: BatchNorm uses running statistics
    assert embed_crops(net, crops[:0], progress=False).shape == (0, 512)


@pytest.fixture(scope="module")
def toy(small_synthetic):
    root = small_synthetic
    return load_motschallenge(root / "test")[0]


def _cfg(run_dir):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(
            "train", overrides=[f"paths.run_dir={run_dir}", "model.data.input_size=[32,16]"]
        )


def test_ensure_features_caches_and_is_deterministic(toy, tmp_path):
    cfg = _cfg(tmp_path)
    run = RunFolder(tmp_path)
    f = ensure_features(cfg, run, "untrained", toy, toy.gt)
    path = run.features("untrained", toy.name)
    assert f.shape == (len(toy.gt), 1280) and path.is_file()  # MobileNetV2, the default
    first = path.read_bytes()
    stamp = path.stat().st_mtime_ns
    assert np.array_equal(ensure_features(cfg, run, "untrained", toy, toy.gt), f)
    assert path.stat().st_mtime_ns == stamp  # reused, not recomputed
    path.unlink()
    ensure_features(cfg, run, "untrained", toy, toy.gt)
    assert path.read_bytes() == first  # byte-identical recomputation
    assert run.crops(toy.name).is_file()  # the crop cache embedding shares with training


def test_missing_or_corrupt_checkpoint_is_a_config_error(toy, tmp_path):
    cfg = _cfg(tmp_path)
    run = RunFolder(tmp_path)
    with pytest.raises(ConfigError, match=r"intra.ckpt.*not found"):
        ensure_features(cfg, run, "intra", toy, toy.gt)
    run.checkpoint("inter").parent.mkdir(parents=True, exist_ok=True)
    run.checkpoint("inter").write_bytes(b"\x00garbage")
    with pytest.raises(ConfigError, match=r"inter.ckpt"):
        ensure_features(cfg, run, "inter", toy, toy.gt)
    torch.save({"state_dict": {"net.backbone.conv1.weight": torch.zeros(1)}}, tmp_path / "x.ckpt")
    with pytest.raises(ConfigError, match=r"x.ckpt.*does not fit"):
        load_module_weights(ReIDEncoder(backbone="resnet18"), tmp_path / "x.ckpt")
