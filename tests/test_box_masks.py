"""Masks drawn inside boxes (``remots.masks.box_masks``): hand-counted pixels for each rule, and
the class outlines' area."""

import numpy as np
import pytest

from remots import masks


def dense(rles):
    return masks.decode(rles).astype(bool)


def test_box_rule_takes_the_pixels_whose_centres_lie_in_the_box():
    (m,) = dense(masks.box_masks([[1, 1, 3, 2]], 5, 6, rule="box"))
    expected = np.zeros((5, 6), bool)
    expected[1:3, 1:4] = True
    np.testing.assert_array_equal(m, expected)
    # a box from 0.6 to 2.4 covers the centres 1.5 only
    (m,) = dense(masks.box_masks([[0.6, 0.6, 1.8, 1.8]], 5, 6, rule="box"))
    assert np.argwhere(m).tolist() == [[1, 1]]


def test_ellipse_rule_drops_the_four_corners_of_a_4x4_box():
    (m,) = dense(masks.box_masks([[0, 0, 4, 4]], 6, 6, rule="ellipse"))
    assert m.sum() == 12
    assert not m[0, 0] and not m[3, 3] and m[0, 1] and m[1, 0] and m[1, 1]


def test_boxes_are_clipped_to_the_image_and_outside_ones_are_empty():
    full, outside, empty = dense(
        masks.box_masks([[-2, -3, 5, 5], [10, 10, 4, 4], [2, 2, 0, 3]], 4, 4, rule="box")
    )
    assert full.sum() == 3 * 2 and full[:2, :3].all()
    assert not outside.any() and not empty.any()


@pytest.mark.parametrize("class_id", [1, 2, 7])
def test_shape_rule_fills_the_class_outline(class_id):
    outline = masks.class_outline(class_id)
    x, y = outline[:, 0], outline[:, 1]
    polygon_area = 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))
    (m,) = dense(
        masks.box_masks([[10, 20, 200, 400]], 500, 300, rule="shape", class_ids=[class_id])
    )
    assert m.sum() == pytest.approx(polygon_area * 200 * 400, rel=0.01)
    ys, xs = np.nonzero(m)
    assert xs.min() >= 10 and xs.max() < 210 and ys.min() >= 20 and ys.max() < 420
    mirrored = m[:, 10:210][:, ::-1]
    assert (m[:, 10:210] != mirrored).sum() < 0.01 * m.sum()  # outlines are symmetric


def test_the_pedestrian_outline_is_narrow_at_the_head_and_the_car_wide_at_the_bottom():
    car, ped = dense(
        masks.box_masks([[0, 0, 100, 100]] * 2, 100, 100, rule="shape", class_ids=[1, 2])
    )
    assert ped[1].sum() < 25 and ped[50].sum() > 60
    assert car[80].sum() > 95


def test_bad_rule_and_missing_classes_are_errors():
    with pytest.raises(ValueError, match="unknown box-to-mask rule"):
        masks.box_masks([[0, 0, 1, 1]], 2, 2, rule="circle")
    with pytest.raises(ValueError, match="class_ids"):
        masks.box_masks([[0, 0, 1, 1]], 2, 2, rule="shape")
