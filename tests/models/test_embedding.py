import numpy as np
import pytest
import torch
import torch.nn.functional as F

from remots.errors import ConfigError
from remots.models.components.backbone import ReIDEncoder
from remots.models.embedding import (
    embed_crops,
    encoder_input,
    forward_settings,
    load_module_weights,
)


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


def test_encoder_input_is_the_batch_embed_crops_runs():
    """bench_chain.py times the forward pass alone on encoder_input's batches against
    embed_crops: the features must be the same bytes, and on the CPU the batch keeps the crops'
    channels-last strides (an NCHW-contiguous copy runs MobileNetV2 1.6x slower there)."""
    torch.manual_seed(0)
    net = ReIDEncoder(backbone="mobilenetv2_100")
    crops = np.random.default_rng(1).integers(0, 256, (5, 64, 32, 3), dtype=np.uint8)
    model, dtype, channels_last = forward_settings(net, torch.device("cpu"))
    x = encoder_input(torch.from_numpy(crops), channels_last)
    assert dtype is None and not channels_last
    assert x.shape == (5, 3, 64, 32) and x.is_contiguous(memory_format=torch.channels_last)
    assert x.dtype == torch.float32 and float(x.max()) <= 1.0
    with torch.inference_mode():
        alone = F.normalize(model.embed(x), dim=1).numpy()
    assert alone.tobytes() == embed_crops(net, crops, batch_size=5, progress=False).tobytes()
    cl = encoder_input(torch.from_numpy(crops), channels_last=True)
    assert cl.is_contiguous(memory_format=torch.channels_last) and torch.equal(cl, x)


def test_a_corrupt_or_unfitting_checkpoint_is_a_config_error(tmp_path):
    net = ReIDEncoder(backbone="resnet18")
    with pytest.raises(ConfigError, match=r"intra.ckpt.*not found"):
        load_module_weights(net, tmp_path / "intra.ckpt")
    (tmp_path / "inter.ckpt").write_bytes(b"\x00garbage")
    with pytest.raises(ConfigError, match=r"inter.ckpt"):
        load_module_weights(net, tmp_path / "inter.ckpt")
    torch.save({"state_dict": {"net.backbone.conv1.weight": torch.zeros(1)}}, tmp_path / "x.ckpt")
    with pytest.raises(ConfigError, match=r"x.ckpt.*does not fit"):
        load_module_weights(net, tmp_path / "x.ckpt")
