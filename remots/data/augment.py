"""Augmentations of uint8 ``(H, W, 3)`` RGB crops, driven only by the ``np.random.Generator``
passed in (so a triplet's pixels depend on its seed alone, in any worker).

``strong_augment`` makes the intra-frame positive (paper, section 2.2: "the augmentation process
can dramatically change the pixel content of the anchor sample without altering identity"):
colour jitter, blur, random resized crop, flip, random erasing. ``reid_augment`` is the usual re-ID
training augmentation of Luo et al. (flip, pad and crop, random erasing) applied to every sample.

Each operation first draws its parameters (``draw_*``), then applies them. The draws are what
``remots.data.batch_augment`` reuses to apply the same operations to a whole batch on the device
that trains (``model.data.augment_on=device``): both read one generator in the same order.
"""

from __future__ import annotations

import cv2
import numpy as np

# Box: (y, x, height, width) of a window of the crop.
Box = tuple[int, int, int, int]


def draw_flip(rng: np.random.Generator, p: float = 0.5) -> bool:
    return bool(rng.random() < p)


def horizontal_flip(crop: np.ndarray, rng: np.random.Generator, p: float = 0.5) -> np.ndarray:
    return crop[:, ::-1].copy() if draw_flip(rng, p) else crop


def draw_pad_crop(
    rng: np.random.Generator, h: int, w: int, *, pad_fraction: float = 0.08
) -> tuple[int, int, int, int]:
    """``(y, x, py, px)``: pad ``py`` / ``px`` pixels on each side, the window's top-left corner
    in the padded crop."""
    py, px = max(1, round(h * pad_fraction)), max(1, round(w * pad_fraction))
    y, x = int(rng.integers(0, 2 * py + 1)), int(rng.integers(0, 2 * px + 1))
    return y, x, py, px


def pad_crop(
    crop: np.ndarray, rng: np.random.Generator, *, pad_fraction: float = 0.08
) -> np.ndarray:
    """Zero-pad by ``pad_fraction`` of each side and cut a random window of the original size."""
    h, w = crop.shape[:2]
    y, x, py, px = draw_pad_crop(rng, h, w, pad_fraction=pad_fraction)
    padded = cv2.copyMakeBorder(crop, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return padded[y : y + h, x : x + w].copy()


def draw_erasing(
    rng: np.random.Generator,
    h: int,
    w: int,
    *,
    p: float = 0.5,
    area: tuple[float, float] = (0.02, 0.3),
    aspect: tuple[float, float] = (0.3, 3.3),
) -> tuple[Box | None, np.ndarray | None]:
    """The erased box and its uint8 ``(eh, ew, 3)`` random pixels, or ``(None, None)``."""
    if rng.random() >= p:
        return None, None
    for _ in range(10):
        target = rng.uniform(*area) * h * w
        ratio = np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1])))
        eh, ew = round(np.sqrt(target * ratio)), round(np.sqrt(target / ratio))
        if 0 < eh < h and 0 < ew < w:
            y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            return (y, x, eh, ew), rng.integers(0, 256, (eh, ew, 3), dtype=np.uint8)
    return None, None


def random_erasing(
    crop: np.ndarray,
    rng: np.random.Generator,
    *,
    p: float = 0.5,
    area: tuple[float, float] = (0.02, 0.3),
    aspect: tuple[float, float] = (0.3, 3.3),
) -> np.ndarray:
    """Replace a random rectangle by random pixels (Zhong et al.), with probability ``p``."""
    box, noise = draw_erasing(rng, *crop.shape[:2], p=p, area=area, aspect=aspect)
    if box is None:
        return crop
    y, x, eh, ew = box
    out = crop.copy()
    out[y : y + eh, x : x + ew] = noise
    return out


