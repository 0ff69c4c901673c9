"""The knobs of the synthetic dataset and of its simulated detectors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from remots.errors import ConfigError

log = logging.getLogger(__name__)

# The version of the dataset layout written by remots.synthetic.generate_dataset.
FORMAT_VERSION = 1

# The keys a detector's knobs may set, with the defaults of ``det``.
DETECTOR_DEFAULTS: dict[str, float | int | list[float]] = {
    "miss_rate": 0.04,  # miss probability of a fully visible person
    "occlusion_miss": 0.6,  # + occlusion_miss * (1 - visible fraction) ** 3
    "miss_streak": 0.2,  # + this when the person was missed in the frame before
    "fp_per_frame": 0.6,  # expected false positives on background clutter per frame
    "mask_resolution": 28,  # side of the mask head's grid (Mask R-CNN: 28)
    "box_jitter": 0.03,  # std of each box side, as a fraction of the box size
    "threshold_noise": 0.08,  # std of the mask threshold around 0.5 (erosion / dilation)
    "partial_rate": 0.05,  # probability that only the upper or one side part is segmented
    "amodal_rate": 0.15,  # probability that the part hidden by nearer people is segmented too
    "duplicate_rate": 0.04,  # probability of a second, partial, lower-scored mask of a person
    "score_mean": 0.95,  # score of a fully visible person
    "score_noise": 0.04,  # std of the person score
    "occlusion_score_drop": 0.4,  # score drop of a fully occluded person
    "fp_score": [0.05, 0.8],  # range of the false positives' scores
}


# The two detectors written when ``detectors`` is None (as in conf/data/synthetic.yaml): ``det``
# like Mask R-CNN X152, and a weaker ``det2`` with more misses and false positives, coarser masks.
DEFAULT_DETECTORS: dict[str, dict] = {
    "det": {},
    "det2": {
        "miss_rate": 0.08,
        "occlusion_miss": 0.8,
        "fp_per_frame": 1.2,
        "mask_resolution": 14,
        "box_jitter": 0.06,
        "threshold_noise": 0.12,
        "partial_rate": 0.1,
        "amodal_rate": 0.05,
        "duplicate_rate": 0.08,
        "score_mean": 0.9,
        "score_noise": 0.07,
        "occlusion_score_drop": 0.5,
        "fp_score": [0.05, 0.7],
    },
}


@dataclass
class SyntheticParams:
    """Every knob of the synthetic dataset (``data.generator`` in the config).

    Validated when built (a bad knob raises ``ConfigError`` naming ``data.generator.<key>``);
    ``to_json()`` is the ``params`` record of ``stats.json``, which tells whether an existing
    dataset was made with the same knobs.

    Attributes:
        seed: seeds every random choice; same knobs and seed give byte-identical files.
        num_train, num_target: sequences in ``train/`` (GT triplets) and ``test/`` (refined).
        num_frames, height, width: frames per sequence and image size.
        num_objects: identities per sequence (not all visible at once: some enter, some leave).
        fps: frame rate written to seqinfo.ini.
        jpeg_quality: OpenCV JPEG quality of the frames.
        pan_px: camera pan over the sequence, in pixels (the world is this much wider).
        walk_speed: walking speed range, pixels per frame.
        person_height: body height as a fraction of the image height, farthest and nearest.
        size_jitter: identity body-size factor range, 1 +- size_jitter.
        num_shirt_colours: shirt colours per sequence, shared by the identities.
        entry_fraction: fraction of identities that enter through a border after frame 1.
        turn_probability: probability per frame that a walker turns around.
        num_occluders: full-height foreground pillars per sequence.
        occlusion_frames: ``[min, max]`` frames for which a pillar hides the walker it is sized on.
        num_clutter: background clutter objects per sequence (false-positive bait).
        lighting_noise: std of the per-frame global gain and of each walker's colour gain.
        pixel_noise: std of the Gaussian pixel noise (intensity levels).
        min_visible_area: a mask with fewer visible pixels is not annotated and not detected.
        detectors: detector name (the file ``det/<name>.txt``) -> knobs overriding
            ``DETECTOR_DEFAULTS``; None gives ``DEFAULT_DETECTORS`` (``det`` and a noisier
            ``det2``). After validation every detector holds all its knobs.
    """

    seed: int = 0
    num_train: int = 2
    num_target: int = 2
    num_frames: int = 80
    height: int = 270
    width: int = 480
    num_objects: int = 8
    fps: float = 30.0
    jpeg_quality: int = 90
    pan_px: int = 120
    walk_speed: list[float] = field(default_factory=lambda: [2.0, 3.5])
    person_height: list[float] = field(default_factory=lambda: [0.26, 0.46])
    size_jitter: float = 0.1
    num_shirt_colours: int = 3
    entry_fraction: float = 0.4
    turn_probability: float = 0.01
    num_occluders: int = 2
    occlusion_frames: list[int] = field(default_factory=lambda: [2, 15])
    num_clutter: int = 10
    lighting_noise: float = 0.06
    pixel_noise: float = 3.0
    min_visible_area: int = 40
    detectors: dict[str, Any] | None = None

    def __post_init__(self):
        for key in ("seed", "num_train", "num_target"):
            if int(getattr(self, key)) < 0:
                raise ConfigError(f"data.generator.{key} must be >= 0, got {getattr(self, key)}")
        for key in ("num_frames", "height", "width", "num_objects", "num_shirt_colours"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"data.generator.{key} must be >= 1, got {getattr(self, key)}")
        if int(self.height) < 48 or int(self.width) < 64:
            raise ConfigError("data.generator.height/width must be at least 48 x 64 pixels")
        for key in ("walk_speed", "person_height", "occlusion_frames"):
            value = [float(v) for v in getattr(self, key)]
            if len(value) != 2 or not 0 < value[0] <= value[1]:
                raise ConfigError(f"data.generator.{key} must be [low, high] with 0 < low <= high")
            if key == "occlusion_frames":
                value = [int(v) for v in value]
            setattr(self, key, value)
        if self.person_height[1] > 0.9:
            raise ConfigError(
                "data.generator.person_height must stay below 0.9 of the image height"
            )
        for key in (
            "seed",
            "num_train",
            "num_target",
            "num_frames",
            "height",
            "width",
            "num_objects",
            "jpeg_quality",
            "pan_px",
            "num_shirt_colours",
            "num_occluders",
            "num_clutter",
            "min_visible_area",
        ):
            setattr(self, key, int(getattr(self, key)))
        for key in (
            "fps",
            "size_jitter",
            "entry_fraction",
            "turn_probability",
            "lighting_noise",
            "pixel_noise",
        ):
            setattr(self, key, float(getattr(self, key)))
        self.detectors = _checked_detectors(self.detectors)

    def to_json(self) -> dict:
        """The ``params`` record of ``stats.json``."""
        return {"format_version": FORMAT_VERSION, **asdict(self)}


def _checked_detectors(detectors: Mapping[str, Mapping] | None) -> dict[str, dict]:
    """Each detector's full knobs (its overrides on ``DETECTOR_DEFAULTS``), typed."""
    detectors = DEFAULT_DETECTORS if detectors is None else detectors
    checked = {}
    for name, knobs in dict(detectors).items():
        if not str(name).isidentifier():
            raise ConfigError(f"data.generator.detectors: {name!r} is not a usable file name")
        knobs = dict(knobs or {})
        unknown = set(knobs) - set(DETECTOR_DEFAULTS)
        if unknown:
            raise ConfigError(
                f"data.generator.detectors.{name}: unknown knobs {sorted(unknown)} "
                f"(known: {sorted(DETECTOR_DEFAULTS)})"
            )
        merged = {**DETECTOR_DEFAULTS, **knobs}
        merged["fp_score"] = [float(v) for v in merged["fp_score"]]
        merged["mask_resolution"] = int(merged["mask_resolution"])
        for key, value in merged.items():
            if key not in ("fp_score", "mask_resolution"):
                merged[key] = float(value)
        checked[str(name)] = merged
    return checked
