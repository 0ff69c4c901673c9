"""Lossless MOTS txt and png on the real KITTI MOTS ground truth."""

import numpy as np

from remots.io import mots
from remots.io.instances import CAR, IGNORE, PEDESTRIAN, track_obj_id


def test_kitti_counts_match_the_data_card(kitti_sequences):
    assert len(kitti_sequences) == 12
    classes = [i.class_id for s in kitti_sequences for i in s.gt]
    assert classes.count(CAR) == 18831
    assert classes.count(PEDESTRIAN) == 8068
    tracks = {(s.name, i.obj_id) for s in kitti_sequences for i in s.gt if i.class_id != IGNORE}
    assert len(tracks) == 530
    assert {s.image_size for s in kitti_sequences} == {
        (375, 1242),
        (370, 1224),
        (374, 1238),
        (376, 1241),
    }


def test_txt_round_trip_is_byte_exact(kitti_sequences, tmp_path):
    for seq in kitti_sequences:
        out = tmp_path / f"{seq.name}.txt"
        mots.write_mots_txt(out, seq.gt, frame_base=0)
        assert out.read_bytes() == seq.gt_path.read_bytes(), seq.name


def test_png_round_trip_is_byte_exact(kitti_sequences, tmp_path):
    # all 12 take ~20 s: the two shortest sequences (txt covers all 12 above)
    for seq in sorted(kitti_sequences, key=lambda s: s.num_frames)[:2]:
        folder = tmp_path / seq.name
        mots.write_mots_png_dir(
            folder,
            seq.gt,
            num_frames=seq.num_frames,
            height=seq.height,
            width=seq.width,
            frame_base=0,
        )
        png = min(folder.glob("*.png"))
        assert png.name == "000000.png"
        back = mots.read_mots_png_dir(folder, frame_base=0, num_frames=seq.num_frames)
        out = tmp_path / f"{seq.name}.txt"
        mots.write_mots_txt(out, back, frame_base=0)
        assert out.read_bytes() == seq.gt_path.read_bytes(), seq.name


def test_frame_base_is_explicit(kitti_sequences, tmp_path):
    seq = kitti_sequences[0]
    out = tmp_path / "one_based.txt"
    mots.write_mots_txt(out, seq.gt, frame_base=1)
    first = out.read_text().split("\n", 1)[0].split(" ")
    assert int(first[0]) == seq.gt[0].frame + 1
    back = mots.read_mots_txt(out, frame_base=1, num_frames=seq.num_frames)
    assert [i.frame for i in back] == [i.frame for i in seq.gt]
    assert all(a.rle == b.rle for a, b in zip(back, seq.gt, strict=True))


def test_id_map_round_trip_on_a_hand_made_frame():
    id_map = np.zeros((4, 6), np.uint16)
    id_map[0, :2] = 2001
    id_map[2:, 3:] = 1005
    id_map[3, 0] = 10000
    insts = mots.id_map_to_instances(id_map, frame=7)
    assert [(i.obj_id, i.class_id, i.frame) for i in insts] == [
        (1005, 1, 7),
        (2001, 2, 7),
        (10000, 10, 7),
    ]
    np.testing.assert_array_equal(mots.instances_to_id_map(insts, 4, 6), id_map)


def test_track_obj_id_is_unique_and_keeps_the_class():
    ids = [track_obj_id(2, n) for n in range(2500)]
    assert len(set(ids)) == 2500
    assert all(i // 1000 == 2 for i in ids[:999])
    assert not set(ids) & {track_obj_id(1, n) for n in range(2500)}
