"""Orchestration of the chain: skip, rerun on config change, reuse for sweeps, locking.

The stage functions here are fakes (named fake_*) that write small deterministic files, so the
manifest logic is tested in milliseconds; the real chain is tested end to end in
tests/test_end_to_end.py.
"""

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from remots import pipeline
from remots.errors import RunFolderError
from remots.runlock import run_folder_lock

CONF = Path(__file__).resolve().parent.parent / "conf"


def record_call(cfg, name):
    # get_method imports this file as tests.test_pipeline, a second module object, so calls are
    # recorded in a file rather than in a module global
    with open(Path(cfg.paths.output_root) / "calls.log", "a") as f:
        f.write(name + "\n")


def calls(tmp_path, clear=True):
    path = tmp_path / "calls.log"
    out = path.read_text().split() if path.exists() else []
    if clear and path.exists():
        path.unlink()
    return out


def _fake(name, files):
    def fn(cfg):
        record_call(cfg, name)
        crash_flag = Path(cfg.paths.output_root) / f"crash_{name}"
        if crash_flag.exists():  # simulate a kill in the middle of the stage, once
            crash_flag.unlink()
            partial = Path(cfg.paths.run_dir) / "tracklets_short" / "partial.txt"
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text("half\n")
            raise KeyboardInterrupt
        run = Path(cfg.paths.run_dir)
        for rel in files:
            path = run / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{name} {cfg.merge.get('theta_t')}\n")

    return fn


fake_detect = _fake("detect", ["detections/a.txt"])
fake_intra = _fake("intra", ["checkpoints/intra.ckpt"])
fake_short = _fake("short", ["tracklets_short/a.txt"])
fake_inter = _fake("inter", ["checkpoints/inter.ckpt"])
fake_merge = _fake("merge", ["results/a.txt", "results/a.json"])
fake_eval = _fake("eval", ["metrics.json"])


def make_cfg(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            config_name="track",
            overrides=[f"paths.output_root={tmp_path}", "run_name=r", *overrides],
        )
    with open_dict(cfg):
        for name in pipeline.STAGE_NAMES:
            cfg.stage.overrides[name] = {"fn": f"tests.test_pipeline.fake_{name}"}
    return cfg


def test_second_run_skips_everything(tmp_path):
    cfg = make_cfg(tmp_path)
    assert set(pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES)).values()) == {"ran"}
    assert calls(tmp_path) == list(pipeline.STAGE_NAMES)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["stages"]["merge"]["outputs"].keys() == {"results/a.json", "results/a.txt"}
    assert manifest["pending"] is None
    calls(tmp_path)
    assert set(pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES)).values()) == {"skipped"}
    assert calls(tmp_path) == []


def test_changed_merge_config_reruns_merge_and_eval_only(tmp_path):
    cfg = make_cfg(tmp_path)
    pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES))
    user_file = tmp_path / "r" / "results" / "my_notes.txt"
    user_file.write_text("mine")
    stale = tmp_path / "r" / "results" / "a.json"
    calls(tmp_path)
    cfg2 = make_cfg(tmp_path, "merge.theta_t=30")
    # the fake merge writes results/a.json again; make it not, to see the stale one removed
    with open_dict(cfg2):
        cfg2.stage.overrides.merge.fn = "tests.test_pipeline.fake_merge_txt_only"
    status = pipeline.run_stages(cfg2, list(pipeline.STAGE_NAMES))
    assert calls(tmp_path) == ["merge", "eval"]
    assert status["detect"] == status["inter"] == "skipped"
    assert not stale.exists()  # recorded output of the old merge: removed
    assert user_file.read_text() == "mine"  # not written by the pipeline: kept
    assert (tmp_path / "r" / "results" / "a.txt").read_text() == "merge 30\n"


fake_merge_txt_only = _fake("merge", ["results/a.txt"])


def test_tampered_artifact_reruns_its_stage(tmp_path):
    cfg = make_cfg(tmp_path)
    pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES))
    (tmp_path / "r" / "tracklets_short" / "a.txt").write_text("tampered\n")
    calls(tmp_path)
    pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES))
    assert calls(tmp_path) == ["short"]  # downstream hashes are unchanged, their outputs intact


def test_interrupted_stage_is_resumed_and_its_partial_outputs_recorded(tmp_path):
    cfg = make_cfg(tmp_path)
    (tmp_path / "crash_short").touch()
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES))
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["pending"]["stage"] == "short"
    assert "short" not in manifest["stages"]
    calls(tmp_path)
    cfg = make_cfg(tmp_path)
    pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES))
    assert calls(tmp_path) == ["short", "inter", "merge", "eval"]
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    # the file the crashed attempt wrote (and the rerun left alone) belongs to short
    assert "tracklets_short/partial.txt" in manifest["stages"]["short"]["outputs"]


def test_sweep_job_reuses_the_base_run_up_to_the_first_changed_stage(tmp_path):
    base = make_cfg(tmp_path)
    pipeline.run_stages(base, list(pipeline.STAGE_NAMES))
    calls(tmp_path)
    job = make_cfg(tmp_path, "paths.run_dir=" + str(tmp_path / "job1"), "merge.theta_t=5")
    with open_dict(job):
        job.stage.reuse_from = str(tmp_path / "r")
    status = pipeline.run_stages(job, list(pipeline.STAGE_NAMES))
    assert [status[s] for s in pipeline.STAGE_NAMES] == [
        "reused",
        "reused",
        "reused",
        "reused",
        "ran",
        "ran",
    ]
    assert calls(tmp_path) == ["merge", "eval"]
    a, b = tmp_path / "r" / "detections" / "a.txt", tmp_path / "job1" / "detections" / "a.txt"
    assert a.stat().st_ino == b.stat().st_ino  # hard link, no copy


def test_a_second_run_on_a_locked_folder_refuses(tmp_path):
    cfg = make_cfg(tmp_path)
    with run_folder_lock(tmp_path / "r", "all"):
        with pytest.raises(RunFolderError, match="another remots run is using this run folder"):
            pipeline.run_stages(cfg, ["detect"])
    assert calls(tmp_path) == []


def test_per_sequence_stage_locks_share_the_folder_but_not_the_selection(tmp_path):
    with run_folder_lock(tmp_path, "short", ["a"]):
        with run_folder_lock(tmp_path, "short", ["b"]):
            pass  # disjoint sequences of one stage: side by side
        with pytest.raises(RunFolderError):
            with run_folder_lock(tmp_path, "short", ["a"]):
                pass
        with pytest.raises(RunFolderError):
            with run_folder_lock(tmp_path, "all"):
                pass


def test_stale_temp_files_of_a_killed_write_are_removed(tmp_path):
    cfg = make_cfg(tmp_path)
    stale = tmp_path / "r" / "detections" / ".a.txt.abc123.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_text("half")
    pipeline.run_stages(cfg, ["detect"])
    assert not stale.exists()
