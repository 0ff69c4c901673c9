"""Orchestration of the chain: skip, rerun on config change, reuse for sweeps, locking.

The stage functions here are fakes (``FAKES``, swapped into ``pipeline.STAGES``) that write small
deterministic files, so the manifest logic is tested in milliseconds; the real chain is tested
end to end in tests/test_end_to_end.py.
"""

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from remots import pipeline
from remots.errors import RunFolderError
from remots.io.run_folder import run_folder_lock

CONF = Path(__file__).resolve().parent.parent / "conf"


def record_call(cfg, name):
    with open(Path(cfg.paths.output_root) / "calls.log", "a") as f:
        f.write(name + "\n")


def calls(tmp_path, clear=True):
    path = tmp_path / "calls.log"
    out = path.read_text().split() if path.exists() else []
    if clear and path.exists():
        path.unlink()
    return out


def _write(cfg, run, name, files):
    crash_flag = Path(cfg.paths.output_root) / f"crash_{name}"
    if crash_flag.exists():  # simulate a kill in the middle of the stage, once
        crash_flag.unlink()
        partial = run.root / "tracklets_short" / "partial.txt"
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text("half\n")
        raise KeyboardInterrupt
    for rel in files:
        path = run.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name} {cfg.merge.get('theta_t')}\n")


def _fake(name, files):
    """A whole-run stage writing ``files``."""

    def fn(cfg, run):
        record_call(cfg, name)
        _write(cfg, run, name, files)

    return fn


def _fake_per_sequence(name, files):
    """A per-sequence stage writing ``files`` (``{seq}`` in a name: the sequence)."""

    def fn(cfg, run, videos):
        for video in videos:
            record_call(cfg, f"{name}:{video.name}")
            _write(cfg, run, name, [f.format(seq=video.name) for f in files])
            yield video.name

    return fn


FAKES = {
    "detect": _fake_per_sequence("detect", ["detections/{seq}.txt"]),
    "intra": _fake("intra", ["checkpoints/intra.ckpt"]),
    "embed_short": _fake_per_sequence("embed_short", ["features/intra/{seq}.npy"]),
    "short": _fake_per_sequence("short", ["tracklets_short/{seq}.txt"]),
    "inter": _fake("inter", ["checkpoints/inter.ckpt"]),
    "embed_merge": _fake_per_sequence("embed_merge", ["features/inter/{seq}.npy"]),
    "merge": _fake_per_sequence("merge", ["results/{seq}.txt", "results/{seq}.json"]),
    "eval": _fake("eval", ["metrics.json"]),
    "report": _fake("report", ["plots/overlays/a.jpg"]),
    "export": _fake("export", ["export/mots_png/a.png"]),
}
SEQ = "SYN-TEST-01"


def expected_calls(*names):
    stages = {s.name: s for s in pipeline.STAGES}
    return [f"{n}:{SEQ}" if stages[n].per_sequence else n for n in names]


@pytest.fixture(autouse=True)
def fake_stages(monkeypatch):
    stages = tuple(dataclasses.replace(s, run=FAKES[s.name]) for s in pipeline.STAGES)
    monkeypatch.setattr(pipeline, "STAGES", stages)


def run_all(cfg):
    return pipeline.run_stages(cfg, list(pipeline.STAGE_NAMES), chain=True)


def statuses(status):
    return [status[n] for n in pipeline.STAGE_NAMES if n in status]


def test_second_run_skips_everything(tmp_path, make_cfg):
    cfg = make_cfg()
    assert set(statuses(run_all(cfg))) == {"ran"}
    assert calls(tmp_path) == expected_calls(*pipeline.STAGE_NAMES)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    merge = manifest["stages"]["merge"]
    assert merge["sequences"][SEQ].keys() == {f"results/{SEQ}.json", f"results/{SEQ}.txt"}
    assert manifest["pending"] == {}
    assert set(statuses(run_all(cfg))) == {"skipped"}
    assert calls(tmp_path) == []


def test_changed_merge_config_reruns_merge_and_what_follows(tmp_path, make_cfg, monkeypatch):
    run_all(make_cfg())
    user_file = tmp_path / "r" / "results" / "my_notes.txt"
    user_file.write_text("mine")
    stale = tmp_path / "r" / "results" / f"{SEQ}.json"
    calls(tmp_path)
    # the merge now writes results/<seq>.txt only: the stale .json must be removed
    FAKES_TXT = dict(FAKES, merge=_fake_per_sequence("merge", ["results/{seq}.txt"]))
    stages = tuple(dataclasses.replace(s, run=FAKES_TXT[s.name]) for s in pipeline.STAGES)
    monkeypatch.setattr(pipeline, "STAGES", stages)
    status = run_all(make_cfg("merge.theta_t=30"))
    assert calls(tmp_path) == expected_calls("merge", "eval", "report", "export")
    assert status["detect"] == status["inter"] == "skipped"
    assert not stale.exists()  # recorded output of the old merge: removed
    assert user_file.read_text() == "mine"  # not written by the pipeline: kept
    assert (tmp_path / "r" / "results" / f"{SEQ}.txt").read_text() == "merge 30\n"


