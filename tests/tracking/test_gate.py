"""Eq. (2) gate statistics on hand-made links: true links passed, wrong candidates blocked."""

import numpy as np
import pytest

from remots.io.detections import Detections
from remots.io.instances import Instance
from remots.masks import encode
from remots.tracking.gate import candidate_links, gate_statistics


def test_gate_statistics_hand_computed():
    # features at angles 0, 10, 60, 90 degrees: cos(0, 10) = 0.985, cos(0, 60) = 0.5,
    # cos(10, 90) = 0.174, cos(60, 90) = 0.866
    angles = np.radians([0.0, 10.0, 60.0, 90.0, 0.0])
    features = np.stack([np.cos(angles), np.sin(angles)], 1) * np.array([[2.0], [1], [1], [3], [1]])
    identity = np.array([7, 7, 8, 8, -1])
    links = np.array(
        [
            [0, 1, 0.8],  # true, sim 0.985
            [2, 3, 0.5],  # true, sim 0.866
            [0, 2, 0.1],  # wrong, sim 0.5
            [1, 3, 0.2],  # wrong, sim 0.174
            [4, 0, 0.3],  # wrong: unknown vs a known identity, sim 1.0
        ]
    )
    s = gate_statistics(features, identity, links, 0.9)
    assert s["num_true"] == 2 and s["true_passed"] == pytest.approx(0.5)
    assert s["num_wrong"] == 3 and s["wrong_blocked"] == pytest.approx(2 / 3)
    assert s["true_similarity"] == pytest.approx((np.cos(np.radians(10)) + 0.866025) / 2)
    per_link = np.array([0.9, 0.8, 0.9, 0.9, np.nan])  # no estimate: the link passes
    s = gate_statistics(features, identity, links, per_link)
    assert s["true_passed"] == 1.0 and s["wrong_blocked"] == pytest.approx(2 / 3)


def test_candidate_links_are_the_pairs_with_overlap_of_one_class():
    def box(x0, y0, x1, y1):
        m = np.zeros((20, 20), np.uint8)
        m[y0:y1, x0:x1] = 1
        return encode(m[None])[0]

    frames = [
        [Instance(0, 0, 2, box(0, 0, 5, 5)), Instance(0, 1, 2, box(10, 10, 15, 15))],
        [
            Instance(1, 2, 2, box(1, 1, 6, 6)),  # overlaps 0
            Instance(1, 3, 1, box(11, 11, 16, 16)),  # overlaps 1, but a car
            Instance(1, 4, 2, box(3, 3, 12, 12)),  # overlaps 0 and 1
        ],
    ]
    links = candidate_links(
        Detections.from_instances(d for f in frames for d in f), flow_method=None
    )
    pairs = {(int(a), int(b)) for a, b, _ in links}
    assert pairs == {(0, 2), (0, 4), (1, 4)}
    iou = {(int(a), int(b)): v for a, b, v in links}
    assert iou[(0, 2)] == pytest.approx(16 / 34)
