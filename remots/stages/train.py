"""``python train.py stage=intra`` and ``stage=inter``: the encoder's two fine-tuning phases
(paper, sections 2.2 and 2.4), written to ``checkpoints/{intra,inter}.ckpt``.

Both mix training-set GT triplets with target-video triplets 1:1; ``intra`` takes the target
triplets from single frames (augmented positives, same-frame negatives), ``inter`` from
temporally overlapping short-term tracklets and starts from the intra weights. An interrupted
phase resumes from ``checkpoints/<phase>-last.ckpt`` (written at every epoch end).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from remots.errors import ConfigError, InputError, StorageError, is_storage_error, storage_error
from remots.io.instances import IGNORE
from remots.io.run_folder import RunFolder
from remots.stages.encoder import build_net, crop_cache
from remots.stages.videos import target_videos, training_videos

log = logging.getLogger(__name__)


def intra(cfg: DictConfig, run: RunFolder):
    """Stage ``intra``: train the encoder on intra-frame triplets (section 2.2)."""
    return train_phase(cfg, run, "intra")


def inter(cfg: DictConfig, run: RunFolder):
    """Stage ``inter``: retrain it on inter-short-tracklet triplets (section 2.4)."""
    return train_phase(cfg, run, "inter")


def _classes(cfg) -> set[int]:
    return {int(c) for c in cfg.data.get("classes") or (1, 2)}


def training_set_crops(cfg, run: RunFolder) -> list:
    """GT crops of the training videos (cache ``crops/train-<seq>``), labels = GT obj_id (ignore
    regions and untracked classes left out of the cache)."""
    from remots.data.datamodules import SequenceCrops

    classes = _classes(cfg)
    out = []
    for video in training_videos(cfg):
        if video.gt is None:
            raise InputError(f"training sequence {video.name} has no ground truth", video.gt_path)
        gt = [i for i in video.gt if i.class_id != IGNORE and i.class_id in classes]
        cache = crop_cache(cfg, run, f"train-{video.name}", video, gt)
        out.append(SequenceCrops(video.name, cache, cache.obj_ids.copy()))
    return out


def target_crops(cfg, run: RunFolder, phase: str) -> list:
    """Crops of every detection of the target videos (cache ``crops/<seq>``, shared with the
    embed stage), labelled for the phase's sampler: 0 (intra) or the short-tracklet id (inter);
    -1 for a class not tracked or a detection in no tracklet."""
    from remots.data.datamodules import SequenceCrops

    classes = _classes(cfg)
    out = []
    for video in target_videos(cfg):
        detections = run.read_detections(video)
        cache = crop_cache(cfg, run, video.name, video, detections.instances())
        tracked = np.isin(detections.classes, list(classes))
        if phase == "intra":
            labels = np.zeros(len(detections), np.int64)
        else:
            labels = run.read_tracklet_of_detection(video, len(detections))
        labels = np.where(tracked, labels, -1)
        out.append(SequenceCrops(video.name, cache, labels))
    return out


def _instantiate_all(node) -> list:
    from hydra.utils import instantiate

    if not node:
        return []
    return [instantiate(child) for child in node.values() if child and "_target_" in child]


def _loggers(cfg: DictConfig, run: RunFolder, phase: str) -> list:
    """The configured Lightning loggers; W&B gets one run per training phase (its own step
    axis), named ``<run_name>-<phase>``, ``job_type`` the phase, grouped by the run folder as the
    other stages' W&B runs are (``remots.stages.wandb_log``)."""
    from hydra.utils import instantiate

    out = []
    for key, child in (cfg.get("logger") or {}).items():
        if not child or "_target_" not in child:
            continue
        extra = {}
        if key == "wandb":
            extra = {
                "name": f"{cfg.run_name}-{phase}",
                "job_type": phase,
                "group": child.get("group") or run.root.name,
            }
        out.append(instantiate(child, **extra))
    return out


