"""TrackEval's preprocessing in memory: similarities, the ignore-region rule, relabelling."""

import numpy as np
import pytest

from remots.errors import MOTSFormatError
from remots.eval import evaluate
from remots.eval.preprocess import OverlapError, preprocess_sequence, sequence_frames
from tests.eval.conftest import cols, tiny_sequence


def test_preprocess_relabels_ids_and_leaves_out_empty_timesteps():
    gt = [cols(0, 2007, 0, 2), cols(2, 2003, 0, 2), cols(2, 2007, 4, 6), cols(1, 1001, 6, 8)]
    tracker = [cols(0, 2050, 0, 3), cols(2, 2050, 4, 6), cols(2, 2010, 1, 2)]
    frames = sequence_frames(gt, tracker, num_frames=4)
    data = preprocess_sequence(frames, class_id=2)
    assert data["num_timesteps"] == 4  # the sequence length, though frames 1 and 3 are empty
    assert len(data["gt_ids"]) == 2  # for pedestrians: frames 0 and 2 only
    # gt ids 2003, 2007 -> 0, 1; tracker ids 2010, 2050 -> 0, 1; file order kept within a frame
    assert [ids.tolist() for ids in data["gt_ids"]] == [[1], [0, 1]]
    assert [ids.tolist() for ids in data["tracker_ids"]] == [[1], [1, 0]]
    assert (data["num_gt_ids"], data["num_tracker_ids"]) == (2, 2)
    assert (data["num_gt_dets"], data["num_tracker_dets"]) == (3, 3)
    # IoU (gt x tracker): frame 0: 8 / 12; frame 2: rows 2003 (cols 0-1), 2007 (cols 4-5)
    np.testing.assert_allclose(data["similarity_scores"][0], [[8 / 12]])
    np.testing.assert_allclose(data["similarity_scores"][1], [[0, 4 / 8], [1, 0]])
    cars = preprocess_sequence(frames, class_id=1)
    assert (cars["num_gt_dets"], cars["num_tracker_dets"], len(cars["gt_ids"])) == (1, 0, 1)


def test_matched_masks_inside_an_ignore_region_are_kept():
    # the gt pedestrian lies next to an ignore region; a tracker mask covering the pedestrian
    # and more of the ignore region (IoA 4/6 > 0.5) still matches it (IoU 4/6 >= 0.5): kept
    gt = [cols(0, 2001, 0, 2), cols(0, 10000, 2, 8, class_id=10)]
    tracker = [cols(0, 2001, 0, 3)]
    data = preprocess_sequence(sequence_frames(gt, tracker, num_frames=1), class_id=2)
    assert data["num_tracker_dets"] == 1
    # unmatched (IoU 1/3 with the gt) and 2/3 inside the ignore region: removed
    tracker = [cols(0, 2001, 1, 4)]
    data = preprocess_sequence(sequence_frames(gt, tracker, num_frames=1), class_id=2)
    assert data["num_tracker_dets"] == 0
    res = evaluate([tiny_sequence(gt, 1)], {"tiny": tracker}).combined["pedestrian"]
    assert (res["TP"], res["FP"], res["FN"]) == (0, 0, 1)


def test_overlapping_tracker_masks():
    with pytest.raises(OverlapError) as err:
        sequence_frames([], [cols(1, 2001, 0, 3), cols(1, 2002, 2, 4)], num_frames=2)
    assert err.value.frame == 1
    assert err.value.obj_ids == (2001, 2002)
    with pytest.raises(MOTSFormatError, match="overlap in frame 2"):  # 1-based in messages
        evaluate([tiny_sequence([], 2)], {"tiny": [cols(1, 2001, 0, 3), cols(1, 2002, 2, 4)]})


def test_empty_runs_in_both_gt_and_results_are_refused():
    # pycocotools' IoU (TrackEval's) miscounts where two masks with empty runs inside meet
    from pycocotools import mask as mask_utils

    from remots.errors import InputError
    from remots.io.instances import Instance

    rle = mask_utils.frPyObjects({"size": [4, 8], "counts": [4, 0, 4, 4, 20]}, 4, 8)
    mask = Instance(0, 2001, 2, rle)
    assert evaluate([tiny_sequence([mask], 1)], {"tiny": [cols(0, 2001, 1, 3)]})
    with pytest.raises(InputError, match="empty runs"):
        evaluate([tiny_sequence([mask], 1)], {"tiny": [mask]})
