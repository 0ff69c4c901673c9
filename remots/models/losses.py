"""Losses and schedules of the re-ID recipe the paper takes from Luo et al. (section 2.2, 2.6)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR


def triplet_distances(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, *, distance: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """d(a, p) and d(a, n), each ``(B,)``, for features ``(B, D)``.

    ``euclidean``: ||a - p||_2; ``cosine``: 1 - a.p / (||a|| ||p||), the distance of Eq. (1).
    """
    if distance == "euclidean":
        return (anchor - positive).pow(2).sum(1).clamp_min(1e-12).sqrt(), (anchor - negative).pow(
            2
        ).sum(1).clamp_min(1e-12).sqrt()
    if distance == "cosine":
        a = F.normalize(anchor, dim=1)
        return 1 - (a * F.normalize(positive, dim=1)).sum(1), 1 - (
            a * F.normalize(negative, dim=1)
        ).sum(1)
    raise ValueError(f"distance must be 'euclidean' or 'cosine', not {distance!r}")


def triplet_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    *,
    margin: float = 0.3,
    distance: str = "euclidean",
) -> torch.Tensor:
    """The triplet loss (Hermans et al., the paper's [1]): mean of max(0, d(a,p) - d(a,n) + m).

    anchor, positive, negative: ``(B, D)`` features. Returns a scalar.
    """
    d_ap, d_an = triplet_distances(anchor, positive, negative, distance=distance)
    return F.relu(d_ap - d_an + margin).mean()


def pairwise_distances(features: torch.Tensor, *, distance: str) -> torch.Tensor:
    """``(B, B)`` distances between the rows of ``features (B, D)``: ``euclidean`` or
    ``cosine`` (1 - cos, the distance of Eq. (1))."""
    if distance == "euclidean":
        sq = features.pow(2).sum(1)
        d2 = sq[:, None] + sq[None, :] - 2 * features @ features.T
        return d2.clamp_min(1e-12).sqrt()
    if distance == "cosine":
        f = F.normalize(features, dim=1)
        return 1 - f @ f.T
    raise ValueError(f"distance must be 'euclidean' or 'cosine', not {distance!r}")


def batch_hard_triplet_loss(
    features: torch.Tensor,
    positive_mask: torch.Tensor,
    negative_mask: torch.Tensor,
    *,
    margin: float = 0.3,
    distance: str = "euclidean",
) -> dict[str, torch.Tensor]:
    """Batch-hard triplet loss (Hermans et al., the mining of Luo et al.'s re-ID baseline) over
    the pairs a batch *knows*: every anchor is paired with its farthest positive and its closest
    negative, and ``max(0, d(a, p_hard) - d(a, n_hard) + margin)`` is averaged over the anchors
    that have both.

    Negatives are only what is known to be different (ReMOTS' training data has no identities on
    the target videos): GT identities of the training videos, other detections of the anchor's
    frame (intra-frame, section 2.2), temporally overlapping short tracklets (section 2.4). A pair
    in neither mask is never used.

    Args:
        features: ``(B, D)``.
        positive_mask: ``(B, B)`` bool, True where row j is the same object as anchor i (the
            diagonal is ignored).
        negative_mask: ``(B, B)`` bool, True where row j is known to be another object.
        margin, distance: as ``triplet_loss``.

    Returns:
        ``{"loss": scalar, "d_ap": (B,), "d_an": (B,), "valid": (B,) bool}``; d_ap / d_an of an
        anchor without a positive or a negative are 0 / inf, and the loss is 0 (with a graph)
        when no anchor is valid.
    """
    b = len(features)
    if positive_mask.shape != (b, b) or negative_mask.shape != (b, b):
        raise ValueError(
            f"masks {tuple(positive_mask.shape)} / {tuple(negative_mask.shape)} for {b} features"
        )
    eye = torch.eye(b, dtype=torch.bool, device=features.device)
    positive_mask = positive_mask.bool() & ~eye
    negative_mask = negative_mask.bool() & ~eye
    if bool((positive_mask & negative_mask).any()):
        raise ValueError("a pair is marked both positive and negative")
    d = pairwise_distances(features, distance=distance)
    d_ap = torch.where(positive_mask, d, torch.zeros_like(d)).max(1).values
    d_an = torch.where(negative_mask, d, torch.full_like(d, float("inf"))).min(1).values
    valid = positive_mask.any(1) & negative_mask.any(1)
    if not bool(valid.any()):
        return {"loss": features.sum() * 0.0, "d_ap": d_ap, "d_an": d_an, "valid": valid}
    loss = F.relu(d_ap[valid] - d_an[valid] + margin).mean()
    return {"loss": loss, "d_ap": d_ap, "d_an": d_an, "valid": valid}


def warmup_multistep(
    optimizer: torch.optim.Optimizer,
    *,
    warmup_steps: int = 10,
    warmup_factor: float = 0.01,
    milestones: tuple[int, ...] | list[int] = (40, 70),
    gamma: float = 0.1,
) -> LambdaLR:
    """Linear warm-up from ``warmup_factor * lr`` over ``warmup_steps``, then the learning rate is
    multiplied by ``gamma`` at each milestone (Luo et al.: 10 warm-up epochs, x0.1 at 40 and 70).
    Steps are whatever the scheduler is stepped on (optimizer steps in remots)."""
    milestones = sorted(int(m) for m in milestones)

    def factor(step: int) -> float:
        decay = gamma ** sum(step >= m for m in milestones)
        if step < warmup_steps:
            alpha = step / max(1, warmup_steps)
            return (warmup_factor * (1 - alpha) + alpha) * decay
        return decay

    return LambdaLR(optimizer, factor)


def cosine_similarity_matrix(features: torch.Tensor) -> torch.Tensor:
    f = F.normalize(features, dim=1)
    return f @ f.T
