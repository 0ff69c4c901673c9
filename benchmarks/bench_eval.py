"""Our evaluation (remots.eval.evaluate_folder) against TrackEval's own evaluator, same files.

Makes tracker results from the 12 KITTI MOTS training sequences (../shared/data) by perturbing
the ground truth (drops, erosion/dilation, id swaps, track splits, false positives, some in
ignore regions), writes them once, then evaluates them with both, cars and pedestrians, HOTA +
CLEAR + Identity, serially, each run in a fresh process (wall time of the evaluation call only,
for ours both from files and with the GT already in memory as sweeps and the pipeline call it;
imports excluded; peak RSS of the process, which imported the same modules (trackeval,
remots.eval) before the call, and that baseline). Runs alternate between the evaluators. Prints a
table with each evaluator's speed-up over TrackEval (its wall time over ours, of the fastest and
of the median runs) and peak RSS relative to TrackEval's, and the largest difference between the
two evaluators' numbers over all runs.

    python benchmarks/bench_eval.py [--repeats 3] [--sequences 0000 0012]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KITTI = ROOT.parent / "shared" / "data" / "kitti_mots_train"
SEQMAP = KITTI / "seqmaps" / "train.seqmap"
CLASSES = ("car", "pedestrian")
LABELS = {
    "trackeval": "TrackEval Evaluator",
    "ours": "remots evaluate_folder",
    "ours_gt_loaded": "remots, GT in memory",
}


def _rss_mb() -> float:
    """Peak RSS of this process so far. VmHWM where there is /proc: ru_maxrss of a child starts
    at the parent's RSS when it was forked (Linux keeps it across exec), which here is the
    parent's GT and perturbed results."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one(which: str, workdir: Path, sequences: list[str]) -> None:
    """Child process: evaluate once, print wall time, peak RSS growth and the metrics."""
    sys.path.insert(0, str(ROOT))
    import trackeval  # noqa: F401  (imports are not timed, for both)

    from remots.eval import evaluate_folder, evaluate_results_folder, load_gt
    from tests.support.reference import run_trackeval

    tracker_dir = workdir / "trackers" / "remots" / "data"
    seqmap = workdir / "seqmap.txt"
    if which == "ours_gt_loaded":  # the GT read before timing, as sweeps and the pipeline do
        gt = load_gt(KITTI, layout="kitti_mots", seqmap=seqmap, sequences=sequences)
    before = _rss_mb()
    t0 = time.perf_counter()
    if which == "ours":
        result = evaluate_folder(
            KITTI,
            tracker_dir,
            layout="kitti_mots",
            seqmap=seqmap,
            sequences=sequences,
            classes=CLASSES,
        )
    elif which == "ours_gt_loaded":
        result = evaluate_results_folder(gt, tracker_dir, classes=CLASSES, benchmark="kitti_mots")
    else:
        result = run_trackeval(
            {
                "GT_FOLDER": str(KITTI),
                "TRACKERS_FOLDER": str(workdir / "trackers"),
                "GT_LOC_FORMAT": "{gt_folder}/instances_txt/{seq}.txt",
                "SEQMAP_FILE": str(seqmap),
            },
            benchmark="kitti_mots",
            classes=CLASSES,
        )
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {"wall": wall, "peak_mb": _rss_mb(), "base_mb": before, "rows": result.to_rows()}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sequences", nargs="*", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--_one", choices=list(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--_workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._one:
        _one(args._one, Path(args._workdir), args.sequences)
        return

    sys.path.insert(0, str(ROOT))
    import numpy as np

    from remots.io.layouts import load_kitti_mots, write_seqmap
    from remots.io.mots import write_mots_txt
    from tests.support.perturb import perturb_results

    sequences = load_kitti_mots(KITTI, seqmap=SEQMAP, sequences=args.sequences)
    names = [s.name for s in sequences]
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for seq in sequences:
            results = perturb_results(
                seq.gt,
                num_frames=seq.num_frames,
                rng=rng,
                drop=0.15,
                erode=0.2,
                dilate=0.2,
                swaps=3,
                splits=3,
                false_positives=0.15,
            )
            write_mots_txt(
                workdir / "trackers" / "remots" / "data" / f"{seq.name}.txt", results, frame_base=0
            )
        write_seqmap(workdir / "seqmap.txt", sequences, style="kitti")
        runs = {which: [] for which in LABELS}
        for _ in range(args.repeats):
            for which in LABELS:
                cmd = [
                    sys.executable,
                    __file__,
                    "--_one",
                    which,
                    "--_workdir",
                    str(workdir),
                    "--sequences",
                    *names,
                ]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                runs[which].append(json.loads(out.strip().splitlines()[-1]))
    worst = 0.0
    for which in LABELS:
        for run in runs[which]:
            for a, b in zip(run["rows"], runs["trackeval"][0]["rows"], strict=True):
                assert (a["sequence"], a["class"]) == (b["sequence"], b["class"])
                diffs = (abs(a[k] - b[k]) for k in a if k not in ("sequence", "class"))
                worst = max(worst, *diffs)
    n_masks = sum(len([i for i in s.gt if i.class_id != 10]) for s in sequences)
    print(
        f"KITTI MOTS: {len(sequences)} sequences, {sum(s.num_frames for s in sequences)} "
        f"frames, {n_masks} GT masks; classes {', '.join(CLASSES)}; repeats {args.repeats}"
    )
    print(
        f"{'evaluator':<30}{'wall min s':>11}{'median s':>10}{'speed-up min/median':>21}"
        f"{'peak RSS MB':>13}{'(before call)':>15}{'RSS / TrackEval':>17}"
    )
    best = {k: min(r["wall"] for r in v) for k, v in runs.items()}
    median = {k: statistics.median(r["wall"] for r in v) for k, v in runs.items()}
    peak = {k: max(r["peak_mb"] for r in v) for k, v in runs.items()}
    for which, label in LABELS.items():
        base = max(r["base_mb"] for r in runs[which])
        speed_up = (
            f"{best['trackeval'] / best[which]:.2f}x / {median['trackeval'] / median[which]:.2f}x"
        )
        print(
            f"{label:<30}{best[which]:>11.2f}{median[which]:>10.2f}{speed_up:>21}"
            f"{peak[which]:>13.1f}{base:>15.1f}{peak[which] / peak['trackeval']:>16.2f}x"
        )
    print(f"largest |difference| over all metrics, sequences and classes: {worst:.3g}")


if __name__ == "__main__":
    main()
