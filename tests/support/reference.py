"""TrackEval's own evaluator, run on files: the reference ``remots.eval`` is checked against.

Writes ground truth and results in the folder layout TrackEval's ``KittiMOTS`` or
``MOTSChallenge`` dataset class expects (or takes folders already in it), runs
``trackeval.Evaluator`` with the HOTA, CLEAR and Identity metrics, and returns its numbers as an
``EvalResult``. Used by the cross-check tests and ``benchmarks/bench_eval.py``; the evaluation
itself (``remots.eval.evaluate``) never goes through files.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from remots.eval.metrics import check_options, summarize
from remots.eval.result import EvalResult
from remots.io.instances import Instance
from remots.io.layouts import Video, format_seqinfo, write_seqmap
from remots.io.mots import write_mots_txt

log = logging.getLogger(__name__)

TRACKER_NAME = "remots"


def write_trackeval_layout(
    gt: Sequence[Video],
    results: Mapping[str, Sequence[Instance]],
    root: str | Path,
    *,
    benchmark: str,
) -> dict:
    """Write GT and results under ``root`` in TrackEval's layout; return the dataset config.

    kitti_mots: ``gt/instances_txt/<seq>.txt`` (0-based; KITTI MOTS' own layout, so
    ``evaluate_folder`` reads the same files), ``gt/evaluate_mots.seqmap.val``,
    ``trackers/remots/data/<seq>.txt``. Sequence names must be numbers (TrackEval reads the
    seqmap's first column as ``%04d``). motschallenge: ``gt/<seq>/{gt/gt.txt, seqinfo.ini}``
    (1-based), ``gt/seqmaps/MOTS-train.txt``, ``trackers/remots/data/<seq>.txt``.
    """
    root = Path(root)
    gt_folder, trackers = root / "gt", root / "trackers"
    data = trackers / TRACKER_NAME / "data"
    base = 0 if benchmark == "kitti_mots" else 1
    for seq in gt:
        write_mots_txt(data / f"{seq.name}.txt", results.get(seq.name, []), frame_base=base)
        if benchmark == "kitti_mots":
            write_mots_txt(gt_folder / "instances_txt" / f"{seq.name}.txt", seq.gt, frame_base=0)
        else:
            seq_dir = gt_folder / seq.name
            write_mots_txt(seq_dir / "gt" / "gt.txt", seq.gt, frame_base=1)
            (seq_dir / "seqinfo.ini").write_text(
                format_seqinfo(seq.name, seq.num_frames, seq.width, seq.height)
            )
    if benchmark == "kitti_mots":
        seqs = [_with_base(s, 0) for s in gt]
        seqmap = write_seqmap(gt_folder / "evaluate_mots.seqmap.val", seqs, style="kitti")
    else:
        seqmap = write_seqmap(gt_folder / "seqmaps" / "MOTS-train.txt", gt, style="motchallenge")
    config = {
        "GT_FOLDER": str(gt_folder),
        "TRACKERS_FOLDER": str(trackers),
        "SEQMAP_FILE": str(seqmap),
        "TRACKERS_TO_EVAL": [TRACKER_NAME],
    }
    if benchmark == "kitti_mots":
        config["GT_LOC_FORMAT"] = "{gt_folder}/instances_txt/{seq}.txt"
    return config


def _with_base(seq: Video, base: int) -> Video:
    from dataclasses import replace

    return replace(seq, frame_base=base)


def run_trackeval(
    dataset_config: dict,
    *,
    benchmark: str,
    classes: Sequence[str] = ("pedestrian",),
) -> EvalResult:
    """Run ``trackeval.Evaluator`` with HOTA, CLEAR and Identity on a dataset config.

    ``dataset_config`` holds TrackEval's keys (``GT_FOLDER``, ``TRACKERS_FOLDER``,
    ``SEQMAP_FILE``, ``GT_LOC_FORMAT``, ...), e.g. from ``write_trackeval_layout``. TrackEval's
    console output is captured and logged at debug level.
    """
    import trackeval

    classes = check_options(classes, benchmark, "error")
    config = {
        "PRINT_CONFIG": False,
        "OUTPUT_FOLDER": None,
        "TRACKERS_TO_EVAL": [TRACKER_NAME],
        **dataset_config,
        "CLASSES_TO_EVAL": list(classes),
    }
    if benchmark == "kitti_mots":
        dataset = trackeval.datasets.KittiMOTS(config)
    else:
        config.setdefault("SKIP_SPLIT_FOL", True)
        config.setdefault("SPLIT_TO_EVAL", "train")
        dataset = trackeval.datasets.MOTSChallenge(config)
    evaluator = trackeval.Evaluator(
        {
            "USE_PARALLEL": False,
            "PRINT_RESULTS": False,
            "PRINT_CONFIG": False,
            "TIME_PROGRESS": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "LOG_ON_ERROR": None,
        }
    )
    metrics = [
        trackeval.metrics.HOTA(),
        trackeval.metrics.CLEAR({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
        trackeval.metrics.Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False}),
    ]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        output_res, output_msg = evaluator.evaluate([dataset], metrics)
    log.debug("TrackEval output:\n%s", out.getvalue())
    name = dataset.get_name()
    tracker = config["TRACKERS_TO_EVAL"][0]
    if output_msg[name][tracker] != "Success":
        raise RuntimeError(f"TrackEval failed: {output_msg[name][tracker]}")
    res = output_res[name][tracker]
    seqs = sorted(k for k in res if k != "COMBINED_SEQ")
    return EvalResult(
        per_sequence={s: {c: summarize(res[s][c]) for c in classes} for s in seqs},
        combined={c: summarize(res["COMBINED_SEQ"][c]) for c in classes},
        classes=tuple(classes),
        benchmark=benchmark,
        trackeval=res,
    )


def evaluate_with_trackeval(
    gt: Sequence[Video],
    results: Mapping[str, Sequence[Instance]],
    workdir: str | Path,
    *,
    classes: Sequence[str] = ("pedestrian",),
    benchmark: str = "motschallenge",
) -> EvalResult:
    """``remots.eval.evaluate``'s job done by TrackEval's evaluator on files under ``workdir``."""
    config = write_trackeval_layout(gt, results, workdir, benchmark=benchmark)
    return run_trackeval(config, benchmark=benchmark, classes=classes)
