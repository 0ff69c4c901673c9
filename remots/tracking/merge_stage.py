"""``python track.py stage=merge``: short tracklets -> long tracks -> final MOTS results.

For every target sequence: read the detections, the short tracklets
(``tracklets_short/<seq>.json["tracklet_of_detection"]``) and the inter-phase features,
estimate theta_merge from the intra-frame and intra-tracklet similarity histograms (paper Fig. 5;
``merge.theta_merge`` overrides it), merge with ``remots.tracking.merge.merge_tracklets`` and
write

* ``results/<seq>.txt``: MOTS txt in the sequence's frame numbering, ordered by frame then
  obj_id, obj_ids from ``track_obj_id`` (tracks of a class numbered by first frame); ids are
  unique per frame and masks do not overlap (shared pixels go to the higher detection score);
* ``results/<seq>.json``: the merge record (theta_merge and where it came from, the cut, which
  short tracklets formed each track, every merge with its distance);
* ``plots/theta_merge_<seq>.png``: the Fig. 5 histograms.

A sequence whose results and record exist is skipped unless ``merge.overwrite``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from remots import masks
from remots.artifacts import RunFolder
from remots.errors import InputError
from remots.io.atomic import atomic_write_json
from remots.io.instances import Instance, sort_instances, track_obj_id
from remots.io.mots import write_mots_txt
from remots.tracking.merge import merge_tracklets
from remots.tracking.thresholds import (
    estimate_theta_merge,
    intra_tracklet_similarities,
    pairwise_similarities_within,
    plot_theta_merge,
)

log = logging.getLogger(__name__)


@dataclass
class MergeResult:
    """What merging one sequence produced (frames 0-based)."""

    results: list[Instance]  # final tracks, canonical order (frame, obj_id)
    track_of_tracklet: np.ndarray  # (K,) long-track label of each short tracklet, -1 if empty
    obj_id_of_track: dict[int, int]  # long-track label -> written obj_id
    theta_merge: float
    theta_merge_source: str  # "override" or "estimated (<method>)"
    merges: list[tuple[int, int, float]]
    intra_frame_sims: np.ndarray = field(repr=False)
    intra_tracklet_sims: np.ndarray = field(repr=False)


def intra_frame_groups(frames: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Group id per detection for the intra-frame histogram: one group per (frame, class), so
    that the different-object pairs are the ones the merge could confuse (same class)."""
    frames, classes = np.asarray(frames, np.int64), np.asarray(classes, np.int64)
    if len(frames) == 0:
        return frames
    return frames * (int(classes.max()) + 1) + classes


def merge_short_tracklets(
    detections: list[Instance],
    tracklet_of_detection,
    features,
    *,
    theta_t: int = 15,
    theta_merge: float | None = None,
    method: str = "min_error",
    max_pairs: int | None = None,
    rng: np.random.Generator | None = None,
) -> MergeResult:
    """Merge the short tracklets of one sequence into long tracks (section 2.5).

    Args:
        detections: the sequence's detections; detection k has ``obj_id == k``.
        tracklet_of_detection: ``(N,)`` short tracklet of each detection, -1 for none (left out
            of the results).
        features: ``(N, D)`` appearance features, rows in detection order.
        theta_t: largest gap in frames one join may span.
        theta_merge: the similarity threshold; None estimates it (``method``) from the
            intra-frame and intra-tracklet similarities of this sequence.
        max_pairs, rng: subsample each histogram to ``max_pairs`` pairs with ``rng``.

    Raises:
        ValueError: a tracklet with two detections in one frame, or with two classes.
    """
    tracklet = np.asarray(tracklet_of_detection, dtype=np.int64)
    features = np.asarray(features)
    frames = np.array([d.frame for d in detections], np.int64)
    classes = np.array([d.class_id for d in detections], np.int64)
    if len(tracklet) != len(detections) or len(features) != len(detections):
        raise ValueError(
            f"{len(detections)} detections but {len(tracklet)} tracklet ids and "
            f"{len(features)} features"
        )
    in_tracklet = tracklet >= 0
    pairs = np.stack([tracklet[in_tracklet], frames[in_tracklet]], axis=1)
    if len(np.unique(pairs, axis=0)) != len(pairs):
        _, first, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
        k, t = pairs[first[np.argmax(counts > 1)]]
        raise ValueError(f"short tracklet {k} has two detections in frame index {t}")

    groups = np.where(in_tracklet, intra_frame_groups(frames, classes), -1)
    rng = np.random.default_rng(0) if rng is None else rng
    intra_frame = pairwise_similarities_within(features, groups, max_pairs=max_pairs, rng=rng)
    intra_tracklet = intra_tracklet_similarities(features, tracklet, max_pairs=max_pairs, rng=rng)
    if theta_merge is None:
        if len(intra_frame) == 0 or len(intra_tracklet) == 0:
            # one of the Fig. 5 histograms is empty (an empty sequence, one object per frame,
            # tracklets of one mask each): no boundary can be read from the data, so nothing
            # is merged (cut at distance 0)
            log.warning(
                "cannot estimate theta_merge from %d intra-frame and %d intra-tracklet "
                "similarity pairs: no merging (set merge.theta_merge to merge anyway)",
                len(intra_frame),
                len(intra_tracklet),
            )
            theta_merge, source = 1.0, "no estimate (too few similarity pairs): no merging"
        else:
            theta_merge = estimate_theta_merge(intra_frame, intra_tracklet, method=method)
            source = f"estimated ({method})"
    else:
        source = "override"
    theta_merge = float(theta_merge)

    k = int(tracklet.max()) + 1 if in_tracklet.any() else 0
    if k:
        track_of_tracklet, merges = merge_tracklets(
            features,
            tracklet,
            frames,
            classes,
            theta_merge=theta_merge,
            theta_t=theta_t,
            num_tracklets=k,
            return_merges=True,
        )
    else:
        track_of_tracklet, merges = np.zeros(0, np.int64), []

    track = np.where(in_tracklet, track_of_tracklet[np.maximum(tracklet, 0)], -1)
    results, obj_id_of_track = results_from_tracks(detections, track)
    return MergeResult(
        results=results,
        track_of_tracklet=track_of_tracklet,
        obj_id_of_track=obj_id_of_track,
        theta_merge=theta_merge,
        theta_merge_source=source,
        merges=merges,
        intra_frame_sims=intra_frame,
        intra_tracklet_sims=intra_tracklet,
    )


