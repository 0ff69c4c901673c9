"""Long-term merging (section 2.5, Eq. 3): hand-made tracklets with known answers, a property
test against the brute-force reference, and an invariant test on real KITTI MOTS tracks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remots.tracking.merge import long_term_distance, merge_tracklets, tracklet_frame_gaps
from tests.support.merge_bruteforce import merge_tracklets_bruteforce


def unit(deg: float) -> list[float]:
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def tracklets(*specs):
    """Detections from ``(frames, feature_or_features, class_id)`` per tracklet, in id order."""
    feats, trk, frames, classes = [], [], [], []
    for k, (fr, feat, cls) in enumerate(specs):
        per = feat if isinstance(feat[0], list) else [feat] * len(fr)
        for t, f in zip(fr, per, strict=True):
            feats.append(f)
            trk.append(k)
            frames.append(t)
            classes.append(cls)
    return np.array(feats, float), np.array(trk), np.array(frames), np.array(classes)


# ----------------------------------------------------------------------------- Eq. (3)


def test_long_term_distance_hand_computed():
    # tracklet 0: (1,0) twice; tracklet 1: (0,1) then (1,0); pairwise distances 1, 0, 1, 0
    f, trk, fr, cls = tracklets(
        ([0, 1], [1.0, 0.0], 2),
        ([3, 4], [[0.0, 1.0], [2.0, 0.0]], 2),  # an unnormalised feature is normalised
        ([1, 2], [0.0, 1.0], 2),  # shares frame 1 with tracklet 0
        ([5], [1.0, 0.0], 1),  # another class
    )
    w = long_term_distance(f, trk, fr, cls, theta_t=2).matrix()
    assert w[0, 1] == pytest.approx(0.5) and w[1, 0] == pytest.approx(0.5)  # gap 3 - 1 = 2
    assert w[1, 2] == pytest.approx(0.5)  # (0,1) vs {(0,1), (1,0)}, gap 1
    assert np.isinf(np.diag(w)).all()
    assert np.isinf(w[0, 2])  # temporal overlap
    assert np.isinf(w[1, 3]) and np.isinf(w[3, 1])  # adjacent frames but different class
    assert np.isinf(
        long_term_distance(f, trk, fr, cls, theta_t=1).matrix()[0, 1]
    )  # gap 2 > theta_t
    np.testing.assert_array_equal(w, w.T)


def test_frame_gaps_with_holes_and_missing_tracklets():
    trk = np.array([0, 0, 0, 2, 2, -1])
    fr = np.array([0, 1, 9, 4, 12, 3])  # tracklet 0 = {0,1,9}, tracklet 1 empty, 2 = {4,12}
    gaps = tracklet_frame_gaps(trk, fr, num_tracklets=3)
    assert gaps[0, 2] == gaps[2, 0] == 3  # 12 - 9
    assert gaps[0, 0] == 0
    assert tracklet_frame_gaps(trk, fr, num_tracklets=3, cap=2)[0, 2] == 2


def test_blocked_matrices_match_direct_formulas_past_one_block():
    from remots.tracking.merge import _BLOCK, tracklet_appearance_distance

    rng = np.random.default_rng(3)
    k = _BLOCK + 200
    start, length = rng.integers(0, 300, k), rng.integers(1, 4, k)
    trk = np.repeat(np.arange(k), length)
    fr = np.repeat(start, length) + np.concatenate([np.arange(n) for n in length])
    f = rng.standard_normal((len(trk), 8))
    appearance, n_obs = tracklet_appearance_distance(f, trk, np.ones(len(trk), int))
    np.testing.assert_array_equal(appearance, appearance.T)
    np.testing.assert_array_equal(n_obs, length)
    unit_f = f / np.linalg.norm(f, axis=1, keepdims=True)
    for a, b in [(0, 1), (5, k - 1), (_BLOCK, 3)]:
        direct = np.mean(1 - unit_f[trk == a] @ unit_f[trk == b].T)
        assert appearance[a, b] == pytest.approx(direct, abs=1e-12)
    end = start + length - 1
    expected = np.maximum(np.maximum(start[None] - end[:, None], start[:, None] - end[None]), 0)
    np.testing.assert_array_equal(tracklet_frame_gaps(trk, fr), expected)
    np.testing.assert_array_equal(tracklet_frame_gaps(trk, fr, cap=16), np.minimum(expected, 16))


# ----------------------------------------------------------------------------- clustering


def test_chain_that_single_linkage_would_join_stays_apart():
    # A (frames 0-9) and C (frames 2-4) are two people seen together; B (frames 11-13) is
    # close to both in appearance. B joins A; A+B then overlaps C, so C must stay alone.
    f, trk, fr, cls = tracklets(
        (range(10), unit(0), 2),  # A
        ([11, 12, 13], unit(25), 2),  # B: d(A,B) = 1 - cos 25 = 0.094
        ([2, 3, 4], unit(55), 2),  # C: d(B,C) = 1 - cos 30 = 0.134
    )
    labels = merge_tracklets(f, trk, fr, cls, theta_merge=0.8, theta_t=15)  # cut 0.2
    np.testing.assert_array_equal(labels, [0, 0, 1])

    # naive single linkage on W_long (inf as a large finite value) chains C into A's track
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    w = long_term_distance(f, trk, fr, cls, theta_t=15).matrix()
    w[np.isinf(w)] = 1e3
    np.fill_diagonal(w, 0)
    single = fcluster(linkage(squareform(w), method="single"), t=0.2, criterion="distance")
    assert len(set(single)) == 1


def test_gap_is_rechecked_on_the_union_of_frames():
    # A, B, C: one person. A-C alone are 21 frames apart (> theta_t = 12), B bridges them.
    f, trk, fr, cls = tracklets(
        (range(5), unit(0), 2), (range(10, 15), unit(3), 2), (range(25, 30), unit(6), 2)
    )
    assert np.isinf(long_term_distance(f, trk, fr, cls, theta_t=12).matrix()[0, 2])
    np.testing.assert_array_equal(merge_tracklets(f, trk, fr, cls, theta_merge=0.9, theta_t=12), 0)
    # without the bridge A and C never meet
    keep = trk != 1
    labels = merge_tracklets(
        f[keep], np.where(trk[keep] == 2, 1, 0), fr[keep], cls[keep], theta_merge=0.9, theta_t=12
    )
    np.testing.assert_array_equal(labels, [0, 1])


def test_cut_at_one_minus_theta_merge():
    f, trk, fr, cls = tracklets((range(3), unit(0), 2), (range(4, 6), unit(45), 2))
    d = 1 - math.cos(math.radians(45))  # 0.293
    assert merge_tracklets(f, trk, fr, cls, theta_merge=1 - d + 0.01).tolist() == [0, 1]
    assert merge_tracklets(f, trk, fr, cls, theta_merge=1 - d - 0.01).tolist() == [0, 0]


def test_centroid_linkage_uses_observation_weighted_mean():
    # A = 3 obs at 0 deg, B = 1 obs at 0 deg, C at 90 deg: d(A u B, C) = 1 for any weights,
    # D has 1 obs at 0 deg and 3 at 90: d(A, D) = 0.75, d(B, D) = 0.75 -> merged at 0.75.
    f, trk, fr, cls = tracklets(
        ([0, 1, 2], unit(0), 2),
        ([4], unit(0), 2),
        ([6, 7, 8, 9], [unit(0), unit(90), unit(90), unit(90)], 2),
    )
    labels, merges = merge_tracklets(
        f, trk, fr, cls, theta_merge=0.2, theta_t=15, return_merges=True
    )
    assert labels.tolist() == [0, 0, 0]
    assert merges[0][:2] == (0, 1) and merges[0][2] == pytest.approx(0.0, abs=1e-12)
    assert merges[1][:2] == (0, 2) and merges[1][2] == pytest.approx(0.75)


def test_classes_never_join_and_empty_tracklets_get_minus_one():
    f, trk, fr, cls = tracklets((range(3), unit(0), 1), (range(3, 6), unit(0), 2))
    trk = np.append(trk, -1)
    f, fr, cls = np.vstack([f, [unit(0)]]), np.append(fr, 9), np.append(cls, 2)
    labels = merge_tracklets(f, trk, fr, cls, theta_merge=0.0, num_tracklets=4)
    assert labels.tolist() == [0, 1, -1, -1]


def test_a_tracklet_with_two_classes_is_an_error():
    with pytest.raises(ValueError, match="tracklet 0 mixes classes"):
        merge_tracklets(np.eye(2), [0, 0], [0, 1], [1, 2], theta_merge=0.5)


# ----------------------------------------------------------------------------- properties

tracklet_spec = st.tuples(
    st.sets(st.integers(0, 40), min_size=1, max_size=5),  # frames (holes allowed)
    st.integers(0, 2),  # identity
    st.sampled_from([1, 2]),  # class
)


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(tracklet_spec, min_size=1, max_size=7),
    theta_t=st.integers(0, 15),
    theta_merge=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_merge_matches_bruteforce_and_keeps_constraints(specs, theta_t, theta_merge, seed):
    rng = np.random.default_rng(seed)
    identities = rng.standard_normal((3, 6))
    f, trk, fr, cls = [], [], [], []
    for k, (frames, who, c) in enumerate(specs):
        for t in sorted(frames):
            f.append(identities[who] + 0.6 * rng.standard_normal(6))
            trk.append(k)
            fr.append(t)
            cls.append(c)
    f, trk, fr, cls = np.array(f), np.array(trk), np.array(fr), np.array(cls)

    labels, merges = merge_tracklets(
        f, trk, fr, cls, theta_merge=theta_merge, theta_t=theta_t, return_merges=True
    )
    reference = merge_tracklets_bruteforce(
        f, trk, fr, cls, theta_merge=theta_merge, theta_t=theta_t
    )
    np.testing.assert_array_equal(labels, reference)

    track = labels[trk]
    for m in np.unique(track):
        frames = fr[track == m]
        assert len(frames) == len(set(frames.tolist()))  # never two masks in one frame
        assert len(set(cls[track == m].tolist())) == 1  # never two classes
    # replay the merges: each joins two clusters whose frame sets are 1..theta_t apart
    frame_set = {k: set(spec[0]) for k, spec in enumerate(specs)}
    for kept, absorbed, dist in merges:
        gap = min(abs(x - y) for x in frame_set[kept] for y in frame_set[absorbed])
        assert 1 <= gap <= theta_t
        assert dist <= 1 - theta_merge
        frame_set[kept] |= frame_set.pop(absorbed)

    gaps = tracklet_frame_gaps(trk, fr)
    for a in range(len(specs)):
        for b in range(len(specs)):
            expected = min(abs(x - y) for x in specs[a][0] for y in specs[b][0])
            assert gaps[a, b] == expected


# ----------------------------------------------------------------------------- real tracks


@pytest.mark.parametrize("seq", ["0001", "0005"])
def test_kitti_gt_cut_into_tracklets_is_merged_back(kitti_root, seq):
    """KITTI MOTS GT tracks cut into short pieces, with features that identify each track:
    the merge must return each GT track split only where it is absent for over theta_t frames."""
    from remots.io.mots import read_mots_txt

    gt = [
        i
        for i in read_mots_txt(kitti_root / "instances_txt" / f"{seq}.txt", frame_base=0)
        if i.class_id != 10
    ]
    rng = np.random.default_rng(7)
    obj = np.array([i.obj_id for i in gt])
    frames = np.array([i.frame for i in gt])
    classes = np.array([i.class_id for i in gt])
    ids = np.unique(obj)
    identity = rng.standard_normal((len(ids), 64))
    features = identity[np.searchsorted(ids, obj)] + 0.15 * rng.standard_normal((len(gt), 64))

    # cut every GT track into tracklets at random points (about every 6 frames)
    order = np.lexsort((frames, obj))
    tracklet = np.empty(len(gt), np.int64)
    cut_here = np.ones(len(order), bool)
    cut_here[1:] = (obj[order][1:] != obj[order][:-1]) | (rng.random(len(order) - 1) < 1 / 6)
    tracklet[order] = np.cumsum(cut_here) - 1

    theta_t = 15
    labels = merge_tracklets(features, tracklet, frames, classes, theta_merge=0.5, theta_t=theta_t)
    track = labels[tracklet]

    # expected: GT track split where consecutive frames are more than theta_t apart
    segment = np.empty(len(gt), np.int64)
    o_obj, o_frames = obj[order], frames[order]
    new_segment = np.ones(len(order), bool)
    new_segment[1:] = (o_obj[1:] != o_obj[:-1]) | (np.diff(o_frames) > theta_t)
    segment[order] = np.cumsum(new_segment) - 1
    assert len(np.unique(tracklet)) > 2 * len(np.unique(segment))  # merging had work to do
    pairs = set(zip(track.tolist(), segment.tolist(), strict=True))
    assert len(pairs) == len(np.unique(track)) == len(np.unique(segment))  # same partition


def test_float32_features_give_the_float64_answer():
    rng = np.random.default_rng(4)
    k = 60
    trk = np.repeat(np.arange(k), 4)
    fr = np.repeat(rng.integers(0, 80, k), 4) + np.tile(np.arange(4), k)
    f = rng.standard_normal((3, 16))[np.arange(k) % 3][trk] + 0.5 * rng.standard_normal((4 * k, 16))
    cls = np.ones(4 * k, int)
    labels64 = merge_tracklets(f, trk, fr, cls, theta_merge=0.6)
    labels32 = merge_tracklets(f.astype(np.float32), trk, fr, cls, theta_merge=0.6)
    assert labels64.max() < k - 10  # there were merges
    np.testing.assert_array_equal(labels32, labels64)
