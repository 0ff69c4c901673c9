"""Every triplet satisfies its definition (paper, Figs. 2 and 3); batches mix 1:1 exactly; the
same seed gives the same batches; ranks share one stream."""

import numpy as np
import pytest

from remots.data.samplers import (
    TARGET,
    TRAIN,
    GTTripletSampler,
    InterTrackletTripletSampler,
    IntraFrameTripletSampler,
    MixedTripletBatchSampler,
    split_counts,
)


def _gt_items():
    rng = np.random.default_rng(3)
    n = 200
    identities = rng.integers(0, 12, n)
    frames = rng.integers(0, 30, n)
    groups = identities % 3  # identities never span groups
    items = np.arange(n) + 1000  # global offsets
    return items, identities, frames, groups


def test_gt_triplets_same_identity_other_frame_and_other_identity():
    items, identities, frames, groups = _gt_items()
    s = GTTripletSampler(items=items, identities=identities, frames=frames, groups=groups)
    t = s.sample(np.random.default_rng(0), 500) - 1000
    assert (identities[t[:, 0]] == identities[t[:, 1]]).all()
    assert (frames[t[:, 0]] != frames[t[:, 1]]).all()
    assert (identities[t[:, 2]] != identities[t[:, 0]]).all()
    assert (groups[t[:, 2]] == groups[t[:, 0]]).all()  # each group has several identities


def test_gt_sampler_needs_two_identities_and_two_frames():
    with pytest.raises(ValueError, match="two frames"):
        GTTripletSampler(
            items=np.arange(3),
            identities=np.array([0, 0, 1]),
            frames=np.array([5, 5, 6]),
            groups=np.zeros(3),
        )


def test_intra_frame_positive_is_the_anchor_and_negative_shares_its_frame():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 20, 150)
    groups = rng.integers(0, 2, 150)
    s = IntraFrameTripletSampler(items=np.arange(150), frames=frames, groups=groups)
    t = s.sample(np.random.default_rng(0), 1000)
    assert (t[:, 0] == t[:, 1]).all()
    assert (t[:, 2] != t[:, 0]).all()
    assert (frames[t[:, 2]] == frames[t[:, 0]]).all()
    assert (groups[t[:, 2]] == groups[t[:, 0]]).all()


def test_intra_frame_skips_frames_with_one_detection():
    frames = np.array([0, 1, 1, 2])
    s = IntraFrameTripletSampler(items=np.arange(4), frames=frames, groups=np.zeros(4))
    t = s.sample(np.random.default_rng(0), 50)
    assert set(t[:, 0]) == {1, 2}
    with pytest.raises(ValueError):
        IntraFrameTripletSampler(items=np.arange(2), frames=np.array([0, 1]), groups=np.zeros(2))


def _tracklets():
    # tracklet A frames 0-4, B frames 5-9, C frames 0-9, D frame 3 only; -1 none; two groups
    rows = []
    for trk, span in (("A", range(0, 5)), ("B", range(5, 10)), ("C", range(0, 10)), ("D", [3])):
        rows += [(trk, f) for f in span]
    names = {"A": 0, "B": 1, "C": 2, "D": 3}
    tracklets = np.array([names[r[0]] for r in rows] + [-1, -1])
    frames = np.array([r[1] for r in rows] + [3, 4])
    return tracklets, frames


def test_inter_triplets_follow_fig3_and_only_overlapping_negatives():
    tracklets, frames = _tracklets()
    n = len(frames)
    items = np.flatnonzero(tracklets >= 0)
    s = InterTrackletTripletSampler(
        items=items, frames=frames[items], groups=np.zeros(len(items)), tracklets=tracklets[items]
    )
    t = s.sample(np.random.default_rng(0), 2000)
    a, p, neg = t.T
    assert (tracklets[a] == tracklets[p]).all() and (frames[a] != frames[p]).all()
    assert (tracklets[neg] != tracklets[a]).all()
    assert (frames[neg] == frames[a]).all()  # negative taken in the anchor's frame
    assert (tracklets[t] >= 0).all() and t.max() < n
    pairs = {(int(tracklets[x]), int(tracklets[y])) for x, y in zip(a, neg, strict=True)}
    assert (0, 1) not in pairs and (1, 0) not in pairs  # A and B never overlap in time
    assert {(0, 2), (2, 0), (1, 2), (2, 1), (2, 3)} <= pairs
    assert 3 not in set(tracklets[a])  # D spans one frame: never an anchor


