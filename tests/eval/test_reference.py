"""Cross-check: our metrics equal TrackEval's own evaluator (its KittiMOTS / MOTSChallenge
dataset classes on files) to 1e-9, on the real KITTI MOTS ground truth with perturbed results."""

import numpy as np
import pytest

from remots.eval import METRIC_NAMES, evaluate, evaluate_folder
from remots.io.instances import IGNORE
from tests.support.perturb import perturb_results
from tests.support.reference import evaluate_with_trackeval, write_trackeval_layout

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DEFAULT_SEQUENCES = ("0003", "0012", "0017")  # small ones; all 12 under -m slow
SETTINGS = {
    "mixed": dict(drop=0.15, erode=0.2, dilate=0.2, swaps=3, splits=3, false_positives=0.15),
    "ignore_fps": dict(
        drop=0.05, erode=0.0, dilate=0.3, swaps=1, splits=1, false_positives=0.4, in_ignore=0.9
    ),
}


def _perturbed(sequences, setting, seed):
    rng = np.random.default_rng(seed)
    return {
        s.name: perturb_results(s.gt, num_frames=s.num_frames, rng=rng, **SETTINGS[setting])
        for s in sequences
    }


def _assert_equal(ours, ref):
    assert ours.sequences == ref.sequences
    for cls in ours.classes:
        for m in METRIC_NAMES:
            assert ours.combined[cls][m] == pytest.approx(ref.combined[cls][m], abs=1e-9), (cls, m)
            for seq in ours.sequences:
                got, want = ours.per_sequence[seq][cls][m], ref.per_sequence[seq][cls][m]
                assert got == pytest.approx(want, abs=1e-9), (seq, cls, m)


def _cross_check(sequences, setting, seed, tmp_path):
    results = _perturbed(sequences, setting, seed)
    classes = ("car", "pedestrian")
    ours = evaluate(sequences, results, classes=classes, benchmark="kitti_mots")
    ref = evaluate_with_trackeval(
        sequences, results, tmp_path / "kitti", classes=classes, benchmark="kitti_mots"
    )
    _assert_equal(ours, ref)
    # the same files in MOTSChallenge's layout (1-based frames), pedestrians
    ours = evaluate(sequences, results, classes=("pedestrian",), benchmark="motschallenge")
    ref = evaluate_with_trackeval(
        sequences, results, tmp_path / "mots", classes=("pedestrian",), benchmark="motschallenge"
    )
    _assert_equal(ours, ref)
    return results


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_equals_trackeval_on_perturbed_kitti_mots(kitti_sequences, setting, tmp_path):
    sequences = [s for s in kitti_sequences if s.name in DEFAULT_SEQUENCES]
    results = _cross_check(sequences, setting, seed=7, tmp_path=tmp_path)
    # the comparison is not vacuous: errors of every kind happened, and the ignore rule fired
    ours = evaluate(sequences, results, classes=("car", "pedestrian"), benchmark="kitti_mots")
    car = ours.combined["car"]
    assert car["FP"] > 0 and car["FN"] > 0 and car["IDSW"] > 0 and car["Frag"] > 0
    assert 0.3 < car["HOTA"] < 0.95
    no_ignore = [
        s.__class__(**{**s.__dict__, "gt": [i for i in s.gt if i.class_id != IGNORE]})
        for s in sequences
    ]
    without = evaluate(no_ignore, results, classes=("car", "pedestrian"), benchmark="kitti_mots")
    fps = sum(ours.combined[c]["FP"] for c in ours.classes)
    assert sum(without.combined[c]["FP"] for c in ours.classes) > fps


def test_evaluate_folder_reads_the_files_trackeval_reads(kitti_sequences, tmp_path):
    sequences = [s for s in kitti_sequences if s.name in DEFAULT_SEQUENCES]
    results = _perturbed(sequences, "mixed", seed=3)
    config = write_trackeval_layout(sequences, results, tmp_path, benchmark="kitti_mots")
    ours = evaluate_folder(
        tmp_path / "gt",
        tmp_path / "trackers" / "remots" / "data",
        layout="kitti_mots",
        seqmap=config["SEQMAP_FILE"],
        classes=("car", "pedestrian"),
    )
    _assert_equal(
        ours, evaluate(sequences, results, classes=("car", "pedestrian"), benchmark="kitti_mots")
    )


@pytest.mark.slow
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_equals_trackeval_on_all_kitti_mots_sequences(kitti_sequences, setting, tmp_path):
    _cross_check(kitti_sequences, setting, seed=11, tmp_path=tmp_path)


def test_evaluate_folder_motschallenge_layout(kitti_sequences, tmp_path):
    sequences = [s for s in kitti_sequences if s.name in DEFAULT_SEQUENCES[:2]]
    results = _perturbed(sequences, "mixed", seed=5)
    write_trackeval_layout(sequences, results, tmp_path, benchmark="motschallenge")
    ours = evaluate_folder(
        tmp_path / "gt", tmp_path / "trackers" / "remots" / "data", layout="motschallenge"
    )
    assert ours.benchmark == "motschallenge"
    _assert_equal(ours, evaluate(sequences, results))
