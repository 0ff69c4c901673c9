"""``python track.py stage=short``: short-term tracklets of every target sequence (section 2.3).

For each target sequence: read the fused detections, get their appearance features (intra-frame
encoder), estimate theta_short per class from the intra-frame similarities (Fig. 4), run the
two-frame tracker, and write into the run folder

- ``tracklets_short/<seq>.txt``: the short tracklets, MOTS txt (valid for TrackEval);
- ``tracklets_short/<seq>.json``: ``tracklet_of_detection`` (row k = detection k, -1 for none),
  ``theta_short`` per class, ``num_tracklets``, ``obj_id_of_tracklet`` and the statistics used;
- ``baseline/<seq>.txt``: the IoU-only baseline tracks;
- ``plots/theta_short_<seq>.png``: the histogram of Fig. 4.

In refine mode with kept ids (``detections/<seq>.seeds.json`` from the detect stage), the
tracklets grow from the input's track ids instead (``tracker.seeds``: ``split`` cuts a seed where
Eq. (1)-(2) forbid its link, ``keep`` keeps it whole).

Config is read here only; the algorithms are ``remots.tracking.short_term`` and
``remots.tracking.thresholds``.
"""

from __future__ import annotations

import json
import logging

import numpy as np
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from remots.artifacts import RunFolder
from remots.errors import ConfigError, InputError
from remots.io.atomic import atomic_write_json
from remots.io.layouts import Sequence
from remots.io.mots import CLASS_NAMES, Instance, group_by_frame, write_mots_txt
from remots.tracking.short_term import (
    obj_id_of_tracklets,
    track_from_seeds,
    track_short,
    tracklets_to_instances,
)
from remots.tracking.thresholds import (
    estimate_theta_short,
    intra_frame_similarities,
    plot_theta_short,
)

log = logging.getLogger(__name__)


def theta_short_per_class(
    features: np.ndarray,
    detections: list[Instance],
    *,
    override=None,
    num_std: float = 3.0,
    fallback: float | None = None,
    statistic: str = "normal",
) -> tuple[dict[int, float | None], dict[int, np.ndarray]]:
    """theta_short of each class present in ``detections`` and the similarities it came from.

    ``override`` (a float, or ``{class_id: float}``) replaces the estimate. A class with fewer
    than two intra-frame pairs, or whose estimate is not below 1 (mean + num_std * std >= 1: the
    encoder does not separate different objects, so Eq. (2) would refuse every link and every
    mask would become its own tracklet), gets ``fallback`` (None: no appearance gate), with a
    warning.
    """
    thetas: dict[int, float | None] = {}
    sims_of: dict[int, np.ndarray] = {}
    for class_id in sorted({d.class_id for d in detections}):
        rows = [d.obj_id for d in detections if d.class_id == class_id]
        frames = [d.frame for d in detections if d.class_id == class_id]
        sims = intra_frame_similarities(features[rows], np.asarray(frames))
        sims_of[class_id] = sims
        if override is not None:
            value = override.get(class_id) if isinstance(override, dict) else override
            thetas[class_id] = None if value is None else float(value)
        elif len(sims) >= 2:
            theta = estimate_theta_short(sims, num_std=num_std, statistic=statistic)
            if theta < 1.0:
                thetas[class_id] = theta
            else:
                log.warning(
                    "class %d: theta_short = mean + %g std = %.3f >= 1 would refuse every link "
                    "(the features do not separate different objects); using %s",
                    class_id,
                    num_std,
                    theta,
                    fallback,
                )
                thetas[class_id] = fallback
        else:
            log.warning(
                "class %d has %d intra-frame pairs: theta_short cannot be estimated, using %s",
                class_id,
                len(sims),
                fallback,
            )
            thetas[class_id] = fallback
    return thetas, sims_of


SEED_POLICIES = ("split", "keep")


