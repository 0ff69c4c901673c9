"""torchvision Mask R-CNN as a detector backend (batched; CUDA with AMP when available).

Weights: ``None`` builds the network with random weights (what the tests use: no weights can be
downloaded on machines without network; it logs a warning, its detections mean nothing); a path
to a local file loads a state dict (a bare ``state_dict`` or a checkpoint holding ``"model"`` /
``"state_dict"``); any other string is a torchvision weights name (``"DEFAULT"``, ``"COCO_V1"`` or
the full enum name), downloaded into the torch hub cache (``<TORCH_HOME>/hub/checkpoints``) on
first use. Weights that cannot be fetched (offline) or a corrupt cached file are a one-line
``ConfigError`` naming the weights, the file to put in the cache and the ``detector.weights`` key
for a local file. COCO labels map to MOTS classes: 1 person -> 2 pedestrian, 3 car -> 1 car;
other labels are dropped before the mask head runs.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from remots import masks
from remots.detection.base import FrameDetector
from remots.devices import resolve_device
from remots.errors import ConfigError
from remots.io.detections import COCO_TO_MOTS
from remots.io.instances import Instance

log = logging.getLogger(__name__)

MODELS = (
    "maskrcnn_resnet50_fpn",
    "maskrcnn_resnet50_fpn_v2",
)


class TorchvisionMaskRCNN(FrameDetector):
    """A torchvision Mask R-CNN (``model`` by name) run on batches of frames.

    Args:
        model: a torchvision builder name, ``maskrcnn_resnet50_fpn_v2`` (default) or
            ``maskrcnn_resnet50_fpn``.
        weights: None (random init), a local file, or a torchvision weights name.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
        amp: float16 autocast on CUDA.
        batch_size: frames per forward pass.
        min_size, max_size: the model's resize (shorter side, cap on the longer side).
        box_score_thresh: the model's own score threshold (fusion applies its own after).
        proposals_per_img: RPN proposals kept per image at test time (torchvision: 1000); fewer
            is faster on CPU.
        detections_per_img: at most this many detections per frame (before the class filter).
        mask_threshold: a pixel belongs to the mask where the mask probability is above it.
        label_map: model label -> MOTS class; labels not in it are dropped. Default: COCO's
            1 person -> 2, 3 car -> 1.
        num_classes: outputs of the box predictor including background (91 for COCO); another
            value fits a model trained on other labels (then give ``label_map`` too).
        seed: seeds the random initialisation when ``weights`` is None (same seed, same net).
    """

    def __init__(
        self,
        *,
        model: str = "maskrcnn_resnet50_fpn_v2",
        weights: str | None = None,
        device: str = "auto",
        amp: bool = True,
        batch_size: int = 2,
        min_size: int = 800,
        max_size: int = 1333,
        box_score_thresh: float = 0.05,
        proposals_per_img: int = 1000,
        detections_per_img: int = 100,
        mask_threshold: float = 0.5,
        label_map: Mapping[int, int] | None = None,
        num_classes: int = 91,
        seed: int = 0,
        progress: bool = True,
    ):
        super().__init__(batch_size=batch_size, progress=progress)
        if model not in MODELS:
            raise ConfigError(
                f"unknown torchvision Mask R-CNN {model!r} (expected one of {MODELS})"
            )
        self.device = resolve_device(device)
        self.amp = bool(amp) and self.device.type == "cuda"
        self.mask_threshold = float(mask_threshold)
        self.label_map = {int(k): int(v) for k, v in (label_map or COCO_TO_MOTS).items()}
        self.net = build_maskrcnn(
            model,
            weights,
            seed=seed,
            min_size=min_size,
            max_size=max_size,
            box_score_thresh=box_score_thresh,
            box_detections_per_img=detections_per_img,
            rpn_pre_nms_top_n_test=max(1000, proposals_per_img),
            rpn_post_nms_top_n_test=proposals_per_img,
            num_classes=num_classes,
        )
        _keep_labels_before_mask_head(self.net, sorted(self.label_map))
        self.net.eval().to(self.device)

    @torch.inference_mode()
    def detect_batch(self, images: Sequence[np.ndarray], frames: Sequence[int]) -> list[Instance]:
        batch = [
            torch.from_numpy(np.ascontiguousarray(img[:, :, ::-1]))  # BGR -> RGB
            .to(self.device, non_blocking=True)
            .permute(2, 0, 1)
            .float()
            .div_(255.0)
            for img in images
        ]
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            outputs = self.net(batch)
        out: list[Instance] = []
        for t, img, pred in zip(frames, images, outputs, strict=True):
            if len(pred["scores"]) == 0:
                continue
            binary = (pred["masks"][:, 0] > self.mask_threshold).to("cpu", torch.uint8).numpy()
            if binary.shape[1:] != img.shape[:2]:
                raise RuntimeError(f"mask shape {binary.shape[1:]} is not the image's {img.shape}")
            scores = pred["scores"].float().clamp_(0.0, 1.0).cpu().numpy()
            labels = pred["labels"].cpu().numpy()
            for rle, score, label in zip(masks.encode(binary), scores, labels, strict=True):
                out.append(Instance(int(t), 0, self.label_map[int(label)], rle, float(score)))
        return out


def build_maskrcnn(name: str, weights: str | None, *, seed: int = 0, **kwargs) -> torch.nn.Module:
    """Build torchvision's ``name`` with ``weights`` (None, a local file, or a weights name)."""
    import torchvision

    builder = getattr(torchvision.models.detection, name)
    if weights is None or Path(str(weights)).is_file():
        if weights is None:
            log.warning(
                "%s runs with RANDOM weights (detector.weights=null): its detections mean "
                "nothing; set detector.weights=DEFAULT (downloaded once) or a local file",
                name,
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = builder(weights=None, weights_backbone=None, **kwargs)
        if weights is not None:
            try:
                state = torch.load(str(weights), map_location="cpu", weights_only=True)
            except Exception as err:  # torch raises many types for a bad file
                reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err)
                raise ConfigError(
                    f"detector.weights={weights}: not a readable state dict ({reason})"
                ) from None
            if isinstance(state, dict):
                state = state.get("model", state.get("state_dict", state))
            try:
                missing, unexpected = net.load_state_dict(state, strict=False)
            except RuntimeError as err:  # shapes that do not fit
                raise ConfigError(f"weights file {weights} does not fit {name}: {err}") from None
            if missing or unexpected:
                raise ConfigError(
                    f"weights file {weights} does not fit {name}: {len(missing)} missing keys "
                    f"(e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})"
                )
            log.info("loaded %s weights from %s", name, weights)
        return net
    try:
        enum = torchvision.models.get_model_weights(builder)
        resolved = (
            enum[weights] if weights in enum.__members__ else torchvision.models.get_weight(weights)
        )
    except (KeyError, ValueError, AttributeError):
        looks_like_a_path = "/" in str(weights) or Path(str(weights)).suffix in (".pth", ".pt")
        if looks_like_a_path:
            raise ConfigError(f"detector.weights={weights}: no such file") from None
        raise ConfigError(
            f"detector.weights={weights!r} is neither a file nor a torchvision weights name for "
            f"{name} (e.g. DEFAULT, COCO_V1)"
        ) from None
    if kwargs.get("num_classes", 91) != 91:
        raise ConfigError(
            f"torchvision weights {weights!r} are COCO weights: num_classes must be 91"
        )
    kwargs.pop("num_classes", None)
    cached = fetch_weights(resolved)
    log.info("loading %s weights %s from %s", name, resolved, cached)
    try:
        return builder(weights=resolved, **kwargs)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(
            f"the cached weights {resolved} in {cached} cannot be loaded ({reason}): delete the "
            "file to fetch it again, or set detector.weights to a local file"
        ) from None


