"""Semi-real KITTI MOTS benchmark: rendered frames over the real KITTI MOTS ground truth, a
simulated detector, and the whole ReMOTS chain run as a user runs it, against ByteTrack, OC-SORT,
BoT-SORT and the oracle association.

What is real: the 12 KITTI MOTS training sequences in ``../shared/data/kitti_mots_train``
(trajectories, mask shapes, occlusions, truncation at the image border, ignore regions, frame
counts). There are no images there, so the frames are rendered:

- Resolution: KITTI's divided by ``--downscale`` (default 2: 375x1242 -> 188x621, so that the
  chain runs on 2 CPU cores in minutes). The GT masks are downscaled exclusively (each pixel, a
  2x2 block, goes to the mask or the background covering most of it), empty ones dropped; the
  rendered GT is what everything is evaluated against.
- Background: a wide world panorama per sequence (sky, building facades with window grids, trees,
  sidewalk, road with lane marks, poles, bins and bushes) seen through a camera that moves along
  it with a smooth, sometimes stopping ego speed (KITTI is a moving camera: a shifting background
  stands in for the ego motion), with a little vertical shake.
- Objects: each GT identity gets a look of its own, painted over its real mask in coordinates of
  its (occlusion- and truncation-stabilised) box, so the look moves and scales with the object:
  cars a body colour drawn with real-world frequencies (many white, black, grey, silver cars:
  natural look-alikes), window band and pillars, lights, plate, wheels, two-tone roofs, stripes;
  pedestrians skin and hair, shirt colour and pattern (plain, stripes, zip, logo), sleeves,
  trousers, shoes, bags. About 15 % of the identities copy the look of an earlier identity of
  their class and sequence with a small colour shift (twins). Each identity has its own fine
  texture. Ignore regions get a dull texture of their own.
- Lighting and noise: a world-fixed shadow field (objects darken as they pass through shade), a
  smooth global gain per frame (clouds), a slight optical blur and Gaussian pixel noise.
- Layout written (what ``data=kitti_mots`` reads): ``<root>/{train,val}/image_02/<seq>/%06d.png``
  (0-based), ``instances_txt/<seq>.txt`` (the rendered GT, MOTS txt), ``seqmaps/<split>.seqmap``,
  and the simulated detections ``det/<seq>.txt`` (TrackR-CNN txt, ``detector=precomputed``).

Split: the training videos (their GT gives the GT triplets) ``0000 0001 0003 0005 0009 0012 0019
0020`` hold most identities of both classes (344 cars, 69 pedestrians; 0019 alone 62
pedestrians); the target videos (refined and evaluated) ``0004 0011 0015 0017`` hold both
classes (26 + 52 + 9 + 0 car and 5 + 5 + 11 + 9 pedestrian identities, 1,208 frames): a mixed
street (0004), dense traffic with truncation at the border (0011), crossing pedestrians among
cars (0015) and a pedestrian crowd (0017).

The simulated detector (per GT object and frame; ``DetectorKnobs``): misses in runs (a Markov
chain: once missed, missed again with ``miss_persist``), more misses the more an object is
occluded or truncated (its area against its own recent maximum) and the smaller it is; masks
resampled through a 28x28 grid from a jittered box and thresholded at a jittered level (eroded or
dilated outlines), partial masks, duplicate partial masks with lower scores, one mask over two
objects of a class whose boxes overlap (the other missed); false positives on the background clutter
(some items fire again and again) and on ignore regions; scores lower for occluded and small
objects, spread out for false positives. The chain's fusion (score >= 0.5, IoM-NMS, pixel
exclusivity, ``min_area`` 100 / downscale**2) turns them into the detections every row uses.

The chain runs as a user runs it on videos of this length: the defaults, except that the inter
phase trains 2.5 epochs over the target crops (``model.data.inter_target_epochs=2.5``: 960 steps
on the 6,143 crops of the four target videos, 16 a step) instead of the 480 steps sized for the
synthetic default, whose target videos are 8 times shorter. Three training seeds on one machine
(``--chain-args seed=N``): merged IDF1 car 0.857 / 0.857 / 0.840 and pedestrian 0.809 / 0.793 /
0.825 with it, 0.840 / 0.863 / 0.829 and 0.776 / 0.809 / 0.800 with 480 steps.

Rows (the same fused detections everywhere: the chain's ``detections/<seq>.txt``): IoU-only
baseline, short tracklets and ReMOTS merged tracks of the chain (``track.py stage=all`` as a
subprocess, one run folder per ``--encoders`` entry), ByteTrack, OC-SORT and BoT-SORT (BoxMOT,
``per_class=True``, boxes from the masks, ids mapped back to the masks by detection index,
``frame_rate=10`` as KITTI's where the tracker takes one, BoT-SORT without its ReID branch and
camera-motion compensation (``BOXMOT_TRACKERS`` says why), other settings BoxMOT's defaults;
skipped when BoxMOT is not installed), and the oracle association (each detection takes the id of
the GT mask it overlaps with IoU >= 0.5; an unmatched detection becomes a track of its own, so the
oracle keeps every detection and differs from the others in association only). Metrics from
``remots.eval.evaluate`` (equal to TrackEval), KITTI MOTS rules; purity = share of tracks whose
GT-matched masks (IoU >= 0.5) all hold one identity, over the tracks with a matched mask; tracks =
all tracks of the class.

Optional dependency (the BoxMOT rows)::

    pip install --no-deps boxmot==25.0.0 && pip install lapx filterpy

Run (from the project root; the render is cached in ``--root``, the run folders in ``--out``)::

    PYTHONPATH=. python benchmarks/kitti_semireal.py                      # full table
    PYTHONPATH=. python benchmarks/kitti_semireal.py --max-frames 60      # smoke run, minutes
    # two chain configurations, each with its rows; the second hard-links the first's
    # detections and intra-frame training (stage.reuse_from) and reruns from the short stage
    PYTHONPATH=. python benchmarks/kitti_semireal.py --encoders "remots=" \\
        "appearance=tracker.use_appearance=true stage.reuse_from=<out>/runs/remots"
    PYTHONPATH=. python benchmarks/kitti_semireal.py --encoders \\
        "pretrained=" "random=model.net.pretrained=false model.net.checkpoint_path=null"
    PYTHONPATH=. python benchmarks/kitti_semireal.py --chain-args "trainer.max_steps=240"

Prints one table per class and writes ``<out>/kitti_semireal.md`` and ``.json`` (metrics, the
theta_short estimates per target sequence and class, wall times, peak RSS). Full table, one
chain configuration, 2 CPU cores: about 12 minutes (render 2 min, once; chain 10 min, of which
the inter phase's 960 steps take 6.7).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remots import masks  # noqa: E402
from remots.io.detections import read_detections_txt, renumber, write_detections_txt  # noqa: E402
from remots.io.instances import CAR, IGNORE, PEDESTRIAN, Instance, group_by_frame, track_obj_id  # noqa: E402
from remots.io.layouts import load_kitti_mots  # noqa: E402
from remots.io.mots import read_mots_txt, write_mots_txt  # noqa: E402
from remots.synthetic.detectors import mask_head as synthetic_mask_head  # noqa: E402

log = logging.getLogger("kitti_semireal")

KITTI_ROOT = ROOT.parent / "shared" / "data" / "kitti_mots_train"
TRAIN_SEQUENCES = ("0000", "0001", "0003", "0005", "0009", "0012", "0019", "0020")
TARGET_SEQUENCES = ("0004", "0011", "0015", "0017")
SPLITS = {"train": TRAIN_SEQUENCES, "val": TARGET_SEQUENCES}
CLASSES = {CAR: "car", PEDESTRIAN: "pedestrian"}
RENDER_VERSION = 1
FPS = 10  # KITTI

# --------------------------------------------------------------------------- looks

# BGR colours with how often they are drawn: cars are mostly white, black, grey and silver.
CAR_COLOURS = np.array(
    [
        [235, 235, 235], [25, 25, 28], [70, 70, 75], [170, 170, 175], [150, 70, 30],
        [90, 40, 20], [40, 40, 185], [40, 30, 110], [50, 95, 45], [150, 185, 200],
        [40, 190, 220], [40, 70, 110],
    ],
    np.float64,
)  # fmt: skip
CAR_COLOUR_P = np.array([22, 18, 12, 15, 7, 5, 7, 3, 3, 4, 1, 3], np.float64)
SHIRT_COLOURS = np.array(
    [
        [30, 30, 30], [230, 230, 230], [120, 120, 120], [90, 40, 20], [40, 40, 200],
        [180, 110, 50], [60, 130, 60], [40, 200, 230], [40, 70, 120], [150, 190, 210],
        [170, 140, 230],
    ],
    np.float64,
)  # fmt: skip
SHIRT_P = np.array([20, 10, 12, 12, 7, 8, 6, 4, 8, 7, 6], np.float64)
TROUSER_COLOURS = np.array(
    [[130, 80, 40], [25, 25, 25], [60, 60, 60], [140, 180, 200], [70, 35, 20], [215, 215, 215]],
    np.float64,
)
TROUSER_P = np.array([35, 25, 15, 10, 10, 5], np.float64)
SKIN_COLOURS = np.array([[150, 180, 230], [110, 150, 200], [70, 110, 160], [45, 75, 115]], float)
HAIR_COLOURS = np.array([[20, 20, 25], [30, 60, 100], [60, 120, 170], [150, 150, 150]], float)
TWIN_RATE = 0.15
TEXTURE = 32  # side of an identity's texture tile, in object coordinates


def _pick(rng: np.random.Generator, colours: np.ndarray, p: np.ndarray, jitter: float) -> tuple:
    c = colours[rng.choice(len(colours), p=p / p.sum())] + rng.normal(0.0, jitter, 3)
    return tuple(np.clip(c, 0, 255).tolist())


def _texture(rng: np.random.Generator, low: float, high: float, sigma: float) -> np.ndarray:
    tile = cv2.GaussianBlur(rng.random((TEXTURE, TEXTURE)).astype(np.float32), (0, 0), sigma)
    return cv2.normalize(tile, None, low, high, cv2.NORM_MINMAX)


def make_look(rng: np.random.Generator, class_id: int) -> dict:
    """A random, persistent look of one identity (colours BGR, positions in box coordinates)."""
    if class_id == CAR:
        body = _pick(rng, CAR_COLOURS, CAR_COLOUR_P, 8.0)
        return {
            "body": body,
            "roof": body if rng.random() < 0.8 else _pick(rng, CAR_COLOURS, CAR_COLOUR_P, 8.0),
            "glass": tuple(np.clip(np.array([70, 55, 45]) * rng.uniform(0.5, 1.3), 0, 255)),
            "window": (float(rng.uniform(0.08, 0.25)), float(rng.uniform(0.38, 0.52))),
            "window_inset": float(rng.uniform(0.06, 0.18)),
            "pillars": sorted(rng.uniform(0.3, 0.7, int(rng.integers(0, 3))).tolist()),
            "lights": (float(rng.uniform(0.5, 0.6)), float(rng.uniform(0.63, 0.72))),
            "light_width": float(rng.uniform(0.08, 0.2)),
            "light": (30, 30, 200) if rng.random() < 0.7 else (40, 140, 235),
            "plate": bool(rng.random() < 0.7),
            "plate_colour": (235, 235, 235) if rng.random() < 0.8 else (40, 200, 230),
            "stripe": _pick(rng, CAR_COLOURS, CAR_COLOUR_P, 8.0) if rng.random() < 0.15 else None,
            "wheel_u": float(rng.uniform(0.15, 0.25)),
            "texture": _texture(rng, 0.9, 1.08, 1.0),
        }
    shirt = _pick(rng, SHIRT_COLOURS, SHIRT_P, 10.0)
    return {
        "skin": _pick(rng, SKIN_COLOURS, np.ones(len(SKIN_COLOURS)), 6.0),
        "hair": _pick(rng, HAIR_COLOURS, np.ones(len(HAIR_COLOURS)), 6.0),
        "hat": _pick(rng, SHIRT_COLOURS, SHIRT_P, 10.0) if rng.random() < 0.12 else None,
        "shirt": shirt,
        "pattern": str(rng.choice(["plain", "plain", "h_stripes", "zip", "logo"])),
        "pattern_colour": _pick(rng, SHIRT_COLOURS, SHIRT_P, 10.0),
        "stripe_period": float(rng.uniform(0.04, 0.09)),
        "long_sleeves": bool(rng.random() < 0.7),
        "waist": float(rng.uniform(0.48, 0.58)),
        "trousers": _pick(rng, TROUSER_COLOURS, TROUSER_P, 8.0),
        "shoes": _pick(rng, HAIR_COLOURS, np.ones(len(HAIR_COLOURS)), 5.0),
        "bag": _pick(rng, SHIRT_COLOURS, SHIRT_P, 10.0) if rng.random() < 0.3 else None,
        "bag_side": int(rng.integers(2)),
        "texture": _texture(rng, 0.85, 1.1, 0.8),
    }


def twin_of(rng: np.random.Generator, look: dict) -> dict:
    """A look-alike: the same look with every colour shifted a little."""
    out = dict(look)
    for key, value in look.items():
        if isinstance(value, tuple) and len(value) == 3:
            out[key] = tuple(np.clip(np.array(value) + rng.normal(0.0, 6.0, 3), 0, 255).tolist())
    return out


def paint_car(look: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(n, 3)`` float BGR of the pixels at box coordinates ``u, v`` in [0, 1] of a car."""
    col = np.empty((len(u), 3), np.float64)
    col[:] = look["body"]
    w0, w1 = look["window"]
    col[v < w0] = look["roof"]
    if look["stripe"] is not None:
        col[(np.abs(u - 0.5) < 0.07) & (v < 0.75)] = look["stripe"]
    inset = look["window_inset"]
    glass = (v >= w0) & (v < w1) & (u > inset) & (u < 1 - inset)
    for p in look["pillars"]:
        glass &= np.abs(u - p) > 0.025
    col[glass] = look["glass"]
    l0, l1 = look["lights"]
    lw = look["light_width"]
    col[(v >= l0) & (v < l1) & ((u < lw) | (u > 1 - lw))] = look["light"]
    if look["plate"]:
        col[(v >= 0.64) & (v < 0.74) & (np.abs(u - 0.5) < 0.1)] = look["plate_colour"]
    wu = look["wheel_u"]
    wheels = (v > 0.8) & ((np.abs(u - wu) < 0.1) | (np.abs(u - 1 + wu) < 0.1))
    col[wheels] = (25, 25, 25)
    col *= (1.12 - 0.25 * v)[:, None]  # sky reflected on the upper body
    return col


