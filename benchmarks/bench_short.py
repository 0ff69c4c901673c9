"""Speed of the short-term association, features given: flow + warp + IoU/cost + assignment.

Frames are real MOT17 frames from ../shared/data (MOT17-09 at 1920x1080, MOT17-05 at 640x480);
masks are N non-overlapping ellipses per frame (drawn with a seeded generator) and the next
frame's masks are the same ellipses moved a few pixels; features are random 2048-d vectors. For
each resolution, mask count and flow method, one association step (t-1 -> t) is timed and the
table gives the milliseconds of each part and frames/s of the whole step.

    python benchmarks/bench_short.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from remots import masks  # noqa: E402
from remots.tracking.flow import compute_flow, warp_masks  # noqa: E402
from remots.tracking.short_term import associate, short_term_cost  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mot17_mini_frames"
FRAMES = {
    "1920x1080": DATA / "MOT17-09-FRCNN" / "img1",
    "640x480": DATA / "MOT17-05-FRCNN" / "img1",
}
METHODS = {
    "dis (medium, 1.0)": ("dis", {"preset": "medium", "downscale": 1.0}),
    "dis (medium, 0.5)": ("dis", {"preset": "medium", "downscale": 0.5}),
    "farneback (0.5)": ("farneback", {"downscale": 0.5}),
    "farneback (1.0)": ("farneback", {"downscale": 1.0}),
    "none (plain IoU)": (None, {}),
}


def ellipse_masks(rng, n: int, height: int, width: int, shift=(0, 0)) -> list:
    """n ellipses on a grid (so they never overlap), jittered, moved by ``shift``."""
    cols = int(np.ceil(np.sqrt(n * width / height)))
    rows = int(np.ceil(n / cols))
    cell_w, cell_h = width // cols, height // rows
    dense = np.zeros((n, height, width), np.uint8)
    for k in range(n):
        r, c = divmod(k, cols)
        cx = int(c * cell_w + cell_w / 2 + rng.integers(-cell_w // 8, cell_w // 8 + 1))
        cy = int(r * cell_h + cell_h / 2 + rng.integers(-cell_h // 8, cell_h // 8 + 1))
        axes = (max(2, int(cell_w * 0.3)), max(2, int(cell_h * 0.4)))
        cv2.ellipse(dense[k], (cx + shift[0], cy + shift[1]), axes, 0, 0, 360, 1, -1)
    return masks.encode(dense)


def time_step(prev_img, curr_img, prev, curr, f_prev, f_curr, method, kwargs):
    t0 = time.perf_counter()
    if method is not None:
        flow = compute_flow(curr_img, prev_img, method=method, **kwargs)
        t1 = time.perf_counter()
        warped = warp_masks(prev, flow)
    else:
        t1 = time.perf_counter()
        warped = prev
    t2 = time.perf_counter()
    w = short_term_cost(warped, curr, f_prev, f_curr, theta_short=0.5)
    t3 = time.perf_counter()
    associate(w)
    t4 = time.perf_counter()
    return np.array([t1 - t0, t2 - t1, t3 - t2, t4 - t3])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--counts", type=int, nargs="*", default=[10, 30, 60])
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"OpenCV {cv2.__version__}, threads {cv2.getNumThreads()}; median of {args.repeats}")
    print("| resolution | masks | flow | flow ms | warp ms | cost ms | assign ms | frames/s |")
    print("|---|---|---|---|---|---|---|---|")
    for res, folder in FRAMES.items():
        paths = sorted(folder.glob("*.jpg"))
        prev_img, curr_img = cv2.imread(str(paths[0])), cv2.imread(str(paths[1]))
        height, width = prev_img.shape[:2]
        for n in args.counts:
            prev = ellipse_masks(np.random.default_rng(n), n, height, width)
            curr = ellipse_masks(np.random.default_rng(n), n, height, width, shift=(3, 1))
            f_prev = rng.normal(size=(n, 2048)).astype(np.float32)
            f_curr = f_prev + 0.1 * rng.normal(size=(n, 2048)).astype(np.float32)
            for label, (method, kwargs) in METHODS.items():
                times = np.median(
                    [
                        time_step(prev_img, curr_img, prev, curr, f_prev, f_curr, method, kwargs)
                        for _ in range(args.repeats)
                    ],
                    axis=0,
                )
                ms = 1000 * times
                print(
                    f"| {res} | {n} | {label} | {ms[0]:.1f} | {ms[1]:.1f} | {ms[2]:.1f} | "
                    f"{ms[3]:.2f} | {1.0 / times.sum():.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