def results_from_tracks(
    detections: list[Instance], track_of_detection
) -> tuple[list[Instance], dict[int, int]]:
    """MOTS results from a track label per detection (-1: left out).

    Tracks of each class are numbered in order of their first frame (then label) and get
    obj_id ``track_obj_id(class, n)``; pixels shared within a frame go to the higher score
    (masks left empty are dropped); instances come in canonical order (frame, obj_id).

    Returns:
        The results and the obj_id of each track label.
    """
    track = np.asarray(track_of_detection, dtype=np.int64)
    frames = np.array([d.frame for d in detections], np.int64)
    classes = np.array([d.class_id for d in detections], np.int64)
    kept = np.flatnonzero(track >= 0)
    by_track = kept[np.lexsort((frames[kept], track[kept]))]  # by label, then frame
    labels, first = np.unique(track[by_track], return_index=True)
    first_frame, class_of = frames[by_track][first], classes[by_track][first]
    obj_id_of_track: dict[int, int] = {}
    per_class: dict[int, int] = {}
    for j in np.lexsort((labels, first_frame)):
        cls = int(class_of[j])
        obj_id_of_track[int(labels[j])] = track_obj_id(cls, per_class.get(cls, 0))
        per_class[cls] = per_class.get(cls, 0) + 1
    results = [
        Instance(d.frame, obj_id_of_track[int(track[i])], d.class_id, d.rle, d.score)
        for i, d in enumerate(detections)
        if track[i] >= 0
    ]
    return sort_instances(_exclusive_per_frame(results)), obj_id_of_track


def _exclusive_per_frame(results: list[Instance]) -> list[Instance]:
    """MOTS results must not share pixels: shared pixels go to the higher score; masks left
    empty are dropped. Written masks carry score 1."""
    by_frame: dict[int, list[Instance]] = {}
    for inst in results:
        by_frame.setdefault(inst.frame, []).append(inst)
    out: list[Instance] = []
    dropped = 0
    for frame_instances in by_frame.values():
        rles = [i.rle for i in frame_instances]
        if masks.overlapping_pairs(rles):
            rles = masks.make_exclusive(rles, [i.score for i in frame_instances])
        areas = masks.area(rles)
        for inst, rle, a in zip(frame_instances, rles, areas, strict=True):
            if a == 0:
                dropped += 1
                continue
            out.append(inst.with_(rle=rle, score=1.0))
    if dropped:
        log.info("%d masks left empty by pixel exclusivity were dropped", dropped)
    return out


def merge_record(seq, result: MergeResult, *, theta_t: int, features: str) -> dict:
    """The JSON record of one sequence's merge (frames in the sequence's own numbering)."""
    members: dict[int, list[int]] = {}
    for k, m in enumerate(result.track_of_tracklet.tolist()):
        if m >= 0:
            members.setdefault(m, []).append(k)
    spans: dict[int, list[int]] = {}
    class_of: dict[int, int] = {}
    for inst in result.results:
        spans.setdefault(inst.obj_id, []).append(inst.frame)
        class_of[inst.obj_id] = inst.class_id
    tracks = []
    for m, obj_id in sorted(result.obj_id_of_track.items(), key=lambda kv: kv[1]):
        frames = spans.get(obj_id, [])
        tracks.append(
            {
                "obj_id": obj_id,
                "class_id": class_of.get(obj_id),
                "short_tracklets": members[m],
                "num_masks": len(frames),
                "first_frame": min(frames) + seq.frame_base if frames else None,
                "last_frame": max(frames) + seq.frame_base if frames else None,
            }
        )

    def summary(sims):
        return {
            "n": len(sims),
            "mean": float(np.mean(sims)) if len(sims) else None,
            "std": float(np.std(sims)) if len(sims) else None,
        }

    return {
        "sequence": seq.name,
        "features": features,
        "theta_merge": result.theta_merge,
        "theta_merge_source": result.theta_merge_source,
        "cut": 1.0 - result.theta_merge,
        "theta_t": theta_t,
        "num_short_tracklets": int((result.track_of_tracklet >= 0).sum()),
        "num_tracks": len(tracks),
        "tracks": tracks,
        "merges": [{"kept": a, "absorbed": b, "distance": d} for a, b, d in result.merges],
        "histograms": {
            "intra_frame": summary(result.intra_frame_sims),
            "intra_tracklet": summary(result.intra_tracklet_sims),
        },
    }