def _finish_wandb(loggers) -> None:
    """End the phase's W&B run, so the next phase (inter after intra in ``stage=all``) starts
    its own instead of reusing this one."""
    from lightning.pytorch.loggers import WandbLogger

    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._experiment is not None:
            logger.experiment.finish()


def _atomic_checkpoint_callback(dirpath: Path, phase: str, every_n_epochs: int):
    from lightning.pytorch.callbacks import ModelCheckpoint

    class AtomicModelCheckpoint(ModelCheckpoint):
        """Writes the resume checkpoint to a temporary name and renames it into place."""

        def _save_checkpoint(self, trainer, filepath: str) -> None:
            with atomic_checkpoint(trainer, filepath) as tmp:
                super()._save_checkpoint(trainer, tmp)
            self._last_checkpoint_saved = filepath

    return AtomicModelCheckpoint(
        dirpath=str(dirpath),
        filename=f"{phase}-last",
        every_n_epochs=every_n_epochs,
        save_top_k=1,
        save_on_train_epoch_end=True,
        enable_version_counter=False,
    )


@contextlib.contextmanager
def atomic_checkpoint(trainer, filepath: str | Path) -> Iterator[str]:
    """Save a checkpoint to ``.<name>.tmp`` beside ``filepath`` (the block writes it), then rename
    it into place. A failed write (disk full, read-only) removes the temporary file and raises
    ``StorageError`` naming ``filepath``; a kill leaves a dot-temp file that the next chain run
    removes."""
    filepath = Path(filepath)
    tmp = filepath.with_name(f".{filepath.name}.tmp")
    try:
        yield str(tmp)
        trainer.strategy.barrier()
        if trainer.is_global_zero:
            os.replace(tmp, filepath)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if is_storage_error(err):  # named after the checkpoint, not fsspec's temporary file
            raise storage_error(err, filepath, prefer_path=True) from None
        if isinstance(err, RuntimeError) and "PytorchStreamWriter" in str(err):
            raise StorageError(filepath, f"cannot write the checkpoint ({err})") from None
        raise


def _resume_point(last: Path) -> str | None:
    """``last`` if it is a loadable resume checkpoint (weights-only). A truncated or damaged one
    (or one of an older remots) is set aside as ``<name>.corrupt`` with a warning, and training
    starts from the beginning; one holding foreign pickled objects is refused."""
    from remots.models.checkpoints import (
        CorruptCheckpointError,
        UnsafeCheckpointError,
        load_checkpoint,
    )

    if not last.is_file():
        return None
    try:
        load_checkpoint(last)
    except UnsafeCheckpointError as err:
        if not err.legacy:
            raise
        reason = err.reason
    except CorruptCheckpointError as err:
        reason = err.reason
    else:
        return str(last)
    aside = last.with_name(f"{last.name}.corrupt")
    os.replace(last, aside)
    log.warning(
        "%s: %s; set aside as %s, training starts again from the beginning", last, reason, aside
    )
    return None


# Warnings Lightning prints at every phase that say nothing to a user of remots:
_LIGHTNING_NOISE = (
    # checkpoints/ holds the other phase's encoder by design (inter trains beside intra.ckpt);
    # a phase writes only its own <phase>-last there
    r"Checkpoint directory .* exists and is not empty",
    # Lightning 2.6's own use of an API that torch 2.13 deprecates
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
)


