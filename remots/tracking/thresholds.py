"""Thresholds found from the data (paper, sections 2.3 and 2.5); their plots are in
``remots.viz.thresholds``.

theta_short (Eq. 2, Fig. 4) is estimated from the intra-frame cosine-similarity distribution;
theta_merge (Fig. 5) separates the intra-frame and intra-tracklet similarity histograms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

log = logging.getLogger(__name__)

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
    frame_of_detection = np.asarray(frame_of_detection)
    if np.asarray(features).ndim != 2 or len(features) != len(frame_of_detection):
        raise ValueError(
            f"features {np.shape(features)} and frame_of_detection {frame_of_detection.shape} "
            "must be (N, D) and (N,)"
        )
    return pairwise_similarities_within(features, frame_of_detection)


THETA_SHORT_STATISTICS = ("normal", "robust")


def estimate_theta_short(sims, *, num_std=3.0, statistic="normal"):
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

    ``statistic="robust"`` fits the same normal by its median and its median absolute deviation
    (``1.4826 * MAD`` estimates the std of a normal): ``median + num_std * 1.4826 * MAD``. Pairs
    of one frame are not always two objects: a duplicate or partial mask of one object that NMS
    kept, or two detections of one object in a crowd, is a same-object pair with a similarity far
    above the rest; a handful of them widens the moment estimate of the std, and with it
    theta_short, until true links fail Eq. (2). The median and the MAD ignore such a tail.

    Args:
        sims: 1-D array of similarities (``intra_frame_similarities``), at least two.
        num_std: how many standard deviations above the mean.
        statistic: ``normal`` (mean, std: the paper's fit) or ``robust`` (median, MAD).

    Returns:
        theta_short as a float.
    """
    sims = np.asarray(sims, dtype=np.float64).ravel()
    if len(sims) < 2:
        raise ValueError(
            f"theta_short needs at least 2 intra-frame similarities, got {len(sims)} "
            "(no frame holds two masks of the class): set tracker.theta_short"
        )
    if statistic == "normal":
        return float(sims.mean() + num_std * sims.std())
    if statistic == "robust":
        median = np.median(sims)
        return float(median + num_std * 1.4826 * np.median(np.abs(sims - median)))
    raise ValueError(f"statistic must be one of {THETA_SHORT_STATISTICS}, not {statistic!r}")


THETA_SHORT_PAIRS = ("class", "frame")


