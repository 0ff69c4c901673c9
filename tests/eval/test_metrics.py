"""Hand-computed metrics on tiny sequences (4x8 frames, masks = bands of columns)."""

import math

import numpy as np
import pytest

from remots.errors import ConfigError, InputError, MOTSFormatError
from remots.eval import METRIC_NAMES, evaluate
from tests.eval.conftest import cols, tiny_sequence

ALPHAS = np.arange(0.05, 0.99, 0.05)


def test_localisation_errors_and_a_false_positive():
    # one pedestrian over 3 frames (columns 0-1, 8 px); tracked with IoU 1, 8/12 and 4/8,
    # plus a false positive in the last frame
    gt = [cols(t, 2001, 0, 2) for t in range(3)]
    results = [cols(0, 2001, 0, 2), cols(1, 2001, 0, 3), cols(2, 2001, 1, 2), cols(2, 2002, 5, 7)]
    res = evaluate([tiny_sequence(gt, 3)], {"tiny": results}).combined["pedestrian"]

    ious = [1.0, 2 / 3, 0.5]
    assert (res["TP"], res["FP"], res["FN"], res["IDSW"]) == (3, 1, 0, 0)
    assert res["MOTSP"] == pytest.approx(sum(ious) / 3, abs=1e-12)
    # sMOTSA = (sum of TP IoUs - FP - IDSW) / |GT|
    assert res["sMOTSA"] == pytest.approx((sum(ious) - 1) / 3, abs=1e-12)
    assert res["MOTSA"] == pytest.approx((3 - 1 - 0) / 3, abs=1e-12)
    assert res["MODSA"] == pytest.approx((3 - 1) / 3, abs=1e-12)
    # IDF1: gt track <-> tracker track 2001 share 3 frames; the false positive track is an IDFP
    assert res["IDF1"] == pytest.approx(2 * 3 / (2 * 3 + 0 + 1), abs=1e-12)
    assert (res["IDP"], res["IDR"]) == (pytest.approx(3 / 4), pytest.approx(1.0))
    # HOTA per alpha: matches are the IoUs >= alpha; one gt and one tracker id, so
    # DetA = TP / (TP + FN + FP) with FN = 3 - TP, FP = 4 - TP, AssA = TP / (3 + 3 - TP)
    hota = []
    for alpha in ALPHAS:
        tp = sum(iou >= alpha - 1e-15 for iou in ious)
        det_a = tp / (tp + (3 - tp) + (4 - tp))
        ass_a = tp / (3 + 3 - tp)
        hota.append(math.sqrt(det_a * ass_a))
    assert res["HOTA"] == pytest.approx(np.mean(hota), abs=1e-12)
    # hand values: alphas <= 0.5 match all three, 0.55-0.65 two, >= 0.7 one
    assert res["HOTA"] == pytest.approx(
        (10 * math.sqrt(0.75) + 3 * math.sqrt(0.2) + 6 * math.sqrt(1 / 30)) / 19, abs=1e-12
    )


def test_identity_swap():
    # two pedestrians, 4 frames; the tracker swaps their ids from frame 2 on
    gt = [cols(t, 2001, 0, 2) for t in range(4)] + [cols(t, 2002, 4, 6) for t in range(4)]
    results = [cols(t, 2001 if t < 2 else 2002, 0, 2) for t in range(4)] + [
        cols(t, 2002 if t < 2 else 2001, 4, 6) for t in range(4)
    ]
    res = evaluate([tiny_sequence(gt, 4)], {"tiny": results}).combined["pedestrian"]
    assert (res["TP"], res["FP"], res["FN"], res["IDSW"], res["Frag"]) == (8, 0, 0, 2, 0)
    assert res["MOTSA"] == pytest.approx((8 - 0 - 2) / 8)
    assert res["sMOTSA"] == pytest.approx((8 * 1.0 - 0 - 2) / 8)
    assert res["MODSA"] == pytest.approx(1.0)
    # best one-to-one id mapping keeps 2 of 4 frames per track: IDTP 4, IDFN 4, IDFP 4
    assert res["IDF1"] == pytest.approx(2 * 4 / (2 * 4 + 4 + 4))
    # detection is perfect; each gt id shares 2 of its 4 frames with each tracker id:
    # A(c) = 2 / (4 + 4 - 2) = 1/3 for every match, so AssA = 1/3 and HOTA = sqrt(1 * 1/3)
    assert res["DetA"] == pytest.approx(1.0)
    assert res["AssA"] == pytest.approx(1 / 3)
    assert res["HOTA"] == pytest.approx(math.sqrt(1 / 3))
    assert (res["MT"], res["PT"], res["ML"]) == (2, 0, 0)


