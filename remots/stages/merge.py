"""``python track.py stage=merge``: short tracklets -> long tracks -> final MOTS results (2.5).

Per target sequence: read the detections, the short tracklets (``tracklets_short/<seq>.json``)
and the features of ``embed_merge``, estimate theta_merge from the intra-frame and intra-tracklet
similarity histograms (Fig. 5; ``merge.theta_merge`` overrides it), merge
(``remots.tracking.merge.merge_short_tracklets``) and write

* ``results/<seq>.txt``: MOTS txt in the sequence's frame numbering, ordered by frame then
  obj_id, obj_ids numbered per class by first frame; ids are unique per frame and masks do not
  overlap (shared pixels go to the higher detection score);
* ``results/<seq>.json``: the merge record (theta_merge and where it came from, the cut, which
  short tracklets formed each track, every merge with its distance);
* ``plots/theta_merge_<seq>.png``: the Fig. 5 histograms.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
from omegaconf import DictConfig

from remots.config import typed
from remots.errors import InputError
from remots.io.atomic import atomic_write_json
from remots.io.layouts import Video
from remots.io.mots import write_mots_txt
from remots.io.run_folder import RunFolder
from remots.parallel import WorkerPool, resolve_workers
from remots.stages.embed import read_features
from remots.tracking.merge import MergeParams, MergeResult, merge_short_tracklets
from remots.viz.thresholds import plot_theta_merge

log = logging.getLogger(__name__)


def merge(cfg: DictConfig, run: RunFolder, videos: list[Video]) -> Iterator[str]:
    """Merge each video's short tracklets; yields its name once its results are written.
    Sequences run side by side on ``cfg.workers`` processes and are yielded as they finish."""
    workers = min(resolve_workers(cfg.get("workers")), max(1, len(videos)))
    with WorkerPool(workers) as pool:
        tasks = [(cfg, run, video) for video in videos]
        for i, summary in pool.map_unordered(_merge_sequence, tasks):
            log.info("merge %s", summary)
            yield videos[i].name


def _merge_sequence(task: tuple[DictConfig, RunFolder, Video]) -> str:
    """Merge one sequence and write its files; returns the line the log gets."""
    cfg, run, video = task
    options = typed(cfg.merge)
    params = MergeParams(
        theta_t=options.theta_t,
        theta_merge=options.theta_merge,
        method=options.method,
        max_pairs=options.max_pairs,
    )
    detections = run.read_detections(video)
    tracklet = run.read_tracklet_of_detection(video, len(detections))
    tracklet = np.where(np.isin(detections.classes, list(cfg.data.classes)), tracklet, -1)
    phase = options.features
    features = read_features(cfg, run, video, phase, len(detections), "embed_merge")
    try:
        result = merge_short_tracklets(
            detections, tracklet, features, params, rng=np.random.default_rng(int(cfg.seed))
        )
    except ValueError as err:  # a tracklet with two detections in a frame, or two classes
        raise InputError(str(err), run.short_meta(video.name)) from None
    write_mots_txt(
        run.results(video.name),
        result.results,
        frame_base=video.frame_base,
        frame_step=video.frame_step,
    )
    if options.plot:
        plot_theta_merge(
            run.plots() / f"theta_merge_{video.name}.png",
            result.intra_frame_sims,
            result.intra_tracklet_sims,
            result.theta_merge,
            title=f"{video.name}: theta_merge {result.theta_merge:.3f} "
            f"({result.theta_merge_source})",
        )
    record = merge_record(video, result, theta_t=params.theta_t, features=phase)
    atomic_write_json(run.merge_record(video.name), record)
    return (
        f"{video.name}: {record['num_short_tracklets']} short tracklets -> "
        f"{record['num_tracks']} tracks, theta_merge {result.theta_merge:.3f} "
        f"({result.theta_merge_source})"
    )


def merge_record(video: Video, result: MergeResult, *, theta_t: int, features: str) -> dict:
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
                "first_frame": video.frame_label(min(frames)) if frames else None,
                "last_frame": video.frame_label(max(frames)) if frames else None,
            }
        )

    def summary(sims):
        return {
            "n": len(sims),
            "mean": float(np.mean(sims)) if len(sims) else None,
            "std": float(np.std(sims)) if len(sims) else None,
        }

    return {
        "sequence": video.name,
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
