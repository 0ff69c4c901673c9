"""What long-term merging buys: IDF1, HOTA and IDSW of the short tracklets, of the merged tracks,
and of oracle merges that use the ground truth, per class, over all sequences.

Oracle merges (GT identities guide them; the chain never sees them): each short tracklet joins its
majority GT identity (``oracle merge (GT)``: every tracklet of the identity that shares no frame
with it); ``oracle merge (GT), gap <= theta_t`` joins them only where the paper's constraints let
Eq. (3) join them: in time order, each onto the chain of its identity that ended last before it
began, at most theta_t frames before. The second is the best a merge of these short tracklets can
do under those constraints (up to the impure tracklets it must keep whole): the distance from it to
the merged tracks is what the appearance features and theta_merge lose. ``--theta-t-sweep T ...``
adds the merge at other theta_t, with each sequence's theta_merge as estimated (the Fig. 5
estimate does not depend on theta_t).

Two sources of short tracklets:

``run``: a run folder after ``stage=short`` (and the inter-phase encoder), on target videos with
GT (the synthetic default)::

    python benchmarks/measure_merge.py run [hydra overrides, e.g. data=synthetic]

The merged tracks are ``results/<seq>.txt`` when the merge stage wrote them, else they are
computed here with the same code and ``cfg.merge``.

``kitti``: a proxy that needs nothing but ../shared/data: KITTI MOTS GT masks as detections
(10 % dropped), GT tracks cut into short tracklets at every gap and at random, and *simulated*
features (identity vector shared in part by all identities, plus per-tracklet drift and
per-detection noise)::

    python benchmarks/measure_merge.py kitti [--sequences 0001 0005 ...]

Metrics come from ``remots.eval.evaluate`` when it exists; otherwise from TrackEval's HOTA, CLEAR
and Identity metric classes directly (mask IoU similarity, without MOTS ignore-region handling).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remots import masks  # noqa: E402
from remots.io.detections import Detections  # noqa: E402
from remots.io.instances import CLASS_NAMES, IGNORE, Instance  # noqa: E402
from remots.tracking.merge import MergeParams, merge_short_tracklets, merge_tracklets  # noqa: E402
from remots.tracking.tracks import results_from_tracks  # noqa: E402

log = logging.getLogger("measure_merge")
METRICS = ("IDF1", "HOTA", "IDSW")


# ----------------------------------------------------------------------------- oracle


def gt_identity_of_detections(detections: list[Instance], gt: list[Instance]) -> np.ndarray:
    """GT obj_id matched to each detection (mask IoU >= 0.5, Hungarian per frame), -1 if none."""
    out = np.full(len(detections), -1, np.int64)
    by_frame: dict[int, tuple[list[int], list[Instance]]] = {}
    for k, d in enumerate(detections):
        by_frame.setdefault(d.frame, ([], []))[0].append(k)
    for g in gt:
        if g.class_id != IGNORE and g.frame in by_frame:
            by_frame[g.frame][1].append(g)
    for idx, gts in by_frame.values():
        if not gts:
            continue
        iou = masks.iou_matrix([detections[k].rle for k in idx], [g.rle for g in gts])
        same_class = (
            np.array([detections[k].class_id for k in idx])[:, None]
            == np.array([g.class_id for g in gts])[None, :]
        )
        iou = np.where(same_class, iou, 0.0)
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols, strict=True):
            if iou[r, c] >= 0.5:
                out[idx[r]] = gts[c].obj_id
    return out


def majority_identity(tracklet: np.ndarray, gt_id: np.ndarray) -> np.ndarray:
    """``(K,)`` GT identity most of each tracklet's matched detections hold (ties: the smaller
    id), -1 for a tracklet without a matched detection."""
    k = int(tracklet.max()) + 1 if (tracklet >= 0).any() else 0
    majority = np.full(k, -1, np.int64)
    for t in range(k):
        ids = gt_id[tracklet == t]
        ids = ids[ids >= 0]
        if len(ids):
            values, counts = np.unique(ids, return_counts=True)
            majority[t] = values[np.argmax(counts)]
    return majority


def oracle_chains_of_tracklet(
    tracklet: np.ndarray, frames: np.ndarray, gt_id: np.ndarray, theta_t: int
) -> np.ndarray:
    """``(K,)`` label per short tracklet: the tracklets of one majority GT identity chained in order
    of their first frame, each onto the chain that ended last before it began if that end is at
    most ``theta_t`` frames before it; a tracklet no chain can take, or without a matched
    detection, starts a chain of its own. The joins Eq. (3) allows (section 2.5)."""
    majority = majority_identity(tracklet, gt_id)
    label = np.arange(len(majority))
    spans: dict[int, list[tuple[int, int, int]]] = {}
    for t in range(len(majority)):
        sel = tracklet == t
        if majority[t] >= 0:
            first, last = int(frames[sel].min()), int(frames[sel].max())
            spans.setdefault(int(majority[t]), []).append((first, last, t))
    for members in spans.values():
        chains: list[list[int]] = []  # [label, last frame]
        for first, last, t in sorted(members):
            open_ = [c for c in chains if c[1] < first and first - c[1] <= theta_t]
            if open_:
                chain = max(open_, key=lambda c: c[1])
                label[t], chain[1] = chain[0], last
            else:
                chains.append([t, last])
    return label


def oracle_track_of_tracklet(tracklet: np.ndarray, frames: np.ndarray, gt_id: np.ndarray):
    """Each short tracklet joins its majority GT identity; tracklets of one identity that share
    a frame go to separate tracks (larger first); unmatched tracklets stay alone. ``(K,)``."""
    majority = majority_identity(tracklet, gt_id)
    k = len(majority)
    size = np.zeros(k, np.int64)
    frame_sets: list[set[int]] = [set() for _ in range(k)]
    for t in range(k):
        sel = tracklet == t
        size[t] = sel.sum()
        frame_sets[t] = set(frames[sel].tolist())
    label = np.full(k, -1, np.int64)
    next_label = 0
    groups: dict[int, list[tuple[int, set[int]]]] = {}
    for t in sorted(range(k), key=lambda t: (-size[t], t)):
        if size[t] == 0:
            continue
        if majority[t] < 0:
            label[t], next_label = next_label, next_label + 1
            continue
        for group_label, occupied in groups.setdefault(int(majority[t]), []):
            if not occupied & frame_sets[t]:
                label[t] = group_label
                occupied |= frame_sets[t]
                break
        else:
            label[t], next_label = next_label, next_label + 1
            groups[int(majority[t])].append((int(label[t]), set(frame_sets[t])))
    return label


# ----------------------------------------------------------------------------- evaluation


def _trackeval_data(gt: list[Instance], tracks: list[Instance], num_frames: int) -> dict:
    gt_ids = sorted({g.obj_id for g in gt})
    tr_ids = sorted({r.obj_id for r in tracks})
    gt_index = {v: i for i, v in enumerate(gt_ids)}
    tr_index = {v: i for i, v in enumerate(tr_ids)}
    gt_f = [[] for _ in range(num_frames)]
    tr_f = [[] for _ in range(num_frames)]
    for g in gt:
        gt_f[g.frame].append(g)
    for r in tracks:
        tr_f[r.frame].append(r)
    sims = []
    for a, b in zip(gt_f, tr_f, strict=True):
        sims.append(masks.iou_matrix([g.rle for g in a], [r.rle for r in b]))
    return {
        "num_timesteps": num_frames,
        "num_gt_ids": len(gt_ids),
        "num_tracker_ids": len(tr_ids),
        "num_gt_dets": len(gt),
        "num_tracker_dets": len(tracks),
        "gt_ids": [np.array([gt_index[g.obj_id] for g in a], int) for a in gt_f],
        "tracker_ids": [np.array([tr_index[r.obj_id] for r in b], int) for b in tr_f],
        "similarity_scores": sims,
    }


def evaluate_tracks(sequences, tracks: dict[str, list[Instance]], classes, benchmark) -> dict:
    """``{class name: {IDF1, HOTA, IDSW}}`` combined over the sequences."""
    names = tuple(CLASS_NAMES[c] for c in classes)
    try:
        from remots.eval import evaluate
    except ImportError:
        evaluate = None
    if evaluate is not None:
        result = evaluate(sequences, tracks, classes=names, benchmark=benchmark)
        return {n: {m: float(result.combined[n][m]) for m in METRICS} for n in names}

    from trackeval.metrics import CLEAR, HOTA, Identity

    quiet = {"PRINT_CONFIG": False}
    matched = {**quiet, "THRESHOLD": 0.5}
    metrics = [HOTA(quiet), CLEAR(matched), Identity(matched)]
    out = {}
    for cls, name in zip(classes, names, strict=True):
        per_seq = {m.get_name(): {} for m in metrics}
        for seq in sequences:
            data = _trackeval_data(
                [g for g in seq.gt if g.class_id == cls],
                [r for r in tracks[seq.name] if r.class_id == cls],
                seq.num_frames,
            )
            for m in metrics:
                per_seq[m.get_name()][seq.name] = m.eval_sequence(data)
        combined = {m.get_name(): m.combine_sequences(per_seq[m.get_name()]) for m in metrics}
        out[name] = {
            "IDF1": float(combined["Identity"]["IDF1"]),
            "HOTA": float(np.mean(combined["HOTA"]["HOTA"])),
            "IDSW": float(combined["CLEAR"]["IDSW"]),
        }
    return out


# ----------------------------------------------------------------------------- measurement


def measure(
    sequences,
    inputs,
    *,
    classes,
    benchmark,
    theta_t,
    theta_merge,
    method,
    merged=None,
    theta_t_sweep=(),
    seed=0,
):
    """Evaluate short tracklets, merged tracks and the oracle merges (and the merge at each
    theta_t of ``theta_t_sweep``).

    ``inputs[seq.name] = (detections, tracklet_of_detection, features)``; ``merged[seq.name]``,
    when given, are the merge stage's results (else merged here); ``seed`` draws the Fig. 5
    histogram samples, as the merge stage's ``seed``.
    """
    constrained = f"oracle merge (GT), gap <= {theta_t}"
    variants = {"short tracklets": {}, "merged (ReMOTS)": {}}
    variants.update({f"merged, theta_t {t}": {} for t in theta_t_sweep})
    variants.update({constrained: {}, "oracle merge (GT)": {}})
    thetas = {}
    for seq in sequences:
        detections, tracklet, features = inputs[seq.name]
        columns = Detections.from_instances(detections)
        frames = columns.frames
        variants["short tracklets"][seq.name] = results_from_tracks(columns, tracklet)[0]
        params = MergeParams(
            theta_t=theta_t, theta_merge=theta_merge, method=method, max_pairs=200_000
        )
        result = merge_short_tracklets(
            columns, tracklet, features, params, rng=np.random.default_rng(seed)
        )
        thetas[seq.name] = result.theta_merge
        variants["merged (ReMOTS)"][seq.name] = (
            merged[seq.name] if merged is not None and seq.name in merged else result.results
        )
        for t in theta_t_sweep:  # Eq. (3) alone: the Fig. 5 estimate does not depend on theta_t
            labels = merge_tracklets(
                features,
                tracklet,
                frames,
                columns.classes,
                theta_merge=result.theta_merge,
                theta_t=t,
            )
            track = np.where(tracklet >= 0, labels[np.maximum(tracklet, 0)], -1)
            variants[f"merged, theta_t {t}"][seq.name] = results_from_tracks(columns, track)[0]
        gt_id = gt_identity_of_detections(detections, seq.gt)
        chains = oracle_chains_of_tracklet(tracklet, frames, gt_id, theta_t)
        track = np.where(tracklet >= 0, chains[np.maximum(tracklet, 0)], -1)
        variants[constrained][seq.name] = results_from_tracks(columns, track)[0]
        oracle = oracle_track_of_tracklet(tracklet, frames, gt_id)
        track = np.where(tracklet >= 0, oracle[np.maximum(tracklet, 0)], -1)
        variants["oracle merge (GT)"][seq.name] = results_from_tracks(columns, track)[0]
    rows = []
    for variant, tracks in variants.items():
        scores = evaluate_tracks(sequences, tracks, classes, benchmark)
        for cls, (cls_name, values) in zip(classes, scores.items(), strict=True):
            num_tracks = sum(
                len({r.obj_id for r in t if r.class_id == cls}) for t in tracks.values()
            )
            rows.append({"variant": variant, "class": cls_name, "tracks": num_tracks, **values})
    return rows, thetas


def print_table(rows, thetas, json_path: Path | None = None) -> None:
    """The rows as a text table; with ``json_path``, also as JSON there."""
    if json_path is not None:
        json_path.write_text(json.dumps({"rows": rows, "theta_merge": thetas}, indent=1) + "\n")
    print("theta_merge per sequence: " + ", ".join(f"{k} {v:.3f}" for k, v in thetas.items()))
    print(f"{'variant':<32} {'class':<11} {'tracks':>7} {'IDF1':>7} {'HOTA':>7} {'IDSW':>6}")
    for r in rows:
        print(
            f"{r['variant']:<32} {r['class']:<11} {r['tracks']:>7} {r['IDF1']:>7.3f} "
            f"{r['HOTA']:>7.3f} {r['IDSW']:>6.0f}"
        )


def kitti_proxy_inputs(seq, rng, *, drop, cut, dim, identity_similarity, drift, noise):
    """Detections, short tracklets and simulated features from one KITTI GT sequence."""
    from remots.io.detections import renumber

    gt = [g for g in seq.gt if g.class_id != IGNORE]
    keep = rng.random(len(gt)) >= drop
    dets = renumber(
        [
            g.with_(score=float(s))
            for g, s, k in zip(gt, rng.uniform(0.5, 1, len(gt)), keep, strict=True)
            if k
        ]
    )
    key = {(g.frame, g.rle["counts"]): g.obj_id for g in gt}
    identity = np.array([key[(d.frame, d.rle["counts"])] for d in dets])
    frames = np.array([d.frame for d in dets])
    order = np.lexsort((frames, identity))
    new = np.ones(len(order), bool)
    new[1:] = (
        (identity[order][1:] != identity[order][:-1])
        | (np.diff(frames[order]) > 1)
        | (rng.random(len(order) - 1) < cut)
    )
    tracklet = np.empty(len(dets), np.int64)
    tracklet[order] = np.cumsum(new) - 1
    ids = np.unique(identity)
    shared = rng.standard_normal(dim)
    vectors = np.sqrt(identity_similarity) * shared + np.sqrt(1 - identity_similarity) * (
        rng.standard_normal((len(ids), dim))
    )
    offsets = drift * rng.standard_normal((tracklet.max() + 1, dim))
    features = (
        vectors[np.searchsorted(ids, identity)]
        + offsets[tracklet]
        + noise * rng.standard_normal((len(dets), dim))
    )
    return dets, tracklet, features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    run_p = sub.add_parser("run", help="a run folder after stage=short, target videos with GT")
    run_p.add_argument("overrides", nargs="*", help="hydra overrides of conf/track.yaml")
    kitti_p = sub.add_parser("kitti", help="proxy: KITTI MOTS GT cut into tracklets")
    kitti_p.add_argument("--root", default=str(ROOT.parent / "shared/data/kitti_mots_train"))
    kitti_p.add_argument("--sequences", nargs="+", default=None)
    kitti_p.add_argument("--drop", type=float, default=0.1, help="detections dropped")
    kitti_p.add_argument("--cut", type=float, default=0.1, help="random cut per frame")
    kitti_p.add_argument("--dim", type=int, default=128)
    kitti_p.add_argument("--identity-similarity", type=float, default=0.5)
    kitti_p.add_argument("--drift", type=float, default=0.5, help="per-tracklet drift")
    kitti_p.add_argument("--noise", type=float, default=0.8, help="per-detection noise")
    kitti_p.add_argument("--theta-t", type=int, default=15)
    kitti_p.add_argument("--seed", type=int, default=0)
    for p in (run_p, kitti_p):
        p.add_argument("--theta-merge", type=float, default=None)
        p.add_argument("--method", default=None, choices=["min_error", "normal_crossing"])
        p.add_argument(
            "--theta-t-sweep", type=int, nargs="+", default=[], help="also merge at these theta_t"
        )
        p.add_argument("--json", type=Path, default=None, help="also write the rows there")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if args.mode == "kitti":
        from remots.io.layouts import load_kitti_mots

        sequences = load_kitti_mots(
            args.root, seqmap="seqmaps/train.seqmap", sequences=args.sequences
        )
        rng = np.random.default_rng(args.seed)
        inputs = {
            seq.name: kitti_proxy_inputs(
                seq,
                rng,
                drop=args.drop,
                cut=args.cut,
                dim=args.dim,
                identity_similarity=args.identity_similarity,
                drift=args.drift,
                noise=args.noise,
            )
            for seq in sequences
        }
        rows, thetas = measure(
            sequences,
            inputs,
            classes=(1, 2),
            benchmark="kitti_mots",
            theta_t=args.theta_t,
            theta_merge=args.theta_merge,
            method=args.method or "min_error",
            theta_t_sweep=args.theta_t_sweep,
        )
        print_table(rows, thetas, args.json)
        return

    from hydra import compose, initialize_config_dir

    from remots.errors import InputError
    from remots.io.mots import read_mots_txt
    from remots.io.run_folder import RunFolder
    from remots.stages.embed import read_features
    from remots.stages.videos import target_videos

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="track", overrides=["stage=merge", *args.overrides])
    run = RunFolder(cfg.paths.run_dir)
    sequences = target_videos(cfg, with_gt=True)
    inputs, merged = {}, {}
    for seq in sequences:
        if seq.gt is None:
            raise InputError(f"sequence {seq.name} has no GT: nothing to measure against")
        dets = run.read_detections(seq)
        tracklet = run.read_tracklet_of_detection(seq, len(dets))
        tracklet = np.where(np.isin(dets.classes, list(cfg.data.classes)), tracklet, -1)
        features = read_features(cfg, run, seq, cfg.merge.features, len(dets), "embed_merge")
        inputs[seq.name] = (dets.instances(), tracklet, features)
        if run.results(seq.name).is_file():
            merged[seq.name] = read_mots_txt(
                run.results(seq.name),
                frame_base=seq.frame_base,
                num_frames=seq.num_frames,
                image_size=seq.image_size,
            )
    rows, thetas = measure(
        sequences,
        inputs,
        classes=tuple(cfg.data.classes),
        benchmark="kitti_mots" if cfg.data.layout == "kitti_mots" else "motschallenge",
        theta_t=int(cfg.merge.theta_t),
        theta_merge=args.theta_merge if args.theta_merge is not None else cfg.merge.theta_merge,
        method=args.method or cfg.merge.method,
        merged=merged,
        theta_t_sweep=args.theta_t_sweep,
        seed=int(cfg.seed),
    )
    print_table(rows, thetas, args.json)


if __name__ == "__main__":
    from remots import cli

    cli.main(main)  # bad overrides, a missing sequence or run-folder file, bad GT: one line
