"""Stage functions of the encoder's two fine-tuning phases (paper, sections 2.2 and 2.4):
``python train.py stage=intra`` and ``python train.py stage=inter``.

Both mix training-set GT triplets with target-video triplets 1:1; ``intra`` takes the target
triplets from single frames (augmented positives, same-frame negatives), ``inter`` from
temporally overlapping short-term tracklets and starts from the intra weights.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from remots.artifacts import RunFolder
from remots.errors import ConfigError, InputError
from remots.io.mots import IGNORE

log = logging.getLogger(__name__)


def run_intra(cfg: DictConfig):
    """Stage ``intra``: train the encoder on intra-frame triplets (section 2.2)."""
    return train_phase(cfg, "intra")


def run_inter(cfg: DictConfig):
    """Stage ``inter``: retrain it on inter-short-tracklet triplets (section 2.4)."""
    return train_phase(cfg, "inter")


def _classes(cfg) -> set[int]:
    return {int(c) for c in cfg.data.get("classes") or (1, 2)}


def training_set_crops(cfg, run: RunFolder) -> list:
    """GT crops of the training videos (cache ``train-<seq>``), labels = GT obj_id (ignore
    regions and untracked classes left out of the cache)."""
    from remots.data.crops import ensure_crop_cache
    from remots.data.datamodules import SequenceCrops
    from remots.datasets import load_split

    data = cfg.model.data
    classes = _classes(cfg)
    out = []
    for seq in load_split(cfg.data, "train"):
        if seq.gt is None:
            raise InputError(f"training sequence {seq.name} has no ground truth", seq.gt_path)
        gt = [i for i in seq.gt if i.class_id != IGNORE and i.class_id in classes]
        cache = ensure_crop_cache(
            run,
            f"train-{seq.name}",
            seq,
            gt,
            size=tuple(data.input_size),
            mask_background=bool(data.mask_background),
        )
        out.append(SequenceCrops(seq.name, cache, cache.obj_ids.copy()))
    return out


def target_detections(cfg, run: RunFolder, seq) -> list:
    """The detections of a target video (running obj_id k = row k), from the detection stage."""
    from remots.io.detections import read_detections_txt

    path = run.detections(seq.name)
    if not path.is_file():
        raise ConfigError(f"{path}: no detections for {seq.name} (run stage=detect first)")
    return read_detections_txt(
        path, frame_base=seq.frame_base, num_frames=seq.num_frames, image_size=seq.image_size
    )


def tracklet_of_detection(run: RunFolder, seq, num_detections: int) -> np.ndarray:
    """``(N,)`` short-tracklet id of each detection (-1: none) from ``run.short_meta``."""
    path = run.short_meta(seq.name)
    if not path.is_file():
        raise ConfigError(f"{path}: no short tracklets for {seq.name} (run stage=short first)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        tracklets = np.asarray(meta["tracklet_of_detection"], np.int64)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise InputError(f"no valid 'tracklet_of_detection' list ({err})", path) from None
    if tracklets.shape != (num_detections,):
        raise InputError(
            f"'tracklet_of_detection' has {tracklets.size} entries for {num_detections} detections",
            path,
        )
    return tracklets


def target_crops(cfg, run: RunFolder, phase: str) -> list:
    """Crops of every detection of the target videos (cache ``<seq>``, shared with embedding),
    labelled for the phase's sampler: 0 (intra) or the short-tracklet id (inter); -1 for a
    class not tracked or a detection in no tracklet."""
    from remots.data.crops import ensure_crop_cache
    from remots.data.datamodules import SequenceCrops
    from remots.datasets import load_split

    data = cfg.model.data
    classes = _classes(cfg)
    out = []
    for seq in load_split(cfg.data, "target", with_gt=False):
        detections = target_detections(cfg, run, seq)
        cache = ensure_crop_cache(
            run,
            seq.name,
            seq,
            detections,
            size=tuple(data.input_size),
            mask_background=bool(data.mask_background),
        )
        tracked = np.array([d.class_id in classes for d in detections], bool)
        if phase == "intra":
            labels = np.zeros(len(detections), np.int64)
        else:
            labels = tracklet_of_detection(run, seq, len(detections))
        labels = np.where(tracked, labels, -1)
        out.append(SequenceCrops(seq.name, cache, labels))
    return out


def _instantiate_all(node) -> list:
    from hydra.utils import instantiate

    if not node:
        return []
    return [instantiate(child) for child in node.values() if child and "_target_" in child]


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


def train_phase(cfg: DictConfig, phase: str):
    """Train one phase and write ``run.checkpoint(phase)``; returns the last validation triplet
    accuracy (None when skipped or without validation).

    Skips when the checkpoint exists and ``cfg.stage.overwrite`` is false; resumes from
    ``checkpoints/<phase>-last.ckpt`` (written at every epoch end) when ``cfg.stage.resume``.
    """
    import lightning as L
    import torch
    from hydra.utils import instantiate

    from remots.data.datamodules import TripletDataModule
    from remots.models.embedding import build_net, load_module_weights
    from remots.models.reid_module import ReIDModule

    run = RunFolder(cfg.paths.run_dir)
    final = run.checkpoint(phase)
    stage = cfg.stage
    if final.is_file() and not stage.get("overwrite", False):
        log.info("%s exists: stage %s skipped (stage.overwrite=true retrains)", final, phase)
        return None
    if phase == "inter" and not run.checkpoint("intra").is_file():
        raise ConfigError(
            f"{run.checkpoint('intra')}: the intra encoder is missing (run stage=intra first)"
        )
    L.seed_everything(cfg.seed, workers=True)
    torch.use_deterministic_algorithms(True, warn_only=True)

    mcfg = cfg.model
    data = mcfg.data
    datamodule = TripletDataModule(
        train=training_set_crops(cfg, run),
        target=target_crops(cfg, run, phase),
        phase=phase,
        sampling=str(data.get("sampling", "triplets")),
        num_instances=int(data.get("num_instances", 4)),
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
    id_loss = float(mcfg.module.id_loss_weight) > 0
    net = build_net(mcfg, seed=cfg.seed, num_identities=datamodule.num_identities if id_loss else 0)
    if phase == "inter":
        load_module_weights(net, run.checkpoint("intra"), with_classifier=id_loss)
    module = ReIDModule(
        net,
        optimizer=instantiate(mcfg.optimizer),
        scheduler=instantiate(mcfg.scheduler) if mcfg.get("scheduler") else None,
        **mcfg.module,
    )
    loggers = _instantiate_all(cfg.get("logger"))
    callbacks = _instantiate_all(cfg.get("callbacks"))
    if not loggers:
        from lightning.pytorch.callbacks import LearningRateMonitor

        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    checkpoint_dir = final.parent
    callbacks.append(
        _atomic_checkpoint_callback(checkpoint_dir, phase, int(stage.get("checkpoint_every", 1)))
    )
    trainer = instantiate(
        cfg.trainer,
        logger=loggers or False,
        callbacks=callbacks,
        default_root_dir=str(run.root),
    )
    last = checkpoint_dir / f"{phase}-last.ckpt"
    ckpt_path = str(last) if stage.get("resume", True) and last.is_file() else None
    if ckpt_path:
        log.info("resuming %s from %s", phase, ckpt_path)
    # our own checkpoint: its hyper-parameters hold functools.partial objects
    trainer.fit(
        module,
        datamodule=datamodule,
        ckpt_path=ckpt_path,
        weights_only=False if ckpt_path else None,
    )
    if trainer.interrupted:
        raise RuntimeError(f"training of {phase} was interrupted; rerun to resume from {last}")
    tmp = final.with_name(f".{final.name}.tmp")
    trainer.save_checkpoint(tmp)
    if trainer.is_global_zero:
        os.replace(tmp, final)
        last.unlink(missing_ok=True)
    log.info("encoder %s trained: %s", phase, final)
    acc = trainer.callback_metrics.get("val/triplet_acc")
    return None if acc is None else float(acc)