def test_ignore_region_removes_unmatched_masks_mostly_inside_it():
    # pedestrian in columns 0-1, ignore region (class 10) in columns 4-7
    gt = [cols(0, 2001, 0, 2), cols(0, 10000, 4, 8, class_id=10)]
    inside = cols(0, 2002, 5, 7)  # all of it inside: removed
    half = cols(0, 2003, 3, 5)  # intersection over its area exactly 0.5: kept, a FP
    res = evaluate([tiny_sequence(gt, 1)], {"tiny": [cols(0, 2001, 0, 2), inside, half]})
    assert (res.combined["pedestrian"]["TP"], res.combined["pedestrian"]["FP"]) == (1, 1)
    # without the half-in mask nothing is a false positive
    res = evaluate([tiny_sequence(gt, 1)], {"tiny": [cols(0, 2001, 0, 2), inside]})
    assert res.combined["pedestrian"]["FP"] == 0
    assert res.combined["pedestrian"]["IDF1"] == pytest.approx(1.0)


def test_combined_is_trackeval_combination_not_mean_of_sequences():
    a = tiny_sequence([cols(t, 2001, 0, 2) for t in range(3)], 3, name="a")
    b = tiny_sequence([cols(0, 2001, 0, 2)], 1, name="b")
    results = {"a": [cols(t, 2001, 0, 2) for t in range(3)], "b": []}
    res = evaluate([a, b], results)
    assert res.per_sequence["a"]["pedestrian"]["MOTSA"] == pytest.approx(1.0)
    assert res.per_sequence["b"]["pedestrian"]["MOTSA"] == pytest.approx(0.0)
    # summed counts: (3 TP - 0 FP - 0 IDSW) / 4 GT, not the mean 0.5
    assert res.combined["pedestrian"]["MOTSA"] == pytest.approx(3 / 4)
    assert res.combined["pedestrian"]["FN"] == 1


def test_missing_results_are_an_error_unless_counted_empty():
    seq = tiny_sequence([cols(t, 2001, 0, 2) for t in range(2)], 2)
    with pytest.raises(InputError, match="no results for sequence tiny"):
        evaluate([seq], {})
    res = evaluate([seq], {}, missing="empty").combined["pedestrian"]
    assert (res["TP"], res["FN"], res["MOTSA"], res["ML"]) == (0, 2, 0.0, 1)


@pytest.mark.parametrize(
    ("results", "match"),
    [
        ([cols(0, 2001, 0, 3), cols(0, 2002, 2, 4)], "overlap in frame 1"),
        ([cols(0, 2001, 0, 2), cols(0, 2001, 4, 6)], "obj_id 2001 appears twice in frame 1"),
        ([cols(2, 2001, 0, 2)], "frame 3 is outside the sequence"),
        ([cols(0, 3001, 0, 2, class_id=3)], "class_id 3"),
    ],
)
def test_bad_results_in_memory_name_sequence_and_frame(results, match):
    seq = tiny_sequence([cols(0, 2001, 0, 2)], 2)
    with pytest.raises(MOTSFormatError, match=match):
        evaluate([seq], {"tiny": results})


def test_wrong_image_size_in_memory():
    from remots import masks
    from remots.io.instances import Instance

    big = Instance(0, 2001, 2, masks.encode(np.ones((5, 8), np.uint8))[0])
    with pytest.raises(MOTSFormatError, match="5x8, the images are 4x8"):
        evaluate([tiny_sequence([], 1)], {"tiny": [big]})


def test_class_and_option_checks():
    seq = tiny_sequence([], 1)
    with pytest.raises(ConfigError, match="cannot be evaluated on motschallenge"):
        evaluate([seq], {"tiny": []}, classes=("car",))
    with pytest.raises(ConfigError, match="unknown benchmark"):
        evaluate([seq], {"tiny": []}, benchmark="mot17")
    res = evaluate([seq], {"tiny": []}, classes=("car", "pedestrian"), benchmark="kitti_mots")
    assert set(res.combined) == {"car", "pedestrian"}
    assert list(res.combined["car"]) == list(METRIC_NAMES)
