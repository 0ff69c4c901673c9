"""Deterministic synthetic MOTS videos: the embedded default dataset.

``generate_dataset`` writes training and target sequences in MOTSChallenge layout::

    <root>/
      train/SYN-TRAIN-01/{img1/%06d.jpg, seqinfo.ini, gt/gt.txt, det/det.txt, det/det2.txt}
      test/SYN-TEST-01/...
      seqmaps/SYN-train.txt, seqmaps/SYN-test.txt     (MOTChallenge seqmaps)
      stats.json                                       (the generator's knobs and the statistics)
      COMPLETE                                         (present only once everything is written)

Each sequence is a panning camera over a textured hall (wall, floor, background clutter, a lamp
gradient) in which ``num_objects`` person-like figures walk. An identity keeps its appearance for
the whole sequence (shirt and trouser colours, a stripe / patch pattern, sleeves, a bag, hair,
skin, body size) while its pixels change: walking deforms the legs and arms, the lamp gradient and
a per-frame gain change its brightness, pixel noise and JPEG compression are added. Shirt colours
come from a small palette (``num_shirt_colours``) so several identities look alike and must be told
apart by the rest of their appearance.

Motion makes the videos hard for a tracker without appearance: people walk in both directions at
different depths (their boxes overlap and their horizontal order swaps), nearer people occlude
farther ones, full-height pillars in the foreground hide walkers for 2-15 frames
(``occlusion_frames``: each pillar is sized so that one chosen walker disappears for that long),
some walkers enter through the image borders after the first frame and leave before the last,
some turn around, and the camera pans. ``track_hardness`` counts the crossings and
reappearances from the ground truth itself.

The ground truth is pixel-exact and exclusive (the nearest object owns a pixel; pillars own theirs),
class 2 (pedestrian), ``obj_id = 2000 + identity number`` (1-based), 1-based frames; a mask is
annotated when at least ``min_visible_area`` pixels are visible. Two simulated detectors write
TrackR-CNN-style raw detections (``remots.io.detections``) that behave like Mask R-CNN outputs:
misses (more likely the more a person is occluded or cut by the border, and in streaks),
false positives on background clutter (the same clutter fires again in later frames), masks
resampled through a ``mask_resolution`` x ``mask_resolution`` grid from a jittered box with a
jittered threshold (shift, erosion, dilation, blurred outline), partial masks, masks that spill
over the nearer person hiding part of the detected one (overlapping that person's detection),
duplicates, and scores that are high for people and lower for clutter.
Raw detections may overlap and duplicate: the fusion stage removes that.

Randomness comes only from ``np.random.default_rng`` seeded with ``[seed, split, sequence,
stream]``: the same knobs give byte-identical files, and changing a detector's knobs does not
change the frames or the ground truth.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from remots import masks
from remots.errors import ConfigError, InputError
from remots.io.atomic import atomic_write_json, atomic_write_text
from remots.io.detections import renumber, write_detections_txt
from remots.io.instances import PEDESTRIAN, Instance, group_by_frame, sort_instances
from remots.io.layouts import Video, write_seqinfo, write_seqmap
from remots.io.mots import write_mots_txt

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
GT_ID_BASE = PEDESTRIAN * 1000
# (split folder, sequence name prefix, rng stream code)
SPLITS = (("train", "SYN-TRAIN", 1), ("test", "SYN-TEST", 2))

# The keys a detector's knobs may set, with the defaults of ``det``.
DETECTOR_DEFAULTS: dict[str, float | int | list[float]] = {
    "miss_rate": 0.04,  # miss probability of a fully visible person
    "occlusion_miss": 0.6,  # + occlusion_miss * (1 - visible fraction) ** 3
    "miss_streak": 0.2,  # + this when the person was missed in the frame before
    "fp_per_frame": 0.6,  # expected false positives on background clutter per frame
    "mask_resolution": 28,  # side of the mask head's grid (Mask R-CNN: 28)
    "box_jitter": 0.03,  # std of each box side, as a fraction of the box size
    "threshold_noise": 0.08,  # std of the mask threshold around 0.5 (erosion / dilation)
    "partial_rate": 0.05,  # probability that only the upper or one side part is segmented
    "amodal_rate": 0.15,  # probability that the part hidden by nearer people is segmented too
    "duplicate_rate": 0.04,  # probability of a second, partial, lower-scored mask of a person
    "score_mean": 0.95,  # score of a fully visible person
    "score_noise": 0.04,  # std of the person score
    "occlusion_score_drop": 0.4,  # score drop of a fully occluded person
    "fp_score": [0.05, 0.8],  # range of the false positives' scores
}

# The two detectors written when ``detectors`` is None (as in conf/data/synthetic.yaml): ``det``
# like Mask R-CNN X152, and a weaker ``det2`` with more misses and false positives, coarser masks.
DEFAULT_DETECTORS: dict[str, dict] = {
    "det": {},
    "det2": {
        "miss_rate": 0.08,
        "occlusion_miss": 0.8,
        "fp_per_frame": 1.2,
        "mask_resolution": 14,
        "box_jitter": 0.06,
        "threshold_noise": 0.12,
        "partial_rate": 0.1,
        "amodal_rate": 0.05,
        "duplicate_rate": 0.08,
        "score_mean": 0.9,
        "score_noise": 0.07,
        "occlusion_score_drop": 0.5,
        "fp_score": [0.05, 0.7],
    },
}

# BGR colours. Shirts are drawn from a few of these per sequence so that identities share them.
SHIRT_COLOURS = np.array(
    [
        [40, 40, 200],
        [200, 80, 30],
        [40, 160, 40],
        [30, 200, 220],
        [230, 230, 230],
        [35, 35, 35],
        [30, 120, 240],
        [150, 40, 130],
        [140, 140, 140],
        [150, 150, 20],
    ],
    np.float64,
)
TROUSER_COLOURS = np.array(
    [
        [110, 60, 30],
        [25, 25, 25],
        [140, 180, 200],
        [100, 100, 100],
        [30, 50, 80],
        [50, 100, 90],
        [200, 200, 200],
        [40, 30, 120],
        [90, 40, 60],
        [60, 60, 150],
    ],
    np.float64,
)
SKIN_COLOURS = np.array([[150, 180, 230], [110, 150, 200], [70, 110, 160], [45, 75, 115]], float)
HAIR_COLOURS = np.array([[20, 20, 25], [30, 60, 100], [60, 120, 170], [150, 150, 150]], float)
PATTERNS = ("plain", "h_stripes", "v_stripes", "patch")
NOISE_MARGIN = 64
OCCLUDED = 0.25  # a GT mask counts as occluded when this fraction of its walker is hidden


# --------------------------------------------------------------------------- scene description


@dataclass(frozen=True)
class _Identity:
    """The persistent appearance of one walker."""

    shirt: tuple
    shirt_index: int
    trousers: tuple
    pattern: str
    pattern_colour: tuple
    stripe_period: float  # fraction of body height
    long_sleeves: bool
    bag_colour: tuple | None
    skin: tuple
    hair: tuple
    shoes: tuple
    size: float  # body height factor


@dataclass(frozen=True)
class _Walk:
    """A walker's trajectory in world coordinates, one entry per frame."""

    x: np.ndarray  # (T,) float, foot centre in world pixels
    foot_y: np.ndarray  # (T,) float, foot line in image rows (depth: larger is nearer)
    height: np.ndarray  # (T,) int, body height in pixels
    facing: np.ndarray  # (T,) int, +1 walking right, -1 walking left
    phase: np.ndarray  # (T,) float, gait phase in radians
    speed: float