def train_phase(cfg: DictConfig, run: RunFolder, phase: str):
    """Train one phase and write ``run.checkpoint(phase)``; returns the last validation triplet
    accuracy (None without validation). Resumes from ``checkpoints/<phase>-last.ckpt`` when
    ``stage.resume``."""
    import lightning as L
    import torch

    from remots.models.checkpoints import SAFE_GLOBALS

    if phase == "inter" and not run.checkpoint("intra").is_file():
        raise ConfigError(
            f"{run.checkpoint('intra')}: the intra encoder is missing (run stage=intra first)"
        )
    _tidy_lightning_logging()
    L.seed_everything(cfg.seed, workers=True)
    torch.use_deterministic_algorithms(True, warn_only=True)
    datamodule = _datamodule(cfg, run, phase)
    steps = phase_steps(cfg, datamodule, phase)
    module = _module(cfg, run, phase, datamodule.num_identities, steps)
    trainer = _trainer(cfg, run, phase, steps)
    last = run.checkpoint(f"{phase}-last")
    ckpt_path = _resume_point(last) if cfg.stage.get("resume", True) else None
    if ckpt_path:
        log.info("resuming %s from %s", phase, ckpt_path)
    # weights-only: a checkpoint holds tensors and plain values (remots.models.checkpoints)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS), warnings.catch_warnings():
            for message in _LIGHTNING_NOISE:
                warnings.filterwarnings("ignore", message=message)
            trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    finally:
        _finish_wandb(trainer.loggers)
    if trainer.interrupted:
        raise RuntimeError(f"training of {phase} was interrupted; rerun to resume from {last}")
    final = run.checkpoint(phase)
    with atomic_checkpoint(trainer, final) as tmp:
        trainer.save_checkpoint(tmp, weights_only=True)  # the encoder: no optimizer state
    if trainer.is_global_zero:
        last.unlink(missing_ok=True)
    log.info("encoder %s trained: %s", phase, final)
    acc = trainer.callback_metrics.get("val/triplet_acc")
    return None if acc is None else float(acc)


class _NoAdvert(logging.Filter):
    """Drops Lightning's advertisement for its cloud logger, printed at every phase."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip:")


def _tidy_lightning_logging() -> None:
    """One line per Lightning message, in the run's log format. The ``lightning`` package logger
    prints to a console handler of its own *and* passes the record on to the root logger
    (Hydra's console and log file): every line appeared twice. Where the root logger has
    handlers, Lightning's own console handler goes; its cloud-logger tip is filtered out."""
    package = logging.getLogger("lightning")
    if logging.getLogger().handlers:
        for handler in list(package.handlers):
            if type(handler) is logging.StreamHandler:
                package.removeHandler(handler)
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _NoAdvert) for f in rank_zero.filters):
        rank_zero.addFilter(_NoAdvert())


def phase_steps(cfg: DictConfig, datamodule, phase: str) -> int | None:
    """The phase's optimizer steps: None (``trainer.max_steps`` as configured) unless
    ``model.data.target_epochs`` is set (for the inter phase, ``inter_target_epochs`` when set),
    then ``ceil(epochs * target crops / target crops a step shows)``: a long video trains
    proportionally longer, a short one no longer than it needs. Without target crops (no triplet
    from the target videos) ``trainer.max_steps``."""
    data = cfg.model.data
    epochs = data.get("target_epochs")
    if phase == "inter" and data.get("inter_target_epochs") is not None:
        epochs = data.inter_target_epochs
    if epochs is None:
        return None
    crops, per_step = datamodule.num_target_crops, datamodule.target_views_per_step()
    if crops == 0 or per_step == 0:
        log.warning(
            "%s: no target crops to count epochs over; training trainer.max_steps=%s steps",
            phase,
            cfg.trainer.max_steps,
        )
        return None
    steps = max(1, math.ceil(float(epochs) * crops / per_step))
    log.info(
        "%s: %g epochs over %d target crops, %d a step: %d steps", phase, epochs, crops, per_step,
        steps,
    )  # fmt: skip
    return steps


