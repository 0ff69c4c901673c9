"""The appearance gate of Eq. (2), measured: which candidate links it passes and which it blocks.

The short-term tracker (paper, section 2.3) links masks of adjacent frames whose flow-warped IoU
is positive (Eq. 1) and whose cosine similarity reaches theta_short (Eq. 2). A gate is useful when
it passes the links of one object from frame to frame and blocks links between different objects
that overlap after warping (the ones the IoU alone would allow). With the objects' true
identities (used here only to score), ``gate_statistics`` counts both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from remots.io.mots import Instance
from remots.tracking.short_term import _costs_of_adjacent_frames


def candidate_links(
    frames_iter: Iterable[tuple[int, np.ndarray]] | None,
    detections_by_frame: Sequence[Sequence[Instance]],
    *,
    flow_method: str | None = "dis",
    flow_kwargs: Mapping | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Every pair of masks of adjacent frames, of one class, with flow-warped IoU > 0: the links
    Eq. (1) allows, which Eq. (2) then gates.

    Args: as ``remots.tracking.short_term.track_short`` (``flow_method`` None: plain IoU).

    Returns:
        ``(L, 3)`` float64 rows ``(obj_id in frame t-1, obj_id in frame t, warped IoU)``.
    """
    use_flow = flow_method not in (None, "none")
    rows = []
    for prev, curr, w_short in _costs_of_adjacent_frames(
        frames_iter,
        detections_by_frame,
        None,
        flow_method=flow_method if use_flow else None,
        theta_short=None,
        use_appearance=False,
        use_flow=use_flow,
        min_iou=0.0,
        flow_kwargs=flow_kwargs,
        progress=progress,
        desc="candidate links",
    ):
        if w_short is None:
            continue
        i, j = np.nonzero(np.isfinite(w_short))
        for a, b in zip(i.tolist(), j.tolist(), strict=True):
            rows.append((prev[a].obj_id, curr[b].obj_id, 1.0 - w_short[a, b]))
    return np.asarray(rows, np.float64).reshape(-1, 3)


def gate_statistics(
    features: np.ndarray,
    identity: np.ndarray,
    links: np.ndarray,
    theta_of_link: np.ndarray | float,
) -> dict[str, float | int]:
    """How Eq. (2) treats candidate links, scored with true identities.

    Args:
        features: ``(N, D)`` appearance features by obj_id (normalised here).
        identity: ``(N,)`` true identity of each detection, -1 where unknown (no GT match).
        links: ``(L, 3)`` ``candidate_links`` rows (prev obj_id, curr obj_id, warped IoU).
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
