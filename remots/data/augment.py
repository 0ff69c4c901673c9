"""Augmentations of uint8 ``(H, W, 3)`` RGB crops, driven only by the ``np.random.Generator``
passed in (so a triplet's pixels depend on its seed alone, in any worker).

``strong_augment`` makes the intra-frame positive (paper, section 2.2: "the augmentation process
can dramatically change the pixel content of the anchor sample without altering identity"):
colour jitter, blur, random resized crop, flip, random erasing. ``reid_augment`` is the usual re-ID
training augmentation of Luo et al. (flip, pad and crop, random erasing) applied to every sample.
"""

from __future__ import annotations

import cv2
import numpy as np


def horizontal_flip(crop: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    return crop[:, ::-1].copy() if rng.random() < p else crop


def pad_crop(
    crop: np.ndarray, rng: np.random.Generator, *, pad_fraction: float = 0.08
) -> np.ndarray:
    """Zero-pad by ``pad_fraction`` of each side and cut a random window of the original size."""
    h, w = crop.shape[:2]
    py, px = max(1, round(h * pad_fraction)), max(1, round(w * pad_fraction))
    padded = cv2.copyMakeBorder(crop, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    y, x = int(rng.integers(0, 2 * py + 1)), int(rng.integers(0, 2 * px + 1))
    return padded[y : y + h, x : x + w].copy()


def random_erasing(
    crop: np.ndarray,
    rng: np.random.Generator,
    *,
    p: float = 0.5,
    area: tuple[float, float] = (0.02, 0.3),
    aspect: tuple[float, float] = (0.3, 3.3),
) -> np.ndarray:
    """Replace a random rectangle by random pixels (Zhong et al.), with probability ``p``."""
    if rng.random() >= p:
        return crop
    h, w = crop.shape[:2]
    for _ in range(10):
        target = rng.uniform(*area) * h * w
        ratio = np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1])))
        eh, ew = round(np.sqrt(target * ratio)), round(np.sqrt(target / ratio))
        if 0 < eh < h and 0 < ew < w:
            y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            out = crop.copy()
            out[y : y + eh, x : x + ew] = rng.integers(0, 256, (eh, ew, 3), dtype=np.uint8)
            return out
    return crop


def colour_jitter(
    crop: np.ndarray,
    rng: np.random.Generator,
    *,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.05,
) -> np.ndarray:
    """Random brightness, contrast, saturation (factors in [1 - x, 1 + x]) and hue shift
    (fraction of the colour circle in [-hue, hue])."""
    img = crop.astype(np.float32)
    img *= rng.uniform(1 - brightness, 1 + brightness)
    c = rng.uniform(1 - contrast, 1 + contrast)
    img = (img - img.mean()) * c + img.mean()
    img = np.clip(img, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1 - saturation, 1 + saturation), 0, 255)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-hue, hue) * 180.0) % 180.0
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def gaussian_blur(
    crop: np.ndarray, rng: np.random.Generator, *, p: float = 0.5, sigma: tuple = (0.1, 2.0)
) -> np.ndarray:
    if rng.random() >= p:
        return crop
    s = rng.uniform(*sigma)
    return cv2.GaussianBlur(crop, (0, 0), sigmaX=s, sigmaY=s)


def random_resized_crop(
    crop: np.ndarray,
    rng: np.random.Generator,
    *,
    scale: tuple[float, float] = (0.5, 1.0),
    ratio: tuple[float, float] = (0.75, 1.33),
) -> np.ndarray:
    """Cut a random window of ``scale`` of the area and relative aspect ``ratio``, resize back."""
    h, w = crop.shape[:2]
    for _ in range(10):
        target = rng.uniform(*scale) * h * w
        r = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1]))) * w / h
        ch, cw = round(np.sqrt(target / r)), round(np.sqrt(target * r))
        if 0 < ch <= h and 0 < cw <= w:
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            return cv2.resize(crop[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_LINEAR)
    return crop


def strong_augment(
    crop: np.ndarray, rng: np.random.Generator, *, colour_jitter_strength: float = 1.0
) -> np.ndarray:
    """The intra-frame positive: pixels change, identity does not (paper, section 2.2).

    ``colour_jitter_strength`` scales the colour jitter (1: brightness, contrast and saturation
    +-40 %, hue +-5 % of the circle). Where colour is what tells identities apart (the synthetic
    videos), strong jitter teaches the encoder to ignore it.
    """
    out = random_resized_crop(crop, rng)
    s = colour_jitter_strength
    if s > 0:
        out = colour_jitter(
            out, rng, brightness=0.4 * s, contrast=0.4 * s, saturation=0.4 * s, hue=0.05 * s
        )
    out = gaussian_blur(out, rng)
    out = horizontal_flip(out, rng)
    return random_erasing(out, rng)


def reid_augment(crop: np.ndarray, rng: np.random.Generator, *, erasing: float = 0.5) -> np.ndarray:
    """Luo et al.'s training augmentation: flip, pad and crop, random erasing."""
    out = horizontal_flip(crop, rng)
    out = pad_crop(out, rng)
    return random_erasing(out, rng, p=erasing)
