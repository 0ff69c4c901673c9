"""The short-term tracker (section 2.3, Eq. 1-2): hand-computed costs and assignments, flow on a
panning camera, refine-mode seeds, and invariants on real KITTI MOTS masks."""

import cv2
import numpy as np
import pytest

from remots import masks
from remots.io.detections import Detections
from remots.io.instances import CAR, PEDESTRIAN, Instance
from remots.io.layouts import load_motschallenge_sequence, write_seqinfo
from remots.parallel import WorkerPool
from remots.tracking.short_term import (
    ShortTermParams,
    _costs_of_adjacent_frames,
    associate,
    short_term_cost,
    track_from_seeds,
    track_short,
)

NO_FLOW = {"flow_method": None}

INF = np.inf


def _box(shape, rows, cols):
    m = np.zeros(shape, np.uint8)
    m[rows[0] : rows[1], cols[0] : cols[1]] = 1
    return m


def _dets(frames_of_masks, classes=None) -> Detections:
    """Detections frame by frame (row k = the k-th mask listed) from lists of dense masks."""
    dets = []
    for t, frame_masks in enumerate(frames_of_masks):
        for k, m in enumerate(frame_masks):
            cid = PEDESTRIAN if classes is None else classes[t][k]
            dets.append(Instance(t, len(dets), cid, masks.encode(m)[0], 0.9))
    return Detections.from_instances(dets)


def _short(dets, features, frames=None, **params):
    return track_short(dets, features, ShortTermParams(**params), frames)


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
    iou = masks.iou_matrix(dets.rles[:2], dets.rles[2:])
    np.testing.assert_allclose(iou, [[100 / 700, 100 / 600], [150 / 650, 50 / 650]])
    features = np.array([[1.0, 0.1], [0.1, 1.0], [1.0, 0.0], [0.0, 1.0]])  # A, B, A', B'
    with_app = _short(dets, features, theta_short=0.5, **NO_FLOW)
    assert with_app.tolist() == [0, 1, 0, 1]
    iou_only = _short(dets, None, use_appearance=False, **NO_FLOW)
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
    assert masks.iou_matrix(dets.rles[:1], dets.rles[1:2])[0, 0] == 0
    features = np.ones((3, 4))
    plain = _short(dets, features, theta_short=0.5, **NO_FLOW)
    assert plain.tolist() == [0, 1, 2]
    warped = _short(dets, features, enumerate(frames), flow_method=method, theta_short=0.5)
    assert warped.tolist() == [0, 0, 0]


def test_appearance_gate_refuses_a_wrong_link():
    """Object A leaves and a different object C appears where A was: the masks overlap, but
    their similarity (0.2) is under theta_short (0.6), so C starts a new tracklet."""
    shape = (20, 20)
    dets = _dets([[_box(shape, (2, 12), (2, 12))], [_box(shape, (4, 14), (3, 13))]])
    features = np.array([[1.0, 0.0], [0.2, np.sqrt(1 - 0.04)]])
    assert _short(dets, features, theta_short=0.6, **NO_FLOW).tolist() == [0, 1]
    assert _short(dets, features, theta_short=0.1, **NO_FLOW).tolist() == [0, 0]
    assert _short(dets, features, theta_short=None, **NO_FLOW).tolist() == [0, 0]


def test_tracklet_ids_unique_in_order_of_appearance_with_gaps_and_empty_frames():
    shape = (20, 30)
    m_left, m_right = _box(shape, (0, 10), (0, 10)), _box(shape, (0, 10), (18, 28))
    frames = [[m_left, m_right], [], [m_right, m_left], [m_right]]
    dets = _dets(frames)
    ids = _short(dets, np.ones((len(dets), 3)), theta_short=0.5, **NO_FLOW)
    # frame 1 is empty: both objects start new tracklets in frame 2, then the right one goes on
    assert ids.tolist() == [0, 1, 2, 3, 2]
    # rows in any order: ids follow first appearance (frame, then row), not the row order
    shuffled = dets.subset([4, 2, 0, 3, 1])
    assert _short(shuffled, np.ones((5, 3)), **NO_FLOW).tolist() == [2, 2, 0, 3, 1]


def test_real_kitti_masks_tracklets_are_pure_and_one_per_frame(kitti_root):
    """KITTI MOTS 0019 (real masks, pedestrians and cars), first 120 frames, GT masks as
    detections. Invariants: no two masks of a frame share a tracklet; with features that know the
    identity, no tracklet mixes two identities; flow-free IoU-only linking keeps most objects
    (a GT track is split into few tracklets)."""
    from remots.io.layouts import load_kitti_mots

    (seq,) = load_kitti_mots(kitti_root, sequences=["0019"])
    gt = [g for g in seq.gt if g.class_id != 10 and g.frame < 120]
    dets = Detections.from_instances(gt)
    identity = np.unique([g.obj_id for g in gt], return_inverse=True)[1]
    oracle = np.eye(identity.max() + 1)[identity]
    for features, use_app in ((oracle, True), (None, False)):
        ids = _short(
            dets,
            features,
            use_appearance=use_app,
            theta_short={CAR: 0.5, PEDESTRIAN: 0.5},
            **NO_FLOW,
        )
        assert (ids >= 0).all()
        for rows in dets.rows_by_frame(120):
            assert len(set(ids[rows].tolist())) == len(rows)
        gt_of_tracklet: dict[int, set[int]] = {}
        tracklets_of_gt: dict[int, set[int]] = {}
        for k, g in enumerate(gt):
            gt_of_tracklet.setdefault(int(ids[k]), set()).add(g.obj_id)
            tracklets_of_gt.setdefault(g.obj_id, set()).add(int(ids[k]))
        purity = np.mean([len(v) == 1 for v in gt_of_tracklet.values()])
        fragmentation = np.mean([len(v) for v in tracklets_of_gt.values()])
        if use_app:
            assert purity == 1.0
        assert purity > 0.95 and fragmentation < 1.5


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
    params = ShortTermParams(theta_short=0.5, **NO_FLOW)
    got = track_from_seeds(dets, features, seeds, params)
    # 0: A, 1: B, 2: A, 3: "far" cut from seed 5, 4: B after its gap, 5: seed 5 again (IoU 0
    # with "far": cut), 6: seed 6 on B but with A's look (cut), 7: seed 5 twice in frame 3
    assert got.tolist() == [0, 1, 0, 2, 1, 3, 4, 5]
    kept = track_from_seeds(dets, features, seeds, params, split=False)
    assert kept.tolist() == [0, 1, 0, 0, 1, 0, 1, 2]
    # IoU only (no appearance): frame 3's seed-6 link is allowed again
    iou_only = track_from_seeds(dets, None, seeds, ShortTermParams(use_appearance=False, **NO_FLOW))
    assert iou_only.tolist() == [0, 1, 0, 2, 1, 3, 1, 4]


