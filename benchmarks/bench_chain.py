"""The whole ReMOTS chain at MOTS20 scale, stage by stage: wall time, frames/s, peak memory and
what bounds each stage.

The dataset is MOTS20's train split in size, made by ``remots.synthetic``: four target
sequences of MOTS20's lengths (600, 837, 525 and 900 frames: 2,862) at 1920x1080, each its own
synthetic video (seed = its number), with 17 walkers per sequence (about 9.5 ground-truth masks
a frame, about 27k in all; MOTS20 train has 26,894), walking 3-6 px a frame under a 480 px camera
pan, 20 clutter objects and the generator's defaults otherwise (two pillars, lighting and pixel
noise); the training split is one such video of 300 frames. The detections are given: the two
simulated detectors the generator writes (``det``, ``det2``), fused by the detect stage
(``detector=synthetic``, minimum area 320 px: the default's 20 px at 4x the resolution). The
sequences are generated in parallel once and kept under ``--data``.

Each stage runs in its own process, as ``track.py stage=<name>`` runs it (``pipeline.run_stages``
on one run folder), so that its peak memory is its own: the peak RSS of the stage's whole
process tree (workers included, sampled every 0.2 s), the share of the machine's cores it kept
busy, and on a GPU the peak memory torch allocated, the GPU's busy share (nvidia-smi, sampled)
and for training the data loader's share of the loop (time between the end of one batch and the
start of the next).

``--compare-serial`` runs the stages that use ``workers`` (short, merge, eval) again with
``workers=1`` (the serial code of before) and checks that they wrote the same bytes; the short
stage once more with one OpenCV and torch thread (serial on one core: OpenCV's flow and remap
otherwise spread over its own thread pool), and it measures the machine's ceiling: the flow of
one frame pair run by one process, then by ``workers`` processes at once. ``--embed-check``
times the embedding of a sequence's crops against the encoder's forward pass alone on the same
batches.

    python benchmarks/bench_chain.py                        # MOTS20 size, workers = every core
    python benchmarks/bench_chain.py --scale 0.1 --steps 60 # a quick run (286 frames)
    python benchmarks/bench_chain.py --compare-serial --embed-check
    python benchmarks/bench_chain.py --keep --force --stages short merge eval --compare-serial
    python benchmarks/bench_chain.py --model reid_seresnext50 --trainer gpu --steps 400  # GPU

The table is printed and written to ``<out>/bench_chain.md`` (``--markdown``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# MOTS20's training sequences and their lengths (2,862 frames).
MOTS20_LENGTHS = {"02": 600, "05": 837, "09": 525, "11": 900}
GENERATOR = {
    "height": 1080,
    "width": 1920,
    "num_objects": 17,
    "pan_px": 480,
    "walk_speed": [3.0, 6.0],
    "num_clutter": 20,
    "min_visible_area": 640,  # the default's 40 px at 4x the resolution
}
WORKER_STAGES = ("short", "merge", "eval")


# ---------------------------------------------------------------------------- the dataset


def _generate_one(job: tuple[str, dict]) -> dict:
    from remots.synthetic import SyntheticParams, generate_dataset

    root, knobs = job
    return generate_dataset(root, SyntheticParams(**knobs))


def dataset(
    data_dir: Path, scale: float, train_frames: int, workers: int, sequences: int | None = None
) -> tuple[Path, dict]:
    """The MOTS20-sized dataset (generated once, its videos in parallel): ``<root>/{train,
    test}/<seq>`` linked to one synthetic video per sequence, MOTS20's four lengths times
    ``scale``, or ``sequences`` videos sharing those frames (more, shorter videos generate
    faster on many cores). Returns the root and its statistics."""
    from remots.parallel import WorkerPool

    total = sum(MOTS20_LENGTHS.values())
    if sequences:
        lengths = {
            f"{k + 1:02d}": max(2, round(total * scale / sequences)) for k in range(sequences)
        }
    else:
        lengths = {k: max(2, round(v * scale)) for k, v in MOTS20_LENGTHS.items()}
    jobs = {
        f"SYN20-{k}": (
            data_dir / f"seq{k}-{n}",
            {**GENERATOR, "seed": int(k), "num_train": 0, "num_target": 1, "num_frames": n},
        )
        for k, n in lengths.items()
    }
    jobs["SYN20-TRAIN"] = (
        data_dir / f"train-{train_frames}",
        {**GENERATOR, "seed": 100, "num_train": 1, "num_target": 0, "num_frames": train_frames},
    )
    names = list(jobs)
    stats = {}
    with WorkerPool(min(workers, len(jobs))) as pool:
        for i, s in pool.map_unordered(_generate_one, [(str(f), k) for f, k in jobs.values()]):
            stats[names[i]] = s
    root = data_dir / f"mots20like-{'-'.join(f'{n}' for n in lengths.values())}-{train_frames}"
    for name, (folder, knobs) in jobs.items():
        split = "train" if knobs["num_train"] else "test"
        link = root / split / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(folder.resolve() / split / f"SYN-{split.upper()}-01")
    targets = {n: s["splits"]["test"] for n, s in stats.items() if n != "SYN20-TRAIN"}
    summary = {
        "sequences": {n: t["frames"] for n, t in sorted(targets.items())},
        "frames": sum(t["frames"] for t in targets.values()),
        "gt_masks": sum(t["gt_masks"] for t in targets.values()),
        "train_frames": stats["SYN20-TRAIN"]["splits"]["train"]["frames"],
    }
    return root, summary


# ---------------------------------------------------------------------------- measuring a stage


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc; workers of a fork server included)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


class TreeMonitor(threading.Thread):
    """Samples the RSS (sum) and CPU time of this process and its descendants."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_rss = 0
        self.cpu_ticks: dict[int, int] = {}
        self._stop_event = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def sample(self) -> None:
        rss = 0
        for pid in _descendants(os.getpid()):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                rss += int(fields[21]) * self._page
                self.cpu_ticks[pid] = int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                continue
        self.peak_rss = max(self.peak_rss, rss)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> float:
        """Stop; the CPU seconds of the tree's processes (those that ended between samples
        lose their last interval)."""
        self._stop_event.set()
        self.join()
        self.sample()
        return sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")