def read_seeds(run: RunFolder, seq: Sequence, num_detections: int) -> np.ndarray | None:
    """The input track id of each detection (refine mode with ``detector.keep_ids``), or None
    when the detect stage wrote no seeds for ``seq``."""
    path = run.detection_seeds(seq.name)
    if not path.is_file():
        return None
    try:
        seeds = np.asarray(json.loads(path.read_text())["seed_of_detection"], np.int64)
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"unreadable seeds ({err}); rerun the detect stage", path) from None
    if seeds.shape != (num_detections,):
        raise InputError(
            f"{seeds.shape[0] if seeds.ndim else 0} seeds for {num_detections} detections of "
            f"{seq.name}; rerun the detect stage",
            path,
        )
    return seeds


def _flow_settings(flow_cfg) -> tuple[str, dict]:
    flow = OmegaConf.to_container(flow_cfg, resolve=True) if flow_cfg is not None else {}
    method = flow.pop("method", "none")
    return method, flow


def short_sequence(cfg: DictConfig, run: RunFolder, seq: Sequence, ensure_features) -> dict:
    """Short tracklets (and the IoU-only baseline) of one sequence; returns the metadata."""
    from remots.io.detections import read_detections_txt

    tracker = cfg.tracker
    detections = read_detections_txt(
        run.detections(seq.name),
        frame_base=seq.frame_base,
        num_frames=seq.num_frames,
        image_size=seq.image_size,
    )
    classes = cfg.data.get("classes")
    tracked = [d for d in detections if classes is None or d.class_id in classes]
    by_frame = group_by_frame(tracked, seq.num_frames)
    method, flow_kwargs = _flow_settings(cfg.get("flow"))
    use_flow = method != "none"
    progress = bool(tracker.get("progress", False))

    features = None
    thetas: dict[int, float | None] = {}
    sims_of: dict[int, np.ndarray] = {}
    use_appearance = bool(tracker.use_appearance)
    # Fig. 4 is estimated and plotted even where Eq. (2) is off: it shows why it is off
    if use_appearance or bool(tracker.get("estimate_theta_short", True)):
        features = np.asarray(
            ensure_features(cfg, run, tracker.get("features_phase", "intra"), seq, detections)
        )
        phase = tracker.get("features_phase", "intra")
        if features.ndim != 2 or len(features) != len(detections):
            raise InputError(
                f"{features.shape} features for {len(detections)} detections of {seq.name} "
                "(expected one row per detection)",
                run.features(phase, seq.name),
            )
        override = tracker.get("theta_short")
        if override is not None and not isinstance(override, float | int):
            override = {int(k): v for k, v in OmegaConf.to_container(override).items()}
        thetas, sims_of = theta_short_per_class(
            features,
            tracked,
            override=override,
            num_std=float(tracker.num_std),
            fallback=tracker.get("theta_short_fallback"),
            statistic=str(tracker.get("theta_short_statistic", "normal")),
        )
        for class_id, theta in thetas.items():
            log.info(
                "%s: theta_short[%s] = %s (%d intra-frame pairs)%s",
                seq.name,
                CLASS_NAMES.get(class_id, class_id),
                theta,
                len(sims_of[class_id]),
                "" if use_appearance else ", not used (tracker.use_appearance=false)",
            )
        plot_theta_short(
            {CLASS_NAMES.get(c, str(c)): s for c, s in sims_of.items()},
            {CLASS_NAMES.get(c, str(c)): thetas[c] for c in sims_of},
            run.plots() / f"theta_short_{seq.name}.png",
            title=f"{seq.name}: intra-frame cosine similarity"
            + ("" if use_appearance else "\n(theta_short not used: links by flow-warped IoU)"),
        )

    common = {
        "flow_method": method,
        "theta_short": thetas if use_appearance else None,
        "use_appearance": use_appearance,
        "use_flow": use_flow,
        "min_iou": float(tracker.get("min_iou", 0.0)),
        "flow_kwargs": flow_kwargs,
        "progress": progress,
    }
    seeds = read_seeds(run, seq, len(detections))
    seed_policy = str(tracker.get("seeds", "split"))
    if seeds is None:
        tracklet_of_detection = track_short(
            seq.iter_frames() if use_flow else None, by_frame, features, **common
        )
    else:
        if seed_policy not in SEED_POLICIES:
            raise ConfigError(f"tracker.seeds={seed_policy!r}: expected one of {SEED_POLICIES}")
        split = seed_policy == "split"
        log.info("%s: short tracklets grown from the input's track ids (%s)", seq.name, seed_policy)
        tracklet_of_detection = track_from_seeds(
            seq.iter_frames() if use_flow and split else None,
            by_frame,
            features,
            seeds,
            split=split,
            **common,
        )
    tracklet_of_detection = np.concatenate(
        [tracklet_of_detection, np.full(len(detections) - len(tracklet_of_detection), -1)]
    ).astype(np.int64)
    instances = tracklets_to_instances(tracked, tracklet_of_detection)
    write_mots_txt(run.short_tracklets(seq.name), instances, frame_base=seq.frame_base)

    obj_id_of_tracklet = obj_id_of_tracklets(tracked, tracklet_of_detection)
    meta = {
        "sequence": seq.name,
        "num_detections": len(detections),
        "num_tracklets": len(obj_id_of_tracklet),
        "tracklet_of_detection": tracklet_of_detection.tolist(),
        "obj_id_of_tracklet": [obj_id_of_tracklet[k] for k in sorted(obj_id_of_tracklet)],
        "theta_short": {str(c): t for c, t in thetas.items()},
        "intra_frame_similarity": {
            str(c): {
                "num_pairs": len(s),
                "mean": float(s.mean()) if len(s) else None,
                "std": float(s.std()) if len(s) else None,
            }
            for c, s in sims_of.items()
        },
        "flow": {"method": method, **flow_kwargs},
        "seeds": None if seeds is None else seed_policy,
        "use_appearance": use_appearance,
        "min_iou": float(tracker.get("min_iou", 0.0)),
    }
    atomic_write_json(run.short_meta(seq.name), meta)

    baseline = tracker.get("baseline")
    if baseline is not None and baseline.get("enabled", True):
        base_flow = bool(baseline.get("use_flow", False)) and use_flow
        base_tracklets = track_short(
            seq.iter_frames() if base_flow else None,
            by_frame,
            None,
            flow_method=method if base_flow else None,
            use_appearance=False,
            use_flow=base_flow,
            min_iou=float(baseline.get("min_iou", 0.0)),
            flow_kwargs=flow_kwargs,
            progress=progress,
        )
        write_mots_txt(
            run.baseline(seq.name),
            tracklets_to_instances(tracked, base_tracklets),
            frame_base=seq.frame_base,
        )
    log.info(
        "%s: %d detections -> %d short tracklets", seq.name, len(tracked), meta["num_tracklets"]
    )
    return meta


def _outputs_exist(run: RunFolder, seq: Sequence, cfg: DictConfig) -> bool:
    paths = [run.short_tracklets(seq.name), run.short_meta(seq.name)]
    baseline = cfg.tracker.get("baseline")
    if baseline is not None and baseline.get("enabled", True):
        paths.append(run.baseline(seq.name))
    return all(p.is_file() for p in paths)


def run_short(cfg: DictConfig) -> None:
    """The ``short`` stage: short tracklets of every target sequence (``cfg.data``'s target split).

    Sequences whose outputs exist are skipped unless ``tracker.overwrite``.
    """
    from remots.datasets import load_split
    from remots.models.embedding import ensure_features

    run = RunFolder(cfg.paths.run_dir)
    sequences = load_split(cfg.data, "target", with_gt=False)
    for seq in tqdm(
        sequences,
        desc="short tracklets",
        unit="seq",
        disable=not cfg.tracker.get("progress", False),
    ):
        if not cfg.tracker.get("overwrite", False) and _outputs_exist(run, seq, cfg):
            log.info("%s: short tracklets exist, skipped", seq.name)
            continue
        short_sequence(cfg, run, seq, ensure_features)
