import pytest
import torch

from remots.errors import ConfigError
from remots.models.components.backbone import ReIDEncoder


def _net(**kw):
    torch.manual_seed(0)
    return ReIDEncoder(backbone="resnet18", **kw).eval()


def test_feature_dims_bnneck_and_classifier():
    net = _net(num_identities=7)
    out = net(torch.rand(2, 3, 64, 32))
    assert out["feature"].shape == (2, 512) and out["logits"].shape == (2, 7)
    assert not net.bnneck.bias.requires_grad
    zeros = torch.zeros(1, 3, 64, 32)
    assert torch.equal(net.embed(zeros), net(zeros)["feature"])
    plain = _net(bnneck=False)
    assert plain.bnneck is None and plain.classifier is None


def test_paper_backbone_is_2048d():
    net = ReIDEncoder(backbone="seresnext50_32x4d", bnneck=True)
    assert net.feature_dim == 2048


def test_local_weights_file_round_trip(tmp_path):
    a = _net()
    path = tmp_path / "w.pth"
    state = dict(a.backbone.state_dict())
    state["fc.weight"] = torch.zeros(3, 512)  # a classifier head in the file is dropped
    torch.save(state, path)
    torch.manual_seed(1)
    b = ReIDEncoder(backbone="resnet18", checkpoint_path=str(path)).eval()
    x = torch.rand(2, 3, 64, 32)
    assert torch.allclose(a.embed(x), b.embed(x))


def test_bad_weights_files_name_the_file(tmp_path):
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match=r"corrupt.pth"):
        ReIDEncoder(backbone="resnet18", checkpoint_path=str(corrupt))
    other = tmp_path / "resnet34.pth"
    torch.save(ReIDEncoder(backbone="resnet34").backbone.state_dict(), other)
    with pytest.raises(ConfigError, match=r"resnet34.pth.*do not fit"):
        ReIDEncoder(backbone="resnet18", checkpoint_path=str(other))
    with pytest.raises(ConfigError, match="not found"):
        ReIDEncoder(backbone="resnet18", checkpoint_path=str(tmp_path / "missing.pth"))
    with pytest.raises(ConfigError, match="backbone"):
        ReIDEncoder(backbone="no_such_net_42")
