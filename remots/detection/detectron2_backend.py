"""detectron2 Mask R-CNN (the paper's X152) as a detector backend; an optional dependency.

detectron2 is not on PyPI and is imported only when this backend is built. ``config_file`` is a
detectron2 yaml config (e.g. ``Misc/cascade_mask_rcnn_X_152_32x8d_FPN_IN5k_gn_dconv.yaml`` of the
model zoo, or an absolute path) and ``weights`` its ``.pkl`` / ``.pth`` file. detectron2's COCO
classes are contiguous and 0-based: 0 person -> 2 pedestrian, 2 car -> 1 car.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from remots import masks
from remots.detection.base import FrameDetector
from remots.devices import resolve_device
from remots.errors import ConfigError
from remots.io.instances import CAR, PEDESTRIAN, Instance

log = logging.getLogger(__name__)

INSTALL = "pip install 'git+https://github.com/facebookresearch/detectron2.git'"
DETECTRON2_COCO_TO_MOTS = {0: PEDESTRIAN, 2: CAR}


def import_detectron2():
    """Import detectron2, or raise a ConfigError that says how to install it."""
    try:
        import detectron2  # noqa: F401
        from detectron2 import config, modeling
        from detectron2.checkpoint import DetectionCheckpointer
        from detectron2.data import transforms
    except ImportError as err:
        raise ConfigError(
            f"detector=detectron2 needs detectron2, which is not installed ({err}). Install it "
            f"with: {INSTALL}"
        ) from None
    return config, modeling, DetectionCheckpointer, transforms


class Detectron2MaskRCNN(FrameDetector):
    """A detectron2 instance-segmentation model from a yaml ``config_file`` and ``weights``.

    Args:
        config_file: a detectron2 yaml config; a relative path that is not a file is looked up
            in detectron2's model zoo.
        weights: the model's weights file (local path or a detectron2 URL it can download).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        batch_size: frames per forward pass.
        score_threshold: detectron2's ``ROI_HEADS.SCORE_THRESH_TEST``.
        label_map: contiguous detectron2 class -> MOTS class.
    """

    def __init__(
        self,
        *,
        config_file: str,
        weights: str,
        device: str = "auto",
        batch_size: int = 2,
        score_threshold: float = 0.05,
        label_map: Mapping[int, int] | None = None,
        progress: bool = True,
    ):
        super().__init__(batch_size=batch_size, progress=progress)
        import torch

        config, modeling, checkpointer, transforms = import_detectron2()
        self._torch = torch
        config_path = Path(config_file)
        if not config_path.is_file():
            from detectron2 import model_zoo

            try:
                config_path = Path(model_zoo.get_config_file(str(config_file)))
            except RuntimeError:
                raise ConfigError(
                    f"detectron2 config {config_file} is neither a file nor in the model zoo"
                ) from None
        if config_path.suffix not in (".yaml", ".yml"):
            raise ConfigError(f"detectron2 config {config_path} must be a yaml config")
        cfg = config.get_cfg()
        cfg.merge_from_file(str(config_path))
        cfg.MODEL.WEIGHTS = str(weights)
        cfg.MODEL.DEVICE = str(resolve_device(device))
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = float(score_threshold)
        if hasattr(cfg.MODEL, "RETINANET"):
            cfg.MODEL.RETINANET.SCORE_THRESH_TEST = float(score_threshold)
        cfg.freeze()
        self.cfg = cfg
        self.net = modeling.build_model(cfg).eval()
        checkpointer(self.net).load(cfg.MODEL.WEIGHTS)
        self.resize = transforms.ResizeShortestEdge(
            [cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MIN_SIZE_TEST], cfg.INPUT.MAX_SIZE_TEST
        )
        self.input_format = cfg.INPUT.FORMAT
        self.label_map = {int(k): int(v) for k, v in (label_map or DETECTRON2_COCO_TO_MOTS).items()}

    def detect_batch(self, images: Sequence[np.ndarray], frames: Sequence[int]) -> list[Instance]:
        torch = self._torch
        inputs = []
        for img in images:
            image = img if self.input_format == "BGR" else img[:, :, ::-1]
            resized = self.resize.get_transform(image).apply_image(image)
            tensor = torch.as_tensor(np.ascontiguousarray(resized.transpose(2, 0, 1)))
            inputs.append({"image": tensor.float(), "height": img.shape[0], "width": img.shape[1]})
        with torch.inference_mode():
            outputs = self.net(inputs)
        out: list[Instance] = []
        for t, pred in zip(frames, outputs, strict=True):
            inst = pred["instances"].to("cpu")
            labels = inst.pred_classes.numpy()
            keep = np.isin(labels, list(self.label_map))
            if not keep.any():
                continue
            binary = inst.pred_masks.numpy()[keep].astype(np.uint8)
            scores = inst.scores.numpy()[keep]
            for rle, score, label in zip(masks.encode(binary), scores, labels[keep], strict=True):
                score = float(np.clip(score, 0.0, 1.0))
                out.append(Instance(int(t), 0, self.label_map[int(label)], rle, score))
        return out
