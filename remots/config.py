"""Structured configs: the schema of every config group a stage reads, registered in Hydra's
ConfigStore and named in each group's YAML defaults list (``- tracker_schema``), so a misspelt key
or a value of the wrong type fails at composition with the key's name. Ranges and choices are
checked when a group is turned into its dataclass (``__post_init__``): ``validate(cfg)`` does that
for every group before any stage runs, and the stages read their groups as these dataclasses
(``typed(cfg.tracker)``).

Groups without a schema: ``detector`` (each backend's own keyword arguments; its ``fusion`` node
has one), ``model.net`` / ``model.optimizer`` / ``model.scheduler`` (``_target_`` nodes),
``trainer``, ``logger`` and ``callbacks`` (Lightning's keyword arguments).
"""

from __future__ import annotations

import dataclasses
import math
import string
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, ListConfig, OmegaConf

from remots.errors import ConfigError
from remots.eval.result import METRIC_NAMES
from remots.synthetic import SyntheticParams
from remots.tracking.flow import DIS_PRESETS, FLOW_METHODS
from remots.tracking.thresholds import (
    THETA_MERGE_METHODS,
    THETA_SHORT_PAIRS,
    THETA_SHORT_STATISTICS,
)

# The encoder phases whose features a stage may use: the configured backbone as built, after
# intra-frame training, after inter-short-tracklet training.
PHASES = ("untrained", "intra", "inter")
LAYOUTS = ("motschallenge", "kitti_mots", "frames", "video")
CLASS_IDS = (1, 2)
# A gate of Eq. (2) below 0 would let pairs of opposite features through: no gate at all.
THETA_SHORT_RANGE = "a cosine similarity in [0, 1] (Eq. 2 cuts links below it)"


def _require(ok: bool, key: str, value, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r}: expected {expected}")


