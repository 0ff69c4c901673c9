"""Parts of a source (start / stop / stride) for every layout, on real data: the frames, their
numbering, the ground truth restricted to them, and the frame rate."""

import cv2
import numpy as np
import pytest

from remots import masks
from remots.errors import ConfigError, InputError, MOTSFormatError
from remots.io import layouts
from remots.io.instances import Instance
from remots.io.mots import read_mots_txt, write_mots_txt
from tests.io.test_layouts import make_motschallenge_seq


def test_a_strided_part_of_a_real_video(shared_data):
    path = shared_data / "videos" / "vtest.avi"
    seq = layouts.load_video(path, start=100, stop=110, stride=3)
    assert (seq.num_frames, seq.frame_base, seq.frame_step) == (4, 101, 3)
    assert [seq.frame_label(t) for t in range(4)] == [101, 104, 107, 110]
    assert seq.selection == range(100, 110, 3)
    assert (seq.fps, seq.selected_fps) == (10.0, pytest.approx(10 / 3))
    assert (seq.source_length, seq.source_base) == (795, 1)
    cap = cv2.VideoCapture(str(path))
    every = [cap.read()[1] for _ in range(110)]
    cap.release()
    frames = list(seq.iter_frames())
    assert [t for t, _ in frames] == [0, 1, 2, 3]
    for t, img in frames:
        np.testing.assert_array_equal(img, every[100 + 3 * t])
    np.testing.assert_array_equal(seq.read_frame(2), every[106])


def test_a_video_part_past_the_end_stops_at_the_end(shared_data):
    seq = layouts.load_video(shared_data / "videos" / "vtest.avi", start=790, stop=10_000)
    assert (seq.num_frames, seq.frame_base) == (5, 791)
    assert len(list(seq.iter_frames())) == 5


def test_a_frame_folder_part(shared_data):
    folder = shared_data / "mot17_mini_frames" / "MOT17-11-FRCNN" / "img1"
    seq = layouts.load_frame_folder(folder, start=1, stride=2, fps=30)
    assert [p.name for p in seq.frame_paths] == ["000002.jpg", "000004.jpg", "000006.jpg"]
    assert [seq.frame_label(t) for t in range(seq.num_frames)] == [2, 4, 6]
    assert seq.read_frame(1).shape == (1080, 1920, 3)


def test_mot17_frames_with_a_long_seqinfo_need_a_stop(shared_data):
    root = shared_data / "mot17_mini_frames"
    with pytest.raises(InputError) as info:
        layouts.load_motschallenge(root, sequences=["MOT17-09-FRCNN"], with_gt=False)
    assert info.value.path == str(root / "MOT17-09-FRCNN" / "seqinfo.ini")
    assert "seqLength=525 but img1/000005.jpg is missing (img1/ holds frames 1..4)" in str(
        info.value
    )
    (seq,) = layouts.load_motschallenge(root, sequences=["MOT17-09-FRCNN"], with_gt=False, stop=4)
    assert (seq.num_frames, seq.fps, seq.source_length) == (4, 30.0, 525)


def test_box_gt_read_as_mots_says_what_it_is(shared_data):
    root = shared_data / "mot17_mini_frames"
    with pytest.raises(MOTSFormatError, match="commas: a MOTChallenge box CSV") as info:
        layouts.load_motschallenge(root, sequences=["MOT17-09-FRCNN"], stop=4)
    assert info.value.line == 1


def test_kitti_part_restricts_and_renumbers_the_gt(kitti_root):
    (whole,) = layouts.load_kitti_mots(kitti_root, sequences=["0000"])
    (part,) = layouts.load_kitti_mots(kitti_root, sequences=["0000"], start=10, stop=20, stride=2)
    assert (part.num_frames, part.frame_base, part.frame_step) == (5, 10, 2)
    expected = [i for i in whole.gt if i.frame in range(10, 20, 2)]
    assert len(part.gt) == len(expected) > 0
    for got, want in zip(part.gt, expected, strict=True):
        assert got.frame == (want.frame - 10) // 2
        assert (got.obj_id, got.class_id, got.rle["counts"]) == (
            want.obj_id,
            want.class_id,
            want.rle["counts"],
        )


