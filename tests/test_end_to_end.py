"""The whole chain on a tiny synthetic dataset, in subprocesses as a user runs it: the results
table, and SIGKILL during training and during merging followed by a rerun that completes with
byte-identical results."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from remots import pipeline

ROOT = Path(__file__).resolve().parent.parent
RESULT_GLOBS = (
    "results/*.txt",
    "results/*.json",
    "tracklets_short/*",
    "baseline/*",
    "detections/*",
    "metrics.json",
    "metrics.csv",
    "summary.json",
    "summary.md",
)


def chain(tmp: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "track.py"),
        "stage=all",
        "experiment=tiny",
        f"paths.output_root={tmp / 'outputs'}",
        f"paths.data_dir={tmp.parent / 'data'}",
        f"hydra.run.dir={tmp / 'hydra'}",
        *extra,
    ]


def env():
    return {**os.environ, "WANDB_MODE": "disabled", "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}


def results_of(run_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for g in RESULT_GLOBS
        for p in sorted(run_dir.glob(g))
    }


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e") / "full"
    tmp.mkdir()
    t0 = time.perf_counter()
    out = subprocess.run(chain(tmp), env=env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    run_dir = tmp / "outputs" / "tiny"
    return {
        "run_dir": run_dir,
        "seconds": time.perf_counter() - t0,
        "results": results_of(run_dir),
        "log": out.stdout + out.stderr,
    }


def test_chain_writes_every_artifact_and_the_table(uninterrupted):
    run_dir = uninterrupted["run_dir"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["stages"]) == set(pipeline.STAGE_NAMES)
    assert manifest["pending"] == {}
    for rel in manifest["stages"]["merge"]["sequences"]["SYN-TEST-01"]:
        assert (run_dir / rel).is_file(), rel
    assert (run_dir / "checkpoints" / "intra.ckpt").is_file()
    assert (run_dir / "checkpoints" / "inter.ckpt").is_file()
    assert list((run_dir / "plots").glob("theta_short_*.png"))
    assert list((run_dir / "plots").glob("theta_merge_*.png"))
    assert list((run_dir / "plots" / "overlays").glob("*.mp4"))
    summary = json.loads((run_dir / "summary.json").read_text())
    variants = [r["variant"] for r in summary["rows"]]
    assert variants == ["IoU-only baseline", "short tracklets", "ReMOTS (merged)"]
    assert "ReMOTS (merged)" in uninterrupted["log"]


def test_remots_beats_the_short_tracklets_and_the_iou_only_baseline(uninterrupted):
    rows = {
        r["variant"]: r
        for r in json.loads((uninterrupted["run_dir"] / "summary.json").read_text())["rows"]
    }
    merged, short = rows["ReMOTS (merged)"], rows["short tracklets"]
    assert merged["IDF1"] > short["IDF1"]
    assert merged["IDF1"] > rows["IoU-only baseline"]["IDF1"]
    assert merged["IDSW"] < short["IDSW"]


def test_rerun_skips_every_stage_and_changes_nothing(uninterrupted, tmp_path):
    run_dir = uninterrupted["run_dir"]
    tmp = run_dir.parent.parent
    out = subprocess.run(chain(tmp), env=env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    skipped = out.stdout.count("up to date, skipped") + out.stderr.count("up to date, skipped")
    assert skipped == len(pipeline.STAGE_NAMES)
    assert results_of(run_dir) == uninterrupted["results"]


# Guarded like track.py: worker processes (``workers``) import the main script.
KILL_AFTER_FIRST_MERGE = """
import os, signal, sys
sys.path.insert(0, {root!r})
if __name__ == "__main__":
    import remots.stages.merge as m
    original = m.atomic_write_json
    def write_then_die(*args, **kwargs):
        original(*args, **kwargs)  # the merge record, the last file of a sequence
        os.kill(os.getpid(), signal.SIGKILL)  # killed before the pipeline records the sequence
    m.atomic_write_json = write_then_die
    sys.argv = {argv!r}
    import runpy
    runpy.run_path({track!r}, run_name="__main__")
