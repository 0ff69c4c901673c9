"""Bad inputs through the real CLI, as a hostile user would try them (issue 16): every file of
``tests/data/bad/`` where the chain reads it, broken datasets, nonsense config values and faults
(planted or damaged checkpoints, a full disk, a read-only or locked run folder, a file-size
limit, a killed run), each run as ``python track.py ...`` / ``python train.py ...`` in a
subprocess, then classified:

==============  ==========================================================================
clear           exit code 2, one line on stderr (``remots: ...``) naming what the case names
                (the file, the line or frame, the config key)
handled         a case that must work (a damaged resume checkpoint set aside, a rerun after a
                full disk): exit code 0 and its check passed (e.g. byte-identical results)
unclear         exit code 2 and one line, but it does not name what it should
traceback       a Python traceback, or killed (out of memory under the address-space cap, a signal)
silent          exit code 0 where an error was due, or a handled case whose check failed
code ran        a planted checkpoint's pickle ran its code (the marker file appeared)
==============  ==========================================================================

    PYTHONPATH=. python benchmarks/bad_inputs.py                 # every case, the table
    PYTHONPATH=. python benchmarks/bad_inputs.py --only configs  # one group
    PYTHONPATH=. python benchmarks/bad_inputs.py --list          # the cases, not run

Every CLI run gets an address-space cap (``--memory-gb``, like ``ulimit -v``) and a time
limit. Cases needing a mount (a tmpfs that fills up, a read-only bind mount) run inside
``unshare -m`` and are skipped where mounting is not permitted (then the injected-``ENOSPC``
and file-size-limit cases still cover a full disk). The chain runs on a tiny synthetic dataset
(1 training + 2 target videos of 8 frames, 60x90) with 2 training steps per phase; a finished
base run is made once and copied for the fault cases.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad"
OUTCOMES = ("clear", "handled", "unclear", "traceback", "silent", "code ran")
GROUPS = ("readers", "datasets", "configs", "faults")

# The chain on the tiny dataset: 2 training steps per phase, small crops, 3 overlay frames.
TINY = [
    "data=motschallenge",
    "data.name=bench",
    "detector=synthetic",
    "detector.fusion.min_area=20",
    "model.data.input_size=[32,16]",
    "model.data.batch_size=4",
    "model.data.steps_per_epoch=2",
    "model.data.num_val_triplets=8",
    "model.data.val_fraction=0.5",
    "trainer.max_steps=2",
    "~callbacks.progress_bar",
    "report.overlays.max_frames=3",
]
RESULT_GLOBS = ("results/*", "tracklets_short/*", "baseline/*", "detections/*", "metrics.json")


# ---------------------------------------------------------------------------- running the CLI


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


@dataclass
class Case:
    """One bad input: ``run(ws, folder)`` prepares the case in ``folder`` and returns the
    ``Result`` of the CLI; ``names`` must all appear in the error line (``expect="error"``), or
    ``check(folder, result)`` returns None when a case that must work did (``expect="ok"``)."""

    group: str
    name: str
    run: Callable
    expect: str = "error"
    names: Callable | tuple = ()
    check: Callable | None = None
    needs_mount: bool = False
    marker: bool = False


CASES: list[Case] = []


def case(group, name, *, expect="error", names=(), check=None, needs_mount=False, marker=False):
    def register(fn):
        CASES.append(Case(group, name, fn, expect, names, check, needs_mount, marker))
        return fn

    return register


def _limits(memory_bytes: int, fsize: int | None):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        if fsize is not None:
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return apply


class Workspace:
    """The bench's temporary folder: datasets made once, a finished base run, one folder per
    case, and the CLI runner."""

    def __init__(self, root: Path, memory_gb: float, timeout: float):
        self.root = root
        self.memory = int(memory_gb * 2**30)
        self.timeout = timeout
        self.can_mount = _can_mount()

    # ------------------------------------------------------------------ running

    def argv(self, script: str, args: list[str], folder: Path, hydra_dir: bool = True) -> list:
        extra = [f"hydra.run.dir={folder / 'hydra'}"] if hydra_dir else []
        return [sys.executable, str(ROOT / script), *args, *extra]

    def cli(
        self,
        args: list[str],
        folder: Path,
        *,
        script: str = "track.py",
        hydra_dir: bool = True,
        fsize: int | None = None,
        wrapper: str | None = None,
    ) -> Result:
        """``python <script> <args>``; ``wrapper``: Python run first in the same process (a fault
        injected by patching), then the script."""
        argv = self.argv(script, args, folder, hydra_dir)
        if wrapper is not None:
            code = (
                f"import sys, runpy\nsys.path.insert(0, {str(ROOT)!r})\n{wrapper}\n"
                f"sys.argv = {argv[1:]!r}\nrunpy.run_path({argv[1]!r}, run_name='__main__')\n"
            )
            argv = [sys.executable, "-c", code]
        return self.execute(argv, folder, preexec=_limits(self.memory, fsize))

    def shell(self, script: str, folder: Path) -> Result:
        """``script`` (sh) in a private mount namespace; it may call ``$CLI`` words built by
        ``argv``."""
        return self.execute(["unshare", "-m", "sh", "-c", script], folder, preexec=None)

    def execute(self, argv: list, folder: Path, preexec) -> Result:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WANDB_MODE": "disabled",
            "OMP_NUM_THREADS": "1",
            "PYTHONHASHSEED": "0",
        }
        out, err = folder / "stdout.txt", folder / "stderr.txt"
        t0 = time.perf_counter()
        with open(out, "w") as fo, open(err, "w") as fe:
            proc = subprocess.Popen(
                argv, stdout=fo, stderr=fe, env=env, cwd=folder, preexec_fn=preexec
            )
            try:
                _, status, usage = _wait4(proc.pid, self.timeout)
                rc = os.waitstatus_to_exitcode(status)
            except TimeoutError:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                rc = 124
            proc.returncode = rc
        return Result(
            rc,
            out.read_text(errors="replace"),
            err.read_text(errors="replace"),
            time.perf_counter() - t0,
            usage.ru_maxrss / 1024,
        )

    # ------------------------------------------------------------------ material

    def folder(self, name: str) -> Path:
        path = self.root / "cases" / name
        path.mkdir(parents=True)
        return path

    def synthetic(self) -> Path:
        """1 training + 2 target videos, 8 frames of 60x90, GT and two detectors' files."""
        root = self.root / "synthetic"
        if not (root / "COMPLETE").is_file():
            from remots.synthetic import SyntheticParams, generate_dataset

            params = SyntheticParams(
                num_train=1,
                num_target=2,
                num_frames=8,
                height=60,
                width=90,
                num_objects=4,
                entry_fraction=0.0,
                num_occluders=0,
            )
            generate_dataset(root, params)
        return root

    def data_copy(self, folder: Path) -> Path:
        data = folder / "data"
        shutil.copytree(self.synthetic(), data)
        return data

    def chain_args(self, data: Path, output_root: Path) -> list[str]:
        return ["stage=all", *TINY, f"data.root={data}", f"paths.output_root={output_root}"]

    def base_run(self) -> Path:
        """A finished chain on the synthetic dataset (``<root>/base/out/bench``)."""
        folder = self.root / "base"
        run = folder / "out" / "bench"
        if not (run / "summary.json").is_file():
            folder.mkdir(exist_ok=True)
            res = self.cli(self.chain_args(self.synthetic(), folder / "out"), folder)
            if res.rc != 0:
                raise SystemExit(f"the base run failed:\n{res.stderr[-3000:]}")
        return run

    def run_copy(self, folder: Path) -> tuple[Path, list[str]]:
        """A copy of the finished base run in ``folder/out/bench`` and the chain arguments that
        address it."""
        out = folder / "out"
        shutil.copytree(self.base_run().parent, out)
        return out / "bench", self.chain_args(self.synthetic(), out)

    def tiny_sequence(self, folder: Path, height: int, width: int, n: int = 3, *, gt=True):
        """A MOTSChallenge split ``<folder>/ds/test/S`` of ``n`` frames of ``height x width``
        (the geometry of the corpus files), with a GT of one object when ``gt``."""
        from remots.io.layouts import write_seqinfo
        from remots.io.mots import write_mots_txt

        seq = folder / "ds" / "test" / "S"
        (seq / "img1").mkdir(parents=True)
        rng = np.random.default_rng(0)
        for t in range(n):
            img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            cv2.imwrite(str(seq / "img1" / f"{t + 1:06d}.jpg"), img)
        write_seqinfo(seq, name="S", num_frames=n, width=width, height=height)
        if gt:
            write_mots_txt(seq / "gt" / "gt.txt", _one_object(n, height, width), frame_base=1)
        return folder / "ds"


