"""MOTS evaluation on TrackEval's metric classes: HOTA, CLEAR (sMOTSA, MOTSA, ...), Identity.

TrackEval (the MOTSChallenge and KITTI MOTS evaluator) reads files, computes mask IoUs, applies
its preprocessing and runs its metric classes. Here the reading, the IoUs and the preprocessing
happen in memory (``remots.io.mots``, ``remots.eval.preprocess``) and TrackEval's own
``HOTA``, ``CLEAR`` and ``Identity`` classes compute every number, per sequence and combined over
sequences with their ``combine_sequences``, so the results equal TrackEval's.

Each sequence's masks are decoded once (``remots.masks.columns``; the decoding checks the RLE
strings) and checked as TrackEval checks them (no two masks of a frame share a pixel, ground
truth included). ``evaluate_folder`` and ``evaluate_results_folder`` read each file straight
into decoded masks (``remots.io.mots_fast.parse_columns``), one sequence at a time; a file that
breaks a rule or is written in another form is read by ``read_mots_txt``, which names the line
at fault. The decoded ground truth stays with the sequences (``gt_table``), so evaluating many
results against one ground truth (sweeps) decodes it once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from remots import masks
from remots.errors import ConfigError, InputError, MOTSFormatError
from remots.eval.preprocess import (
    EmptyRunsError,
    InvalidRLEError,
    MaskTable,
    OverlapError,
    SequenceMasks,
    preprocess_sequence,
    sequence_masks,
)
from remots.eval.result import EvalResult
from remots.io.export import find_results, read_results
from remots.io.instances import CAR, CLASS_IDS, IGNORE, PEDESTRIAN, Instance, group_by_frame
from remots.io.layouts import Video, load_kitti_mots, load_motschallenge, read_seqmap
from remots.io.mots import read_bytes, read_mots_txt
from remots.io.mots_fast import parse_columns
from remots.masks.columns import MaskColumns, first_overlap, frame_bounds
from remots.parallel import WorkerPool

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
    gt: Sequence[Video],
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
        validate: check the result instances (frames, image size, class, unique ids per frame;
            RLE strings and overlaps are checked in any case, the ground truth's too);
            ``read_results_folder`` reads files already checked.
        results_paths: sequence name -> the results file read, to name it in errors.

    Returns:
        ``EvalResult`` with per-sequence and combined metrics for each class.
    """
    classes = check_options(classes, benchmark, missing)
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
        path = (results_paths or {}).get(seq.name)
        masks = _sequence_masks(seq, gt_table(seq), _results_table(seq, tracker, path), path)
        raw[seq.name] = _evaluate_sequence(masks, classes, metric_classes, seq.name)
    return _combine(raw, classes, metric_classes, benchmark)


def _evaluate_sequence(masks: SequenceMasks, classes, metric_classes, name: str) -> dict:
    """TrackEval's result dicts of each metric for each class of one sequence."""
    out = {}
    for cls in classes:
        data = preprocess_sequence(masks, class_id=CLASS_IDS[cls], seq=name, class_name=cls)
        out[cls] = {metric: m.eval_sequence(data) for metric, m in metric_classes.items()}
    return out


_GT_TABLE = "eval_gt_table"  # seq.extra key: the decoded GT, kept for repeated evaluations


def gt_table(seq: Video) -> MaskTable:
    """The sequence's ground truth decoded for evaluation, checked (RLE strings, no two masks of
    a frame sharing a pixel). Kept in ``seq.extra`` while ``seq.gt`` holds the same instances,
    so sweeps that evaluate many results against one ground truth decode it once."""
    cached = seq.extra.get(_GT_TABLE)
    instances = tuple(seq.gt)
    if cached is not None and cached[0] == instances:
        return cached[1]
    height, width = _image_size(seq, seq.gt)
    where = f"ground truth of sequence {seq.name}"
    try:
        table = MaskTable.from_instances(
            seq.gt, num_frames=seq.num_frames, height=height, width=width
        )
    except InvalidRLEError:
        _raise_invalid_rle(seq.gt, where, seq, seq.gt_path)
    try:
        table.check_exclusive()
    except OverlapError as err:
        _raise_overlap(err, where, seq, seq.gt_path)
    seq.extra[_GT_TABLE] = (instances, table)
    return table


