"""The merge stage end to end on real KITTI MOTS masks laid out as a MOTSChallenge sequence:
GT tracks cut into short tracklets, features (as the embed stage writes them) that know the
identities."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from remots import pipeline
from remots.errors import InputError
from remots.io.detections import renumber, write_detections_txt
from remots.io.layouts import load_motschallenge_sequence, write_seqinfo
from remots.io.mots import read_mots_txt
from remots.io.run_folder import RunFolder, sha256_file
from remots.stages.embed import features_source

CONF = Path(__file__).resolve().parents[2] / "conf"
NUM_FRAMES = 120
THETA_T = 15


@pytest.fixture(scope="module")
def kitti_cut(kitti_root):
    """Detections (GT masks of KITTI 0001, frames < 120), their GT identity, short tracklets."""
    gt = read_mots_txt(kitti_root / "instances_txt" / "0001.txt", frame_base=0)
    gt = [i for i in gt if i.class_id != 10 and i.frame < NUM_FRAMES]
    rng = np.random.default_rng(11)
    dets = renumber([i.with_(score=float(rng.uniform(0.5, 1.0))) for i in gt])
    identity = np.empty(len(dets), np.int64)
    by_key = {(i.frame, i.rle["counts"]): i.obj_id for i in gt}
    for d in dets:
        identity[d.obj_id] = by_key[(d.frame, d.rle["counts"])]
    frames = np.array([d.frame for d in dets])
    order = np.lexsort((frames, identity))
    cut = np.ones(len(order), bool)
    cut[1:] = (identity[order][1:] != identity[order][:-1]) | (rng.random(len(order) - 1) < 0.2)
    tracklet = np.empty(len(dets), np.int64)
    tracklet[order] = np.cumsum(cut) - 1
    return dets, identity, tracklet


def identity_features(identity: np.ndarray) -> np.ndarray:
    """One random direction per GT identity plus noise: features that know the identities."""
    rng = np.random.default_rng(5)
    ids = np.unique(identity)
    vectors = rng.standard_normal((len(ids), 32))
    noise = np.random.default_rng(6).standard_normal((len(identity), 32))
    features = vectors[np.searchsorted(ids, identity)] + 0.2 * noise
    return (features / np.linalg.norm(features, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def setup(tmp_path, kitti_cut):
    dets, identity, tracklet = kitti_cut
    data_root = tmp_path / "data"
    seq_dir = data_root / "test" / "KITTI-0001"
    write_seqinfo(seq_dir, name="KITTI-0001", num_frames=NUM_FRAMES, width=1242, height=375, fps=10)
    video = load_motschallenge_sequence(seq_dir, with_gt=False)
    run = RunFolder(tmp_path / "run")
    write_detections_txt(run.detections("KITTI-0001"), dets, frame_base=1)
    run.short_meta("KITTI-0001").parent.mkdir(parents=True)
    run.short_meta("KITTI-0001").write_text(
        json.dumps({"tracklet_of_detection": tracklet.tolist()})
    )
    run.checkpoint("inter").parent.mkdir(parents=True)
    run.checkpoint("inter").write_bytes(b"the inter encoder")
    source = features_source(run, video, "inter", sha256_file(run.checkpoint("inter")))
    run.write_features("inter", video, identity_features(identity), source)

    def make_cfg(*overrides):
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            return compose(
                config_name="track",
                overrides=[
                    "stage=merge",
                    "data=motschallenge",
                    f"data.root={data_root}",
                    "data.classes=[1,2]",
                    f"paths.run_dir={run.root}",
                    *overrides,
                ],
            )

    return make_cfg, run


def run_merge(cfg) -> str:
    return pipeline.run_stages(cfg, ["merge"])["merge"]


def test_merge_stage_rebuilds_tracks_and_writes_valid_results(setup, kitti_cut):
    make_cfg, run = setup
    dets, identity, tracklet = kitti_cut
    cfg = make_cfg()
    assert cfg.merge.theta_t == THETA_T and cfg.merge.theta_merge is None
    assert run_merge(cfg) == "ran"

    # TrackEval-valid: the strict reader checks ids unique per frame and no shared pixels
    results = read_mots_txt(
        run.results("KITTI-0001"), frame_base=1, num_frames=NUM_FRAMES, image_size=(375, 1242)
    )
    assert len(results) == len(dets)
    assert min(r.frame for r in results) == 0  # file frames are 1-based, read back 0-based

    # each GT track comes back whole, split only where it is absent for > theta_t frames
    det_of = {(d.frame, d.rle["counts"]): d.obj_id for d in dets}
    obj = np.array([r.obj_id for r in results])
    gt_id = np.array([identity[det_of[(r.frame, r.rle["counts"])]] for r in results])
    frames = np.array([r.frame for r in results])
    order = np.lexsort((frames, gt_id))
    new = np.ones(len(order), bool)
    new[1:] = (gt_id[order][1:] != gt_id[order][:-1]) | (np.diff(frames[order]) > THETA_T)
    segment = np.empty(len(order), np.int64)
    segment[order] = np.cumsum(new) - 1
    pairs = set(zip(obj.tolist(), segment.tolist(), strict=True))
    assert len(pairs) == len(set(obj.tolist())) == segment.max() + 1

    record = json.loads(run.merge_record("KITTI-0001").read_text())
    assert record["theta_merge_source"] == "estimated (min_error)"
    hist = record["histograms"]
    assert hist["intra_frame"]["mean"] < record["theta_merge"] < hist["intra_tracklet"]["mean"]
    assert record["cut"] == pytest.approx(1 - record["theta_merge"])
    assert record["num_short_tracklets"] == tracklet.max() + 1
    assert record["num_tracks"] < record["num_short_tracklets"] / 3  # merging had work to do
    members = sorted(k for t in record["tracks"] for k in t["short_tracklets"])
    assert members == list(range(tracklet.max() + 1))  # every tracklet in exactly one track
    for t in record["tracks"]:  # the record's tracklets are the detections written with obj_id
        written = {det_of[(r.frame, r.rle["counts"])] for r in results if r.obj_id == t["obj_id"]}
        assert written == set(np.flatnonzero(np.isin(tracklet, t["short_tracklets"])).tolist())
        assert t["obj_id"] // 1000 == t["class_id"]
    for cls in (1, 2):  # obj ids of a class count up in order of first frame
        tracks = sorted(
            (t for t in record["tracks"] if t["class_id"] == cls), key=lambda t: t["obj_id"]
        )
        assert [t["obj_id"] for t in tracks] == [cls * 1000 + n + 1 for n in range(len(tracks))]
        assert [t["first_frame"] for t in tracks] == sorted(t["first_frame"] for t in tracks)
    assert (run.plots() / "theta_merge_KITTI-0001.png").stat().st_size > 1000


def test_merge_stage_skips_reruns_identically_and_takes_an_override(setup):
    make_cfg, run = setup
    run_merge(make_cfg())
    txt, rec = run.results("KITTI-0001").read_bytes(), run.merge_record("KITTI-0001").read_bytes()
    assert run_merge(make_cfg()) == "skipped"
    assert run_merge(make_cfg("force=[merge]")) == "ran"
    assert run.results("KITTI-0001").read_bytes() == txt  # deterministic, byte for byte
    assert run.merge_record("KITTI-0001").read_bytes() == rec

    assert run_merge(make_cfg("merge.theta_merge=0.9999")) == "ran"
    record = json.loads(run.merge_record("KITTI-0001").read_text())
    assert record["theta_merge_source"] == "override" and record["theta_merge"] == 0.9999
    assert record["merges"] == [] and record["num_tracks"] == record["num_short_tracklets"]


def test_merge_stage_names_the_file_of_bad_short_tracklets(setup, kitti_cut):
    make_cfg, run = setup
    dets, _, tracklet = kitti_cut
    meta = run.short_meta("KITTI-0001")
    meta.write_text(json.dumps({"tracklet_of_detection": tracklet[:-1].tolist()}))
    with pytest.raises(InputError, match=r"has \d+ entries") as err:
        run_merge(make_cfg())
    assert str(meta) in str(err.value)
    same_frame = tracklet.copy()
    same_frame[np.flatnonzero(np.array([d.frame for d in dets]) == 0)[:2]] = 0
    meta.write_text(json.dumps({"tracklet_of_detection": same_frame.tolist()}))
    with pytest.raises(InputError, match="two detections in frame"):
        run_merge(make_cfg())
