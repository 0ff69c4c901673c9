"""How well appearance features separate identities: rank-1 / mAP retrieval and triplet accuracy.

Plain numpy over L2-normalised features; used by validation, tests and
``benchmarks/measure_encoder_phases.py``.
"""

from __future__ import annotations

import numpy as np


def retrieval_metrics(
    features: np.ndarray,
    identities: np.ndarray,
    frames: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    min_frame_gap: int = 10,
) -> dict[str, float]:
    """Rank-1 and mean average precision, every mask as a query against its sequence.

    features: ``(N, D)`` L2-normalised; identities, frames, groups (sequence index): ``(N,)``.
    The gallery of query i is every other mask of its group, except masks of the same identity
    fewer than ``min_frame_gap`` frames away (neighbouring frames look alike and would make
    retrieval trivial). Queries with no true match in their gallery are skipped.
    Returns ``{"rank1", "mAP", "num_queries"}``.
    """
    features = np.asarray(features, np.float64)
    identities = np.asarray(identities)
    frames = np.asarray(frames)
    groups = np.zeros(len(features), np.int64) if groups is None else np.asarray(groups)
    similarity = features @ features.T
    rank1, aps = [], []
    for i in range(len(features)):
        same_id = identities == identities[i]
        gallery = (groups == groups[i]) & ~(same_id & (np.abs(frames - frames[i]) < min_frame_gap))
        gallery[i] = False
        match = same_id[gallery]
        if not match.any():
            continue
        order = np.argsort(-similarity[i, gallery], kind="stable")
        hits = match[order]
        rank1.append(float(hits[0]))
        cum = np.cumsum(hits)
        ranks = np.flatnonzero(hits) + 1
        aps.append(float(np.mean(cum[hits] / ranks)))
    if not aps:
        return {"rank1": float("nan"), "mAP": float("nan"), "num_queries": 0}
    return {"rank1": float(np.mean(rank1)), "mAP": float(np.mean(aps)), "num_queries": len(aps)}


def sample_evaluation_triplets(
    identities: np.ndarray,
    frames: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    num_triplets: int,
    rng: np.random.Generator,
    min_frame_gap: int = 10,
) -> np.ndarray:
    """``(T, 3)`` index triplets (anchor, positive, negative) for triplet accuracy: positive of
    the anchor's identity at least ``min_frame_gap`` frames away, negative another identity of
    the same group present in the anchor's frame when one is (the hard case for association),
    else anywhere in the group."""
    identities = np.asarray(identities)
    frames = np.asarray(frames)
    groups = np.zeros(len(identities), np.int64) if groups is None else np.asarray(groups)
    out = []
    candidates = rng.permutation(len(identities))
    for a in np.resize(candidates, max(num_triplets * 4, len(candidates))):
        same_group = groups == groups[a]
        far = np.abs(frames - frames[a]) >= min_frame_gap
        pos = np.flatnonzero(same_group & (identities == identities[a]) & far)
        others = same_group & (identities != identities[a])
        neg = np.flatnonzero(others & (frames == frames[a]))
        if len(neg) == 0:
            neg = np.flatnonzero(others)
        if len(pos) == 0 or len(neg) == 0:
            continue
        out.append((a, rng.choice(pos), rng.choice(neg)))
        if len(out) == num_triplets:
            break
    return np.asarray(out, np.int64).reshape(-1, 3)


def triplet_accuracy(features: np.ndarray, triplets: np.ndarray) -> float:
    """Fraction of triplets with cos(a, p) > cos(a, n); features ``(N, D)`` L2-normalised,
    triplets ``(T, 3)``."""
    if len(triplets) == 0:
        return float("nan")
    f = np.asarray(features, np.float64)
    a, p, n = f[triplets[:, 0]], f[triplets[:, 1]], f[triplets[:, 2]]
    return float(np.mean((a * p).sum(1) > (a * n).sum(1)))
