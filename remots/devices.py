"""Where torch work runs: ``auto`` is CUDA when available, else the CPU."""

from __future__ import annotations

import torch


def resolve_device(device: str | None) -> torch.device:
    """``"auto"`` (or None) is CUDA when available, else CPU; anything else is passed to torch."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
