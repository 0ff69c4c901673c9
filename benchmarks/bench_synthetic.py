"""Synthetic dataset: generation time on one core, its statistics, and how a tracker without
appearance does on it.

The tracker links the *ground-truth* masks frame to frame by mask IoU (Hungarian, IoU >= 0.3)
and starts a new track otherwise: with perfect masks, every identity error it makes comes from
crossings, occlusions and re-entries, i.e. from what appearance has to solve.

    python benchmarks/bench_synthetic.py [--out /tmp/remots-bench-synthetic] [--seed 0]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import shutil
import time
from pathlib import Path

import cv2
from scipy.optimize import linear_sum_assignment

from remots import masks
from remots.eval import evaluate
from remots.io.instances import PEDESTRIAN, track_obj_id
from remots.io.layouts import load_motschallenge
from remots.synthetic import SyntheticParams, generate_dataset, stats_table


def iou_only_tracks(frames_gt, *, iou_threshold: float = 0.3):
    """Link masks of consecutive frames by IoU alone; unmatched masks start new tracks."""
    out, previous, next_id = [], [], 0
    for frame_gt in frames_gt:
        current = []
        if previous and frame_gt:
            iou = masks.iou_matrix([p.rle for p in previous], [g.rle for g in frame_gt])
            rows, cols = linear_sum_assignment(-iou)
            pairs = zip(rows, cols, strict=True)
            link = {c: previous[r].obj_id for r, c in pairs if iou[r, c] >= iou_threshold}
        else:
            link = {}
        for c, g in enumerate(frame_gt):
            if c in link:
                obj_id = link[c]
            else:
                obj_id, next_id = track_obj_id(PEDESTRIAN, next_id), next_id + 1
            current.append(g.with_(obj_id=obj_id))
        out.extend(current)
        previous = current
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/remots-bench-synthetic")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)

    print("generation time, one core (OMP_NUM_THREADS=1, cv2.setNumThreads(1))")
    print(f"{'configuration':<44}{'frames':>8}{'wall s':>9}{'CPU s':>9}{'CPU ms/frame':>14}")
    sizes = [
        ("default: 2+2 seq x 80 fr x 8 obj, 480x270", {}),
        ("960x540, 2+2 seq x 80 fr x 8 obj", {"height": 540, "width": 960, "pan_px": 240}),
    ]
    stats = None
    for label, knobs in sizes:
        root = out / ("default" if not knobs else "large")
        start, cpu_start = time.perf_counter(), time.process_time()
        s = generate_dataset(root, SyntheticParams(seed=args.seed, **knobs))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        frames = sum(v["frames"] for v in s["splits"].values())
        print(f"{label:<44}{frames:>8}{wall:>9.2f}{cpu:>9.2f}{1000 * cpu / frames:>14.1f}")
        stats = stats if stats is not None else s

    print(f"\nstatistics of the default dataset (seed {args.seed})")
    print(stats_table(stats))

    print("\nIoU-only linking of the GT masks (no appearance), remots.eval (= TrackEval)")
    print(
        f"{'split':<8}{'GT tracks':>10}{'pred tracks':>12}{'HOTA':>8}{'AssA':>8}{'IDF1':>8}"
        f"{'IDSW':>6}{'Frag':>6}"
    )
    root = out / "default"
    for split in ("train", "test"):
        sequences = load_motschallenge(root / split)
        tracks = {seq.name: iou_only_tracks(seq.gt_by_frame()) for seq in sequences}
        predicted = sum(len({t.obj_id for t in ts}) for ts in tracks.values())
        m = evaluate(sequences, tracks).combined["pedestrian"]  # equal to TrackEval's, tested
        gt_tracks = stats["splits"][split]["gt_tracks"]
        print(
            f"{split:<8}{gt_tracks:>10}{predicted:>12}{m['HOTA']:>8.3f}{m['AssA']:>8.3f}"
            f"{m['IDF1']:>8.3f}{m['IDSW']:>6}{m['Frag']:>6}"
        )


if __name__ == "__main__":
    main()
