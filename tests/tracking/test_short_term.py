import json
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from remots import masks
from remots.errors import InputError
from remots.io.instances import CAR, PEDESTRIAN, Instance, group_by_frame
from remots.io.mots import read_mots_txt
from remots.tracking.short_term import (
    associate,
    short_term_cost,
    track_from_seeds,
    track_short,
    tracklets_to_instances,
)

INF = np.inf


def _box(shape, rows, cols):
    m = np.zeros(shape, np.uint8)
    m[rows[0] : rows[1], cols[0] : cols[1]] = 1
    return m


def _dets(frames_of_masks, classes=None):
    """Detections with running obj_id, frame by frame, from lists of dense masks."""
    dets = []
    for t, frame_masks in enumerate(frames_of_masks):
        for k, m in enumerate(frame_masks):
            cid = PEDESTRIAN if classes is None else classes[t][k]
            dets.append(Instance(t, len(dets), cid, masks.encode(m)[0], 0.9))
    return dets


# ------------------------------------------------------------------------------- associate


def test_associate_takes_the_cheapest_assignment():
    w = np.array([[0.1, 0.2], [0.2, 0.9]])
    assert associate(w) == [(0, 1), (1, 0)]  # 0.4 beats 1.0


def test_associate_never_matches_an_infinite_edge():
    assert associate(np.array([[INF, 0.2], [INF, 0.3]])) == [(0, 1)]
    assert associate(np.array([[INF, INF], [INF, INF]])) == []
    assert associate(np.zeros((0, 3))) == []
    # A leaves, C enters: B->B (0.2) is kept rather than the two poor links A->B, B->C, which a
    # huge stand-in for inf would prefer (it maximises the number of links first)
    #                 B     C
    w = np.array(
        [
            [0.9, INF],  # A
            [0.2, 0.7],
        ]
    )  # B
    assert associate(w) == [(1, 0)]


# ------------------------------------------------------------------------- short_term_cost


def test_short_term_cost_eq1_and_eq2_hand_computed():
    shape = (10, 10)
    prev = masks.encode(np.stack([_box(shape, (0, 4), (0, 4)), _box(shape, (6, 10), (6, 10))]))
    curr = masks.encode(np.stack([_box(shape, (0, 4), (2, 6)), _box(shape, (5, 9), (0, 4))]))
    # IoU: prev0-curr0 = 8/24; prev0-curr1 = 0 (rows 0-4 vs 5-9); prev1-curr0 = 0, prev1-curr1 = 0
    f_prev = np.array([[1.0, 0.0], [0.0, 1.0]])
    f_curr = np.array([[3.0, 4.0], [1.0, 0.0]])  # cos(prev0, curr0) = 3/5
    w = short_term_cost(prev, curr, f_prev, f_curr, theta_short=None)
    np.testing.assert_array_equal(w, [[1 - 0.6, INF], [INF, INF]])
    # Eq. (2): a similarity of 0.6 under theta_short = 0.7 is refused, over 0.5 kept
    assert np.isinf(short_term_cost(prev, curr, f_prev, f_curr, theta_short=0.7)).all()
    w = short_term_cost(prev, curr, f_prev, f_curr, theta_short=0.5)
    assert w[0, 0] == pytest.approx(0.4)
    # IoU only: 1 - IoU
    w = short_term_cost(prev, curr, None, None, theta_short=None, use_appearance=False)
    assert w[0, 0] == pytest.approx(1 - 8 / 24)
    assert np.isinf(w[1]).all() and np.isinf(w[0, 1])


