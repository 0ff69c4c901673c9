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
