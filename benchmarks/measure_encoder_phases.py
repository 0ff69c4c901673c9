"""The point of ReMOTS' encoder training, measured: how well the appearance features separate the
target videos' identities before training, after intra-frame training and after
inter-short-tracklet retraining (paper, sections 2.2 and 2.4).

The target videos' GT identities are used here only to score, never to train. Triplet accuracy
(cos(a, p) > cos(a, n); positive >= 10 frames away, negative in the anchor's frame) and rank-1 /
mAP retrieval (same-identity gallery entries closer than 10 frames left out) over every detection
matched to a GT mask (IoU >= 0.5).

Inputs from the run folder when the other stages wrote them: detections/<seq>.txt and
tracklets_short/<seq>.json. Otherwise STAND-INS, labelled as such in the output:
  * detections: the target GT masks with random scores (--drop of them removed);
  * short tracklets: detections linked frame to frame by mask IoU (>= 0.5, Hungarian), cut every
    10 frames. The integrator reruns this with the real short-term tracker's tracklets.

Usage (hydra overrides after the options):
    python benchmarks/measure_encoder_phases.py [--toy] [--run-dir DIR] [--trained] [override ...]
--toy writes a small synthetic dataset into the run folder instead of the configured data.
--trained measures a finished chain's encoders (its checkpoints) instead of training them; the
overrides must then be the chain's. The chain's run folder is only read: its checkpoints,
detections and short tracklets are copied into --out (default: <run-dir>.encoder_phases beside
it), where the features and encoder_phases.json are written. E.g. for a run of
benchmarks/kitti_semireal.py::

    python benchmarks/measure_encoder_phases.py --trained --run-dir <out>/runs/remots \
        data=kitti_mots data.root=<root> data.train_split=train data.target_split=val \
        detector=precomputed
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remots import masks  # noqa: E402
from remots.errors import ConfigError, RunFolderError  # noqa: E402
from remots.io.atomic import atomic_write_json  # noqa: E402
from remots.io.instances import IGNORE, group_by_frame  # noqa: E402
from remots.io.run_folder import RunFolder  # noqa: E402

log = logging.getLogger("measure_encoder_phases")


def match_to_gt(detections, gt, num_frames: int, min_iou: float = 0.5) -> np.ndarray:
    """``(N,)`` GT obj_id of each detection (-1: unmatched), Hungarian on mask IoU per frame."""
    ids = np.full(len(detections), -1, np.int64)
    det_rows = group_by_frame([d.with_(obj_id=k) for k, d in enumerate(detections)], num_frames)
    gt_rows = group_by_frame([g for g in gt if g.class_id != IGNORE], num_frames)
    for dets, gts in zip(det_rows, gt_rows, strict=True):
        if not dets or not gts:
            continue
        iou = masks.iou_matrix([d.rle for d in dets], [g.rle for g in gts])
        r, c = linear_sum_assignment(-iou)
        for i, j in zip(r, c, strict=True):
            if iou[i, j] >= min_iou:
                ids[dets[i].obj_id] = gts[j].obj_id
    return ids


def stand_in_short_tracklets(
    detections, num_frames: int, *, cut_every: int = 10, min_iou: float = 0.5
) -> np.ndarray:
    """STAND-IN for the short-term tracker: link detections of consecutive frames by mask IoU
    (Hungarian, IoU >= min_iou) and cut every tracklet at multiples of ``cut_every`` frames.
    Returns ``(N,)`` tracklet id of each detection."""
    rows = group_by_frame([d.with_(obj_id=k) for k, d in enumerate(detections)], num_frames)
    track = np.full(len(detections), -1, np.int64)
    next_id = 0
    prev = []
    for t, dets in enumerate(rows):
        assigned = {}
        if prev and dets and t % cut_every != 0:
            iou = masks.iou_matrix([p.rle for p in prev], [d.rle for d in dets])
            r, c = linear_sum_assignment(-iou)
            for i, j in zip(r, c, strict=True):
                if iou[i, j] >= min_iou:
                    assigned[j] = track[prev[i].obj_id]
        for j, d in enumerate(dets):
            if j in assigned:
                track[d.obj_id] = assigned[j]
            else:
                track[d.obj_id] = next_id
                next_id += 1
        prev = dets
    return track


def copy_trained_inputs(chain_dir: Path, out: Path) -> Path:
    """``out`` holding what ``--trained`` reads from a finished chain's run folder: its intra and
    inter checkpoints, detections and short tracklets (the chain's folder stays as it was)."""
    wanted = [chain_dir / "checkpoints" / f"{p}.ckpt" for p in ("intra", "inter")]
    missing = [str(p) for p in wanted if not p.is_file()]
    if missing:
        raise RunFolderError(f"--trained: {', '.join(missing)} missing (run the chain first)")
    out = out.resolve()
    if out == chain_dir.resolve():
        raise ConfigError(f"--out {out}: the chain's run folder, which --trained only reads")
    for folder, pattern in (
        ("checkpoints", "*.ckpt"),
        ("detections", "*.txt"),
        ("tracklets_short", "*.json"),
    ):
        (out / folder).mkdir(parents=True, exist_ok=True)
        for path in sorted((chain_dir / folder).glob(pattern)):
            shutil.copyfile(path, out / folder / path.name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--toy", action="store_true", help="a small synthetic dataset in the run folder"
    )
    parser.add_argument("--run-dir", default="outputs/measure_encoder_phases")
    parser.add_argument("--drop", type=float, default=0.1, help="stand-in detections dropped")
    parser.add_argument("--eval-triplets", type=int, default=2000)
    parser.add_argument(
        "--trained",
        action="store_true",
        help="measure the encoders a finished chain left in --run-dir (checkpoints/intra.ckpt, "
        "inter.ckpt) instead of training them here",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="with --trained: the folder the measurement writes (default <run-dir>.encoder_phases)",
    )
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="[%(name)s] %(message)s")

    from hydra import compose, initialize_config_dir

    from remots.models.retrieval import (
        retrieval_metrics,
        sample_evaluation_triplets,
        triplet_accuracy,
    )
    from remots.stages import embed, train
    from remots.stages.videos import target_videos

    run_dir = chain_dir = Path(args.run_dir).resolve()
    if args.trained:  # the chain's folder is read, never written: measure in a copy of its inputs
        run_dir = copy_trained_inputs(run_dir, Path(args.out or f"{run_dir}.encoder_phases"))
    overrides = [f"paths.run_dir={run_dir}", *args.overrides]
    if args.toy:
        from remots.synthetic import SyntheticParams, generate_dataset

        toy_root = run_dir / "toy_data"
        if not (toy_root / "COMPLETE").is_file():
            generate_dataset(toy_root, SyntheticParams())
        overrides = [f"data.root={toy_root}", "data.generator=null", "data.name=toy", *overrides]
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, "stage=intra"])
        cfg_inter = compose("train", overrides=[*overrides, "stage=inter"])
    run = RunFolder(run_dir)
    rng = np.random.default_rng(cfg.seed)
    record = run_dir / "stand_ins.json"  # what earlier runs of this script stood in for
    stand_ins = json.loads(record.read_text()) if record.is_file() else []
    targets = target_videos(cfg, with_gt=True)
    if not all(run.detections(s.name).is_file() for s in targets):
        from remots.io.detections import write_detections_txt
        from remots.synthetic import detections_from_gt

        stand_ins.append(f"detections = GT masks, {args.drop:.0%} dropped")
        for seq in targets:
            dets, _ = detections_from_gt(
                [g for g in seq.gt if g.class_id != IGNORE], rng=rng, drop=args.drop
            )
            write_detections_txt(run.detections(seq.name), dets, frame_base=seq.frame_base)
    detections = {s.name: run.read_detections(s).instances() for s in targets}
    if not all(run.short_meta(s.name).is_file() for s in targets):
        stand_ins.append("short tracklets = IoU linking, cut every 10 frames")
        for seq in targets:
            track = stand_in_short_tracklets(detections[seq.name], seq.num_frames)
            atomic_write_json(
                run.short_meta(seq.name),
                {
                    "tracklet_of_detection": track.tolist(),
                    "stand_in": True,
                },
            )
    atomic_write_json(record, stand_ins)
    identity = {s.name: match_to_gt(detections[s.name], s.gt, s.num_frames) for s in targets}
    purity = []
    for s in targets:
        track = np.asarray(json.loads(run.short_meta(s.name).read_text())["tracklet_of_detection"])
        ids = identity[s.name]
        for k in np.unique(track[track >= 0]):
            _, counts = np.unique(ids[track == k], return_counts=True)
            purity.append(counts.max() / counts.sum())

    timings = {}
    if not args.trained:  # else copy_trained_inputs found the checkpoints
        t0 = time.perf_counter()
        train.intra(cfg, run)
        timings["intra"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        train.inter(cfg_inter, run)
        timings["inter"] = time.perf_counter() - t0

    rows = []
    for phase in ("untrained", "intra", "inter"):
        feats, ids, frames, groups = [], [], [], []
        for _ in embed.embed(cfg, run, targets, phase):
            pass
        for g, seq in enumerate(targets):
            f = np.load(run.features(phase, seq.name))
            keep = identity[seq.name] >= 0
            feats.append(f[keep])
            ids.append(identity[seq.name][keep])
            frames.append(np.array([d.frame for d in detections[seq.name]])[keep])
            groups.append(np.full(int(keep.sum()), g))
        feats, ids, frames, groups = (np.concatenate(v) for v in (feats, ids, frames, groups))
        triplets = sample_evaluation_triplets(
            ids,
            frames,
            groups,
            num_triplets=args.eval_triplets,
            rng=np.random.default_rng(12345),
        )
        m = retrieval_metrics(feats, ids, frames, groups)
        rows.append({"phase": phase, "triplet_acc": triplet_accuracy(feats, triplets), **m})

    print()
    print(
        f"data: {cfg.data.name} ({', '.join(s.name for s in targets)}), "
        f"model: {cfg.model.name}, trainer.max_steps={cfg.trainer.max_steps}"
    )
    print(f"stand-ins: {'; '.join(stand_ins) if stand_ins else 'none (real stage outputs)'}")
    print(f"short-tracklet purity (share of the majority identity): {np.mean(purity):.3f}")
    if timings:
        print(f"training time: intra {timings['intra']:.0f} s, inter {timings['inter']:.0f} s")
    else:
        print(f"encoders: the checkpoints of {chain_dir} (measured in {run_dir})")
    print(f"{'encoder':<10} {'triplet acc':>11} {'rank-1':>8} {'mAP':>8} {'queries':>8}")
    for r in rows:
        print(
            f"{r['phase']:<10} {r['triplet_acc']:>11.3f} {r['rank1']:>8.3f} {r['mAP']:>8.3f} "
            f"{r['num_queries']:>8d}"
        )
    atomic_write_json(
        run_dir / "encoder_phases.json",
        {
            "rows": rows,
            "stand_ins": stand_ins,
            "training_seconds": timings,
        },
    )


if __name__ == "__main__":
    from remots import cli

    cli.main(main)  # bad overrides and remots' errors: one line, exit 2
