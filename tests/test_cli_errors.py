"""Bad config values and unusable run folders through the real CLI (``track.py`` in a
subprocess): one line on stderr naming the key or the folder, exit code 2, no traceback, and
nothing run. The cases are those of ``benchmarks/bad_inputs.py`` (which runs all of them)."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.bad_inputs import CASES, Workspace, classify

# issue 16's nonsense values, and the path and template cases
ISSUE_CONFIGS = [
    "merge.theta_t=0",
    "merge.theta_t=-3",
    "merge.theta_merge=-0.5",
    "merge.theta_merge=2",
    "tracker.theta_short=-1",
    "tracker.num_std=-3",
    "tracker.theta_short_min_pairs=-1",
    "tracker.min_iou=2",
    "trainer.max_steps=0",
    "flow.downscale=0",
    "model.data.batch_size=0",
    "detector=precomputed detector.path={",
    "detector=precomputed detector.path='{'",
    "detector=precomputed detector.path=/tmp/one_file_for_all.txt",
    "eval.sequences=[NOPE]",
    "merge.method=foo",
    "data.sequences=[../../../elsewhere/seqA]",
    "run_name=../elsewhere",
]
BY_NAME = {c.name: c for c in CASES}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("cli_errors"), memory_gb=6.0, timeout=120)
    ws.synthetic()
    return ws


def run(ws, name):
    case = BY_NAME[name]
    folder = ws.folder(hashlib.sha1(name.encode()).hexdigest()[:12])
    result = case.run(ws, folder)
    return case, folder, result


@pytest.mark.parametrize("overrides", ISSUE_CONFIGS)
def test_a_nonsense_config_value_is_one_line_naming_the_key_before_anything_runs(ws, overrides):
    case, folder, result = run(ws, overrides)
    outcome, detail = classify(case, result, folder)
    assert outcome == "clear", detail
    assert result.rc == 2 and "Traceback" not in result.stdout + result.stderr
    assert not (folder / "out" / "bench" / "detections").exists()  # no stage ran


def test_a_read_only_run_folder_is_one_line_naming_it(ws, tmp_path):
    if os.geteuid() == 0 and not ws.can_mount:
        pytest.skip("root (permissions do not bind) without permission to mount read-only")
    ws.base_run()
    for name, named in [
        ("read-only run folder", "out/bench: Read-only file system"),
        ("read-only run folder (Hydra's log inside)", "out/bench/logs: Read-only file system"),
    ]:
        if os.geteuid() == 0:
            case, folder, result = run(ws, name)
        else:  # a user cannot mount: take the write permission away instead
            case, folder, result = _without_write_permission(ws, tmp_path, name)
            named = named.replace("Read-only file system", "Permission denied")
        outcome, detail = classify(case, result, folder)
        assert outcome == "clear", detail
        assert named in result.stderr


def _without_write_permission(ws, tmp_path, name):
    folder = tmp_path / hashlib.sha1(name.encode()).hexdigest()[:12]
    folder.mkdir()
    _, args = ws.run_copy(folder)
    run_dir = folder / "out" / "bench"
    folders = [p for p in [run_dir, *run_dir.rglob("*")] if p.is_dir()]
    hydra = [] if "Hydra" in name else [f"hydra.run.dir={folder / 'hydra'}"]
    try:
        for path in folders:
            path.chmod(0o555)
        argv = ws.argv("track.py", [*args, *hydra], folder, hydra_dir=False)
        return BY_NAME[name], folder, ws.execute(argv, folder, None)
    finally:
        for path in folders:
            path.chmod(0o755)


def test_output_root_that_is_a_file_is_one_line(ws):
    case, folder, result = run(ws, "paths.output_root is a file")
    outcome, detail = classify(case, result, folder)
    assert outcome == "clear", detail


def test_the_bench_lists_every_case_once():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))
    assert set(ISSUE_CONFIGS) <= set(names)
    out = subprocess.run(
        [sys.executable, "benchmarks/bad_inputs.py", "--list"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert out.returncode == 0 and len(out.stdout.splitlines()) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [c.name for c in CASES if c.name.startswith(("disk full", "file size limit"))]
)
def test_a_full_disk_mid_chain_then_a_rerun_gives_identical_results(ws, name):
    """The run folder on a small tmpfs (or under a file-size limit) fills up at detect, crops,
    intra or inter: one line naming the file, no temporary file left; the same command with
    space gives the results of an uninterrupted run, byte for byte."""
    from benchmarks.bad_inputs import _checks

    case = BY_NAME[name]
    if case.needs_mount and not ws.can_mount:
        pytest.skip("mounting a tmpfs is not permitted here")
    _checks(ws)
    case, folder, result = run(ws, name)
    outcome, detail = classify(case, result, folder)
    assert outcome == "handled", detail
