"""The ReMOTS chain and its one resume system.

``STAGES`` is the one stage order::

    detect -> intra -> embed_short -> short -> inter -> embed_merge -> merge -> eval -> report
    -> export

Every stage is a function of ``remots.stages``; ``track.py stage=<name>`` and ``train.py`` run one
of them, ``stage=all`` runs the chain. Both go through ``run_stages``, which keeps
``<run_dir>/manifest.json``: for every finished stage, the hash it ran under and the SHA-256 of
every file it wrote (per sequence for the per-sequence stages: detect, embed, short, merge).

A stage's hash covers the config nodes it reads and the *digest of the stage before it* (that
stage's hash and output checksums), so anything that changes a stage's inputs, a config value
or a file an earlier stage rewrote, makes it run again, and every stage after it:

- a requested stage is skipped when its hash matches and its recorded files are intact; when
  its hash changed, the files it recorded (only those: a rerun never deletes what it did not
  write) are removed before it runs again; ``force=[name, ...]`` reruns it anyway;
- a per-sequence stage records each sequence as it finishes, so a killed run resumes at the next
  sequence, and per-sequence jobs of one stage (``data.sequences=[A]``, ``[B]``) fill one record;
- a single stage refuses to run on an earlier stage whose inputs changed since it ran (it names
  the stage to run first) or that lacks some of the selected sequences.

A run killed at any moment (even SIGKILL) restarts the unfinished stage or sequence; stages write
atomically and deterministically, so the finished run is byte-identical to an uninterrupted one.
Sweeps reuse work: with ``stage.reuse_from`` pointing at another run folder, the leading stages
whose hashes match that run's manifest are hard-linked from it instead of recomputed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from remots.config import typed
from remots.errors import ConfigError, RunFolderError, is_storage_error, storage_error
from remots.io.atomic import atomic_write_json
from remots.io.layouts import Video
from remots.io.run_folder import RunFolder, run_folder_lock, sha256_file
from remots.stages import detect, embed, evaluate, export, merge, report, short, train, videos

log = logging.getLogger(__name__)

MANIFEST_VERSION = 2
# Paths inside a run folder that are never stage outputs.
NOT_OUTPUTS = (
    "logs",
    "wandb",
    "csv",
    "lightning_logs",
    ".locks",
    ".lock",
    ".manifest.lock",
    "sweep_row.json",  # written after every chain run, for the sweep summary
)
# Suffix of a damaged file a stage set aside (a truncated resume checkpoint): kept for the user to
# look at, never an output.
SET_ASIDE = ".corrupt"
# Config keys that change how a stage runs, never what it writes.
RUN_ONLY_KEYS = {"progress", "num_workers", "workers", "device", "crops_on"}


@dataclass(frozen=True)
class Stage:
    """One stage of the chain.

    run: ``run(cfg, run_folder)`` for a whole-run stage (returns a value for sweeps or None);
        ``run(cfg, run_folder, videos)`` for a per-sequence stage, a generator that yields each
        video's name once that video's outputs are written (in any order: sequences may run
        side by side).
    config_keys: the config nodes (dotted paths) whose values the stage's outputs depend on.
    ignored_keys: dotted paths inside ``config_keys`` that the stage does not read (a later
        stage lists them in its own ``config_keys``): changing one reruns only from that stage.
    resume_files: state a killed attempt leaves to resume from (relative paths); removed when an
        attempt under another hash begins, so a run never resumes another config's state.
    """

    name: str
    run: Callable
    config_keys: tuple[str, ...]
    per_sequence: bool = False
    resume_files: tuple[str, ...] = ()
    ignored_keys: tuple[str, ...] = ()


STAGES = (
    Stage("detect", detect.detect, ("data", "detector"), per_sequence=True),
    Stage(
        "intra",
        train.intra,
        ("model", "trainer", "callbacks", "seed"),
        resume_files=("checkpoints/intra-last.ckpt",),
        # read by later stages only: a sweep over them keeps the intra encoder
        ignored_keys=(
            "model.data.inter_target_epochs",
            "model.short_term_appearance",  # resolved into tracker.use_appearance
            "model.embed",
        ),
    ),
    Stage(
        "embed_short",
        embed.embed_short,
        ("tracker.features_phase", "model.embed"),
        per_sequence=True,
    ),
    Stage("short", short.short, ("flow", "tracker"), per_sequence=True),
    Stage(
        "inter",
        train.inter,
        ("model.data.inter_target_epochs",),
        resume_files=("checkpoints/inter-last.ckpt",),
    ),
    Stage("embed_merge", embed.embed_merge, ("merge.features", "model.embed"), per_sequence=True),
    Stage("merge", merge.merge, ("merge", "seed"), per_sequence=True),
    Stage("eval", evaluate.evaluate, ("eval",)),
    Stage("report", report.report, ("report",)),
    Stage("export", export.export, ("export",)),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


# ---------------------------------------------------------------------------- hashes


def _strip_run_only(obj):
    if isinstance(obj, dict):
        return {k: _strip_run_only(v) for k, v in obj.items() if k not in RUN_ONLY_KEYS}
    if isinstance(obj, list):
        return [_strip_run_only(v) for v in obj]
    return obj


def _pop_dotted(tree: dict, path: str) -> None:
    *parents, leaf = path.split(".")
    for name in parents:
        tree = tree.get(name)
        if not isinstance(tree, dict):
            return
    tree.pop(leaf, None)


def stage_hash(cfg: DictConfig, stage: Stage, previous: str) -> str:
    """SHA-256 over the previous stage's digest, the stage's name and the config nodes it depends
    on, resolved, with the run folder's path masked (so a sweep job can reuse a base run's
    artifacts) and run-only keys (progress, workers, device) left out. A per-sequence stage
    leaves out ``data.sequences`` (which sequences run does not change what each one writes).
    The input files are the detect stage's per-sequence fingerprints (``inputs``); the stage's
    ``ignored_keys`` are left out."""
    parts: dict = {"previous": previous, "stage": stage.name}
    for key in stage.config_keys:
        value = OmegaConf.select(cfg, key)
        if isinstance(value, DictConfig):
            value = OmegaConf.to_container(value, resolve=True)
            if key == "data" and stage.per_sequence:
                value.pop("sequences", None)
            for ignored in stage.ignored_keys:
                if ignored.startswith(key + "."):
                    _pop_dotted(value, ignored[len(key) + 1 :])
        parts[key] = value
    text = json.dumps(_strip_run_only(parts), sort_keys=True, default=str)
    text = text.replace(str(Path(cfg.paths.run_dir)), "<run_dir>")
    return hashlib.sha256(text.encode()).hexdigest()


def record_digest(record: dict | None) -> str:
    """What the next stage's hash builds on: this stage's hash and every output's checksum."""
    if record is None:
        return ""
    outputs = dict(record.get("outputs", {}))
    for files in record.get("sequences", {}).values():
        outputs.update(files)
    text = json.dumps({"hash": record["hash"], "outputs": outputs}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------- the manifest


class Manifest:
    """``manifest.json``: each stage's hash and outputs, what is pending, inputs and versions.

    Every change is a read-modify-write under ``.manifest.lock`` (``update``), so per-sequence
    jobs of one stage in other processes add their sequences without losing each other's."""

    def __init__(self, run: RunFolder):
        self.path = run.manifest()
        self.lock_path = run.root / ".manifest.lock"
        self.data = self._load()

    def _load(self) -> dict:
        empty = {"version": MANIFEST_VERSION, "stages": {}, "pending": {}}
        if not self.path.is_file():
            return empty
        try:
            loaded = json.loads(self.path.read_text())
        except json.JSONDecodeError:
            log.warning("%s is not valid JSON; every stage will run again", self.path)
            return empty
        if not isinstance(loaded, dict) or loaded.get("version") != MANIFEST_VERSION:
            log.warning("%s is from another remots version; every stage will run again", self.path)
            return empty
        return loaded

    @contextlib.contextmanager
    def update(self):
        """Reload under the lock, let the caller change ``self.data``, save atomically."""
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self.data = self._load()
            yield self.data
            atomic_write_json(self.path, self.data)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def record(self, name: str) -> dict | None:
        return self.data["stages"].get(name)

    def owned_by_others(self, name: str) -> set[str]:
        return {
            rel
            for stage, rec in self.data["stages"].items()
            if stage != name
            for rel in _all_outputs(rec)
        }


def _all_outputs(record: dict) -> dict[str, str]:
    out = dict(record.get("outputs", {}))
    for files in record.get("sequences", {}).values():
        out.update(files)
    return out


_STAT_CACHE: dict[str, tuple[int, int, str]] = {}  # path -> (size, mtime_ns, sha256)


def checksum(path: Path) -> str:
    """SHA-256 of a file, read again only when its size or modification time changed since this
    process last read it (a stage checks the outputs of every stage before it: MOTS20-sized crops
    are gigabytes)."""
    st = os.stat(path)
    cached = _STAT_CACHE.get(str(path))
    if cached is not None and cached[:2] == (st.st_size, st.st_mtime_ns):
        return cached[2]
    digest = sha256_file(path)
    _STAT_CACHE[str(path)] = (st.st_size, st.st_mtime_ns, digest)
    return digest


def _intact(root: Path, outputs: dict[str, str]) -> bool:
    for rel, digest in outputs.items():
        path = root / rel
        if not path.is_file() or checksum(path) != digest:
            log.info("artifact %s is missing or changed", path)
            return False
    return True


def _remove(root: Path, outputs) -> None:
    for rel in outputs:
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()


# ---------------------------------------------------------------------------- outputs


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime_ns) of every candidate output file under ``root``."""
    out = {}
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in NOT_OUTPUTS]
        for f in filenames:
            rel = (rel_dir / f).as_posix()
            if (
                rel in NOT_OUTPUTS
                or rel == "manifest.json"
                or (f.startswith(".") and ".tmp" in f)
                or f.endswith(SET_ASIDE)
            ):
                continue
            st = os.stat(Path(dirpath) / f)
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def _new_files(before: dict, after: dict, started_ns: int, owned: set[str]) -> list[str]:
    """Files written since ``before`` (or since ``started_ns``, by an attempt that was killed),
    that no other stage owns."""
    return sorted(
        rel
        for rel, stat in after.items()
        if rel not in owned and (before.get(rel) != stat or stat[1] >= started_ns)
    )


def sequence_of(rel: str, names: list[str]) -> str | None:
    """The sequence an artifact belongs to by its file name (``<seq>.txt``, ``<seq>.seeds.json``,
    ``theta_short_<seq>.png``); the longest matching name, or None."""
    file_name = Path(rel).name
    stem = file_name.split(".", 1)[0]
    found = [
        n
        for n in names
        if file_name == n or file_name.startswith(n + ".") or stem.endswith("_" + n) or stem == n
    ]
    return max(found, key=len) if found else None


def _remove_stale_temp_files(root: Path) -> None:
    """Temporary files of atomic writes interrupted by a kill (``.<name>.<random>.tmp``)."""
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            if f.startswith(".") and ".tmp" in f:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(Path(dirpath) / f)


def _reuse(base_root: Path, root: Path, name: str, digest: str, manifest: Manifest) -> bool:
    """Hard-link (or copy) a stage's outputs from a base run whose manifest has the same hash."""
    record = Manifest(RunFolder(base_root)).record(name)
    if record is None or record["hash"] != digest or not _intact(base_root, _all_outputs(record)):
        return False
    for rel in _all_outputs(record):
        dst = root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            dst.unlink()
        try:
            os.link(base_root / rel, dst)
        except OSError:
            shutil.copy2(base_root / rel, dst)
    with manifest.update() as data:
        data["stages"][name] = {**record, "reused": True}
    log.info("stage %s: reused from %s", name, base_root)
    return True


