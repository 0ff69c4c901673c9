"""The encoder's training (paper, sections 2.2 and 2.4) as a LightningModule: triplet loss on
mixed training-set / target-video triplets, optional identity loss on the training set's GT
identities, validation on held-out GT identities."""

from __future__ import annotations

import logging
from collections.abc import Callable

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F

from remots.models.checkpoints import plain_hyperparameters
from remots.models.components.backbone import ReIDEncoder, to_images
from remots.models.losses import batch_hard_triplet_loss, triplet_distances, triplet_loss
from remots.models.retrieval import retrieval_metrics

log = logging.getLogger(__name__)


class ReIDModule(L.LightningModule):
    """Triplet training of a ``ReIDEncoder``.

    A training batch is either P x K views for batch-hard mining (``images`` uint8
    ``(B, H, W, 3)``, ``positives`` / ``negatives`` bool ``(B, B)``: the pairs known to be one
    object / different objects, ``label (B,)``), or independent triplets: ``anchor``,
    ``positive``, ``negative`` uint8 ``(B, H, W, 3)`` crops and ``label (B,)``, the GT identity of
    the anchor (-1 for target-video rows, which have no identity); validation batches are
    triplets with ``frame`` / ``group`` of the anchor.

    Args:
        net: the encoder.
        optimizer: ``functools.partial`` of a torch optimizer (Hydra ``_partial_: true``).
        scheduler: partial of a scheduler taking the optimizer, stepped every optimizer step.
        margin: triplet margin (0.3, Luo et al.).
        distance: ``euclidean`` or ``cosine`` distance in the triplet loss.
        id_loss_weight: weight of the cross-entropy identity loss on GT triplets (0: off; needs
            ``net.classifier``).
        label_smoothing: of the identity loss (0.1 in Luo et al.).
        channels_last: use the channels-last memory format on CUDA.
        backbone_lr_scale: the backbone's learning rate relative to the optimizer's (the BNNeck
            and classifier, new layers, keep the full rate): < 1 keeps more of the pretrained
            start; 0 freezes the backbone's weights.
        freeze_bn_stats: keep the backbone's batch-norm statistics (and affine parameters
            learnable) as pretraining left them, instead of re-estimating them on small,
            narrow batches of crops.
    """

    def __init__(
        self,
        net: ReIDEncoder,
        optimizer: Callable,
        scheduler: Callable | None = None,
        *,
        margin: float = 0.3,
        distance: str = "euclidean",
        id_loss_weight: float = 0.0,
        label_smoothing: float = 0.1,
        channels_last: bool = True,
        backbone_lr_scale: float = 1.0,
        freeze_bn_stats: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["net"], logger=False)
        self.net = net
        self._val_outputs: list[dict[str, np.ndarray]] = []

    def _memory_format(self, x: torch.Tensor) -> torch.Tensor:
        if self.hparams.channels_last and x.is_cuda:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def on_fit_start(self) -> None:
        if self.hparams.channels_last and self.device.type == "cuda":
            self.net.to(memory_format=torch.channels_last)

    def _forward_triplets(self, batch: dict) -> tuple[dict, dict, dict]:
        b = len(batch["anchor"])
        images = torch.cat([batch["anchor"], batch["positive"], batch["negative"]])
        out = self.net(self._memory_format(to_images(images)))
        a, p, n = ({k: v[i * b : (i + 1) * b] for k, v in out.items()} for i in range(3))
        return a, p, n

    def on_train_batch_start(self, batch, batch_idx: int) -> None:
        if self.hparams.freeze_bn_stats:  # Lightning switches modes around validation
            for m in self.net.backbone.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()

    def _batch_hard_losses(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = self.net(self._memory_format(to_images(batch["images"])))
        feature = out["feature"].float()
        mined = batch_hard_triplet_loss(
            feature,
            batch["positives"],
            batch["negatives"],
            margin=self.hparams.margin,
            distance=self.hparams.distance,
        )
        loss = mined["loss"]
        logs = {"loss_triplet": mined["loss"]}
        loss = self._with_id_loss(loss, logs, out, batch["label"])
        valid = mined["valid"]
        if bool(valid.any()):
            with torch.no_grad():
                d_ap, d_an = mined["d_ap"][valid], mined["d_an"][valid]
                # the share of anchors still carrying gradient: mining keeps it above 0
                logs["active"] = (d_ap - d_an + self.hparams.margin > 0).float().mean()
                logs["triplet_acc"] = (d_ap < d_an).float().mean()
                logs["d_ap"], logs["d_an"] = d_ap.mean(), d_an.mean()
        return loss, logs

    def _with_id_loss(
        self, loss: torch.Tensor, logs: dict, out: dict, label: torch.Tensor
    ) -> torch.Tensor:
        """``loss`` plus the weighted ID (cross-entropy) loss of the views with a known
        identity (``label >= 0``), logged as ``loss_id``; ``loss`` unchanged without them."""
        known = label >= 0
        if self.hparams.id_loss_weight <= 0 or "logits" not in out or not bool(known.any()):
            return loss
        loss_id = F.cross_entropy(
            out["logits"][known].float(),
            label[known],
            label_smoothing=self.hparams.label_smoothing,
        )
        logs["loss_id"] = loss_id
        return loss + self.hparams.id_loss_weight * loss_id

    def _losses(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if "images" in batch:
            return self._batch_hard_losses(batch)
        a, p, n = self._forward_triplets(batch)
        loss_triplet = triplet_loss(
            a["feature"].float(),
            p["feature"].float(),
            n["feature"].float(),
            margin=self.hparams.margin,
            distance=self.hparams.distance,
        )
        logs = {"loss_triplet": loss_triplet}
        loss = loss_triplet
        loss = self._with_id_loss(loss, logs, a, batch["label"])
        d_ap, d_an = triplet_distances(
            a["feature"].detach().float(),
            p["feature"].detach().float(),
            n["feature"].detach().float(),
            distance="cosine",
        )
        logs["triplet_acc"] = (d_ap < d_an).float().mean()
        return loss, logs

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss, logs = self._losses(batch)
        b = len(batch["images"] if "images" in batch else batch["anchor"])
        self.log("train/loss", loss, prog_bar=True, batch_size=b)
        for k, v in logs.items():
            self.log(f"train/{k}", v, batch_size=b)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_outputs = []

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        loss, logs = self._losses(batch)
        b = len(batch["anchor"])
        self.log("val/loss", loss, batch_size=b, sync_dist=True)
        self.log(
            "val/triplet_acc", logs["triplet_acc"], batch_size=b, sync_dist=True, prog_bar=True
        )
        feats = F.normalize(self.net.embed(self._memory_format(to_images(batch["anchor"]))), dim=1)
        self._val_outputs.append(
            {
                "feature": feats.float().cpu().numpy(),
                "label": batch["label"].cpu().numpy(),
                "frame": batch["frame"].cpu().numpy(),
                "group": batch["group"].cpu().numpy(),
            }
        )

    def on_validation_epoch_end(self) -> None:
        if not self._val_outputs or self.trainer.sanity_checking:
            return
        cat = {k: np.concatenate([o[k] for o in self._val_outputs]) for k in self._val_outputs[0]}
        m = retrieval_metrics(cat["feature"], cat["label"], cat["frame"], cat["group"])
        if m["num_queries"]:
            self.log("val/rank1", m["rank1"])
            self.log("val/mAP", m["mAP"])
        self._val_outputs = []

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # plain values only, so that every checkpoint loads with torch.load(weights_only=True):
        # the optimizer and scheduler factories are saved as their target and keywords
        for key in ("hyper_parameters", "datamodule_hyper_parameters"):
            if key in checkpoint:
                checkpoint[key] = plain_hyperparameters(checkpoint[key])

    def configure_optimizers(self):
        scale = float(self.hparams.backbone_lr_scale)
        trainable = [p for p in self.parameters() if p.requires_grad]
        if scale == 1.0:
            optimizer = self.hparams.optimizer(params=trainable)
        else:
            lr = self.hparams.optimizer.keywords.get("lr")
            if lr is None:
                raise ValueError("backbone_lr_scale needs the optimizer's lr in its partial")
            backbone = {id(p) for p in self.net.backbone.parameters()}
            if scale == 0.0:
                for p in self.net.backbone.parameters():
                    p.requires_grad_(False)
            groups = [{"params": [p for p in trainable if id(p) not in backbone]}]
            if scale > 0:
                groups.append(
                    {"params": [p for p in trainable if id(p) in backbone], "lr": lr * scale}
                )
            optimizer = self.hparams.optimizer(params=[g for g in groups if g["params"]])
        if self.hparams.scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": self.hparams.scheduler(optimizer), "interval": "step"},
        }