def test_inter_tracklets_of_different_groups_never_meet():
    # tracklet 0 of group 0 and tracklet 0 of group 1 are different tracklets in different videos
    with pytest.raises(ValueError, match="no frame holds two"):
        InterTrackletTripletSampler(
            items=np.arange(4),
            frames=np.array([0, 1, 0, 1]),
            groups=np.array([0, 0, 1, 1]),
            tracklets=np.zeros(4, int),
        )


def _mixed(seed=0, rank=0, world_size=1, ratio=(1, 1), batch_size=8, num_batches=6):
    _, identities, frames, groups = _gt_items()
    gt = GTTripletSampler(items=np.arange(200), identities=identities, frames=frames, groups=groups)
    intra = IntraFrameTripletSampler(
        items=np.arange(150), frames=frames[:150] % 7, groups=np.zeros(150)
    )
    return MixedTripletBatchSampler(
        train_sampler=gt,
        target_sampler=intra,
        batch_size=batch_size,
        ratio=ratio,
        num_batches=num_batches,
        seed=seed,
        rank=rank,
        world_size=world_size,
    )


@pytest.mark.parametrize(
    ("ratio", "expected"), [((1, 1), (8, 8)), ((1, 3), (4, 12)), ((0, 1), (0, 16))]
)
def test_ratio_holds_exactly_in_every_batch(ratio, expected):
    batches = list(_mixed(ratio=ratio, batch_size=16))
    assert len(batches) == 6
    for b in batches:
        sources = [k[0] for k in b]
        assert (sources.count(TRAIN), sources.count(TARGET)) == expected


def test_ratio_that_cannot_hold_exactly_is_refused():
    with pytest.raises(ValueError, match="multiple"):
        split_counts(15, (1, 1))
    assert split_counts(15, (2, 1)) == (10, 5)


def test_same_seed_same_batches_other_seed_or_epoch_other_batches():
    assert list(_mixed(seed=4)) == list(_mixed(seed=4))
    assert list(_mixed(seed=4)) != list(_mixed(seed=5))
    s = _mixed(seed=4)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first


def test_ranks_take_disjoint_shares_of_one_stream():
    single = list(_mixed(num_batches=8))
    ranks = [list(_mixed(num_batches=4, rank=r, world_size=2)) for r in (0, 1)]
    assert ranks[0] == single[0::2] and ranks[1] == single[1::2]


# ----------------------------------------------------------------------------- P x K batches


def _pk(sampler, p=4, k=3, seed=0):
    return sampler.sample_pk(np.random.default_rng(seed), p, k)


def test_gt_pk_positives_share_the_identity_and_every_other_identity_is_negative():
    from remots.data.samplers import GTIdentityPKSampler

    items, identities, frames, groups = _gt_items()
    s = GTIdentityPKSampler(items=items, identities=identities, frames=frames, groups=groups)
    for seed in range(20):
        g = _pk(s, p=4, k=3, seed=seed)
        rows = g.items - 1000
        ids = identities[rows]
        same = g.pids[:, None] == g.pids[None, :]
        assert len(g) == 12 and len(np.unique(g.pids)) == 4
        assert (ids[:, None] == ids[None, :])[same].all()
        assert np.array_equal(g.negatives, ~same)  # GT: all other identities are known
        assert (ids[:, None] != ids[None, :])[g.negatives].all()
        # distinct masks while the identity has enough, and from its sequence first
        assert not g.strong.any()
        assert (groups[rows[:3]] == groups[rows[0]]).all()


