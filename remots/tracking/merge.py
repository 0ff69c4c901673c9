"""Long-term merging of short tracklets (paper, section 2.5, Eq. 3).

Short tracklets become long tracks by agglomerative clustering on a graph whose nodes are the
tracklets and whose edge weights are Eq. (3)::

    W_long[k1, k2] = inf                                   if k1 == k2
                     inf                                   if Distance(Pi_k1, Pi_k2) > theta_t
                     inf                                   if Pi_k1 and Pi_k2 share a frame
                     1/(N_k1 N_k2) sum_i sum_j (1 - cos(f_i^k1, f_j^k2))   otherwise

(and, ours, inf for tracklets of different classes: a car never continues a pedestrian).

Choices this module makes, where the paper leaves room:

* **Linkage.** The distance between two clusters is the mean pairwise cosine distance between
  all their members' observations, i.e. Eq. (3) applied to the clusters as if each were one
  tracklet. With L2-normalised features f this is ``1 - c_A . c_B`` where ``c_A`` is the mean of
  A's features: a distance between *centroids*, which is the paper's "centroid linkage". It is
  updated exactly on a merge as the observation-weighted average
  ``d(A u B, C) = (N_A d(A, C) + N_B d(B, C)) / (N_A + N_B)``.
* **Temporal constraints on clusters.** A cluster's frame set Pi is the union of its members'
  frame sets. ``Distance(Pi_A, Pi_B)`` is the smallest ``|i - j|`` over frames i of A and j of
  B (0 when they share a frame, 1 for adjacent frames). A pair is admissible when
  ``1 <= Distance <= theta_t``: no shared frame and a gap of at most theta_t frames. Both are
  re-checked against the union at every merge, which is exact and cheap because
  ``Distance(A u B, C) = min(Distance(A, C), Distance(B, C))``. The appearance distance is kept
  apart from the constraints, so a pair that was too far apart in time becomes admissible when
  one side grows towards the other (an inf in a single matrix would forbid it for ever).
  Consequence: in every output track, frames of different short tracklets never coincide,
  and consecutive frames are at most theta_t apart except across a hole that was already
  inside one short tracklet.
* **Cut.** The closest admissible pair is merged while its distance is <= ``1 - theta_merge``;
  clustering stops when no admissible pair is that close. Ties go to the pair of smallest
  (representative) tracklet indices, so the result is deterministic.

Implementation: dense (K, K) appearance and gap matrices with a nearest-neighbour cache per row
(the "generic" agglomerative algorithm): each merge costs O(K) vectorised work plus a full row
scan only for the rows whose nearest neighbour was one of the merged clusters. The merge
distances need not increase (a pair can become admissible only once one side has grown
towards the other in time), which the cache handles because every changed entry is compared
against it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from remots.io.detections import Detections
from remots.io.instances import Instance
from remots.tracking.thresholds import (
    estimate_theta_merge,
    intra_tracklet_similarities,
    pairwise_similarities_within,
)
from remots.tracking.tracks import results_from_tracks

log = logging.getLogger(__name__)

_BLOCK = 512  # rows per block where a (K, K) temporary would be too large
_ROWS = 8192  # detections per block where an (N, D) temporary would be too large
_COLUMNS = 64  # feature columns per block in the per-tracklet sums


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Observations:
    """The detections that belong to a tracklet, without copying the (N, D) features."""

    features: np.ndarray  # (N_all, D) as given (float32 stays float32)
    rows: np.ndarray  # (N,) rows of ``features`` with a tracklet
    inv_norm: np.ndarray  # (N,) float64 1 / ||f||
    tracklet: np.ndarray  # (N,)
    frames: np.ndarray  # (N,)
    classes: np.ndarray  # (N,)
    num_tracklets: int

    def unit_features(self) -> np.ndarray:
        """``(N, D)`` float64 L2-normalised features (a copy; for the small reference)."""
        return self.features[self.rows].astype(np.float64) * self.inv_norm[:, None]


def _observations(features, tracklet_of_detection, frames, classes, num_tracklets):
    features = np.asarray(features)
    if not np.issubdtype(features.dtype, np.floating):
        features = features.astype(np.float64)
    tracklet = np.asarray(tracklet_of_detection, dtype=np.int64)
    frames = np.asarray(frames, dtype=np.int64)
    classes = np.asarray(classes, dtype=np.int64)
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {features.shape}")
    n = len(features)
    named = (("tracklet_of_detection", tracklet), ("frames", frames), ("classes", classes))
    for name, arr in named:
        if arr.shape != (n,):
            raise ValueError(f"{name} must be ({n},) like the features, got shape {arr.shape}")
    if (tracklet < -1).any():
        raise ValueError("tracklet_of_detection holds ids >= 0, or -1 for no tracklet")
    rows = np.flatnonzero(tracklet >= 0)
    k_min = int(tracklet.max()) + 1 if len(rows) else 0
    if num_tracklets is None:
        num_tracklets = k_min
    elif num_tracklets < k_min:
        raise ValueError(f"num_tracklets={num_tracklets} but tracklet id {k_min - 1} occurs")
    squared = np.zeros(len(rows), np.float64)
    for lo in range(0, len(rows), _ROWS):  # blocks: no (N, D) temporary
        f = features[rows[lo : lo + _ROWS]].astype(np.float64, copy=False)
        squared[lo : lo + _ROWS] = np.einsum("ij,ij->i", f, f)
    if not (np.isfinite(squared).all() and (squared > 0).all()):
        raise ValueError("every feature vector must be finite and non-zero")
    return _Observations(
        features=features,
        rows=rows,
        inv_norm=1.0 / np.sqrt(squared),
        tracklet=tracklet[rows],
        frames=frames[rows],
        classes=classes[rows],
        num_tracklets=int(num_tracklets),
    )


def _tracklet_classes(obs: _Observations) -> np.ndarray:
    """Class of each tracklet, ``(K,)``, -1 for a tracklet without observations."""
    tracklet, classes = obs.tracklet, obs.classes
    out = np.full(obs.num_tracklets, -1, np.int64)
    out[tracklet] = classes
    mixed = np.flatnonzero(out[tracklet] != classes)
    if len(mixed):
        k = int(tracklet[mixed[0]])
        raise ValueError(f"tracklet {k} mixes classes {sorted(set(classes[tracklet == k]))}")
    return out


def _tracklet_feature_sums(obs: _Observations) -> tuple[np.ndarray, np.ndarray]:
    """Per-tracklet sums of L2-normalised features ``(K, D)`` float64 and counts ``(K,)``."""
    order = np.argsort(obs.tracklet, kind="stable")
    ids, starts, counts = np.unique(obs.tracklet[order], return_index=True, return_counts=True)
    sums = np.zeros((obs.num_tracklets, obs.features.shape[1]), np.float64)
    rows, scale = obs.rows[order], obs.inv_norm[order, None]
    if len(ids):
        for c0 in range(0, sums.shape[1], _COLUMNS):  # column blocks: no (N, D) temporary
            block = obs.features[rows, c0 : c0 + _COLUMNS] * scale
            sums[ids, c0 : c0 + _COLUMNS] = np.add.reduceat(block, starts, axis=0)
    n_obs = np.zeros(obs.num_tracklets, np.int64)
    n_obs[ids] = counts
    return sums, n_obs


def _mirror_upper_triangle(a: np.ndarray) -> None:
    """Make a square matrix exactly symmetric, in place, by copying its upper triangle down."""
    for lo in range(0, len(a), _BLOCK):
        hi = lo + _BLOCK
        a[lo:hi, :lo] = a[:lo, lo:hi].T
        block = a[lo:hi, lo:hi]
        lower = np.tril_indices(len(block), -1)
        block[lower] = block.T[lower]


def tracklet_appearance_distance(
    features, tracklet_of_detection, classes, *, num_tracklets=None
) -> tuple[np.ndarray, np.ndarray]:
    """The appearance term of Eq. (3) for every pair of tracklets, without the temporal terms.

    ``A[k1, k2] = 1/(N_k1 N_k2) sum_i sum_j (1 - f_i . f_j)`` over L2-normalised features,
    computed as ``1 - S S^T / (N N^T)`` with ``S (K, D)`` the per-tracklet feature sums.
    inf on the diagonal, between different classes and for tracklets without observations.

    Args:
        features: ``(N, D)`` one appearance feature per detection.
        tracklet_of_detection: ``(N,)`` tracklet id 0..K-1 of each detection, -1 for none.
        classes: ``(N,)`` class id of each detection.

    Returns:
        ``A (K, K)`` float64 and the observation counts ``N (K,)`` int64.
    """
    frames = np.zeros(len(np.asarray(tracklet_of_detection)), np.int64)
    obs = _observations(features, tracklet_of_detection, frames, classes, num_tracklets)
    return _appearance_distance(obs)


def _appearance_distance(obs: _Observations) -> tuple[np.ndarray, np.ndarray]:
    sums, n_obs = _tracklet_feature_sums(obs)
    tracklet_class = _tracklet_classes(obs)
    k = obs.num_tracklets
    appearance = sums @ sums.T  # in place from here on: a (K, K) float64 is the peak memory
    weight = np.where(n_obs > 0, n_obs, 1).astype(np.float64)
    appearance /= weight[:, None]
    appearance /= weight[None, :]
    np.subtract(1.0, appearance, out=appearance)
    _mirror_upper_triangle(appearance)  # BLAS and the two divisions round (i, j), (j, i) apart
    for lo in range(0, k, _BLOCK):
        blocked = tracklet_class[lo : lo + _BLOCK, None] != tracklet_class[None, :]
        blocked |= (n_obs[lo : lo + _BLOCK] == 0)[:, None] | (n_obs == 0)[None, :]
        appearance[lo : lo + _BLOCK][blocked] = np.inf
    np.fill_diagonal(appearance, np.inf)
    return appearance, n_obs


def tracklet_frame_gaps(
    tracklet_of_detection, frames, *, num_tracklets=None, cap: int | None = None
) -> np.ndarray:
    """``Distance(Pi_k1, Pi_k2)`` of Eq. (3) for every pair of tracklets, ``(K, K)`` int.

    The smallest ``|i - j|`` over frames i of one tracklet and j of the other: 0 when they share
    a frame, 1 for adjacent frames. A tracklet's frames are split into runs of consecutive
    frames; the distance of two runs ``[s1, e1]``, ``[s2, e2]`` is ``max(0, s2 - e1, s1 - e2)``
    and a tracklet pair takes the minimum over its runs (``np.minimum.reduceat``). Values are
    clipped at ``cap`` (when given) so that a small integer type holds them; tracklets without
    observations get ``cap`` (or the largest value of the type) against every other.
    """
    tracklet = np.asarray(tracklet_of_detection, dtype=np.int64)
    frames = np.asarray(frames, dtype=np.int64)
    present = tracklet >= 0
    tracklet, frames = tracklet[present], frames[present]
    k = int(tracklet.max()) + 1 if len(tracklet) else 0
    if num_tracklets is None:
        num_tracklets = k
    dtype = np.int16 if cap is not None and cap < np.iinfo(np.int16).max else np.int64
    far = cap if cap is not None else np.iinfo(np.int64).max
    gaps = np.full((num_tracklets, num_tracklets), far, dtype)
    if len(tracklet) == 0:
        np.fill_diagonal(gaps, 0)
        return gaps
    pairs = np.unique(np.stack([tracklet, frames], axis=1), axis=0)  # sorted by tracklet, frame
    t_of, f_of = pairs[:, 0], pairs[:, 1]
    new_run = np.ones(len(pairs), bool)
    new_run[1:] = (t_of[1:] != t_of[:-1]) | (f_of[1:] != f_of[:-1] + 1)
    run_start = np.flatnonzero(new_run)
    run_end = np.append(run_start[1:], len(pairs)) - 1
    s, e, run_tracklet = f_of[run_start], f_of[run_end], t_of[run_start]
    ids, first_run = np.unique(run_tracklet, return_index=True)
    first_run = np.append(first_run, len(s))
    # blocks of tracklets keep the (runs x runs) temporaries small
    for lo in range(0, len(ids), _BLOCK):
        hi = min(lo + _BLOCK, len(ids))
        r0, r1 = first_run[lo], first_run[hi]
        run_gap = np.maximum(s[None, :] - e[r0:r1, None], s[r0:r1, None] - e[None, :])
        np.maximum(run_gap, 0, out=run_gap)
        if cap is not None:
            np.minimum(run_gap, cap, out=run_gap)
        rows = np.minimum.reduceat(run_gap, first_run[lo:hi] - r0, axis=0)
        gaps[ids[lo:hi, None], ids[None, :]] = np.minimum.reduceat(rows, first_run[:-1], axis=1)
    np.fill_diagonal(gaps, 0)
    return gaps


# ----------------------------------------------------------------------------- Eq. (3)


@dataclass(frozen=True)
class LongTermDistance:
    """W_long of Eq. (3) between the short tracklets of a sequence, kept as its two factors.

    The clustering updates the appearance term (centroid linkage) and the temporal terms (union
    of frame sets) separately, so that a pair too far apart in time becomes admissible when one
    side grows towards the other; ``matrix()`` puts them together as Eq. (3) writes them.

    appearance: ``(K, K)`` mean pairwise cosine distance between the tracklets' observations
        (inf on the diagonal, between classes and for tracklets without observations).
    gaps: ``(K, K)`` smallest frame distance ``Distance(Pi_k1, Pi_k2)``, 0 for a shared frame,
        capped at ``theta_t + 1``.
    n_obs: ``(K,)`` observations per tracklet.
    theta_t: the largest admissible gap in frames.
    """

    appearance: np.ndarray
    gaps: np.ndarray
    n_obs: np.ndarray
    theta_t: int

    def matrix(self) -> np.ndarray:
        """W_long, ``(K, K)`` float64: the appearance distance where ``1 <= gap <= theta_t``, inf
        elsewhere (a shared frame, a gap over theta_t, k1 == k2, another class)."""
        admissible = (self.gaps >= 1) & (self.gaps <= self.theta_t)
        return np.where(admissible, self.appearance, np.inf)


def long_term_distance(
    features, tracklet_of_detection, frames, classes, *, theta_t: int = 15, num_tracklets=None
) -> LongTermDistance:
    """W_long of Eq. (3) between short tracklets.

    Mean pairwise cosine distance between the two tracklets' observations; inf for k1 == k2,
    for a temporal gap over ``theta_t`` frames, for any shared frame, and (ours) for tracklets
    of different classes.

    Args:
        features: ``(N, D)`` appearance feature of each detection (normalised here).
        tracklet_of_detection: ``(N,)`` short tracklet 0..K-1 of each detection, -1 for none.
        frames: ``(N,)`` 0-based frame of each detection.
        classes: ``(N,)`` class id of each detection.
        theta_t: the largest admissible gap in frames (paper: 15).
        num_tracklets: K, when some trailing tracklet ids have no detection.
    """
    obs = _observations(features, tracklet_of_detection, frames, classes, num_tracklets)
    appearance, n_obs = _appearance_distance(obs)
    gaps = tracklet_frame_gaps(
        obs.tracklet, obs.frames, num_tracklets=obs.num_tracklets, cap=theta_t + 1
    )
    return LongTermDistance(appearance, gaps, n_obs, int(theta_t))


# ----------------------------------------------------------------------------- clustering


def constrained_centroid_linkage(
    appearance: np.ndarray,
    gaps: np.ndarray,
    n_obs: np.ndarray,
    *,
    theta_t: int,
    cut: float,
    copy: bool = True,
) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Agglomerative clustering with centroid linkage under the temporal constraints of Eq. (3).

    Args:
        appearance: ``(K, K)`` mean pairwise cosine distance between tracklets (inf = never).
        gaps: ``(K, K)`` smallest frame distance between tracklets (0 = they share a frame).
        n_obs: ``(K,)`` observations per tracklet (the weights of the centroid update).
        theta_t: largest admissible gap in frames.
        cut: merge only pairs at distance <= cut (``1 - theta_merge``).
        copy: False lets the function work in ``appearance`` and ``gaps`` (saves two (K, K)).

    Returns:
        ``root (K,)``: the smallest tracklet index of each tracklet's cluster, and the merges
        in order as ``(kept, absorbed, distance)`` with ``kept < absorbed``.
    """
    k = len(n_obs)
    d = np.array(appearance, dtype=np.float64, copy=copy)
    g = np.array(gaps, copy=copy)
    n = np.asarray(n_obs, dtype=np.float64).copy()
    parent = np.arange(k)
    merges: list[tuple[int, int, float]] = []
    if k < 2:
        return parent, merges

    def admissible(rows):
        return (rows >= 1) & (rows <= theta_t)

    best = np.empty(k, np.int64)
    best_val = np.empty(k, np.float64)
    for lo in range(0, k, _BLOCK):
        e = np.where(admissible(g[lo : lo + _BLOCK]), d[lo : lo + _BLOCK], np.inf)
        best[lo : lo + _BLOCK] = e.argmin(axis=1)
        best_val[lo : lo + _BLOCK] = e[np.arange(len(e)), best[lo : lo + _BLOCK]]
    while True:
        i = int(best_val.argmin())
        dist = float(best_val[i])
        if not dist <= cut:  # also stops on inf
            break
        j = int(best[i])
        a, b = (i, j) if i < j else (j, i)
        merges.append((a, b, dist))
        # exact centroid update of the appearance distance, union of the frame sets
        d[a] = (n[a] * d[a] + n[b] * d[b]) / (n[a] + n[b])
        d[b] = np.inf
        d[:, b] = np.inf
        d[a, a] = np.inf
        d[:, a] = d[a]
        np.minimum(g[a], g[b], out=g[a])
        g[:, a] = g[a]
        n[a] += n[b]
        n[b] = 0
        parent[b] = a
        row_a = np.where(admissible(g[a]), d[a], np.inf)
        best[a] = row_a.argmin()
        best_val[a] = row_a[best[a]]
        best_val[b] = np.inf
        stale = np.flatnonzero((best == a) | (best == b))
        stale = stale[(stale != a) & (stale != b)]
        if len(stale):
            sub = np.where(admissible(g[stale]), d[stale], np.inf)
            best[stale] = sub.argmin(axis=1)
            best_val[stale] = sub[np.arange(len(stale)), best[stale]]
        better = (row_a < best_val) | ((row_a == best_val) & (a < best))
        better[a] = better[b] = False
        best[better] = a
        best_val[better] = row_a[better]
    root = parent.copy()
    for t in range(k):  # parent[t] <= t, so one pass in index order resolves every chain
        root[t] = root[parent[t]]
    return root, merges


