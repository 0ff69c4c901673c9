"""Time and peak memory of long-term merging (remots.tracking.merge) for 200, 1,000 and 5,000
short tracklets with random features and random temporal ranges, on one CPU core.

    OMP_NUM_THREADS=1 python benchmarks/bench_merge.py [--sizes 200 1000 5000] [--dim 512]

Goal (issue 7): 1,000 tracklets under 1 s. Columns: W_long (Eq. 3 appearance and gap matrices),
clustering (constrained centroid linkage), total (``merge_tracklets``, best of --repeat), and the
peak memory traced during one ``merge_tracklets`` call (numpy allocations included).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one core, as the goal says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time
import tracemalloc

import numpy as np

from remots.tracking.merge import (
    constrained_centroid_linkage,
    merge_tracklets,
    tracklet_appearance_distance,
    tracklet_frame_gaps,
)


def random_tracklets(num_tracklets: int, *, dim: int, seed: int = 0):
    """num_tracklets / 5 identities, each cut into 5 tracklets of 1..30 frames that follow one
    another with gaps of 1..20 frames (so most, not all, joins are within theta_t), starting
    anywhere in a video of num_tracklets / 2 frames; features around each identity's vector."""
    rng = np.random.default_rng(seed)
    num_frames = max(num_tracklets // 2, 50)
    length = rng.integers(1, 31, num_tracklets)
    gap = rng.integers(1, 21, num_tracklets)
    identity = np.arange(num_tracklets) // 5
    start = np.empty(num_tracklets, np.int64)
    for first in range(0, num_tracklets, 5):  # loop over identities, not pairs
        chain = slice(first, first + 5)
        offsets = np.concatenate([[0], np.cumsum(length[chain] + gap[chain])[:-1]])
        start[chain] = rng.integers(0, num_frames) + offsets
    tracklet = np.repeat(np.arange(num_tracklets), length)
    frames = np.repeat(start, length) + np.concatenate([np.arange(n) for n in length])
    centres = rng.standard_normal((identity.max() + 1, dim))
    features = centres[identity][tracklet] + 0.8 * rng.standard_normal((len(tracklet), dim))
    classes = np.ones(len(tracklet), np.int64)
    return features.astype(np.float32), tracklet, frames, classes


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--dim", type=int, default=512, help="feature dimension")
    parser.add_argument("--theta-merge", type=float, default=0.5)
    parser.add_argument("--theta-t", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    header = (
        f"{'tracklets':>9} {'detections':>10} {'tracks':>7} {'merges':>7} {'W_long s':>9} "
        f"{'cluster s':>9} {'total s':>8} {'peak MiB':>9}"
    )
    print(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, feature dim {args.dim}")
    print(header)
    print("-" * len(header))
    for k in args.sizes:
        f, trk, fr, cls = random_tracklets(k, dim=args.dim)
        repeat = args.repeat if k <= 1000 else 1

        def build(f=f, trk=trk, fr=fr, cls=cls):
            appearance, n_obs = tracklet_appearance_distance(f, trk, cls)
            return appearance, n_obs, tracklet_frame_gaps(trk, fr, cap=args.theta_t + 1)

        t_build, (appearance, n_obs, gaps) = best_of(repeat, build)
        t_cluster, (_, merges) = best_of(
            repeat,
            lambda a=appearance, g=gaps, n=n_obs: constrained_centroid_linkage(
                a, g, n, theta_t=args.theta_t, cut=1 - args.theta_merge
            ),
        )
        del appearance, gaps

        def full(f=f, trk=trk, fr=fr, cls=cls):
            return merge_tracklets(
                f, trk, fr, cls, theta_merge=args.theta_merge, theta_t=args.theta_t
            )

        t_total, labels = best_of(repeat, full)
        tracemalloc.start()
        full()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        print(
            f"{k:>9} {len(trk):>10} {labels.max() + 1:>7} {len(merges):>7} {t_build:>9.3f} "
            f"{t_cluster:>9.3f} {t_total:>8.3f} {peak:>9.1f}"
        )


if __name__ == "__main__":
    main()
