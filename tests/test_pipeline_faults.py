"""The pipeline under faults, with the fake stages of tests/test_pipeline.py: a sequence that
fails (a full disk) leaves none of its files and is not recorded; resume state of another config
is never resumed; config checks against the target videos run before any stage."""

import dataclasses
import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from remots import pipeline
from remots.errors import ConfigError
from tests.test_pipeline import FAKES, SEQ, calls, record_call, run_all

OTHER = "SYN-TEST-02"


@pytest.fixture(autouse=True)
def fake_stages(monkeypatch):
    use(monkeypatch)


@pytest.fixture()
def two_sequences(small_synthetic):
    other = small_synthetic / "test" / OTHER
    shutil.copytree(small_synthetic / "test" / SEQ, other)
    yield
    shutil.rmtree(other)


def use(monkeypatch, **stages):
    fakes = {**FAKES, **stages}
    replaced = tuple(dataclasses.replace(s, run=fakes[s.name]) for s in pipeline.STAGES)
    monkeypatch.setattr(pipeline, "STAGES", replaced)


def merge_filling_the_disk_at(failing: str | None):
    """A merge writing ``results/<seq>.txt`` then ``.json``; the disk is full before the json
    of sequence ``failing``."""

    def merge(cfg, run, videos):
        for video in videos:
            record_call(cfg, f"merge:{video.name}")
            (run.root / "results").mkdir(parents=True, exist_ok=True)
            run.results(video.name).write_text("tracks\n")
            if video.name == failing:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            run.merge_record(video.name).write_text("{}\n")
            yield video.name

    return merge


def test_a_sequence_failing_mid_write_leaves_none_of_its_files(
    tmp_path, make_cfg, monkeypatch, two_sequences
):
    run_dir = tmp_path / "r"
    (run_dir / "results").mkdir(parents=True)
    (run_dir / "results" / "notes.txt").write_text("the user's\n")
    use(monkeypatch, merge=merge_filling_the_disk_at(OTHER))
    with pytest.raises(OSError):
        run_all(make_cfg())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["stages"]["merge"]["sequences"]) == {SEQ}  # the finished one only
    assert sorted(p.name for p in (run_dir / "results").iterdir()) == [
        f"{SEQ}.json",
        f"{SEQ}.txt",
        "notes.txt",
    ]  # OTHER's txt without its json is gone; the user's file stays
    assert "merge" in manifest["pending"] and "eval" not in manifest["stages"]
    calls(tmp_path)
    use(monkeypatch, merge=merge_filling_the_disk_at(None))
    status = run_all(make_cfg())
    assert status["merge"] == "ran" and calls(tmp_path)[0] == f"merge:{OTHER}"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert set(manifest["stages"]["merge"]["sequences"]) == {SEQ, OTHER}


def test_a_failing_job_leaves_the_files_of_another_jobs_sequences(
    tmp_path, make_cfg, monkeypatch, two_sequences
):
    """Per-sequence jobs run side by side: a job's cleanup touches only its own sequences."""
    pipeline.run_chain(make_cfg("stage.stages=[detect,intra,embed_short,short,inter,embed_merge]"))
    other_half = tmp_path / "r" / "results" / f"{OTHER}.txt"  # the other job, mid-write
    other_half.parent.mkdir(parents=True, exist_ok=True)
    other_half.write_text("being written\n")
    use(monkeypatch, merge=merge_filling_the_disk_at(SEQ))
    with pytest.raises(OSError):
        pipeline.run_stages(make_cfg(f"data.sequences=[{SEQ}]"), ["merge"])
    assert other_half.read_text() == "being written\n"
    assert not (tmp_path / "r" / "results" / f"{SEQ}.txt").exists()


def intra_with_resume_state(seen: list):
    """An intra stage that finds (``seen``) and leaves a resume checkpoint when it crashes."""

    def intra(cfg, run):
        record_call(cfg, "intra")
        last = run.root / "checkpoints" / "intra-last.ckpt"
        seen.append(last.read_text() if last.exists() else None)
        last.parent.mkdir(parents=True, exist_ok=True)
        crash = Path(cfg.paths.output_root) / "crash_intra"
        if crash.exists():
            crash.unlink()
            last.write_text(f"max_steps {cfg.trainer.max_steps}\n")
            raise KeyboardInterrupt
        run.checkpoint("intra").write_text("weights\n")
        last.unlink(missing_ok=True)

    return intra


def test_resume_state_is_resumed_under_the_same_config_only(tmp_path, make_cfg, monkeypatch):
    seen = []
    use(monkeypatch, intra=intra_with_resume_state(seen))
    cfg = make_cfg("stage.stages=[detect,intra]")
    (tmp_path / "crash_intra").touch()
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_chain(cfg)
    pipeline.run_chain(cfg)  # the killed attempt's state, same config: resumed
    assert seen == [None, f"max_steps {cfg.trainer.max_steps}\n"]
    (tmp_path / "crash_intra").touch()
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_chain(make_cfg("stage.stages=[detect,intra]", "force=[intra]"))
    changed = make_cfg("stage.stages=[detect,intra]", "trainer.max_steps=7")
    pipeline.run_chain(changed)  # another config: its state is dropped, training starts over
    assert seen[-1] is None


def test_a_shared_detections_file_is_refused_before_any_stage_even_for_one_job(
    tmp_path, make_cfg, two_sequences
):
    for sequences in ("null", f"[{SEQ}]"):
        cfg = make_cfg(
            "detector=precomputed", "detector.path=/results/all.txt", f"data.sequences={sequences}"
        )
        with pytest.raises(ConfigError) as info:
            pipeline.run_stages(cfg, ["detect"])
        assert str(info.value) == (
            "detector.path='/results/all.txt' gives the same file /results/all.txt to sequences "
            f"{SEQ} and {OTHER}: put {{seq}} in it"
        )
    assert calls(tmp_path) == []
    cfg = make_cfg("detector=precomputed", "detector.path='/results/{seq}.txt'")
    assert pipeline.run_stages(cfg, ["detect"])["detect"] == "ran"


def test_unknown_eval_sequences_are_refused_before_any_stage(tmp_path, make_cfg):
    with pytest.raises(ConfigError, match=r"eval.sequences=\['NOPE'\]: not sequences of the"):
        run_all(make_cfg("eval.sequences=[NOPE]"))
    assert calls(tmp_path) == []