def _versions() -> dict:
    import numpy
    import torch

    import remots

    return {
        "remots": remots.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
    }


# ---------------------------------------------------------------------------- running


class _Runner:
    """One call of ``run_stages``: the run folder, its manifest and the selected target videos."""

    def __init__(self, cfg: DictConfig, run: RunFolder, targets: list[Video]):
        self.cfg = cfg
        self.run = run
        self.manifest = Manifest(run)
        self.targets = targets
        self.names = [v.name for v in targets]
        self.force = set(cfg.get("force") or ())

    def missing_sequences(self, record: dict) -> list[str]:
        done = record.get("sequences", {})
        return [n for n in self.names if n not in done]

    def check_upstream(self, stage: Stage, record: dict | None, previous: str, wanted: str):
        """An earlier stage that is not requested: it must have run on the current inputs."""
        if record is None:
            return
        if record.get("previous") != previous or not _intact(self.run.root, _all_outputs(record)):
            raise RunFolderError(
                f"{self.run.root}: stage {stage.name} is out of date (its inputs or files changed "
                f"since it ran), and {wanted} needs it: run `stage={stage.name}` first, or "
                "stage=all"
            )
        if stage.per_sequence and self.missing_sequences(record):
            raise RunFolderError(
                f"{self.run.root}: stage {stage.name} has not run for "
                f"{self.missing_sequences(record)}, and {wanted} needs it: run "
                f"`stage={stage.name}` for them first"
            )

    def invalidate(self, stage: Stage, digest: str, previous: str) -> dict:
        """The stage's record for hash ``digest``: kept when it matches (a forced stage is reset
        once per call), else its recorded files removed and a fresh record started."""
        with self.manifest.update() as data:
            record = data["stages"].get(stage.name)
            reset = record is None or record["hash"] != digest or stage.name in self.force
            if not reset and not stage.per_sequence:
                reset = not _intact(self.run.root, _all_outputs(record))
            if reset:
                if record is not None:
                    _remove(self.run.root, _all_outputs(record))
                record = {"hash": digest, "previous": previous, "outputs": {}}
                if stage.per_sequence:
                    record["sequences"] = {}
                data["stages"][stage.name] = record
                data["pending"].pop(stage.name, None)
        self.force.discard(stage.name)
        return record

    def pending_since(self, stage: Stage, digest: str) -> int:
        """When the stage's current attempt began (an earlier, killed attempt with the same hash
        counts), to claim the files that attempt wrote."""
        with self.manifest.update() as data:
            pending = data["pending"].get(stage.name)
            if not pending or pending.get("hash") != digest:
                pending = {"hash": digest, "started_ns": time.time_ns()}
                data["pending"][stage.name] = pending
                for rel in stage.resume_files:  # another config's (or an unknown run's) state
                    if (self.run.root / rel).is_file():
                        log.info(
                            "stage %s: %s is not of this config; starting over", stage.name, rel
                        )
                        (self.run.root / rel).unlink()
        return pending["started_ns"]

    def run_whole(self, stage: Stage, digest: str, previous: str):
        started = self.pending_since(stage, digest)
        before = _files(self.run.root)
        t0 = time.perf_counter()
        value = stage.run(self.cfg, self.run)
        seconds = round(time.perf_counter() - t0, 3)
        after = _files(self.run.root)
        with self.manifest.update() as data:
            outputs = _new_files(before, after, started, self.manifest.owned_by_others(stage.name))
            data["stages"][stage.name] = {
                "hash": digest,
                "previous": previous,
                "outputs": {rel: checksum(self.run.root / rel) for rel in outputs},
                "seconds": seconds,
                "value": value if isinstance(value, int | float) else None,
            }
            data["pending"].pop(stage.name, None)
        log.info("stage %s: done in %.1f s, %d files", stage.name, seconds, len(outputs))
        return value

    def run_sequences(self, stage: Stage, digest: str, todo: list[Video]) -> None:
        started = self.pending_since(stage, digest)
        before = _files(self.run.root)
        t0 = time.perf_counter()
        try:
            for name in stage.run(self.cfg, self.run, todo):
                # ``before`` stays the snapshot taken before the stage: sequences run side by
                # side finish in any order, and the files a later one wrote meanwhile are still
                # new when its name comes (the files recorded so far are owned, so never claimed
                # twice).
                self.record_sequence(stage, name, before, started)
        except Exception:
            self.remove_partial(stage, [v.name for v in todo], before, started)
            raise
        log.info("stage %s: done in %.1f s", stage.name, time.perf_counter() - t0)

    def remove_partial(self, stage: Stage, names: list[str], before: dict, started: int) -> None:
        """After a failed sequence (a full disk, bad input): remove the files this call's
        unfinished sequences wrote without being recorded (``results/<seq>.txt`` without its
        ``.json``), so no half set of a sequence's outputs is left. Files of other sequences
        (another job's) and files another stage owns are left alone."""
        with contextlib.suppress(OSError):
            owned = self.manifest.owned_by_others(stage.name)
            record = self.manifest.record(stage.name) or {}
            owned |= set(_all_outputs(record))
            unfinished = set(names) - set(record.get("sequences", {}))
            for rel in _new_files(before, _files(self.run.root), started, owned):
                if sequence_of(rel, self.names) in unfinished:
                    log.info("stage %s: removing the unfinished %s", stage.name, rel)
                    (self.run.root / rel).unlink(missing_ok=True)

    def record_sequence(self, stage: Stage, name: str, before: dict, started: int) -> dict:
        """Record the files sequence ``name`` wrote; returns the run folder's files now."""
        after = _files(self.run.root)
        with self.manifest.update() as data:
            owned = self.manifest.owned_by_others(stage.name)
            record = data["stages"][stage.name]
            owned |= set(_all_outputs(record))
            new = _new_files(before, after, started, owned)
            mine = [rel for rel in new if sequence_of(rel, self.names) == name]
            shared = [rel for rel in new if sequence_of(rel, self.names) is None]
            record["sequences"][name] = {r: checksum(self.run.root / r) for r in mine}
            if stage.name == STAGES[0].name:
                video = next(v for v in self.targets if v.name == name)
                record.setdefault("inputs", {})[name] = videos.inputs_fingerprint(video)
            record["outputs"].update({r: checksum(self.run.root / r) for r in shared})
            if not self.missing_sequences(record):
                data["pending"].pop(stage.name, None)
        log.info("stage %s: %s done, %d files", stage.name, name, len(mine) + len(shared))
        return after

    def stage(self, stage: Stage, previous: str, reuse_root: Path | None) -> tuple[str, object]:
        """Run or skip one requested stage; returns its status and its value."""
        digest = stage_hash(self.cfg, stage, previous)
        if reuse_root is not None and stage.name not in self.force:
            if _reuse(reuse_root, self.run.root, stage.name, digest, self.manifest):
                return "reused", None
        record = self.invalidate(stage, digest, previous)
        if stage.per_sequence:
            done = record["sequences"]
            inputs = record.get("inputs", {})
            first = stage.name == STAGES[0].name
            todo = [
                v
                for v in self.targets
                if v.name not in done
                or not _intact(self.run.root, done[v.name])
                or (first and inputs.get(v.name) != videos.inputs_fingerprint(v))
            ]
            if not todo:
                log.info("stage %s: up to date, skipped", stage.name)
                return "skipped", None
            with self.manifest.update() as data:
                stale = data["stages"][stage.name]["sequences"]
                for v in todo:
                    _remove(self.run.root, stale.pop(v.name, {}))
            log.info("stage %s: running for %s", stage.name, [v.name for v in todo])
            self.run_sequences(stage, digest, todo)
            return "ran", None
        if "seconds" in record:  # finished under this hash, files intact (else reset above)
            log.info("stage %s: up to date, skipped", stage.name)
            return "skipped", record.get("value")
        log.info("stage %s: running", stage.name)
        return "ran", self.run_whole(stage, digest, previous)


