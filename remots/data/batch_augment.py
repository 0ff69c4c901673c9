"""The training augmentation applied to a whole batch on the device that trains
(``model.data.augment_on=device``).

With ``augment_on=loader`` (the default) every loader worker augments its crops one by one with
numpy and OpenCV (``remots.data.augment``). With ``augment_on=device`` the workers only draw each
view's parameters, from the same generator in the same order (``draw_view``: one float64 row per
view, ``COLUMNS``), and ship the crops as they are; ``augment_batch`` then applies the same
operations to the batch with torch, after it reached the GPU (``TripletDataModule``'s
``on_after_batch_transfer``). The pixels agree with the loader's up to rounding (OpenCV computes
uint8 resizing, blur and colour conversion in fixed point) and the random pixels of random erasing,
which come from a torch generator seeded by the batch (``noise_seed``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from remots.data.augment import (
    draw_blur,
    draw_colour_jitter,
    draw_erasing,
    draw_flip,
    draw_pad_crop,
    draw_resized_crop,
    jitter_strengths,
)

COLUMNS = (
    # the strong augmentation of an intra-frame positive (strong_augment)
    "strong", "crop_y", "crop_x", "crop_h", "crop_w",
    "jitter", "brightness", "contrast", "saturation", "hue",
    "blur_sigma",                                  # 0: no blur
    "flip1", "erase1_y", "erase1_x", "erase1_h", "erase1_w",  # erase1_h 0: no erasing
    # Luo et al.'s augmentation of every view (reid_augment)
    "flip2", "pad_y", "pad_x", "pad_py", "pad_px",
    "erase2_y", "erase2_x", "erase2_h", "erase2_w",
    "noise_seed",
)  # fmt: skip
COL = {name: i for i, name in enumerate(COLUMNS)}


def draw_view(
    rng: np.random.Generator,
    h: int,
    w: int,
    *,
    strong: bool,
    augment: bool,
    erasing: float = 0.5,
    colour_jitter: float = 1.0,
) -> np.ndarray:
    """The parameters of one view's augmentation, drawn from ``rng`` exactly as
    ``strong_augment`` (when ``strong``) then ``reid_augment`` (when ``augment``) draw them, and
    the noise seed last. Returns a float64 row of ``COLUMNS``."""
    row = np.zeros(len(COLUMNS), np.float64)
    if strong:
        draw_strong(row, rng, h, w, colour_jitter=colour_jitter)
    if augment:
        draw_reid(row, rng, h, w, erasing=erasing)
    draw_noise_seed(row, rng)
    return row


def draw_strong(row: np.ndarray, rng: np.random.Generator, h: int, w: int, *, colour_jitter):
    """Fill ``row`` with ``strong_augment``'s parameters, drawn as it draws them."""
    box = draw_resized_crop(rng, h, w) or (0, 0, h, w)
    _put(row, strong=1, crop_y=box[0], crop_x=box[1], crop_h=box[2], crop_w=box[3])
    if colour_jitter > 0:
        b, c, s, shift = draw_colour_jitter(rng, **jitter_strengths(colour_jitter))
        _put(row, jitter=1, brightness=b, contrast=c, saturation=s, hue=shift)
    _put(row, blur_sigma=draw_blur(rng) or 0.0, flip1=draw_flip(rng))
    _draw_erasing(row, rng, h, w, "erase1", 0.5)


def draw_reid(row: np.ndarray, rng: np.random.Generator, h: int, w: int, *, erasing: float):
    """Fill ``row`` with ``reid_augment``'s parameters, drawn as it draws them."""
    _put(row, flip2=draw_flip(rng))
    y, x, py, px = draw_pad_crop(rng, h, w)
    _put(row, pad_y=y, pad_x=x, pad_py=py, pad_px=px)
    _draw_erasing(row, rng, h, w, "erase2", erasing)


def draw_noise_seed(row: np.ndarray, rng: np.random.Generator) -> None:
    """The seed of the erased boxes' random pixels (the first view's seeds the batch's)."""
    _put(row, noise_seed=int(rng.integers(0, 2**52)))


def _put(row: np.ndarray, **values) -> None:
    for k, v in values.items():
        row[COL[k]] = v


def _draw_erasing(row, rng, h: int, w: int, prefix: str, p: float) -> None:
    box, _ = draw_erasing(rng, h, w, p=p)  # its random pixels are drawn too, and not used
    if box is not None:
        _put(row, **dict(zip((f"{prefix}_{k}" for k in "yxhw"), box, strict=True)))


