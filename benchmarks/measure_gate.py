"""The gate of Eq. (2) measured on a run's features: the share of true adjacent-frame links it
passes and of wrong candidate links (different objects, flow-warped IoU > 0) it blocks, for each
way of reading theta_short from the intra-frame similarities, and what the short-term tracker
makes of it (purity, fragmentation, IDF1 of the short tracklets).

GT identities are used only to score (detections matched to GT masks at IoU > 0.5).

Usage::

    python benchmarks/measure_gate.py --run outputs/synthetic \\
        --root data/generated/synthetic-seed0/test [--phase intra] [--track]

``--run`` is a run folder after ``stage=short`` (``detections/<seq>.txt``,
``features/<phase>/<seq>.npy``); ``--root`` the MOTSChallenge folder of the target sequences'
GT (for a KITTI MOTS layout run, ``--kitti`` reads ``instances_txt``).

``--breakdown`` instead scores the gate the run applied (theta_short of each sequence and class
from ``tracklets_short/<seq>.json``) per sequence, and by the link's warped IoU, the smaller
mask's height and the lower detection score: which true links it cuts, which wrong ones it
blocks.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure_short import match_to_gt, purity_fragmentation, trackeval_data  # noqa: E402

from remots import masks  # noqa: E402
from remots.io.detections import Detections, read_detections_txt  # noqa: E402
from remots.io.instances import CAR, CLASS_NAMES, PEDESTRIAN  # noqa: E402
from remots.tracking.gate import candidate_links, gate_statistics  # noqa: E402
from remots.tracking.short_term import ShortTermParams, track_short  # noqa: E402
from remots.tracking.thresholds import (  # noqa: E402
    THETA_SHORT_STATISTICS,
    estimate_theta_short,
    intra_frame_similarities,
)

log = logging.getLogger("measure_gate")
FLOW = {"preset": "medium", "downscale": 0.5}


def load_sequences(args):
    if args.kitti:
        from remots.io.layouts import load_kitti_mots

        return load_kitti_mots(args.root)
    from remots.io.layouts import load_motschallenge

    return load_motschallenge(args.root)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--kitti", action="store_true", help="--root is a KITTI MOTS folder")
    parser.add_argument("--phase", default="intra")
    parser.add_argument("--statistics", nargs="*", default=list(THETA_SHORT_STATISTICS))
    parser.add_argument("--num-std", type=float, default=3.0)
    parser.add_argument("--track", action="store_true", help="also run the short-term tracker")
    parser.add_argument(
        "--breakdown", action="store_true", help="the run's own gate, per sequence and by bins"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    import trackeval

    prepared = []
    for seq in load_sequences(args):
        det_path = args.run / "detections" / f"{seq.name}.txt"
        feat_path = args.run / "features" / args.phase / f"{seq.name}.npy"
        if not det_path.is_file() or not feat_path.is_file():
            continue
        dets = read_detections_txt(
            det_path,
            frame_base=seq.frame_base,
            num_frames=seq.num_frames,
            image_size=seq.image_size,
        )
        dets = [d for d in dets if d.class_id in (CAR, PEDESTRIAN)]
        feats = np.load(feat_path)
        gt_id = match_to_gt(seq, dets)
        links = candidate_links(
            Detections.from_instances(dets), seq.iter_frames(), flow_method="dis", flow_kwargs=FLOW
        )
        rows_of = np.array([d.obj_id for d in dets], np.int64)  # positions -> feature rows
        links[:, :2] = rows_of[links[:, :2].astype(np.int64)]
        prepared.append((seq, dets, feats, gt_id, links))
    if not prepared:
        parser.error(f"no sequence of {args.root} has detections and features in {args.run}")
    if args.breakdown:
        print_breakdown(args.run, prepared)
        return
    print(
        f"run={args.run} phase={args.phase} sequences={[p[0].name for p in prepared]} "
        f"num_std={args.num_std}"
    )
    head = "| theta_short from | class | theta_short (per sequence) | true links passed | "
    head += "wrong candidates blocked |"
    if args.track:
        head += " purity | fragmentation | tracklets | IDF1 |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    quiet = {"PRINT_CONFIG": False}
    for statistic in args.statistics:
        for class_id in sorted({d.class_id for p in prepared for d in p[1]}):
            thetas, stats = [], []
            track_rows = []
            for seq, dets, feats, gt_id, links in prepared:
                rows = [d.obj_id for d in dets if d.class_id == class_id]
                if not rows:
                    continue
                frames = np.array([d.frame for d in dets])
                cls = np.array([d.class_id for d in dets])
                sims = intra_frame_similarities(feats[rows], frames[cls == class_id])
                theta = (
                    estimate_theta_short(sims, num_std=args.num_std, statistic=statistic)
                    if len(sims) >= 2
                    else float("nan")
                )
                thetas.append(theta)
                class_of = np.full(len(feats), -1)
                class_of[[d.obj_id for d in dets]] = cls
                mine = links[class_of[links[:, 0].astype(int)] == class_id]
                gate_theta = theta if theta < 1 else float("nan")  # >= 1: the stage's fallback
                stats.append((gate_statistics(feats, gt_id, mine, gate_theta), len(mine)))
                if args.track:
                    only = [d for d in dets if d.class_id == class_id]
                    rows = np.array([d.obj_id for d in only], np.int64)
                    params = ShortTermParams(
                        theta_short=None if not theta < 1 else theta,
                        flow_method="dis",
                        flow_kwargs=FLOW,
                    )
                    tracklets = np.full(len(feats), -1, np.int64)
                    tracklets[rows] = track_short(
                        Detections.from_instances(only), feats[rows], params, seq.iter_frames()
                    )
                    track_rows.append((seq, only, tracklets))
            num_true = sum(s["num_true"] for s, _ in stats)
            num_wrong = sum(s["num_wrong"] for s, _ in stats)
            passed = sum(s["true_passed"] * s["num_true"] for s, _ in stats if s["num_true"])
            blocked = sum(s["wrong_blocked"] * s["num_wrong"] for s, _ in stats if s["num_wrong"])
            cells = (
                f"| {statistic} | {CLASS_NAMES.get(class_id, class_id)} | "
                f"{', '.join(f'{t:.3f}' for t in thetas)} | "
                f"{passed / max(num_true, 1):.1%} of {num_true} | "
                f"{blocked / max(num_wrong, 1):.1%} of {num_wrong} |"
            )
            if args.track:
                ident = trackeval.metrics.Identity(quiet)
                purities, frags, n_tr, results = [], [], 0, {}
                for k, (seq, dets, tracklets) in enumerate(track_rows):
                    p, f, n = purity_fragmentation(tracklets, _gt_of(prepared, seq), dets)
                    purities.append(p * n)
                    frags.append(f)
                    n_tr += n
                    data = trackeval_data(seq, dets, tracklets, class_id)
                    results[str(k)] = ident.eval_sequence(data)
                idf1 = ident.combine_sequences(results)["IDF1"] if results else float("nan")
                cells += (
                    f" {sum(purities) / max(n_tr, 1):.2%} | {np.mean(frags):.2f} | {n_tr} | "
                    f"{100 * float(idf1):.1f} |"
                )
            print(cells)


# bins of the breakdown: (name, edges)
BINS = (
    ("warped IoU", (0.0, 0.2, 0.4, 0.6, 0.8, 1.01)),
    ("height px", (0, 20, 30, 45, 70, 100_000)),
    ("score", (0.0, 0.5, 0.7, 0.8, 0.9, 1.01)),
)


def link_table(run: Path, prepared) -> list[dict]:
    """One row per candidate link of ``prepared`` with the theta_short the run applied to it
    (NaN: no gate), its similarity, whether it is true or wrong, and what it is binned by."""
    rows = []
    for seq, dets, feats, gt_id, links in prepared:
        record = json.loads((run / "tracklets_short" / f"{seq.name}.json").read_text())
        theta = {int(k): v for k, v in (record.get("theta_short") or {}).items()}
        used = record.get("use_appearance", True)
        f = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        by_row = {d.obj_id: d for d in dets}
        for a, b, iou in links:
            da, db = by_row[int(a)], by_row[int(b)]
            t = theta.get(da.class_id) if used else None
            ia, ib = gt_id[da.obj_id], gt_id[db.obj_id]
            height = masks.bbox([da.rle, db.rle])[:, 3].min()
            rows.append(
                {
                    "seq": seq.name,
                    "class": da.class_id,
                    "theta": float("nan") if t is None else float(t),
                    "sim": float(f[da.obj_id] @ f[db.obj_id]),
                    "true": bool(ia == ib and ia >= 0),
                    "wrong": bool(ia != ib and (ia >= 0 or ib >= 0)),
                    "warped IoU": float(iou),
                    "height px": float(height),
                    "score": float(min(da.score, db.score)),
                }
            )
    return rows


def _cut_share(rows: list[dict]) -> str:
    """``n (cut %)``: links with similarity below their theta (a NaN theta cuts nothing)."""
    if not rows:
        return "0"
    cut = np.mean([r["sim"] < r["theta"] for r in rows])  # NaN compares False: passed
    return f"{len(rows)} ({cut:.1%})"


def print_breakdown(run: Path, prepared) -> None:
    rows = link_table(run, prepared)
    print("true links: number (share cut by the gate); wrong candidates: number (share blocked)")
    for class_id in sorted({r["class"] for r in rows}):
        mine = [r for r in rows if r["class"] == class_id]
        print(f"\n**{CLASS_NAMES.get(class_id, class_id)}**\n")
        print("| links of | theta_short | true links (cut) | wrong candidates (blocked) |")
        print("|---|---|---|---|")
        sequences = sorted({r["seq"] for r in mine})
        groups = [(f"sequence {s}", [r for r in mine if r["seq"] == s]) for s in sequences]
        for name, edges in BINS:
            for lo, hi in itertools.pairwise(edges):
                label = f"{name} [{lo:g}, {hi:g})" if hi != edges[-1] else f"{name} >= {lo:g}"
                groups.append((label, [r for r in mine if lo <= r[name] < hi]))
        groups.append(("all", mine))
        for label, group in groups:
            thetas = sorted({round(r["theta"], 3) for r in group if not np.isnan(r["theta"])})
            theta = ", ".join(f"{t:.3f}" for t in thetas) if label.startswith("sequence") else ""
            if label.startswith("sequence") and not thetas:
                theta = "none (no gate)"
            true = [r for r in group if r["true"]]
            wrong = [r for r in group if r["wrong"]]
            print(f"| {label} | {theta} | {_cut_share(true)} | {_cut_share(wrong)} |")


def _gt_of(prepared, seq):
    return next(p[3] for p in prepared if p[0] is seq)


if __name__ == "__main__":
    main()