def _wait4(pid: int, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return done, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError
        time.sleep(0.02)


def _one_object(n: int, height: int, width: int) -> list:
    from remots import masks
    from remots.io.instances import Instance

    m = np.zeros((height, width), np.uint8)
    m[: max(1, height // 2), : max(1, width // 2)] = 1
    rle = masks.encode(m)[0]
    return [Instance(t, 2001, 2, rle) for t in range(n)]


def _can_mount() -> bool:
    try:
        out = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


# ---------------------------------------------------------------------------- classifying


def error_line(res: Result) -> str | None:
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("remots: ")]
    return lines[-1] if len(lines) == 1 else None


def classify(c: Case, res: Result, folder: Path) -> tuple[str, str]:
    """(outcome, detail) of one case's result."""
    if c.marker and (folder / "marker").exists():
        return "code ran", "the planted pickle created its marker"
    text = res.stdout + res.stderr
    if "Traceback (most recent call last)" in text or res.rc not in (0, 2):
        last = [ln for ln in text.splitlines() if ln.strip()][-1:] or [""]
        return "traceback", f"rc {res.rc}: {last[0][:160]}"
    if c.expect == "ok":
        if res.rc != 0:
            return "unclear", f"refused a case that must work: {(error_line(res) or '')[:160]}"
        problem = c.check(folder, res) if c.check else None
        return ("silent", problem) if problem else ("handled", "")
    if res.rc == 0:
        return "silent", "exit 0"
    line = error_line(res)
    if line is None:
        return "unclear", "no single 'remots:' line on stderr"
    names = c.names(folder) if callable(c.names) else c.names
    missing = [n for n in names if str(n) not in line]
    if missing:
        return "unclear", f"does not name {missing}: {line[:160]}"
    return "clear", line


# ---------------------------------------------------------------------------- readers


def _results_case(name: str):
    """A bad MOTS txt as the results file the eval stage reads (GT: the tiny sequence)."""

    def run(ws: Workspace, folder: Path) -> Result:
        ds = ws.tiny_sequence(folder, 4, 6)
        results = folder / "results"
        results.mkdir()
        shutil.copy(BAD / name, results / "S.txt")
        return ws.cli(
            [
                "stage=eval",
                "data=motschallenge",
                f"data.root={ds}",
                "data.train_split=null",
                f"eval.gt_root={ds / 'test'}",
                f"eval.results_dir={results}",
                f"paths.output_root={folder / 'out'}",
            ],
            folder,
        )

    return run


def _gt_case(name: str):
    """A bad MOTS txt as the target sequence's ground truth (eval of a good results file)."""

    def run(ws: Workspace, folder: Path) -> Result:
        ds = ws.tiny_sequence(folder, 4, 6)
        from remots.io.mots import write_mots_txt

        results = folder / "results"
        write_mots_txt(results / "S.txt", _one_object(3, 4, 6), frame_base=1)
        shutil.copy(BAD / name, ds / "test" / "S" / "gt" / "gt.txt")
        return ws.cli(
            [
                "stage=eval",
                "data=motschallenge",
                f"data.root={ds}",
                "data.train_split=null",
                f"eval.results_dir={results}",
                f"paths.output_root={folder / 'out'}",
            ],
            folder,
        )

    return run


def _detections_case(path: Path, fmt: str, height: int, width: int, detector="precomputed"):
    """A bad detections file read by the detect stage (``detector.format=fmt``)."""

    def run(ws: Workspace, folder: Path) -> Result:
        ds = ws.tiny_sequence(folder, height, width, gt=False)
        det = folder / f"det{path.suffix}"
        shutil.copy(path, det)
        args = [
            "stage=detect",
            "data=motschallenge",
            f"data.root={ds}",
            "data.train_split=null",
            f"detector={detector}",
            f"detector.path={det}",
            f"paths.output_root={folder / 'out'}",
        ]
        if detector == "precomputed":
            args.append(f"detector.format={fmt}")
        return ws.cli(args, folder)

    return run


def _file_named(rel: str):
    return lambda folder: (folder / rel,)


for _path in sorted(BAD.glob("*.txt")):
    case("readers", f"results {_path.name}", names=_file_named("results/S.txt"))(
        _results_case(_path.name)
    )
    case("readers", f"gt {_path.name}", names=_file_named("ds/test/S/gt/gt.txt"))(
        _gt_case(_path.name)
    )
    # another tracker's results in refine mode are held to the MOTS format too (no overlaps,
    # ids unique per frame)
    case("readers", f"refine {_path.name}", names=_file_named("det.txt"))(
        _detections_case(_path, "mots", 4, 6, detector="refine")
    )
for _path in sorted((BAD / "coco").glob("*.json")):
    case("readers", f"coco {_path.name}", names=_file_named("det.json"))(
        _detections_case(_path, "coco", 4, 6)
    )
for _path in sorted((BAD / "mot").glob("*.txt")):
    case("readers", f"mot csv {_path.name}", names=_file_named("det.txt"))(
        _detections_case(_path, "mot", 40, 60)
    )
for _path in sorted((BAD / "trackrcnn").glob("*.txt")):
    case("readers", f"trackrcnn {_path.name}", names=_file_named("det.txt"))(
        _detections_case(_path, "trackrcnn", 4, 6)
    )


def _kitti_gt_case(name: str):
    """KITTI MOTS GT (``eval.gt_root``) without images or seqmap: its last frame would size the
    sequence."""

    def run(ws: Workspace, folder: Path) -> Result:
        ds = ws.tiny_sequence(folder, 4, 6)
        gt = folder / "kitti" / "testing" / "instances_txt" / "0000.txt"
        gt.parent.mkdir(parents=True)
        shutil.copy(BAD / "mots_unbounded" / name, gt)
        (folder / "results").mkdir()
        return ws.cli(
            [
                "stage=eval",
                "data=motschallenge",
                f"data.root={ds}",
                "data.train_split=null",
                f"eval.gt_root={folder / 'kitti' / 'testing'}",
                "eval.layout=kitti_mots",
                f"eval.results_dir={folder / 'results'}",
                f"paths.output_root={folder / 'out'}",
            ],
            folder,
        )

    return run


for _path in sorted((BAD / "mots_unbounded").glob("*.txt")):
    case(
        "readers",
        f"kitti gt {_path.name}",
        names=_file_named("kitti/testing/instances_txt/0000.txt"),
    )(_kitti_gt_case(_path.name))


def _frames_case(name: str):
    """A truncated frame in a folder of frames; background subtraction reads every frame."""

    def run(ws: Workspace, folder: Path) -> Result:
        frames = folder / "frames"
        frames.mkdir()
        ext = Path(name).suffix
        rng = np.random.default_rng(0)
        for t in range(4):
            img = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
            cv2.imwrite(str(frames / f"{t + 1:06d}{ext}"), img)
        shutil.copy(BAD / "frames" / name, frames / f"000003{ext}")
        return ws.cli(
            [
                "stage=detect",
                "data=frames",
                f"data.root={frames}",
                "detector=bgsub",
                "detector.warmup_frames=2",
                f"paths.output_root={folder / 'out'}",
            ],
            folder,
        )

    return run


for _path in sorted((BAD / "frames").iterdir()):
    case(
        "readers",
        f"frame {_path.name}",
        names=lambda folder, ext=_path.suffix: (folder / "frames" / f"000003{ext}", "frame 3"),
    )(_frames_case(_path.name))


def _seqinfo_case(name: str):
    def run(ws: Workspace, folder: Path) -> Result:
        seq = folder / "ds" / "test" / "SEQ"
        (seq / "img1").mkdir(parents=True)
        rng = np.random.default_rng(0)
        for t in range(4):
            img = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
            cv2.imwrite(str(seq / "img1" / f"{t + 1:06d}.jpg"), img)
        shutil.copy(BAD / "seqinfo" / name, seq / "seqinfo.ini")
        return ws.cli(
            [
                "stage=detect",
                "data=motschallenge",
                f"data.root={folder / 'ds'}",
                "data.train_split=null",
                "detector=bgsub",
                f"paths.output_root={folder / 'out'}",
            ],
            folder,
        )

    return run


for _path in sorted((BAD / "seqinfo").glob("*.ini")):
    case("readers", f"seqinfo {_path.name}", names=_file_named("ds/test/SEQ/seqinfo.ini"))(
        _seqinfo_case(_path.name)
    )


@case("readers", "results link to /dev/zero", names=_file_named("results/S.txt"))
def _dev_zero(ws: Workspace, folder: Path) -> Result:
    ds = ws.tiny_sequence(folder, 4, 6)
    (folder / "results").mkdir()
    (folder / "results" / "S.txt").symlink_to("/dev/zero")
    return ws.cli(
        [
            "stage=eval",
            "data=motschallenge",
            f"data.root={ds}",
            "data.train_split=null",
            f"eval.gt_root={ds / 'test'}",
            f"eval.results_dir={folder / 'results'}",
            f"paths.output_root={folder / 'out'}",
        ],
        folder,
    )


# ---------------------------------------------------------------------------- datasets


def _chain_on(mutate: Callable[[Path], None], *extra: str, stage: str = "all"):
    """The tiny chain (or ``stage``) on a copy of the synthetic dataset changed by ``mutate``."""

    def run(ws: Workspace, folder: Path) -> Result:
        data = ws.data_copy(folder)
        mutate(data)
        args = ws.chain_args(data, folder / "out")
        args[0] = f"stage={stage}"
        return ws.cli([*args, *extra], folder)

    return run


SEQ1 = "test/SYN-TEST-01"


def _rm(rel):
    return lambda data: (data / rel).unlink()


def _truncate(rel, keep=0.5):
    def mutate(data):
        path = data / rel
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])

    return mutate


