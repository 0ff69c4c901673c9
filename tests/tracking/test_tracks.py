"""Tracks as MOTS results: numbering by first frame per class, pixel exclusivity."""

import numpy as np

from remots import masks
from remots.io.detections import Detections
from remots.io.instances import CAR, PEDESTRIAN, Instance
from remots.io.mots import read_mots_txt, write_mots_txt
from remots.tracking.tracks import results_from_tracks


def _box(shape, rows, cols):
    m = np.zeros(shape, np.uint8)
    m[rows[0] : rows[1], cols[0] : cols[1]] = 1
    return m


def test_results_from_tracks_numbers_by_first_frame_and_removes_overlaps():
    def box(x0, x1):
        m = np.zeros((4, 8), np.uint8)
        m[:, x0:x1] = 1
        return masks.encode(m)[0]

    dets = [
        Instance(1, 0, 2, box(0, 4), 0.9),  # track 1
        Instance(0, 1, 2, box(0, 4), 0.6),  # track 5 starts at frame 0, loses the shared pixels
        Instance(0, 2, 2, box(2, 6), 0.8),  # track 1 starts at frame 0 too: lower label first
        Instance(2, 3, 1, box(0, 2), 0.7),  # a car: its own class numbering
        Instance(2, 4, 2, box(0, 2), 0.5),  # no track: left out
        Instance(3, 5, 2, box(1, 3), 0.4),  # track 7, alone in its frame
    ]
    results, obj_id_of_track = results_from_tracks(
        Detections.from_instances(dets), [1, 5, 1, 9, -1, 7]
    )
    assert obj_id_of_track == {1: 2001, 5: 2002, 9: 1001, 7: 2003}
    assert [(r.frame, r.obj_id) for r in results] == [
        (0, 2001),
        (0, 2002),
        (1, 2001),
        (2, 1001),
        (3, 2003),
    ]
    frame0 = {r.obj_id: masks.decode_one(r.rle) for r in results if r.frame == 0}
    assert frame0[2002].sum() == 8 and frame0[2001].sum() == 16  # 0.8 beats 0.6 on columns 2-3
    assert not (frame0[2001] & frame0[2002]).any()


def test_short_tracklets_as_results_are_valid_mots(tmp_path):
    shape = (20, 30)
    frames = [
        [_box(shape, (0, 10), (0, 12)), _box(shape, (0, 10), (10, 20))],  # overlap
        [_box(shape, (0, 10), (1, 13)), _box(shape, (10, 20), (0, 10))],
    ]
    classes = [PEDESTRIAN, CAR, PEDESTRIAN, CAR]
    dets = Detections.from_instances(
        Instance(k // 2, k, c, masks.encode(m)[0], 0.9)
        for k, (m, c) in enumerate(zip([m for f in frames for m in f], classes, strict=True))
    )
    ids = np.array([0, 1, 0, 2])
    insts, _ = results_from_tracks(dets, ids)
    assert [(i.frame, i.obj_id, i.class_id) for i in insts] == [
        (0, 1001, CAR),
        (0, 2001, PEDESTRIAN),
        (1, 1002, CAR),
        (1, 2001, PEDESTRIAN),
    ]
    write_mots_txt(tmp_path / "t.txt", insts, frame_base=1)
    back = read_mots_txt(tmp_path / "t.txt", frame_base=1, num_frames=2)  # checks no overlap
    assert len(back) == 4
    # equal scores: the earlier detection (the pedestrian) keeps the shared pixels
    assert masks.area([back[0].rle])[0] == 10 * 8