def test_classes_are_never_linked_and_theta_is_per_class():
    shape = (8, 8)
    prev = masks.encode(np.stack([_box(shape, (0, 4), (0, 4)), _box(shape, (4, 8), (4, 8))]))
    curr = masks.encode(np.stack([_box(shape, (0, 4), (1, 5)), _box(shape, (4, 8), (3, 7))]))
    f = np.array([[1.0, 1.0], [1.0, 0.0]])  # every pair has cosine 1 or 1/sqrt(2)
    # classes: prev (car, ped), curr (ped, car): the overlapping pairs differ in class
    w = short_term_cost(
        prev,
        curr,
        f,
        f,
        theta_short=None,
        class_prev=[CAR, PEDESTRIAN],
        class_curr=[PEDESTRIAN, CAR],
    )
    assert np.isinf(w).all()
    # same classes, theta per class
    f_curr = np.array([[0.0, 1.0], [1.0, 1.0]])  # cos(prev0=car, curr0) = cos(prev1, curr1) = .71
    w = short_term_cost(
        prev,
        curr,
        f,
        f_curr,
        theta_short={CAR: 0.8, PEDESTRIAN: 0.6},
        class_prev=[CAR, PEDESTRIAN],
        class_curr=[CAR, PEDESTRIAN],
    )
    assert np.isinf(w[0, 0])  # car gate 0.8 > 0.71: refused
    assert w[1, 1] == pytest.approx(1 - np.sqrt(0.5))  # pedestrian gate 0.6 < 0.71: kept


# ------------------------------------------------------------------------------ track_short


def _crossing():
    """A walks right in front of B, who walks left (40 x 50 image). IoU favours the swap:
    IoU(A, A') = 100/700, IoU(B, B') = 50/650 against IoU(A, B') = 100/600, IoU(B, A') = 150/650.
    """
    shape = (40, 50)
    a0, b0 = _box(shape, (0, 20), (0, 20)), _box(shape, (10, 30), (20, 40))
    a1 = _box(shape, (0, 20), (15, 35))
    b1 = _box(shape, (10, 30), (5, 25)) & (1 - a1)  # occluded by A where they overlap
    return [[a0, b0], [a1, b1]]


def test_crossing_objects_keep_their_identities_with_appearance_and_swap_without():
    frames = _crossing()
    dets = _dets(frames)
    iou = masks.iou_matrix([dets[0].rle, dets[1].rle], [dets[2].rle, dets[3].rle])
    np.testing.assert_allclose(iou, [[100 / 700, 100 / 600], [150 / 650, 50 / 650]])
    by_frame = group_by_frame(dets, 2)
    features = np.array([[1.0, 0.1], [0.1, 1.0], [1.0, 0.0], [0.0, 1.0]])  # A, B, A', B'
    with_app = track_short(None, by_frame, features, use_flow=False, theta_short=0.5)
    assert with_app.tolist() == [0, 1, 0, 1]
    iou_only = track_short(None, by_frame, None, use_flow=False, use_appearance=False)
    assert iou_only.tolist() == [0, 1, 1, 0]


def _texture(rng, height, width, blur):
    img = cv2.GaussianBlur(rng.integers(0, 256, (height, width), dtype=np.uint8), (0, 0), blur)
    return cv2.cvtColor(cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX), cv2.COLOR_GRAY2BGR)


def _panning_camera(objects, *, pan_step, num_frames=3, shape=(160, 240), seed=0):
    """Frames of a camera panning by ``pan_step`` (dx, dy) px per frame over a textured world
    holding textured square ``objects`` ``(x, y, size, (vx, vy))`` (world pixels, per frame).
    Returns the frames and, per frame, the objects' masks in image coordinates."""
    rng = np.random.default_rng(seed)
    margin = num_frames * (abs(pan_step[0]) + abs(pan_step[1])) + 100
    world = _texture(rng, shape[0] + margin, shape[1] + margin, blur=6)
    patches = [_texture(rng, size, size, blur=2) for _, _, size, _ in objects]
    frames, object_masks = [], []
    for t in range(num_frames):
        img = world.copy()
        cx, cy = 20 - t * pan_step[0], 60 - t * pan_step[1]
        frame_masks = []
        for (x, y, size, (vx, vy)), patch in zip(objects, patches, strict=True):
            ox, oy = x + t * vx, y + t * vy
            img[oy : oy + size, ox : ox + size] = patch
            ix, iy = ox - cx, oy - cy
            frame_masks.append(_box(shape, (iy, iy + size), (ix, ix + size)))
        frames.append(img[cy : cy + shape[0], cx : cx + shape[1]].copy())
        object_masks.append(frame_masks)
    return frames, object_masks