def _image_size(seq: Video, instances) -> tuple[int, int]:
    if seq.height:
        return seq.height, seq.width
    return (instances[0].height, instances[0].width) if instances else (1, 1)


def _results_table(seq: Video, tracker: list[Instance], path) -> MaskTable:
    height, width = _image_size(seq, tracker)
    try:
        return MaskTable.from_instances(
            tracker, num_frames=seq.num_frames, height=height, width=width
        )
    except InvalidRLEError:
        _raise_invalid_rle(tracker, f"results of sequence {seq.name}", seq, path)


def _raise_invalid_rle(instances, where: str, seq: Video, path):
    """Word an invalid RLE string: with the file's line when the file is known."""
    if path is not None:
        read_mots_txt(path, frame_base=seq.frame_base, allowed_classes=None, allow_overlap=True)
    height, width = _image_size(seq, instances)
    for inst in instances:
        try:
            masks.rle_from_string(masks.rle_to_string(inst.rle), height, width)
        except (ValueError, UnicodeError) as err:
            label = inst.frame + seq.frame_base
            raise MOTSFormatError(
                f"{where}: obj_id {inst.obj_id} has a bad RLE: {err}", path, frame=label
            ) from None
    raise MOTSFormatError(f"{where}: a bad RLE string", path)


def _raise_overlap(err: OverlapError, where: str, seq: Video, path):
    """Word two masks of a frame that share pixels: with the file's lines when it is known."""
    label = err.frame + seq.frame_base
    if path is not None:
        read_mots_txt(path, frame_base=seq.frame_base, allowed_classes=None)
    a, b = err.obj_ids
    raise MOTSFormatError(
        f"{where}: masks of obj_id {a} and obj_id {b} overlap in frame {label}; MOTS masks "
        "must not share pixels",
        path,
        frame=label,
    ) from None


def _sequence_masks(seq, gt: MaskTable, tracker: MaskTable, results_path) -> SequenceMasks:
    try:
        return sequence_masks(gt, tracker)
    except OverlapError as err:
        _raise_overlap(err, f"results of sequence {seq.name}", seq, results_path)
    except EmptyRunsError as err:
        raise InputError(f"sequence {seq.name}: {err}", results_path) from None


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


def check_options(classes, benchmark, missing) -> tuple[str, ...]:
    """The evaluated class names, lower case, after checking the benchmark, the classes it
    evaluates and the missing-results policy; a ConfigError names what is wrong."""
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


