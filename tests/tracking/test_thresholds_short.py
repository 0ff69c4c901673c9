import numpy as np
import pytest

from remots.tracking.thresholds import (
    estimate_theta_short,
    intra_frame_similarities,
    theta_short_per_class,
)


def test_intra_frame_similarities_hand_computed():
    features = np.array(
        [
            [1.0, 0.0],  # frame 0
            [0.0, 2.0],  # frame 0: orthogonal to the first -> 0
            [3.0, 3.0],  # frame 0: 45 degrees to both -> sqrt(1/2)
            [1.0, 0.0],  # frame 1, alone: no pair
            [1.0, 1.0],  # frame 2
            [-2.0, -2.0],  # frame 2: opposite -> -1
        ]
    )
    frames = np.array([0, 0, 0, 1, 2, 2])
    sims = intra_frame_similarities(features, frames)
    s = np.sqrt(0.5)
    np.testing.assert_allclose(sims, [0.0, s, s, -1.0])


def test_intra_frame_similarities_of_frames_with_one_mask_is_empty():
    sims = intra_frame_similarities(np.eye(3), np.array([0, 1, 2]))
    assert sims.shape == (0,)
    with pytest.raises(ValueError, match="at least 2"):
        estimate_theta_short(sims)


def test_theta_short_recovers_mean_plus_three_std_of_a_normal_sample():
    rng = np.random.default_rng(0)
    sims = rng.normal(0.2, 0.1, 200_000)
    assert estimate_theta_short(sims) == pytest.approx(0.2 + 3 * 0.1, abs=2e-3)
    assert estimate_theta_short(sims, num_std=2) == pytest.approx(0.4, abs=2e-3)
    # the reading of Eq. (2): links under theta_short are refused -> ~99.87 % of different pairs
    assert (sims < estimate_theta_short(sims)).mean() == pytest.approx(0.99865, abs=5e-4)


def test_theta_short_from_features_of_a_known_distribution():
    """Unit features whose pairwise similarities are known: each frame holds two vectors at a
    drawn angle, so the intra-frame similarities are exactly the cosines drawn."""
    rng = np.random.default_rng(1)
    cosines = np.clip(rng.normal(0.3, 0.05, 5000), -1, 1)
    angles = np.arccos(cosines)
    base = rng.uniform(0, 2 * np.pi, len(angles))
    first = np.stack([np.cos(base), np.sin(base)], 1)
    second = np.stack([np.cos(base + angles), np.sin(base + angles)], 1) * 4.0  # norm ignored
    features = np.empty((2 * len(angles), 2))
    features[0::2], features[1::2] = first, second
    frames = np.repeat(np.arange(len(angles)), 2)
    sims = intra_frame_similarities(features, frames)
    np.testing.assert_allclose(sims, cosines, atol=1e-12)
    assert estimate_theta_short(sims) == pytest.approx(cosines.mean() + 3 * cosines.std())


def test_a_gate_no_link_can_pass_falls_back_with_a_warning(caplog):
    """mean + 3 std >= 1 (weak features) would make every mask its own tracklet."""
    rng = np.random.default_rng(0)
    frames, classes = np.repeat(np.arange(20), 3), np.full(60, 2)
    # similarities of one frame's masks spread over [-1, 1]: mean ~0.2, std ~0.6
    features = rng.normal(size=(60, 3))
    thetas, _ = theta_short_per_class(features, frames, classes, num_std=3.0, fallback=None)
    assert thetas == {2: None}
    assert "would refuse every link" in caplog.text
    # tightly clustered different objects: a usable gate is estimated as mean + 3 std
    features = np.eye(3)[np.arange(60) % 3] + 0.01 * rng.normal(size=(60, 3))
    thetas, sims = theta_short_per_class(features, frames, classes, num_std=3.0)
    assert thetas[2] == pytest.approx(sims[2].mean() + 3 * sims[2].std())
    assert thetas[2] < 0.2


def test_robust_theta_short_ignores_a_tail_of_same_object_pairs():
    from remots.tracking.thresholds import estimate_theta_short

    rng = np.random.default_rng(0)
    different = rng.normal(0.5, 0.1, 2000)
    normal = estimate_theta_short(different)
    robust = estimate_theta_short(different, statistic="robust")
    assert robust == pytest.approx(normal, abs=0.02)  # the same normal, read two ways
    # 3 % duplicate masks of one object in a frame (similarity ~0.97) widen the moment fit only
    tainted = np.concatenate([different, rng.normal(0.97, 0.01, 60)])
    assert estimate_theta_short(tainted) > normal + 0.04
    assert estimate_theta_short(tainted, statistic="robust") == pytest.approx(robust, abs=0.02)
    # hand-computed: median 0.5, MAD 0.1 -> 0.5 + 3 * 1.4826 * 0.1
    assert estimate_theta_short([0.3, 0.4, 0.5, 0.6, 0.7], statistic="robust") == pytest.approx(
        0.5 + 3 * 1.4826 * 0.1
    )
    with pytest.raises(ValueError, match="statistic"):
        estimate_theta_short(different, statistic="trimmed")


