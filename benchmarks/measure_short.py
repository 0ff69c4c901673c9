"""Quality of the short tracklets per flow method: purity, fragmentation, IDF1, HOTA.

Runs the short-term tracker (``remots.tracking.short_term.track_short``) over every sequence of a
MOTSChallenge-layout folder that has ``gt/gt.txt`` and frames, for

- DIS flow + appearance (Eq. 1, 2), Farneback flow + appearance, no flow + appearance,
- the IoU-only baseline (no flow, no appearance),

and prints one table. Detections are ``<seq>/det/det.txt`` (TrackR-CNN format, as
``remots.io.detections`` writes) when present, else the GT masks with a share dropped at random.

Data sources (``--root`` wins; else the first that works):
  ``--root DIR``          any MOTSChallenge folder (e.g. the synthetic target split);
  ``--synthetic DIR``     generate with ``remots.synthetic.generate_dataset`` (when available);
  ``--kitti-render DIR``  render frames over the real KITTI MOTS GT masks in ../shared/data
                          (textured objects moving with their real masks over a static textured
                          background); written once to DIR in MOTSChallenge layout.

Appearance features (no trained encoder is needed to measure the tracker):
  ``hist``     HSV colour histogram of each mask's pixels, centred on the sequence mean;
  ``oracle``   GT identity one-hot + Gaussian noise (``--oracle-noise``): a stand-in for a trained
               re-ID encoder of known quality, to isolate the tracker from the encoder;
  ``run``      the real encoder's features of a run folder (``--run DIR --phase intra``):
               ``DIR/features/<phase>/<seq>.npy`` for the detections ``DIR/detections/<seq>.txt``
               (``--root`` is then the GT folder of those sequences). The script also prints how
               stable the features are: cosine similarity of one GT identity in adjacent frames
               against that of different objects in one frame (what theta_short is estimated on).

Metrics: purity = share of tracklets whose matched detections (IoU > 0.5 with a GT mask of the
frame) all hold one GT identity; fragmentation = mean number of tracklets a GT identity is split
into; IDF1 and HOTA from TrackEval's own metric classes (``trackeval.metrics.Identity``, ``HOTA``)
on mask IoU, per class, combined over sequences.

Example::

    python benchmarks/measure_short.py --kitti-render /tmp/kitti_render --max-frames 150
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remots import masks  # noqa: E402
from remots.io.detections import (  # noqa: E402
    Detections,
    read_detections_txt,
    write_detections_txt,
)
from remots.io.instances import CAR, IGNORE, PEDESTRIAN, Instance, group_by_frame  # noqa: E402
from remots.io.layouts import load_motschallenge, write_seqinfo  # noqa: E402
from remots.io.mots import write_mots_txt  # noqa: E402
from remots.tracking.short_term import ShortTermParams, track_short  # noqa: E402
from remots.tracking.thresholds import estimate_theta_short, intra_frame_similarities  # noqa: E402

log = logging.getLogger("measure_short")

DIS_FULL = {"preset": "medium", "downscale": 1.0}
DIS_HALF = {"preset": "medium", "downscale": 0.5}
FARNEBACK_HALF = {"downscale": 0.5}
VARIANTS = {  # name: (flow method, compute_flow keywords, use_appearance)
    "dis (1.0) + app": ("dis", DIS_FULL, True),
    "dis (0.5) + app": ("dis", DIS_HALF, True),
    "farneback (0.5) + app": ("farneback", FARNEBACK_HALF, True),
    "no flow + app": (None, {}, True),
    "dis (0.5) + app, no gate": ("dis", DIS_HALF, "no gate"),
    "dis (0.5), IoU only": ("dis", DIS_HALF, False),
    "IoU only (baseline)": (None, {}, False),
}


# --------------------------------------------------------------------------- data


def render_kitti(out: Path, kitti_root: Path, sequences, max_frames: int, seed: int) -> Path:
    """Render KITTI MOTS GT masks into textured frames, in MOTSChallenge layout under ``out``."""
    from remots.io.layouts import load_kitti_mots

    if (out / "COMPLETE").is_file():
        return out
    rng = np.random.default_rng(seed)
    for seq in load_kitti_mots(kitti_root, sequences=sequences):
        gt = [g for g in seq.gt if g.frame < max_frames]
        n = min(seq.num_frames, max_frames)
        h, w = seq.height, seq.width
        noise = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        background = cv2.GaussianBlur(noise, (0, 0), 5)
        background = cv2.normalize(background, None, 40, 200, cv2.NORM_MINMAX)
        looks: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        seq_dir = out / seq.name
        (seq_dir / "img1").mkdir(parents=True, exist_ok=True)
        (seq_dir / "gt").mkdir(exist_ok=True)
        for t, frame_gt in enumerate(group_by_frame(gt, n)):
            img = background.copy()
            for g in frame_gt:
                if g.class_id == IGNORE:
                    continue
                if g.obj_id not in looks:
                    colour = rng.uniform(30, 230, 3)
                    tile = cv2.GaussianBlur(
                        rng.uniform(0, 1, (64, 64)).astype(np.float32), (0, 0), 2
                    )
                    tile = cv2.normalize(tile, None, 0.55, 1.0, cv2.NORM_MINMAX)
                    looks[g.obj_id] = (colour, tile)
                colour, tile = looks[g.obj_id]
                m = masks.decode_one(g.rle).astype(bool)
                ys, xs = np.nonzero(m)
                y0, x0 = ys.min(), xs.min()
                shade = tile[(ys - y0) % 64, (xs - x0) % 64]
                img[ys, xs] = np.clip(colour[None] * shade[:, None], 0, 255).astype(np.uint8)
            cv2.imwrite(
                str(seq_dir / "img1" / f"{t + 1:06d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95]
            )
        write_mots_txt(seq_dir / "gt" / "gt.txt", gt, frame_base=1)
        write_seqinfo(seq_dir, name=seq.name, num_frames=n, width=w, height=h, fps=10.0)
        log.info("rendered %s: %d frames, %d masks", seq.name, n, len(gt))
    (out / "COMPLETE").write_text("")
    return out


def detections_of(seq, *, drop: float, seed: int) -> list[Instance]:
    """``<seq>/det/det.txt`` if the dataset has it, else GT masks with ``drop`` of them removed
    (cached beside it as ``det/from_gt_drop<drop>_seed<seed>.txt``)."""
    det_path = seq.extra["seq_dir"] / "det" / "det.txt"
    if not det_path.is_file():
        det_path = seq.extra["seq_dir"] / "det" / f"from_gt_drop{drop:g}_seed{seed}.txt"
        if not det_path.is_file():
            rng = np.random.default_rng([seed, zlib.crc32(seq.name.encode())])
            kept = [g for g in seq.gt if g.class_id in (CAR, PEDESTRIAN) and rng.random() >= drop]
            write_detections_txt(det_path, [g.with_(score=1.0) for g in kept], frame_base=1)
    return read_detections_txt(
        det_path, frame_base=1, num_frames=seq.num_frames, image_size=seq.image_size
    )


def match_to_gt(seq, detections) -> np.ndarray:
    """GT obj_id of each detection (IoU > 0.5, one-to-one per frame), -1 for none."""
    gt_id = np.full(len(detections), -1, np.int64)
    gts = group_by_frame([g for g in seq.gt if g.class_id != IGNORE], seq.num_frames)
    for t, dets in enumerate(group_by_frame(detections, seq.num_frames)):
        if not dets or not gts[t]:
            continue
        iou = masks.iou_matrix([d.rle for d in dets], [g.rle for g in gts[t]])
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols, strict=True):
            if iou[r, c] > 0.5:
                gt_id[dets[r].obj_id] = gts[t][c].obj_id
    return gt_id


# --------------------------------------------------------------------------- features


def hist_features(seq, detections) -> np.ndarray:
    """HSV histogram (8 x 4 x 4) of each mask's pixels, L1-normalised, centred on the mean."""
    feats = np.zeros((len(detections), 128), np.float64)
    by_frame = group_by_frame(detections, seq.num_frames)
    for t, img in seq.iter_frames():
        if not by_frame[t]:
            continue
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        for d in by_frame[t]:
            m = masks.decode_one(d.rle)
            h = cv2.calcHist([hsv], [0, 1, 2], m, [8, 4, 4], [0, 180, 0, 256, 0, 256]).ravel()
            feats[d.obj_id] = h / max(h.sum(), 1.0)
    return feats - feats.mean(axis=0, keepdims=True)