def _replace_frame(rel, image):
    return lambda data: cv2.imwrite(str(data / rel), image)


def _write(rel, text):
    def mutate(data):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_text(text)

    return mutate


case("datasets", "sequence without seqinfo.ini", names=_file_named(f"data/{SEQ1}/seqinfo.ini"))(
    _chain_on(_rm(f"{SEQ1}/seqinfo.ini"), stage="detect")
)
case(
    "datasets",
    "a frame missing",
    names=lambda folder: (folder / "data" / SEQ1 / "img1/000005.jpg", "frame 5"),
)(_chain_on(_rm(f"{SEQ1}/img1/000005.jpg"), stage="detect"))
case("datasets", "a frame more than seqLength", names=_file_named(f"data/{SEQ1}/seqinfo.ini"))(
    _chain_on(
        lambda data: shutil.copy(data / SEQ1 / "img1/000008.jpg", data / SEQ1 / "img1/000009.jpg"),
        stage="detect",
    )
)
case(
    "datasets",
    "truncated JPEG in the chain",
    names=lambda folder: (folder / "data" / SEQ1 / "img1/000005.jpg", "frame 5"),
)(_chain_on(_truncate(f"{SEQ1}/img1/000005.jpg")))
case(
    "datasets",
    "a frame of another size",
    names=lambda folder: (folder / "data" / SEQ1 / "img1/000004.jpg", "frame 4"),
)(_chain_on(_replace_frame(f"{SEQ1}/img1/000004.jpg", np.zeros((30, 30, 3), np.uint8))))
case(
    "datasets",
    "an empty frame file",
    names=lambda folder: (folder / "data" / SEQ1 / "img1/000006.jpg", "frame 6"),
)(_chain_on(_truncate(f"{SEQ1}/img1/000006.jpg", 0.0)))  # a frame no stage reads (no masks)
case("datasets", "ground truth of another size", names=_file_named(f"data/{SEQ1}/gt/gt.txt"))(
    _chain_on(_write(f"{SEQ1}/gt/gt.txt", "1 2001 2 10 10 0220`0\n"), stage="eval")
)
case("datasets", "detections file missing", names=_file_named(f"data/{SEQ1}/det/det2.txt"))(
    _chain_on(_rm(f"{SEQ1}/det/det2.txt"), stage="detect")
)
case("datasets", "empty target split", names=_file_named("data/test"))(
    _chain_on(lambda data: [shutil.rmtree(p) for p in (data / "test").iterdir()], stage="detect")
)
case("datasets", "data.root missing", names=("data.root",))(
    _chain_on(lambda data: shutil.rmtree(data), stage="detect")
)
case(
    "datasets",
    "data.sequences not in the split",
    names=lambda folder: (folder / "data" / "test" / "NOPE",),
)(_chain_on(lambda data: None, "data.sequences=[NOPE]", stage="detect"))