def _number_in(value, lo: float, hi: float, *, lo_open=False, hi_open=False) -> bool:
    """``value`` is a finite number in the range (an infinite one never makes sense here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    above = value > lo if lo_open else value >= lo
    below = value < hi if hi_open else value <= hi
    return above and below


def _check_name(key: str, name: str) -> None:
    """A sequence name becomes a file name in the run folder: no path separators, no '..'."""
    _require(
        bool(name) and "/" not in name and "\\" not in name and name not in (".", ".."),
        key,
        name,
        "a sequence name (no '/', '\\\\', '.' or '..'), not a path",
    )


@dataclass
class DataConfig:
    """``data``: which videos are refined (target split) and which train the encoder (train split).

    layout: motschallenge | kitti_mots | frames (a folder of images) | video (one file).
    root: the dataset folder, or the frames folder / video file.
    train_split, target_split: split folders under ``root`` (None: no such split).
    sequences: only these target sequences (None: all).
    classes: MOTS class ids tracked, each on its own (1 car, 2 pedestrian).
    generator: the synthetic generator's knobs (the embedded default), None for real data.
    start, stop, stride: part of every target sequence (0-based source frames, as Python's
        ``range``); results keep the source's frame numbers.
    fps: the frame rate of a frames folder (a video and seqinfo.ini carry their own).
    """

    name: str = "data"
    layout: str = "motschallenge"
    root: str = "???"
    train_split: str | None = None
    target_split: str | None = None
    sequences: list[str] | None = None
    classes: list[int] = field(default_factory=lambda: [2])
    generator: SyntheticParams | None = None
    start: int = 0
    stop: int | None = None
    stride: int = 1
    fps: float | None = None

    def __post_init__(self):
        _require(self.layout in LAYOUTS, "data.layout", self.layout, f"one of {LAYOUTS}")
        _require(self.start >= 0, "data.start", self.start, "a 0-based source frame >= 0")
        _require(
            self.stop is None or self.stop > self.start,
            "data.stop",
            self.stop,
            f"a source frame after data.start={self.start}, or null (to the end)",
        )
        _require(self.stride >= 1, "data.stride", self.stride, "a step in frames >= 1")
        _require(
            self.fps is None or _number_in(self.fps, 0, math.inf, lo_open=True),
            "data.fps",
            self.fps,
            "a frame rate > 0, or null (the source's own)",
        )
        _require(
            bool(self.classes) and all(c in CLASS_IDS for c in self.classes),
            "data.classes",
            list(self.classes),
            "a non-empty list of MOTS class ids (1 car, 2 pedestrian)",
        )
        for name in self.sequences or ():
            _check_name("data.sequences", name)


@dataclass
class FusionConfig:
    """``detector.fusion``: score filter, IoM-NMS, pixel exclusivity, minimum area (section 2.1)."""

    score_threshold: float = 0.5
    classes: Any = None  # list[int] | None; untyped here because it interpolates data.classes
    iom_threshold: float = 0.5
    class_aware: bool = True
    min_area: int = 100

    def __post_init__(self):
        for key in ("score_threshold", "iom_threshold"):
            value = getattr(self, key)
            _require(_number_in(value, 0, 1), f"detector.fusion.{key}", value, "a number in [0, 1]")
        _require(self.min_area >= 0, "detector.fusion.min_area", self.min_area, "an integer >= 0")
        if self.classes is not None:
            classes = self.classes
            _require(
                isinstance(classes, list | tuple | ListConfig)
                and all(isinstance(c, int) and not isinstance(c, bool) for c in classes),
                "detector.fusion.classes",
                classes,
                "a list of MOTS class ids (1 car, 2 pedestrian) or null (data.classes)",
            )
            self.classes = [int(c) for c in classes]
            _require(
                all(c in CLASS_IDS for c in self.classes),
                "detector.fusion.classes",
                list(self.classes),
                "MOTS class ids (1 car, 2 pedestrian)",
            )


@dataclass
class FlowConfig:
    """``flow``: the dense optical flow that warps masks to the next frame (section 2.3)."""

    method: str = "dis"
    preset: str = "medium"
    downscale: float = 0.5
    farneback: dict[str, Any] | None = None  # cv2.calcOpticalFlowFarneback keywords (ints, floats)

    def __post_init__(self):
        methods = (*FLOW_METHODS, "none")
        _require(self.method in methods, "flow.method", self.method, f"one of {methods}")
        _require(
            self.preset in DIS_PRESETS, "flow.preset", self.preset, f"one of {sorted(DIS_PRESETS)}"
        )
        _require(
            _number_in(self.downscale, 0, 1, lo_open=True),
            "flow.downscale",
            self.downscale,
            "a factor in (0, 1]",
        )

    def kwargs(self) -> dict:
        """Keyword arguments of ``remots.tracking.flow.compute_flow`` besides the method."""
        if self.method == "none":
            return {}
        out: dict[str, Any] = {"downscale": self.downscale}
        if self.method == "dis":
            out["preset"] = self.preset
        if self.method == "farneback" and self.farneback:
            out["farneback"] = dict(self.farneback)
        return out


@dataclass
class BaselineConfig:
    """``tracker.baseline``: the IoU-only baseline written beside the short tracklets."""

    enabled: bool = True
    use_flow: bool = False
    min_iou: float = 0.0

    def __post_init__(self):
        _require(
            _number_in(self.min_iou, 0, 1, hi_open=True),
            "tracker.baseline.min_iou",
            self.min_iou,
            "a number in [0, 1)",
        )


@dataclass
class TrackerConfig:
    """``tracker``: the short-term tracker (section 2.3, Eq. 1-2)."""

    theta_short: Any = None
    num_std: float = 3.0
    theta_short_statistic: str = "normal"
    theta_short_pairs: str = "class"
    theta_short_min_pairs: int = 200
    theta_short_fallback: float | None = None
    use_appearance: bool = True
    estimate_theta_short: bool = True
    min_iou: float = 0.0
    features_phase: str = "intra"
    seeds: str = "split"
    progress: bool = True
    baseline: BaselineConfig = field(default_factory=BaselineConfig)

    def __post_init__(self):
        theta = self.theta_short
        if isinstance(theta, dict | DictConfig):
            for k in dict(theta):
                _require(
                    str(k).strip() in {str(c) for c in CLASS_IDS},
                    f"tracker.theta_short.{k}",
                    k,
                    "a key that is a MOTS class id (1 car, 2 pedestrian)",
                )
            theta = {int(k): v for k, v in dict(theta).items()}
            for class_id, value in theta.items():
                _require(
                    value is None or _number_in(value, 0, 1),
                    f"tracker.theta_short.{class_id}",
                    value,
                    f"{THETA_SHORT_RANGE} or null (no gate)",
                )
            self.theta_short = theta
        else:
            _require(
                theta is None or _number_in(theta, 0, 1),
                "tracker.theta_short",
                theta,
                f"{THETA_SHORT_RANGE}, a {{class_id: value}} mapping, or null (estimated)",
            )
        _require(
            _number_in(self.num_std, 0, math.inf, lo_open=True),
            "tracker.num_std",
            self.num_std,
            "a number of standard deviations > 0",
        )
        _require(
            self.theta_short_statistic in THETA_SHORT_STATISTICS,
            "tracker.theta_short_statistic",
            self.theta_short_statistic,
            f"one of {THETA_SHORT_STATISTICS}",
        )
        _require(
            self.theta_short_pairs in THETA_SHORT_PAIRS,
            "tracker.theta_short_pairs",
            self.theta_short_pairs,
            f"one of {THETA_SHORT_PAIRS}",
        )
        _require(
            isinstance(self.theta_short_min_pairs, int)
            and not isinstance(self.theta_short_min_pairs, bool)
            and self.theta_short_min_pairs >= 0,
            "tracker.theta_short_min_pairs",
            self.theta_short_min_pairs,
            "a whole number of pairs >= 0",
        )
        _require(
            self.theta_short_fallback is None or _number_in(self.theta_short_fallback, 0, 1),
            "tracker.theta_short_fallback",
            self.theta_short_fallback,
            f"{THETA_SHORT_RANGE} or null",
        )
        _require(
            _number_in(self.min_iou, 0, 1, hi_open=True),
            "tracker.min_iou",
            self.min_iou,
            "a number in [0, 1) (Eq. 1: links need an IoU above it)",
        )
        _require(
            self.features_phase in PHASES,
            "tracker.features_phase",
            self.features_phase,
            f"one of {PHASES}",
        )
        _require(self.seeds in ("split", "keep"), "tracker.seeds", self.seeds, "split or keep")


@dataclass
class MergeConfig:
    """``merge``: long-term merging of the short tracklets (section 2.5, Eq. 3)."""

    theta_t: int = 15
    theta_merge: float | None = None
    method: str = "min_error"
    max_pairs: int | None = 200000
    features: str = "inter"
    plot: bool = True

    def __post_init__(self):
        _require(self.theta_t >= 1, "merge.theta_t", self.theta_t, "a number of frames >= 1")
        _require(
            self.theta_merge is None or _number_in(self.theta_merge, 0, 1),
            "merge.theta_merge",
            self.theta_merge,
            "a cosine similarity in [0, 1] (tracklets merge while their mean similarity is above "
            "it; the cut is 1 - theta_merge) or null (estimated, Fig. 5)",
        )
        _require(
            self.method in THETA_MERGE_METHODS,
            "merge.method",
            self.method,
            f"one of {THETA_MERGE_METHODS}",
        )
        _require(
            self.max_pairs is None or self.max_pairs >= 1,
            "merge.max_pairs",
            self.max_pairs,
            "a number of pairs >= 1 or null",
        )
        _require(self.features in PHASES, "merge.features", self.features, f"one of {PHASES}")


@dataclass
class EvalConfig:
    """``eval``: MOTS metrics of a results folder against ground truth."""

    results_dir: str = "???"
    gt_root: str | None = None
    layout: str = "motschallenge"
    seqmap: str | None = None
    sequences: list[str] | None = None
    classes: list[str] | None = None
    benchmark: str | None = None
    missing: str = "error"
    objective: str = "IDF1"

    def __post_init__(self):
        _require(self.missing in ("error", "empty"), "eval.missing", self.missing, "error or empty")
        _require(
            self.objective in METRIC_NAMES,
            "eval.objective",
            self.objective,
            f"one of {METRIC_NAMES}",
        )
        for name in self.sequences or ():
            _check_name("eval.sequences", name)


@dataclass
class ModelDataConfig:
    """``model.data``: crops and triplet batches of the two training phases."""

    input_size: list[int] = field(default_factory=lambda: [64, 32])
    mask_background: bool = False
    sampling: str = "triplets"
    num_instances: int = 4
    batch_size: int = 16
    ratio: list[int] = field(default_factory=lambda: [1, 1])
    steps_per_epoch: int = 40
    target_epochs: float | None = None
    inter_target_epochs: float | None = None
    val_fraction: float = 0.2
    num_val_triplets: int = 64
    num_workers: int = 0
    augment: bool = True
    erasing: float = 0.5
    colour_jitter: float = 1.0
    augment_on: str = "loader"
    crops_on: str = "loader"

    def __post_init__(self):
        _require(
            self.augment_on in ("loader", "device"),
            "model.data.augment_on",
            self.augment_on,
            "loader (each worker, numpy / OpenCV) or device (the batch, torch, where it trains)",
        )
        _require(
            self.crops_on == "loader"
            or (self.crops_on == "device" and self.augment_on == "device"),
            "model.data.crops_on",
            self.crops_on,
            "loader (the workers read the crops), or device with model.data.augment_on=device "
            "(one crop bank on the training device, sliced per batch)",
        )
        _require(
            len(self.input_size) == 2 and min(self.input_size) >= 8,
            "model.data.input_size",
            list(self.input_size),
            "[height, width], each at least 8 pixels",
        )
        for key in ("batch_size", "steps_per_epoch"):
            value = getattr(self, key)
            _require(value >= 1, f"model.data.{key}", value, "an integer >= 1")
        _require(
            self.target_epochs is None or _number_in(self.target_epochs, 0, 10_000, lo_open=True),
            "model.data.target_epochs",
            self.target_epochs,
            "null (trainer.max_steps) or a number of epochs over the target crops > 0",
        )
        _require(
            self.inter_target_epochs is None
            or _number_in(self.inter_target_epochs, 0, 10_000, lo_open=True),
            "model.data.inter_target_epochs",
            self.inter_target_epochs,
            "null (as target_epochs) or a number of epochs over the target crops > 0",
        )
        _require(
            self.sampling in ("triplets", "pk"),
            "model.data.sampling",
            self.sampling,
            "triplets (independent triplets) or pk (P x K batches, batch-hard)",
        )
        _require(
            self.num_instances >= 2,
            "model.data.num_instances",
            self.num_instances,
            "K views per object >= 2",
        )
        for key in ("num_val_triplets", "num_workers"):
            value = getattr(self, key)
            _require(value >= 0, f"model.data.{key}", value, "an integer >= 0")
        _require(
            len(self.ratio) == 2 and min(self.ratio) >= 0 and max(self.ratio) >= 1,
            "model.data.ratio",
            list(self.ratio),
            "[training-set, target] triplets per batch, non-negative, not both 0",
        )
        _require(
            _number_in(self.val_fraction, 0, 1, hi_open=True),
            "model.data.val_fraction",
            self.val_fraction,
            "a fraction in [0, 1)",
        )
        _require(
            _number_in(self.erasing, 0, 1), "model.data.erasing", self.erasing, "a probability"
        )
        _require(
            _number_in(self.colour_jitter, 0, math.inf),
            "model.data.colour_jitter",
            self.colour_jitter,
            "a strength >= 0",
        )


@dataclass
class EmbedConfig:
    """``model.embed``: how the embed stage runs the encoder over the crops."""

    batch_size: int = 128
    device: str = "auto"

    def __post_init__(self):
        _require(self.batch_size >= 1, "model.embed.batch_size", self.batch_size, "an integer >= 1")


@dataclass
class ModelConfig:
    """``model``: the appearance encoder (``net``, a ``_target_`` node), its training recipe and
    how it embeds."""

    name: str = "model"
    short_term_appearance: bool = True
    net: Any = None
    module: Any = None
    optimizer: Any = None
    scheduler: Any = None
    data: ModelDataConfig = field(default_factory=ModelDataConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)


@dataclass
class OverlaysConfig:
    """``report.overlays``: track overlays of the final results."""

    enabled: bool = True
    every: int = 1
    max_frames: int | None = None
    video: bool = True
    keep_frames: int = 3

    def __post_init__(self):
        _require(self.every >= 1, "report.overlays.every", self.every, "an integer >= 1")
        _require(
            self.max_frames is None or self.max_frames >= 1,
            "report.overlays.max_frames",
            self.max_frames,
            "an integer >= 1 or null",
        )


@dataclass
class ReportConfig:
    """``report``: what the end of a run writes besides the results table."""

    overlays: OverlaysConfig = field(default_factory=OverlaysConfig)


EXPORT_FORMATS = ("mots_txt", "mots_png", "mot_boxes")


@dataclass
class ExportConfig:
    """``export``: the final tracks in other tools' formats (``remots.stages.export``)."""

    formats: list[str] = field(default_factory=list)
    folder: str = "???"
    mots_tools_names: bool = False
    box_class: int = 2

    def __post_init__(self):
        for fmt in self.formats:
            _require(fmt in EXPORT_FORMATS, "export.formats", fmt, f"one of {EXPORT_FORMATS}")
        _require(self.box_class in CLASS_IDS, "export.box_class", self.box_class, "1 or 2")


