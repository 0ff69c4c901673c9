"""Layouts and frames: MOTSChallenge folders, seqinfo/seqmap generation, a real video, and frames
that are missing, empty, truncated or of another size."""

import cv2
import numpy as np
import pytest

from remots import masks
from remots.errors import InputError
from remots.io import layouts
from remots.io.instances import Instance
from remots.io.mots import write_mots_txt


def make_motschallenge_seq(root, name="SEQ-01", n=4, h=24, w=32):
    seq_dir = root / name
    (seq_dir / "img1").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for t in range(n):
        cv2.imwrite(
            str(seq_dir / "img1" / f"{t + 1:06d}.jpg"),
            rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        )
    layouts.write_seqinfo(seq_dir, name=name, num_frames=n, width=w, height=h, fps=25)
    m = np.zeros((h, w), np.uint8)
    m[2:8, 3:9] = 1
    gt = [Instance(t, 2001, 2, masks.encode(m)[0]) for t in range(n)]
    (seq_dir / "gt").mkdir()
    write_mots_txt(seq_dir / "gt" / "gt.txt", gt, frame_base=1)
    return seq_dir


def test_motschallenge_sequence_loads_with_gt_and_frames(tmp_path):
    make_motschallenge_seq(tmp_path)
    (seq,) = layouts.load_motschallenge(tmp_path)
    assert (seq.name, seq.num_frames, seq.height, seq.width, seq.frame_base, seq.fps) == (
        "SEQ-01",
        4,
        24,
        32,
        1,
        25.0,
    )
    assert [i.frame for i in seq.gt] == [0, 1, 2, 3]
    frames = list(seq.iter_frames())
    assert [t for t, _ in frames] == [0, 1, 2, 3]
    assert frames[0][1].shape == (24, 32, 3)


def test_seqinfo_and_seqmap_for_a_users_own_frames(tmp_path):
    seq_dir = make_motschallenge_seq(tmp_path, "MINE")
    (seq_dir / "seqinfo.ini").unlink()
    layouts.write_seqinfo_for_frames(seq_dir, fps=12.5)
    info = layouts.read_seqinfo(seq_dir / "seqinfo.ini")
    assert info == {
        "name": "MINE",
        "imDir": "img1",
        "frameRate": 12.5,
        "seqLength": 4,
        "imWidth": 32,
        "imHeight": 24,
        "imExt": ".jpg",
    }
    seqs = layouts.load_motschallenge(tmp_path)
    kitti = layouts.write_seqmap(tmp_path / "a.seqmap", seqs, style="kitti")
    assert kitti.read_text() == "MINE empty 000001 000004\n"
    assert layouts.read_seqmap(kitti) == [("MINE", 1, 4)]
    mot = layouts.write_seqmap(tmp_path / "b.txt", seqs, style="motchallenge")
    assert layouts.read_seqmap(mot) == [("MINE", -1, -1)]


def test_kitti_seqmap_of_the_real_data(kitti_root):
    seqmap = layouts.read_seqmap(kitti_root / "seqmaps" / "train.seqmap")
    assert len(seqmap) == 12 and seqmap[0][0] == "0000"


@pytest.mark.parametrize(
    "damage,message",
    [
        ("missing", "frame image is missing"),
        ("zero_bytes", "cannot read the frame"),
        ("truncated", None),
        ("other_size", "frame is 30x32 but the sequence is 24x32"),
    ],
)
def test_bad_frames_give_errors_naming_file_and_frame(tmp_path, damage, message):
    seq_dir = make_motschallenge_seq(tmp_path)
    bad = seq_dir / "img1" / "000003.jpg"
    if damage == "missing":
        bad.unlink()
    elif damage == "zero_bytes":
        bad.write_bytes(b"")
    elif damage == "truncated":
        bad.write_bytes(bad.read_bytes()[:40])
    else:
        cv2.imwrite(str(bad), np.zeros((30, 32, 3), np.uint8))
    with pytest.raises(InputError) as info:  # a missing frame is found at load time
        (seq,) = layouts.load_motschallenge(tmp_path)
        list(seq.iter_frames())
    assert info.value.frame == 3
    assert str(bad) in str(info.value)
    if message:
        assert message in str(info.value)


def test_empty_sequence_is_a_clear_error(tmp_path):
    seq_dir = make_motschallenge_seq(tmp_path, n=1)
    layouts.write_seqinfo(seq_dir, name="SEQ-01", num_frames=0, width=32, height=24)
    with pytest.raises(InputError, match="empty"):
        layouts.load_motschallenge(tmp_path)
    with pytest.raises(InputError, match="no image files"):
        layouts.load_frame_folder(seq_dir / "gt")


def test_real_video_is_streamed(shared_data):
    seq = layouts.load_video(shared_data / "videos" / "vtest.avi")
    assert (seq.num_frames, seq.width, seq.height) == (795, 768, 576)
    frames = [f for _, f in seq.iter_frames(0, 3)]
    assert len(frames) == 3 and frames[0].shape == (576, 768, 3)
    np.testing.assert_array_equal(seq.read_frame(2), frames[2])
    assert not np.array_equal(frames[0], frames[2])  # people walk


def test_real_mot17_frames_load_as_a_frame_folder(shared_data):
    seq = layouts.load_frame_folder(shared_data / "mot17_mini_frames" / "MOT17-05-FRCNN" / "img1")
    assert (seq.width, seq.height) == (640, 480)
    assert seq.read_frame(0).shape == (480, 640, 3)


def test_atomic_write_gives_normal_permissions_and_leaves_nothing_on_error(tmp_path):
    import os

    from remots.io.atomic import atomic_open, atomic_write_text

    path = tmp_path / "a.txt"
    atomic_write_text(path, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w") as f:
            f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]
