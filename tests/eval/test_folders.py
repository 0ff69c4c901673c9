"""Several results folders against one ground truth (``evaluate_results_folders``), on one and
on several worker processes: the same numbers as one folder at a time in this process."""

import numpy as np
import pytest

from remots.eval import evaluate_folder, evaluate_results_folder, evaluate_results_folders
from remots.io.mots import write_mots_txt
from remots.parallel import WorkerPool
from tests.support.perturb import perturb_results

SEQUENCES = ("0003", "0012", "0017")
SETTINGS = (
    dict(drop=0.15, erode=0.2, dilate=0.2, swaps=3, splits=3, false_positives=0.15),
    dict(drop=0.05, erode=0.0, dilate=0.3, swaps=1, splits=1, false_positives=0.4),
)


@pytest.fixture(scope="module")
def folders(kitti_sequences, tmp_path_factory):
    sequences = [s for s in kitti_sequences if s.name in SEQUENCES]
    rng = np.random.default_rng(0)
    out = {}
    for k, setting in enumerate(SETTINGS):
        folder = tmp_path_factory.mktemp(f"results{k}")
        for s in sequences:
            results = perturb_results(s.gt, num_frames=s.num_frames, rng=rng, **setting)
            write_mots_txt(folder / f"{s.name}.txt", results, frame_base=s.frame_base)
        out[f"perturbed{k}"] = folder
    return sequences, out


def _numbers(result):
    return result.sequences, result.per_sequence, result.combined


def test_several_folders_on_workers_equal_one_folder_at_a_time(folders, kitti_root):
    sequences, dirs = folders
    kw = dict(classes=("car", "pedestrian"), benchmark="kitti_mots")
    one_by_one = {label: evaluate_results_folder(sequences, d, **kw) for label, d in dirs.items()}
    assert _numbers(one_by_one["perturbed0"]) != _numbers(one_by_one["perturbed1"])
    for workers in (1, 3):
        with WorkerPool(workers) as pool:
            together = evaluate_results_folders(sequences, dirs, pool=pool, **kw)
            from_files = evaluate_folder(
                kitti_root,
                dirs["perturbed0"],
                layout="kitti_mots",
                seqmap="seqmaps/train.seqmap",
                sequences=list(SEQUENCES),
                pool=pool,
                **kw,
            )
        for label in dirs:
            assert _numbers(together[label]) == _numbers(one_by_one[label])
        assert _numbers(from_files) == _numbers(one_by_one["perturbed0"])
