"""The whole ReMOTS chain in one command: detect -> intra -> short -> inter -> merge -> eval.

Resumable: ``<run_dir>/manifest.json`` records, for every finished stage, a hash of the config
that produced it (chained: a stage's hash covers every stage before it) and the SHA-256 of every
file it wrote. A stage whose hash matches and whose files are intact is skipped. A stage whose
config changed has its recorded files (and only those: a rerun never deletes what it did not
write) removed before it runs again, and so has every stage after it. A run killed at any moment
restarts the unfinished stage; stages write atomically and deterministically, so the finished run
is byte-identical to an uninterrupted one.

Sweeps reuse work: with ``stage.reuse_from`` pointing at another run folder, the leading stages
whose hashes match that run's manifest are hard-linked from it instead of recomputed, so a sweep
over merge parameters trains the encoder once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

from remots.artifacts import RunFolder
from remots.io.atomic import atomic_write_json
from remots.runlock import run_folder_lock

log = logging.getLogger(__name__)

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
MANIFEST_VERSION = 1
# Paths inside a run folder that are never stage outputs.
NOT_OUTPUTS = ("logs", "wandb", "csv", "lightning_logs", ".locks", ".lock", "manifest.json")
# Config keys that change how a stage runs, never what it writes.
RUN_ONLY_KEYS = {"overwrite", "resume", "num_workers", "progress", "reuse_from", "device"}


@dataclass(frozen=True)
class StageSpec:
    name: str
    config_keys: tuple[str, ...]  # the top-level config nodes whose values the stage depends on


STAGES = (
    StageSpec("detect", ("data", "detector")),
    StageSpec("intra", ("model", "trainer", "callbacks", "seed")),
    StageSpec("short", ("flow", "tracker")),
    StageSpec("inter", ()),
    StageSpec("merge", ("merge",)),
    StageSpec("eval", ("eval",)),
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def stage_config(cfg: DictConfig, name: str) -> DictConfig:
    """The config a single stage sees: ``cfg`` with ``stage`` replaced by ``conf/stage/<name>.yaml``
    merged with any ``stage.overrides.<name>`` of the chain's config."""
    path = CONF_DIR / "stage" / f"{name}.yaml"
    node = OmegaConf.load(path) if path.is_file() else OmegaConf.create({"name": name})
    overrides = cfg.stage.get("overrides", {}).get(name)
    if overrides:
        node = OmegaConf.merge(node, overrides)
    sub = cfg.copy()
    with open_dict(sub):
        sub.stage = node
    return sub


def _strip_run_only(obj):
    if isinstance(obj, dict):
        return {k: _strip_run_only(v) for k, v in obj.items() if k not in RUN_ONLY_KEYS}
    if isinstance(obj, list):
        return [_strip_run_only(v) for v in obj]
    return obj


def stage_hash(cfg: DictConfig, spec: StageSpec, previous: str) -> str:
    """SHA-256 over the previous stage's hash, the stage's own node and the config nodes it
    depends on, resolved, with the run folder's path masked (so a sweep job can reuse a base run's
    artifacts) and run-only keys (overwrite, resume, ...) left out."""
    parts = {"previous": previous, "stage": OmegaConf.to_container(cfg.stage, resolve=True)}
    for key in spec.config_keys:
        value = cfg.get(key)
        parts[key] = (
            OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value
        )
    text = json.dumps(_strip_run_only(parts), sort_keys=True, default=str)
    text = text.replace(str(Path(cfg.paths.run_dir)), "<run_dir>")
    return hashlib.sha256(text.encode()).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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
            if rel in NOT_OUTPUTS or (f.startswith(".") and ".tmp" in f):
                continue
            st = os.stat(Path(dirpath) / f)
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def _remove_stale_temp_files(root: Path) -> None:
    """Temporary files of atomic writes interrupted by a kill (``.<name>.<random>.tmp``)."""
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            if f.startswith(".") and ".tmp" in f:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(Path(dirpath) / f)


class Manifest:
    """``manifest.json``: each stage's hash and outputs, and the run's inputs and versions."""

    def __init__(self, run: RunFolder):
        self.path = run.manifest()
        self.data = {"version": MANIFEST_VERSION, "stages": {}, "pending": None}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text())
            except json.JSONDecodeError:
                log.warning("%s is not valid JSON; every stage will run again", self.path)
                loaded = None
            if isinstance(loaded, dict) and loaded.get("version") == MANIFEST_VERSION:
                self.data = loaded

    @property
    def stages(self) -> dict:
        return self.data["stages"]

    def owned_by_others(self, name: str) -> set[str]:
        return {f for s, rec in self.stages.items() if s != name for f in rec["outputs"]}

    def save(self) -> None:
        atomic_write_json(self.path, self.data)


