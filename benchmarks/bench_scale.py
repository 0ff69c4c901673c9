"""Peak memory of the short-term tracker and the merge against sequence length (issue: long videos).

A synthetic sequence of ``--objects`` moving people-sized ellipses per frame is rendered frame by
frame (streamed: never stored; worker processes render their own frames), its masks kept as RLE,
with random unit features (N, 128) float32; the short tracker (DIS flow + warp + Eq. 1-2 +
assignment, the frame pairs on ``--workers`` processes) and then the merge (Eq. 3, centroid
linkage) run over it. Each size and worker count runs in its own process so that its peak RSS is
its own: the process's own peak (``peak_rss_mib``) and the peak of its whole process tree,
workers included, sampled every 0.2 s (``tree_peak_mib``).

    python benchmarks/bench_scale.py                      # 500, 1500, 3000 frames at 640x360
    python benchmarks/bench_scale.py --workers 1 2        # serial and on 2 worker processes
    python benchmarks/bench_scale.py --frames 3000 --size 1280x720

Memory should grow at most linearly with the number of masks and not with frames x frame size,
and a worker's memory should not grow with the sequence (it holds two frames and a task's masks).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time

import numpy as np


def render_sequence(num_frames: int, num_objects: int, height: int, width: int, seed: int = 0):
    """Detections (RLE) of ``num_objects`` ellipses moving and bouncing, and a frame generator."""
    import cv2

    from remots import masks
    from remots.io.instances import Instance

    rng = np.random.default_rng(seed)
    pos = rng.uniform([0, 0], [width, height], size=(num_objects, 2))
    vel = rng.uniform(-3, 3, size=(num_objects, 2))
    colours = rng.integers(0, 255, size=(num_objects, 3))
    axes = (max(3, width // 80), max(6, height // 18))
    centres = np.empty((num_frames, num_objects, 2))
    for t in range(num_frames):
        centres[t] = pos
        pos = pos + vel
        bounce = (pos < 0) | (pos > [width, height])
        vel[bounce] *= -1
        pos = np.clip(pos, 0, [width, height])

    detections_by_frame = []
    k = 0
    for t in range(num_frames):
        label = np.zeros((height, width), np.int32)
        for j in range(num_objects):  # later objects are nearer: they cover earlier ones
            cv2.ellipse(label, tuple(int(v) for v in centres[t, j]), axes, 0, 0, 360, j + 1, -1)
        ids = np.unique(label)
        ids = ids[ids > 0]
        rles = masks.encode(label[None] == ids[:, None, None]) if len(ids) else []
        detections_by_frame.append([Instance(t, k + n, 2, rle, 0.9) for n, rle in enumerate(rles)])
        k += len(rles)

    return detections_by_frame, RenderedFrames(centres, colours, axes, height, width), k


class RenderedFrames:
    """The sequence's frames, drawn when read (a frame source: workers draw their own)."""

    def __init__(self, centres, colours, axes, height, width):
        self.centres, self.colours, self.axes = centres, colours, axes
        self.height, self.width = height, width

    def iter_frames(self, start: int = 0, stop: int | None = None):
        import cv2

        stop = len(self.centres) if stop is None else min(stop, len(self.centres))
        for t in range(start, stop):
            img = np.full((self.height, self.width, 3), 90, np.uint8)
            for j in range(self.centres.shape[1]):
                c = tuple(int(v) for v in self.colours[j])
                centre = tuple(int(v) for v in self.centres[t, j])
                cv2.ellipse(img, centre, self.axes, 0, 0, 360, c, -1)
            yield t, img


def run_one(num_frames: int, num_objects: int, height: int, width: int, workers: int) -> dict:
    from bench_chain import TreeMonitor

    from remots.io.detections import Detections
    from remots.parallel import WorkerPool
    from remots.tracking.merge import merge_tracklets
    from remots.tracking.short_term import ShortTermParams, track_short

    tree = TreeMonitor()
    tree.start()
    t0 = time.perf_counter()
    detections_by_frame, frames, n = render_sequence(num_frames, num_objects, height, width)
    rng = np.random.default_rng(1)
    features = rng.normal(size=(n, 128)).astype(np.float32)
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    t_render = time.perf_counter() - t0
    rss_render = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t0 = time.perf_counter()
    detections = Detections.from_instances(d for f in detections_by_frame for d in f)
    with WorkerPool(workers) as pool:
        tracklet_of_detection = track_short(
            detections, features, ShortTermParams(), frames, pool=pool
        )
    t_short = time.perf_counter() - t0
    rss_short = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # cut the tracklets every 25 frames, as occlusions and misses do, so the merge has work
    frames_of, classes = detections.frames, detections.classes
    pieces = tracklet_of_detection * 1000 + frames_of // 25
    _, tracklets = np.unique(pieces, return_inverse=True)
    t0 = time.perf_counter()
    merge_tracklets(features, tracklets, frames_of, classes, theta_merge=0.5, theta_t=15)
    t_merge = time.perf_counter() - t0
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tree.stop()
    return {
        "workers": workers,
        "frames": num_frames,
        "size": f"{width}x{height}",
        "masks": int(n),
        "tracklets": int(tracklets.max() + 1),
        "render_s": round(t_render, 1),
        "short_s": round(t_short, 1),
        "merge_s": round(t_merge, 1),
        "rss_after_render_mib": round(rss_render),
        "rss_after_short_mib": round(rss_short),
        "peak_rss_mib": round(rss_peak),
        "tree_peak_mib": round(tree.peak_rss / 2**20),
        "tracklets_sha": hashlib.sha256(tracklet_of_detection.tobytes()).hexdigest()[:12],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[500, 1500, 3000])
    parser.add_argument("--objects", type=int, default=30)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    if args.one:
        print(json.dumps(run_one(args.frames[0], args.objects, height, width, args.workers[0])))
        return
    rows = []
    for workers in args.workers:
        for n in args.frames:
            cmd = [sys.executable, __file__, "--one", "--frames", str(n), "--objects"]
            cmd += [str(args.objects), "--size", args.size, "--workers", str(workers)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    for workers in args.workers:
        mine = [r for r in rows if r["workers"] == workers]
        for r in mine[1:]:
            print(
                f"{workers} worker(s), {r['frames']} frames: {r['masks'] / mine[0]['masks']:.2f}x "
                f"the masks, {r['peak_rss_mib'] / mine[0]['peak_rss_mib']:.2f}x the peak RSS, "
                f"{r['tree_peak_mib'] / mine[0]['tree_peak_mib']:.2f}x the tree's"
            )
    same = {n: {r["tracklets_sha"] for r in rows if r["frames"] == n} for n in args.frames}
    print("tracklets identical for every worker count:", all(len(v) == 1 for v in same.values()))


if __name__ == "__main__":
    main()