@pytest.mark.parametrize(
    ("method", "pan_step", "size"),
    [("dis", (-26, -3), 22), ("farneback", (-16, -2), 12)],  # Farneback fails past ~20 px
)
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_object_lost_by_plain_iou_is_kept_by_flow_warped_iou(method, pan_step, size, seed):
    """The camera pans: an object moves more than its own size per frame in the image."""
    frames, object_masks = _panning_camera([(150, 120, size, (2, 0))], pan_step=pan_step, seed=seed)
    dets = _dets(object_masks)
    assert masks.iou_matrix([dets[0].rle], [dets[1].rle])[0, 0] == 0
    by_frame = group_by_frame(dets, 3)
    features = np.ones((3, 4))
    plain = track_short(None, by_frame, features, use_flow=False, theta_short=0.5)
    assert plain.tolist() == [0, 1, 2]
    warped = track_short(enumerate(frames), by_frame, features, flow_method=method, theta_short=0.5)
    assert warped.tolist() == [0, 0, 0]


def test_appearance_gate_refuses_a_wrong_link():
    """Object A leaves and a different object C appears where A was: the masks overlap, but
    their similarity (0.2) is under theta_short (0.6), so C starts a new tracklet."""
    shape = (20, 20)
    dets = _dets([[_box(shape, (2, 12), (2, 12))], [_box(shape, (4, 14), (3, 13))]])
    by_frame = group_by_frame(dets, 2)
    features = np.array([[1.0, 0.0], [0.2, np.sqrt(1 - 0.04)]])
    assert track_short(None, by_frame, features, use_flow=False, theta_short=0.6).tolist() == [0, 1]
    assert track_short(None, by_frame, features, use_flow=False, theta_short=0.1).tolist() == [0, 0]
    no_gate = track_short(None, by_frame, features, use_flow=False, theta_short=None)
    assert no_gate.tolist() == [0, 0]


def test_tracklet_ids_unique_in_order_of_appearance_with_gaps_and_empty_frames():
    shape = (20, 30)
    m_left, m_right = _box(shape, (0, 10), (0, 10)), _box(shape, (0, 10), (18, 28))
    frames = [[m_left, m_right], [], [m_right, m_left], [m_right]]
    dets = _dets(frames)
    f = np.ones((len(dets), 3))
    ids = track_short(None, group_by_frame(dets, 4), f, use_flow=False, theta_short=0.5)
    # frame 1 is empty: both objects start new tracklets in frame 2, then the right one goes on
    assert ids.tolist() == [0, 1, 2, 3, 2]
    # a detection index that is not in any frame (e.g. another class filtered out) stays -1
    dets_gap = [d.with_(obj_id=d.obj_id + (1 if d.obj_id >= 2 else 0)) for d in dets]
    ids = track_short(
        None, group_by_frame(dets_gap, 4), np.ones((6, 3)), use_flow=False, theta_short=None
    )
    assert ids.tolist() == [0, 1, -1, 2, 3, 2]


def test_tracklets_to_instances_is_valid_mots(tmp_path):
    shape = (20, 30)
    frames = [
        [_box(shape, (0, 10), (0, 12)), _box(shape, (0, 10), (10, 20))],  # overlap
        [_box(shape, (0, 10), (1, 13)), _box(shape, (10, 20), (0, 10))],
    ]
    dets = _dets(frames, classes=[[PEDESTRIAN, CAR], [PEDESTRIAN, CAR]])
    ids = np.array([0, 1, 0, 2])
    insts = tracklets_to_instances(dets, ids)
    assert [(i.frame, i.obj_id, i.class_id) for i in insts] == [
        (0, 1001, CAR),
        (0, 2001, PEDESTRIAN),
        (1, 1002, CAR),
        (1, 2001, PEDESTRIAN),
    ]
    from remots.io.mots import write_mots_txt

    write_mots_txt(tmp_path / "t.txt", insts, frame_base=1)
    back = read_mots_txt(tmp_path / "t.txt", frame_base=1, num_frames=2)  # checks no overlap
    assert len(back) == 4
    # equal scores: the earlier detection (the pedestrian) keeps the shared pixels
    assert masks.area([back[0].rle])[0] == 10 * 8


# ------------------------------------------------------------------------------- the stage


def _write_sequence(root, name, frames, dets):
    from remots.io.detections import write_detections_txt
    from remots.io.layouts import write_seqinfo

    del write_detections_txt
    seq_dir = root / "test" / name
    (seq_dir / "img1").mkdir(parents=True)
    for t, img in enumerate(frames):
        cv2.imwrite(str(seq_dir / "img1" / f"{t + 1:06d}.png"), img)
    h, w = frames[0].shape[:2]
    write_seqinfo(seq_dir, name=name, num_frames=len(frames), width=w, height=h, ext=".png")
    return dets


