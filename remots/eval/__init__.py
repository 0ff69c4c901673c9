"""Evaluation: MOTS metrics (HOTA, CLEAR-MOTS, Identity) equal to TrackEval's, in-process.

``evaluate(gt, results, ...)`` on in-memory sequences and instances, ``evaluate_folder`` on a
GT folder and a results folder, ``evaluate_results_folder`` on in-memory ground truth and a
results folder (``evaluate_results_folders``: several, the ground truth decoded once); all
return an ``EvalResult``; the folder functions take a ``WorkerPool`` to evaluate sequences side
by side. ``python track.py stage=eval`` is
``remots.stages.evaluate``.
"""

from remots.eval.metrics import (
    BENCHMARKS,
    check_results,
    evaluate,
    evaluate_folder,
    evaluate_results_folder,
    evaluate_results_folders,
    load_gt,
    read_results_folder,
)
from remots.eval.result import COMBINED, METRIC_NAMES, EvalResult

__all__ = [
    "BENCHMARKS",
    "COMBINED",
    "METRIC_NAMES",
    "EvalResult",
    "check_results",
    "evaluate",
    "evaluate_folder",
    "evaluate_results_folder",
    "evaluate_results_folders",
    "load_gt",
    "read_results_folder",
]