def test_intra_frame_pk_negatives_are_only_the_same_frame():
    from remots.data.samplers import IntraFramePKSampler

    frames = np.array([0, 0, 0, 1, 1, 2, 3, 3])
    groups = np.zeros(8, np.int64)
    s = IntraFramePKSampler(items=np.arange(8) + 50, frames=frames, groups=groups)
    for seed in range(20):
        g = _pk(s, p=4, k=2, seed=seed)
        rows = g.items - 50
        # the two views of a detection are one crop, the second strongly augmented
        assert np.array_equal(rows[0::2], rows[1::2])
        assert g.strong.tolist() == [False, True] * 4
        same_frame = frames[rows][:, None] == frames[rows][None, :]
        same_pid = g.pids[:, None] == g.pids[None, :]
        assert np.array_equal(g.negatives, same_frame & ~same_pid)
    # frame 2 has one detection: never sampled (it can have no negative)
    assert 5 not in np.concatenate([_pk(s, seed=t).items - 50 for t in range(30)])


def test_inter_tracklet_pk_negatives_share_a_frame_never_disjoint_tracklets():
    from remots.data.samplers import InterTrackletPKSampler

    # tracklets of one video: 0 in frames 0-3, 1 in frames 2-5, 2 in frames 6-8 (disjoint from
    # 0 and 1: maybe the same object as one of them), 3 in frames 0-8
    tracklet = np.array([0] * 4 + [1] * 4 + [2] * 3 + [3] * 9)
    frames = np.array([0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 8, *range(9)])
    s = InterTrackletPKSampler(
        items=np.arange(20), frames=frames, groups=np.zeros(20, np.int64), tracklets=tracklet
    )
    spans = {t: set(frames[tracklet == t].tolist()) for t in range(4)}
    seen = set()
    for seed in range(40):
        g = _pk(s, p=3, k=2, seed=seed)
        t = tracklet[g.items]
        assert (t[:, None] == t[None, :])[g.pids[:, None] == g.pids[None, :]].all()
        for i in range(len(g)):
            for j in range(len(g)):
                overlap = t[i] != t[j] and bool(spans[t[i]] & spans[t[j]])
                assert g.negatives[i, j] == overlap
                seen.add((int(t[i]), int(t[j]), bool(g.negatives[i, j])))
    assert (0, 2, False) in seen  # met in one batch, disjoint: never pushed apart
    assert (0, 3, True) in seen


def test_pk_batches_mix_sources_exactly_know_nothing_across_them_and_resume():
    from remots.data.samplers import (
        GTIdentityPKSampler,
        IntraFramePKSampler,
        PKBatchSampler,
    )

    items, identities, frames, groups = _gt_items()
    train = GTIdentityPKSampler(items=items, identities=identities, frames=frames, groups=groups)
    rng = np.random.default_rng(2)
    target = IntraFramePKSampler(
        items=np.arange(100), frames=rng.integers(0, 10, 100), groups=np.zeros(100, np.int64)
    )

    def sampler(**kw):
        return PKBatchSampler(
            train_sampler=train,
            target_sampler=target,
            batch_size=16,
            num_instances=2,
            num_batches=3,
            seed=5,
            **kw,
        )

    batch = next(iter(sampler()))
    assert batch["source"].tolist() == [TRAIN] * 8 + [TARGET] * 8
    cross = np.ix_(range(8), range(8, 16))
    assert not batch["positives"][cross].any() and not batch["negatives"][cross].any()
    assert not np.diag(batch["positives"]).any()
    # every epoch draws new batches; a sampler told how many batches were trained continues
    # the stream exactly where the epoch left off
    one = sampler()
    epoch0 = list(one)
    one.set_epoch(1)
    epoch1 = list(one)
    assert not np.array_equal(epoch0[0]["item"], epoch1[0]["item"])
    resumed = list(sampler(start_batch=lambda: 3))
    assert all(np.array_equal(a["item"], b["item"]) for a, b in zip(epoch1, resumed, strict=True))
    with pytest.raises(ValueError, match="multiple"):
        PKBatchSampler(train_sampler=train, batch_size=10, num_instances=4, num_batches=1)
