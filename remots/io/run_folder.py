"""The run folder: where every stage reads its inputs and writes its artifacts.

::

    <run_dir>/
      manifest.json                  per stage: config hash and SHA-256 of every file it wrote
      detections/<seq>.txt           fused detections (TrackR-CNN txt, remots.io.detections)
      detections/<seq>.seeds.json    refine mode with kept ids: the input track id of each detection
      crops/<seq>.npy, .index.npy    uint8 crops (N, H, W, 3), memory-mapped; (frame, row) index
      checkpoints/{intra,inter}.ckpt encoder checkpoints of the two training phases
      features/<phase>/<seq>.npy     L2-normalised features, row k = detection k; + <seq>.json
                                     (the checkpoint and detections they were computed from)
      tracklets_short/<seq>.txt      short tracklets (MOTS txt), + <seq>.json (membership, theta)
      baseline/<seq>.txt             IoU-only baseline tracks
      results/<seq>.txt              final tracks (MOTS txt), + <seq>.json merge record
      metrics.json, metrics.csv      evaluation of results/; summary.json, summary.md: every variant
      plots/                         threshold histograms (paper Fig. 4 / Fig. 5), overlays, videos

Frame numbers in the txt files follow the sequence's own ``frame_base``. Only the stages
(``remots.stages``), the pipeline and the entry points use this module; the algorithm packages
take and return arrays.

Locking: the whole chain (``stage=all``) holds ``<run_dir>/.lock`` exclusively. A single stage
holds it shared, plus an exclusive lock for its own (stage, sequences) selection, so per-sequence
jobs of one stage (Hydra's joblib or submitit launcher) can work side by side while a whole-chain
run cannot overlap any of them. Locks are ``fcntl.flock`` locks: the kernel drops them when a
process dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from remots.errors import InputError, RunFolderError
from remots.io.atomic import atomic_save_npy, atomic_write_json
from remots.io.detections import Detections, read_detections_txt
from remots.io.layouts import Video


class RunFolder:
    """Paths of the artifacts inside one run folder (nothing is created until written), and the
    readers of the artifacts one stage hands to the next."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ------------------------------------------------------------------ paths

    def detections(self, seq: str) -> Path:
        return self.root / "detections" / f"{seq}.txt"

    def detection_seeds(self, seq: str) -> Path:
        return self.root / "detections" / f"{seq}.seeds.json"

    def crops(self, seq: str) -> Path:
        return self.root / "crops" / f"{seq}.npy"

    def crop_index(self, seq: str) -> Path:
        return self.root / "crops" / f"{seq}.index.npy"

    def checkpoint(self, phase: str) -> Path:
        return self.root / "checkpoints" / f"{phase}.ckpt"

    def features(self, phase: str, seq: str) -> Path:
        return self.root / "features" / phase / f"{seq}.npy"

    def features_source(self, phase: str, seq: str) -> Path:
        return self.root / "features" / phase / f"{seq}.json"

    def short_tracklets(self, seq: str) -> Path:
        return self.root / "tracklets_short" / f"{seq}.txt"

    def short_meta(self, seq: str) -> Path:
        return self.root / "tracklets_short" / f"{seq}.json"

    def baseline(self, seq: str) -> Path:
        return self.root / "baseline" / f"{seq}.txt"

    def results(self, seq: str) -> Path:
        return self.root / "results" / f"{seq}.txt"

    def merge_record(self, seq: str) -> Path:
        return self.root / "results" / f"{seq}.json"

    def plots(self) -> Path:
        return self.root / "plots"

    def metrics_json(self) -> Path:
        return self.root / "metrics.json"

    def metrics_csv(self) -> Path:
        return self.root / "metrics.csv"

    def summary_json(self) -> Path:
        return self.root / "summary.json"

    def summary_md(self) -> Path:
        return self.root / "summary.md"

    def sweep_row(self) -> Path:
        return self.root / "sweep_row.json"

    def manifest(self) -> Path:
        return self.root / "manifest.json"

    # ------------------------------------------------------------------ artifacts

    def read_detections(self, video: Video) -> Detections:
        """The fused detections of ``video`` written by the detect stage."""
        path = self.detections(video.name)
        if not path.is_file():
            raise InputError(f"no detections for {video.name}: run stage=detect first", path)
        return Detections.from_instances(
            read_detections_txt(
                path,
                frame_base=video.frame_base,
                num_frames=video.num_frames,
                image_size=video.image_size,
                frame_step=video.frame_step,
            )
        )

    def read_seeds(self, video: Video, num_detections: int) -> np.ndarray | None:
        """The input track id of each detection (refine mode with ``detector.keep_ids``), or None
        when the detect stage wrote no seeds for ``video``."""
        path = self.detection_seeds(video.name)
        if not path.is_file():
            return None
        seeds = _int_list(path, "seed_of_detection", num_detections, "rerun the detect stage")
        return seeds

    def read_tracklet_of_detection(self, video: Video, num_detections: int) -> np.ndarray:
        """``(N,)`` short tracklet of each detection (-1: in none), from ``short_meta``."""
        path = self.short_meta(video.name)
        if not path.is_file():
            raise InputError(f"no short tracklets for {video.name}: run stage=short first", path)
        tracklets = _int_list(path, "tracklet_of_detection", num_detections, "rerun stage=short")
        if (tracklets < -1).any():
            raise InputError("tracklet ids are >= 0, or -1 for a detection in no tracklet", path)
        return tracklets

    def write_features(self, phase: str, video: Video, features: np.ndarray, source: dict) -> None:
        """Features of ``video``'s detections and what made them (``source``: the checkpoint's and
        the detections' SHA-256); the source record is written last and marks them complete."""
        atomic_save_npy(self.features(phase, video.name), features)
        atomic_write_json(self.features_source(phase, video.name), source)

    def read_features(
        self, phase: str, video: Video, num_detections: int, *, source: dict, remedy: str
    ) -> np.ndarray:
        """Features of ``video`` under the ``phase`` encoder: float32 ``(N, D)``, row k =
        detection k, every row finite. ``source`` must equal what made them (a retrained encoder
        or new detections make them stale); ``remedy`` ends the error message."""
        path = self.features(phase, video.name)
        meta = self.features_source(phase, video.name)
        embed = remedy
        if not path.is_file() or not meta.is_file():
            raise InputError(f"no {phase} features for {video.name}: {embed}", path)
        if _read_json(meta) != source:
            raise InputError(
                f"the {phase} features of {video.name} were computed from another checkpoint or "
                f"other detections: {embed}",
                meta,
            )
        try:
            features = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise InputError(f"not a readable feature file ({err}): {embed}", path) from None
        if features.ndim != 2 or len(features) != num_detections:
            raise InputError(
                f"features of shape {features.shape} for {num_detections} detections of "
                f"{video.name} (expected one row per detection): {embed}",
                path,
            )
        return check_finite(features, path)


