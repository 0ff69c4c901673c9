"""Benchmark of the detect stage: fusion time per frame and detector frames per second.

Fusion: 20, 50 and 100 masks at 1920x1080, simulating two detectors that both see N/2
pedestrians (each mask an ellipse in a pedestrian-sized box, the second detector's copy jittered),
so the IoM-NMS has real duplicates to remove and neighbours overlap. Reports the median time per
frame of ``fuse_frame`` and of its parts, and, for 20 masks, the paper's dense ``pixel_iom``
computed pair by pair for comparison with the RLE matrix.

Detector: torchvision Mask R-CNN with random weights on the real MOT17-02 frames (1920x1080) from
``../shared/data``, at torchvision's default size (800/1333) and a small one (320). Random weights
with 3 classes and no score threshold make every frame carry ``detections_per_img`` masks (the
mask head's worst case); a trained COCO model usually emits fewer. CUDA (with AMP) is measured too
when a GPU is present.

    python benchmarks/bench_detect.py [--frames 4] [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from remots import masks
from remots.detection.fusion import fuse_frame, iom_nms
from remots.detection.torchvision_backend import TorchvisionMaskRCNN
from remots.io.instances import Instance
from remots.io.layouts import load_frame_folder

ROOT = Path(__file__).resolve().parents[1]
FRAMES = ROOT.parent / "shared" / "data" / "mot17_mini_frames" / "MOT17-02-FRCNN" / "img1"
H, W = 1080, 1920


def simulated_detections(n: int, rng: np.random.Generator) -> list[Instance]:
    """``n`` masks: n/2 pedestrians seen by two detectors (the second jittered, lower score)."""
    dets = []
    for _ in range(n // 2):
        h = int(rng.integers(120, 500))
        w = int(h * rng.uniform(0.3, 0.45))
        y, x = int(rng.integers(0, H - h)), int(rng.integers(0, W - w))
        score = float(rng.uniform(0.5, 1.0))
        for k, (dy, dx) in enumerate([(0, 0), tuple(rng.integers(-12, 13, 2))]):
            m = np.zeros((H, W), np.uint8)
            center = (x + w // 2 + int(dx), y + h // 2 + int(dy))
            cv2.ellipse(m, center, (w // 2, h // 2), 0, 0, 360, 1, -1)
            dets.append(Instance(0, len(dets), 2, masks.encode(m)[0], score * (1 - 0.1 * k)))
    return dets


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_fusion(repeats: int) -> None:
    rng = np.random.default_rng(0)
    print(f"\nFusion per frame at 1920x1080 (median of {repeats} runs, ms)")
    header = (
        f"{'masks':>5} | {'kept':>4} | {'IoM matrix':>10} | {'IoM-NMS':>8} | "
        f"{'exclusive':>9} | {'fuse_frame':>10} | "
        f"{'dense pixel_iom pairs':>21}"
    )
    print(header)
    print("-" * len(header))
    for n in (20, 50, 100):
        dets = simulated_detections(n, rng)
        rles = [d.rle for d in dets]
        scores = np.array([d.score for d in dets])
        t_iom = median_time(lambda rles=rles: masks.iom_matrix(rles, rles), repeats)
        t_nms = median_time(
            lambda rles=rles, scores=scores: iom_nms(rles, scores, iom_threshold=0.5), repeats
        )
        keep = iom_nms(rles, scores, iom_threshold=0.5)
        kept = [rles[k] for k in keep]
        t_excl = median_time(
            lambda kept=kept, keep=keep, scores=scores: masks.make_exclusive(kept, scores[keep]),
            repeats,
        )
        t_fuse = median_time(
            lambda dets=dets: fuse_frame(dets, iom_threshold=0.5, min_area=100), repeats
        )
        fused = fuse_frame(dets, iom_threshold=0.5, min_area=100)
        dense_cell = "-"
        if n == 20:
            dense = masks.decode(rles).astype(bool)
            t0 = time.perf_counter()
            for i in range(n):
                for j in range(i + 1, n):
                    masks.pixel_iom(dense[i], dense[j])
            dense_cell = f"{1000 * (time.perf_counter() - t0):.1f}"
        print(
            f"{n:>5} | {len(fused):>4} | {1000 * t_iom:>10.2f} | {1000 * t_nms:>8.2f} | "
            f"{1000 * t_excl:>9.2f} | {1000 * t_fuse:>10.2f} | "
            f"{dense_cell:>21}"
        )


def bench_detector(num_frames: int, devices: list[str], detections_per_img: int = 100) -> None:
    if not FRAMES.is_dir():
        print(f"\n(no {FRAMES}: detector benchmark skipped)")
        return
    seq = load_frame_folder(FRAMES, name="MOT17-02")
    seq = dataclasses.replace(seq, num_frames=min(num_frames, seq.num_frames))
    print(f"\ntorchvision Mask R-CNN, random weights, {seq.num_frames} real frames 1920x1080")
    header = (
        f"{'device':>6} | {'model':>24} | {'size':>9} | {'batch':>5} | {'masks/frame':>11} | "
        f"{'frames/s':>8}"
    )
    print(header)
    print("-" * len(header))
    for device in devices:
        for model, (min_size, max_size) in (
            ("maskrcnn_resnet50_fpn_v2", (800, 1333)),
            ("maskrcnn_resnet50_fpn_v2", (320, 320)),
            ("maskrcnn_resnet50_fpn", (800, 1333)),
            ("maskrcnn_resnet50_fpn", (320, 320)),
        ):
            batch = 2
            detector = TorchvisionMaskRCNN(
                model=model,
                weights=None,
                device=device,
                amp=True,
                batch_size=batch,
                min_size=min_size,
                max_size=max_size,
                box_score_thresh=0.0,
                detections_per_img=detections_per_img,
                num_classes=3,
                label_map={1: 2, 2: 1},
                progress=False,
            )
            detector.detect_batch([seq.read_frame(0)], [0])  # warm-up
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            dets = detector(seq)
            if device == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - t0
            print(
                f"{device:>6} | {model:>24} | {min_size:>4}/{max_size:<4} | {batch:>5} | "
                f"{len(dets) / seq.num_frames:>11.1f} | {seq.num_frames / elapsed:>8.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=4, help="frames for the detector runs")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of each fusion timing")
    parser.add_argument(
        "--detections-per-img", type=int, default=100, help="masks per frame (torchvision: 100)"
    )
    parser.add_argument("--skip-detector", action="store_true")
    parser.add_argument("--skip-fusion", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} CPU threads, cv2 {cv2.__version__}")
    if not args.skip_fusion:
        bench_fusion(args.repeats)
    if not args.skip_detector:
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        bench_detector(args.frames, devices, args.detections_per_img)


if __name__ == "__main__":
    main()