"""


def test_sigkill_during_training_and_merging_then_rerun_gives_identical_results(
    uninterrupted, tmp_path
):
    tmp = tmp_path / "killed"
    tmp.mkdir()
    run_dir = tmp / "outputs" / "tiny"
    # 1. SIGKILL in the middle of intra training (after its first epoch's resume checkpoint)
    proc = subprocess.Popen(
        chain(tmp), env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    resume_point = run_dir / "checkpoints" / "intra-last.ckpt"
    deadline = time.time() + 300
    while not resume_point.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed during training"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "intra" in manifest["pending"]
    assert "seconds" not in manifest["stages"].get("intra", {})
    # 2. rerun, killed by SIGKILL right after the merge stage wrote its first sequence
    script = tmp / "kill_in_merge.py"
    argv = chain(tmp)[1:]
    script.write_text(
        KILL_AFTER_FIRST_MERGE.format(root=str(ROOT), argv=argv, track=str(ROOT / "track.py"))
    )
    out = subprocess.run(
        [sys.executable, str(script)], env=env(), capture_output=True, text=True, timeout=600
    )
    assert out.returncode == -signal.SIGKILL, out.stderr[-3000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "merge" in manifest["pending"]
    assert manifest["stages"]["merge"]["sequences"] == {}
    assert set(manifest["stages"]) == set(pipeline.STAGE_NAMES[:7])
    # 3. rerun to the end: byte-identical to the uninterrupted run
    out = subprocess.run(chain(tmp), env=env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = results_of(run_dir)
    assert got.keys() == uninterrupted["results"].keys()
    for rel in got:
        assert got[rel] == uninterrupted["results"][rel], rel


FULL_DISK_IN_MERGE = """
import errno, os, sys
sys.path.insert(0, {root!r})
import remots.stages.merge as m
original = m.write_mots_txt
def write_then_fill_the_disk(*args, **kwargs):
    original(*args, **kwargs)  # results/<seq>.txt is written, then the disk is full
    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.fsync = full  # every later atomic write (plot, merge record, manifest) fails
m.write_mots_txt = write_then_fill_the_disk
sys.argv = {argv!r}
import runpy
runpy.run_path({track!r}, run_name="__main__")
"""


def test_disk_full_in_merge_then_rerun_with_space_gives_identical_results(uninterrupted):
    """The disk fills up after merge wrote a sequence's results txt: one line naming the file,
    exit 2, no temporary file, the txt without its json removed and nothing recorded; with space
    again the rerun completes byte-identically."""
    tmp = uninterrupted["run_dir"].parent.parent.parent / "disk_full"  # same data_dir
    run_dir = tmp / "outputs" / "tiny"
    shutil.copytree(uninterrupted["run_dir"], run_dir)
    script = tmp / "full_disk.py"
    argv = chain(tmp, "force=[merge]")[1:]
    script.write_text(
        FULL_DISK_IN_MERGE.format(root=str(ROOT), argv=argv, track=str(ROOT / "track.py"))
    )
    out = subprocess.run(
        [sys.executable, str(script)], env=env(), capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 2, out.stderr[-3000:]
    assert "Traceback" not in out.stdout + out.stderr
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("remots: ")]
    assert errors == [
        f"remots: error: {run_dir}/plots/theta_merge_SYN-TEST-01.png: No space left on device: "
        "free some space (or raise the limit) and run the same command again"
    ]
    assert not [p for p in run_dir.rglob("*") if ".tmp" in p.name]
    assert not (run_dir / "results" / "SYN-TEST-01.txt").exists()  # not without its json
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["merge"]["sequences"] == {}
    out = subprocess.run(chain(tmp), env=env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert results_of(run_dir) == uninterrupted["results"]


def test_optuna_sweep_on_the_base_run_reuses_it_and_writes_the_summary(uninterrupted):
    """``track.py -m`` with the Optuna sweeper over merge.theta_t and the flow method, on top of
    the finished tiny run: each job reuses the base run's stages up to the first changed one and
    the sweep's summary table has one row per trial, the objective (IDF1) in the last column."""
    tmp = uninterrupted["run_dir"].parent.parent
    cmd = chain(tmp, "hydra.sweeper.n_trials=2")
    cmd[cmd.index("experiment=tiny")] = "experiment=[tiny,sweep_optuna]"
    cmd.insert(2, "-m")
    cmd = [c for c in cmd if not c.startswith("hydra.run.dir=")]
    out = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    sweep = uninterrupted["run_dir"] / "sweep"
    jobs = sorted(p for p in sweep.iterdir() if (p / "sweep_row.json").is_file())
    assert len(jobs) == 2 and all(p.name.startswith("flow=") for p in jobs)
    for job in jobs:
        manifest = json.loads((job / "manifest.json").read_text())
        assert manifest["stages"]["detect"].get("reused") and manifest["stages"]["intra"].get(
            "reused"
        )
    lines = (sweep / "sweep_summary.md").read_text().splitlines()
    assert len(lines) == 2 + 2 and lines[0].endswith("| IDF1 |")
    assert (sweep / "optimization_results.yaml").is_file()