def check_results(seq: Video, instances: Sequence[Instance]) -> None:
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
    pool: WorkerPool | None = None,
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
        pool: worker processes that evaluate sequences side by side (None: this process).

    Results files use the sequence's frame numbering (1-based MOTSChallenge, 0-based KITTI);
    a bad line raises ``MOTSFormatError`` naming the file and the line.
    """
    if layout not in BENCHMARKS:
        raise ConfigError(f"unknown GT layout {layout!r} (expected one of {BENCHMARKS})")
    benchmark = benchmark or layout
    classes = check_options(classes, benchmark, missing)
    return _evaluate_results_dirs(
        _gt_sequences(gt_root, layout, sequences, seqmap),
        {"results": results_dir},
        gt_from_file=True,
        classes=classes,
        benchmark=benchmark,
        missing=missing,
        pool=pool,
    )["results"]


def evaluate_results_folder(
    gt: Sequence[Video],
    results_dir: str | Path,
    *,
    classes: Sequence[str] = ("pedestrian",),
    benchmark: str = "motschallenge",
    missing: str = "error",
    pool: WorkerPool | None = None,
) -> EvalResult:
    """Evaluate a folder of results files ``<results_dir>/<seq>.txt`` against ground truth in
    memory (``load_gt``, a dataset's split): ``read_results_folder`` + ``evaluate``, with each
    results file read straight into decoded masks. Sweeps and the pipeline's eval stage, which
    hold the ground truth, go this way; the ground truth's decoded masks are kept with it
    (``gt_table``) when the sequences are evaluated in this process (``pool`` None or of one
    worker)."""
    return evaluate_results_folders(
        gt, {"results": results_dir}, classes=classes, benchmark=benchmark, missing=missing,
        pool=pool,
    )["results"]  # fmt: skip


def evaluate_results_folders(
    gt: Sequence[Video],
    results_dirs: Mapping[str, str | Path],
    *,
    classes: Sequence[str] = ("pedestrian",),
    benchmark: str = "motschallenge",
    missing: str = "error",
    pool: WorkerPool | None = None,
) -> dict[str, EvalResult]:
    """``evaluate_results_folder`` of several results folders (``{label: folder}``) against
    the same ground truth, each sequence's ground truth decoded once for all of them; with a
    parallel ``pool`` the sequences are evaluated side by side. Returns ``{label: EvalResult}``,
    the same for any number of workers."""
    classes = check_options(classes, benchmark, missing)
    for seq in gt:
        if seq.gt is None:
            raise InputError(f"sequence {seq.name} has no ground truth to evaluate against")
    return _evaluate_results_dirs(
        gt, results_dirs, gt_from_file=False, classes=classes, benchmark=benchmark,
        missing=missing, pool=pool,
    )  # fmt: skip


def _evaluate_results_dirs(
    seqs, results_dirs, *, gt_from_file, classes, benchmark, missing, pool
) -> dict[str, EvalResult]:
    """Evaluate each folder's results of each sequence (``find_results``: ``<seq>.txt``, a MOTS
    png folder, ...) against its ground truth (read from ``seq.gt_path`` with ``gt_from_file``,
    else ``gt_table(seq)``), one sequence per task; combined in name order, as TrackEval's
    Evaluator."""
    dirs = {label: Path(d) for label, d in results_dirs.items()}
    for results_dir in dirs.values():
        if not results_dir.is_dir():
            raise InputError("results folder not found", results_dir)
    seqs = sorted(seqs, key=lambda s: s.name)
    tasks = []
    for seq in seqs:
        paths = {}
        for label, results_dir in dirs.items():
            path = find_results(results_dir, seq.name)
            if path is None:
                if missing == "error":
                    raise InputError(
                        f"no results file for sequence {seq.name} (eval.missing=empty counts it "
                        "as empty)",
                        results_dir / f"{seq.name}.txt",
                    )
                log.warning("no results for sequence %s in %s: counted as empty", seq.name, label)
            paths[label] = path
        tasks.append((seq, paths, tuple(classes), gt_from_file))
    done: dict[str, dict] = {}
    results = (pool or WorkerPool(1)).map_unordered(_evaluate_sequence_task, tasks)
    for i, raw_of_label in tqdm(
        results, desc="evaluate", unit="seq", total=len(tasks), disable=None
    ):
        done[seqs[i].name] = raw_of_label
    metric_classes = _metric_classes()
    return {
        label: _combine(
            {seq.name: done[seq.name][label] for seq in seqs}, classes, metric_classes, benchmark
        )
        for label in dirs
    }


def _evaluate_sequence_task(task) -> dict[str, dict]:
    """One sequence against each results file of ``task`` (run by the worker processes):
    ``{label: TrackEval's result dicts per class}``."""
    seq, paths, classes, gt_from_file = task
    metric_classes = _metric_classes()
    gt = _read_table(seq.gt_path, seq, is_gt=True)[1] if gt_from_file else gt_table(seq)
    out = {}
    for label, path in paths.items():
        tracker = _read_table(path, seq, is_gt=False)[1]
        masks = _sequence_masks(seq, gt, tracker, path)
        out[label] = _evaluate_sequence(masks, classes, metric_classes, seq.name)
    return out


def _read_table(path: Path | None, seq: Video, *, is_gt: bool):
    """Read a MOTS txt file (ground truth or results of ``seq``; ``path`` None: no masks)
    straight into columns and a ``MaskTable``, checked as ``read_mots_txt`` checks it; returns
    ``(columns or None, table)``. The ground truth's first line gives the sequence's image size
    if it is not known yet. A file the columns reader does not take (it breaks a rule, or is
    written in another form) goes through ``read_mots_txt``, which raises the error naming the
    line at fault."""
    allowed = (CAR, PEDESTRIAN, IGNORE) if is_gt else RESULT_CLASSES
    size = seq.image_size if seq.height else None
    if path is not None and not is_gt and (path.is_dir() or seq.frame_step != 1):
        # a MOTS png folder, or every n-th frame of a source: read as instances
        return None, _results_table(seq, read_results(path, seq), path)
    data = read_bytes(path) if path is not None else b""
    columns = parse_columns(data, seq.frame_base, seq.num_frames, size, allowed)
    table = None
    if columns is not None and (columns.height or seq.height):
        height, width = (columns.height, columns.width) if columns.height else seq.image_size
        decoded = MaskColumns.from_chars(columns.rle_chars, columns.rle_lengths, height, width)
        if decoded is not None:
            table = MaskTable(
                frame=columns.frame,
                obj_id=columns.obj_id,
                class_id=columns.class_id,
                columns=decoded,
                bounds=frame_bounds(columns.frame, seq.num_frames),
            )
            if is_gt and first_overlap(decoded, table.bounds) is not None:
                table = None
    if table is None and path is not None:
        columns = None
        instances = read_mots_txt(
            path,
            frame_base=seq.frame_base,
            num_frames=seq.num_frames,
            image_size=size,
            allowed_classes=allowed,
            allow_overlap=not is_gt,
        )
        if not seq.height and not instances:
            raise InputError("cannot tell the image size (no images, empty GT)", path)
        height, width = _image_size(seq, instances)
        table = MaskTable.from_instances(
            instances, num_frames=seq.num_frames, height=height, width=width
        )
    if table is None:
        raise InputError("cannot tell the image size (no images, empty GT)", path)
    if is_gt and not seq.height:
        seq.height, seq.width = table.columns.height, table.columns.width
    return columns, table


def read_results_folder(
    results_dir: str | Path, gt: Sequence[Video], *, missing: str = "error"
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
) -> list[Video]:
    """Sequences of a GT folder with their ground truth, checked as ``read_mots_txt`` checks
    it; the decoded masks are kept for ``evaluate`` and ``evaluate_results_folder``."""
    seqs = _gt_sequences(gt_root, layout, sequences, seqmap)
    for seq in seqs:
        columns, table = _read_table(seq.gt_path, seq, is_gt=True)
        if columns is None:  # read by read_mots_txt
            seq.gt = read_mots_txt(
                seq.gt_path, frame_base=seq.frame_base, num_frames=seq.num_frames
            )
        else:
            size = [table.columns.height, table.columns.width]
            seq.gt = [
                Instance(f, o, c, {"size": size, "counts": rle})
                for f, o, c, rle in zip(
                    columns.frame.tolist(),
                    columns.obj_id.tolist(),
                    columns.class_id.tolist(),
                    columns.counts(),
                    strict=True,
                )
            ]
        seq.extra[_GT_TABLE] = (tuple(seq.gt), table)
    return seqs


def _gt_sequences(gt_root, layout, sequences, seqmap) -> list[Video]:
    """The sequences of a GT folder, their ground truth not read yet (``gt_path`` set)."""
    if layout not in BENCHMARKS:
        raise ConfigError(f"unknown GT layout {layout!r} (expected one of {BENCHMARKS})")
    gt_root = Path(gt_root)
    sequences = list(sequences) if sequences else None
    if layout == "motschallenge":
        seqs = load_motschallenge(gt_root, sequences=sequences, with_gt=False)
        for seq in seqs:
            seq.gt_path = seq.extra["seq_dir"] / "gt" / "gt.txt"
        return seqs
    return _kitti_sequences(gt_root, sequences, seqmap)


def _kitti_sequences(root: Path, sequences, seqmap) -> list[Video]:
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
            Video(
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
    "evaluate_results_folder",
    "evaluate_results_folders",
    "gt_table",
    "load_gt",
    "read_results_folder",
    "summarize",
]