@dataclass
class StageConfig:
    """``stage``: which stage runs, and the options of the runner (none changes what a stage
    writes, so none enters the manifest's hashes).

    stages: for ``all``, the chain stages to run (default: all of them).
    reuse_from: another run folder whose finished stages with the same hash are hard-linked.
    overrides: per-stage config overrides inside ``all`` (``{short: {...}}``).
    resume: training resumes from its last epoch checkpoint after an interruption.
    checkpoint_every: epochs between those checkpoints.
    """

    name: str = "all"
    stages: list[str] | None = None
    reuse_from: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    resume: bool = True
    checkpoint_every: int = 1

    def __post_init__(self):
        _require(
            self.checkpoint_every >= 1,
            "stage.checkpoint_every",
            self.checkpoint_every,
            "a number of epochs >= 1",
        )


SCHEMAS: dict[str, type] = {
    "data": DataConfig,
    "detector/fusion": FusionConfig,
    "flow": FlowConfig,
    "tracker": TrackerConfig,
    "merge": MergeConfig,
    "eval": EvalConfig,
    "model": ModelConfig,
    "report": ReportConfig,
    "export": ExportConfig,
    "stage": StageConfig,
}


def register() -> None:
    """Put every schema into Hydra's ConfigStore as ``<group>/<group>_schema``."""
    store = ConfigStore.instance()
    for group, schema in SCHEMAS.items():
        store.store(group=group, name=f"{group.rsplit('/', 1)[-1]}_schema", node=schema)


