"""``workers``: the per-sequence stages on one and on several worker processes write the same
bytes (short tracklets, baseline, merged results, metrics), and the manifest records every
sequence although they finish out of order."""

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from remots import pipeline
from remots.synthetic import SyntheticParams, generate_dataset

CONF = str(Path(__file__).resolve().parents[2] / "conf")
STAGES = ["detect", "embed_short", "short", "embed_merge", "merge", "eval"]
COMPARED = ("tracklets_short/*", "baseline/*", "results/*", "metrics.json", "summary.json")


@pytest.fixture(scope="module")
def three_sequences(tmp_path_factory):
    """Three target videos of 30 frames at 120x200 with walkers crossing and a pillar."""
    root = tmp_path_factory.mktemp("three_sequences")
    params = SyntheticParams(
        num_train=0, num_target=3, num_frames=30, height=120, width=200, num_objects=6
    )
    generate_dataset(root, params)
    return root


def _run(tmp_path, data_root, workers):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        cfg = compose(
            "track",
            overrides=[
                "data=motschallenge",
                f"data.root={data_root}",
                "data.target_split=test",
                f"paths.run_dir={tmp_path / f'workers{workers}'}",
                f"workers={workers}",
                "tracker.features_phase=untrained",  # no training: the untrained encoder
                "merge.features=untrained",
                "tracker.use_appearance=true",  # features go to the workers too
                "tracker.theta_short_fallback=0.0",
                "tracker.baseline.use_flow=true",
                "tracker.progress=false",
                "report.overlays.enabled=false",
            ],
        )
    pipeline.run_stages(cfg, STAGES)
    run_dir = Path(cfg.paths.run_dir)
    files = {
        str(p.relative_to(run_dir)): p.read_bytes()
        for pattern in COMPARED
        for p in sorted(run_dir.glob(pattern))
    }
    return files, json.loads((run_dir / "manifest.json").read_text())


def test_one_and_several_workers_write_the_same_bytes(tmp_path, three_sequences):
    serial, serial_manifest = _run(tmp_path, three_sequences, 1)
    names = ["SYN-TEST-01", "SYN-TEST-02", "SYN-TEST-03"]
    assert {f"results/{n}.txt" for n in names} <= set(serial)
    for workers in (2, 3):
        parallel, manifest = _run(tmp_path, three_sequences, workers)
        assert parallel.keys() == serial.keys()
        for rel in serial:
            assert parallel[rel] == serial[rel], f"{rel} differs with {workers} workers"
        for stage in ("short", "merge"):  # every sequence recorded with its own files
            got, expected = manifest["stages"][stage], serial_manifest["stages"][stage]
            assert got["sequences"] == expected["sequences"]
            assert got["hash"] == expected["hash"]


def test_a_sequence_failing_on_a_worker_is_not_recorded_and_a_rerun_completes(
    tmp_path, three_sequences
):
    """One sequence's merge fails on its worker process (its results path is taken by a folder):
    the stage fails, that sequence is not recorded and has none of its files, the others' are
    recorded; with the obstacle gone a rerun writes the same bytes as an undisturbed run."""
    serial, _ = _run(tmp_path, three_sequences, 1)
    run_dir = tmp_path / "workers2"
    blocker = run_dir / "results" / "SYN-TEST-02.txt"
    blocker.mkdir(parents=True)
    with pytest.raises(IsADirectoryError, match="SYN-TEST-02"):
        _run(tmp_path, three_sequences, 2)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    recorded = manifest["stages"]["merge"]["sequences"]
    assert "SYN-TEST-02" not in recorded
    assert not (run_dir / "results" / "SYN-TEST-02.json").exists()
    for name in recorded:
        assert (run_dir / "results" / f"{name}.txt").is_file()
    assert "merge" in manifest["pending"]
    blocker.rmdir()
    parallel, manifest = _run(tmp_path, three_sequences, 2)
    assert parallel == serial
    assert "merge" not in manifest["pending"]