def theta_short_per_class(
    features: np.ndarray,
    frames: np.ndarray,
    classes: np.ndarray,
    *,
    override: float | Mapping[int, float | None] | None = None,
    num_std: float = 3.0,
    fallback: float | None = None,
    statistic: str = "normal",
    pairs: str = "class",
    min_pairs: int = 0,
) -> tuple[dict[int, float | None], dict[int, np.ndarray]]:
    """theta_short of each class present, and the intra-frame similarities it came from.

    Which intra-frame pairs the statistic is read from (``pairs``):

    - ``"class"``: pairs of masks of one class in one frame, one estimate per class (different
      classes never link, so the pairs a class's gate must refuse are of that class);
    - ``"frame"``: every pair of masks of one frame, whichever their classes, one estimate for
      every class: the paper's Fig. 4 ("intra-frame masks", MOTS20 has one class). A class with
      few masks per frame (pedestrians among cars: tens of pairs in a sequence, where mean +
      3 std is mostly sampling noise) is gated by the sequence's whole different-object
      distribution instead of being left without an estimate.

    With ``pairs="class"``, a class with fewer than ``min_pairs`` pairs of its own is read from
    every pair of its frames instead (when those are more): mean + 3 std of a few dozen pairs is
    mostly sampling noise (its standard error is about ``std * sqrt(5.5 / n)``: 0.06 for 34
    pairs of std 0.18), and one similar pair lifts the estimate over 1, which switches the gate
    off.

    Args:
        features: ``(N, D)`` appearance features, row k of detection k.
        frames, classes: ``(N,)`` frame index and class id of each detection.
        override: a float, or ``{class_id: float}``, replacing the estimate.
        num_std, statistic: see ``estimate_theta_short``.
        fallback: theta for a class with fewer than two intra-frame pairs, or whose estimate is
            not below 1 (mean + num_std * std >= 1: the encoder does not separate different
            objects, so Eq. (2) would refuse every link and every mask would become its own
            tracklet); None is no appearance gate. Either case is logged as a warning.
        pairs: ``"class"`` or ``"frame"``, see above.
        min_pairs: with ``pairs="class"``, the fewest pairs of its own a class is read from.

    Returns:
        ``{class_id: theta or None}`` and ``{class_id: similarities}`` (the pairs each class's
        estimate is read from: with ``pairs="frame"`` the same array for every class).
    """
    if pairs not in THETA_SHORT_PAIRS:
        raise ValueError(f"pairs must be one of {THETA_SHORT_PAIRS}, not {pairs!r}")
    features = np.asarray(features)
    frames, classes = np.asarray(frames), np.asarray(classes)
    thetas: dict[int, float | None] = {}
    sims_of: dict[int, np.ndarray] = {}
    # every pair of a frame: read by pairs="frame", or by a class with too few pairs of its own
    frame_pairs = intra_frame_similarities(features, frames) if pairs == "frame" else None
    for class_id in np.unique(classes).tolist():
        if pairs == "frame":
            sims = frame_pairs
        else:
            rows = classes == class_id
            sims = intra_frame_similarities(features[rows], frames[rows])
            if len(sims) < min_pairs:
                if frame_pairs is None:
                    frame_pairs = intra_frame_similarities(features, frames)
                if len(frame_pairs) > len(sims):
                    log.info(
                        "class %d: %d intra-frame pairs (< %d): theta_short read from the %d "
                        "pairs of every class in its frames",
                        class_id,
                        len(sims),
                        min_pairs,
                        len(frame_pairs),
                    )
                    sims = frame_pairs
        sims_of[class_id] = sims
        if override is not None:
            value = override.get(class_id) if isinstance(override, Mapping) else override
            thetas[class_id] = None if value is None else float(value)
        elif len(sims) >= 2:
            theta = estimate_theta_short(sims, num_std=num_std, statistic=statistic)
            if theta < 1.0:
                thetas[class_id] = theta
            else:
                log.warning(
                    "class %d: theta_short = mean + %g std = %.3f >= 1 would refuse every link "
                    "(the features do not separate different objects); using %s",
                    class_id,
                    num_std,
                    theta,
                    fallback,
                )
                thetas[class_id] = fallback
        else:
            log.warning(
                "class %d has %d intra-frame pairs: theta_short cannot be estimated, using %s",
                class_id,
                len(sims),
                fallback,
            )
            thetas[class_id] = fallback
    return thetas, sims_of


# ----------------------------------------------------------------------------- theta_merge
# (section 2.5, owned by the long-term merge)
#
# theta_merge (Fig. 5) is where the similarity histogram of *different* objects (pairs of masks
# of one class in one frame) and that of *the same* object (pairs of masks in one short
# tracklet) separate, measured with the inter-phase features. Clustering cuts at
# 1 - theta_merge (remots.tracking.merge).

THETA_MERGE_METHODS = ("min_error", "normal_crossing")


def pairwise_similarities_within(features, group_of_detection, *, max_pairs=None, rng=None):
    """Cosine similarities of every pair of detections that share a group, ``(P,)`` float64.

    With group = tracklet these are the intra-tracklet similarities (same object); with group =
    (frame, class) the intra-frame ones (different objects). Detections in group -1 are left
    out. Pairs ``i < j`` come group by group in increasing group id. When there are more than
    ``max_pairs``, a uniform sample of ``max_pairs`` of them is kept (drawn with ``rng``, a
    ``np.random.Generator``; seed 0 when None), in the same order.

    Args:
        features: ``(N, D)`` appearance features (normalised here).
        group_of_detection: ``(N,)`` int group of each detection.
    """
    features = np.asarray(features, dtype=np.float64)
    group = np.asarray(group_of_detection, dtype=np.int64)
    if features.ndim != 2 or group.shape != (len(features),):
        raise ValueError(
            f"features (N, D) and groups (N,) expected, got {features.shape} and {group.shape}"
        )
    keep = group >= 0
    features, group = features[keep], group[keep]
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    features = features / np.where(norms > 0, norms, 1.0)  # a zero feature has similarity 0
    order = np.argsort(group, kind="stable")
    _, starts, counts = np.unique(group[order], return_index=True, return_counts=True)
    parts = []
    for start, count in zip(starts, counts, strict=True):
        if count < 2:
            continue
        f = features[order[start : start + count]]
        parts.append((f @ f.T)[np.triu_indices(count, 1)])
    sims = np.concatenate(parts) if parts else np.zeros(0, np.float64)
    if max_pairs is not None and len(sims) > max_pairs:
        rng = np.random.default_rng(0) if rng is None else rng
        sims = sims[np.sort(rng.choice(len(sims), size=int(max_pairs), replace=False))]
    return np.clip(sims, -1.0, 1.0)


