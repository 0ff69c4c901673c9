"""The embed stages: features of every detection, deterministic, with the record of the encoder
and detections they came from, which the later stages check."""

from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from remots import pipeline
from remots.errors import ConfigError, InputError
from remots.io.detections import write_detections_txt
from remots.io.layouts import load_motschallenge
from remots.io.run_folder import RunFolder
from remots.stages.embed import read_features

CONF = str(Path(__file__).resolve().parents[2] / "conf")


@pytest.fixture()
def setup(small_synthetic, tmp_path):
    """A run folder whose detections are the GT masks of the small synthetic target video."""
    video = load_motschallenge(small_synthetic / "test")[0]
    run = RunFolder(tmp_path / "run")
    write_detections_txt(run.detections(video.name), video.gt, frame_base=video.frame_base)
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(
            "track",
            overrides=[
                "data=motschallenge",
                f"data.root={small_synthetic}",
                "data.train_split=train",
                f"paths.run_dir={run.root}",
                "model.data.input_size=[32,16]",
                "tracker.features_phase=untrained",
            ],
        )
    return cfg, run, video


def test_features_are_written_with_their_source_and_are_deterministic(setup):
    cfg, run, video = setup
    assert pipeline.run_stages(cfg, ["embed_short"])["embed_short"] == "ran"
    path = run.features("untrained", video.name)
    features = np.load(path)
    assert features.shape == (len(video.gt), 1280)  # MobileNetV2, the default encoder
    assert np.allclose(np.linalg.norm(features, axis=1), 1, atol=1e-5)
    assert run.crops(video.name).is_file()  # the crop cache embedding shares with training
    first = path.read_bytes()
    assert pipeline.run_stages(cfg, ["embed_short"])["embed_short"] == "skipped"
    cfg.force = ["embed_short"]
    assert pipeline.run_stages(cfg, ["embed_short"])["embed_short"] == "ran"
    assert path.read_bytes() == first  # byte-identical recomputation
    got = read_features(cfg, run, video, "untrained", len(video.gt), "embed_short")
    assert np.array_equal(got, features)


def test_features_of_other_detections_or_of_a_missing_encoder_are_refused(setup):
    cfg, run, video = setup
    pipeline.run_stages(cfg, ["embed_short"])
    write_detections_txt(run.detections(video.name), video.gt[1:], frame_base=1)
    with pytest.raises(InputError, match="computed from another checkpoint or other detections"):
        read_features(cfg, run, video, "untrained", len(video.gt) - 1, "embed_short")
    with pytest.raises(ConfigError, match=r"the intra encoder is missing \(run stage=intra"):
        read_features(cfg, run, video, "intra", len(video.gt) - 1, "embed_short")
