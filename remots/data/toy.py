"""Tiny deterministic MOTS scenes for the encoder's tests and measurements: pedestrians drawn as
textured two-colour figures walking over a textured background, with lighting drift, scale change
and occlusion (exclusive masks), written in the MOTSChallenge layout.

Not the project's synthetic dataset (``remots.synthetic``): a self-contained stand-in so the
encoder can be tested without it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from remots import masks
from remots.io.atomic import atomic_write_text
from remots.io.detections import write_detections_txt
from remots.io.layouts import write_seqinfo
from remots.io.mots import PEDESTRIAN, Instance, write_mots_txt


def _person_sprite(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """An ``(h, w, 3)`` BGR figure: shirt and trousers colours, a stripe pattern, a head."""
    top, bottom = rng.integers(30, 226, 3), rng.integers(30, 226, 3)
    img = np.empty((h, w, 3), np.uint8)
    head = max(2, h // 6)
    img[:head] = (180, 190, 220)
    split = head + (h - head) // 2
    img[head:split] = top
    img[split:] = bottom
    period = int(rng.integers(3, 8))
    stripe = rng.integers(0, 256, 3)
    if rng.random() < 0.5:
        img[head:split][(np.arange(split - head) // period) % 2 == 0] = stripe
    else:
        img[head:split, (np.arange(w) // period) % 2 == 0] = stripe
    return img


def render_sequence(
    rng: np.random.Generator, *, num_frames: int, height: int, width: int, num_objects: int
) -> tuple[list[np.ndarray], list[Instance]]:
    """Frames ``(H, W, 3)`` BGR and the exclusive GT instances (obj_id 2001, 2002, ...)."""
    yy, xx = np.mgrid[0:height, 0:width]
    background = np.stack(
        [
            100 + 40 * np.sin(xx / rng.uniform(5, 20) + rng.uniform(0, 6)) * np.cos(yy / 17.0),
            110 + 30 * np.cos(yy / rng.uniform(5, 20)),
            90 + 35 * np.sin((xx + yy) / rng.uniform(8, 30)),
        ],
        -1,
    )
    base_h = height * 0.35
    objs = []
    for k in range(num_objects):
        h = int(base_h * rng.uniform(0.8, 1.2))
        w = max(4, int(h * rng.uniform(0.35, 0.45)))
        objs.append(
            {
                "sprite": _person_sprite(rng, h, w),
                "x": rng.uniform(0, width - w),
                "y": rng.uniform(height * 0.3, height - h),
                "vx": rng.uniform(-3, 3),
                "vy": rng.uniform(-0.6, 0.6),
                "depth": rng.uniform(0, 1),
                "id": PEDESTRIAN * 1000 + k + 1,
                "phase": rng.uniform(0, 6.28),
                "light": rng.uniform(0.6, 1.3),
            }
        )
    frames, instances = [], []
    for t in range(num_frames):
        gain = 1.0 + 0.25 * np.sin(t / 9.0)
        frame = np.clip(background * gain, 0, 255).astype(np.uint8)
        owner = np.zeros((height, width), np.int32)
        for o in sorted(objs, key=lambda o: o["depth"]):  # far first, near ones paint over
            scale = 1.0 + 0.3 * np.sin(t / 15.0 + o["phase"])
            sh, sw = o["sprite"].shape[:2]
            h, w = max(4, int(sh * scale)), max(3, int(sw * scale))
            sprite = cv2.resize(o["sprite"], (w, h), interpolation=cv2.INTER_NEAREST)
            light = o["light"] * (1.0 + 0.3 * np.sin(t / 7.0 + o["phase"]))
            sprite = np.clip(sprite.astype(np.float32) * light, 0, 255).astype(np.uint8)
            x0, y0 = int(o["x"]), int(o["y"])
            xa, ya, xb, yb = max(0, x0), max(0, y0), min(width, x0 + w), min(height, y0 + h)
            if xb > xa and yb > ya:
                frame[ya:yb, xa:xb] = sprite[ya - y0 : yb - y0, xa - x0 : xb - x0]
                owner[ya:yb, xa:xb] = o["id"]
            o["x"] += o["vx"]
            o["y"] += o["vy"]
            if not -w / 2 < o["x"] < width - w / 2:
                o["vx"] = -o["vx"]
            if not 0 < o["y"] < height - h:
                o["vy"] = -o["vy"]
        frames.append(frame)
        for o in sorted(objs, key=lambda o: o["id"]):
            m = owner == o["id"]
            if m.sum() >= 30:
                instances.append(Instance(t, o["id"], PEDESTRIAN, masks.encode(m)[0]))
    return frames, instances


def write_toy_dataset(
    root: str | Path,
    *,
    seed: int = 0,
    num_train: int = 2,
    num_target: int = 2,
    num_frames: int = 40,
    height: int = 120,
    width: int = 200,
    num_objects: int = 6,
) -> Path:
    """Write ``<root>/train/TOY-NN`` and ``<root>/test/TOY-NN`` (img1/*.jpg, gt/gt.txt,
    seqinfo.ini), then ``<root>/COMPLETE``. Same arguments, same files."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    k = 0
    for split, count in (("train", num_train), ("test", num_target)):
        for _ in range(count):
            k += 1
            name = f"TOY-{k:02d}"
            seq_dir = root / split / name
            frames, gt = render_sequence(
                rng, num_frames=num_frames, height=height, width=width, num_objects=num_objects
            )
            (seq_dir / "img1").mkdir(parents=True, exist_ok=True)
            for t, frame in enumerate(frames):
                cv2.imwrite(
                    str(seq_dir / "img1" / f"{t + 1:06d}.jpg"),
                    frame,
                    [cv2.IMWRITE_JPEG_QUALITY, 95],
                )
            write_mots_txt(seq_dir / "gt" / "gt.txt", gt, frame_base=1)
            write_seqinfo(seq_dir, name=name, num_frames=num_frames, width=width, height=height)
    atomic_write_text(root / "COMPLETE", "toy\n")
    return root


def detections_from_gt(
    gt: list[Instance], *, rng: np.random.Generator, drop: float = 0.0
) -> tuple[list[Instance], np.ndarray]:
    """Stand-in detections: the GT masks (a share ``drop`` removed) with random scores, in the
    detection order (frame, -score) with running obj_id. Returns them and ``(N,)`` the GT obj_id
    of each, for measurements."""
    kept = [g for g in gt if rng.random() >= drop]
    scores = rng.uniform(0.5, 1.0, len(kept))
    order = sorted(range(len(kept)), key=lambda i: (kept[i].frame, -scores[i]))
    dets = [kept[i].with_(obj_id=n, score=float(scores[i])) for n, i in enumerate(order)]
    return dets, np.array([kept[i].obj_id for i in order], np.int64)


def write_detections(path: str | Path, detections: list[Instance], *, frame_base: int) -> None:
    write_detections_txt(path, detections, frame_base=frame_base)