def _intact(root: Path, record: dict) -> bool:
    for rel, digest in record["outputs"].items():
        path = root / rel
        if not path.is_file() or sha256_file(path) != digest:
            log.info("artifact %s is missing or changed", path)
            return False
    return True


def _remove_outputs(root: Path, record: dict) -> None:
    for rel in record["outputs"]:
        with contextlib.suppress(FileNotFoundError):
            (root / rel).unlink()


def _reuse(base_root: Path, root: Path, name: str, digest: str, manifest: Manifest) -> bool:
    """Hard-link (or copy) a stage's outputs from a base run whose manifest has the same hash."""
    base = Manifest(RunFolder(base_root))
    record = base.stages.get(name)
    if record is None or record["hash"] != digest or not _intact(base_root, record):
        return False
    for rel in record["outputs"]:
        dst = root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            dst.unlink()
        try:
            os.link(base_root / rel, dst)
        except OSError:
            shutil.copy2(base_root / rel, dst)
    manifest.stages[name] = {"hash": digest, "outputs": dict(record["outputs"]), "reused": True}
    manifest.save()
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


def run_stages(cfg: DictConfig, stages: list[str]) -> dict[str, str]:
    """Run (or skip) the named stages in chain order; returns ``{stage: "ran"|"skipped"|"reused"}``.

    Holds the run folder's exclusive lock throughout.
    """
    from hydra.utils import get_method

    unknown = [s for s in stages if s not in STAGE_NAMES]
    if unknown:
        from remots.errors import ConfigError

        raise ConfigError(f"unknown stage(s) {unknown}; the chain is {list(STAGE_NAMES)}")
    run = RunFolder(cfg.paths.run_dir)
    run.root.mkdir(parents=True, exist_ok=True)
    reuse_from = cfg.stage.get("reuse_from")
    reuse_root = Path(reuse_from) if reuse_from else None
    if reuse_root is not None and reuse_root.resolve() == run.root.resolve():
        reuse_root = None
    status: dict[str, str] = {}
    with run_folder_lock(run.root, "all"):
        _remove_stale_temp_files(run.root)
        manifest = Manifest(run)
        manifest.data["inputs"] = {
            "data": OmegaConf.to_container(cfg.data, resolve=True),
            "run_dir": str(run.root),
        }
        manifest.data["versions"] = _versions()
        previous = ""
        reusing = reuse_root is not None
        for spec in STAGES:
            if spec.name not in stages:
                continue
            scfg = stage_config(cfg, spec.name)
            digest = stage_hash(scfg, spec, previous)
            previous = digest
            record = manifest.stages.get(spec.name)
            if record is not None and record["hash"] == digest and _intact(run.root, record):
                log.info("stage %s: up to date, skipped", spec.name)
                status[spec.name] = "skipped"
                continue
            if record is not None:
                _remove_outputs(run.root, record)
                del manifest.stages[spec.name]
                manifest.save()
            if reusing and _reuse(reuse_root, run.root, spec.name, digest, manifest):
                status[spec.name] = "reused"
                continue
            reusing = False
            pending = manifest.data.get("pending")
            if not pending or pending.get("stage") != spec.name or pending.get("hash") != digest:
                pending = {"stage": spec.name, "hash": digest, "started_ns": time.time_ns()}
                manifest.data["pending"] = pending
                manifest.save()
            before = _files(run.root)
            log.info("stage %s: running", spec.name)
            t0 = time.perf_counter()
            get_method(scfg.stage.fn)(scfg)
            elapsed = time.perf_counter() - t0
            after = _files(run.root)
            others = manifest.owned_by_others(spec.name)
            outputs = sorted(
                rel
                for rel, stat in after.items()
                if rel not in others
                and (before.get(rel) != stat or stat[1] >= pending["started_ns"])
            )
            manifest.stages[spec.name] = {
                "hash": digest,
                "outputs": {rel: sha256_file(run.root / rel) for rel in outputs},
                "seconds": round(elapsed, 3),
            }
            manifest.data["pending"] = None
            manifest.save()
            log.info("stage %s: done in %.1f s, %d files", spec.name, elapsed, len(outputs))
            status[spec.name] = "ran"
    return status


def run_all(cfg: DictConfig):
    """The ``all`` stage: the chain, then the results table, overlays and plots.

    Returns the sweep objective (``cfg.eval.objective`` of the merged tracks, combined) when the
    target videos have ground truth, else None.
    """
    stages = list(cfg.stage.get("stages") or STAGE_NAMES)
    run_stages(cfg, stages)
    from remots.report import write_report

    return write_report(cfg)