def canonical_labels(root: np.ndarray, n_obs: np.ndarray) -> np.ndarray:
    """Track label per tracklet: 0, 1, ... in order of each cluster's smallest tracklet index;
    -1 for tracklets without observations."""
    labels = np.full(len(root), -1, np.int64)
    present = np.asarray(n_obs) > 0
    # roots are the smallest member index, so sorted unique roots are already in that order
    labels[present] = np.unique(root[present], return_inverse=True)[1]
    return labels


def merge_tracklets(
    features,
    tracklet_of_detection,
    frames,
    classes,
    *,
    theta_merge: float,
    theta_t: int = 15,
    num_tracklets: int | None = None,
    return_merges: bool = False,
):
    """Merge short tracklets into long tracks (section 2.5): clustering on W_long of Eq. (3)
    with centroid linkage, cut at ``1 - theta_merge`` (see the module docstring for the exact
    linkage and constraint rules).

    Args:
        features: ``(N, D)`` appearance feature per detection (inter-phase encoder).
        tracklet_of_detection: ``(N,)`` short tracklet id 0..K-1, -1 for a detection in none.
        frames: ``(N,)`` 0-based frame of each detection.
        classes: ``(N,)`` class id of each detection; a tracklet has one class.
        theta_merge: the similarity threshold; pairs merge at cosine distance <= 1 - theta_merge.
        theta_t: largest admissible gap in frames between a cluster and the next (paper: 15).
        num_tracklets: K, when trailing tracklet ids have no detection.
        return_merges: also return the merges ``(kept, absorbed, distance)`` in order.

    Returns:
        ``track_of_tracklet (K,)`` int64: long-track label 0..M-1 of each tracklet (numbered by
        smallest member tracklet), -1 for a tracklet with no detection.
    """
    w_long = long_term_distance(
        features,
        tracklet_of_detection,
        frames,
        classes,
        theta_t=theta_t,
        num_tracklets=num_tracklets,
    )
    root, merges = constrained_centroid_linkage(
        w_long.appearance,
        w_long.gaps,
        w_long.n_obs,
        theta_t=theta_t,
        cut=1.0 - float(theta_merge),
        copy=False,
    )
    labels = canonical_labels(root, w_long.n_obs)
    log.debug(
        "merged %d tracklets into %d tracks (%d merges)", len(root), labels.max() + 1, len(merges)
    )
    return (labels, merges) if return_merges else labels