class GPUMonitor(threading.Thread):
    """nvidia-smi's utilisation and memory of GPU 0, sampled every 200 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.busy: list[float] = []
        self.peak_mib = 0.0
        self.proc = subprocess.Popen(
            [
                "nvidia-smi",
                "--query-gpu=utilization.gpu,memory.used",
                "--format=csv,noheader,nounits",
                "-lms",
                "200",
                "-i",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def run(self) -> None:
        for line in self.proc.stdout:
            try:
                util, mem = (float(v) for v in line.split(","))
            except ValueError:
                continue
            self.busy.append(util)
            self.peak_mib = max(self.peak_mib, mem)

    def stop(self) -> dict:
        self.proc.terminate()
        self.join(timeout=5)
        busy = sum(self.busy) / len(self.busy) / 100 if self.busy else None
        return {"gpu_busy": busy, "gpu_mem_used_gib": self.peak_mib / 1024}


LOADER_WAIT: dict = {}


def loader_wait_timer():
    """A Lightning callback (added to the training stages): the time between the end of one
    batch and the start of the next (fetching the next batch), and the loop's wall time."""
    from lightning.pytorch.callbacks import Callback

    class LoaderWaitTimer(Callback):
        def __init__(self):
            self.wait, self.batches, self.last_end, self.started = 0.0, 0, None, None

        def on_train_start(self, trainer, pl_module):
            self.started = self.last_end = time.perf_counter()

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if self.last_end is not None:
                self.wait += time.perf_counter() - self.last_end
            self.batches += 1

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.last_end = time.perf_counter()

        def on_validation_start(self, trainer, pl_module):
            self.last_end = None  # validation is not the loader's wait

        def on_validation_end(self, trainer, pl_module):
            self.last_end = time.perf_counter()

        def on_train_end(self, trainer, pl_module):
            LOADER_WAIT.update(
                loop_s=time.perf_counter() - self.started,
                loader_wait_s=self.wait,
                batches=self.batches,
            )

    return LoaderWaitTimer()


