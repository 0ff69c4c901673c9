"""The threshold plots of the paper: Fig. 4 (theta_short on the intra-frame similarity histogram)
and Fig. 5 (theta_merge between the intra-frame and intra-tracklet histograms).

Written atomically as PNG with matplotlib's Agg canvas (no pyplot state, no timestamp or version in
the file), so equal inputs give equal bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from remots.io.atomic import atomic_write_bytes


def _normal_pdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


def _save_png(fig: Figure, path) -> None:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    atomic_write_bytes(path, buf.getvalue())


def theta_short_lines(used: float | None, estimate: float | None) -> list[tuple[float, str, bool]]:
    """The vertical lines of one Fig. 4 panel as ``(x, legend label, is the gate in use)``.

    ``used`` is the theta_short Eq. (2) ran with (None: no gate), ``estimate`` what the data gave
    (None: fewer than two pairs, or not known). Where they differ (an estimate >= 1 switched off
    or replaced by ``tracker.theta_short_fallback``, a value set by hand) both are drawn, so a
    panel whose gate is off still shows why."""
    lines = []
    if used is not None:
        lines.append((float(used), f"theta_short = {used:.3f}", True))
    if estimate is not None and (used is None or not np.isclose(used, estimate)):
        why = " >= 1" if estimate >= 1 else ""
        effect = ": Eq. (2) off" if used is None else ", not used"
        lines.append((float(estimate), f"estimate {estimate:.3f}{why}{effect}", False))
    return lines


def plot_theta_short(sims, theta, path, *, title="intra-frame cosine similarity", estimate=None):
    """Histogram of intra-frame similarities with the fitted normal and theta_short (Fig. 4).

    ``sims`` / ``theta`` / ``estimate`` are one array and one float, or ``{label: array}`` /
    ``{label: float}`` (one panel per label, e.g. per class). ``estimate`` is what the data gave
    where it was not used (``theta_short_lines``). Written atomically as PNG (matplotlib Agg
    backend, no timestamp or version in the file, so equal inputs give equal bytes).
    """
    if not isinstance(sims, Mapping):
        sims, theta, estimate = {"": sims}, {"": theta}, {"": estimate}
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
                ax.plot(
                    x,
                    _normal_pdf(x, mu, sigma),
                    color="#1f4e79",
                    label=f"normal fit ({mu:.3f}, {sigma:.3f})",
                )
        used = theta.get(label) if theta is not None else None
        estimated = estimate.get(label) if estimate is not None else None
        for x, text, in_use in theta_short_lines(used, estimated):
            style = ("#c0392b", "--") if in_use else ("#7f7f7f", ":")
            ax.axvline(x, color=style[0], linestyle=style[1], label=text)
        if used is None and estimated is None and len(values) < 2:
            ax.plot([], [], " ", label="no estimate (fewer than 2 pairs): Eq. (2) off")
        ax.set_xlabel("cosine similarity")
        ax.set_ylabel("density")
        ax.set_title(f"{title} ({label})" if label else title)
        ax.legend(loc="upper left", fontsize=8)
    _save_png(fig, path)


def plot_theta_merge(
    path, intra_frame_sims, intra_tracklet_sims, theta_merge, *, title=None, bins=50
):
    """Fig. 5: the intra-frame and intra-tracklet similarity histograms (densities), their
    fitted normals, and theta_merge; written atomically as PNG (matplotlib Agg, no pyplot)."""
    a = np.asarray(intra_frame_sims, dtype=np.float64)
    b = np.asarray(intra_tracklet_sims, dtype=np.float64)
    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    edges = np.linspace(-1.0, 1.0, bins + 1)
    x = np.linspace(-1.0, 1.0, 400)
    for sims, label, color in (
        (a, "intra-frame (different objects)", "tab:red"),
        (b, "intra-tracklet (same object)", "tab:blue"),
    ):
        if len(sims) == 0:
            continue
        label = f"{label}, n={len(sims)}"
        ax.hist(sims, bins=edges, density=True, alpha=0.45, color=color, label=label)
        if len(sims) > 1 and sims.std() > 0:
            mu, sd = sims.mean(), sims.std()
            ax.plot(x, _normal_pdf(x, mu, sd), color=color)
    ax.axvline(theta_merge, color="k", linestyle="--", label=f"theta_merge = {theta_merge:.3f}")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    _save_png(fig, path)