# ------------------------------------------------------------------------- worker processes


def _written_video(tmp_path, frames):
    """The frames as a MOTSChallenge sequence on disk: a frame source workers can read."""
    seq_dir = tmp_path / "seq"
    (seq_dir / "img1").mkdir(parents=True)
    for t, img in enumerate(frames):
        cv2.imwrite(str(seq_dir / "img1" / f"{t + 1:06d}.png"), img)
    h, w = frames[0].shape[:2]
    write_seqinfo(seq_dir, name="seq", num_frames=len(frames), width=w, height=h, ext=".png")
    return load_motschallenge_sequence(seq_dir, with_gt=False)


def _crowd(tmp_path, num_frames=23):
    """A panning camera over five moving objects, some frames without masks (chunk edges and
    pairs with no cost), a car among the pedestrians; random 2048-d features."""
    objects = [
        (150, 120, 22, (2, 0)),
        (200, 80, 40, (0, 1)),
        (260, 150, 30, (-2, 1)),
        (120, 60, 26, (1, 1)),
        (300, 90, 24, (-1, 0)),
    ]
    frames, object_masks = _panning_camera(
        objects, pan_step=(-6, -1), num_frames=num_frames, shape=(160, 240)
    )
    empty = {4, 5, 11}
    masks_by_frame = [
        [] if t in empty else [m for m in ms if m.any()] for t, ms in enumerate(object_masks)
    ]
    classes = [[CAR if k == 2 else PEDESTRIAN for k in range(len(ms))] for ms in masks_by_frame]
    dets = _dets(masks_by_frame, classes)
    rng = np.random.default_rng(3)
    identity = rng.normal(size=(len(objects), 2048))
    features = np.concatenate(
        [identity[: len(ms)] + 0.3 * rng.normal(size=(len(ms), 2048)) for ms in masks_by_frame]
    ).astype(np.float32)
    return _written_video(tmp_path, frames), dets, features


@pytest.mark.parametrize("use_appearance", [True, False])
def test_workers_compute_the_serial_costs_and_tracklets_byte_for_byte(tmp_path, use_appearance):
    video, dets, features = _crowd(tmp_path)
    params = ShortTermParams(
        theta_short={PEDESTRIAN: 0.2, CAR: None},
        use_appearance=use_appearance,
        flow_kwargs={"downscale": 0.5},
    )

    def costs(pool):
        return [
            (prev.tolist(), curr.tolist(), None if w is None else w.tobytes())
            for prev, curr, w in _costs_of_adjacent_frames(
                video, dets, features, params, desc="test", pool=pool
            )
        ]

    serial = costs(None)
    assert len(serial) == video.num_frames
    assert sum(w is None for _, _, w in serial) == 6  # frame 0, the 5 pairs touching 4, 5, 11
    tracklets = track_short(dets, features, params, video)
    seeds = np.arange(len(dets)) % 3
    seeded = track_from_seeds(dets, features, seeds, params, video)
    for workers in (2, 3):
        with WorkerPool(workers) as pool:
            assert costs(pool) == serial
            assert track_short(dets, features, params, video, pool=pool).tolist() == (
                tracklets.tolist()
            )
            got = track_from_seeds(dets, features, seeds, params, video, pool=pool)
            assert got.tolist() == seeded.tolist()
            # frames given as an iterator are used here, serially: the same tracklets
            frames = video.iter_frames()
            assert track_short(dets, features, params, frames, pool=pool).tolist() == (
                tracklets.tolist()
            )
    assert tracklets.max() + 1 < len(dets)  # the tracker did link masks


def test_worker_tasks_cover_every_pair_once_and_shrink_towards_the_end():
    """The pairs of a sequence are cut into runs: all of them, each once, in order; at most 32
    pairs a task, and the last runs small (a worker does not idle long at the sequence's end)."""
    from remots.tracking.short_term import _task_size

    for pairs, workers in ((524, 2), (899, 2), (5, 2), (1000, 16)):
        sizes, left = [], pairs
        while left:
            sizes.append(min(left, _task_size(left, workers)))
            left -= sizes[-1]
        assert sum(sizes) == pairs and max(sizes) <= 32
        assert sizes == sorted(sizes, reverse=True)  # never growing
        assert sizes[-1] <= 4