def compose_config(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    import remots.config  # noqa: F401  (the schemas)

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose("track", overrides=overrides)


def run_stage_here(stage: str, overrides: list[str], one_thread: bool = False) -> dict:
    """Run one stage in this process and measure it (the child's side of ``run_stage``);
    ``one_thread``: OpenCV and torch on one thread each (serial on one core)."""
    import logging

    from remots import config, pipeline

    if one_thread:
        import cv2
        import torch

        cv2.setNumThreads(1)
        torch.set_num_threads(1)

    if stage in ("intra", "inter"):
        overrides = [*overrides, "+callbacks.bench_timer._target_=__main__.loader_wait_timer"]
    cfg = compose_config(overrides)
    config.validate(cfg)
    run_dir = Path(cfg.paths.run_dir)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)  # logs/: never a stage output
    logging.basicConfig(
        filename=run_dir / "logs" / "bench_chain.log",
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    gpu = GPUMonitor() if shutil.which("nvidia-smi") else None
    if gpu is not None:
        gpu.start()
    tree = TreeMonitor()
    tree.start()
    t0 = time.perf_counter()
    status = pipeline.run_stages(cfg, [stage])
    wall = time.perf_counter() - t0
    cpu_s = tree.stop()
    row = {
        "stage": stage,
        "status": status[stage],
        "wall_s": wall,
        "cpu_s": cpu_s,
        "peak_rss_gib": tree.peak_rss / 2**30,
        "max_rss_self_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "cores": len(os.sched_getaffinity(0)),
    }
    if gpu is not None:
        row.update(gpu.stop())
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            row["gpu_peak_alloc_gib"] = torch.cuda.max_memory_allocated() / 2**30
    if LOADER_WAIT:
        row.update(LOADER_WAIT, batch_images=3 * int(cfg.model.data.batch_size))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    record = manifest["stages"].get(stage, {})
    outputs = dict(record.get("outputs", {}))
    for files in record.get("sequences", {}).values():
        outputs.update(files)
    row["outputs"] = outputs
    return row


def run_stage(stage: str, overrides: list[str], one_thread: bool = False) -> dict:
    """Run one stage in a fresh process; its measurements."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", stage, "--overrides-json"]
    cmd.append(json.dumps(overrides))
    if one_thread:
        cmd.append("--one-thread")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "disabled"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stdout[-3000:] + out.stderr[-6000:])
        raise SystemExit(f"stage {stage} failed (exit code {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- the ceiling


def _flow_rate(job: tuple[str, str, dict, int]) -> float:
    """Frame pairs per second of ``compute_flow`` on one thread (a worker's inner loop)."""
    import cv2

    from remots.tracking.flow import compute_flow

    cv2.setNumThreads(1)
    first, second, kwargs, pairs = job
    a, b = cv2.imread(first), cv2.imread(second)
    compute_flow(b, a, **kwargs)  # warm-up
    t0 = time.perf_counter()
    for _ in range(pairs):
        compute_flow(b, a, **kwargs)
    return pairs / (time.perf_counter() - t0)


def flow_ceiling(overrides: list[str], workers: int, pairs: int = 40) -> str:
    """The most ``workers`` processes can gain over one core on this machine: the optical flow of
    one frame pair of the dataset (the chain's flow settings, one thread), run by one process and
    then by ``workers`` processes at once (shared caches, memory bandwidth, SMT siblings and
    turbo clocks all show here)."""
    import multiprocessing

    from remots.config import typed
    from remots.stages.videos import target_videos

    cfg = compose_config(overrides)
    flow = typed(cfg.flow)
    frames = target_videos(cfg)[0].frame_paths[:2]
    job = (str(frames[0]), str(frames[1]), {"method": flow.method, **flow.kwargs()}, pairs)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        one = pool.map(_flow_rate, [job])[0]
    with ctx.Pool(workers) as pool:
        many = sum(pool.map(_flow_rate, [job] * workers))
    return (
        f"Ceiling: the flow of one 1080p frame pair ({flow.method}, {flow.kwargs()}), one thread: "
        f"{one:.1f} pairs/s in one process, {many:.1f} pairs/s in {workers} processes at once "
        f"({many / one:.2f}x): the most {workers} workers can gain over one core here."
    )


# ---------------------------------------------------------------------------- embedding check


def embed_check_here(overrides: list[str], max_crops: int) -> dict:
    """The intra encoder over the first target sequence's crops: ``embed_crops`` as the embed
    stage runs it (from the memory-mapped cache) against the forward pass alone on the same
    batches already on the device, in the same precision and memory format (only the forward
    passes are timed)."""
    import numpy as np
    import torch

    from remots.config import typed
    from remots.devices import resolve_device
    from remots.io.run_folder import RunFolder
    from remots.models.embedding import embed_crops, encoder_input, forward_settings
    from remots.stages.encoder import load_encoder
    from remots.stages.videos import target_videos

    cfg = compose_config(overrides)
    run = RunFolder(cfg.paths.run_dir)
    options = typed(cfg.model.embed)
    device = resolve_device(options.device)
    video = target_videos(cfg)[0]
    crops = np.load(run.crops(video.name), mmap_mode="r")[:max_crops]
    model = load_encoder(cfg, run, "intra")
    batch = options.batch_size

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    embed_crops(model, crops[: 2 * batch], batch_size=batch, device=device, progress=False)
    t0 = time.perf_counter()
    embed_crops(model, crops, batch_size=batch, device=device, progress=False)
    sync()
    embed_s = time.perf_counter() - t0

    model, dtype, channels_last = forward_settings(model, device)
    batches = [
        torch.from_numpy(np.array(crops[i : i + batch])).to(device)
        for i in range(0, len(crops), batch)
    ]

    # each batch made the encoder's input just before its forward pass, outside the clock: the
    # input is as fresh in the caches as embed_crops' (on the CPU a batch of inputs made long
    # before runs 20 % slower than embed_crops itself)
    forward_s = 0.0
    with torch.inference_mode():
        for k, crops_k in enumerate([*batches[:2], *batches]):
            x = encoder_input(crops_k, channels_last)
            sync()
            t0 = time.perf_counter()
            with torch.autocast(
                device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None
            ):
                model.embed(x)
            sync()
            if k >= 2:  # the first two warm up
                forward_s += time.perf_counter() - t0
    return {
        "device": str(device),
        "crops": len(crops),
        "crop_size": list(crops.shape[1:3]),
        "batch": batch,
        "precision": str(dtype).replace("torch.", "") if dtype is not None else "float32",
        "embed_img_s": len(crops) / embed_s,
        "forward_img_s": len(crops) / forward_s,
        "threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------- the table


def fmt(value, spec: str = ".1f", none: str = "") -> str:
    return none if value is None else format(value, spec)


def table(rows: list[dict], frames: int) -> str:
    head = (
        "| stage | workers | wall s | frames/s | peak RSS GiB | CPU busy | GPU peak GiB | "
        "GPU busy | loader wait | notes |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        busy = r["cpu_s"] / (r["wall_s"] * r["cores"]) if r["wall_s"] else 0.0
        wait = r["loader_wait_s"] / r["loop_s"] if r.get("loop_s") else None
        notes = r.get("notes", "")
        if r.get("loop_s"):
            img_s = r["batches"] * r["batch_images"] / r["loop_s"]
            notes = f"{r['batches']} steps, {img_s:,.0f} img/s in the loop; " + notes
        gpu_mem = r.get("gpu_peak_alloc_gib")
        lines.append(
            f"| {r['stage']} | {r['workers']} | {r['wall_s']:.1f} | {frames / r['wall_s']:.1f} | "
            f"{r['peak_rss_gib']:.2f} | {busy:.0%} of {r['cores']} | {fmt(gpu_mem, '.2f')} | "
            f"{fmt(r.get('gpu_busy'), '.0%')} | {fmt(wait, '.0%')} | {notes.strip('; ')} |"
        )
    return "\n".join(lines)


def line_count(paths) -> int:
    return sum(sum(1 for _ in open(p, "rb")) for p in paths)


# ---------------------------------------------------------------------------- main


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="/tmp/remots-bench-chain", help="work folder")
    parser.add_argument("--data", default=None, help="dataset cache (default: <out>/data)")
    parser.add_argument("--scale", type=float, default=1.0, help="x MOTS20's sequence lengths")
    parser.add_argument("--sequences", type=int, default=None, help="default: MOTS20's four")
    parser.add_argument("--train-frames", type=int, default=300)
    parser.add_argument("--workers", type=int, default=0, help="0: every core")
    parser.add_argument("--model", default="reid_resnet18")
    parser.add_argument("--trainer", default="cpu")
    parser.add_argument("--steps", type=int, default=None, help="trainer.max_steps per phase")
    parser.add_argument("--stages", nargs="*", default=None, help="default: the whole chain")
    parser.add_argument("--compare-serial", action="store_true")
    parser.add_argument("--embed-check", action="store_true")
    parser.add_argument("--embed-crops", type=int, default=4096)
    parser.add_argument("--keep", action="store_true", help="keep the run folder (resume)")
    parser.add_argument("--force", action="store_true", help="rerun stages that are up to date")
    parser.add_argument("--markdown", default=None, help="default: <out>/bench_chain.md")
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--overrides-json", help=argparse.SUPPRESS)
    parser.add_argument("--one-thread", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:  # remots' errors (a stale or locked run folder): one line, by cli.main
        overrides = json.loads(args.overrides_json)
        if args.child == "embed-check":
            print(json.dumps(embed_check_here(overrides, args.embed_crops)))
        else:
            print(json.dumps(run_stage_here(args.child, overrides, args.one_thread)))
        return

    from remots import pipeline
    from remots.parallel import resolve_workers

    workers = resolve_workers(args.workers)
    out = Path(args.out)
    data_dir = Path(args.data) if args.data else out / "data"
    t0 = time.perf_counter()
    root, stats = dataset(data_dir, args.scale, args.train_frames, workers, args.sequences)
    print(
        f"dataset {root}: {stats['frames']} target frames {stats['sequences']}, "
        f"{stats['gt_masks']} GT masks, {stats['train_frames']} training frames "
        f"({time.perf_counter() - t0:.0f} s, generated or found)",
        flush=True,
    )
    run_dir = out / "run"
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    overrides = [
        "data=motschallenge",
        f"data.root={root}",
        "data.train_split=train",
        "data.target_split=test",
        "detector=synthetic",
        "detector.fusion.min_area=320",
        f"model={args.model}",
        f"trainer={args.trainer}",
        "trainer.enable_progress_bar=false",
        "~callbacks.progress_bar",
        "logger=none",
        f"paths.output_root={out}",
        f"paths.run_dir={run_dir}",
        "tracker.progress=false",
        *([f"trainer.max_steps={args.steps}"] if args.steps else []),
        *args.overrides,
    ]
    rows = []
    if (run_dir / "detections").is_dir():  # a kept run folder: the detect stage ran before
        stats["detections"] = line_count(sorted((run_dir / "detections").glob("*.txt")))
    for stage in args.stages or pipeline.STAGE_NAMES:
        force = [f"force=[{stage}]"] if args.force else []
        row = run_stage(stage, [*overrides, f"workers={workers}", *force])
        row["workers"] = workers
        if stage == "detect":
            detections = line_count(sorted((run_dir / "detections").glob("*.txt")))
            stats["detections"] = detections
            row["notes"] = f"{detections:,} fused detections"
        if stage in ("embed_short", "embed_merge") and stats.get("detections"):
            row["notes"] = f"{stats['detections'] / row['wall_s']:,.0f} crops/s"
        rows.append(row)
        print(table([row], stats["frames"]).splitlines()[-1], flush=True)
    ceiling = None
    if args.compare_serial:
        parallel = {r["stage"]: r for r in rows}
        # each worker stage serially; the short stage once more on one core (OpenCV's flow and
        # remap otherwise spread over its own thread pool): what the workers scale from
        runs = [(stage, False) for stage in WORKER_STAGES if stage in parallel]
        runs += [("short", True)] if "short" in parallel else []
        for stage, one_thread in runs:
            row = run_stage(
                stage, [*overrides, "workers=1", f"force=[{stage}]"], one_thread=one_thread
            )
            row["workers"] = 1
            same = row["outputs"] == parallel[stage]["outputs"]
            speedup = row["wall_s"] / parallel[stage]["wall_s"]
            row["notes"] = (
                f"{'one OpenCV and torch thread; ' if one_thread else ''}"
                f"{'the same bytes' if same else 'DIFFERENT FILES'} as with {workers} workers; "
                f"{workers} workers: {speedup:.2f}x this speed"
            )
            rows.append(row)
            print(table([row], stats["frames"]).splitlines()[-1], flush=True)
        if workers > 1:
            ceiling = flow_ceiling(overrides, workers)
            print(ceiling, flush=True)
    embed = None
    if args.embed_check:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "embed-check"]
        cmd += ["--embed-crops", str(args.embed_crops), "--overrides-json", json.dumps(overrides)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        embed = json.loads(done.stdout.strip().splitlines()[-1])
    text = report(args, stats, rows, embed, workers)
    if ceiling is not None:
        text += "\n\n" + ceiling
    print(text)
    markdown = Path(args.markdown) if args.markdown else out / "bench_chain.md"
    markdown.write_text(text + "\n")
    print(f"written to {markdown}")


def report(args, stats: dict, rows: list[dict], embed: dict | None, workers: int) -> str:
    import platform

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    chain = [r for r in rows if r["workers"] == workers]
    total = sum(r["wall_s"] for r in chain)
    lines = [
        f"`python benchmarks/bench_chain.py {' '.join(sys.argv[1:])}`",
        "",
        f"{len(os.sched_getaffinity(0))} cores ({platform.processor() or platform.machine()}), "
        f"GPU: {gpu}; torch {torch.__version__}; model {args.model}, trainer {args.trainer}"
        f"{f', {args.steps} steps a phase' if args.steps else ''}.",
        f"Dataset: {stats['frames']:,} target frames at 1920x1080 {stats['sequences']}, "
        f"{stats['gt_masks']:,} GT masks, {stats.get('detections', 0):,} fused detections; "
        f"{stats['train_frames']} training frames.",
        f"Whole chain: {total:.0f} s, {stats['frames'] / total:.2f} frames/s.",
        "",
        table(rows, stats["frames"]),
    ]
    if embed is not None:
        ratio = embed["embed_img_s"] / embed["forward_img_s"]
        lines += [
            "",
            f"Embedding on {embed['device']} ({embed['crops']} crops of "
            f"{embed['crop_size'][0]}x{embed['crop_size'][1]}, batch {embed['batch']}, "
            f"{embed['precision']}, {embed['threads']} threads): embed_crops "
            f"{embed['embed_img_s']:,.0f} img/s, forward alone {embed['forward_img_s']:,.0f} "
            f"img/s ({ratio:.0%}).",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    from remots import cli

    cli.main(main)  # bad overrides and remots' errors: one line, exit 2
