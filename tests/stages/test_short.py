"""The short stage on rendered frames of a panning camera: tracklets, their record, the IoU-only
baseline, the Fig. 4 plot, refine-mode seeds; features as the embed stage writes them."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from remots import masks, pipeline
from remots.config import typed
from remots.errors import InputError
from remots.io.atomic import atomic_write_json
from remots.io.detections import write_detections_txt
from remots.io.instances import CAR, PEDESTRIAN, Instance
from remots.io.layouts import load_motschallenge_sequence, write_seqinfo
from remots.io.mots import read_mots_txt
from remots.io.run_folder import RunFolder, sha256_file
from remots.stages.embed import features_source
from remots.tracking.flow import compute_flow
from tests.tracking.test_short_term import _box, _panning_camera

CONF = str(Path(__file__).resolve().parents[2] / "conf")


def _write_sequence(root, name, frames):
    seq_dir = root / "test" / name
    (seq_dir / "img1").mkdir(parents=True)
    for t, img in enumerate(frames):
        cv2.imwrite(str(seq_dir / "img1" / f"{t + 1:06d}.png"), img)
    h, w = frames[0].shape[:2]
    write_seqinfo(seq_dir, name=name, num_frames=len(frames), width=w, height=h, ext=".png")
    return load_motschallenge_sequence(seq_dir, with_gt=False)


def _prepare(tmp_path, dets, identity):
    """The run folder as the detect and embed stages leave it: detections, and intra features
    that know each detection's ``identity`` (a unit vector per identity)."""
    frames, _ = _panning_camera(
        [(150, 120, 22, (0, 0)), (200, 80, 60, (0, 0))], pan_step=(-26, -3), num_frames=4
    )
    video = _write_sequence(tmp_path / "data", "seqA", frames)
    run = RunFolder(tmp_path / "run")
    write_detections_txt(run.detections("seqA"), dets, frame_base=1)
    run.checkpoint("intra").parent.mkdir(parents=True)
    run.checkpoint("intra").write_bytes(b"the intra encoder")
    features = (np.eye(8)[identity] + 0.01).astype(np.float32)
    source = features_source(run, video, "intra", sha256_file(run.checkpoint("intra")))
    run.write_features("intra", video, features, source)
    return run


def _cfg(tmp_path, *overrides):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(
            "track",
            overrides=[
                "stage=short",
                "data=motschallenge",
                f"data.root={tmp_path / 'data'}",
                f"paths.run_dir={tmp_path / 'run'}",
                "tracker.progress=false",
                "tracker.use_appearance=true",
                *overrides,
            ],
        )


def _two_objects_and_a_car():
    _, object_masks = _panning_camera(
        [(150, 120, 22, (0, 0)), (200, 80, 60, (0, 0))], pan_step=(-26, -3), num_frames=4
    )
    shape = object_masks[0][0].shape
    dets, identity = [], []
    for t, (fast, slow) in enumerate(object_masks):
        dets.append(Instance(t, 0, PEDESTRIAN, masks.encode(fast)[0], 0.91))
        dets.append(Instance(t, 0, PEDESTRIAN, masks.encode(slow)[0], 0.92))
        car = _box(shape, (0, 10), (200, 230))  # a car, not tracked (data.classes = [2])
        dets.append(Instance(t, 0, CAR, masks.encode(car)[0], 0.93))
        identity += [1, 2, 3]
    return dets, identity


def test_stage_writes_tracklets_record_baseline_and_plot(tmp_path):
    dets, identity = _two_objects_and_a_car()
    run = _prepare(tmp_path, dets, identity)
    cfg = _cfg(tmp_path)
    assert pipeline.run_stages(cfg, ["short"])["short"] == "ran"
    tracks = read_mots_txt(run.short_tracklets("seqA"), frame_base=1, num_frames=4)
    meta = json.loads(run.short_meta("seqA").read_text())
    assert meta["tracklet_of_detection"] == [0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1]
    assert meta["num_tracklets"] == 2
    assert meta["obj_id_of_tracklet"] == [2001, 2002]
    # one intra-frame pair per frame, all with the same similarity: theta = that similarity
    assert meta["intra_frame_similarity"]["2"]["num_pairs"] == 4
    assert set(meta["theta_short"]) == {"2"}
    assert meta["theta_short_estimate"] == meta["theta_short"]  # below 1: the estimate is used
    assert [(i.frame, i.obj_id) for i in tracks] == [(t, o) for t in range(4) for o in (2001, 2002)]
    baseline = read_mots_txt(run.baseline("seqA"), frame_base=1, num_frames=4)
    # the IoU-only baseline without flow loses the small object every frame: 4 + 1 tracks
    assert len({i.obj_id for i in baseline}) == 5
    assert (run.plots() / "theta_short_seqA.png").is_file()

    before = run.short_tracklets("seqA").read_bytes(), run.short_meta("seqA").read_bytes()
    assert pipeline.run_stages(cfg, ["short"])["short"] == "skipped"
    assert pipeline.run_stages(_cfg(tmp_path, "force=[short]"), ["short"])["short"] == "ran"
    after = run.short_tracklets("seqA").read_bytes(), run.short_meta("seqA").read_bytes()
    assert before == after


def test_stage_grows_tracklets_from_the_detect_stages_seeds(tmp_path):
    """The short stage reads detections/<seq>.seeds.json: the input tracker swapped the two
    objects' ids in frame 2; ``split`` cuts both seeds there (warped IoU 0), ``keep`` does not."""
    dets, identity = _two_objects_and_a_car()
    keep = [k for k, d in enumerate(dets) if d.class_id == PEDESTRIAN]
    dets, identity = [dets[k] for k in keep], [identity[k] for k in keep]
    run = _prepare(tmp_path, dets, identity)
    atomic_write_json(run.detection_seeds("seqA"), {"seed_of_detection": [1, 2, 1, 2, 2, 1, 2, 1]})
    pipeline.run_stages(_cfg(tmp_path), ["short"])
    meta = json.loads(run.short_meta("seqA").read_text())
    assert meta["seeds"] == "split"
    assert meta["tracklet_of_detection"] == [0, 1, 0, 1, 2, 3, 2, 3]
    pipeline.run_stages(_cfg(tmp_path, "tracker.seeds=keep"), ["short"])
    meta = json.loads(run.short_meta("seqA").read_text())
    assert meta["seeds"] == "keep"
    assert meta["tracklet_of_detection"] == [0, 1, 0, 1, 1, 0, 1, 0]

    atomic_write_json(run.detection_seeds("seqA"), {"seed_of_detection": [1, 2]})
    with pytest.raises(InputError, match=r"seqA\.seeds\.json: 'seed_of_detection' has 2 entries"):
        pipeline.run_stages(_cfg(tmp_path, "force=[short]"), ["short"])


@pytest.mark.parametrize("flow", ["dis", "farneback", "none"])
def test_flow_configs_give_keywords_of_compute_flow(flow):
    import inspect

    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(config_name="track", overrides=["stage=short", f"flow={flow}"])
    options = typed(cfg.flow)
    assert options.method == flow
    assert set(options.kwargs()) <= set(inspect.signature(compute_flow).parameters)
    if flow != "none":  # and OpenCV takes them as they are (Farneback wants ints where it says)
        frames = np.random.default_rng(0).integers(0, 255, (2, 48, 64, 3), dtype=np.uint8)
        assert compute_flow(*frames, method=flow, **options.kwargs()).shape == (48, 64, 2)
    assert cfg.tracker.theta_short is None and cfg.tracker.num_std == 3.0