def preflight(cfg: DictConfig, names: list[str], targets: list[Video]) -> None:
    """Checks of the config against the target videos, before any stage runs (``ConfigError``
    naming the key): ``eval.sequences`` are target sequences; a detections path template gives
    each sequence of the target split its own file (``{seq}`` where several share a folder; over
    the whole split, so per-sequence jobs cannot each take the same file)."""
    if "eval" in names and not cfg.eval.get("gt_root") and cfg.eval.get("sequences"):
        unknown = sorted(set(cfg.eval.sequences) - {v.name for v in targets})
        if unknown:
            raise ConfigError(
                f"eval.sequences={unknown}: not sequences of the target split "
                f"({sorted(v.name for v in targets)})"
            )
    if "detect" not in names:
        return
    detector = OmegaConf.to_container(cfg.detector, resolve=True)
    templates = dict(_templates(detector, "detector"))
    shared = {k: t for k, t in templates.items() if "{seq}" not in t}
    if not shared:
        return
    split = targets
    if cfg.data.get("sequences"):
        data = dataclasses.replace(typed(cfg.data), sequences=None)
        split = videos.load_split(data, "target", with_gt=False)
    for key, template in shared.items():
        owner: dict[str, str] = {}
        for video in split:
            seq_dir = video.extra.get("seq_dir")
            if "{seq_dir}" in template and seq_dir is None:
                continue  # the backend names the problem itself
            path = str(Path(template.format(seq_dir=seq_dir, seq=video.name)))
            first = owner.setdefault(path, video.name)
            if first != video.name:
                raise ConfigError(
                    f"{key}={template!r} gives the same file {path} to sequences {first} and "
                    f"{video.name}: put {{seq}} in it"
                )


