"""detectron2 backend: runs where detectron2 is installed, and says how to install it otherwise."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from remots.detection.detectron2_backend import INSTALL, Detectron2MaskRCNN
from remots.errors import ConfigError

HAVE_DETECTRON2 = importlib.util.find_spec("detectron2") is not None


@pytest.mark.skipif(HAVE_DETECTRON2, reason="detectron2 is installed")
def test_missing_detectron2_is_a_config_error_with_the_install_line():
    with pytest.raises(ConfigError) as err:
        Detectron2MaskRCNN(config_file="any.yaml", weights="any.pkl")
    assert INSTALL in str(err.value)
    assert "pip install 'git+https://github.com/facebookresearch/detectron2.git'" in str(err.value)


@pytest.mark.skipif(not HAVE_DETECTRON2, reason="detectron2 is not installed")
def test_detectron2_on_real_frames_random_weights(shared_data):
    from remots.io.layouts import load_frame_folder

    seq = load_frame_folder(shared_data / "mot17_mini_frames" / "MOT17-05-FRCNN" / "img1")
    seq = dataclasses.replace(seq, num_frames=2)
    # weights "" = no checkpoint: detectron2 initialises the model from scratch
    detector = Detectron2MaskRCNN(
        config_file="COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_1x.yaml",
        weights="",
        device="cpu",
        score_threshold=0.0,
        progress=False,
    )
    dets = detector(seq)
    assert {d.frame for d in dets} <= {0, 1}
    assert {d.class_id for d in dets} <= {1, 2}
    assert all(0.0 <= d.score <= 1.0 and d.rle["size"] == [480, 640] for d in dets)
