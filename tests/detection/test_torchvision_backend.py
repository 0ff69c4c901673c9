"""torchvision Mask R-CNN on real MOT17 frames (1920x1080 and 640x480), random weights.

Random weights emit arbitrary masks, so the tests check well-formedness, the label mapping,
determinism and weight loading, not detection quality. The model is kept small (320 px input,
100 proposals, 10 detections per frame, 3 classes so random scores spread over both MOTS ones).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from remots import masks
from remots.detection.fusion import fuse_detections
from remots.detection.torchvision_backend import TorchvisionMaskRCNN, build_maskrcnn
from remots.errors import ConfigError
from remots.io.detections import read_detections_txt, write_detections_txt
from remots.io.layouts import load_frame_folder

SMALL = dict(
    model="maskrcnn_resnet50_fpn",
    weights=None,
    device="cpu",
    batch_size=2,
    min_size=320,
    max_size=320,
    box_score_thresh=0.0,
    proposals_per_img=100,
    detections_per_img=10,
    num_classes=3,
    label_map={1: 2, 2: 1},
    progress=False,
)


@pytest.fixture(scope="module")
def mot17(shared_data):
    """Two frames of MOT17-02 (1920x1080) and of MOT17-05 (640x480)."""
    root = shared_data / "mot17_mini_frames"
    seqs = [
        load_frame_folder(root / name / "img1", name=name)
        for name in ("MOT17-02-FRCNN", "MOT17-05-FRCNN")
    ]
    return [dataclasses.replace(s, num_frames=2) for s in seqs]


@pytest.fixture(scope="module")
def detector():
    return TorchvisionMaskRCNN(**SMALL)


@pytest.fixture(scope="module")
def raw(detector, mot17):
    return {seq.name: detector(seq) for seq in mot17}


def test_detections_on_real_frames_are_well_formed_and_fuse_exclusive(raw, mot17, tmp_path):
    assert [(s.height, s.width) for s in mot17] == [(1080, 1920), (480, 640)]
    for seq in mot17:
        dets = raw[seq.name]
        assert len(dets) > 0
        assert {d.frame for d in dets} <= {0, 1}
        assert {d.class_id for d in dets} <= {1, 2}
        assert all(0.0 <= d.score <= 1.0 for d in dets)
        assert all(d.rle["size"] == [seq.height, seq.width] for d in dets)
        for d in dets:  # valid compressed RLE covering exactly the image
            masks.rle_from_string(masks.rle_to_string(d.rle), seq.height, seq.width)
        fused = fuse_detections(dets, iom_threshold=0.5, min_area=1, progress=False)
        assert 0 < len(fused) <= len(dets)
        for t in (0, 1):
            frame = [d.rle for d in fused if d.frame == t]
            if frame:
                assert masks.decode(frame).sum(axis=0).max() <= 1
        path = tmp_path / f"{seq.name}.txt"
        write_detections_txt(path, fused, frame_base=seq.frame_base)
        back = read_detections_txt(
            path, frame_base=1, num_frames=seq.num_frames, image_size=seq.image_size
        )
        assert [(d.frame, d.class_id, d.score) for d in back] == [
            (d.frame, d.class_id, d.score) for d in fused
        ]


def test_same_seed_same_detections_byte_identical(raw, mot17, tmp_path):
    seq = mot17[1]
    again = TorchvisionMaskRCNN(**SMALL)(seq)
    write_detections_txt(tmp_path / "a.txt", raw[seq.name], frame_base=1)
    write_detections_txt(tmp_path / "b.txt", again, frame_base=1)
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


def test_label_map_drops_unmapped_labels_before_the_mask_head(raw, mot17):
    seq = mot17[1]
    only_label_1 = TorchvisionMaskRCNN(**{**SMALL, "label_map": {1: 2}})(seq)
    full = [d for d in raw[seq.name] if d.class_id == 2]
    assert {d.class_id for d in only_label_1} == {2}
    assert [(d.frame, d.score) for d in only_label_1] == [(d.frame, d.score) for d in full]
    iou = masks.iou_matrix([d.rle for d in only_label_1], [d.rle for d in full])
    assert np.diag(iou).min() > 0.99


def test_weights_from_a_local_file(tmp_path):
    reference = build_maskrcnn("maskrcnn_resnet50_fpn", None, seed=1, num_classes=3)
    path = tmp_path / "weights.pth"
    torch.save({"model": reference.state_dict()}, path)
    loaded = TorchvisionMaskRCNN(**{**SMALL, "weights": str(path), "seed": 0}).net
    seed0 = build_maskrcnn("maskrcnn_resnet50_fpn", None, seed=0, num_classes=3)
    name = "roi_heads.box_predictor.cls_score.weight"
    torch.testing.assert_close(loaded.state_dict()[name], reference.state_dict()[name])
    assert not torch.equal(seed0.state_dict()[name], reference.state_dict()[name])
    # a file of another architecture is refused with the keys that do not fit
    torch.save({"backbone.body.conv1.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="does not fit"):
        TorchvisionMaskRCNN(**{**SMALL, "weights": str(tmp_path / "other.pth")})


def test_bad_names_are_config_errors():
    with pytest.raises(ConfigError, match="unknown torchvision Mask R-CNN"):
        TorchvisionMaskRCNN(**{**SMALL, "model": "maskrcnn_vit"})
    with pytest.raises(ConfigError, match="neither a file nor a torchvision weights name"):
        TorchvisionMaskRCNN(**{**SMALL, "weights": "NO_SUCH_WEIGHTS", "num_classes": 91})


@pytest.mark.gpu
def test_cuda_with_amp(mot17):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    seq = mot17[0]
    dets = TorchvisionMaskRCNN(**{**SMALL, "device": "cuda", "amp": True})(seq)
    assert len(dets) > 0
    assert all(0.0 <= d.score <= 1.0 and d.rle["size"] == [1080, 1920] for d in dets)


# ----------------------------------------------------------------------------- weights


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """An empty torch hub cache and no network."""
    from urllib.error import URLError

    def no_network(url, dst, *args, **kwargs):
        raise URLError(OSError(-3, "Temporary failure in name resolution"))

    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    yield tmp_path / "hub" / "checkpoints"
    torch.hub.set_dir(old)


def test_weights_that_cannot_be_fetched_are_one_line_naming_the_file_to_put(offline_hub):
    with pytest.raises(ConfigError) as info:
        build_maskrcnn("maskrcnn_resnet50_fpn_v2", "DEFAULT")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "cannot fetch the torchvision weights MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1 from "
        "https://download.pytorch.org/models/maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth ("
    )
    assert "Temporary failure in name resolution" in message
    assert f"put that file in {offline_hub}/" in message
    assert "detector.weights=/path/to/weights.pth" in message
    assert not offline_hub.exists() or not any(offline_hub.iterdir())  # no partial file left


def test_the_detect_stage_builder_passes_the_one_line_error_through(offline_hub):
    from hydra import compose, initialize_config_dir

    from remots.stages.detect import build_detector

    conf = Path(__file__).resolve().parents[2] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose("track", overrides=["detector=torchvision", "detector.device=cpu"])
    with pytest.raises(ConfigError, match="cannot fetch the torchvision weights"):
        build_detector(cfg.detector)


def test_a_corrupt_cached_file_says_to_delete_it(offline_hub):
    offline_hub.mkdir(parents=True)
    cached = offline_hub / "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth"
    cached.write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError) as info:
        build_maskrcnn("maskrcnn_resnet50_fpn", "COCO_V1")
    assert f"the cached weights MaskRCNN_ResNet50_FPN_Weights.COCO_V1 in {cached}" in str(
        info.value
    )
    assert "delete the file" in str(info.value) and "\n" not in str(info.value)


def test_random_weights_are_warned_about(caplog):
    with caplog.at_level("WARNING", logger="remots.detection.torchvision_backend"):
        build_maskrcnn("maskrcnn_resnet50_fpn", None, num_classes=3)
    assert "RANDOM weights" in caplog.text


def test_missing_or_unreadable_local_weights(tmp_path):
    with pytest.raises(ConfigError, match=r"detector.weights=/nope/w.pth: no such file"):
        build_maskrcnn("maskrcnn_resnet50_fpn", "/nope/w.pth")
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(ConfigError, match="not a readable state dict"):
        build_maskrcnn("maskrcnn_resnet50_fpn", str(bad), num_classes=3)
