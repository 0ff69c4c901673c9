"""``python train.py stage=intra`` and ``stage=inter``: the encoder's two fine-tuning phases
(paper, sections 2.2 and 2.4), written to ``checkpoints/{intra,inter}.ckpt``.

Both mix training-set GT triplets with target-video triplets 1:1; ``intra`` takes the target
triplets from single frames (augmented positives, same-frame negatives), ``inter`` from
temporally overlapping short-term tracklets and starts from the intra weights. An interrupted
phase resumes from ``checkpoints/<phase>-last.ckpt`` (written at every epoch end).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from remots.errors import ConfigError, InputError
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
            tmp = f"{filepath}.tmp"
            super()._save_checkpoint(trainer, tmp)
            trainer.strategy.barrier()
            if trainer.is_global_zero:
                os.replace(tmp, filepath)
            self._last_checkpoint_saved = filepath

    return AtomicModelCheckpoint(
        dirpath=str(dirpath),
        filename=f"{phase}-last",
        every_n_epochs=every_n_epochs,
        save_top_k=1,
        save_on_train_epoch_end=True,
        enable_version_counter=False,
    )


def train_phase(cfg: DictConfig, run: RunFolder, phase: str):
    """Train one phase and write ``run.checkpoint(phase)``; returns the last validation triplet
    accuracy (None without validation). Resumes from ``checkpoints/<phase>-last.ckpt`` when
    ``stage.resume``."""
    import lightning as L
    import torch

    if phase == "inter" and not run.checkpoint("intra").is_file():
        raise ConfigError(
            f"{run.checkpoint('intra')}: the intra encoder is missing (run stage=intra first)"
        )
    L.seed_everything(cfg.seed, workers=True)
    torch.use_deterministic_algorithms(True, warn_only=True)
    datamodule = _datamodule(cfg, run, phase)
    module = _module(cfg, run, phase, datamodule.num_identities)
    trainer = _trainer(cfg, run, phase)
    last = run.checkpoint(f"{phase}-last")
    ckpt_path = str(last) if cfg.stage.get("resume", True) and last.is_file() else None
    if ckpt_path:
        log.info("resuming %s from %s", phase, ckpt_path)
    # our own checkpoint: its hyper-parameters hold functools.partial objects
    try:
        trainer.fit(
            module,
            datamodule=datamodule,
            ckpt_path=ckpt_path,
            weights_only=False if ckpt_path else None,
        )
    finally:
        _finish_wandb(trainer.loggers)
    if trainer.interrupted:
        raise RuntimeError(f"training of {phase} was interrupted; rerun to resume from {last}")
    final = run.checkpoint(phase)
    tmp = final.with_name(f".{final.name}.tmp")
    trainer.save_checkpoint(tmp)
    if trainer.is_global_zero:
        os.replace(tmp, final)
        last.unlink(missing_ok=True)
    log.info("encoder %s trained: %s", phase, final)
    acc = trainer.callback_metrics.get("val/triplet_acc")
    return None if acc is None else float(acc)


def _datamodule(cfg: DictConfig, run: RunFolder, phase: str):
    """Triplet batches of the phase: GT crops of the training videos and crops of the target
    videos' detections, mixed ``model.data.ratio``."""
    from remots.data.datamodules import TripletDataModule

    data = cfg.model.data
    return TripletDataModule(
        train=training_set_crops(cfg, run),
        target=target_crops(cfg, run, phase),
        phase=phase,
        batch_size=int(data.batch_size),
        ratio=tuple(data.ratio),
        steps_per_epoch=int(data.steps_per_epoch),
        val_fraction=float(data.val_fraction),
        num_val_triplets=int(data.num_val_triplets),
        num_workers=int(data.num_workers),
        augment=bool(data.augment),
        erasing=float(data.erasing),
        colour_jitter=float(data.get("colour_jitter", 1.0)),
        seed=int(cfg.seed),
    )


def _module(cfg: DictConfig, run: RunFolder, phase: str, num_identities: int):
    """The LightningModule around the configured encoder; ``inter`` starts from the intra
    weights."""
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
        scheduler=instantiate(mcfg.scheduler) if mcfg.get("scheduler") else None,
        **mcfg.module,
    )


def _trainer(cfg: DictConfig, run: RunFolder, phase: str):
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
    return instantiate(
        cfg.trainer, logger=loggers or False, callbacks=callbacks, default_root_dir=str(run.root)
    )