def test_a_key_only_a_later_stage_reads_keeps_the_intra_encoder(tmp_path, make_cfg):
    """The inter phase's epoch count is read from inter on: changing it reruns inter and what
    follows, and the intra encoder (minutes of training) is kept."""
    run_all(make_cfg())
    calls(tmp_path)
    status = run_all(make_cfg("model.data.inter_target_epochs=2.5"))
    assert calls(tmp_path) == expected_calls(
        "inter", "embed_merge", "merge", "eval", "report", "export"
    )
    assert status["intra"] == status["short"] == "skipped"


def test_a_rewritten_artifact_reruns_its_stage_and_every_stage_it_feeds(tmp_path, make_cfg):
    cfg = make_cfg()
    run_all(cfg)
    (tmp_path / "r" / "tracklets_short" / f"{SEQ}.txt").write_text("tampered\n")
    calls(tmp_path)
    run_all(cfg)
    # short reruns and writes the same bytes again, so what follows is still up to date
    assert calls(tmp_path) == expected_calls("short")
    (tmp_path / "r" / "checkpoints" / "intra.ckpt").write_text("another encoder\n")
    run_all(cfg)
    assert calls(tmp_path) == expected_calls("intra")
    run_all(make_cfg("force=[intra]"))
    assert calls(tmp_path) == expected_calls("intra")


