"""``python track.py stage=short``: short tracklets of every target sequence (section 2.3).

Per sequence: read the fused detections and their features (``embed_short``), estimate
theta_short per class from the intra-frame similarities (Fig. 4), run the two-frame tracker, and
write

- ``tracklets_short/<seq>.txt``: the short tracklets, MOTS txt (valid for TrackEval);
- ``tracklets_short/<seq>.json``: ``tracklet_of_detection`` (row k = detection k, -1 for none),
  ``theta_short`` per class (as used) and ``theta_short_estimate`` (from the data, None without
  two intra-frame pairs), ``num_tracklets``, ``obj_id_of_tracklet`` and the statistics used;
- ``baseline/<seq>.txt``: the IoU-only baseline tracks;
- ``plots/theta_short_<seq>.png``: the histogram of Fig. 4.

In refine mode with kept ids (``detections/<seq>.seeds.json`` from the detect stage), the
tracklets grow from the input's track ids instead (``tracker.seeds``: ``split`` cuts a seed where
Eq. (1)-(2) forbid its link, ``keep`` keeps it whole).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
from omegaconf import DictConfig

from remots.config import FlowConfig, TrackerConfig, typed
from remots.io.atomic import atomic_write_json
from remots.io.detections import Detections
from remots.io.instances import CLASS_NAMES
from remots.io.layouts import Video
from remots.io.mots import write_mots_txt
from remots.io.run_folder import RunFolder
from remots.parallel import WorkerPool
from remots.stages.embed import read_features
from remots.tracking.short_term import ShortTermParams, track_from_seeds, track_short
from remots.tracking.thresholds import estimate_theta_short, theta_short_per_class
from remots.tracking.tracks import results_from_tracks
from remots.viz.thresholds import plot_theta_short

log = logging.getLogger(__name__)


def short(cfg: DictConfig, run: RunFolder, videos: list[Video]) -> Iterator[str]:
    """Short tracklets (and the IoU-only baseline) of each video; yields its name when written.
    The flow, warping and ``W_short`` of the frame pairs run on ``cfg.workers`` processes."""
    with WorkerPool(cfg.get("workers")) as pool:
        yield from _short(cfg, run, videos, pool)


def _short(cfg: DictConfig, run: RunFolder, videos: list[Video], pool: WorkerPool):
    tracker, flow = typed(cfg.tracker), typed(cfg.flow)
    for video in videos:
        detections = run.read_detections(video)
        tracked = np.flatnonzero(np.isin(detections.classes, list(cfg.data.classes)))
        sub = detections.subset(tracked)
        features = None
        if tracker.use_appearance or tracker.estimate_theta_short:
            phase = tracker.features_phase
            features = read_features(cfg, run, video, phase, len(detections), "embed_short")
            features = features[tracked]
        thetas, estimates, sims_of = _theta_short(tracker, sub, features, video)
        if sims_of:
            names = {c: CLASS_NAMES.get(c, str(c)) for c in sims_of}
            if tracker.theta_short_pairs == "frame":  # one histogram, read for every class
                names = {c: "+".join(names.values()) for c in list(sims_of)[:1]}
            plot_theta_short(
                {names[c]: sims_of[c] for c in names},
                {names[c]: thetas[c] for c in names},
                run.plots() / f"theta_short_{video.name}.png",
                estimate={names[c]: estimates[c] for c in names},
                title=f"{video.name}: intra-frame cosine similarity"
                + (
                    ""
                    if tracker.use_appearance
                    else "\n(theta_short not used: links by flow-warped IoU)"
                ),
            )
        params = ShortTermParams(
            theta_short=thetas if tracker.use_appearance else None,
            use_appearance=tracker.use_appearance,
            flow_method=flow.method,
            flow_kwargs=flow.kwargs(),
            min_iou=tracker.min_iou,
            progress=tracker.progress,
        )
        seeds = run.read_seeds(video, len(detections))
        if seeds is None:
            tracklets = track_short(sub, features, params, _frames(video, params), pool=pool)
        else:
            split = tracker.seeds == "split"
            log.info(
                "%s: tracklets grown from the input's track ids (%s)", video.name, tracker.seeds
            )
            frames = _frames(video, params) if split else None
            tracklets = track_from_seeds(
                sub, features, seeds[tracked], params, frames, split=split, pool=pool
            )
        tracklet_of_detection = np.full(len(detections), -1, np.int64)
        tracklet_of_detection[tracked] = tracklets
        instances, obj_id_of_tracklet = results_from_tracks(sub, tracklets)
        write_mots_txt(
            run.short_tracklets(video.name),
            instances,
            frame_base=video.frame_base,
            frame_step=video.frame_step,
        )
        record = {
            "sequence": video.name,
            "num_detections": len(detections),
            "num_tracklets": len(obj_id_of_tracklet),
            "tracklet_of_detection": tracklet_of_detection.tolist(),
            "obj_id_of_tracklet": [obj_id_of_tracklet[k] for k in sorted(obj_id_of_tracklet)],
            "theta_short": {str(c): t for c, t in thetas.items()},
            "theta_short_estimate": {str(c): t for c, t in estimates.items()},
            "intra_frame_similarity": {str(c): _summary(s) for c, s in sims_of.items()},
            "flow": {"method": flow.method, **flow.kwargs()},
            "seeds": None if seeds is None else tracker.seeds,
            "use_appearance": tracker.use_appearance,
            "min_iou": tracker.min_iou,
        }
        atomic_write_json(run.short_meta(video.name), record)
        if tracker.baseline.enabled:
            _baseline(run, video, sub, tracker, flow, pool)
        log.info(
            "%s: %d detections -> %d short tracklets", video.name, len(sub), len(obj_id_of_tracklet)
        )
        yield video.name


def _summary(sims: np.ndarray) -> dict:
    return {
        "num_pairs": len(sims),
        "mean": float(sims.mean()) if len(sims) else None,
        "std": float(sims.std()) if len(sims) else None,
    }


def _frames(video: Video, params: ShortTermParams) -> Video | None:
    """The frame source of the flow (workers read their own frames from it)."""
    return video if params.use_flow else None


def _theta_short(
    tracker: TrackerConfig, detections: Detections, features: np.ndarray | None, video: Video
) -> tuple[dict, dict, dict]:
    """theta_short per class (Fig. 4) as used, its estimate from the data (None: fewer than two
    intra-frame pairs; the eval stage's table names the sequence-classes without an estimate
    below 1) and the intra-frame similarities, plotted; estimated and plotted even where Eq. (2)
    is off, to show why."""
    if features is None:
        return {}, {}, {}
    thetas, sims_of = theta_short_per_class(
        features,
        detections.frames,
        detections.classes,
        override=tracker.theta_short,
        num_std=tracker.num_std,
        fallback=tracker.theta_short_fallback,
        statistic=tracker.theta_short_statistic,
        pairs=tracker.theta_short_pairs,
        min_pairs=tracker.theta_short_min_pairs,
    )
    unused = "" if tracker.use_appearance else ", not used (tracker.use_appearance=false)"
    for class_id, theta in thetas.items():
        log.info(
            "%s: theta_short[%s] = %s (%d intra-frame pairs)%s",
            video.name,
            CLASS_NAMES.get(class_id, class_id),
            "none (no gate)" if theta is None else f"{theta:.3f}",
            len(sims_of[class_id]),
            unused,
        )
    estimates = {
        c: estimate_theta_short(s, num_std=tracker.num_std, statistic=tracker.theta_short_statistic)
        if len(s) >= 2
        else None
        for c, s in sims_of.items()
    }
    return thetas, estimates, sims_of


def _baseline(
    run, video, detections, tracker: TrackerConfig, flow: FlowConfig, pool: WorkerPool
) -> None:
    """The IoU-only baseline: the same frame-to-frame assignment on ``1 - IoU``."""
    use_flow = tracker.baseline.use_flow and flow.method != "none"
    params = ShortTermParams(
        use_appearance=False,
        flow_method=flow.method if use_flow else None,
        flow_kwargs=flow.kwargs() if use_flow else {},
        min_iou=tracker.baseline.min_iou,
        progress=tracker.progress,
    )
    tracks = track_short(detections, None, params, _frames(video, params), pool=pool)
    instances, _ = results_from_tracks(detections, tracks)
    write_mots_txt(
        run.baseline(video.name),
        instances,
        frame_base=video.frame_base,
        frame_step=video.frame_step,
    )
