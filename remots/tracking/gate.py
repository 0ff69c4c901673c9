"""The appearance gate of Eq. (2), measured: which candidate links it passes and which it blocks.

The short-term tracker (paper, section 2.3) links masks of adjacent frames whose flow-warped IoU
is positive (Eq. 1) and whose cosine similarity reaches theta_short (Eq. 2). A gate is useful when
it passes the links of one object from frame to frame and blocks links between different objects
that overlap after warping (the ones the IoU alone would allow). With the objects' true
identities (used here only to score), ``gate_statistics`` counts both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from remots.io.detections import Detections
from remots.tracking.short_term import ShortTermParams, _costs_of_adjacent_frames


def candidate_links(
    detections: Detections,
    frames: Iterable[tuple[int, np.ndarray]] | None = None,
    *,
    flow_method: str | None = "dis",
    flow_kwargs: Mapping | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Every pair of masks of adjacent frames, of one class, with flow-warped IoU > 0: the links
    Eq. (1) allows, which Eq. (2) then gates.

    Args: as ``remots.tracking.short_term.track_short`` (``flow_method`` None: plain IoU).

    Returns:
        ``(L, 3)`` float64 rows ``(row in frame t-1, row in frame t, warped IoU)``.
    """
    params = ShortTermParams(
        use_appearance=False,
        flow_method=flow_method,
        flow_kwargs=dict(flow_kwargs or {}),
        progress=progress,
    )
    rows = []
    for prev, curr, w_short in _costs_of_adjacent_frames(
        frames, detections, None, params, desc="candidate links"
    ):
        if w_short is None:
            continue
        i, j = np.nonzero(np.isfinite(w_short))
        for a, b in zip(i.tolist(), j.tolist(), strict=True):
            rows.append((prev[a], curr[b], 1.0 - w_short[a, b]))
    return np.asarray(rows, np.float64).reshape(-1, 3)


def gate_statistics(
    features: np.ndarray,
    identity: np.ndarray,
    links: np.ndarray,
    theta_of_link: np.ndarray | float,
) -> dict[str, float | int]:
    """How Eq. (2) treats candidate links, scored with true identities.

    Args:
        features: ``(N, D)`` appearance features row k of detection k (normalised here).
        identity: ``(N,)`` true identity of each detection, -1 where unknown (no GT match).
        links: ``(L, 3)`` ``candidate_links`` rows (prev row, curr row, warped IoU).
        theta_of_link: theta_short of each link ``(L,)`` (its class's), or one float; a NaN or
            None-like value (no estimate) passes everything.

    Returns:
        ``num_true``: links between two detections of one identity; ``true_passed``: the share
        of them with similarity >= theta_short; ``num_wrong``: links between different objects
        (identities differ, at most one of them unknown); ``wrong_blocked``: the share of them
        with similarity < theta_short; plus the mean similarity of both kinds.
    """
    f = np.asarray(features, np.float64)
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    identity = np.asarray(identity)
    links = np.asarray(links, np.float64).reshape(-1, 3)
    a, b = links[:, 0].astype(np.int64), links[:, 1].astype(np.int64)
    sim = (f[a] * f[b]).sum(1)
    theta = np.broadcast_to(np.asarray(theta_of_link, np.float64), sim.shape)
    passes = np.where(np.isnan(theta), True, sim >= theta)
    ia, ib = identity[a], identity[b]
    true = (ia == ib) & (ia >= 0)
    wrong = (ia != ib) & ((ia >= 0) | (ib >= 0))
    return {
        "num_true": int(true.sum()),
        "true_passed": float(passes[true].mean()) if true.any() else float("nan"),
        "true_similarity": float(sim[true].mean()) if true.any() else float("nan"),
        "num_wrong": int(wrong.sum()),
        "wrong_blocked": float((~passes[wrong]).mean()) if wrong.any() else float("nan"),
        "wrong_similarity": float(sim[wrong].mean()) if wrong.any() else float("nan"),
    }
