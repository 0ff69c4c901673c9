"""Writing a synthetic dataset: every sequence rendered into a temporary folder, published by one
rename."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from remots import masks
from remots.errors import InputError
from remots.io.atomic import atomic_write_json, atomic_write_text
from remots.io.detections import renumber, write_detections_txt
from remots.io.instances import PEDESTRIAN, Instance, sort_instances
from remots.io.layouts import Video, write_seqinfo, write_seqmap
from remots.io.mots import write_mots_txt
from remots.synthetic.detectors import detect_frame
from remots.synthetic.params import FORMAT_VERSION, SyntheticParams
from remots.synthetic.render import render_frame, visible_clutter
from remots.synthetic.scene import make_scene
from remots.synthetic.stats import detection_stats, merge_stats, track_hardness

log = logging.getLogger(__name__)


GT_ID_BASE = PEDESTRIAN * 1000


# (split folder, sequence name prefix, rng stream code)
SPLITS = (("train", "SYN-TRAIN", 1), ("test", "SYN-TEST", 2))


OCCLUDED = 0.25  # a GT mask counts as occluded when this fraction of its walker is hidden


def generate_dataset(root: str | Path, params: SyntheticParams | None = None) -> dict:
    """Generate the synthetic MOTS dataset into ``root`` and return its statistics.

    The folder is built beside ``root`` and renamed onto it when complete (``root/COMPLETE`` is
    inside before the rename), so a reader never sees half a dataset. If ``root`` already holds
    a complete dataset made with the same knobs it is kept and its statistics are returned.

    Args:
        root: the dataset folder (``train/``, ``test/``, ``seqmaps/``, ``stats.json``).
        params: the knobs (``SyntheticParams()``, the embedded default, when None).

    Returns:
        ``{"params", "splits": {split: stats}, "sequences": {name: stats}}`` as in stats.json
        (see ``track_hardness``, ``detection_stats`` and ``merge_stats``).
    """
    params = SyntheticParams() if params is None else params
    root = Path(root)
    existing = read_stats(root)
    if existing is not None and existing.get("params") == params.to_json():
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


def read_stats(root: Path) -> dict | None:
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


def _generate_into(folder: Path, params: SyntheticParams) -> dict:
    per_split: dict[str, dict] = {}
    per_sequence: dict[str, dict] = {}
    jobs = []
    for split, prefix, code in SPLITS:
        count = params.num_train if split == "train" else params.num_target
        jobs.extend((split, f"{prefix}-{k + 1:02d}", code, k) for k in range(count))
    seqs_by_split: dict[str, list] = {split: [] for split, _, _ in SPLITS}
    for split, name, code, index in tqdm(jobs, desc="synthetic sequences", disable=None):
        seq_dir = folder / split / name
        stats = _generate_sequence(seq_dir, name, params, [params.seed, code, index])
        per_sequence[name] = stats
        seqs_by_split[split].append(Video(name, params.num_frames, params.height, params.width))
    for split, _, _ in SPLITS:
        seqs = seqs_by_split[split]
        if seqs:
            write_seqmap(folder / "seqmaps" / f"SYN-{split}.txt", seqs, style="motchallenge")
        per_split[split] = merge_stats([per_sequence[s.name] for s in seqs]) | {
            "names": [s.name for s in seqs]
        }
    return {"params": params.to_json(), "splits": per_split, "sequences": per_sequence}


def _generate_sequence(seq_dir: Path, name: str, params: SyntheticParams, key: list[int]) -> dict:
    """Render one sequence into ``seq_dir`` and return its statistics."""
    T, H, W = params.num_frames, params.height, params.width
    scene = make_scene(params, key)
    detector_names = list(params.detectors)
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
    quality = [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality]
    occluded_by_people = occluded_by_pillars = 0
    for t in tqdm(range(T), desc=name, leave=False, disable=None):
        frame, owner, people = render_frame(scene, t, params, render_rng)
        ok, jpg = cv2.imencode(".jpg", frame, quality)
        if not ok:
            raise OSError(f"OpenCV could not encode frame {t + 1} of {name}")
        # A plain write: the whole dataset folder is published by one rename (generate_dataset),
        # so a per-frame temp file and fsync (7 ms each) would buy nothing.
        frame_path = seq_dir / "img1" / f"{t + 1:06d}.jpg"
        frame_path.parent.mkdir(parents=True, exist_ok=True)
        frame_path.write_bytes(jpg.tobytes())
        visible = [p for p in people if p["visible_area"] >= params.min_visible_area]
        for p in visible:
            occluded_by_people += p["hidden_by_people"] >= OCCLUDED * p["amodal_area"]
            occluded_by_pillars += p["hidden_by_pillars"] >= OCCLUDED * p["amodal_area"]
        if visible:
            rles = masks.encode(np.stack([p["visible"] for p in visible]))
            gt.extend(
                Instance(t, GT_ID_BASE + p["identity"] + 1, PEDESTRIAN, rle)
                for p, rle in zip(visible, rles, strict=True)
            )
        clutter = visible_clutter(scene, t, owner, params.min_visible_area, H, W)
        for d, det_name in enumerate(detector_names):
            dets[d].extend(
                detect_frame(
                    t,
                    visible,
                    clutter,
                    params.detectors[det_name],
                    detector_rngs[d],
                    detector_state[d],
                    H,
                    W,
                )
            )
    gt = sort_instances(gt)
    write_seqinfo(seq_dir, name=name, num_frames=T, width=W, height=H, fps=params.fps, ext=".jpg")
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