def _stage_cfg(tmp_path, **tracker):
    from omegaconf import OmegaConf

    conf = Path(__file__).resolve().parents[2] / "conf"
    return OmegaConf.create(
        {
            "paths": {"run_dir": str(tmp_path / "run")},
            "data": {
                "name": "tiny",
                "layout": "motschallenge",
                "root": str(tmp_path / "data"),
                "train_split": None,
                "target_split": "test",
                "sequences": None,
                "classes": [2],
                "generator": None,
            },
            "flow": OmegaConf.load(conf / "flow" / "dis.yaml"),
            "tracker": OmegaConf.merge(
                OmegaConf.load(conf / "tracker" / "short_term.yaml"), {"progress": False, **tracker}
            ),
            "stage": OmegaConf.load(conf / "stage" / "short.yaml"),
        }
    )


@pytest.fixture
def mock_embedding(monkeypatch):
    """A mock of ``remots.models.embedding`` (written elsewhere): features are the identity's
    unit vector, read from the detection's score digits so the test knows the truth."""
    calls = []

    def ensure_features(cfg, run, phase, seq, detections):
        calls.append((phase, seq.name, len(detections)))
        identity = [round(d.score * 100) % 10 for d in detections]
        return np.eye(8)[identity] + 0.01

    module = types.ModuleType("remots.models.embedding")
    module.ensure_features = ensure_features
    monkeypatch.setitem(sys.modules, "remots.models.embedding", module)
    return calls


def test_stage_writes_tracklets_meta_baseline_and_plot(tmp_path, mock_embedding):
    from remots.artifacts import RunFolder
    from remots.io.detections import write_detections_txt
    from remots.tracking.short_stage import run_short

    frames, object_masks = _panning_camera(
        [(150, 120, 22, (0, 0)), (200, 80, 60, (0, 0))], pan_step=(-26, -3), num_frames=4
    )
    shape = frames[0].shape[:2]
    dets = []
    for t, (fast, slow) in enumerate(object_masks):
        dets.append(Instance(t, len(dets), PEDESTRIAN, masks.encode(fast)[0], 0.91))  # id 1
        dets.append(Instance(t, len(dets), PEDESTRIAN, masks.encode(slow)[0], 0.92))  # id 2
        car = _box(shape, (0, 10), (200, 230))  # a car, not tracked (data.classes = [2])
        dets.append(Instance(t, len(dets), CAR, masks.encode(car)[0], 0.93))
    _write_sequence(tmp_path / "data", "seqA", frames, dets)
    run = RunFolder(tmp_path / "run")
    write_detections_txt(run.detections("seqA"), dets, frame_base=1)

    cfg = _stage_cfg(tmp_path, theta_short=None, theta_short_fallback=None)
    run_short(cfg)
    tracks = read_mots_txt(run.short_tracklets("seqA"), frame_base=1, num_frames=4)
    meta = json.loads(run.short_meta("seqA").read_text())
    assert meta["tracklet_of_detection"] == [0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1]
    assert meta["num_tracklets"] == 2
    assert meta["obj_id_of_tracklet"] == [2001, 2002]
    # one intra-frame pair per frame, all with the same similarity: theta = that similarity
    assert meta["intra_frame_similarity"]["2"]["num_pairs"] == 4
    assert set(meta["theta_short"]) == {"2"}
    assert [(i.frame, i.obj_id) for i in tracks] == [(t, o) for t in range(4) for o in (2001, 2002)]
    baseline = read_mots_txt(run.baseline("seqA"), frame_base=1, num_frames=4)
    # the IoU-only baseline without flow loses the small object every frame: 4 + 1 tracks
    assert len({i.obj_id for i in baseline}) == 5
    assert (run.plots() / "theta_short_seqA.png").is_file()
    assert mock_embedding == [("intra", "seqA", 12)]

    # rerun: skipped (outputs exist); with overwrite: same bytes
    before = run.short_tracklets("seqA").read_bytes(), run.short_meta("seqA").read_bytes()
    run_short(cfg)
    assert len(mock_embedding) == 1
    cfg.tracker.overwrite = True
    run_short(cfg)
    assert len(mock_embedding) == 2
    after = run.short_tracklets("seqA").read_bytes(), run.short_meta("seqA").read_bytes()
    assert before == after