def augment_batch(images: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Augment uint8 ``(B, H, W, 3)`` RGB crops with their ``draw_view`` rows ``(B, len(COLUMNS))``,
    on the images' device. Returns uint8 ``(B, H, W, 3)``."""
    if images.ndim != 4 or params.shape != (len(images), len(COLUMNS)):
        raise ValueError(f"images {tuple(images.shape)} and params {tuple(params.shape)} differ")
    if len(images) == 0:
        return images
    p = params.to(images.device, torch.float64)
    gen = torch.Generator(images.device).manual_seed(int(p[0, COL["noise_seed"]]))
    x = images
    strong = torch.nonzero(p[:, COL["strong"]] > 0).flatten()
    if len(strong):
        x = x.clone()
        s = p[strong]
        x[strong] = _move_and_erase(_strong(x[strong].float(), s), s, "flip1", None, "erase1", gen)
    return _move_and_erase(x, p, "flip2", "pad", "erase2", gen)


def _strong(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``strong_augment``'s pixel operations on float crops: resized crop, colour jitter, blur;
    rounded to uint8 (its flip and erasing follow in ``_move_and_erase``)."""
    x = _resized_crop(x, p)
    jitter = torch.nonzero(p[:, COL["jitter"]] > 0).flatten()
    if len(jitter):
        x[jitter] = _colour_jitter(x[jitter], p[jitter])
    blur = torch.nonzero(p[:, COL["blur_sigma"]] > 0).flatten()
    if len(blur):
        x[blur] = _gaussian_blur(x[blur], p[blur, COL["blur_sigma"]])
    return x.to(torch.uint8)


def _move_and_erase(
    x: torch.Tensor, p: torch.Tensor, flip: str, pad: str | None, erase: str, gen: torch.Generator
) -> torch.Tensor:
    """Flip (column ``flip``), pad and crop (``pad``: the window at ``pad_y, pad_x`` of the crop
    zero-padded by ``pad_py, pad_px``; None: no padding) and erase (``<erase>_y/x/h/w``, height
    0: none) uint8 crops in one gather: every output pixel reads the crop, a zero or a random
    pixel."""
    b, h, w, c = x.shape
    dev = x.device
    ys = torch.arange(h, device=dev)[None].expand(b, h)
    xs = torch.arange(w, device=dev)[None].expand(b, w)
    if pad is not None:  # output (y, x) reads the flipped crop at (y + dy, x + dx)
        ys = ys + (p[:, COL["pad_y"]] - p[:, COL["pad_py"]]).long()[:, None]
        xs = xs + (p[:, COL["pad_x"]] - p[:, COL["pad_px"]]).long()[:, None]
    inside = ((ys >= 0) & (ys < h))[:, :, None] & ((xs >= 0) & (xs < w))[:, None, :]
    xs = torch.where(p[:, COL[flip], None] > 0, w - 1 - xs, xs)
    source = ys.clamp(0, h - 1)[:, :, None] * w + xs.clamp(0, w - 1)[:, None, :]
    zero = h * w  # the index of a zero pixel after the crop's
    source = torch.where(inside, source, zero)
    pixels = [x.reshape(b, h * w, c), x.new_zeros(b, 1, c)]
    box = [p[:, COL[f"{erase}_{k}"]].long()[:, None] for k in "yxhw"]
    if bool((box[2] > 0).any()):  # erased pixels read random ones, after the zero
        by = torch.arange(h, device=dev)[None]
        bx = torch.arange(w, device=dev)[None]
        erased = ((by >= box[0]) & (by < box[0] + box[2]))[:, :, None] & (
            (bx >= box[1]) & (bx < box[1] + box[3])
        )[:, None, :]
        source = torch.where(erased, zero + 1 + by[:, :, None] * w + bx[:, None, :], source)
        pixels.append(
            torch.randint(0, 256, (b, h * w, c), generator=gen, device=dev, dtype=x.dtype)
        )
    flat = source.reshape(b, h * w, 1).expand(b, h * w, c)
    return torch.gather(torch.cat(pixels, 1), 1, flat).reshape(b, h, w, c)


def _bilinear_taps(start, length, size: int, device):
    """Source taps of OpenCV's INTER_LINEAR resize of ``length`` pixels from ``start`` to
    ``size``: ``(lo, hi, frac)`` of shape ``(B, size)``, indices clamped to the window."""
    d = torch.arange(size, device=device, dtype=torch.float64)
    f = (d[None] + 0.5) * (length[:, None] / size) - 0.5
    lo = torch.floor(f)
    frac = f - lo
    last = length[:, None] - 1
    frac = torch.where((lo < 0) | (lo >= last), torch.zeros_like(frac), frac)
    lo = torch.minimum(torch.clamp(lo, min=0), last)
    hi = torch.minimum(lo + 1, last)
    s = start[:, None]
    return (lo + s).long(), (hi + s).long(), frac.float()


def _resized_crop(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Each view's window ``crop_*`` resized back to ``(H, W)`` bilinearly, rounded."""
    b, h, w, c = x.shape
    y0, y1, fy = _bilinear_taps(p[:, COL["crop_y"]], p[:, COL["crop_h"]], h, x.device)
    x0, x1, fx = _bilinear_taps(p[:, COL["crop_x"]], p[:, COL["crop_w"]], w, x.device)
    flat = x.reshape(b, h * w, c)

    def at(ys, xs):
        index = (ys[:, :, None] * w + xs[:, None, :]).reshape(b, h * w, 1).expand(b, h * w, c)
        return torch.gather(flat, 1, index).reshape(b, h, w, c)

    fy, fx = fy[:, :, None, None], fx[:, None, :, None]
    top = at(y0, x0) * (1 - fx) + at(y0, x1) * fx
    bottom = at(y1, x0) * (1 - fx) + at(y1, x1) * fx
    return torch.round(top * (1 - fy) + bottom * fy).clamp_(0, 255)


def _colour_jitter(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``colour_jitter``: brightness and contrast in RGB (truncated to uint8 as there), then
    saturation and hue in OpenCV's 8-bit HSV (hue in [0, 180))."""
    col = lambda name: p[:, COL[name]].float().view(-1, 1, 1, 1)  # noqa: E731
    x = x * col("brightness")
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = torch.floor(((x - mean) * col("contrast") + mean).clamp(0, 255))
    hue, sat, val = _rgb_to_hsv8(x)
    sat = torch.floor((sat * col("saturation")[..., 0]).clamp(0, 255))
    hue = torch.floor(torch.remainder(hue + col("hue")[..., 0] * 180.0, 180.0))
    return _hsv8_to_rgb(hue, sat, val)


def _rgb_to_hsv8(x: torch.Tensor):
    """OpenCV's ``COLOR_RGB2HSV`` of uint8 values: H in [0, 180), S and V in [0, 255]."""
    r, g, b = x.unbind(-1)
    v = torch.maximum(torch.maximum(r, g), b)
    diff = v - torch.minimum(torch.minimum(r, g), b)
    s = torch.where(v > 0, torch.round(255.0 * diff / v.clamp(min=1)), torch.zeros_like(v))
    num = torch.where(v == r, g - b, torch.where(v == g, b - r + 2 * diff, r - g + 4 * diff))
    h = torch.where(diff > 0, torch.round(30.0 * num / diff.clamp(min=1)), torch.zeros_like(v))
    return torch.where(h < 0, h + 180, h), s, v


def _hsv8_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """OpenCV's ``COLOR_HSV2RGB`` of 8-bit HSV (H in [0, 180)), rounded."""
    h6 = h * (6.0 / 180.0)
    sector = torch.floor(h6)
    f = h6 - sector
    s, v = s / 255.0, v / 255.0
    tab = torch.stack([v, v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))], -1)
    # (r, g, b) indices into tab per sector: v, p, q, t = tab 0, 1, 2, 3
    order = torch.tensor(
        [[0, 3, 1], [2, 0, 1], [1, 0, 3], [1, 2, 0], [3, 1, 0], [0, 1, 2]], device=h.device
    )
    idx = order[sector.long().clamp(0, 5)]
    rgb = torch.gather(tab, -1, idx)
    return torch.round(rgb * 255.0).clamp(0, 255)


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``cv2.GaussianBlur(crop, (0, 0), sigma)`` of each view: a separable kernel of OpenCV's
    8-bit size ``round(6 sigma + 1) | 1``, reflect-101 borders, rounded."""
    b, h, w, c = x.shape
    sizes = [round(6 * s + 1) | 1 for s in sigma.tolist()]
    k = max(sizes)
    r = k // 2
    t = torch.arange(k, device=x.device, dtype=torch.float64) - r
    kernel = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None].to(x.device) ** 2))
    half = torch.tensor([s // 2 for s in sizes], device=x.device, dtype=torch.float64)
    kernel = torch.where(t[None].abs() <= half[:, None], kernel, torch.zeros_like(kernel))
    kernel = (kernel / kernel.sum(1, keepdim=True)).float()
    weight = kernel.repeat_interleave(c, 0)  # (b * c, k): one kernel per view and channel
    planes = x.permute(0, 3, 1, 2).reshape(1, b * c, h, w)
    planes = planes[..., _reflect101(w, r, x.device)]
    planes = F.conv2d(planes, weight[:, None, None, :], groups=b * c)
    planes = planes[..., _reflect101(h, r, x.device), :]
    planes = F.conv2d(planes, weight[:, None, :, None], groups=b * c)
    return torch.round(planes.reshape(b, c, h, w).permute(0, 2, 3, 1)).clamp_(0, 255)


def _reflect101(n: int, r: int, device) -> torch.Tensor:
    """Indices of ``n`` pixels padded by ``r`` on each side, OpenCV's BORDER_REFLECT_101
    (``gfedcb|abcdefgh|gfedcba``), for any ``r``."""
    i = torch.arange(-r, n + r, device=device)
    if n == 1:
        return torch.zeros_like(i)
    i = i.abs() % (2 * (n - 1))
    return torch.where(i >= n, 2 * (n - 1) - i, i)