def test_replaced_input_files_rerun_the_detect_stage(tmp_path, make_cfg, small_synthetic):
    """The manifest hashes the config; the input files are fingerprinted per sequence (size and
    mtime of frames, GT, detection files), so a replaced detections file is not reported with the
    old results."""
    cfg = make_cfg()
    run_all(cfg)
    calls(tmp_path)
    det = small_synthetic / "test" / SEQ / "det" / "det.txt"
    stat = det.stat()
    os.utime(det, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    try:
        run_all(cfg)
    finally:
        os.utime(det, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    # the fake detect writes the same bytes again: nothing after it is stale
    assert calls(tmp_path) == expected_calls("detect")


def test_inputs_that_changed_make_every_later_stage_stale(tmp_path, make_cfg, monkeypatch):
    """A stage whose outputs differ from last time (e.g. a retrained encoder) changes the hash of
    every stage after it: features of the old encoder are never used."""
    cfg = make_cfg()
    run_all(cfg)
    calls(tmp_path)
    retrained = dict(FAKES, intra=_fake("intra", ["checkpoints/intra.ckpt", "checkpoints/x"]))
    stages = tuple(dataclasses.replace(s, run=retrained[s.name]) for s in pipeline.STAGES)
    monkeypatch.setattr(pipeline, "STAGES", stages)
    run_all(make_cfg("force=[intra]"))
    assert calls(tmp_path) == expected_calls(*pipeline.STAGE_NAMES[1:])


def test_a_single_stage_refuses_stale_inputs_and_names_the_stage_to_run(
    tmp_path, make_cfg, monkeypatch
):
    run_all(make_cfg())
    calls(tmp_path)
    retrained = dict(FAKES, intra=_fake("intra", ["checkpoints/intra.ckpt", "checkpoints/x"]))
    stages = tuple(dataclasses.replace(s, run=retrained[s.name]) for s in pipeline.STAGES)
    monkeypatch.setattr(pipeline, "STAGES", stages)
    assert pipeline.run_stages(make_cfg("force=[intra]"), ["intra"])["intra"] == "ran"
    with pytest.raises(RunFolderError, match=r"stage embed_short is out of date.*`stage=embed"):
        pipeline.run_stages(make_cfg(), ["short"])
    assert pipeline.run_stages(make_cfg(), ["embed_short"])["embed_short"] == "ran"
    assert pipeline.run_stages(make_cfg(), ["short"])["short"] == "ran"
    assert calls(tmp_path) == expected_calls("intra", "embed_short", "short")


def test_interrupted_stage_is_resumed_and_its_partial_outputs_recorded(tmp_path, make_cfg):
    cfg = make_cfg()
    (tmp_path / "crash_short").touch()
    with pytest.raises(KeyboardInterrupt):
        run_all(cfg)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert "short" in manifest["pending"]
    assert manifest["stages"]["short"]["sequences"] == {}
    calls(tmp_path)
    run_all(make_cfg())
    assert calls(tmp_path) == expected_calls(*pipeline.STAGE_NAMES[3:])
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    # the file the crashed attempt wrote (and the rerun left alone) belongs to short
    assert "tracklets_short/partial.txt" in manifest["stages"]["short"]["outputs"]


def test_per_sequence_jobs_fill_one_record(tmp_path, make_cfg, small_synthetic):
    """Two single-sequence jobs of the detect stage (as Hydra's joblib launcher runs them) add
    their sequences to one record, which a whole-chain run then finds complete."""
    other = small_synthetic / "test" / "SYN-TEST-02"
    shutil.copytree(small_synthetic / "test" / SEQ, other)
    try:
        for seq in (SEQ, "SYN-TEST-02"):
            pipeline.run_stages(make_cfg(f"data.sequences=[{seq}]"), ["detect"])
        manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
        assert set(manifest["stages"]["detect"]["sequences"]) == {SEQ, "SYN-TEST-02"}
        assert manifest["stages"]["detect"]["sequences"][SEQ] == {
            f"detections/{SEQ}.txt": manifest["stages"]["detect"]["sequences"][SEQ][
                f"detections/{SEQ}.txt"
            ]
        }
        calls(tmp_path)
        assert run_all(make_cfg())["detect"] == "skipped"
    finally:
        shutil.rmtree(other)


def test_sweep_job_reuses_the_base_run_up_to_the_first_changed_stage(tmp_path, make_cfg):
    run_all(make_cfg())
    calls(tmp_path)
    job = make_cfg("paths.run_dir=" + str(tmp_path / "job1"), "merge.theta_t=5")
    job.stage.reuse_from = str(tmp_path / "r")
    status = run_all(job)
    assert statuses(status) == ["reused"] * 6 + ["ran"] * 4
    assert calls(tmp_path) == expected_calls("merge", "eval", "report", "export")
    a = tmp_path / "r" / "detections" / f"{SEQ}.txt"
    b = tmp_path / "job1" / "detections" / f"{SEQ}.txt"
    assert a.stat().st_ino == b.stat().st_ino  # hard link, no copy


def test_a_second_run_on_a_locked_folder_refuses(tmp_path, make_cfg):
    cfg = make_cfg()
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


def test_stale_temp_files_of_a_killed_write_are_removed(tmp_path, make_cfg):
    cfg = make_cfg("stage.stages=[detect]")
    stale = tmp_path / "r" / "detections" / ".a.txt.abc123.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_text("half")
    pipeline.run_chain(cfg)
    assert not stale.exists()


def test_artifacts_are_attributed_to_their_sequence_by_name():
    names = ["A", "A.1", "SEQ"]
    assert pipeline.sequence_of("detections/A.txt", names) == "A"
    assert pipeline.sequence_of("detections/A.1.txt", names) == "A.1"
    assert pipeline.sequence_of("detections/A.seeds.json", names) == "A"
    assert pipeline.sequence_of("plots/theta_short_SEQ.png", names) == "SEQ"
    assert pipeline.sequence_of("crops/train-SEQ.npy", names) is None
    assert pipeline.sequence_of("metrics.json", names) is None


def test_sequences_finishing_out_of_order_are_each_recorded_with_their_files(
    tmp_path, make_cfg, small_synthetic, monkeypatch
):
    """Sequences run side by side (``workers``) finish in any order: the second name yielded
    gets the files its sequence wrote before the first name came, even with timestamps older
    than the stage's start (a coarse file-system clock, another process's writes)."""
    other = small_synthetic / "test" / "SYN-TEST-02"
    shutil.copytree(small_synthetic / "test" / SEQ, other)

    def both_then_reversed(cfg, run, videos):
        for video in videos:
            _write(cfg, run, "short", [f"tracklets_short/{video.name}.txt"])
            path = run.root / "tracklets_short" / f"{video.name}.txt"
            os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # long before the stage began
        for video in reversed(videos):
            yield video.name

    stages = tuple(
        dataclasses.replace(s, run=both_then_reversed) if s.name == "short" else s
        for s in pipeline.STAGES
    )
    monkeypatch.setattr(pipeline, "STAGES", stages)
    try:
        run_all(make_cfg())
        manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
        recorded = manifest["stages"]["short"]["sequences"]
        assert {name: list(files) for name, files in recorded.items()} == {
            "SYN-TEST-02": ["tracklets_short/SYN-TEST-02.txt"],
            SEQ: [f"tracklets_short/{SEQ}.txt"],
        }
        assert manifest["pending"] == {}
    finally:
        shutil.rmtree(other)