def test_real_kitti_masks_tracklets_are_pure_and_one_per_frame(kitti_root):
    """KITTI MOTS 0019 (real masks, pedestrians and cars), first 120 frames, GT masks as
    detections. Invariants: no two masks of a frame share a tracklet; with features that know the
    identity, no tracklet mixes two identities; flow-free IoU-only linking keeps most objects
    (a GT track is split into few tracklets)."""
    from remots.io.layouts import load_kitti_mots

    (seq,) = load_kitti_mots(kitti_root, sequences=["0019"])
    gt = [g for g in seq.gt if g.class_id != 10 and g.frame < 120]
    dets = [g.with_(obj_id=k) for k, g in enumerate(gt)]
    by_frame = group_by_frame(dets, 120)
    identity = np.unique([g.obj_id for g in gt], return_inverse=True)[1]
    oracle = np.eye(identity.max() + 1)[identity]
    for features, use_app in ((oracle, True), (None, False)):
        ids = track_short(
            None,
            by_frame,
            features,
            use_flow=False,
            use_appearance=use_app,
            theta_short={CAR: 0.5, PEDESTRIAN: 0.5},
        )
        assert (ids >= 0).all()
        for frame in by_frame:
            assert len({ids[d.obj_id] for d in frame}) == len(frame)
        gt_of_tracklet: dict[int, set[int]] = {}
        tracklets_of_gt: dict[int, set[int]] = {}
        for d, g in zip(dets, gt, strict=True):
            gt_of_tracklet.setdefault(int(ids[d.obj_id]), set()).add(g.obj_id)
            tracklets_of_gt.setdefault(g.obj_id, set()).add(int(ids[d.obj_id]))
        purity = np.mean([len(v) == 1 for v in gt_of_tracklet.values()])
        fragmentation = np.mean([len(v) for v in tracklets_of_gt.values()])
        if use_app:
            assert purity == 1.0
        assert purity > 0.95 and fragmentation < 1.5


@pytest.mark.parametrize("flow", ["dis", "farneback", "none"])
def test_track_config_composes_with_the_short_stage(flow):
    from hydra import compose, initialize_config_dir
    from hydra.utils import get_method

    from remots.tracking.short_stage import _flow_settings

    conf = Path(__file__).resolve().parents[2] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose(config_name="track", overrides=["stage=short", f"flow={flow}"])
    assert get_method(cfg.stage.fn).__name__ == "run_short"
    method, kwargs = _flow_settings(cfg.flow)
    assert method == flow
    if flow != "none":  # every key left is a keyword of compute_flow
        import inspect

        from remots.tracking.flow import compute_flow

        assert set(kwargs) <= set(inspect.signature(compute_flow).parameters)
    assert cfg.tracker.theta_short is None and cfg.tracker.num_std == 3.0


def test_a_gate_no_link_can_pass_falls_back_with_a_warning(caplog):
    """mean + 3 std >= 1 (weak features) would make every mask its own tracklet."""
    from remots.tracking.short_stage import theta_short_per_class

    rng = np.random.default_rng(0)
    rle = masks.encode(np.ones((4, 4), np.uint8))[0]
    dets = [Instance(t, 3 * t + k, 2, rle) for t in range(20) for k in range(3)]
    # similarities of one frame's masks spread over [-1, 1]: mean ~0.2, std ~0.6
    features = rng.normal(size=(60, 3))
    thetas, _ = theta_short_per_class(features, dets, num_std=3.0, fallback=None)
    assert thetas == {2: None}
    assert "would refuse every link" in caplog.text
    # tightly clustered different objects: a usable gate is estimated as mean + 3 std
    features = np.eye(3)[np.arange(60) % 3] + 0.01 * rng.normal(size=(60, 3))
    thetas, sims = theta_short_per_class(features, dets, num_std=3.0)
    assert thetas[2] == pytest.approx(sims[2].mean() + 3 * sims[2].std())
    assert thetas[2] < 0.2