def _templates(node, key: str):
    """(dotted key, template) of every ``path`` string in a detector config."""
    if isinstance(node, list):
        for i, child in enumerate(node):
            yield from _templates(child, f"{key}[{i}]")
    elif isinstance(node, dict):
        for name, child in node.items():
            if name == "path" and isinstance(child, str) and child != "???":
                yield f"{key}.{name}", child
            else:
                yield from _templates(child, f"{key}.{name}")


def run_stages(cfg: DictConfig, names: list[str], *, chain: bool = False) -> dict[str, str]:
    """Run (or skip) the named stages in chain order; returns ``{stage: "ran"|"skipped"|
    "reused"}``, and the last stage's value (a sweep objective, or None) under ``"value"``.

    ``chain`` (``stage=all``) holds the run folder's exclusive lock; a single stage holds it
    shared plus its own (stage, sequences) lock, so per-sequence jobs can run side by side.
    """
    unknown = [n for n in names if n not in STAGE_NAMES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; the chain is {list(STAGE_NAMES)}")
    unknown = [n for n in cfg.get("force") or () if n not in STAGE_NAMES]
    if unknown:
        raise ConfigError(f"force={unknown}: not stages of the chain {list(STAGE_NAMES)}")
    run = RunFolder(cfg.paths.run_dir)
    try:
        run.root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if is_storage_error(err):
            raise storage_error(err, run.root) from None
        raise
    sequences = cfg.data.get("sequences")
    lock = ("all", None) if chain else ("+".join(names), list(sequences) if sequences else None)
    reuse_from = cfg.stage.get("reuse_from")
    reuse_root = Path(reuse_from) if reuse_from else None
    if reuse_root is not None and reuse_root.resolve() == run.root.resolve():
        reuse_root = None
    status: dict[str, str] = {}
    with run_folder_lock(run.root, *lock):
        if chain:
            _remove_stale_temp_files(run.root)
        runner = _Runner(cfg, run, videos.target_videos(cfg))
        preflight(cfg, names, runner.targets)
        with runner.manifest.update() as data:
            data["inputs"] = {
                "data": OmegaConf.to_container(cfg.data, resolve=True),
                "run_dir": str(run.root),
            }
            data["versions"] = _versions()
        previous = ""
        last = max(STAGE_NAMES.index(n) for n in names)
        for stage in STAGES[: last + 1]:
            record = runner.manifest.record(stage.name)
            if stage.name not in names:
                wanted = ", ".join(n for n in names if STAGE_NAMES.index(n) > STAGES.index(stage))
                runner.check_upstream(stage, record, previous, wanted)
                previous = record_digest(record)
                continue
            status[stage.name], value = runner.stage(stage, previous, reuse_root)
            if status[stage.name] != "reused":
                reuse_root = None  # reuse only a leading run of unchanged stages
            status["value"] = value
            previous = record_digest(runner.manifest.record(stage.name))
    return status


def run_chain(cfg: DictConfig):
    """``stage=all``: the chain (``stage.stages`` or every stage); returns the sweep objective
    (``eval.objective`` of the merged tracks) when the target videos have ground truth."""
    names = list(cfg.stage.get("stages") or STAGE_NAMES)
    status = run_stages(cfg, names, chain=True)
    run = RunFolder(cfg.paths.run_dir)
    report.sweep_row(run)
    if run.summary_md().is_file():
        log.info(
            "results on the target videos (percent; gain over the row above):\n%s",
            run.summary_md().read_text().rstrip(),
        )
    return report.objective(cfg, run) if "report" in status else None