@case("datasets", "KITTI seqmap naming ../x", names=_file_named("kitti/testing/seqmaps/t.seqmap"))
def _seqmap_path(ws: Workspace, folder: Path) -> Result:
    root = folder / "kitti" / "testing"
    (root / "seqmaps").mkdir(parents=True)
    (root / "seqmaps" / "t.seqmap").write_text("../../outside empty 0 3\n")
    ds = ws.tiny_sequence(folder, 4, 6)
    return ws.cli(
        [
            "stage=eval",
            "data=motschallenge",
            f"data.root={ds}",
            "data.train_split=null",
            f"eval.gt_root={root}",
            "eval.layout=kitti_mots",
            "eval.seqmap=seqmaps/t.seqmap",
            f"eval.results_dir={folder / 'results'}",
            f"paths.output_root={folder / 'out'}",
        ],
        folder,
    )


@case("datasets", "video file that is not a video", names=_file_named("clip.mp4"))
def _not_a_video(ws: Workspace, folder: Path) -> Result:
    (folder / "clip.mp4").write_text("not a video\n" * 10)
    return ws.cli(
        [
            "stage=detect",
            "data=video",
            f"data.root={folder / 'clip.mp4'}",
            "detector=bgsub",
            f"paths.output_root={folder / 'out'}",
        ],
        folder,
    )