def test_pairs_of_the_whole_frame_give_every_class_one_estimate():
    """pairs="class" reads each class's own intra-frame pairs; pairs="frame" every pair of a frame
    whatever its classes (Fig. 4), the same estimate for each class. Hand-computed: frame 0 holds
    a car (1, 0), a car (0, 1) and a pedestrian (1, 0); frame 1 a car (1, 0) and a pedestrian
    (0, 1)."""
    features = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    frames = np.array([0, 0, 0, 1, 1])
    classes = np.array([1, 1, 2, 1, 2])
    _, by_class = theta_short_per_class(features, frames, classes, pairs="class")
    assert sorted(by_class[1].tolist()) == [0.0]  # the two cars of frame 0
    assert by_class[2].size == 0  # one pedestrian per frame: no pair
    thetas, by_frame = theta_short_per_class(features, frames, classes, pairs="frame")
    assert sorted(by_frame[1].tolist()) == [0.0, 0.0, 0.0, 1.0]  # 3 pairs in frame 0, 1 in 1
    assert by_frame[2] is by_frame[1]
    assert estimate_theta_short(by_frame[1]) == pytest.approx(0.25 + 3 * np.std([0, 0, 0, 1]))
    assert thetas[1] is thetas[2] is None  # that estimate is >= 1: no gate, for both classes
    with pytest.raises(ValueError, match="pairs"):
        theta_short_per_class(features, frames, classes, pairs="video")


def test_a_class_with_too_few_pairs_is_read_from_every_pair_of_its_frames():
    """min_pairs: the hand-computed frames above; the cars have 1 pair of their own, the
    pedestrians none. With min_pairs=2 both classes are read from the frames' 4 pairs; with
    min_pairs=1 the cars keep their own pair and the pedestrians (0 pairs) take the frames'."""
    features = np.array([[1, 0], [0, 1], [1, 0], [1, 0], [0, 1]], dtype=np.float32)
    frames = np.array([0, 0, 0, 1, 1])
    classes = np.array([1, 1, 2, 1, 2])
    _, sims = theta_short_per_class(features, frames, classes, min_pairs=2)
    assert sorted(sims[1].tolist()) == sorted(sims[2].tolist()) == [0.0, 0.0, 0.0, 1.0]
    _, sims = theta_short_per_class(features, frames, classes, min_pairs=1)
    assert sims[1].tolist() == [0.0] and sorted(sims[2].tolist()) == [0.0, 0.0, 0.0, 1.0]
    # a class alone in its frames: nothing more to read from, its own pairs are kept
    one_class = np.ones(5, np.int64)
    _, sims = theta_short_per_class(features, frames, one_class, min_pairs=100)
    assert len(sims[1]) == 4


def test_a_sparse_class_gets_a_gate_from_its_frames_pairs():
    """A class seen in pairs only a few times (a pedestrian beside cars): its few pairs happen
    to be similar, mean + 3 std of them is over 1 and the gate would be off; read from every
    pair of its frames (the cars', different objects too), the estimate is below 1."""
    rng = np.random.default_rng(0)
    frames, classes, features = [], [], []
    for t in range(60):
        cars = rng.normal(size=(4, 16))
        frames += [t] * 4
        classes += [1] * 4
        features.append(cars)
        if t < 6:  # two pedestrians in 6 frames, alike (one 6-pair sample, spread)
            base = rng.normal(size=16)
            peds = base + rng.uniform(0.2, 2.0) * rng.normal(size=(2, 16))
            frames += [t, t]
            classes += [2, 2]
            features.append(peds)
    features = np.concatenate(features)
    frames, classes = np.array(frames), np.array(classes)
    own, own_sims = theta_short_per_class(features, frames, classes, min_pairs=0)
    assert len(own_sims[2]) == 6 and own[2] is None  # >= 1: no gate
    read, read_sims = theta_short_per_class(features, frames, classes, min_pairs=200)
    assert len(read_sims[2]) == 60 * 6 + 6 * 9  # 6 car pairs a frame; + 8 car-ped and 1 ped-ped
    assert read[2] is not None and read[2] < 1
    assert read[1] == own[1]  # the cars have 360 pairs of their own