# ----------------------------------------------------------------------------- one sequence


@dataclass
class MergeResult:
    """What merging one sequence produced (frames 0-based)."""

    results: list[Instance]  # final tracks, canonical order (frame, obj_id)
    track_of_tracklet: np.ndarray  # (K,) long-track label of each short tracklet, -1 if empty
    obj_id_of_track: dict[int, int]  # long-track label -> written obj_id
    theta_merge: float
    theta_merge_source: str  # "override" or "estimated (<method>)"
    merges: list[tuple[int, int, float]]
    intra_frame_sims: np.ndarray = field(repr=False)
    intra_tracklet_sims: np.ndarray = field(repr=False)


def intra_frame_groups(frames: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Group id per detection for the intra-frame histogram: one group per (frame, class), so
    that the different-object pairs are the ones the merge could confuse (same class)."""
    frames, classes = np.asarray(frames, np.int64), np.asarray(classes, np.int64)
    if len(frames) == 0:
        return frames
    return frames * (int(classes.max()) + 1) + classes


@dataclass(frozen=True)
class MergeParams:
    """How one sequence's short tracklets are merged (section 2.5).

    theta_t: largest gap in frames one join may span (paper: 15).
    theta_merge: the similarity threshold; None estimates it (``method``) from the intra-frame and
        intra-tracklet similarities of the sequence (Fig. 5).
    method: ``estimate_theta_merge``'s method.
    max_pairs: subsample each Fig. 5 histogram to this many pairs (None: all).
    """

    theta_t: int = 15
    theta_merge: float | None = None
    method: str = "min_error"
    max_pairs: int | None = None


def fig5_similarities(
    features, detections: Detections, tracklet_of_detection, *, max_pairs=None, rng=None
) -> tuple[np.ndarray, np.ndarray]:
    """The two histograms of Fig. 5 over the detections in a tracklet: intra-frame similarities
    (pairs of one class in one frame: different objects the merge could confuse) and
    intra-tracklet similarities (pairs in one short tracklet: the same object)."""
    tracklet = np.asarray(tracklet_of_detection, dtype=np.int64)
    frame_groups = intra_frame_groups(detections.frames, detections.classes)
    groups = np.where(tracklet >= 0, frame_groups, -1)
    rng = np.random.default_rng(0) if rng is None else rng
    intra_frame = pairwise_similarities_within(features, groups, max_pairs=max_pairs, rng=rng)
    intra_tracklet = intra_tracklet_similarities(features, tracklet, max_pairs=max_pairs, rng=rng)
    return intra_frame, intra_tracklet


def choose_theta_merge(
    intra_frame: np.ndarray, intra_tracklet: np.ndarray, params: MergeParams
) -> tuple[float, str]:
    """theta_merge and where it came from: ``params.theta_merge`` when set, else estimated from
    the Fig. 5 histograms; when one is empty (an empty sequence, one object per frame, tracklets of
    one mask each) no boundary can be read from the data and nothing is merged (theta 1)."""
    if params.theta_merge is not None:
        return float(params.theta_merge), "override"
    if len(intra_frame) == 0 or len(intra_tracklet) == 0:
        log.warning(
            "cannot estimate theta_merge from %d intra-frame and %d intra-tracklet "
            "similarity pairs: no merging (set merge.theta_merge to merge anyway)",
            len(intra_frame),
            len(intra_tracklet),
        )
        return 1.0, "no estimate (too few similarity pairs): no merging"
    theta = estimate_theta_merge(intra_frame, intra_tracklet, method=params.method)
    return float(theta), f"estimated ({params.method})"


def _check_one_detection_per_frame(tracklet: np.ndarray, frames: np.ndarray) -> None:
    in_tracklet = tracklet >= 0
    pairs = np.stack([tracklet[in_tracklet], frames[in_tracklet]], axis=1)
    _, first, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        k, t = pairs[first[np.argmax(counts > 1)]]
        raise ValueError(f"short tracklet {k} has two detections in frame index {t}")


def merge_short_tracklets(
    detections: Detections,
    tracklet_of_detection,
    features,
    params: MergeParams,
    *,
    rng: np.random.Generator | None = None,
) -> MergeResult:
    """Merge the short tracklets of one sequence into long tracks (section 2.5): theta_merge
    from the Fig. 5 histograms, clustering on Eq. (3) (``merge_tracklets``), MOTS results.

    Args:
        detections: the sequence's detections; row k is detection k.
        tracklet_of_detection: ``(N,)`` short tracklet of each detection, -1 for none (left out
            of the results).
        features: ``(N, D)`` appearance features, row k of detection k.
        params: theta_t, theta_merge (or how to estimate it), histogram sampling.
        rng: draws the histogram samples (seed 0 when None).

    Raises:
        ValueError: a tracklet with two detections in one frame, or with two classes.
    """
    tracklet = np.asarray(tracklet_of_detection, dtype=np.int64)
    features = np.asarray(features)
    if len(tracklet) != len(detections) or len(features) != len(detections):
        raise ValueError(
            f"{len(detections)} detections but {len(tracklet)} tracklet ids and "
            f"{len(features)} features"
        )
    _check_one_detection_per_frame(tracklet, detections.frames)
    intra_frame, intra_tracklet = fig5_similarities(
        features, detections, tracklet, max_pairs=params.max_pairs, rng=rng
    )
    theta_merge, source = choose_theta_merge(intra_frame, intra_tracklet, params)
    k = int(tracklet.max()) + 1 if (tracklet >= 0).any() else 0
    track_of_tracklet, merges = np.zeros(0, np.int64), []
    if k:
        track_of_tracklet, merges = merge_tracklets(
            features,
            tracklet,
            detections.frames,
            detections.classes,
            theta_merge=theta_merge,
            theta_t=params.theta_t,
            num_tracklets=k,
            return_merges=True,
        )
    track = np.where(tracklet >= 0, track_of_tracklet[np.maximum(tracklet, 0)], -1)
    results, obj_id_of_track = results_from_tracks(detections, track)
    return MergeResult(
        results=results,
        track_of_tracklet=track_of_tracklet,
        obj_id_of_track=obj_id_of_track,
        theta_merge=theta_merge,
        theta_merge_source=source,
        merges=merges,
        intra_frame_sims=intra_frame,
        intra_tracklet_sims=intra_tracklet,
    )