@case("datasets", "truncated video file", names=_file_named("clip.avi"))
def _truncated_video(ws: Workspace, folder: Path) -> Result:
    path = folder / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(20):
        writer.write(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return ws.cli(
        [
            "stage=detect",
            "data=video",
            f"data.root={path}",
            "detector=bgsub",
            "detector.warmup_frames=2",
            f"paths.output_root={folder / 'out'}",
        ],
        folder,
    )


# ---------------------------------------------------------------------------- configs

CONFIGS = {  # override(s) -> the key the error line must name
    "merge.theta_t=0": "merge.theta_t",
    "merge.theta_t=-3": "merge.theta_t",
    "merge.theta_t=abc": "merge.theta_t",
    "merge.theta_merge=-0.5": "merge.theta_merge",
    "merge.theta_merge=2": "merge.theta_merge",
    "merge.method=foo": "merge.method",
    "merge.features=nope": "merge.features",
    "tracker.theta_short=-1": "tracker.theta_short",
    "tracker.num_std=-3": "tracker.num_std",
    "tracker.theta_short_min_pairs=-1": "tracker.theta_short_min_pairs",
    "tracker.min_iou=2": "tracker.min_iou",
    "tracker.features_phase=foo": "tracker.features_phase",
    "tracker.foo=1": "tracker.foo",
    "+tracker.foo=1": "tracker.foo",
    "trainer.max_steps=0": "trainer.max_steps",
    "flow.downscale=0": "flow.downscale",
    "flow.method=foo": "flow.method",
    "model.data.batch_size=0": "model.data.batch_size",
    "model.data.input_size=[4]": "model.data.input_size",
    "model.embed.batch_size=0": "model.embed.batch_size",
    "detector.fusion.score_threshold=2": "detector.fusion.score_threshold",
    "data.classes=[3]": "data.classes",
    "eval.objective=nope": "eval.objective",
    "eval.sequences=[NOPE]": "eval.sequences",
    "report.overlays.every=0": "report.overlays.every",
    "stage.checkpoint_every=0": "stage.checkpoint_every",
    "force=[nope]": "force",
    "stage=nope": "stage",
    "data=nope": "data",
    "run_name=../elsewhere": "run_name",
    "data.sequences=[../../../elsewhere/seqA]": "data.sequences",
    "detector=precomputed detector.path={": "detector.path",
    "detector=precomputed detector.path='{'": "detector.path",
    "detector=precomputed detector.path='{seq}/{frame}.txt'": "detector.path",
    "detector=precomputed detector.path=/tmp/one_file_for_all.txt": "detector.path",
    "detector=refine": "detector.path",
    "detector=precomputed detector.path={seq}/{frame}.txt": "detector.path",
}


def _config_case(overrides: str):
    def run(ws: Workspace, folder: Path) -> Result:
        args = ws.chain_args(ws.synthetic(), folder / "out")
        return ws.cli([*args, *overrides.split(" ")], folder)

    return run


for _overrides, _key in CONFIGS.items():
    case("configs", _overrides, names=(_key,))(_config_case(_overrides))


# ---------------------------------------------------------------------------- faults


def _results(run: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(run)): p.read_bytes() for g in RESULT_GLOBS for p in sorted(run.glob(g))
    }


def _same_as_base(ws: Workspace):
    def check(folder: Path, res: Result) -> str | None:
        got, want = _results(folder / "out" / "bench"), _results(ws.base_run())
        if got.keys() != want.keys():
            return f"files differ: {sorted(set(got) ^ set(want))[:4]}"
        diff = [k for k in got if got[k] != want[k]]
        return f"results differ from the uninterrupted run: {diff[:4]}" if diff else None

    return check


def _temp_files(run: Path) -> list[str]:
    return [str(p) for p in run.rglob("*") if p.is_file() and ".tmp" in p.name]


def _plant(path: Path, marker: Path) -> None:
    import torch

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {}, "hyper_parameters": {"x": Planted()}}, path)