def oracle_features(gt_id: np.ndarray, noise: float, rng) -> np.ndarray:
    """One-hot GT identity (zeros for an unmatched detection) plus a random vector of norm
    ``noise`` on average: same-identity cosine ~ 1 / (1 + noise^2)."""
    ids, index = np.unique(gt_id, return_inverse=True)
    feats = np.eye(len(ids) + 1)[index + 1] * (gt_id >= 0)[:, None]
    return feats + rng.normal(0.0, noise / np.sqrt(feats.shape[1]), feats.shape)


def print_stability(prepared) -> None:
    """Cosine similarity of one GT identity in adjacent frames (the links Eq. (2) must let
    through) against different objects of one frame (what theta_short is estimated on)."""
    same, different = [], []
    for _, dets, gt_id, feats, _ in prepared:
        f = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
        frame = np.array([d.frame for d in dets])
        keep = np.flatnonzero(gt_id[[d.obj_id for d in dets]] >= 0)
        rows = np.array([dets[k].obj_id for k in keep])
        sim = f[rows] @ f[rows].T
        ids, fr = gt_id[rows], frame[keep]
        same.append(sim[(ids[:, None] == ids[None, :]) & (fr[None, :] == fr[:, None] + 1)])
        upper = np.triu(np.ones_like(sim, bool), 1)
        different.append(sim[(ids[:, None] != ids[None, :]) & (fr[:, None] == fr[None, :]) & upper])
    same, different = np.concatenate(same), np.concatenate(different)
    if len(same) and len(different):
        print(
            f"\nfeature stability: same identity, adjacent frames: mean {same.mean():.3f}, "
            f"5th percentile {np.percentile(same, 5):.3f} ({len(same)} pairs); different objects, "
            f"one frame: mean {different.mean():.3f}, std {different.std():.3f}, mean + 3 std "
            f"{different.mean() + 3 * different.std():.3f} ({len(different)} pairs); share of "
            f"same-identity links under mean + 3 std: "
            f"{np.mean(same < different.mean() + 3 * different.std()):.1%}"
        )