def draw_colour_jitter(
    rng: np.random.Generator,
    *,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.05,
) -> tuple[float, float, float, float]:
    """Brightness, contrast and saturation factors, and the hue shift (of the colour circle)."""
    b = rng.uniform(1 - brightness, 1 + brightness)
    c = rng.uniform(1 - contrast, 1 + contrast)
    s = rng.uniform(1 - saturation, 1 + saturation)
    return b, c, s, rng.uniform(-hue, hue)


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
    b, c, s, shift = draw_colour_jitter(
        rng, brightness=brightness, contrast=contrast, saturation=saturation, hue=hue
    )
    img = crop.astype(np.float32)
    img *= b
    img = (img - img.mean()) * c + img.mean()
    img = np.clip(img, 0, 255).astype(np.uint8)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 1] = np.clip(hsv[..., 1] * s, 0, 255)
    hsv[..., 0] = (hsv[..., 0] + shift * 180.0) % 180.0
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def draw_blur(
    rng: np.random.Generator, *, p: float = 0.5, sigma: tuple = (0.1, 2.0)
) -> float | None:
    """The blur's sigma, or None (no blur)."""
    return None if rng.random() >= p else rng.uniform(*sigma)


def gaussian_blur(
    crop: np.ndarray, rng: np.random.Generator, *, p: float = 0.5, sigma: tuple = (0.1, 2.0)
) -> np.ndarray:
    s = draw_blur(rng, p=p, sigma=sigma)
    if s is None:
        return crop
    return cv2.GaussianBlur(crop, (0, 0), sigmaX=s, sigmaY=s)


def draw_resized_crop(
    rng: np.random.Generator,
    h: int,
    w: int,
    *,
    scale: tuple[float, float] = (0.5, 1.0),
    ratio: tuple[float, float] = (0.75, 1.33),
) -> Box | None:
    """The window to cut, or None (no window fits: the crop stays as it is)."""
    for _ in range(10):
        target = rng.uniform(*scale) * h * w
        r = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1]))) * w / h
        ch, cw = round(np.sqrt(target / r)), round(np.sqrt(target * r))
        if 0 < ch <= h and 0 < cw <= w:
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            return y, x, ch, cw
    return None


def random_resized_crop(
    crop: np.ndarray,
    rng: np.random.Generator,
    *,
    scale: tuple[float, float] = (0.5, 1.0),
    ratio: tuple[float, float] = (0.75, 1.33),
) -> np.ndarray:
    """Cut a random window of ``scale`` of the area and relative aspect ``ratio``, resize back."""
    h, w = crop.shape[:2]
    box = draw_resized_crop(rng, h, w, scale=scale, ratio=ratio)
    if box is None:
        return crop
    y, x, ch, cw = box
    return cv2.resize(crop[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_LINEAR)


def jitter_strengths(strength: float) -> dict[str, float]:
    """``colour_jitter``'s ranges at ``strength`` (1: brightness, contrast and saturation
    +-40 %, hue +-5 % of the circle)."""
    s = strength
    return {"brightness": 0.4 * s, "contrast": 0.4 * s, "saturation": 0.4 * s, "hue": 0.05 * s}


def strong_augment(
    crop: np.ndarray, rng: np.random.Generator, *, colour_jitter_strength: float = 1.0
) -> np.ndarray:
    """The intra-frame positive: pixels change, identity does not (paper, section 2.2).

    ``colour_jitter_strength`` scales the colour jitter (``jitter_strengths``). Where colour is
    what tells identities apart (the synthetic videos), strong jitter teaches the encoder to
    ignore it.
    """
    out = random_resized_crop(crop, rng)
    if colour_jitter_strength > 0:
        out = colour_jitter(out, rng, **jitter_strengths(colour_jitter_strength))
    out = gaussian_blur(out, rng)
    out = horizontal_flip(out, rng)
    return random_erasing(out, rng)


def reid_augment(crop: np.ndarray, rng: np.random.Generator, *, erasing: float = 0.5) -> np.ndarray:
    """Luo et al.'s training augmentation: flip, pad and crop, random erasing."""
    out = horizontal_flip(crop, rng)
    out = pad_crop(out, rng)
    return random_erasing(out, rng, p=erasing)