def _fresh_run_with_detections(ws: Workspace, folder: Path) -> tuple[Path, list[str]]:
    """A run folder holding only the base run's detections (no manifest: nothing recorded)."""
    run = folder / "out" / "bench"
    shutil.copytree(ws.base_run() / "detections", run / "detections")
    return run, ws.chain_args(ws.synthetic(), folder / "out")


@case(
    "faults",
    "planted pickle in checkpoints/intra.ckpt (embed)",
    names=_file_named("out/bench/checkpoints/intra.ckpt"),
    marker=True,
)
def _planted_encoder(ws: Workspace, folder: Path) -> Result:
    run, args = _fresh_run_with_detections(ws, folder)
    _plant(run / "checkpoints" / "intra.ckpt", folder / "marker")
    return ws.cli(["stage=embed_short", *args[1:]], folder)


@case(
    "faults",
    "planted pickle in checkpoints/intra.ckpt (inter)",
    names=_file_named("out/bench/checkpoints/intra.ckpt"),
    marker=True,
)
def _planted_encoder_inter(ws: Workspace, folder: Path) -> Result:
    run, args = _fresh_run_with_detections(ws, folder)
    shutil.copytree(ws.base_run() / "tracklets_short", run / "tracklets_short")
    _plant(run / "checkpoints" / "intra.ckpt", folder / "marker")
    return ws.cli(["stage=inter", *args[1:]], folder, script="train.py")


def _pending_intra(run: Path) -> None:
    """Make the copied base run look killed during intra training (its resume state pending)."""
    manifest = json.loads((run / "manifest.json").read_text())
    intra = manifest["stages"]["intra"]
    manifest["stages"] = {
        "detect": manifest["stages"]["detect"],
        "intra": {"hash": intra["hash"], "previous": intra["previous"], "outputs": {}},
    }
    manifest["pending"] = {"intra": {"hash": intra["hash"], "started_ns": 0}}
    (run / "manifest.json").write_text(json.dumps(manifest))
    (run / "checkpoints" / "intra.ckpt").unlink()