def typed(node: DictConfig):
    """A config group as its dataclass (ranges and choices checked: ``ConfigError``)."""
    _check_keys(node)
    return OmegaConf.to_object(node)


def _check_keys(node: DictConfig) -> None:
    """Keys a ``+key=value`` override added to a schema node are refused, naming them (Hydra
    lets ``+`` add keys to structured configs, and ``to_object`` would drop them silently)."""
    schema = OmegaConf.get_type(node)
    if not dataclasses.is_dataclass(schema):
        return
    known = {f.name for f in dataclasses.fields(schema)}
    for key in node:
        full = node._get_full_key(key)
        if key not in known:
            raise ConfigError(f"{full}: not a key of {schema.__name__} (known: {sorted(known)})")
        child = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
            _check_keys(child)


# The placeholders of a detections path template (remots.detection.precomputed).
TEMPLATE_FIELDS = ("seq", "seq_dir")


def _check_templates(node, key: str) -> None:
    """Every ``path`` of the detector's nodes (an ensemble's members too) is a valid template:
    balanced braces, only ``{seq}`` and ``{seq_dir}``."""
    if isinstance(node, ListConfig):
        for i in range(len(node)):
            if not OmegaConf.is_missing(node, i):
                _check_templates(node[i], f"{key}[{i}]")
        return
    if not isinstance(node, DictConfig):
        return
    for name in node:
        if OmegaConf.is_missing(node, name):
            continue
        value, full = node[name], f"{key}.{name}"
        if name == "path" and isinstance(value, str):
            check_template(full, value)
        else:
            _check_templates(value, full)