# --------------------------------------------------------------------------- metrics


def purity_fragmentation(tracklet_of_detection, gt_id, detections) -> tuple[float, float, int]:
    members: dict[int, set[int]] = {}
    pieces: dict[int, set[int]] = {}
    for d in detections:
        tid, gid = int(tracklet_of_detection[d.obj_id]), int(gt_id[d.obj_id])
        if gid < 0:
            continue
        members.setdefault(tid, set()).add(gid)
        pieces.setdefault(gid, set()).add(tid)
    purity = float(np.mean([len(v) == 1 for v in members.values()])) if members else 1.0
    frag = float(np.mean([len(v) for v in pieces.values()])) if pieces else 0.0
    return purity, frag, len(members)


def trackeval_data(seq, detections, tracklet_of_detection, class_id) -> dict:
    """TrackEval's per-sequence data dict for one class, similarity = mask IoU."""
    gts = group_by_frame([g for g in seq.gt if g.class_id == class_id], seq.num_frames)
    trs = group_by_frame([d for d in detections if d.class_id == class_id], seq.num_frames)
    gt_index = {g: k for k, g in enumerate(sorted({g.obj_id for f in gts for g in f}))}
    tr_index = {
        t: k
        for k, t in enumerate(
            sorted({int(tracklet_of_detection[d.obj_id]) for f in trs for d in f})
        )
    }
    data = {
        "gt_ids": [],
        "tracker_ids": [],
        "similarity_scores": [],
        "num_gt_dets": 0,
        "num_tracker_dets": 0,
        "num_gt_ids": len(gt_index),
        "num_tracker_ids": len(tr_index),
        "num_timesteps": 0,
    }
    for t in range(seq.num_frames):
        data["gt_ids"].append(np.array([gt_index[g.obj_id] for g in gts[t]], int))
        data["tracker_ids"].append(
            np.array([tr_index[int(tracklet_of_detection[d.obj_id])] for d in trs[t]], int)
        )
        data["similarity_scores"].append(
            masks.iou_matrix([g.rle for g in gts[t]], [d.rle for d in trs[t]])
        )
        data["num_gt_dets"] += len(gts[t])
        data["num_tracker_dets"] += len(trs[t])
    data["num_timesteps"] = seq.num_frames
    return data


