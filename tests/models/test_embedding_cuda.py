"""``embed_crops`` on CUDA (pinned buffers, copies on a side stream, features kept on the GPU)
against the CPU's float32 features of the same crops; the precision option."""

import numpy as np
import pytest
import torch

from remots.models.components.backbone import ReIDEncoder
from remots.models.embedding import embed_crops, forward_settings


def _net_and_crops(n=37):
    torch.manual_seed(0)
    net = ReIDEncoder(backbone="resnet18")
    crops = np.random.default_rng(0).integers(0, 256, (n, 32, 16, 3), dtype=np.uint8)
    return net, crops


def test_precision_choices_and_unknown_precision():
    net, _ = _net_and_crops()
    cpu = torch.device("cpu")
    assert forward_settings(net, cpu)[1:] == (None, False)
    assert forward_settings(net, cpu, "bf16")[1] == torch.bfloat16
    with pytest.raises(ValueError, match="precision must be one of"):
        forward_settings(net, cpu, "int8")


def test_bf16_on_the_cpu_stays_close_to_float32():
    net, crops = _net_and_crops()
    f32 = embed_crops(net, crops, batch_size=8, progress=False)
    bf16 = embed_crops(net, crops, batch_size=8, progress=False, precision="bf16")
    assert bf16.dtype == np.float32 and np.allclose(np.linalg.norm(bf16, axis=1), 1, atol=1e-5)
    assert (f32 * bf16).sum(axis=1).min() > 0.99  # cosine of each crop's two features


class _FlakyKernel(torch.nn.Module):
    """Stand-in for oneDNN's bf16 convolutions on AMX CPUs, which now and then write NaN (not
    reproducible on demand): the first forward pass of every batch gives NaN features."""

    feature_dim = 4

    def __init__(self):
        super().__init__()
        self.seen: set[bytes] = set()

    def embed(self, x):
        f = x.flatten(1)[:, :4] + 1.0
        key = x.numpy().tobytes()
        if key not in self.seen:
            self.seen.add(key)
            return torch.full_like(f, float("nan"))
        return f


def test_a_bf16_batch_with_nan_features_is_computed_again():
    crops = np.random.default_rng(1).integers(0, 256, (5, 4, 2, 3), dtype=np.uint8)
    features = embed_crops(_FlakyKernel(), crops, batch_size=2, progress=False, precision="bf16")
    assert np.isfinite(features).all()
    expected = crops.transpose(0, 3, 1, 2).reshape(5, -1)[:, :4] / 255.0 + 1.0
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(features, expected, atol=1e-2)  # bf16


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("precision", "min_cosine"), [("fp32", 0.9999), ("auto", 0.999)])
def test_cuda_features_match_the_cpu_features(precision, min_cosine):
    net, crops = _net_and_crops()
    cpu = embed_crops(net, crops, batch_size=8, progress=False)
    for batch in (8, 37, 64):  # several batches and both buffers, one batch, a short one
        gpu = embed_crops(
            net, crops, batch_size=batch, device="cuda", progress=False, precision=precision
        )
        assert gpu.shape == cpu.shape and gpu.dtype == np.float32
        assert (cpu * gpu).sum(axis=1).min() > min_cosine
    assert embed_crops(net.cpu(), crops[:0], device="cuda", progress=False).shape == (0, 512)


class _BrokenUnderAutocast(torch.nn.Module):
    """Stand-in for a bf16 kernel that keeps writing NaN (every reduced-precision pass)."""

    feature_dim = 4

    def embed(self, x):
        f = x.flatten(1)[:, :4] + 1.0
        return torch.full_like(f, float("nan")) if torch.is_autocast_enabled("cpu") else f


def test_a_bf16_batch_that_stays_nan_is_computed_in_float32():
    crops = np.random.default_rng(1).integers(0, 256, (5, 4, 2, 3), dtype=np.uint8)
    net = _BrokenUnderAutocast()
    bf16 = embed_crops(net, crops, batch_size=2, progress=False, precision="bf16")
    np.testing.assert_array_equal(bf16, embed_crops(net, crops, batch_size=2, progress=False))