def _datamodule(cfg: DictConfig, run: RunFolder, phase: str):
    """Triplet batches of the phase: GT crops of the training videos and crops of the target
    videos' detections, mixed ``model.data.ratio``."""
    from remots.data.datamodules import TripletDataModule

    data = cfg.model.data
    return TripletDataModule(
        train=training_set_crops(cfg, run),
        target=target_crops(cfg, run, phase),
        phase=phase,
        sampling=str(data.sampling),
        num_instances=int(data.num_instances),
        batch_size=int(data.batch_size),
        ratio=tuple(data.ratio),
        steps_per_epoch=int(data.steps_per_epoch),
        val_fraction=float(data.val_fraction),
        num_val_triplets=int(data.num_val_triplets),
        num_workers=int(data.num_workers),
        augment=bool(data.augment),
        erasing=float(data.erasing),
        colour_jitter=float(data.colour_jitter),
        augment_on=str(data.augment_on),
        crops_on=str(data.crops_on),
        seed=int(cfg.seed),
    )


def _module(
    cfg: DictConfig, run: RunFolder, phase: str, num_identities: int, steps: int | None = None
):
    """The LightningModule around the configured encoder; ``inter`` starts from the intra
    weights. With ``steps`` (``phase_steps``) the scheduler's warm-up and milestones, written
    for ``trainer.max_steps``, are scaled to it."""
    from hydra.utils import instantiate

    from remots.models.embedding import load_module_weights
    from remots.models.reid_module import ReIDModule

    mcfg = cfg.model
    id_loss = float(mcfg.module.id_loss_weight) > 0
    net = build_net(mcfg, seed=cfg.seed, num_identities=num_identities if id_loss else 0)
    if phase == "inter":
        load_module_weights(net, run.checkpoint("intra"), with_classifier=id_loss)
    return ReIDModule(
        net,
        optimizer=instantiate(mcfg.optimizer),
        scheduler=_scheduler(mcfg.get("scheduler"), steps, cfg.trainer.get("max_steps", -1)),
        **mcfg.module,
    )


def _scheduler(node, steps: int | None, max_steps: int):
    """The configured scheduler; its step counts scaled by ``steps / max_steps`` when the phase
    trains ``steps`` instead of ``trainer.max_steps``."""
    from hydra.utils import instantiate

    if not node:
        return None
    if steps is None or max_steps is None or max_steps <= 0:
        return instantiate(node)
    scale = steps / max_steps
    scaled = {}
    if "warmup_steps" in node:
        scaled["warmup_steps"] = max(1, round(node.warmup_steps * scale))
    if "milestones" in node:
        scaled["milestones"] = [max(1, round(m * scale)) for m in node.milestones]
    return instantiate(node, **scaled)


def _trainer(cfg: DictConfig, run: RunFolder, phase: str, steps: int | None = None):
    """The configured Lightning Trainer with its loggers, callbacks and the atomic resume
    checkpoint."""
    from hydra.utils import instantiate

    loggers = _loggers(cfg, run, phase)
    callbacks = _instantiate_all(cfg.get("callbacks"))
    if not loggers:
        from lightning.pytorch.callbacks import LearningRateMonitor

        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    every = int(cfg.stage.get("checkpoint_every", 1))
    callbacks.append(_atomic_checkpoint_callback(run.checkpoint(phase).parent, phase, every))
    extra = {} if steps is None else {"max_steps": steps}
    trainer = instantiate(
        cfg.trainer,
        logger=loggers or False,
        callbacks=callbacks,
        default_root_dir=str(run.root),
        **extra,
    )
    keep_deterministic_fast()
    return trainer


def keep_deterministic_fast() -> None:
    """Deterministic algorithms without filling new memory.

    ``trainer.deterministic=true`` (every config here) makes Lightning call
    ``torch.use_deterministic_algorithms(True)``, which by default also fills every new
    tensor's memory with NaN (integers: their maximum) so that a read of uninitialised memory
    shows. remots reads none, and PyTorch's documentation says such a program may turn the
    filling off and stay deterministic. It cost 16 % of the default encoder's CPU training
    step (3.63 against 4.27 it/s, MobileNetV2 at 128x64, batch 32, 2 cores), and the stages
    after training in the same process paid it too; the weights and results are the same bytes
    with it off."""
    import torch

    torch.utils.deterministic.fill_uninitialized_memory = False
