"""MOTS evaluation on TrackEval's metric classes: HOTA, CLEAR (sMOTSA, MOTSA, ...), Identity.

TrackEval (the MOTSChallenge and KITTI MOTS evaluator) reads files, computes mask IoUs, applies
its preprocessing and runs its metric classes. Here the reading, the IoUs and the preprocessing
happen in memory (``remots.io.mots``, ``remots.eval.preprocess``) and TrackEval's own
``HOTA``, ``CLEAR`` and ``Identity`` classes compute every number, per sequence and combined over
sequences with their ``combine_sequences``, so the results equal TrackEval's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from remots.errors import ConfigError, InputError, MOTSFormatError
from remots.eval.preprocess import (
    FrameMasks,
    OverlapError,
    preprocess_sequence,
    sequence_frames,
)
from remots.eval.result import EvalResult
from remots.io.layouts import Sequence as MOTSSequence
from remots.io.layouts import load_kitti_mots, load_motschallenge, read_seqmap
from remots.io.mots import (
    CAR,
    CLASS_IDS,
    IGNORE,
    PEDESTRIAN,
    Instance,
    group_by_frame,
    read_mots_txt,
)

log = logging.getLogger(__name__)

BENCHMARKS = ("motschallenge", "kitti_mots")
# The classes each official evaluator accepts (TrackEval's MOTSChallenge: pedestrian only).
BENCHMARK_CLASSES = {"motschallenge": ("pedestrian",), "kitti_mots": ("car", "pedestrian")}
RESULT_CLASSES = (CAR, PEDESTRIAN)


def _metric_classes():
    from trackeval.metrics import CLEAR, HOTA, Identity

    config = {"THRESHOLD": 0.5, "PRINT_CONFIG": False}
    return {"HOTA": HOTA(), "CLEAR": CLEAR(dict(config)), "Identity": Identity(dict(config))}


def summarize(res: Mapping[str, dict]) -> dict[str, float]:
    """Our metric names from TrackEval's result dicts of one sequence (or the combination) and
    class: HOTA-family values are the mean over the 19 alpha thresholds, as TrackEval reports."""
    hota, clear, identity = res["HOTA"], res["CLEAR"], res["Identity"]
    out = {name: float(np.mean(hota[name])) for name in ("HOTA", "DetA", "AssA", "LocA")}
    for ours, theirs in (
        ("sMOTSA", "sMOTA"),
        ("MOTSA", "MOTA"),
        ("MOTSP", "MOTP"),
        ("MODSA", "MODA"),
    ):
        out[ours] = float(clear[theirs])
    for ours, theirs in (
        ("TP", "CLR_TP"),
        ("FP", "CLR_FP"),
        ("FN", "CLR_FN"),
        ("IDSW", "IDSW"),
        ("Frag", "Frag"),
        ("MT", "MT"),
        ("PT", "PT"),
        ("ML", "ML"),
    ):
        out[ours] = int(clear[theirs])
    for name in ("IDF1", "IDP", "IDR"):
        out[name] = float(identity[name])
    return out


def evaluate(
    gt: Sequence[MOTSSequence],
    results: Mapping[str, Sequence[Instance]],
    *,
    classes: Sequence[str] = ("pedestrian",),
    benchmark: str = "motschallenge",
    missing: str = "error",
    validate: bool = True,
    results_paths: Mapping[str, Path] | None = None,
) -> EvalResult:
    """Evaluate tracking results against ground truth, as TrackEval's MOTS evaluators do.

    Args:
        gt: sequences with ``.gt`` (0-based ``Instance`` lists, ignore regions as class 10),
            ``.num_frames`` and ``.height``/``.width``.
        results: sequence name -> 0-based result instances (class 1 car, 2 pedestrian).
        classes: class names evaluated, each on its own ("pedestrian", "car").
        benchmark: "motschallenge" or "kitti_mots": whose evaluator's rules to follow (the
            preprocessing is the same; MOTSChallenge evaluates pedestrians only).
        missing: "error" (a sequence without results is an error) or "empty" (count it as a
            sequence where nothing was tracked).
        validate: check the result instances (frames, image size, class, unique ids per frame,
            no overlaps are checked in any case); ``evaluate_folder`` reads files already
            checked.
        results_paths: sequence name -> the results file read, to name it in errors.

    Returns:
        ``EvalResult`` with per-sequence and combined metrics for each class.
    """
    classes = _check_options(classes, benchmark, missing)
    extra = sorted(set(results) - {seq.name for seq in gt})
    if extra:
        log.warning("results for sequences not in the ground truth are ignored: %s", extra)
    metric_classes = _metric_classes()
    raw: dict[str, dict] = {}
    for seq in tqdm(sorted(gt, key=lambda s: s.name), desc="evaluate", unit="seq", disable=None):
        if seq.gt is None:
            raise InputError(f"sequence {seq.name} has no ground truth to evaluate against")
        if seq.name in results:
            tracker = list(results[seq.name])
        elif missing == "empty":
            log.warning("no results for sequence %s: counted as empty", seq.name)
            tracker = []
        else:
            raise InputError(
                f"no results for sequence {seq.name} (pass missing='empty' / "
                "eval.missing=empty to count it as empty)"
            )
        if validate:
            check_results(seq, tracker)
        frames = _frames(seq, tracker, (results_paths or {}).get(seq.name))
        raw[seq.name] = {}
        for cls in classes:
            data = preprocess_sequence(
                frames, class_id=CLASS_IDS[cls], seq=seq.name, class_name=cls
            )
            raw[seq.name][cls] = {
                name: metric.eval_sequence(data) for name, metric in metric_classes.items()
            }
    return _combine(raw, classes, metric_classes, benchmark)


def _frames(seq: MOTSSequence, tracker: list[Instance], results_path) -> list[FrameMasks]:
    """Per-frame IoUs; an overlap is reported with the file and line when the file is known."""
    try:
        return sequence_frames(seq.gt, tracker, num_frames=seq.num_frames)
    except OverlapError as err:
        label = err.frame + seq.frame_base
        if results_path is not None:  # word the error with the file's line
            read_mots_txt(results_path, frame_base=seq.frame_base, allowed_classes=None)
        a, b = err.pair
        raise MOTSFormatError(
            f"results of sequence {seq.name}: masks of obj_id {a.obj_id} and obj_id "
            f"{b.obj_id} overlap in frame {label}; MOTS masks must not share pixels",
            results_path,
            frame=label,
        ) from None


def _combine(raw: dict, classes, metric_classes, benchmark) -> EvalResult:
    """Combine over sequences (in sorted order, as TrackEval's Evaluator) per class."""
    seqs = sorted(raw)
    combined_raw = {
        cls: {
            name: metric.combine_sequences({seq: raw[seq][cls][name] for seq in seqs})
            for name, metric in metric_classes.items()
        }
        for cls in classes
    }
    return EvalResult(
        per_sequence={seq: {cls: summarize(raw[seq][cls]) for cls in classes} for seq in seqs},
        combined={cls: summarize(combined_raw[cls]) for cls in classes},
        classes=tuple(classes),
        benchmark=benchmark,
        trackeval={**raw, "COMBINED_SEQ": combined_raw},
    )


def _check_options(classes, benchmark, missing) -> tuple[str, ...]:
    if benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {benchmark!r} (expected one of {BENCHMARKS})")
    if missing not in ("error", "empty"):
        raise ConfigError(f"missing must be 'error' or 'empty', not {missing!r}")
    if isinstance(classes, str):
        classes = (classes,)
    classes = tuple(c.lower() for c in classes)
    if not classes:
        raise ConfigError("no class to evaluate")
    valid = BENCHMARK_CLASSES[benchmark]
    for cls in classes:
        if cls not in valid:
            raise ConfigError(f"class {cls!r} cannot be evaluated on {benchmark} (valid: {valid})")
    return classes


def check_results(seq: MOTSSequence, instances: Sequence[Instance]) -> None:
    """Raise ``MOTSFormatError`` naming the sequence and frame if results break the rules the
    official evaluators assume: frames within the sequence, masks of the sequence's image size,
    class car or pedestrian, obj_ids unique within a frame. (Masks sharing pixels are found by
    ``evaluate`` in the IoUs it computes.)"""
    where = f"results of sequence {seq.name}"
    for inst in instances:
        label = inst.frame + seq.frame_base
        if not 0 <= inst.frame < seq.num_frames:
            raise MOTSFormatError(
                f"{where}: frame {label} is outside the sequence (valid frames: "
                f"{seq.frame_base}..{seq.frame_base + seq.num_frames - 1})",
                frame=label,
            )
        if (inst.height, inst.width) != (seq.height, seq.width):
            raise MOTSFormatError(
                f"{where}: mask of obj_id {inst.obj_id} is {inst.height}x{inst.width}, the "
                f"images are {seq.height}x{seq.width}",
                frame=label,
            )
        if inst.class_id not in RESULT_CLASSES:
            raise MOTSFormatError(
                f"{where}: obj_id {inst.obj_id} has class_id {inst.class_id} (expected one of "
                f"{list(RESULT_CLASSES)})",
                frame=label,
            )
    for t, frame in enumerate(group_by_frame(instances, seq.num_frames)):
        if len(frame) < 2:
            continue
        ids = [inst.obj_id for inst in frame]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise MOTSFormatError(
                f"{where}: obj_id {dup} appears twice in frame {t + seq.frame_base}",
                frame=t + seq.frame_base,
            )


# ----------------------------------------------------------------------------- folders


def evaluate_folder(
    gt_root: str | Path,
    results_dir: str | Path,
    *,
    layout: str,
    sequences: Sequence[str] | None = None,
    seqmap: str | Path | None = None,
    classes: Sequence[str] = ("pedestrian",),
    benchmark: str | None = None,
    missing: str = "error",
) -> EvalResult:
    """Evaluate a folder of results files ``<results_dir>/<seq>.txt`` against a GT folder.

    Args:
        gt_root: a MOTSChallenge split folder (``<seq>/{gt/gt.txt, seqinfo.ini}``) or a KITTI
            MOTS folder (``instances_txt/<seq>.txt``, ``image_02/<seq>/`` or a seqmap).
        layout: "motschallenge" or "kitti_mots".
        sequences: the sequences evaluated (default: all of the GT folder / seqmap).
        seqmap: KITTI MOTS seqmap, relative to ``gt_root`` or absolute.
        benchmark: whose rules to follow; default: the layout's.
        missing: "error" or "empty" for a sequence without a results file.

    Results files use the sequence's frame numbering (1-based MOTSChallenge, 0-based KITTI);
    a bad line raises ``MOTSFormatError`` naming the file and the line.
    """
    if layout not in BENCHMARKS:
        raise ConfigError(f"unknown GT layout {layout!r} (expected one of {BENCHMARKS})")
    benchmark = benchmark or layout
    classes = _check_options(classes, benchmark, missing)
    gt = load_gt(gt_root, layout=layout, sequences=sequences, seqmap=seqmap)
    results, paths = read_results_folder(results_dir, gt, missing=missing)
    return evaluate(
        gt,
        results,
        classes=classes,
        benchmark=benchmark,
        missing=missing,
        validate=False,
        results_paths=paths,
    )


def read_results_folder(
    results_dir: str | Path, gt: Sequence[MOTSSequence], *, missing: str = "error"
) -> tuple[dict[str, list[Instance]], dict[str, Path]]:
    """Read ``<results_dir>/<seq>.txt`` for each GT sequence, checked against it (frames,
    image size, classes car/pedestrian, unique ids; overlaps are found by ``evaluate``).

    Returns ``(results, paths)`` to pass to ``evaluate(..., validate=False,
    results_paths=paths)``. A missing file is an error unless ``missing="empty"``.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise InputError("results folder not found", results_dir)
    results: dict[str, list[Instance]] = {}
    paths: dict[str, Path] = {}
    for seq in gt:
        path = results_dir / f"{seq.name}.txt"
        if not path.exists():
            if missing == "error":
                raise InputError(
                    f"no results file for sequence {seq.name} (eval.missing=empty counts it as "
                    "empty)",
                    path,
                )
            continue
        results[seq.name] = read_mots_txt(
            path,
            frame_base=seq.frame_base,
            num_frames=seq.num_frames,
            image_size=seq.image_size,
            allowed_classes=RESULT_CLASSES,
            allow_overlap=True,  # overlaps are found in the IoUs the evaluation computes anyway
        )
        paths[seq.name] = path
    return results, paths


def load_gt(
    gt_root: str | Path,
    *,
    layout: str,
    sequences: Sequence[str] | None = None,
    seqmap: str | Path | None = None,
) -> list[MOTSSequence]:
    """Sequences of a GT folder with their ground truth, read with ``read_mots_txt``."""
    gt_root = Path(gt_root)
    sequences = list(sequences) if sequences else None
    if layout == "motschallenge":
        seqs = load_motschallenge(gt_root, sequences=sequences, with_gt=False)
        for seq in seqs:
            seq.gt_path = seq.extra["seq_dir"] / "gt" / "gt.txt"
    else:
        seqs = _kitti_sequences(gt_root, sequences, seqmap)
    for seq in seqs:
        if seq.gt is None:
            seq.gt = read_mots_txt(
                seq.gt_path,
                frame_base=seq.frame_base,
                num_frames=seq.num_frames,
                image_size=seq.image_size if seq.height else None,
            )
            if not seq.height:
                if not seq.gt:
                    raise InputError(
                        "cannot tell the image size (no images, empty GT)", seq.gt_path
                    )
                seq.height, seq.width = seq.gt[0].height, seq.gt[0].width
    return seqs


def _kitti_sequences(root: Path, sequences, seqmap) -> list[MOTSSequence]:
    """KITTI MOTS sequences without their GT read yet: from the images when there are some,
    else length from the seqmap (or the GT's last frame) and size from the GT's first mask."""
    try:
        seqs = load_kitti_mots(root, sequences=sequences, seqmap=seqmap, with_gt=False)
    except InputError:
        seqs = None
    if seqs is not None:
        for seq in seqs:
            seq.gt_path = root / "instances_txt" / f"{seq.name}.txt"
        return seqs
    ranges = {}
    if seqmap is not None:
        path = Path(seqmap) if Path(seqmap).is_absolute() else root / seqmap
        ranges = {name: last for name, _, last in read_seqmap(path)}
    names = (
        sequences or list(ranges) or sorted(p.stem for p in (root / "instances_txt").glob("*.txt"))
    )
    if not names:
        raise InputError("no KITTI MOTS sequences found", root)
    out = []
    for name in names:
        gt_path = root / "instances_txt" / f"{name}.txt"
        if ranges.get(name, -1) >= 0:
            num_frames = ranges[name] + 1
        else:  # the GT's last frame: read it once here
            gt = read_mots_txt(gt_path, frame_base=0)
            num_frames = max((i.frame for i in gt), default=-1) + 1
            if num_frames <= 0:
                raise InputError("cannot tell the sequence's length (no seqmap, empty GT)", gt_path)
        out.append(
            MOTSSequence(
                name=name,
                num_frames=num_frames,
                height=0,
                width=0,
                frame_base=0,
                fps=10.0,
                gt_path=gt_path,
                extra={"seq_dir": root},
            )
        )
    return out


__all__ = [
    "BENCHMARKS",
    "IGNORE",
    "check_results",
    "evaluate",
    "evaluate_folder",
    "load_gt",
    "read_results_folder",
    "summarize",
]