def check_finite(features: np.ndarray, source) -> np.ndarray:
    """NaN or infinite features (a diverged or corrupt encoder) would poison every similarity:
    refuse them, naming where they came from."""
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} of {len(features)} feature rows are NaN or infinite (first: row "
            f"{int(np.flatnonzero(bad)[0])}); the encoder diverged or its file is corrupt",
            source,
        )
    return features


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON: {err.msg}", path, err.lineno) from None


def _int_list(path: Path, key: str, length: int, remedy: str) -> np.ndarray:
    """``obj[key]`` of a JSON artifact as an int64 array of ``length`` entries."""
    try:
        values = np.asarray(_read_json(path)[key], dtype=np.int64)
    except (KeyError, TypeError, ValueError):
        raise InputError(f"expected a list of ints under {key!r}; {remedy}", path) from None
    if values.shape != (length,):
        raise InputError(
            f"{key!r} has {values.size} entries for {length} detections; {remedy}", path
        )
    return values


# ---------------------------------------------------------------------------- locking


def _acquire(path: Path, exclusive: bool, what: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunFolderError(
            f"{what}: another remots run is using this run folder ({path} is locked); wait for it "
            "to finish or choose another run_name / paths.run_dir"
        ) from None
    if exclusive:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd


@contextlib.contextmanager
def run_folder_lock(
    run_dir: str | Path, stage: str, sequences: list[str] | None = None
) -> Iterator[None]:
    """Hold the run folder's lock for ``stage`` (``"all"`` locks the whole folder)."""
    run_dir = Path(run_dir)
    fds = []
    try:
        if stage == "all":
            fds.append(_acquire(run_dir / ".lock", True, str(run_dir)))
        else:
            fds.append(_acquire(run_dir / ".lock", False, str(run_dir)))
            key = ",".join(sorted(sequences)) if sequences else "*"
            digest = hashlib.sha256(key.encode()).hexdigest()[:12]
            fds.append(_acquire(run_dir / ".locks" / f"{stage}-{digest}.lock", True, str(run_dir)))
        yield
    finally:
        for fd in reversed(fds):
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