def paint_pedestrian(look: dict, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``(n, 3)`` float BGR of the pixels at box coordinates ``u, v`` in [0, 1] of a person."""
    col = np.empty((len(u), 3), np.float64)
    waist = look["waist"]
    col[:] = look["trousers"]
    torso = (v >= 0.14) & (v < waist)
    col[torso] = look["shirt"]
    arms = torso & ((u < 0.2) | (u > 0.8))
    if not look["long_sleeves"]:
        col[arms & (v > 0.28)] = look["skin"]
    pattern = look["pattern"]
    if pattern == "h_stripes":
        col[torso & ~arms & (np.mod(v, look["stripe_period"]) < look["stripe_period"] / 2)] = look[
            "pattern_colour"
        ]
    elif pattern == "zip":
        col[torso & (np.abs(u - 0.5) < 0.04)] = look["pattern_colour"]
    elif pattern == "logo":
        col[(v >= 0.22) & (v < 0.34) & (np.abs(u - 0.5) < 0.14)] = look["pattern_colour"]
    if look["bag"] is not None:
        side = (u < 0.3) if look["bag_side"] == 0 else (u > 0.7)
        col[side & (v >= 0.18) & (v < 0.45)] = look["bag"]
    head = v < 0.14
    col[head] = look["skin"]
    col[v < 0.05] = look["hat"] if look["hat"] is not None else look["hair"]
    col[head & ((u < 0.3) | (u > 0.7)) & (v < 0.09)] = look["hair"]
    col[(v >= waist) & (np.abs(u - 0.5) < 0.03)] *= 0.6  # the gap between the legs
    col[v > 0.94] = look["shoes"]
    return col


# --------------------------------------------------------------------------- world


@dataclass
class World:
    """The panorama a sequence's camera moves along; clutter items are where detectors fire."""

    image: np.ndarray  # (H + 2 * pad, W_world, 3) float32 BGR, clutter drawn in
    shadow: np.ndarray  # (H + 2 * pad, W_world) float32 brightness factor
    clutter: list[tuple[int, int, np.ndarray, int, float]]  # x0, y0, mask, class, propensity
    cam_x: np.ndarray  # (T,) int, left column of the view
    cam_y: np.ndarray  # (T,) int, top row of the view
    gain: np.ndarray  # (T,) float, global lighting per frame
    ignore_look: np.ndarray  # (TEXTURE, TEXTURE, 3) float32


PAD = 4


def make_world(rng: np.random.Generator, height: int, width: int, num_frames: int) -> World:
    """Camera path first (its length sizes the panorama), then sky, facades, trees, sidewalk,
    road, clutter, a shadow field and the per-frame gain."""
    speed, target, speeds = 0.0, float(rng.uniform(0.5, 4.0)), []
    for _ in range(num_frames):
        if rng.random() < 0.02:  # the ego car speeds up, slows down, stops at a light
            target = 0.0 if rng.random() < 0.25 else float(rng.uniform(0.5, 5.0))
        speed += 0.08 * (target - speed)
        speeds.append(speed)
    cam_x = np.round(np.cumsum(speeds) - speeds[0]).astype(int)
    cam_y = PAD + np.clip(np.round(rng.normal(0.0, 0.6, num_frames)), -PAD, PAD).astype(int)
    wh, ww = height + 2 * PAD, int(cam_x[-1]) + width + 1
    horizon = PAD + int(height * rng.uniform(0.36, 0.44))
    kerb = horizon + int(0.12 * height)
    img = np.zeros((wh, ww, 3), np.float32)
    rows = np.arange(wh, dtype=np.float32)[:, None]
    sky = np.array([235, 200, 165], np.float32) + (rows / max(horizon, 1)) * np.array(
        [5, 30, 60], np.float32
    )
    img[:horizon] = sky[:horizon, None, :]
    img[horizon:kerb] = rng.uniform(70, 130, 3)  # distant houses and hedges between the facades
    x = 0
    while x < ww:
        w = min(int(rng.integers(max(8, width // 40), max(16, width // 7))), ww - x)
        top = int(rng.integers(PAD, max(PAD + 1, horizon - 8)))
        kind = rng.random()
        if kind < 0.6:  # a facade with a window grid
            colour = rng.uniform(60, 220, 3)
            colour = 0.5 * colour + 0.5 * colour.mean()  # facades are rarely vivid
            img[top:kerb, x : x + w] = colour
            dy, dx = int(rng.integers(6, 13)), int(rng.integers(5, 11))
            wy, wx = max(2, dy // 2), max(2, dx // 2)
            glass = rng.uniform(30, 90, 3) if rng.random() < 0.7 else rng.uniform(150, 230, 3)
            for yy in range(top + 3, kerb - wy - 3, dy):
                for xx in range(x + 2, x + w - wx - 1, dx):
                    img[yy : yy + wy, xx : xx + wx] = glass
        elif kind < 0.9:  # a tree: a noisy green crown on a trunk
            crown = rng.random((kerb - top, w)).astype(np.float32)
            crown = cv2.GaussianBlur(crown, (0, 0), 1.5)
            yy, xx = np.mgrid[0 : kerb - top, 0:w]
            inside = ((yy - 0.4 * (kerb - top)) / (0.45 * (kerb - top))) ** 2 + (
                (xx - w / 2) / (w / 2)
            ) ** 2 < 1
            green = np.array([40, 110, 60], np.float32) * (0.6 + 0.8 * crown[..., None])
            region = img[top:kerb, x : x + w]
            region[inside] = green[inside]
            trunk = slice(x + w // 2 - 1, x + w // 2 + 2)
            img[top + int(0.8 * (kerb - top)) : kerb, trunk] = (40, 60, 80)
        x += w
    img[kerb : kerb + max(2, height // 30)] = (160, 160, 165)  # sidewalk
    road = kerb + max(2, height // 30)
    img[road:] = (100, 100, 104)
    lane = road + int(0.55 * (wh - road))
    for xx in range(int(rng.integers(0, 40)), ww, 40):
        img[lane : lane + 2, xx : xx + 18] = (220, 220, 220)
    texture = cv2.GaussianBlur(rng.normal(0.0, 1.0, (wh, ww)).astype(np.float32), (0, 0), 1.2)
    img += 10.0 * texture[..., None]
    clutter = []
    for xx in range(int(rng.integers(0, 60)), ww - 40, 60):
        if rng.random() < 0.5:
            continue
        if rng.random() < 0.5:  # a pole or a sign: pedestrian-like
            h, w = int(rng.integers(height // 10, height // 4)), int(rng.integers(2, 5))
            cls = PEDESTRIAN
        else:  # a bin, a bush, a box: car-like
            h, w = int(rng.integers(height // 18, height // 8)), int(rng.integers(12, 40))
            cls = CAR
        y0 = kerb + max(2, height // 30) // 2 - h
        yy, xw = np.mgrid[0:h, 0:w]
        shape = (
            np.ones((h, w), bool)
            if cls == PEDESTRIAN
            else (((yy - h) / h) ** 2 + ((xw - w / 2) / (w / 2)) ** 2 < 1.0)
        )
        colour = rng.uniform(20, 200, 3)
        region = img[y0 : y0 + h, xx : xx + w]
        region[shape] = colour
        propensity = float(rng.uniform(0.2, 0.6) if rng.random() < 0.15 else rng.uniform(0, 0.05))
        clutter.append((xx, y0, shape, cls, propensity))
    shadow = cv2.GaussianBlur(rng.random((wh, ww)).astype(np.float32), (0, 0), height / 8)
    shadow = cv2.normalize(shadow, None, 0.65, 1.1, cv2.NORM_MINMAX)
    gain = (
        1.0
        + np.convolve(rng.normal(0.0, 0.08, num_frames + 20), np.ones(20) / np.sqrt(20))[
            10 : 10 + num_frames
        ]
        * 0.5
    )
    ignore_look = np.stack(
        [_texture(rng, 60, 140, 1.5), _texture(rng, 60, 140, 1.5), _texture(rng, 60, 140, 1.5)],
        axis=-1,
    )
    return World(img, shadow, clutter, cam_x, cam_y, np.clip(gain, 0.7, 1.3), ignore_look)


# --------------------------------------------------------------------------- rendering


def scaled_size(height: int, width: int, factor: int) -> tuple[int, int]:
    return -(-height // factor), -(-width // factor)


def scale_frame_masks(
    frame_gt: list[Instance], factor: int, full_size: tuple[int, int]
) -> tuple[np.ndarray, list]:
    """Downscale one frame's GT masks by an integer ``factor``, exclusively: each output pixel
    (a ``factor`` x ``factor`` block, the image padded at its bottom and right) goes to the mask,
    or the background, covering most of it (the background wins ties). Returns the label image
    (0 background, k + 1 for ``frame_gt[k]``) and the index of every mask that kept a pixel."""
    h, w = scaled_size(*full_size, factor)
    if not frame_gt:
        return np.zeros((h, w), np.int32), []
    decoded = mask_utils.decode([g.rle for g in frame_gt])  # (H, W, K)
    if factor == 1:
        count = decoded.transpose(2, 0, 1).astype(np.int16)
    else:
        count = np.zeros((len(frame_gt), h, w), np.int16)
        for k, (x, y, bw, bh) in enumerate(masks.bbox([g.rle for g in frame_gt]).astype(int)):
            if bw == 0:
                continue
            r0, c0 = y // factor, x // factor
            r1, c1 = -(-(y + bh) // factor), -(-(x + bw) // factor)
            block = np.zeros(((r1 - r0) * factor, (c1 - c0) * factor), np.int16)
            part = decoded[r0 * factor : r1 * factor, c0 * factor : c1 * factor, k]
            block[: part.shape[0], : part.shape[1]] = part
            count[k, r0:r1, c0:c1] = block.reshape(r1 - r0, factor, c1 - c0, factor).sum((1, 3))
    background = factor * factor - count.sum(axis=0, keepdims=True, dtype=np.int16)
    label = np.argmax(np.concatenate([background, count]), axis=0).astype(np.int32)
    kept = sorted(set(np.unique(label).tolist()) - {0})
    return label, [k - 1 for k in kept]


def stable_boxes(gt: list[Instance], scale: float, size: tuple[int, int]) -> dict:
    """``(frame, obj_id) -> (x0, y0, w, h)`` in scaled pixels: the box each identity is painted
    in. Its size is at least the median of the identity's box sizes over +-4 of its frames, so a
    look keeps its proportions while the object is occluded; it is anchored on the side away
    from an image border it touches (truncation), else at the bottom and centred."""
    h_img, w_img = size
    by_id: dict[int, list[Instance]] = {}
    for g in gt:
        if g.class_id in CLASSES:
            by_id.setdefault(g.obj_id, []).append(g)
    out = {}
    for obj_id, items in by_id.items():
        items.sort(key=lambda g: g.frame)
        boxes = masks.bbox([g.rle for g in items]) * scale  # x, y, w, h
        for k, g in enumerate(items):
            window = boxes[max(0, k - 4) : k + 5]
            x, y, w, h = boxes[k]
            ws, hs = max(w, float(np.median(window[:, 2]))), max(h, float(np.median(window[:, 3])))
            left, right = x <= 0.5, x + w >= w_img - 0.5
            if left and not right:
                x0 = x + w - ws
            elif right and not left:
                x0 = x
            else:
                x0 = x + w / 2 - ws / 2
            bottom = y + h >= h_img - 0.5
            y0 = y if bottom and y > 0.5 else y + h - hs
            out[(g.frame, obj_id)] = (x0, y0, max(ws, 1.0), max(hs, 1.0))
    return out


def render_sequence(
    seq, out_split: Path, *, factor: int, max_frames: int | None, seed: int
) -> tuple[list[Instance], int, tuple[int, int], World]:
    """Render one KITTI MOTS sequence downscaled by ``factor``: its frames and its rescaled GT
    (``instances_txt``); returns the GT (0-based), the frame count, the size and the world."""
    name = seq.name
    n = seq.num_frames if max_frames is None else min(seq.num_frames, max_frames)
    size = scaled_size(seq.height, seq.width, factor)
    h, w = size
    key = zlib.crc32(name.encode())
    world = make_world(np.random.default_rng([seed, key, 1]), h, w, n)
    look_rng = np.random.default_rng([seed, key, 2])
    noise_rng = np.random.default_rng([seed, key, 3])
    gt = [g for g in seq.gt if g.frame < n]
    boxes = stable_boxes(gt, 1.0 / factor, size)
    looks: dict[int, dict] = {}
    frames_dir = out_split / "image_02" / name
    frames_dir.mkdir(parents=True, exist_ok=True)
    scaled: list[Instance] = []
    for t, frame_gt in enumerate(group_by_frame(gt, n)):
        label, kept = scale_frame_masks(frame_gt, factor, (seq.height, seq.width))
        cx, cy = int(world.cam_x[t]), int(world.cam_y[t])
        img = world.image[cy : cy + h, cx : cx + w].copy()
        for k in kept:
            g = frame_gt[k]
            m = (label == k + 1).astype(np.uint8)
            ys, xs = np.nonzero(m)
            scaled.append(g.with_(rle=masks.encode(m)[0]))
            if g.class_id == IGNORE:
                img[ys, xs] = world.ignore_look[ys % TEXTURE, xs % TEXTURE]
                continue
            if g.obj_id not in looks:
                same = [v for o, v in looks.items() if o // 1000 == g.class_id]
                looks[g.obj_id] = (
                    twin_of(look_rng, same[int(look_rng.integers(len(same)))])
                    if same and look_rng.random() < TWIN_RATE
                    else make_look(look_rng, g.class_id)
                )
            look = looks[g.obj_id]
            x0, y0, bw, bh = boxes[(t, g.obj_id)]
            u = np.clip((xs + 0.5 - x0) / bw, 0.0, 1.0)
            v = np.clip((ys + 0.5 - y0) / bh, 0.0, 1.0)
            paint = paint_car if g.class_id == CAR else paint_pedestrian
            colour = paint(look, u, v)
            tile = look["texture"]
            colour *= tile[
                np.minimum((v * TEXTURE).astype(int), TEXTURE - 1),
                np.minimum((u * TEXTURE).astype(int), TEXTURE - 1),
            ][:, None]
            img[ys, xs] = colour
        img *= (world.shadow[cy : cy + h, cx : cx + w] * world.gain[t])[..., None]
        img = cv2.GaussianBlur(img, (0, 0), 0.5)
        img += noise_rng.normal(0.0, 3.0, img.shape).astype(np.float32)
        cv2.imwrite(
            str(frames_dir / f"{t:06d}.png"),
            np.clip(img, 0, 255).astype(np.uint8),
            [cv2.IMWRITE_PNG_COMPRESSION, 1],
        )
    write_mots_txt(out_split / "instances_txt" / f"{name}.txt", scaled, frame_base=0)
    return scaled, n, size, world


# --------------------------------------------------------------------------- detector


@dataclass
class DetectorKnobs:
    """A simulated Mask R-CNN on the rendered frames (probabilities per object and frame)."""

    miss_rate: float = 0.03  # miss probability of a large, fully visible object
    miss_persist: float = 0.45  # miss probability in the frame after a miss (runs of misses)
    occlusion_miss: float = 0.4  # + this * (1 - visible fraction) ** 2
    small_miss: float = 0.4  # + this * (1 - height / small_height) for smaller objects
    small_height: float = 20.0  # object height in pixels at full resolution (scaled with it)
    mask_resolution: int = 28  # side of the mask head's grid
    box_jitter: float = 0.04  # std of each box side, as a fraction of the box size
    threshold_noise: float = 0.1  # std of the mask threshold around 0.5 (erosion / dilation)
    partial_rate: float = 0.04  # only an upper or side part of the object
    duplicate_rate: float = 0.05  # a second, partial, lower-scored mask of the object
    merge_rate: float = 0.05  # one mask over this object and an overlapping one of its class
    score_mean: float = 0.93
    score_noise: float = 0.05
    occlusion_score_drop: float = 0.35
    fp_scale: float = 1.0  # x each clutter item's firing propensity
    ignore_fp: float = 0.25  # probability of a detection on an ignore region per frame


def mask_head(
    base: np.ndarray, rng: np.random.Generator, knobs: DetectorKnobs, *, partial: bool
) -> np.ndarray | None:
    """What a mask head makes of the object ``base`` ``(H, W)`` bool: the synthetic detectors'
    mask head (``remots.synthetic.detectors.mask_head``) over the whole frame."""
    H, W = base.shape
    head = {
        "mask_resolution": knobs.mask_resolution,
        "box_jitter": knobs.box_jitter,
        "threshold_noise": knobs.threshold_noise,
    }
    return synthetic_mask_head(base, (0, 0, W, H), rng, head, partial=partial)


def simulate_detections(
    gt: list[Instance],
    *,
    num_frames: int,
    size: tuple[int, int],
    scale: float,
    knobs: DetectorKnobs,
    rng: np.random.Generator,
    world: World | None = None,
) -> list[Instance]:
    """Raw detections of every frame of one rendered sequence (unfused, renumbered): see
    ``DetectorKnobs``. ``world`` gives the clutter where false positives fire (None: none)."""
    H, W = size
    objects = [g for g in gt if g.class_id in CLASSES]
    area = masks.area([g.rle for g in objects]).astype(np.float64)
    boxes = masks.bbox([g.rle for g in objects])
    # visible fraction: the area against the identity's own maximum over +-3 of its frames
    visible = np.ones(len(objects))
    by_id: dict[int, list[int]] = {}
    for k, g in enumerate(objects):
        by_id.setdefault(g.obj_id, []).append(k)
    for rows in by_id.values():
        rows.sort(key=lambda k: objects[k].frame)
        a = area[rows]
        for j, k in enumerate(rows):
            visible[k] = a[j] / max(a[max(0, j - 3) : j + 4].max(), 1.0)
    small_height = knobs.small_height * scale
    frames_of = group_by_frame([g.with_(obj_id=k) for k, g in enumerate(objects)], num_frames)
    ignore_of = group_by_frame([g for g in gt if g.class_id == IGNORE], num_frames)
    missed_before: set[int] = set()
    out: list[Instance] = []
    for t in range(num_frames):
        frame = frames_of[t]
        decoded = masks.decode([objects[f.obj_id].rle for f in frame]).astype(bool) if frame else []
        missed_now: set[int] = set()
        absorbed: set[int] = set()
        for j, f in enumerate(frame):
            k = f.obj_id
            g = objects[k]
            if k in absorbed:
                continue
            occlusion = 1.0 - visible[k]
            p_miss = (
                knobs.miss_rate
                + knobs.occlusion_miss * occlusion**2
                + knobs.small_miss * max(0.0, 1.0 - boxes[k, 3] / small_height)
            )
            if g.obj_id in missed_before:
                p_miss = max(p_miss, knobs.miss_persist)
            if rng.random() < min(p_miss, 0.98):
                missed_now.add(g.obj_id)
                continue
            base = decoded[j]
            if rng.random() < knobs.merge_rate:
                x, y, w, h = boxes[k]
                for j2, f2 in enumerate(frame):
                    k2 = f2.obj_id
                    if k2 == k or objects[k2].class_id != g.class_id or k2 in absorbed:
                        continue
                    x2, y2, w2, h2 = boxes[k2]
                    if x2 < x + w and x < x2 + w2 and y2 < y + h and y < y2 + h2:
                        base = base | decoded[j2]
                        absorbed.add(k2)
                        break
            m = mask_head(base, rng, knobs, partial=rng.random() < knobs.partial_rate)
            if m is None:
                continue
            small = max(0.0, 1.0 - boxes[k, 3] / small_height)
            score = (
                knobs.score_mean
                - knobs.occlusion_score_drop * occlusion
                - 0.2 * small
                + rng.normal(0.0, knobs.score_noise)
            )
            score = round(float(np.clip(score, 0.05, 0.999)), 4)
            out.append(Instance(t, 0, g.class_id, masks.encode(m)[0], score))
            if rng.random() < knobs.duplicate_rate:
                dup = mask_head(base, rng, knobs, partial=True)
                if dup is not None:
                    dup_score = round(score * float(rng.uniform(0.3, 0.8)), 4)
                    out.append(Instance(t, 0, g.class_id, masks.encode(dup)[0], dup_score))
        missed_before = missed_now
        occupied = np.any(decoded, axis=0) if len(decoded) else np.zeros(size, bool)
        if world is not None:
            cx, cy = int(world.cam_x[t]), int(world.cam_y[t])
            for x0, y0, shape, cls, propensity in world.clutter:
                ix0, iy0 = x0 - cx, y0 - cy
                if (
                    ix0 >= W
                    or ix0 + shape.shape[1] <= 0
                    or rng.random() >= min(0.95, propensity * knobs.fp_scale)
                ):
                    continue
                base = np.zeros(size, bool)
                sx0, sy0 = max(ix0, 0), max(iy0, 0)
                sx1, sy1 = min(ix0 + shape.shape[1], W), min(iy0 + shape.shape[0], H)
                if sx1 <= sx0 or sy1 <= sy0:
                    continue
                base[sy0:sy1, sx0:sx1] = shape[sy0 - iy0 : sy1 - iy0, sx0 - ix0 : sx1 - ix0]
                base &= ~occupied
                m = mask_head(base, rng, knobs, partial=rng.random() < knobs.partial_rate)
                if m is None:
                    continue
                score = round(0.05 + 0.85 * float(rng.beta(2.0, 2.5)), 4)
                out.append(Instance(t, 0, cls, masks.encode(m)[0], score))
        if ignore_of[t] and rng.random() < knobs.ignore_fp:
            ignore = masks.decode_one(ignore_of[t][0].rle)
            count, comp, stats, _ = cv2.connectedComponentsWithStats(ignore, connectivity=8)
            big = [c for c in range(1, count) if stats[c, cv2.CC_STAT_AREA] >= 20]
            if big:
                c = big[int(rng.integers(len(big)))]
                m = mask_head(comp == c, rng, knobs, partial=False)
                if m is not None:
                    wide = stats[c, cv2.CC_STAT_WIDTH] > stats[c, cv2.CC_STAT_HEIGHT]
                    score = round(float(rng.uniform(0.3, 0.9)), 4)
                    out.append(
                        Instance(t, 0, CAR if wide else PEDESTRIAN, masks.encode(m)[0], score)
                    )
    return renumber(out)


# --------------------------------------------------------------------------- dataset


def _stamp(params: dict) -> str:
    return hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()


def build_dataset(
    root: Path,
    *,
    kitti_root: Path = KITTI_ROOT,
    splits: dict[str, tuple[str, ...]] = SPLITS,
    factor: int = 2,
    max_frames: int | None = None,
    seed: int = 0,
    knobs: DetectorKnobs | None = None,
) -> Path:
    """Render the frames and the rescaled GT of every sequence of ``splits`` into ``root``
    (KITTI MOTS layout per split), and simulate the detector on them. Cached per sequence:
    ``<root>/.done/<seq>.render`` and ``.det`` record the parameters each was made with, and
    only what changed is made again (other detector knobs: the detections only)."""
    knobs = knobs or DetectorKnobs()
    layout = {"version": RENDER_VERSION, "splits": {k: list(v) for k, v in splits.items()}}
    root.mkdir(parents=True, exist_ok=True)
    marker = root / "dataset.json"
    if marker.is_file():
        old = json.loads(marker.read_text())
        if old.get("layout") != layout:
            log.info("%s holds other splits or an older render: rendering again", root)
            for split in old.get("layout", {}).get("splits", {}):
                shutil.rmtree(root / split, ignore_errors=True)
            shutil.rmtree(root / ".done", ignore_errors=True)
    elif any(root.iterdir()):
        raise SystemExit(f"{root} is not empty and holds no dataset.json of this benchmark")
    marker.write_text(json.dumps({"layout": layout}, indent=1))
    done = root / ".done"
    done.mkdir(exist_ok=True)

    def stale(path: Path, stamp: str) -> bool:
        return not path.is_file() or path.read_text() != stamp

    for split, names in splits.items():
        out_split = root / split
        for seq in load_kitti_mots(
            kitti_root, sequences=list(names), seqmap="seqmaps/train.seqmap"
        ):
            render = {"seq": seq.name, "factor": factor, "max_frames": max_frames, "seed": seed}
            render_stamp = _stamp({**layout, **render})
            det_stamp = _stamp({"render": render_stamp, "knobs": asdict(knobs)})
            render_done, det_done = done / f"{seq.name}.render", done / f"{seq.name}.det"
            if not stale(render_done, render_stamp) and not stale(det_done, det_stamp):
                continue
            start = time.perf_counter()
            key = zlib.crc32(seq.name.encode())
            if stale(render_done, render_stamp):
                det_done.unlink(missing_ok=True)
                gt, n, size, world = render_sequence(
                    seq, out_split, factor=factor, max_frames=max_frames, seed=seed
                )
                render_done.write_text(render_stamp)
            else:
                (rendered,) = load_kitti_mots(out_split, sequences=[seq.name])
                gt, n, size = rendered.gt, rendered.num_frames, rendered.image_size
                world = make_world(np.random.default_rng([seed, key, 1]), *size, n)
            dets = simulate_detections(
                gt,
                num_frames=n,
                size=size,
                scale=1.0 / factor,
                knobs=knobs,
                rng=np.random.default_rng([seed, key, 4]),
                world=world,
            )
            write_detections_txt(out_split / "det" / f"{seq.name}.txt", dets, frame_base=0)
            det_done.write_text(det_stamp)
            log.info(
                "%s/%s: %d frames %dx%d, %d GT masks, %d raw detections, %.1f s",
                split,
                seq.name,
                n,
                size[1],
                size[0],
                len(gt),
                len(dets),
                time.perf_counter() - start,
            )
        seqmap = "".join(f"{s} empty 000000 {_num_frames(out_split, s) - 1:06d}\n" for s in names)
        (out_split / "seqmaps").mkdir(exist_ok=True)
        (out_split / "seqmaps" / f"{split}.seqmap").write_text(seqmap)
    return root


def dataset_fingerprint(root: Path) -> str:
    """A hash of the parameters every sequence's frames and detections were made with."""
    stamps = sorted((p.name, p.read_text()) for p in (root / ".done").glob("*.det"))
    return _stamp({"stamps": stamps})


def _num_frames(split_dir: Path, name: str) -> int:
    return len(list((split_dir / "image_02" / name).glob("*.png")))


# --------------------------------------------------------------------------- trackers


def min_area(factor: int) -> int:
    """The fusion's ``min_area`` (100 pixels at KITTI's size) at the rendered size."""
    return max(1, round(100 / factor**2))


def fuse(raw: list[Instance], *, num_frames: int, min_area: int) -> list[Instance]:
    """The chain's default fusion (conf/detector/fusion/default.yaml), for runs without it."""
    from remots.detection.fusion import fuse_detections

    fused = fuse_detections(
        raw,
        num_frames=num_frames,
        score_threshold=0.5,
        iom_threshold=0.5,
        min_area=min_area,
        classes=[CAR, PEDESTRIAN],
        class_aware=True,
        progress=False,
    )
    return renumber(fused)


def gt_match(detections: list[Instance], gt: list[Instance], num_frames: int) -> np.ndarray:
    """``(N,)`` GT obj_id of each detection (IoU >= 0.5 with a GT mask of its frame and class;
    with exclusive masks at most one qualifies), -1 for none. Indexed by ``obj_id``."""
    out = np.full(max((d.obj_id for d in detections), default=-1) + 1, -1, np.int64)
    gts = group_by_frame([g for g in gt if g.class_id in CLASSES], num_frames)
    for t, dets in enumerate(group_by_frame(detections, num_frames)):
        if not dets or not gts[t]:
            continue
        iou = masks.iou_matrix([d.rle for d in dets], [g.rle for g in gts[t]])
        for r, d in enumerate(dets):
            c = int(np.argmax(iou[r]))
            if iou[r, c] >= 0.5 and gts[t][c].class_id == d.class_id:
                out[d.obj_id] = gts[t][c].obj_id
    return out


def relabel(detections: list[Instance], track_of: dict[int, tuple[int, int]]) -> list[Instance]:
    """Tracks as MOTS instances: ``track_of[detection obj_id] = (class, track key)``; detections
    absent from it are left out. Track numbers per class follow first appearance."""
    numbers: dict[tuple[int, int], int] = {}
    count = {c: 0 for c in CLASSES}
    out = []
    for d in detections:
        if d.obj_id not in track_of:
            continue
        key = track_of[d.obj_id]
        if key not in numbers:
            numbers[key] = track_obj_id(key[0], count[key[0]])
            count[key[0]] += 1
        out.append(Instance(d.frame, numbers[key], d.class_id, d.rle))
    return out


def oracle_tracks(detections, gt, num_frames: int) -> list[Instance]:
    """Each detection takes the identity of its GT mask (IoU >= 0.5); an unmatched one becomes
    a track of its own (the oracle keeps every detection: only the association differs)."""
    match = gt_match(detections, gt, num_frames)
    return relabel(
        detections,
        {
            d.obj_id: (d.class_id, int(match[d.obj_id]) if match[d.obj_id] >= 0 else -1 - d.obj_id)
            for d in detections
        },
    )


# The BoxMOT trackers of the table: row name, BoxMOT class, settings (BoxMOT's defaults besides).
# BoT-SORT runs without its ReID branch (no ReID weights can be downloaded here) and without
# camera-motion compensation: the rendered background's shift stands in for KITTI's ego motion
# but does not move the objects, whose image trajectories are KITTI's own.
BOXMOT_TRACKERS = {
    "bytetrack": ("ByteTrack", "ByteTrack", {"frame_rate": FPS}),
    "ocsort": ("OC-SORT", "OcSort", {}),
    "botsort": (
        "BoT-SORT",
        "BotSort",
        {"frame_rate": FPS, "use_embeddings": False, "use_cmc": False},
    ),
}


def boxmot_tracks(kind: str, detections, num_frames: int, size: tuple[int, int], **kwargs):
    """A BoxMOT tracker (``BOXMOT_TRACKERS[kind]``) on the boxes of the masks,
    ``per_class=True``; each output row's detection index maps its id back to the detection's
    mask. Only the detections the tracker reports (confirmed tracks) are kept."""
    import boxmot

    logger = getattr(getattr(boxmot, "utils", None), "logger", None)
    if isinstance(logger, logging.Logger):
        logger.setLevel(logging.WARNING)  # one INFO block per tracker otherwise
    _, class_name, settings = BOXMOT_TRACKERS[kind]
    tracker = getattr(boxmot, class_name)(per_class=True, **{**settings, **kwargs})
    image = np.zeros((*size, 3), np.uint8)
    track_of: dict[int, tuple[int, int]] = {}
    for dets in group_by_frame(detections, num_frames):
        if dets:
            box = masks.bbox([d.rle for d in dets])
            array = np.column_stack(
                [
                    box[:, 0],
                    box[:, 1],
                    box[:, 0] + box[:, 2],
                    box[:, 1] + box[:, 3],
                    [d.score for d in dets],
                    [d.class_id for d in dets],
                ]
            )
        else:
            array = np.zeros((0, 6))
        result = tracker.update(array, image)
        for row in np.asarray(result).reshape(-1, 8):
            d = dets[int(row[7])]
            track_of[d.obj_id] = (d.class_id, int(row[4]))
    return relabel(detections, track_of)


def iou_link_tracks(detections, num_frames: int, *, min_iou: float = 0.0) -> list[Instance]:
    """A plain IoU linker (no flow, no appearance; Hungarian on mask IoU between adjacent
    frames, per class, links with IoU > ``min_iou`` as the chain's baseline), the baseline row
    when no run folder is there (``--skip-chain``)."""
    from scipy.optimize import linear_sum_assignment

    track_of: dict[int, tuple[int, int]] = {}
    previous: list[Instance] = []
    for dets in group_by_frame(detections, num_frames):
        links = {}
        if previous and dets:
            iou = masks.iou_matrix([p.rle for p in previous], [d.rle for d in dets])
            same = np.array([[p.class_id == d.class_id for d in dets] for p in previous])
            rows, cols = linear_sum_assignment(-(iou * same))
            for r, c in zip(rows, cols, strict=True):
                if iou[r, c] > min_iou and same[r, c]:
                    links[c] = track_of[previous[r].obj_id]
        for c, d in enumerate(dets):
            track_of[d.obj_id] = links.get(c, (d.class_id, d.obj_id))
        previous = dets
    return relabel(detections, track_of)


# --------------------------------------------------------------------------- chain


def chain_overrides(root: Path, out: Path, name: str, seed: int, factor: int) -> list[str]:
    """``track.py`` overrides of a user's run on the rendered dataset."""
    return [
        "stage=all",
        "data=kitti_mots",
        f"data.root={root}",
        "data.train_split=train",
        "data.target_split=val",
        "detector=precomputed",
        "detector.path='{seq_dir}/det/{seq}.txt'",
        f"detector.fusion.min_area={min_area(factor)}",
        f"paths.output_root={out / 'runs'}",
        f"run_name={name}",
        f"seed={seed}",
        "report.overlays.enabled=false",
        "model.data.inter_target_epochs=2.5",  # see the module's docstring
    ]


def run_chain(overrides: list[str], log_path: Path) -> tuple[float, float]:
    """``python track.py <overrides>`` as a subprocess, its output in ``log_path``; returns its
    wall seconds and peak RSS in MB. A failure prints the log's tail and stops the benchmark."""
    command = [sys.executable, str(ROOT / "track.py"), *overrides]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    log.info("chain: %s", shlex.join(command))
    start = time.perf_counter()
    with open(log_path, "w") as f:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        tail = log_path.read_text(errors="replace").splitlines()[-30:]
        raise SystemExit(
            f"the chain failed (exit {process.returncode}), log {log_path}:\n" + "\n".join(tail)
        )
    return seconds, usage.ru_maxrss / 1024


def theta_short_of(run_dir: Path, sequences) -> list[dict]:
    """theta_short per sequence and class from ``tracklets_short/<seq>.json``: the estimate
    (``tracker.theta_short_statistic`` of the intra-frame similarities; None with fewer than two
    pairs) and the value used (None: no gate)."""
    rows = []
    for seq in sequences:
        path = run_dir / "tracklets_short" / f"{seq}.json"
        if not path.is_file():
            continue
        meta = json.loads(path.read_text())
        used = meta.get("theta_short") or {}
        estimates = meta.get("theta_short_estimate")  # the stage's own statistic
        for cls, stats in (meta.get("intra_frame_similarity") or {}).items():
            if estimates is not None:
                estimate = estimates.get(cls)
            elif stats.get("num_pairs", 0) >= 2:
                estimate = stats["mean"] + 3.0 * stats["std"]
            else:
                estimate = None
            rows.append(
                {
                    "sequence": seq,
                    "class": CLASSES.get(int(cls), cls),
                    "pairs": stats.get("num_pairs"),
                    "estimate": estimate,
                    "used": used.get(cls),
                    "appearance": meta.get("use_appearance"),
                }
            )
    return rows


def theta_line(name: str, theta_rows: list[dict]) -> str:
    """One line: the theta_short estimate of every target sequence and class, whether the gate
    of Eq. (2) is used, and the sequence-classes left without it (estimate >= 1 or too few
    pairs)."""
    estimates = ", ".join(
        f"{t['sequence']}/{t['class']} "
        + (f"{t['estimate']:.3f}" if t["estimate"] is not None else "n/a")
        for t in theta_rows
    )
    appearance = any(t["appearance"] for t in theta_rows)
    line = f"theta_short [{name}] ({'Eq. 2 gate on' if appearance else 'not used: flow-IoU'}): "
    line += estimates or "no tracklets_short/<seq>.json"
    without = [
        f"{t['sequence']}/{t['class']}"
        for t in theta_rows
        if t["estimate"] is None or t["estimate"] >= 1.0
    ]
    if without:
        line += "; estimate >= 1 or missing (no gate) on " + ", ".join(without)
    return line


# --------------------------------------------------------------------------- evaluation


def purity(tracks: list[Instance], match_of, class_id: int) -> tuple[float, int]:
    """Share of the class's tracks whose GT-matched masks all hold one identity (over the tracks
    with a matched mask), and the number of tracks of the class."""
    members: dict[int, set[int]] = {}
    ids = set()
    for inst in tracks:
        if inst.class_id != class_id:
            continue
        ids.add(inst.obj_id)
        gid = match_of(inst)
        if gid >= 0:
            members.setdefault(inst.obj_id, set()).add(gid)
    value = float(np.mean([len(v) == 1 for v in members.values()])) if members else float("nan")
    return value, len(ids)


def evaluate_rows(gt_seqs, rows: dict[str, dict[str, list[Instance]]], detections) -> dict:
    """``{row: {class: metrics}}`` with HOTA, AssA, DetA, IDF1, sMOTSA, IDSW, purity, tracks."""
    from remots.eval import evaluate

    lookup: dict[tuple[str, int, bytes], int] = {}
    for seq in gt_seqs:
        match = gt_match(detections[seq.name], seq.gt, seq.num_frames)
        for d in detections[seq.name]:
            lookup[(seq.name, d.frame, d.rle["counts"])] = int(match[d.obj_id])
    out = {}
    for row, tracks in rows.items():
        result = evaluate(
            gt_seqs, tracks, classes=("car", "pedestrian"), benchmark="kitti_mots"
        ).combined
        out[row] = {}
        for class_id, cls in CLASSES.items():
            m = result[cls]
            pure, count, weights = [], 0, []
            for seq in gt_seqs:
                missing = [
                    t
                    for t in tracks[seq.name]
                    if (seq.name, t.frame, t.rle["counts"]) not in lookup
                ]
                if missing:  # masks that are not the detections': match them now
                    match = gt_match(
                        [t.with_(obj_id=k) for k, t in enumerate(missing)], seq.gt, seq.num_frames
                    )
                    for k, t in enumerate(missing):
                        lookup[(seq.name, t.frame, t.rle["counts"])] = int(match[k])
                p, n = purity(
                    tracks[seq.name],
                    lambda t, s=seq.name: lookup[(s, t.frame, t.rle["counts"])],
                    class_id,
                )
                count += n
                if not np.isnan(p):
                    pure.append(p)
                    weights.append(n)
            out[row][cls] = {
                "HOTA": m["HOTA"],
                "DetA": m["DetA"],
                "AssA": m["AssA"],
                "IDF1": m["IDF1"],
                "sMOTSA": m["sMOTSA"],
                "IDSW": int(m["IDSW"]),
                "purity": float(np.average(pure, weights=weights)) if pure else float("nan"),
                "tracks": count,
            }
    return out


COLUMNS = ("HOTA", "AssA", "DetA", "IDF1", "sMOTSA", "IDSW", "purity", "tracks")


def markdown_tables(metrics: dict) -> str:
    blocks = []
    for cls in CLASSES.values():
        lines = [
            f"**{cls}**",
            "",
            "| row | " + " | ".join(COLUMNS) + " |",
            "|---|" + "---|" * len(COLUMNS),
        ]
        for row, per_class in metrics.items():
            m = per_class[cls]
            cells = [str(m[c]) if c in ("IDSW", "tracks") else f"{m[c]:.3f}" for c in COLUMNS]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def gap_closed(metrics: dict, row: str, metric: str = "IDF1") -> dict:
    """Share of the ByteTrack -> oracle gap in ``metric`` that ``row`` closes, per class."""
    if "ByteTrack" not in metrics or "oracle" not in metrics or row not in metrics:
        return {}
    out = {}
    for cls in CLASSES.values():
        low, high = metrics["ByteTrack"][cls][metric], metrics["oracle"][cls][metric]
        value = metrics[row][cls][metric]
        out[cls] = (value - low) / (high - low) if high > low else float("nan")
    return out


# --------------------------------------------------------------------------- main


def parse_encoders(entries: list[str]) -> list[tuple[str, list[str]]]:
    out = []
    for entry in entries:
        name, _, rest = entry.partition("=")
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise SystemExit(f"--encoders entry {entry!r}: expected NAME=OVERRIDES")
        out.append((name, shlex.split(rest)))
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/remots-kitti-semireal/data"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/remots-kitti-semireal/out"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--downscale", type=int, default=2, help="KITTI's frame size / the rendered one"
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help="quick mode: the first N frames of every sequence, and at most "
        "--quick-steps training steps per phase",
    )
    parser.add_argument("--quick-steps", type=int, default=60)
    parser.add_argument("--chain-args", default="", help="extra track.py overrides, every run")
    parser.add_argument(
        "--encoders",
        nargs="*",
        default=["remots="],
        help="NAME=OVERRIDES entries: one chain run (and its rows) per entry",
    )
    parser.add_argument("--skip-chain", action="store_true", help="use finished run folders only")
    parser.add_argument(
        "--trackers",
        nargs="+",
        choices=sorted(BOXMOT_TRACKERS),
        default=list(BOXMOT_TRACKERS),
        help="the BoxMOT trackers run on the same detections (optional dependency)",
    )
    parser.add_argument("--no-boxmot", action="store_true", help="no BoxMOT tracker rows")
    parser.add_argument(
        "--no-bytetrack", dest="no_boxmot", action="store_true", help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    cv2.setNumThreads(1)  # this process renders and evaluates on one core; the chain takes its own
    start = time.perf_counter()
    timings: dict[str, float] = {}

    build_dataset(args.root, factor=args.downscale, max_frames=args.max_frames, seed=args.seed)
    timings["render + detector simulation"] = time.perf_counter() - start
    args.out.mkdir(parents=True, exist_ok=True)

    encoders = parse_encoders(args.encoders)
    fingerprint = dataset_fingerprint(args.root)
    run_dirs: dict[str, Path] = {}
    chain_rss: dict[str, float] = {}
    for name, extra in encoders:
        overrides = chain_overrides(args.root, args.out, name, args.seed, args.downscale)
        if args.max_frames is not None:  # quick mode: a fixed, small step count for both phases
            overrides += [
                f"trainer.max_steps={args.quick_steps}",
                "model.data.inter_target_epochs=null",
            ]
        overrides += extra + shlex.split(args.chain_args)
        run_dir = args.out / "runs" / name
        # The chain's manifest hashes the config, not the files it reads: a run folder made
        # from other frames or detections would be skipped through as finished.
        made_from = args.out / "runs" / f"{name}.dataset"
        fresh = made_from.is_file() and made_from.read_text() == fingerprint
        if not args.skip_chain:
            if run_dir.exists() and not fresh:
                log.info("%s was made from another render: removed", run_dir)
                shutil.rmtree(run_dir)
            made_from.parent.mkdir(parents=True, exist_ok=True)
            made_from.write_text(fingerprint)
            seconds, rss = run_chain(overrides, args.out / f"chain-{name}.log")
            timings[f"chain {name}"] = seconds
            chain_rss[name] = rss
            fresh = True
        if (run_dir / "results").is_dir() and fresh:
            run_dirs[name] = run_dir
        else:
            log.warning("no finished run folder of this render in %s: rows left out", run_dir)

    target = args.root / "val"
    gt_seqs = [
        s for s in load_kitti_mots(target, sequences=list(TARGET_SEQUENCES)) if s.num_frames > 0
    ]
    names = [s.name for s in gt_seqs]
    detections, source = {}, None
    for seq in gt_seqs:
        first = next(iter(run_dirs.values()), None)
        path = first / "detections" / f"{seq.name}.txt" if first else None
        if path is not None and path.is_file():
            detections[seq.name] = read_detections_txt(
                path, frame_base=0, num_frames=seq.num_frames, image_size=seq.image_size
            )
            source = f"{first.name}/detections (the chain's fusion)"
        else:
            raw = read_detections_txt(
                target / "det" / f"{seq.name}.txt",
                frame_base=0,
                num_frames=seq.num_frames,
                image_size=seq.image_size,
            )
            detections[seq.name] = fuse(
                raw, num_frames=seq.num_frames, min_area=min_area(args.downscale)
            )
            source = "fused here (remots.detection.fusion, the chain's defaults)"

    rows: dict[str, dict[str, list[Instance]]] = {}

    def read_variant(run_dir: Path, folder: str) -> dict[str, list[Instance]]:
        return {
            s.name: read_mots_txt(
                run_dir / folder / f"{s.name}.txt",
                frame_base=0,
                num_frames=s.num_frames,
                image_size=s.image_size,
            )
            for s in gt_seqs
        }

    t0 = time.perf_counter()
    if run_dirs:
        rows["IoU-only baseline"] = read_variant(next(iter(run_dirs.values())), "baseline")
    else:
        rows["IoU-only (benchmark's linker)"] = {
            s.name: iou_link_tracks(detections[s.name], s.num_frames) for s in gt_seqs
        }
    for name, run_dir in run_dirs.items():
        suffix = f" [{name}]" if len(run_dirs) > 1 else ""
        rows[f"short tracklets{suffix}"] = read_variant(run_dir, "tracklets_short")
        rows[f"ReMOTS merged{suffix}"] = read_variant(run_dir, "results")
    boxmot_note = None
    if args.no_boxmot:
        boxmot_note = "BoxMOT trackers: left out (--no-boxmot)"
    else:
        try:
            import boxmot  # noqa: F401
        except ImportError:
            boxmot_note = (
                "BoxMOT trackers: skipped, BoxMOT is not installed "
                "(pip install --no-deps boxmot==25.0.0 && pip install lapx filterpy)"
            )
        else:
            for kind in args.trackers:
                rows[BOXMOT_TRACKERS[kind][0]] = {
                    s.name: boxmot_tracks(kind, detections[s.name], s.num_frames, s.image_size)
                    for s in gt_seqs
                }
    if boxmot_note:
        print(boxmot_note)
    rows["oracle"] = {
        s.name: oracle_tracks(detections[s.name], s.gt, s.num_frames) for s in gt_seqs
    }
    timings["BoxMOT trackers + oracle"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    metrics = evaluate_rows(gt_seqs, rows, detections)
    timings["evaluation"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - start
    peak = {
        "benchmark": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **{f"chain {name}": rss for name, rss in chain_rss.items()},
    }
    thetas = {name: theta_short_of(run_dir, names) for name, run_dir in run_dirs.items()}
    merged_rows = [r for r in rows if r.startswith("ReMOTS merged")]
    report = {
        "root": str(args.root),
        "downscale": args.downscale,
        "max_frames": args.max_frames,
        "seed": args.seed,
        "train_sequences": list(TRAIN_SEQUENCES),
        "target_sequences": names,
        "detections": source,
        "encoders": {name: extra for name, extra in encoders},
        "chain_args": args.chain_args,
        "metrics": metrics,
        "idf1_gap_closed": {r: gap_closed(metrics, r) for r in merged_rows},
        "theta_short": thetas,
        "seconds": timings,
        "peak_rss_mb": peak,
    }
    md = [
        f"KITTI MOTS semi-real (rendered at 1/{args.downscale} of KITTI's size"
        + (f", first {args.max_frames} frames" if args.max_frames else "")
        + f", seed {args.seed}); targets {' '.join(names)}; training videos "
        + " ".join(TRAIN_SEQUENCES)
        + f"; detections: {source}",
        "",
        markdown_tables(metrics),
    ]
    for row, closed in report["idf1_gap_closed"].items():
        if closed:
            md.append(
                f"\n{row} closes "
                + ", ".join(f"{100 * v:.0f} % ({c})" for c, v in closed.items())
                + " of the IDF1 gap between ByteTrack and the oracle."
            )
    for name, theta_rows in thetas.items():
        md.append(f"\n{theta_line(name, theta_rows)}")
    md.append(
        "\nwall time: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + "; peak RSS: "
        + ", ".join(f"{k} {v:.0f} MB" for k, v in peak.items())
    )
    text = "\n".join(md)
    print("\n" + text)
    (args.out / "kitti_semireal.md").write_text(text + "\n")
    (args.out / "kitti_semireal.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
