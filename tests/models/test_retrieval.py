import numpy as np
import pytest

from remots.models.retrieval import (
    retrieval_metrics,
    sample_evaluation_triplets,
    triplet_accuracy,
)


def test_rank1_and_map_hand_computed():
    # query 0 (id 0, frame 0): gallery = items 1..3 (item 1 is id 0 at frame 20)
    f = np.array([[1, 0], [0.6, 0.8], [0.8, 0.6], [0, 1]], float)
    ids = np.array([0, 0, 1, 1])
    frames = np.array([0, 20, 0, 20])
    m = retrieval_metrics(f, ids, frames, min_frame_gap=10)
    # q0: order 2 (0.8), 1 (0.6), 3 -> miss, hit: rank1 0, AP 1/2
    # q1: sims to 0: .6, 2: .96, 3: .8 -> 2 miss, 3 miss, 0 hit: AP 1/3
    # q2: to 0 .8, 1 .96, 3 .6 -> 1 miss, 0 miss, 3 hit: AP 1/3
    # q3: to 0 0, 1 .8, 2 .6 -> 1 miss, 2 hit: AP 1/2
    assert m["num_queries"] == 4
    assert m["rank1"] == 0.0
    assert m["mAP"] == pytest.approx((0.5 + 1 / 3 + 1 / 3 + 0.5) / 4)


def test_close_frames_of_the_same_identity_are_not_matches():
    f = np.eye(3)
    m = retrieval_metrics(f, np.array([0, 0, 1]), np.array([0, 1, 2]), min_frame_gap=10)
    assert m["num_queries"] == 0 and np.isnan(m["rank1"])


def test_separated_features_are_perfect():
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(5), 20)
    frames = np.tile(np.arange(20) * 3, 5)
    f = np.eye(5)[ids] + 0.01 * rng.standard_normal((100, 5))
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    m = retrieval_metrics(f, ids, frames)
    assert m["rank1"] == 1.0 and m["mAP"] == pytest.approx(1.0)
    t = sample_evaluation_triplets(ids, frames, num_triplets=200, rng=rng)
    assert len(t) == 200
    assert (ids[t[:, 0]] == ids[t[:, 1]]).all() and (ids[t[:, 2]] != ids[t[:, 0]]).all()
    assert (np.abs(frames[t[:, 0]] - frames[t[:, 1]]) >= 10).all()
    assert (frames[t[:, 2]] == frames[t[:, 0]]).all()
    assert triplet_accuracy(f, t) == 1.0
    assert triplet_accuracy(-f[:, ::-1] * 0 + 1, t) == 0.0  # all equal: never strictly closer
