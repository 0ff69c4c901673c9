"""benchmarks/measure_merge.py: the oracle joins that respect the paper's merge constraints, on
hand-made tracklets."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from benchmarks.measure_merge import majority_identity, oracle_chains_of_tracklet

ROOT = Path(__file__).resolve().parents[2]


def _detections(spans):
    """Per tracklet (first frame, last frame, GT ids of its detections in frame order)."""
    tracklet, frames, gt_id = [], [], []
    for k, (first, last, ids) in enumerate(spans):
        for frame, gid in zip(range(first, last + 1), ids, strict=True):
            tracklet.append(k)
            frames.append(frame)
            gt_id.append(gid)
    return np.array(tracklet), np.array(frames), np.array(gt_id)


A, B = 7, 9
SPANS = [
    (0, 4, [A] * 5),  # 0
    (10, 14, [A] * 5),  # 1: 6 frames after 0 ends, 2 after 3 ends
    (40, 45, [A] * 6),  # 2: 26 frames after 1 ends
    (3, 8, [A, A, B, A, -1, A]),  # 3: overlaps 0 in frames 3-4; most of it is A
    (20, 21, [-1, -1]),  # 4: no matched detection
    (5, 6, [B, B]),  # 5: the only B
]


def test_majority_identity_ignores_unmatched_detections():
    tracklet, _, gt_id = _detections(SPANS)
    assert majority_identity(tracklet, gt_id).tolist() == [A, A, A, A, -1, B]


def test_joins_follow_time_order_within_theta_t_without_shared_frames():
    tracklet, frames, gt_id = _detections(SPANS)
    # 3 cannot join 0 (frames 3-4 shared) and starts a chain; 1 joins the chain that ended last
    # before it (3's, at frame 8); 2 is 26 frames after any chain: alone at theta_t 15
    assert oracle_chains_of_tracklet(tracklet, frames, gt_id, 15).tolist() == [0, 3, 2, 3, 4, 5]
    assert oracle_chains_of_tracklet(tracklet, frames, gt_id, 30).tolist() == [0, 3, 3, 3, 4, 5]
    # at theta_t 1 only adjacent frames join: none here
    assert oracle_chains_of_tracklet(tracklet, frames, gt_id, 1).tolist() == [0, 1, 2, 3, 4, 5]


def test_bad_overrides_and_a_missing_run_are_one_line_and_exit_2(tmp_path):
    """The script's errors go through remots.cli.main, as the entry points' do: an override
    Hydra cannot parse and a run folder without detections each end in remots' one error line,
    exit 2, no traceback."""
    script = [sys.executable, str(ROOT / "benchmarks" / "measure_merge.py"), "run", "--"]
    cases = {
        "detector.path={seq_dir}": "remots: config error: detector.path={seq_dir}: ",
        f"paths.run_dir={tmp_path}": f"remots: error: {tmp_path}/detections/",
    }
    for override, start in cases.items():
        out = subprocess.run(
            [*script, override, "data=synthetic_tiny", f"paths.data_dir={tmp_path}"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "disabled"},
        )
        assert out.returncode == 2
        lines = out.stderr.strip().splitlines()
        assert lines[-1].startswith(start) and "Traceback" not in out.stderr