def intra_tracklet_similarities(features, tracklet_of_detection, *, max_pairs=None, rng=None):
    """Cosine similarities of pairs of detections in the same short tracklet (Fig. 5, the
    same-object histogram), ``(P,)``; see ``pairwise_similarities_within``."""
    return pairwise_similarities_within(
        features, tracklet_of_detection, max_pairs=max_pairs, rng=rng
    )


def estimate_theta_merge(intra_frame_sims, intra_tracklet_sims, *, method="min_error") -> float:
    """theta_merge: the similarity that separates different objects from the same object.

    Methods:
        ``"min_error"`` (default, no distributional assumption): the threshold t that minimises
        the misclassified mass of the two histograms, each normalised to 1,
        ``P_frame(sim >= t) + P_tracklet(sim < t)``, found exactly over every sample value. The
        error is constant between consecutive sample values; the midpoint of the best such
        interval is returned (the lowest one on ties).
        ``"normal_crossing"``: fit a normal to each histogram and return the point between the
        two means where the fitted densities are equal (the Bayes boundary for equal priors).
        When the densities do not cross between the means (very unequal spreads), the point
        equally many standard deviations from both means, ``(mu_f s_t + mu_t s_f)/(s_f + s_t)``.

    Args:
        intra_frame_sims: ``(P1,)`` similarities of pairs of different objects.
        intra_tracklet_sims: ``(P2,)`` similarities of pairs of the same object.
    """
    a = np.asarray(intra_frame_sims, dtype=np.float64).ravel()
    b = np.asarray(intra_tracklet_sims, dtype=np.float64).ravel()
    if len(a) == 0 or len(b) == 0:
        raise ValueError(
            f"theta_merge needs both histograms: {len(a)} intra-frame and {len(b)} "
            "intra-tracklet similarities"
        )
    if method not in THETA_MERGE_METHODS:
        raise ValueError(f"method must be one of {THETA_MERGE_METHODS}, not {method!r}")
    if b.mean() <= a.mean():
        log.warning(
            "intra-tracklet similarities (mean %.3f) are not above intra-frame ones (mean %.3f): "
            "the features do not separate objects; theta_merge is unreliable",
            b.mean(),
            a.mean(),
        )
    if method == "min_error":
        return _theta_min_error(a, b)
    return _theta_normal_crossing(a, b)


def _theta_min_error(a, b) -> float:
    a, b = np.sort(a), np.sort(b)
    values = np.unique(np.concatenate([a, b]))
    # threshold t in (values[i-1], values[i]]: P(a >= t) and P(b < t) as at t = values[i];
    # the last candidate (above every value) is values[-1] + 1
    candidates = np.append(values, values[-1] + 1.0)
    error = (len(a) - np.searchsorted(a, candidates, "left")) / len(a)
    error += np.searchsorted(b, candidates, "left") / len(b)
    i = int(np.argmin(error))
    if i == 0:
        return float(values[0])
    if i == len(values):
        return float(values[-1])
    return float((values[i - 1] + values[i]) / 2)


def _theta_normal_crossing(a, b) -> float:
    mu_a, mu_b = a.mean(), b.mean()
    s_a, s_b = a.std(), b.std()
    if s_a == 0 or s_b == 0:
        return float((mu_a + mu_b) / 2)
    lo, hi = min(mu_a, mu_b), max(mu_a, mu_b)
    qa, qb = 1 / (2 * s_a**2), 1 / (2 * s_b**2)
    # log N(t; mu_a, s_a) = log N(t; mu_b, s_b) as A t^2 + B t + C = 0
    coeffs = [
        qa - qb,
        -2 * mu_a * qa + 2 * mu_b * qb,
        mu_a**2 * qa - mu_b**2 * qb + np.log(s_a / s_b),
    ]
    roots = np.roots(coeffs) if abs(coeffs[0]) > 1e-12 else np.array([-coeffs[2] / coeffs[1]])
    roots = roots[np.isreal(roots)].real
    inside = roots[(roots >= lo) & (roots <= hi)]
    if len(inside):
        return float(inside[np.argmin(np.abs(inside - (lo + hi) / 2))])
    return float((mu_a * s_b + mu_b * s_a) / (s_a + s_b))
