"""A slow, literal reference of ``remots.tracking.merge.merge_tracklets`` for tests."""

from __future__ import annotations

import numpy as np

from remots.tracking.merge import _observations, _tracklet_classes


def merge_tracklets_bruteforce(
    features,
    tracklet_of_detection,
    frames,
    classes,
    *,
    theta_merge: float,
    theta_t: int = 15,
    num_tracklets: int | None = None,
) -> np.ndarray:
    """Slow literal reference of ``merge_tracklets`` (for tests; O(K^3 N^2)).

    Keeps each cluster as its list of observations and frame set, recomputes every pair's mean
    pairwise cosine distance and temporal distance from scratch at every step, and merges the
    closest admissible pair (ties: smallest representatives) while it is <= 1 - theta_merge.
    """
    obs = _observations(features, tracklet_of_detection, frames, classes, num_tracklets)
    f, tracklet, fr, cls, k = (
        obs.unit_features(),
        obs.tracklet,
        obs.frames,
        obs.classes,
        obs.num_tracklets,
    )
    _tracklet_classes(obs)  # the same error for a tracklet with two classes
    clusters: dict[int, dict] = {}
    for t in range(k):
        idx = np.flatnonzero(tracklet == t)
        if len(idx):
            clusters[t] = {
                "members": [t],
                "features": [f[i] for i in idx],
                "frames": {int(x) for x in fr[idx]},
                "class": int(cls[idx[0]]),
            }
    cut = 1.0 - float(theta_merge)
    while True:
        best = None
        keys = sorted(clusters)
        for p_i, p in enumerate(keys):
            for q in keys[p_i + 1 :]:
                cp, cq = clusters[p], clusters[q]
                if cp["class"] != cq["class"] or cp["frames"] & cq["frames"]:
                    continue
                gap = min(abs(x - y) for x in cp["frames"] for y in cq["frames"])
                if gap > theta_t:
                    continue
                dist = float(
                    np.mean([1.0 - float(u @ v) for u in cp["features"] for v in cq["features"]])
                )
                if best is None or dist < best[0]:
                    best = (dist, p, q)
        if best is None or best[0] > cut:
            break
        _, p, q = best
        absorbed = clusters.pop(q)
        clusters[p]["members"] += absorbed["members"]
        clusters[p]["features"] += absorbed["features"]
        clusters[p]["frames"] |= absorbed["frames"]
    labels = np.full(k, -1, np.int64)
    for label, p in enumerate(sorted(clusters)):
        labels[clusters[p]["members"]] = label
    return labels