def check_template(key: str, template: str) -> list[str]:
    """The placeholders of a path template, refused (``ConfigError`` naming ``key``) unless its
    braces balance and it names only ``TEMPLATE_FIELDS``."""
    expected = "a path template whose only placeholders are {seq} and {seq_dir} ({{ for a brace)"
    try:
        fields = [f for _, f, spec, conv in string.Formatter().parse(template) if f is not None]
        specs = [(spec, conv) for _, f, spec, conv in string.Formatter().parse(template) if f]
    except ValueError as err:
        raise ConfigError(f"{key}={template!r}: {err}; expected {expected}") from None
    unknown = sorted({f for f in fields if f not in TEMPLATE_FIELDS})
    _require(not unknown, key, template, f"{expected}, not {{{', '.join(unknown)}}}")
    _require(all(spec == "" and conv is None for spec, conv in specs), key, template, expected)
    return fields


def validate(cfg: DictConfig) -> None:
    """Check every group of a composed config before any stage runs; the first problem is a
    ``ConfigError`` naming the key."""
    for group in SCHEMAS:
        node = OmegaConf.select(cfg, group.replace("/", "."))
        if isinstance(node, DictConfig):
            typed(node)
    run_name = cfg.get("run_name")
    if run_name is not None:
        _check_name("run_name", str(run_name))
    detector = cfg.get("detector")
    if isinstance(detector, DictConfig):
        _check_templates(detector, "detector")
    workers = cfg.get("workers")
    _require(
        workers is None
        or (isinstance(workers, int) and not isinstance(workers, bool) and workers >= 0),
        "workers",
        workers,
        "a number of worker processes >= 1, or 0 / null for every core",
    )
    trainer = cfg.get("trainer")
    if trainer is not None:
        max_steps = trainer.get("max_steps", -1)
        _require(
            max_steps == -1 or max_steps >= 1,
            "trainer.max_steps",
            max_steps,
            "a number of optimizer steps >= 1 (or -1 with trainer.max_epochs)",
        )


register()