# --------------------------------------------------------------------------- main


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path)
    parser.add_argument("--synthetic", type=Path)
    parser.add_argument("--kitti-render", type=Path)
    parser.add_argument("--kitti-sequences", nargs="*", default=["0011", "0015", "0017", "0019"])
    parser.add_argument("--max-frames", type=int, default=150)
    parser.add_argument("--features", choices=["hist", "oracle", "run"], default="hist")
    parser.add_argument("--run", type=Path, help="run folder of --features run")
    parser.add_argument("--phase", default="intra", help="encoder phase of --features run")
    parser.add_argument("--oracle-noise", type=float, default=0.35)
    parser.add_argument("--drop", type=float, default=0.1, help="share of GT masks dropped")
    parser.add_argument("--theta-short", type=float, default=None, help="override the estimate")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import trackeval

    if args.root is not None:
        root = args.root
    elif args.synthetic is not None:
        from remots.synthetic import SyntheticParams, generate_dataset

        generate_dataset(args.synthetic, SyntheticParams(seed=args.seed))
        root = args.synthetic / "test"
    else:
        kitti = ROOT.parent / "shared" / "data" / "kitti_mots_train"
        out = args.kitti_render or Path("/tmp/remots_kitti_render")
        root = render_kitti(out, kitti, args.kitti_sequences, args.max_frames, args.seed)
    sequences = load_motschallenge(root)
    rng = np.random.default_rng(args.seed)
    prepared = []
    for seq in sequences:
        if args.features == "run":
            if args.run is None:
                parser.error("--features run needs --run DIR")
            dets = read_detections_txt(
                args.run / "detections" / f"{seq.name}.txt",
                frame_base=seq.frame_base,
                num_frames=seq.num_frames,
                image_size=seq.image_size,
            )
            feats = np.load(args.run / "features" / args.phase / f"{seq.name}.npy")
            gt_id = match_to_gt(seq, dets)
        else:
            dets = detections_of(seq, drop=args.drop, seed=args.seed)
            gt_id = match_to_gt(seq, dets)
            feats = (
                hist_features(seq, dets)
                if args.features == "hist"
                else oracle_features(gt_id, args.oracle_noise, rng)
            )
        theta = {}
        for c in sorted({d.class_id for d in dets}):
            rows = [d.obj_id for d in dets if d.class_id == c]
            sims = intra_frame_similarities(feats[rows], np.array([dets[r].frame for r in rows]))
            theta[c] = (
                args.theta_short
                if args.theta_short is not None
                else estimate_theta_short(sims)
                if len(sims) >= 2
                else None
            )
        log.info(
            "%s: %d detections, theta_short %s",
            seq.name,
            len(dets),
            {c: round(v, 3) if v is not None else None for c, v in theta.items()},
        )
        prepared.append((seq, dets, gt_id, feats, theta))

    print_stability(prepared)
    rows = []
    for name in args.variants:
        method, flow_kwargs, use_appearance = VARIANTS[name]
        no_gate = use_appearance == "no gate"
        purities, frags, ntr, seconds, frames = [], [], 0, 0.0, 0
        per_class: dict[int, list[tuple[dict, dict]]] = {}
        quiet = {"PRINT_CONFIG": False}
        hota, ident = trackeval.metrics.HOTA(quiet), trackeval.metrics.Identity(quiet)
        for seq, dets, gt_id, feats, theta in prepared:
            start = time.perf_counter()
            params = ShortTermParams(
                theta_short=None if no_gate else theta,
                use_appearance=bool(use_appearance),
                flow_method=method,
                flow_kwargs=flow_kwargs or {},
            )
            tracklets = track_short(
                Detections.from_instances(dets),
                feats,
                params,
                seq.iter_frames() if method else None,
            )
            seconds += time.perf_counter() - start
            frames += seq.num_frames
            p, f, n = purity_fragmentation(tracklets, gt_id, dets)
            purities.append(p * n)
            frags.append(f)
            ntr += n
            for c in (CAR, PEDESTRIAN):
                if not any(g.class_id == c for g in seq.gt):
                    continue
                data = trackeval_data(seq, dets, tracklets, c)
                per_class.setdefault(c, []).append(
                    (hota.eval_sequence(data), ident.eval_sequence(data))
                )
        metrics = {}
        for c, results in per_class.items():
            h = hota.combine_sequences({str(k): r[0] for k, r in enumerate(results)})
            i = ident.combine_sequences({str(k): r[1] for k, r in enumerate(results)})
            metrics[c] = (100 * float(np.mean(h["HOTA"])), 100 * float(i["IDF1"]))
        rows.append(
            (
                name,
                sum(purities) / max(ntr, 1),
                float(np.mean(frags)),
                ntr,
                metrics,
                frames / max(seconds, 1e-9),
            )
        )

    classes = sorted({c for r in rows for c in r[4]})
    cname = {CAR: "car", PEDESTRIAN: "ped"}
    head = (
        "| variant | purity | fragmentation | tracklets | "
        + " | ".join(f"HOTA {cname[c]} | IDF1 {cname[c]}" for c in classes)
        + " | frames/s |"
    )
    print(f"\nfeatures={args.features} root={root} sequences={[s.name for s in sequences]}")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, purity, frag, ntr, metrics, fps in rows:
        cells = " | ".join(
            f"{metrics[c][0]:.1f} | {metrics[c][1]:.1f}" if c in metrics else "- | -"
            for c in classes
        )
        print(f"| {name} | {100 * purity:.2f}% | {frag:.2f} | {ntr} | {cells} | {fps:.1f} |")


if __name__ == "__main__":
    main()
