"""Perturbed results stay valid MOTS results and are deterministic for a seed."""

import numpy as np
import pytest

from remots import masks
from remots.io.instances import IGNORE, group_by_frame
from tests.support.perturb import perturb_results

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_perturbed_results_are_exclusive_unique_and_reproducible(kitti_sequences):
    seq = next(s for s in kitti_sequences if s.name == "0012")

    def make(seed):
        return perturb_results(
            seq.gt, num_frames=seq.num_frames, rng=np.random.default_rng(seed), false_positives=0.3
        )

    results = make(5)
    assert [(i.frame, i.obj_id, i.rle["counts"]) for i in results] == [
        (i.frame, i.obj_id, i.rle["counts"]) for i in make(5)
    ]
    assert [i.rle["counts"] for i in results] != [i.rle["counts"] for i in make(6)]
    assert all(i.class_id in (1, 2) for i in results)
    for frame in group_by_frame(results, seq.num_frames):
        ids = [i.obj_id for i in frame]
        assert len(ids) == len(set(ids))
        assert masks.overlapping_pairs([i.rle for i in frame]) == []
    n_gt = sum(i.class_id != IGNORE for i in seq.gt)
    gt_masks = {(i.frame, i.rle["counts"]) for i in seq.gt}
    unchanged = sum((i.frame, i.rle["counts"]) in gt_masks for i in results)
    assert 0.4 * n_gt < unchanged < 0.9 * n_gt  # some masks kept, many changed or dropped