def weights_cache_file(weights) -> Path:
    """Where torch hub keeps the file of torchvision ``weights`` (an enum member)."""
    filename = os.path.basename(urlparse(weights.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def fetch_weights(weights) -> Path:
    """The cached file of torchvision ``weights``, downloaded first if missing; a download that
    fails (no network) is a one-line ``ConfigError`` saying which file to put where."""
    cached = weights_cache_file(weights)
    if cached.is_file():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(weights.url, str(cached), progress=False)
    except (OSError, RuntimeError, ValueError) as err:  # URLError, HTTPError, timeouts, hash
        reason = getattr(err, "reason", None) or str(err).strip() or type(err).__name__
        raise ConfigError(
            f"cannot fetch the torchvision weights {weights} from {weights.url} ({reason}): "
            f"offline, put that file in {cached.parent}/ (the torch hub cache; TORCH_HOME moves "
            "it), or set detector.weights=/path/to/weights.pth (a local state dict)"
        ) from None
    return cached


def _keep_labels_before_mask_head(net: torch.nn.Module, labels: Sequence[int]) -> None:
    """Drop boxes of labels MOTS does not track right after box post-processing, so the mask head
    and the full-resolution mask pasting only run for persons and cars."""
    heads = net.roi_heads
    original = heads.postprocess_detections
    wanted = torch.tensor(list(labels))

    def postprocess_detections(*args, **kwargs):
        boxes, scores, labels_ = original(*args, **kwargs)
        keep = [torch.isin(lab, wanted.to(lab.device)) for lab in labels_]
        return (
            [b[k] for b, k in zip(boxes, keep, strict=True)],
            [s[k] for s, k in zip(scores, keep, strict=True)],
            [lab[k] for lab, k in zip(labels_, keep, strict=True)],
        )

    heads.postprocess_detections = postprocess_detections