@dataclass(frozen=True)
class _Clutter:
    """A background object (plant, bin, poster) in world coordinates; where false positives fire."""

    x0: int
    y0: int
    mask: np.ndarray  # (h, w) bool


@dataclass(frozen=True)
class _Scene:
    background: np.ndarray  # (H, W_world, 3) uint8, clutter drawn in
    lamp: np.ndarray  # (W_world,) float32 brightness factor along x
    pillar_columns: np.ndarray  # (W_world,) bool, columns covered by a foreground pillar
    pillar_image: np.ndarray  # (H, W_world, 3) uint8
    clutter: list[_Clutter]
    cam_x: np.ndarray  # (T,) int, left image column in world coordinates
    identities: list[_Identity]
    walks: list[_Walk]
    gain: np.ndarray  # (T,) float, global lighting gain per frame
    noise: np.ndarray  # (H + NOISE_MARGIN, W + NOISE_MARGIN, 3) float32 pixel noise bank


# --------------------------------------------------------------------------- public API


def generate_dataset(
    root: str | Path,
    *,
    seed: int = 0,
    num_train: int = 2,
    num_target: int = 2,
    num_frames: int = 80,
    height: int = 270,
    width: int = 480,
    num_objects: int = 8,
    fps: float = 30.0,
    jpeg_quality: int = 90,
    pan_px: int = 120,
    walk_speed: Sequence[float] = (2.0, 3.5),
    person_height: Sequence[float] = (0.26, 0.46),
    size_jitter: float = 0.1,
    num_shirt_colours: int = 3,
    entry_fraction: float = 0.4,
    turn_probability: float = 0.01,
    num_occluders: int = 2,
    occlusion_frames: Sequence[int] = (2, 15),
    num_clutter: int = 10,
    lighting_noise: float = 0.06,
    pixel_noise: float = 3.0,
    min_visible_area: int = 40,
    detectors: Mapping[str, Mapping] | None = None,
) -> dict:
    """Generate the synthetic MOTS dataset into ``root`` and return its statistics.

    The folder is built beside ``root`` and renamed onto it when complete (``root/COMPLETE`` is
    inside before the rename), so a reader never sees half a dataset. If ``root`` already holds
    a complete dataset made with the same knobs it is kept and its statistics are returned.

    Args:
        root: the dataset folder (``train/``, ``test/``, ``seqmaps/``, ``stats.json``).
        seed: seeds every random choice; same knobs and seed give byte-identical files.
        num_train, num_target: sequences in ``train/`` (GT triplets) and ``test/`` (refined).
        num_frames, height, width: frames per sequence and image size.
        num_objects: identities per sequence (not all visible at once: some enter, some leave).
        fps: frame rate written to seqinfo.ini.
        jpeg_quality: OpenCV JPEG quality of the frames.
        pan_px: camera pan over the sequence, in pixels (the world is this much wider).
        walk_speed: walking speed range, pixels per frame.
        person_height: body height as a fraction of the image height, farthest and nearest.
        size_jitter: identity body-size factor range, 1 +- size_jitter.
        num_shirt_colours: shirt colours per sequence, shared by the identities.
        entry_fraction: fraction of identities that enter through a border after frame 1.
        turn_probability: probability per frame that a walker turns around.
        num_occluders: full-height foreground pillars per sequence.
        occlusion_frames: ``[min, max]`` frames for which a pillar hides the walker it is sized on.
        num_clutter: background clutter objects per sequence (false-positive bait).
        lighting_noise: std of the per-frame global gain and of each walker's colour gain.
        pixel_noise: std of the Gaussian pixel noise (intensity levels).
        min_visible_area: a mask with fewer visible pixels is not annotated and not detected.
        detectors: detector name (the file ``det/<name>.txt``) -> knobs overriding
            ``DETECTOR_DEFAULTS``; None gives ``DEFAULT_DETECTORS`` (``det`` and a noisier
            ``det2``).

    Returns:
        ``{"params", "splits": {split: stats}, "sequences": {name: stats}}`` as in stats.json
        (see ``track_hardness``, ``detection_stats`` and ``merge_stats``).
    """
    params = _check_params(
        seed=seed,
        num_train=num_train,
        num_target=num_target,
        num_frames=num_frames,
        height=height,
        width=width,
        num_objects=num_objects,
        fps=fps,
        jpeg_quality=jpeg_quality,
        pan_px=pan_px,
        walk_speed=walk_speed,
        person_height=person_height,
        size_jitter=size_jitter,
        num_shirt_colours=num_shirt_colours,
        entry_fraction=entry_fraction,
        turn_probability=turn_probability,
        num_occluders=num_occluders,
        occlusion_frames=occlusion_frames,
        num_clutter=num_clutter,
        lighting_noise=lighting_noise,
        pixel_noise=pixel_noise,
        min_visible_area=min_visible_area,
        detectors=detectors,
    )
    root = Path(root)
    existing = _complete_stats(root)
    if existing is not None and existing.get("params") == params:
        log.info("synthetic dataset %s is complete with the same knobs: kept", root)
        return existing
    if root.exists() and not _is_ours(root):
        raise InputError(
            "refusing to overwrite a folder that is not a synthetic dataset "
            "(no stats.json/COMPLETE); choose another data.root",
            root,
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", suffix=".tmp", dir=root.parent))
    try:
        stats = _generate_into(tmp, params)
        atomic_write_json(tmp / "stats.json", stats)
        atomic_write_text(tmp / "COMPLETE", f"remots synthetic v{FORMAT_VERSION}\n")
        _publish(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("generated %s in %.1f s", root, time.perf_counter() - start)
    return stats


def track_hardness(gt: Sequence[Instance], *, num_frames: int) -> dict:
    """How hard the ground truth is for a tracker without appearance.

    Args:
        gt: the masks of one sequence (0-based frames; ``obj_id`` is the track).
        num_frames: the sequence length.

    Returns a dict of
        gt_masks, gt_tracks;
        crossing_tracks: tracks that cross another track: in some frame where both are visible
            their boxes overlap, and the sign of their box-centre x difference is positive in one
            common frame and negative in another (their horizontal order swaps);
        reappearing_tracks: tracks with a gap of >= 2 frames between two visible frames (they
            reappear after an occlusion, or after leaving and coming back);
        occlusion_gaps, occlusion_gap_min, occlusion_gap_max: the number of such gaps and their
            length range in frames (0 when there are none);
        entering_tracks / leaving_tracks: first visible after the first frame / last visible
            before the last frame;
        track_frames: visible frames summed over tracks; mean_track_length: its mean per track.
    """
    tracks: dict[int, list[Instance]] = {}
    for inst in gt:
        tracks.setdefault(inst.obj_id, []).append(inst)
    boxes: dict[int, dict[int, np.ndarray]] = {}
    gaps: list[int] = []
    reappearing = entering = leaving = 0
    for obj_id, insts in tracks.items():
        frames = np.array(sorted(i.frame for i in insts))
        track_gaps = np.diff(frames) - 1
        long_gaps = track_gaps[track_gaps >= 2]
        gaps.extend(int(g) for g in long_gaps)
        reappearing += bool(len(long_gaps))
        entering += bool(frames[0] > 0)
        leaving += bool(frames[-1] < num_frames - 1)
        xywh = masks.bbox([i.rle for i in insts])
        boxes[obj_id] = {i.frame: b for i, b in zip(insts, xywh, strict=True)}
    ids = sorted(boxes)
    crossing: set[int] = set()
    for a_pos, a in enumerate(ids):
        for b in ids[a_pos + 1 :]:
            common = sorted(boxes[a].keys() & boxes[b].keys())
            if len(common) < 2:
                continue
            ba = np.stack([boxes[a][t] for t in common])
            bb = np.stack([boxes[b][t] for t in common])
            overlap = (
                (ba[:, 0] < bb[:, 0] + bb[:, 2])
                & (bb[:, 0] < ba[:, 0] + ba[:, 2])
                & (ba[:, 1] < bb[:, 1] + bb[:, 3])
                & (bb[:, 1] < ba[:, 1] + ba[:, 3])
            )
            order = np.sign((ba[:, 0] + ba[:, 2] / 2) - (bb[:, 0] + bb[:, 2] / 2))
            if overlap.any() and (order > 0).any() and (order < 0).any():
                crossing.update((a, b))
    track_frames = len(gt)
    return {
        "gt_masks": len(gt),
        "gt_tracks": len(tracks),
        "crossing_tracks": len(crossing),
        "reappearing_tracks": reappearing,
        "occlusion_gaps": len(gaps),
        "occlusion_gap_min": min(gaps, default=0),
        "occlusion_gap_max": max(gaps, default=0),
        "entering_tracks": entering,
        "leaving_tracks": leaving,
        "track_frames": track_frames,
        "mean_track_length": round(track_frames / len(tracks), 3) if tracks else 0.0,
    }


def detection_stats(
    detections: Sequence[Instance],
    gt: Sequence[Instance],
    *,
    num_frames: int,
    iou_threshold: float = 0.5,
) -> dict:
    """Count detections that cover a GT mask (``tp_like``: IoU >= ``iou_threshold`` with one)
    and those that cover none (``fp``), and the GT masks covered by some detection
    (``gt_covered``; duplicates count as TP-like but cover a GT mask once)."""
    det_by_frame = group_by_frame(detections, num_frames)
    gt_by_frame = group_by_frame(gt, num_frames)
    tp_like = covered = 0
    for dets, gts in zip(det_by_frame, gt_by_frame, strict=True):
        if not dets or not gts:
            continue
        iou = masks.iou_matrix([d.rle for d in dets], [g.rle for g in gts]) >= iou_threshold
        tp_like += int(iou.any(axis=1).sum())
        covered += int(iou.any(axis=0).sum())
    return {
        "detections": len(detections),
        "tp_like": tp_like,
        "fp": len(detections) - tp_like,
        "gt_covered": covered,
    }


def merge_stats(per_sequence: Sequence[dict]) -> dict:
    """Sum the statistics of several sequences (one split); ratios are recomputed from sums."""
    out: dict = {"sequences": len(per_sequence)}
    for key in (
        "frames",
        "gt_masks",
        "gt_tracks",
        "crossing_tracks",
        "reappearing_tracks",
        "occlusion_gaps",
        "entering_tracks",
        "leaving_tracks",
        "track_frames",
        "lookalike_pairs",
        "masks_occluded_by_people",
        "masks_occluded_by_pillars",
    ):
        out[key] = sum(s.get(key, 0) for s in per_sequence)
    with_gaps = [s for s in per_sequence if s.get("occlusion_gaps")]
    out["occlusion_gap_min"] = min((s["occlusion_gap_min"] for s in with_gaps), default=0)
    out["occlusion_gap_max"] = max((s["occlusion_gap_max"] for s in with_gaps), default=0)
    out["masks_per_frame"] = round(out["gt_masks"] / out["frames"], 3) if out["frames"] else 0.0
    out["mean_track_length"] = (
        round(out["track_frames"] / out["gt_tracks"], 3) if out["gt_tracks"] else 0.0
    )
    detectors: dict[str, dict] = {}
    for s in per_sequence:
        for name, d in s.get("detectors", {}).items():
            acc = detectors.setdefault(
                name, {"detections": 0, "tp_like": 0, "fp": 0, "gt_covered": 0}
            )
            for key in acc:
                acc[key] += d[key]
    for d in detectors.values():
        d["recall"] = round(d["gt_covered"] / out["gt_masks"], 4) if out["gt_masks"] else 0.0
    out["detectors"] = detectors
    return out


def stats_table(stats: dict) -> str:
    """The per-split statistics of ``generate_dataset`` as a fixed-width text table."""
    splits = stats["splits"]
    detector_names = sorted({n for s in splits.values() for n in s.get("detectors", {})})
    rows = [
        ("sequences", "sequences"),
        ("frames", "frames"),
        ("GT masks", "gt_masks"),
        ("GT tracks", "gt_tracks"),
        ("masks per frame", "masks_per_frame"),
        ("mean track length", "mean_track_length"),
        ("crossing tracks", "crossing_tracks"),
        ("reappearing tracks", "reappearing_tracks"),
        ("occlusion gaps (>=2 frames)", "occlusion_gaps"),
        ("gap length min", "occlusion_gap_min"),
        ("gap length max", "occlusion_gap_max"),
        ("entering tracks", "entering_tracks"),
        ("leaving tracks", "leaving_tracks"),
        ("masks >=25% hidden by people", "masks_occluded_by_people"),
        ("masks >=25% hidden by pillars", "masks_occluded_by_pillars"),
        ("look-alike identity pairs", "lookalike_pairs"),
    ]
    names = [n for n in ("train", "test") if n in splits] + sorted(set(splits) - {"train", "test"})
    lines = [f"{'':<30}" + "".join(f"{n:>14}" for n in names)]
    for label, key in rows:
        lines.append(f"{label:<30}" + "".join(f"{splits[n].get(key, ''):>14}" for n in names))
    for det in detector_names:
        for key in ("detections", "tp_like", "fp", "recall"):
            lines.append(
                f"{det + ' ' + key:<30}"
                + "".join(f"{splits[n]['detectors'].get(det, {}).get(key, ''):>14}" for n in names)
            )
    return "\n".join(lines)


def run_generate(cfg) -> None:
    """The ``generate`` stage: make sure ``cfg.data`` exists (generating the synthetic dataset
    on first use) and log its statistics as a table."""
    from remots.datasets import ensure_data

    root = ensure_data(cfg.data)
    stats = _complete_stats(root)
    if stats is None:
        raise ConfigError(
            f"{root} has no stats.json: the generate stage describes the synthetic dataset "
            f"(data={cfg.data.name}); use data=synthetic"
        )
    log.info("synthetic dataset %s\n%s", root, stats_table(stats))


# --------------------------------------------------------------------------- params and folders


def _check_params(**params) -> dict:
    """Validate the knobs and return them as plain JSON types (the ``params`` of stats.json)."""
    for key in ("seed", "num_train", "num_target"):
        if int(params[key]) < 0:
            raise ConfigError(f"data.generator.{key} must be >= 0, got {params[key]}")
    for key in ("num_frames", "height", "width", "num_objects", "num_shirt_colours"):
        if int(params[key]) < 1:
            raise ConfigError(f"data.generator.{key} must be >= 1, got {params[key]}")
    if int(params["height"]) < 48 or int(params["width"]) < 64:
        raise ConfigError("data.generator.height/width must be at least 48 x 64 pixels")
    pairs = {}
    for key in ("walk_speed", "person_height", "occlusion_frames"):
        value = [float(v) for v in params[key]]
        if len(value) != 2 or not 0 < value[0] <= value[1]:
            raise ConfigError(f"data.generator.{key} must be [low, high] with 0 < low <= high")
        pairs[key] = value
    if pairs["person_height"][1] > 0.9:
        raise ConfigError("data.generator.person_height must stay below 0.9 of the image height")
    detectors = DEFAULT_DETECTORS if params["detectors"] is None else params["detectors"]
    checked = {}
    for name, knobs in dict(detectors).items():
        if not str(name).isidentifier():
            raise ConfigError(f"data.generator.detectors: {name!r} is not a usable file name")
        knobs = dict(knobs or {})
        unknown = set(knobs) - set(DETECTOR_DEFAULTS)
        if unknown:
            raise ConfigError(
                f"data.generator.detectors.{name}: unknown knobs {sorted(unknown)} "
                f"(known: {sorted(DETECTOR_DEFAULTS)})"
            )
        merged = {**DETECTOR_DEFAULTS, **knobs}
        merged["fp_score"] = [float(v) for v in merged["fp_score"]]
        merged["mask_resolution"] = int(merged["mask_resolution"])
        for key, value in merged.items():
            if key not in ("fp_score", "mask_resolution"):
                merged[key] = float(value)
        checked[str(name)] = merged
    out = {
        "format_version": FORMAT_VERSION,
        "seed": int(params["seed"]),
        "num_train": int(params["num_train"]),
        "num_target": int(params["num_target"]),
        "num_frames": int(params["num_frames"]),
        "height": int(params["height"]),
        "width": int(params["width"]),
        "num_objects": int(params["num_objects"]),
        "fps": float(params["fps"]),
        "jpeg_quality": int(params["jpeg_quality"]),
        "pan_px": int(params["pan_px"]),
        "size_jitter": float(params["size_jitter"]),
        "num_shirt_colours": int(params["num_shirt_colours"]),
        "entry_fraction": float(params["entry_fraction"]),
        "turn_probability": float(params["turn_probability"]),
        "num_occluders": int(params["num_occluders"]),
        "num_clutter": int(params["num_clutter"]),
        "lighting_noise": float(params["lighting_noise"]),
        "pixel_noise": float(params["pixel_noise"]),
        "min_visible_area": int(params["min_visible_area"]),
        "detectors": checked,
        **pairs,
    }
    out["occlusion_frames"] = [int(v) for v in out["occlusion_frames"]]
    return out


def _complete_stats(root: Path) -> dict | None:
    if not (root / "COMPLETE").is_file() or not (root / "stats.json").is_file():
        return None
    import json

    try:
        return json.loads((root / "stats.json").read_text(encoding="utf-8"))
    except ValueError:
        return None


def _is_ours(root: Path) -> bool:
    """An existing ``root`` may be replaced only when it is empty or a synthetic dataset (a user
    who points ``data.root`` at their own data keeps it)."""
    if not root.is_dir():
        return False
    names = {p.name for p in root.iterdir()}
    return not names or bool(names & {"stats.json", "COMPLETE"})


def _publish(tmp: Path, root: Path) -> None:
    """Rename the finished ``tmp`` onto ``root``; a concurrent generator that won keeps its copy
    (same knobs give the same bytes)."""
    old = None
    if root.exists():
        old = root.with_name(f".{root.name}.old-{os.getpid()}")
        os.replace(root, old)
    try:
        os.replace(tmp, root)
    except OSError:
        if not (root / "COMPLETE").is_file():
            raise
        log.info("another process finished %s first; keeping its copy", root)
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- generation


def _generate_into(folder: Path, params: dict) -> dict:
    per_split: dict[str, dict] = {}
    per_sequence: dict[str, dict] = {}
    jobs = []
    for split, prefix, code in SPLITS:
        count = params["num_train"] if split == "train" else params["num_target"]
        jobs.extend((split, f"{prefix}-{k + 1:02d}", code, k) for k in range(count))
    seqs_by_split: dict[str, list] = {split: [] for split, _, _ in SPLITS}
    for split, name, code, index in tqdm(jobs, desc="synthetic sequences", disable=None):
        seq_dir = folder / split / name
        stats = _generate_sequence(seq_dir, name, params, [params["seed"], code, index])
        per_sequence[name] = stats
        seqs_by_split[split].append(
            Video(name, params["num_frames"], params["height"], params["width"])
        )
    for split, _, _ in SPLITS:
        seqs = seqs_by_split[split]
        if seqs:
            write_seqmap(folder / "seqmaps" / f"SYN-{split}.txt", seqs, style="motchallenge")
        per_split[split] = merge_stats([per_sequence[s.name] for s in seqs]) | {
            "names": [s.name for s in seqs]
        }
    return {"params": params, "splits": per_split, "sequences": per_sequence}


def _generate_sequence(seq_dir: Path, name: str, params: dict, key: list[int]) -> dict:
    """Render one sequence into ``seq_dir`` and return its statistics."""
    T, H, W = params["num_frames"], params["height"], params["width"]
    scene = _make_scene(params, key)
    detector_names = list(params["detectors"])
    # One stream per detector name: adding, removing or reordering detectors leaves the others.
    detector_rngs = [
        np.random.default_rng([*key, 10, zlib.crc32(n.encode())]) for n in detector_names
    ]
    detector_state = [
        {"missed": set(), "fp_weights": rng.gamma(0.5, 1.0, len(scene.clutter))}
        for rng in detector_rngs
    ]
    render_rng = np.random.default_rng([*key, 4])
    gt: list[Instance] = []
    dets: list[list[Instance]] = [[] for _ in detector_names]
    quality = [cv2.IMWRITE_JPEG_QUALITY, params["jpeg_quality"]]
    occluded_by_people = occluded_by_pillars = 0
    for t in tqdm(range(T), desc=name, leave=False, disable=None):
        frame, owner, people = _render_frame(scene, t, params, render_rng)
        ok, jpg = cv2.imencode(".jpg", frame, quality)
        if not ok:
            raise OSError(f"OpenCV could not encode frame {t + 1} of {name}")
        # A plain write: the whole dataset folder is published by one rename (generate_dataset),
        # so a per-frame temp file and fsync (7 ms each) would buy nothing.
        frame_path = seq_dir / "img1" / f"{t + 1:06d}.jpg"
        frame_path.parent.mkdir(parents=True, exist_ok=True)
        frame_path.write_bytes(jpg.tobytes())
        visible = [p for p in people if p["visible_area"] >= params["min_visible_area"]]
        for p in visible:
            occluded_by_people += p["hidden_by_people"] >= OCCLUDED * p["amodal_area"]
            occluded_by_pillars += p["hidden_by_pillars"] >= OCCLUDED * p["amodal_area"]
        if visible:
            rles = masks.encode(np.stack([p["visible"] for p in visible]))
            gt.extend(
                Instance(t, GT_ID_BASE + p["identity"] + 1, PEDESTRIAN, rle)
                for p, rle in zip(visible, rles, strict=True)
            )
        clutter = _visible_clutter(scene, t, owner, params["min_visible_area"], H, W)
        for d, det_name in enumerate(detector_names):
            dets[d].extend(
                _detect_frame(
                    t,
                    visible,
                    clutter,
                    params["detectors"][det_name],
                    detector_rngs[d],
                    detector_state[d],
                    H,
                    W,
                )
            )
    gt = sort_instances(gt)
    write_seqinfo(
        seq_dir, name=name, num_frames=T, width=W, height=H, fps=params["fps"], ext=".jpg"
    )
    write_mots_txt(seq_dir / "gt" / "gt.txt", gt, frame_base=1)
    stats = {"frames": T, **track_hardness(gt, num_frames=T)}
    stats["masks_per_frame"] = round(len(gt) / T, 3)
    stats["masks_occluded_by_people"] = occluded_by_people
    stats["masks_occluded_by_pillars"] = occluded_by_pillars
    shirts = [i.shirt_index for i in scene.identities]
    stats["lookalike_pairs"] = sum(
        shirts[a] == shirts[b] for a in range(len(shirts)) for b in range(a + 1, len(shirts))
    )
    stats["detectors"] = {}
    for det_name, det_list in zip(detector_names, dets, strict=True):
        det_list = renumber(det_list)
        write_detections_txt(seq_dir / "det" / f"{det_name}.txt", det_list, frame_base=1)
        d_stats = detection_stats(det_list, gt, num_frames=T)
        d_stats["recall"] = round(d_stats["gt_covered"] / len(gt), 4) if gt else 0.0
        stats["detectors"][det_name] = d_stats
    return stats


# --------------------------------------------------------------------------- the scene


def _make_scene(params: dict, key: list[int]) -> _Scene:
    T, H, W = params["num_frames"], params["height"], params["width"]
    world_rng = np.random.default_rng([*key, 0])
    motion_rng = np.random.default_rng([*key, 1])
    look_rng = np.random.default_rng([*key, 2])
    light_rng = np.random.default_rng([*key, 3])
    pan = params["pan_px"]
    world_w = W + pan
    # Camera: an eased pan across the world, left-to-right or right-to-left.
    ease = 0.5 - 0.5 * np.cos(np.pi * np.arange(T) / max(T - 1, 1))
    if world_rng.random() < 0.5:
        ease = 1.0 - ease
    cam_x = np.round(pan * ease).astype(np.int64)
    background, clutter = _make_background(world_rng, H, world_w, params["num_clutter"])
    palette = look_rng.permutation(len(SHIRT_COLOURS))[: params["num_shirt_colours"]]
    identities = [_make_identity(look_rng, params, palette) for _ in range(params["num_objects"])]
    walks = [_make_walk(motion_rng, params, cam_x, ident) for ident in identities]
    pillar_columns, pillar_image = _make_pillars(world_rng, params, walks, cam_x, world_w)
    lamp_period = world_rng.uniform(0.6, 1.2) * W
    lamp = 1.0 + 0.18 * np.sin(
        2 * np.pi * np.arange(world_w) / lamp_period + world_rng.uniform(0, 2 * np.pi)
    )
    # Global gain: a smooth random walk around 1 (clouds, auto exposure).
    gain = np.empty(T)
    g = 0.0
    for t in range(T):
        g = 0.8 * g + light_rng.normal(0.0, params["lighting_noise"])
        gain[t] = 1.0 + g
    # Pixel noise: a random window of one bank per sequence (drawing H x W x 3 normals per frame
    # would take most of the generation time).
    noise = light_rng.standard_normal((H + NOISE_MARGIN, W + NOISE_MARGIN, 3), dtype=np.float32)
    noise *= np.float32(params["pixel_noise"])
    return _Scene(
        background=background,
        lamp=lamp.astype(np.float32),
        pillar_columns=pillar_columns,
        pillar_image=pillar_image,
        clutter=clutter,
        cam_x=cam_x,
        identities=identities,
        walks=walks,
        gain=gain,
        noise=noise,
    )


def _make_background(rng: np.random.Generator, H: int, world_w: int, num_clutter: int):
    """A wall over a floor with low-frequency texture, panels, tiles and clutter objects."""
    horizon = int(0.45 * H)
    wall = rng.uniform(90, 190, 3)
    floor = rng.uniform(60, 150, 3)
    img = np.empty((H, world_w, 3), np.float32)
    img[:horizon] = wall
    img[horizon:] = floor
    # Floor darker towards the camera, wall panels and floor tiles.
    rows = np.arange(H, dtype=np.float32)[:, None, None]
    img[horizon:] *= 1.0 - 0.25 * (rows[horizon:] - horizon) / max(H - horizon, 1)
    panel = max(int(rng.uniform(0.12, 0.25) * H), 8)
    cols = np.arange(world_w)
    img[:horizon, cols % panel < 2] *= 0.75
    tile = max(int(rng.uniform(0.08, 0.15) * H), 6)
    img[horizon:][(np.arange(H - horizon) % tile) < 1] *= 0.8
    # Low-frequency stains: mostly brightness, a little colour.
    low = rng.normal(0.0, 1.0, (max(H // 24, 2), max(world_w // 24, 2), 4)).astype(np.float32)
    low = cv2.resize(low, (world_w, H), interpolation=cv2.INTER_CUBIC)
    img += 16.0 * low[:, :, :1] + 5.0 * low[:, :, 1:]
    img += rng.normal(0.0, 5.0, (H, world_w, 1)).astype(np.float32)
    clutter = []
    for _ in range(num_clutter):
        ch = int(rng.uniform(0.12, 0.38) * H)
        cw = max(int(ch * rng.uniform(0.25, 0.7)), 6)
        on_floor = rng.random() < 0.6
        if on_floor:
            base = int(rng.uniform(horizon + 0.08 * H, 0.8 * H))
            y0 = max(base - ch, 0)
        else:
            y0 = int(rng.uniform(0.05 * H, max(horizon - ch, 0.05 * H + 1)))
        x0 = int(rng.uniform(0, world_w - cw))
        ch = min(ch, H - y0)
        m = np.zeros((ch, cw), np.uint8)
        if on_floor:  # a plant or a bin: stacked ellipses, person-sized
            for _ in range(int(rng.integers(1, 4))):
                cy = int(rng.uniform(0.25, 0.8) * ch)
                axes = (max(int(rng.uniform(0.25, 0.5) * cw), 2), max(int(0.25 * ch), 2))
                cv2.ellipse(m, (cw // 2, cy), axes, 0, 0, 360, 1, -1)
        else:  # a poster
            cv2.rectangle(m, (0, 0), (cw - 1, ch - 1), 1, -1)
        palette = SHIRT_COLOURS if rng.random() < 0.5 else TROUSER_COLOURS
        colour = palette[rng.integers(len(palette))] + rng.normal(0, 12, 3)
        patch = img[y0 : y0 + ch, x0 : x0 + cw]
        texture = rng.normal(0.0, 10.0, (ch, cw, 1)).astype(np.float32)
        patch[m.astype(bool)] = (colour + texture)[m.astype(bool)]
        clutter.append(_Clutter(x0=x0, y0=y0, mask=m.astype(bool)))
    return np.clip(img, 0, 255).astype(np.uint8), clutter


def _jitter_colour(rng: np.random.Generator, colour: np.ndarray, amount: float = 12.0) -> tuple:
    return tuple(float(v) for v in np.clip(colour + rng.normal(0, amount, 3), 0, 255))


def _make_identity(rng: np.random.Generator, params: dict, palette: np.ndarray) -> _Identity:
    """One walker's persistent appearance; the shirt colour comes from the sequence ``palette``
    (indices into SHIRT_COLOURS) so that identities share it."""
    shirt_index = int(palette[rng.integers(len(palette))])
    pattern = PATTERNS[int(rng.integers(len(PATTERNS)))]
    return _Identity(
        shirt=_jitter_colour(rng, SHIRT_COLOURS[shirt_index], 8.0),
        shirt_index=shirt_index,
        trousers=_jitter_colour(rng, TROUSER_COLOURS[rng.integers(len(TROUSER_COLOURS))]),
        pattern=pattern,
        pattern_colour=_jitter_colour(rng, SHIRT_COLOURS[rng.integers(len(SHIRT_COLOURS))]),
        stripe_period=float(rng.uniform(0.035, 0.07)),
        long_sleeves=bool(rng.random() < 0.5),
        bag_colour=(
            _jitter_colour(rng, TROUSER_COLOURS[rng.integers(len(TROUSER_COLOURS))])
            if rng.random() < 0.35
            else None
        ),
        skin=_jitter_colour(rng, SKIN_COLOURS[rng.integers(len(SKIN_COLOURS))], 6.0),
        hair=_jitter_colour(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 6.0),
        shoes=_jitter_colour(rng, np.array([30.0, 30.0, 30.0]), 15.0),
        size=float(rng.uniform(1 - params["size_jitter"], 1 + params["size_jitter"])),
    )


def _body_height(params: dict, foot_y: np.ndarray, size: float) -> np.ndarray:
    """Body height in pixels from the foot line (perspective: nearer is lower and larger)."""
    H = params["height"]
    y_far, y_near = 0.6 * H, 0.97 * H
    h_far, h_near = params["person_height"]
    depth = (foot_y - y_far) / (y_near - y_far)
    return np.round(size * H * (h_far + (h_near - h_far) * depth)).astype(np.int64)


def _make_walk(
    rng: np.random.Generator, params: dict, cam_x: np.ndarray, ident: _Identity
) -> _Walk:
    """A walk across the hall: straight at one speed, sometimes turning, drifting in depth.

    An entering walker is just outside the left or right image border at a random frame and
    walks in; the others start inside the first frame. Leaving happens by walking out.
    """
    T, H, W = params["num_frames"], params["height"], params["width"]
    y_far, y_near = 0.6 * H, 0.97 * H
    speed = float(rng.uniform(*params["walk_speed"]))
    foot_y = np.empty(T)
    y, dy = rng.uniform(y_far, y_near), 0.0
    for t in range(T):
        dy = 0.9 * dy + rng.normal(0.0, 0.08)
        y += dy
        if not y_far <= y <= y_near:  # reflect at the ends of the floor
            y = float(np.clip(2 * np.clip(y, y_far, y_near) - y, y_far, y_near))
            dy = -dy
        foot_y[t] = y
    height = _body_height(params, foot_y, ident.size)
    entering = T > 4 and rng.random() < params["entry_fraction"]
    if entering:
        t0 = int(rng.integers(1, max(2, int(0.6 * T))))
        from_left = rng.random() < 0.5
        # Enter against the pan when walking with it would not outpace the camera.
        cam_velocity = float(cam_x[min(t0 + 1, T - 1)] - cam_x[t0 - 1]) / 2
        inward = speed - cam_velocity if from_left else speed + cam_velocity
        if inward < 0.5 * speed:
            from_left = not from_left
        margin = 0.3 * height[t0] + 2
        x0 = cam_x[t0] - margin if from_left else cam_x[t0] + W + margin
        direction = 1 if from_left else -1
    else:
        t0 = 0
        x0 = cam_x[0] + rng.uniform(0.08, 0.92) * W
        direction = 1 if rng.random() < 0.5 else -1
    x = np.empty(T)
    facing = np.empty(T, np.int64)
    x[t0], facing[t0] = x0, direction
    for t in range(t0 - 1, -1, -1):  # before entering: the straight line that leads in
        x[t], facing[t] = x[t + 1] - direction * speed, direction
    d = direction
    for t in range(t0 + 1, T):
        if rng.random() < params["turn_probability"]:
            d = -d
        x[t] = x[t - 1] + d * speed * (1.0 + rng.normal(0.0, 0.05))
        facing[t] = d
    stride = 0.8 * height.astype(np.float64)  # one gait cycle (two steps) per 0.8 body heights
    steps = np.abs(np.diff(x, prepend=x[0])) / stride
    phase = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(steps)
    return _Walk(x=x, foot_y=foot_y, height=height, facing=facing, phase=phase, speed=speed)


def _make_pillars(
    rng: np.random.Generator, params: dict, walks: list[_Walk], cam_x: np.ndarray, world_w: int
) -> tuple[np.ndarray, np.ndarray]:
    """Full-height foreground pillars, each placed on one walker's path and as wide as that
    walker plus ``occlusion_frames`` frames of its walk, so it hides the walker that long."""
    T, H, W = params["num_frames"], params["height"], params["width"]
    columns = np.zeros(world_w, bool)
    image = np.zeros((H, world_w, 3), np.uint8)
    lo, hi = params["occlusion_frames"]
    used: set[int] = set()
    spacing = int(0.1 * W)  # pillars stand apart, so each one hides walkers on its own
    for _ in range(params["num_occluders"]):
        candidates = []
        for k, walk in enumerate(walks):
            in_view = (walk.x - cam_x > 0.1 * W) & (walk.x - cam_x < 0.9 * W)
            frames = np.flatnonzero(in_view[int(0.1 * T) : int(0.9 * T) + 1]) + int(0.1 * T)
            if len(frames) and k not in used:
                candidates.append((k, frames))
        placed = None
        for _attempt in range(20):
            if not candidates:
                break
            k, frames = candidates[int(rng.integers(len(candidates)))]
            t = int(frames[rng.integers(len(frames))])
            walk = walks[k]
            hidden = int(rng.integers(int(lo), int(hi) + 1)) + 1
            # The walker is about 0.4 body heights wide at full stride.
            width = min(math.ceil(0.4 * walk.height[t] + walk.speed * hidden), int(0.2 * W))
            x0 = round(walk.x[t] - width / 2)
            x0, x1 = max(x0, 0), min(x0 + width, world_w)
            if x1 - x0 >= 2 and not columns[max(x0 - spacing, 0) : x1 + spacing].any():
                placed = (k, x0, x1)
                break
        if placed is None:
            continue
        k, x0, x1 = placed
        used.add(k)
        columns[x0:x1] = True
        base = rng.uniform(70, 200, 3)
        across = np.linspace(-1.0, 1.0, x1 - x0)
        shade = 0.65 + 0.35 * np.cos(across * np.pi / 2)  # a lit cylinder
        grooves = 1.0 - 0.15 * ((np.arange(x1 - x0) % max((x1 - x0) // 4, 3)) == 0)
        noise = rng.normal(0.0, 6.0, (H, x1 - x0, 1))
        pillar = base[None, None, :] * (shade * grooves)[None, :, None] + noise
        image[:, x0:x1] = np.clip(pillar, 0, 255).astype(np.uint8)
    return columns, image


# --------------------------------------------------------------------------- rendering


def _render_person(
    ident: _Identity, h: int, phase: float, facing: int
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Draw one walker of body height ``h`` at gait ``phase``.

    Returns ``(patch (ph, pw, 3) uint8, mask (ph, pw) bool, ax, ay)`` with the foot point at
    patch pixel ``(ax, ay)``. The mask is drawn with the same primitives as the colours, so it
    is exactly the walker's pixels.
    """
    h = max(int(h), 12)
    pw, ph = int(0.75 * h) + 6, h + 6
    ax, ay = pw // 2, h + 2
    canvas = np.zeros((ph, pw, 3), np.uint8)
    mask = np.zeros((ph, pw), np.uint8)
    bob = 0.015 * h * abs(math.sin(phase))
    swing = 0.32 * math.sin(phase)

    def at(u: float, v: float, lift: float = bob) -> tuple[int, int]:
        return (round(ax + u * h), round(ay - v * h - lift))

    def line(p, q, colour, thickness):
        cv2.line(canvas, p, q, colour, thickness)
        cv2.line(mask, p, q, 1, thickness)

    def poly(points, colour, target=None):
        pts = np.array(points, np.int32)
        cv2.fillConvexPoly(canvas, pts, colour)
        cv2.fillConvexPoly(mask, pts, 1)
        if target is not None:
            cv2.fillConvexPoly(target, pts, 1)

    def ellipse(centre, axes, colour, start=0, end=360):
        cv2.ellipse(canvas, centre, axes, 0, start, end, colour, -1)
        cv2.ellipse(mask, centre, axes, 0, start, end, 1, -1)

    leg_thickness = max(2, round(0.085 * h))
    for side in (-1, 1):  # the back leg first, darker
        hip = at(side * 0.045, 0.47)
        angle = side * swing
        foot = (
            round(hip[0] + 0.45 * h * math.sin(angle)),
            min(round(hip[1] + 0.45 * h * math.cos(angle)), ay),
        )
        colour = tuple(c * (0.8 if side == -1 else 1.0) for c in ident.trousers)
        line(hip, foot, colour, leg_thickness)
        ellipse(
            (foot[0] + round(facing * 0.03 * h), foot[1]),
            (max(int(0.05 * h), 2), max(int(0.022 * h), 1)),
            ident.shoes,
        )
    if ident.bag_colour is not None:
        back = -facing
        poly(
            [
                at(back * 0.09, 0.76),
                at(back * 0.19, 0.74),
                at(back * 0.19, 0.5),
                at(back * 0.09, 0.5),
            ],
            ident.bag_colour,
        )
    torso = np.zeros((ph, pw), np.uint8)
    poly([at(-0.125, 0.8), at(0.125, 0.8), at(0.11, 0.46), at(-0.11, 0.46)], ident.shirt, torso)
    period = max(2, round(ident.stripe_period * h))
    if ident.pattern == "h_stripes":
        sel = torso.astype(bool) & ((np.arange(ph)[:, None] // period) % 2 == 1)
        canvas[sel] = np.array(ident.pattern_colour, np.uint8)
    elif ident.pattern == "v_stripes":
        sel = torso.astype(bool) & ((np.arange(pw)[None, :] // period) % 2 == 1)
        canvas[sel] = np.array(ident.pattern_colour, np.uint8)
    elif ident.pattern == "patch":  # a logo inside the torso: the mask does not change
        cv2.circle(canvas, at(0.0, 0.66), max(int(0.045 * h), 1), ident.pattern_colour, -1)
    arm_thickness = max(2, round(0.055 * h))
    for side in (-1, 1):
        shoulder = at(side * 0.115, 0.78)
        angle = -side * swing * 0.8
        elbow = (
            round(shoulder[0] + 0.16 * h * math.sin(angle)),
            round(shoulder[1] + 0.16 * h * math.cos(angle)),
        )
        hand = (
            round(shoulder[0] + 0.31 * h * math.sin(angle)),
            round(shoulder[1] + 0.31 * h * math.cos(angle)),
        )
        line(shoulder, elbow, ident.shirt, arm_thickness)
        line(elbow, hand, ident.shirt if ident.long_sleeves else ident.skin, arm_thickness)
        ellipse(hand, (max(int(0.028 * h), 1), max(int(0.028 * h), 1)), ident.skin)
    head_axes = (max(int(0.068 * h), 2), max(int(0.085 * h), 2))
    ellipse(at(facing * 0.01, 0.905), head_axes, ident.skin)
    ellipse(at(0.0, 0.93), (max(int(0.072 * h), 2), max(int(0.07 * h), 2)), ident.hair, 180, 360)
    return canvas, mask.astype(bool), ax, ay


def _render_frame(
    scene: _Scene, t: int, params: dict, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Compose frame ``t``: background, walkers far to near, pillars, lighting, noise, blur.

    Returns ``(frame (H, W, 3) uint8 BGR, owner (H, W) int16, people)``: ``owner`` is the index
    of the walker that owns each pixel (-1 background, -2 pillar); ``people`` has, for each
    walker in view, its visible and amodal (unoccluded) masks ``(H, W)`` bool, their areas
    (the amodal area counts the part outside the image too), the pixels of it hidden by nearer
    walkers and by pillars, and ``amodal_behind_people`` (its pixels not hidden by a pillar).
    """
    H, W = params["height"], params["width"]
    cam = int(scene.cam_x[t])
    frame = scene.background[:, cam : cam + W].astype(np.float32)
    owner = np.full((H, W), -1, np.int16)
    order = sorted(range(len(scene.walks)), key=lambda k: (scene.walks[k].foot_y[t], k))
    people = []
    for k in order:
        walk = scene.walks[k]
        patch, mask, ax, ay = _render_person(
            scene.identities[k], int(walk.height[t]), float(walk.phase[t]), int(walk.facing[t])
        )
        left = round(walk.x[t]) - cam - ax
        top = round(walk.foot_y[t]) - ay
        ph, pw = mask.shape
        x0, x1, y0, y1 = max(left, 0), min(left + pw, W), max(top, 0), min(top + ph, H)
        if x1 <= x0 or y1 <= y0:
            continue
        local = mask[y0 - top : y1 - top, x0 - left : x1 - left]
        if not local.any():
            continue
        colour_gain = 1.0 + rng.normal(0.0, params["lighting_noise"] / 2, 3)
        colours = patch[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.float32)
        region = frame[y0:y1, x0:x1]
        region[local] = colours[local] * colour_gain.astype(np.float32)
        owner[y0:y1, x0:x1][local] = k
        amodal = np.zeros((H, W), bool)
        amodal[y0:y1, x0:x1] = local
        people.append(
            {
                "identity": k,
                "region": (x0, y0, x1, y1),
                "amodal": amodal,
                "amodal_area": int(mask.sum()),
            }
        )
    columns = scene.pillar_columns[cam : cam + W]
    if columns.any():
        frame[:, columns] = scene.pillar_image[:, cam : cam + W][:, columns]
        owner[:, columns] = -2
    for person in people:
        x0, y0, x1, y1 = person["region"]
        local_owner = owner[y0:y1, x0:x1]
        amodal = person["amodal"][y0:y1, x0:x1]
        person["visible"] = np.zeros((H, W), bool)
        person["visible"][y0:y1, x0:x1] = local_owner == person["identity"]
        person["visible_area"] = int(person["visible"][y0:y1, x0:x1].sum())
        person["hidden_by_people"] = (
            int((amodal & (local_owner >= 0)).sum()) - person["visible_area"]
        )
        person["hidden_by_pillars"] = int((amodal & (local_owner == -2)).sum())
        # What a detector may segment when it takes the nearer people for this one too.
        person["amodal_behind_people"] = np.zeros((H, W), bool)
        person["amodal_behind_people"][y0:y1, x0:x1] = amodal & (local_owner >= 0)
    light = (scene.gain[t] * scene.lamp[cam : cam + W]).astype(np.float32)
    frame *= light[None, :, None]
    dy, dx = (int(v) for v in rng.integers(0, NOISE_MARGIN, 2))
    frame += scene.noise[dy : dy + H, dx : dx + W]
    frame = cv2.GaussianBlur(frame, (3, 3), 0.6)
    np.add(frame, 0.5, out=frame)  # round half up on the cast below
    np.clip(frame, 0, 255, out=frame)
    return frame.astype(np.uint8), owner, people


def _visible_clutter(
    scene: _Scene, t: int, owner: np.ndarray, min_area: int, H: int, W: int
) -> list[tuple[int, tuple[int, int, int, int], np.ndarray]]:
    """``(clutter index, region (x0, y0, x1, y1), visible mask (H, W) bool)`` of the clutter
    objects seen in frame ``t``."""
    cam = int(scene.cam_x[t])
    out = []
    for i, c in enumerate(scene.clutter):
        ch, cw = c.mask.shape
        left = c.x0 - cam
        x0, x1 = max(left, 0), min(left + cw, W)
        if x1 <= x0:
            continue
        full = np.zeros((H, W), bool)
        full[c.y0 : c.y0 + ch, x0:x1] = c.mask[:, x0 - left : x1 - left]
        region = (x0, c.y0, x1, c.y0 + ch)
        full[c.y0 : c.y0 + ch, x0:x1] &= owner[c.y0 : c.y0 + ch, x0:x1] == -1
        if int(full[c.y0 : c.y0 + ch, x0:x1].sum()) >= min_area:
            out.append((i, region, full))
    return out


# --------------------------------------------------------------------------- detectors


def _detect_frame(
    t: int,
    people: list[dict],
    clutter: list[tuple[int, tuple[int, int, int, int], np.ndarray]],
    knobs: dict,
    rng: np.random.Generator,
    state: dict,
    H: int,
    W: int,
) -> list[Instance]:
    """One simulated Mask R-CNN on frame ``t``: people detected or missed, clutter false
    positives. ``state`` carries the walkers missed in the previous frame (miss streaks) and
    the per-clutter false-positive weights (the same clutter fires again)."""
    out: list[Instance] = []
    missed_before = state["missed"]
    missed_now = set()
    for person in people:
        k = person["identity"]
        visible_fraction = person["visible_area"] / max(person["amodal_area"], 1)
        p_miss = knobs["miss_rate"] + knobs["occlusion_miss"] * (1.0 - visible_fraction) ** 3
        if k in missed_before:
            p_miss += knobs["miss_streak"]
        if rng.random() < p_miss:
            missed_now.add(k)
            continue
        amodal = person["hidden_by_people"] > 0 and rng.random() < knobs["amodal_rate"]
        base = person["amodal_behind_people"] if amodal else person["visible"]
        partial = rng.random() < knobs["partial_rate"]
        mask = _mask_head(base, person["region"], rng, knobs, partial=partial)
        if mask is None:
            continue
        score = (
            knobs["score_mean"]
            - knobs["occlusion_score_drop"] * (1.0 - visible_fraction)
            + rng.normal(0.0, knobs["score_noise"])
        )
        score = round(float(np.clip(score, 0.3, 0.999)), 4)
        out.append(Instance(t, 0, PEDESTRIAN, masks.encode(mask)[0], score))
        if rng.random() < knobs["duplicate_rate"]:
            dup = _mask_head(base, person["region"], rng, knobs, partial=True)
            if dup is not None:
                dup_score = round(score * float(rng.uniform(0.3, 0.7)), 4)
                out.append(Instance(t, 0, PEDESTRIAN, masks.encode(dup)[0], dup_score))
    state["missed"] = missed_now
    weights = state["fp_weights"]
    total = sum(weights[i] for i, _, _ in clutter)
    lo, hi = knobs["fp_score"]
    for i, region, visible in clutter:
        p_fire = min(0.95, knobs["fp_per_frame"] * weights[i] / total) if total > 0 else 0.0
        if rng.random() >= p_fire:
            continue
        partial = rng.random() < knobs["partial_rate"]
        mask = _mask_head(visible, region, rng, knobs, partial=partial)
        if mask is None:
            continue
        score = round(lo + (hi - lo) * float(rng.beta(2.0, 3.0)), 4)
        out.append(Instance(t, 0, PEDESTRIAN, masks.encode(mask)[0], score))
    return out


def _mask_head(
    base: np.ndarray,
    region: tuple[int, int, int, int],
    rng: np.random.Generator,
    knobs: dict,
    *,
    partial: bool,
) -> np.ndarray | None:
    """What a Mask R-CNN mask head makes of the object ``base`` ``(H, W)`` bool, which lies
    inside ``region`` ``(x0, y0, x1, y1)``.

    The (optionally partial) object is resampled to a ``mask_resolution`` square over its box,
    pasted back into a jittered box (shift, scale) and thresholded at a jittered level around
    0.5 (erosion above, dilation below). Returns ``(H, W)`` uint8 (Fortran order, as pycocotools
    encodes it), or None when nothing is left.
    """
    H, W = base.shape
    rx0, ry0, rx1, ry1 = region
    inside = base[ry0:ry1, rx0:rx1]
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if len(rows) == 0:
        return None
    y0, y1 = ry0 + int(rows[0]), ry0 + int(rows[-1]) + 1
    x0, x1 = rx0 + int(cols[0]), rx0 + int(cols[-1]) + 1
    crop = base[y0:y1, x0:x1].astype(np.float32)
    if partial:
        keep = float(rng.uniform(0.45, 0.8))
        side = int(rng.integers(3))
        if side == 0:  # upper body only
            crop[round(keep * crop.shape[0]) :] = 0
        elif side == 1:
            crop[:, round(keep * crop.shape[1]) :] = 0
        else:
            crop[:, : round((1 - keep) * crop.shape[1])] = 0
        rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
        if len(rows) == 0:
            return None
        y0, y1 = y0 + int(rows[0]), y0 + int(rows[-1]) + 1
        x0, x1 = x0 + int(cols[0]), x0 + int(cols[-1]) + 1
        crop = crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    res = knobs["mask_resolution"]
    grid = cv2.resize(crop, (res, res), interpolation=cv2.INTER_AREA)
    bw, bh = x1 - x0, y1 - y0
    jitter = rng.normal(0.0, knobs["box_jitter"], 4) * np.array([bw, bh, bw, bh])
    nx0, ny0 = round(x0 + jitter[0]), round(y0 + jitter[1])
    nx1, ny1 = max(round(x1 + jitter[2]), nx0 + 2), max(round(y1 + jitter[3]), ny0 + 2)
    up = cv2.resize(grid, (nx1 - nx0, ny1 - ny0), interpolation=cv2.INTER_LINEAR)
    threshold = float(np.clip(0.5 + rng.normal(0.0, knobs["threshold_noise"]), 0.15, 0.85))
    out = np.zeros((H, W), np.uint8, order="F")
    cx0, cy0, cx1, cy1 = max(nx0, 0), max(ny0, 0), min(nx1, W), min(ny1, H)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    out[cy0:cy1, cx0:cx1] = up[cy0 - ny0 : cy1 - ny0, cx0 - nx0 : cx1 - nx0] > threshold
    return out if out.any() else None


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
