"""The threshold plots (Fig. 4, Fig. 5): deterministic PNG files, written atomically."""

import cv2
import numpy as np

from remots.tracking.thresholds import estimate_theta_merge
from remots.viz.thresholds import plot_theta_merge, plot_theta_short, theta_short_lines


def test_plot_theta_short_writes_the_same_png_twice(tmp_path):
    rng = np.random.default_rng(2)
    sims = {"car": rng.normal(0.1, 0.1, 500), "pedestrian": rng.normal(0.3, 0.05, 300)}
    thetas = {"car": 0.4, "pedestrian": None}
    plot_theta_short(sims, thetas, tmp_path / "a.png")
    plot_theta_short(sims, thetas, tmp_path / "b.png")
    data = (tmp_path / "a.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data == (tmp_path / "b.png").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
    plot_theta_short(sims["car"], 0.4, tmp_path / "single.png")
    assert (tmp_path / "single.png").stat().st_size > 1000


def test_a_panel_whose_gate_is_off_still_shows_the_estimate(tmp_path):
    """Fig. 4's lines: the theta_short Eq. (2) ran with, and the estimate where it was not used
    (>= 1 and switched off or replaced by the fallback, or overridden by hand)."""
    assert theta_short_lines(0.8, 0.8) == [(0.8, "theta_short = 0.800", True)]
    assert theta_short_lines(None, 1.19) == [(1.19, "estimate 1.190 >= 1: Eq. (2) off", False)]
    assert theta_short_lines(0.9, 1.19) == [
        (0.9, "theta_short = 0.900", True),
        (1.19, "estimate 1.190 >= 1, not used", False),
    ]
    assert theta_short_lines(0.5, 0.7) == [
        (0.5, "theta_short = 0.500", True),
        (0.7, "estimate 0.700, not used", False),
    ]
    assert theta_short_lines(None, None) == []
    rng = np.random.default_rng(3)
    sims = {"pedestrian": rng.normal(0.9, 0.1, 200)}
    plot_theta_short(sims, {"pedestrian": None}, tmp_path / "bare.png")
    plot_theta_short(
        sims, {"pedestrian": None}, tmp_path / "off.png", estimate={"pedestrian": 1.19}
    )
    assert (tmp_path / "bare.png").read_bytes() != (tmp_path / "off.png").read_bytes()


def test_plot_theta_merge_is_a_deterministic_png(tmp_path):
    rng = np.random.default_rng(0)
    frame, tracklet = rng.normal(0.1, 0.1, 300), rng.normal(0.7, 0.1, 300)
    theta = estimate_theta_merge(frame, tracklet)
    a, b = tmp_path / "a" / "theta_merge.png", tmp_path / "b.png"
    plot_theta_merge(a, frame, tracklet, theta, title="MOTS20-02")
    plot_theta_merge(b, frame, tracklet, theta, title="MOTS20-02")
    image = cv2.imread(str(a))
    assert image.shape == (350, 600, 3)
    assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob("a/.*.tmp"))  # atomic write left no temporary behind