def read_tracklet_of_detection(path, num_detections: int) -> np.ndarray:
    """``tracklet_of_detection`` (one int per detection, -1 = none) from the short tracker's
    ``tracklets_short/<seq>.json``, checked against the number of detections."""
    if not path.is_file():
        raise InputError("short tracklets not found: run `track.py stage=short` first", path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        tracklet = np.asarray(meta["tracklet_of_detection"], dtype=np.int64)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON: {err.msg}", path, err.lineno) from None
    except (KeyError, TypeError, ValueError):
        raise InputError("expected a list of ints under 'tracklet_of_detection'", path) from None
    if tracklet.shape != (num_detections,):
        raise InputError(
            f"'tracklet_of_detection' has {tracklet.size} entries, the detections file "
            f"{num_detections}",
            path,
        )
    if (tracklet < -1).any():
        raise InputError("tracklet ids are >= 0, or -1 for a detection in no tracklet", path)
    return tracklet


def merge_one_sequence(cfg, run: RunFolder, seq) -> bool:
    """Merge one sequence and write its artifacts; False when skipped (outputs exist)."""
    from remots.io.detections import read_detections_txt

    mcfg = cfg.merge
    out, record_path = run.results(seq.name), run.merge_record(seq.name)
    if out.is_file() and record_path.is_file() and not mcfg.get("overwrite", False):
        log.info("merge %s: results exist, skipped (merge.overwrite=true recomputes)", seq.name)
        return False
    detections = read_detections_txt(
        run.detections(seq.name),
        frame_base=seq.frame_base,
        num_frames=seq.num_frames,
        image_size=seq.image_size,
    )
    meta_path = run.short_meta(seq.name)
    tracklet = read_tracklet_of_detection(meta_path, len(detections))
    allowed = cfg.data.get("classes")
    if allowed:
        allowed_set = {int(c) for c in allowed}
        tracklet = np.where([d.class_id in allowed_set for d in detections], tracklet, -1)

    from remots.models.embedding import ensure_features

    phase = mcfg.get("features", "inter")
    features = np.asarray(ensure_features(cfg, run, phase, seq, detections))
    if features.ndim != 2 or len(features) != len(detections):
        raise InputError(
            f"{phase} features have shape {features.shape}, expected ({len(detections)}, D)",
            run.features(phase, seq.name),
        )
    theta_merge = mcfg.get("theta_merge")
    try:
        result = merge_short_tracklets(
            detections,
            tracklet,
            features,
            theta_t=int(mcfg.theta_t),
            theta_merge=theta_merge,
            method=mcfg.get("method", "min_error"),
            max_pairs=mcfg.get("max_pairs"),
            rng=np.random.default_rng(int(cfg.get("seed", 0))),
        )
    except ValueError as err:  # a tracklet with two detections in a frame, or two classes
        raise InputError(str(err), meta_path) from None

    write_mots_txt(out, result.results, frame_base=seq.frame_base)
    if mcfg.get("plot", True):
        plot_theta_merge(
            run.plots() / f"theta_merge_{seq.name}.png",
            result.intra_frame_sims,
            result.intra_tracklet_sims,
            result.theta_merge,
            title=f"{seq.name}: theta_merge {result.theta_merge:.3f} ({result.theta_merge_source})",
        )
    record = merge_record(seq, result, theta_t=int(mcfg.theta_t), features=phase)
    atomic_write_json(record_path, record)  # last: its presence marks the sequence done
    log.info(
        "merge %s: %d short tracklets -> %d tracks, theta_merge %.3f (%s)",
        seq.name,
        record["num_short_tracklets"],
        record["num_tracks"],
        result.theta_merge,
        result.theta_merge_source,
    )
    return True


def run_merge(cfg) -> None:
    """The ``merge`` stage: every target sequence of ``cfg.data``."""
    from remots.datasets import load_split

    run = RunFolder(cfg.paths.run_dir)
    sequences = load_split(cfg.data, "target", with_gt=False)
    for seq in tqdm(sequences, desc="merge", unit="seq"):
        merge_one_sequence(cfg, run, seq)
