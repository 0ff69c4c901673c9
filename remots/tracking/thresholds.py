"""Thresholds found from the data (paper, sections 2.3 and 2.5), and their histogram plots.

theta_short (Eq. 2, Fig. 4) is estimated from the intra-frame cosine-similarity distribution;
theta_merge (Fig. 5) separates the intra-frame and intra-tracklet similarity histograms.
"""

from __future__ import annotations

# ----------------------------------------------------------------------------- theta_short
# (section 2.3, owned by the short-term tracker)


def intra_frame_similarities(features, frame_of_detection):
    """Cosine similarity of every pair of different masks of one frame, over all frames.

    Paper, section 2.3 and Fig. 4: after NMS the masks of one frame are different objects, so
    their similarities sample the different-object distribution without any ground truth.

    Args:
        features: ``(N, D)`` appearance features, one row per detection (normalised here).
        frame_of_detection: ``(N,)`` frame index of each detection.

    Returns:
        1-D float64 array of ``sum_t n_t (n_t - 1) / 2`` similarities, frame by frame, each frame's
        pairs in ``(i, j)``, i < j order of the rows.
    """
    import numpy as np

    features = np.asarray(features, dtype=np.float64)
    frame_of_detection = np.asarray(frame_of_detection)
    if features.ndim != 2 or len(features) != len(frame_of_detection):
        raise ValueError(
            f"features {features.shape} and frame_of_detection {frame_of_detection.shape} "
            "must be (N, D) and (N,)"
        )
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = features / np.where(norms > 0, norms, 1.0)
    out = []
    for t in np.unique(frame_of_detection):
        rows = unit[frame_of_detection == t]
        if len(rows) < 2:
            continue
        i, j = np.triu_indices(len(rows), k=1)
        out.append(np.einsum("kd,kd->k", rows[i], rows[j]))
    return np.concatenate(out) if out else np.zeros(0, np.float64)


def estimate_theta_short(sims, *, num_std=3.0):
    """theta_short of Eq. (2): ``mean + num_std * std`` of the intra-frame similarities.

    The reading of the paper implemented here. Fig. 4 fits a normal distribution to the
    histogram of intra-frame (different-object) cosine similarities and sets theta_short "at three
    standard deviations", with 99.7 % of the pairs within. Eq. (2) refuses a link when its distance
    exceeds ``1 - theta_short``, i.e. when its similarity falls under theta_short. For the gate to
    refuse different-object links the threshold must sit at the *upper* tail:
    ``theta_short = mean + 3 std``, so that (for a normal distribution) 99.87 % of different-object
    pairs (all of the 99.7 % within three std, and the lower tail) fall under it and are refused,
    while same-object pairs, more similar than that, may link. (``mean - 3 std`` would refuse almost
    nothing.) The value is not clipped: above 1 every appearance link is refused, which tells that
    the features do not separate objects. ``tracker.theta_short`` overrides the estimate.

    Args:
        sims: 1-D array of similarities (``intra_frame_similarities``), at least two.
        num_std: how many standard deviations above the mean.

    Returns:
        theta_short as a float.
    """
    import numpy as np

    sims = np.asarray(sims, dtype=np.float64).ravel()
    if len(sims) < 2:
        raise ValueError(
            f"theta_short needs at least 2 intra-frame similarities, got {len(sims)} "
            "(no frame holds two masks of the class): set tracker.theta_short"
        )
    return float(sims.mean() + num_std * sims.std())


def plot_theta_short(sims, theta, path, *, title="intra-frame cosine similarity"):
    """Histogram of intra-frame similarities with the fitted normal and theta_short (Fig. 4).

    ``sims`` / ``theta`` are one array and one float, or ``{label: array}`` / ``{label: float}``
    (one panel per label, e.g. per class). Written atomically as PNG (matplotlib Agg backend, no
    timestamp or version in the file, so equal inputs give equal bytes).
    """
    import io
    from collections.abc import Mapping

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from remots.io.atomic import atomic_write_bytes

    if not isinstance(sims, Mapping):
        sims, theta = {"": sims}, {"": theta}
    fig = Figure(figsize=(6 * max(1, len(sims)), 4), dpi=100)
    FigureCanvasAgg(fig)
    for k, (label, values) in enumerate(sims.items(), start=1):
        values = np.asarray(values, dtype=np.float64).ravel()
        ax = fig.add_subplot(1, max(1, len(sims)), k)
        if len(values):
            ax.hist(values, bins=50, density=True, color="#7aa6c2", label=f"{len(values)} pairs")
            mu, sigma = values.mean(), values.std()
            if sigma > 0:
                lo, hi = min(values.min(), mu - 4 * sigma), max(values.max(), mu + 4 * sigma)
                x = np.linspace(lo, hi, 200)
                pdf = np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
                ax.plot(x, pdf, color="#1f4e79", label=f"normal fit ({mu:.3f}, {sigma:.3f})")
        value = theta.get(label) if theta is not None else None
        if value is not None:
            ax.axvline(value, color="#c0392b", linestyle="--", label=f"theta_short = {value:.3f}")
        ax.set_xlabel("cosine similarity")
        ax.set_ylabel("density")
        ax.set_title(f"{title} ({label})" if label else title)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())


# ----------------------------------------------------------------------------- theta_merge
# (section 2.5, owned by the long-term merge)