@case(
    "faults",
    "planted pickle in the resume checkpoint",
    names=_file_named("out/bench/checkpoints/intra-last.ckpt"),
    marker=True,
)
def _planted_resume(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    _pending_intra(run)
    _plant(run / "checkpoints" / "intra-last.ckpt", folder / "marker")
    return ws.cli(args, folder)


def _set_aside_and_same(ws: Workspace):
    same = _same_as_base(ws)

    def check(folder: Path, res: Result) -> str | None:
        aside = folder / "out/bench/checkpoints/intra-last.ckpt.corrupt"
        if not aside.is_file() or "set aside" not in res.stdout + res.stderr:
            return "the damaged resume checkpoint was not set aside with a warning"
        return same(folder, res)

    return check


@case("faults", "truncated resume checkpoint", expect="ok", check=None)
def _truncated_resume(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    _pending_intra(run)
    last = run / "checkpoints" / "intra-last.ckpt"
    shutil.copy(ws.base_run() / "checkpoints" / "intra.ckpt", last)
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    return ws.cli(args, folder)


@case(
    "faults", "truncated encoder checkpoint", names=_file_named("out/bench/checkpoints/intra.ckpt")
)
def _truncated_encoder(ws: Workspace, folder: Path) -> Result:
    run, args = _fresh_run_with_detections(ws, folder)
    ckpt = run / "checkpoints" / "intra.ckpt"
    ckpt.parent.mkdir(parents=True)
    data = (ws.base_run() / "checkpoints" / "intra.ckpt").read_bytes()
    ckpt.write_bytes(data[: len(data) // 2])
    return ws.cli(["stage=embed_short", *args[1:]], folder)


@case("faults", "NaN features then stage=all", expect="ok")
def _nan_features(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    path = run / "features" / "intra" / "SYN-TEST-01.npy"
    features = np.load(path)
    features[0, 0] = np.nan
    np.save(path, features)
    return ws.cli(args, folder)


@case("faults", "NaN features then stage=short", names=("embed_short",))
def _nan_features_single(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    path = run / "features" / "intra" / "SYN-TEST-01.npy"
    features = np.load(path)
    features[0, 0] = np.nan
    np.save(path, features)
    return ws.cli(["stage=short", *args[1:]], folder)


@case("faults", "manifest.json not JSON", expect="ok")
def _bad_manifest(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    (run / "manifest.json").write_text("{ not json")
    return ws.cli(args, folder)


@case("faults", "a results file deleted", expect="ok")
def _deleted_results(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    (run / "results" / "SYN-TEST-02.txt").unlink()
    return ws.cli(args, folder)


@case("faults", "run folder locked by another run", names=_file_named("out/bench"))
def _locked(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return ws.cli(args, folder)
    finally:
        os.close(fd)


@case("faults", "paths.output_root is a file", names=_file_named("out"))
def _output_root_file(ws: Workspace, folder: Path) -> Result:
    (folder / "out").write_text("a file\n")
    return ws.cli(ws.chain_args(ws.synthetic(), folder / "out"), folder, hydra_dir=False)


ENOSPC_IN_MERGE = """
import errno, os
import remots.stages.merge as merge
_write = merge.write_mots_txt
def write_then_fill_the_disk(*args, **kwargs):
    _write(*args, **kwargs)
    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.fsync = full  # every later atomic write fails as on a full disk
merge.write_mots_txt = write_then_fill_the_disk
"""


def _disk_full_then_rerun(ws: Workspace):
    same = _same_as_base(ws)

    def check(folder: Path, res: Result) -> str | None:
        first = json.loads((folder / "first.json").read_text())
        line = first["line"] or ""
        if first["rc"] != 2 or first["reason"] not in line:
            return f"the full disk was not one clear error: rc {first['rc']}, {line[:120]}"
        if first["temp_files"]:
            return f"temporary files left: {first['temp_files'][:3]}"
        if first["half_written"]:
            return f"a sequence's results left half written: {first['half_written']}"
        return same(folder, res)

    return check


def _record_first(folder: Path, res: Result, run: Path) -> None:
    half = [str(p) for p in (run / "results").glob("*.txt") if not p.with_suffix(".json").is_file()]
    record = {
        "rc": res.rc,
        "line": error_line(res),
        "reason": "No space left on device",
        "temp_files": _temp_files(run),
        "half_written": half,
    }
    (folder / "first.json").write_text(json.dumps(record))


@case("faults", "ENOSPC in merge, then a rerun", expect="ok")
def _enospc_merge(ws: Workspace, folder: Path) -> Result:
    run, args = ws.run_copy(folder)
    # workers=1: the fault is patched into this process; sequences on worker processes fail the
    # same way through the runner (tests/test_pipeline_faults.py)
    first = ws.cli([*args, "force=[merge]", "workers=1"], folder, wrapper=ENOSPC_IN_MERGE)
    _record_first(folder, first, run)
    return ws.cli(args, folder)


@case("faults", "file size limit (EFBIG) during the chain, then a rerun", expect="ok")
def _efbig(ws: Workspace, folder: Path) -> Result:
    out = folder / "out"
    args = ws.chain_args(ws.synthetic(), out)
    first = ws.cli(args, folder, fsize=200_000)  # crops and checkpoints are larger
    record = {
        "rc": first.rc,
        "line": error_line(first),
        "reason": "File too large",
        "temp_files": _temp_files(out),
        "half_written": [],
    }
    (folder / "first.json").write_text(json.dumps(record))
    return ws.cli(args, folder)


def _tmpfs_script(ws: Workspace, folder: Path, size_kb: int) -> str:
    """sh: the chain with its run folder on a ``size_kb`` tmpfs, then again on a large one."""
    out = folder / "out"
    out.mkdir()
    argv = ws.argv("track.py", ws.chain_args(ws.synthetic(), out), folder)
    python = (
        f"env PYTHONPATH={ROOT} WANDB_MODE=disabled OMP_NUM_THREADS=1 PYTHONHASHSEED=0 "
        + " ".join(f"'{a}'" for a in argv)
    )
    return (
        f"set -u; mount -t tmpfs -o size={size_kb}k tmpfs {out}; "
        f"{python} > {folder}/first.out 2> {folder}/first.err; echo $? > {folder}/first.rc; "
        f"find {out} -name '*.tmp*' > {folder}/first.tmp; "
        f"mount -o remount,size=1g {out}; {python}; rc=$?; "
        f"mkdir -p {folder}/kept; cp -a {out}/bench {folder}/kept/; exit $rc"
    )


def _tmpfs_check(ws: Workspace):
    def check(folder: Path, res: Result) -> str | None:
        rc = int((folder / "first.rc").read_text())
        err = (folder / "first.err").read_text(errors="replace")
        lines = [ln for ln in err.splitlines() if ln.startswith("remots: ")]
        if rc != 2 or len(lines) != 1 or "No space left on device" not in lines[0]:
            return f"the full disk was not one clear error: rc {rc}, {lines[:1]}"
        if str(folder / "out") not in lines[0]:
            return f"the error does not name the run folder's file: {lines[0]}"
        if "Traceback" in err:
            return "a traceback on the full disk"
        if (folder / "first.tmp").read_text().strip():
            return f"temporary files left: {(folder / 'first.tmp').read_text().split()[:3]}"
        got, want = _results(folder / "kept" / "bench"), _results(ws.base_run())
        diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
        return f"results differ from the uninterrupted run: {diff[:4]}" if diff else None

    return check


def _tmpfs_size_kb(ws: Workspace, where: str) -> int:
    """A tmpfs size that fills up at ``where``, from the finished base run's file sizes (the
    encoder's checkpoint size depends on the model): during a phase its resume checkpoint and
    the final one coexist for a moment, then the resume checkpoint is removed."""
    if where in FILL_KB:
        return FILL_KB[where]
    run = ws.base_run()
    ckpt = (run / "checkpoints" / "intra.ckpt").stat().st_size
    crops = sum(f.stat().st_size for f in (run / "crops").rglob("*") if f.is_file())
    checkpoints = {"the final intra checkpoint": 1.5, "inter's checkpoints": 2.5}[where]
    return int((crops + checkpoints * ckpt) / 1024)


# where the run folder fills up: detect, the crops of intra, the final intra checkpoint (its
# resume checkpoint fits), inter's checkpoints
FILL_KB = {"detect": 8, "the crops": 100}
for _where in ("detect", "the crops", "the final intra checkpoint", "inter's checkpoints"):

    @case("faults", f"disk full at {_where} (tmpfs), then a rerun", expect="ok", needs_mount=True)
    def _tmpfs(ws: Workspace, folder: Path, where=_where) -> Result:
        return ws.shell(_tmpfs_script(ws, folder, _tmpfs_size_kb(ws, where)), folder)


def _read_only(folder_rel: str, hydra_dir: bool):
    def run(ws: Workspace, folder: Path) -> Result:
        _, args = ws.run_copy(folder)
        target = folder / folder_rel
        argv = ws.argv("track.py", args, folder, hydra_dir)
        python = f"env PYTHONPATH={ROOT} WANDB_MODE=disabled OMP_NUM_THREADS=1 " + " ".join(
            f"'{a}'" for a in argv
        )
        return ws.shell(
            f"mount --bind {target} {target} && mount -o remount,ro,bind {target} && {python}",
            folder,
        )

    return run


case("faults", "read-only run folder", names=_file_named("out/bench"), needs_mount=True)(
    _read_only("out/bench", hydra_dir=True)
)
case("faults", "read-only run folder (Hydra's log inside)", names=_file_named("out/bench/logs"),
     needs_mount=True)(_read_only("out/bench", hydra_dir=False))  # fmt: skip


@case("faults", "read-only data folder to generate into", names=("generated",), needs_mount=True)
def _read_only_data(ws: Workspace, folder: Path) -> Result:
    data = folder / "data"
    data.mkdir()
    argv = ws.argv(
        "track.py",
        ["stage=generate", "data=synthetic_tiny", f"paths.data_dir={data}",
         f"paths.output_root={folder / 'out'}"],
        folder,
    )  # fmt: skip
    python = f"env PYTHONPATH={ROOT} " + " ".join(f"'{a}'" for a in argv)
    return ws.shell(
        f"mount --bind {data} {data} && mount -o remount,ro,bind {data} && {python}", folder
    )


def _checks(ws: Workspace) -> None:
    """Attach the checks that need the workspace (the base run to compare with)."""
    same = _same_as_base(ws)
    for c in CASES:
        if c.name == "truncated resume checkpoint":
            c.check = _set_aside_and_same(ws)
        elif c.name in ("NaN features then stage=all", "manifest.json not JSON",
                        "a results file deleted"):  # fmt: skip
            c.check = same
        elif c.name.startswith(("ENOSPC", "file size limit")):
            c.check = _disk_full_then_rerun(ws)
        elif c.name.startswith("disk full"):
            c.check = _tmpfs_check(ws)


# ---------------------------------------------------------------------------- main


def run_case(ws: Workspace, c: Case, index: int) -> dict:
    folder = ws.folder(f"{index:03d}")
    try:
        res = c.run(ws, folder)
        outcome, detail = classify(c, res, folder)
        seconds, rss = res.seconds, res.max_rss_mb
    except Exception as err:  # the bench's own setup failed: report it, do not hide it
        outcome, detail, seconds, rss = "traceback", f"bench setup: {err!r}", 0.0, 0.0
    return {
        "group": c.group,
        "case": c.name,
        "outcome": outcome,
        "detail": detail,
        "seconds": round(seconds, 1),
        "max_rss_mb": round(rss),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| group | cases | " + " | ".join(OUTCOMES) + " |",
        "|---|" + "---|" * (len(OUTCOMES) + 1),
    ]
    for group in (*GROUPS, "all"):
        sel = [r for r in rows if group in ("all", r["group"])]
        if not sel:
            continue
        count = Counter(r["outcome"] for r in sel)
        cells = " | ".join(str(count.get(o, 0)) for o in OUTCOMES)
        lines.append(f"| {group} | {len(sel)} | {cells} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=GROUPS, action="append", help="run only these groups")
    parser.add_argument("-k", help="run only cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--memory-gb", type=float, default=6.0, help="address-space cap per run")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per CLI run")
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if (not args.only or c.group in args.only)]
    if args.k:
        cases = [c for c in cases if args.k in c.name]
    if args.list:
        for c in cases:
            print(f"{c.group:9} {c.expect:6} {c.name}")
        return 0
    with contextlib.ExitStack() as stack:
        if args.keep:
            root = args.keep
            shutil.rmtree(root / "cases", ignore_errors=True)
            root.mkdir(parents=True, exist_ok=True)
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bad_inputs.")))
        ws = Workspace(root, args.memory_gb, args.timeout)
        _checks(ws)
        skipped = [c for c in cases if c.needs_mount and not ws.can_mount]
        cases = [c for c in cases if c not in skipped]
        t0 = time.perf_counter()
        if any(c.group in ("faults", "datasets", "configs") for c in cases):
            ws.base_run()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            rows = list(pool.map(lambda ic: run_case(ws, ic[1], ic[0]), enumerate(cases)))
        for r in rows:
            mark = "  " if r["outcome"] in ("clear", "handled") else "!!"
            print(f"{mark} {r['outcome']:9} {r['group']:9} {r['case']}: {r['detail']}")
        print()
        print(table(rows))
        print(
            f"\n{len(rows)} cases in {time.perf_counter() - t0:.0f} s; peak RSS of a run "
            f"{max((r['max_rss_mb'] for r in rows), default=0)} MB"
            + (f"; skipped (no mount permitted): {[c.name for c in skipped]}" if skipped else "")
        )
        if args.json:
            args.json.write_text(json.dumps(rows, indent=1) + "\n")
    bad = [r for r in rows if r["outcome"] not in ("clear", "handled")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