def test_motschallenge_part_keeps_the_numbering_in_written_results(tmp_path):
    make_motschallenge_seq(tmp_path, n=6)
    (seq,) = layouts.load_motschallenge(tmp_path, start=2, stride=2)
    assert [p.name for p in seq.frame_paths] == ["000003.jpg", "000005.jpg"]
    assert [i.frame for i in seq.gt] == [0, 1]
    out = tmp_path / "res.txt"
    write_mots_txt(out, seq.gt, frame_base=seq.frame_base, frame_step=seq.frame_step)
    assert [line.split()[0] for line in out.read_text().splitlines()] == ["3", "5"]
    back = read_mots_txt(
        out, frame_base=seq.frame_base, num_frames=seq.num_frames, frame_step=seq.frame_step
    )
    assert [(i.frame, i.rle["counts"]) for i in back] == [
        (i.frame, i.rle["counts"]) for i in seq.gt
    ]


def test_a_frame_between_the_strided_ones_is_an_error(tmp_path):
    rle = masks.encode(np.ones((2, 2), np.uint8))[0]
    out = tmp_path / "res.txt"
    write_mots_txt(out, [Instance(0, 2001, 2, rle), Instance(3, 2001, 2, rle)], frame_base=1)
    with pytest.raises(MOTSFormatError) as info:
        read_mots_txt(out, frame_base=1, num_frames=3, frame_step=2)
    assert info.value.frame == 4
    assert "frame 4 is not one of the sequence's frames (1, 3, 5, ...)" in str(info.value)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"start": 4}, "start=4 is past the last frame of"),
        ({"start": -1}, "start=-1 must be >= 0"),
        ({"start": 2, "stop": 2}, "stop=2 must be after start=2"),
        ({"stride": 0}, "stride=0 must be >= 1"),
        ({"stop": 2.5}, "stop=2.5 is not an integer"),
    ],
)
def test_bad_ranges_are_config_errors(tmp_path, kwargs, message):
    make_motschallenge_seq(tmp_path, n=4)
    with pytest.raises(ConfigError, match=message):
        layouts.load_motschallenge(tmp_path, **kwargs)


def test_load_sequences_passes_the_range_to_every_layout(shared_data, tmp_path):
    make_motschallenge_seq(tmp_path, n=5)
    video = shared_data / "videos" / "vtest.avi"
    folder = shared_data / "mot17_mini_frames" / "MOT17-05-FRCNN" / "img1"
    for layout, root in (("motschallenge", tmp_path), ("video", video), ("frames", folder)):
        (seq,) = layouts.load_sequences(layout, root, with_gt=False, start=1, stop=5, stride=2)
        assert (seq.num_frames, seq.frame_base, seq.frame_step) == (2, 2, 2), layout


def test_seqinfo_too_short_or_of_the_wrong_size_is_blamed_on_seqinfo(tmp_path):
    seq_dir = make_motschallenge_seq(tmp_path, n=4)
    layouts.write_seqinfo(seq_dir, name="SEQ-01", num_frames=3, width=32, height=24)
    with pytest.raises(InputError, match="seqLength=3 but img1/ holds more frames") as info:
        layouts.load_motschallenge(tmp_path)
    assert info.value.path == str(seq_dir / "seqinfo.ini")
    layouts.write_seqinfo(seq_dir, name="SEQ-01", num_frames=4, width=40, height=24)
    with pytest.raises(InputError) as info:
        layouts.load_motschallenge(tmp_path)
    assert info.value.path == str(seq_dir / "seqinfo.ini")
    assert "imWidth=40 imHeight=24 but img1/000001.jpg is 32x24" in str(info.value)


def test_a_sequence_folder_without_seqinfo_is_an_error_not_skipped(tmp_path):
    make_motschallenge_seq(tmp_path, "A")
    b = make_motschallenge_seq(tmp_path, "B")
    (b / "seqinfo.ini").unlink()
    (tmp_path / "seqmaps").mkdir()  # other folders of a split are not sequences
    with pytest.raises(InputError, match=r"sequence folder without seqinfo\.ini") as info:
        layouts.load_motschallenge(tmp_path)
    assert info.value.path == str(b / "seqinfo.ini")