# ------------------------------------------------------------------------- refine mode, seeds


def test_seeds_are_cut_where_eq1_or_eq2_forbid_the_link_and_kept_across_gaps():
    """Another tracker's ids as seeds, 4 frames, no flow: A (seed 5) stays put; B (seed 6) is
    missed in frame 1 and comes back (a gap: kept); in frame 2 the input tracker gives seed 5 to a
    mask far from A's (IoU 0: Eq. 1 cuts); in frame 3 seed 6 lies on B's mask but looks like
    another object (cos 0: Eq. 2 cuts); a seed met twice in a frame splits."""
    shape = (40, 80)
    a = _box(shape, (0, 20), (0, 10))
    b = _box(shape, (0, 20), (40, 50))
    far = _box(shape, (20, 40), (60, 80))
    dets = _dets([[a, b], [a], [far, b], [a, b, a]])
    #              0  1   2    3    4    5  6  7
    seeds = np.array([5, 6, 5, 5, 6, 5, 6, 5])
    features = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1], [1, 0], [1, 0], [1, 0]], float)
    by_frame = group_by_frame(dets, 4)
    common = {"use_flow": False, "theta_short": 0.5}
    got = track_from_seeds(None, by_frame, features, seeds, **common)
    # 0: A, 1: B, 2: A, 3: "far" cut from seed 5, 4: B after its gap, 5: seed 5 again (IoU 0
    # with "far": cut), 6: seed 6 on B but with A's look (cut), 7: seed 5 twice in frame 3
    assert got.tolist() == [0, 1, 0, 2, 1, 3, 4, 5]
    kept = track_from_seeds(None, by_frame, features, seeds, split=False, **common)
    assert kept.tolist() == [0, 1, 0, 0, 1, 0, 1, 2]
    # IoU only (no appearance): frame 3's seed-6 link is allowed again
    iou_only = track_from_seeds(None, by_frame, None, seeds, use_appearance=False, use_flow=False)
    assert iou_only.tolist() == [0, 1, 0, 2, 1, 3, 1, 4]


def test_stage_grows_tracklets_from_the_detect_stages_seeds(tmp_path, mock_embedding):
    """The short stage reads detections/<seq>.seeds.json: the input tracker swapped the two
    objects' ids in frame 2; ``split`` cuts both seeds there (warped IoU 0), ``keep`` does not."""
    from remots.artifacts import RunFolder
    from remots.io.atomic import atomic_write_json
    from remots.io.detections import write_detections_txt
    from remots.tracking.short_stage import run_short

    frames, object_masks = _panning_camera(
        [(150, 120, 22, (0, 0)), (200, 80, 60, (0, 0))], pan_step=(-26, -3), num_frames=4
    )
    dets = []
    for t, (fast, slow) in enumerate(object_masks):
        dets.append(Instance(t, len(dets), PEDESTRIAN, masks.encode(fast)[0], 0.91))
        dets.append(Instance(t, len(dets), PEDESTRIAN, masks.encode(slow)[0], 0.92))
    _write_sequence(tmp_path / "data", "seqA", frames, dets)
    run = RunFolder(tmp_path / "run")
    write_detections_txt(run.detections("seqA"), dets, frame_base=1)
    atomic_write_json(run.detection_seeds("seqA"), {"seed_of_detection": [1, 2, 1, 2, 2, 1, 2, 1]})
    run_short(_stage_cfg(tmp_path, theta_short=None, theta_short_fallback=None))
    meta = json.loads(run.short_meta("seqA").read_text())
    assert meta["seeds"] == "split"
    assert meta["tracklet_of_detection"] == [0, 1, 0, 1, 2, 3, 2, 3]
    run_short(_stage_cfg(tmp_path, seeds="keep", overwrite=True))
    meta = json.loads(run.short_meta("seqA").read_text())
    assert meta["seeds"] == "keep"
    assert meta["tracklet_of_detection"] == [0, 1, 0, 1, 1, 0, 1, 0]

    atomic_write_json(run.detection_seeds("seqA"), {"seed_of_detection": [1, 2]})
    with pytest.raises(InputError, match=r"seqA\.seeds\.json: 2 seeds for 8 detections"):
        run_short(_stage_cfg(tmp_path, overwrite=True))
