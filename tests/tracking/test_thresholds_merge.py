"""theta_merge (section 2.5, Fig. 5): similarity histograms, both estimation methods, the plot."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from remots.tracking.thresholds import (
    estimate_theta_merge,
    intra_tracklet_similarities,
    pairwise_similarities_within,
)


def test_similarities_within_groups_hand_computed():
    f = np.array([[1, 0], [0, 1], [1, 1], [3, 0], [0, 2], [5, 5]], float)
    group = np.array([0, 0, 0, -1, 4, 4])  # detection 3 in no group; group 4: (0,1) vs (1,1)
    sims = pairwise_similarities_within(f, group)
    h = np.sqrt(0.5)
    np.testing.assert_allclose(sims, [0.0, h, h, h], atol=1e-12)
    np.testing.assert_allclose(intra_tracklet_similarities(f, group), sims)
    assert len(pairwise_similarities_within(f, np.arange(6))) == 0  # singletons have no pairs


def test_similarities_subsample_is_a_seeded_subset():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((60, 4))
    group = np.repeat(np.arange(3), 20)  # 3 * 190 pairs
    full = pairwise_similarities_within(f, group)
    assert len(full) == 570
    a = pairwise_similarities_within(f, group, max_pairs=100, rng=np.random.default_rng(5))
    b = pairwise_similarities_within(f, group, max_pairs=100, rng=np.random.default_rng(5))
    assert len(a) == 100 and np.isin(a, full).all()
    np.testing.assert_array_equal(a, b)


def test_min_error_threshold_hand_computed():
    # separated histograms: any t in (0.3, 0.6] classifies all; the midpoint is returned
    assert estimate_theta_merge([0.1, 0.2, 0.3], [0.6, 0.7]) == pytest.approx(0.45)
    # overlapping: P_frame(>= t) + P_tracklet(< t) is 1/3 + 0 on (0.6, 0.7], smallest anywhere
    assert estimate_theta_merge([0.1, 0.5, 0.6], [0.4, 0.7, 0.8]) == pytest.approx(0.65)


def test_normal_crossing_equal_spreads_is_the_midpoint():
    t = estimate_theta_merge([0.1, 0.3], [0.7, 0.9], method="normal_crossing")
    assert t == pytest.approx(0.5)


@pytest.mark.parametrize("method", ["min_error", "normal_crossing"])
def test_methods_find_the_bayes_boundary_of_two_normals(method):
    rng = np.random.default_rng(1)
    frame = rng.normal(0.1, 0.15, 20000)
    tracklet = rng.normal(0.7, 0.08, 20000)

    def diff(t):
        return stats.norm.pdf(t, 0.1, 0.15) - stats.norm.pdf(t, 0.7, 0.08)

    boundary = optimize.brentq(diff, 0.1, 0.7)
    assert estimate_theta_merge(frame, tracklet, method=method) == pytest.approx(boundary, abs=0.02)


def test_normal_crossing_equals_densities():
    rng = np.random.default_rng(2)
    frame, tracklet = rng.normal(0.0, 0.3, 500), rng.normal(0.6, 0.1, 500)
    t = estimate_theta_merge(frame, tracklet, method="normal_crossing")
    assert frame.mean() < t < tracklet.mean()
    pa = stats.norm.pdf(t, frame.mean(), frame.std())
    pb = stats.norm.pdf(t, tracklet.mean(), tracklet.std())
    assert pa == pytest.approx(pb, rel=1e-9)


def test_bad_inputs():
    with pytest.raises(ValueError, match="needs both histograms"):
        estimate_theta_merge([], [0.5])
    with pytest.raises(ValueError, match="method must be one of"):
        estimate_theta_merge([0.1], [0.5], method="otsu")
