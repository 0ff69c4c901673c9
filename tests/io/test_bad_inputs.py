"""Each bad input of tests/data/bad/{coco,mot,trackrcnn,mots_unbounded,frames,seqinfo} gives one
clear error (``InputError``) naming the file and the line, record or frame, on one line; and
inputs that claim impossible sizes are refused before memory is taken."""

import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from remots.errors import InputError
from remots.io import layouts, mots
from remots.io.detections import read_coco_results, read_detections_txt, read_mot_csv
from remots.io.frames import read_image

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"

# file -> (frame or line named, fragment of the message); COCO records are named "record k"
COCO = {
    "image_id_float.json": (None, "record 1: image_id is 1.7, not an integer"),
    "image_id_string.json": (None, "record 1: image_id is '2', not an integer"),
    "category_id_bool.json": (None, "record 1: category_id is True, not an integer"),
    "score_nan.json": (None, "record 1: score is nan, not a finite number"),
    "score_above_one.json": (1, "record 1 (frame 1): score 1.5 is not in [0, 1]"),
    "polygon_nan.json": (1, "polygon 0 has a coordinate that is not finite (NaN or infinity)"),
    "polygon_number.json": (1, "polygon 0 is int 5, not a list of x, y numbers"),
    "polygon_string.json": (1, "polygon 0 is str 'abcdefgh', not a list of x, y numbers"),
    "polygon_two_points.json": (1, "polygon 0 has 4 numbers; a polygon is x, y pairs of at"),
    "polygon_odd.json": (1, "polygon 0 has 7 numbers"),
    "polygon_far_outside.json": (1, "reaches more than one image size outside the 6x4 image"),
    "rle_wrong_size.json": (1, "mask size [5, 6] is not [4, 6]"),
    "rle_bad_counts.json": (1, "bad RLE: invalid character '~'"),
    "bbox_nan.json": (1, "a bbox value is nan, not a finite number"),
    "bbox_three_values.json": (None, "bbox must be [x, y, w, h], found [1, 1, 2]"),
    "no_segmentation_no_bbox.json": (None, "record 1 lacks both segmentation and bbox"),
    "image_id_outside.json": (
        None,
        "image_id 100000000: frame 100000000 is outside the sequence (valid frames: 1..3)",
    ),
    "not_a_list.json": (None, "COCO results JSON must be a list of detections"),
    "broken_json.json": ("line 4", "not valid JSON"),
}
MOT = {  # read without a known length
    "too_few_columns.txt": "expected 7, 9 or 10 comma-separated columns",
    "frame_not_integer.txt": "frame 2.5 is not an integer",
    "score_above_one.txt": "conf 1.7 is not in [0, 1]",
    "width_negative.txt": "box width -5 and height 8 must be positive",
    "box_nan.txt": "a box or score value is not finite",
    "box_far_outside.txt": "lies far outside the 60x40 image",
    "frame_huge.txt": "frame 100000000 is past 1000000 frames",
    "text_field.txt": "non-numeric field",
}
TRACKRCNN = {
    "frame_huge.txt": "frame 100000000 is past 1000000 frames",
    "score_nan.txt": "score nan is not in [0, 1]",
    "image_size_huge.txt": "image size 100000x100000 is larger than any real frame",
    "nine_columns.txt": "expected 10 columns",
}
MOTS_UNBOUNDED = {  # (line, fragment), read with no length and no image size known
    "frame_1e23.txt": (2, "frame 100000000000000000000000 is past 1000000 frames"),
    "frame_1e8.txt": (2, "frame 100000000 is past 1000000 frames"),
    "obj_id_huge.txt": (2, "obj_id must be in 0..2147483647, found 100000000000000000000"),
    "image_size_huge.txt": (1, "image size 1000000x1000000 is larger than any real frame"),
}
SEQINFO = {
    "too_short.ini": "seqLength=3 but img1/ holds more frames (000004.jpg and on)",
    "too_long.ini": "seqLength=6 but img1/000005.jpg is missing (img1/ holds frames 1..4)",
    "wrong_width.ini": "imWidth=40 imHeight=24 but img1/000001.jpg is 32x24",
    "seq_length_huge.ini": "seqLength=1000000000 is more than any real sequence",
    "frame_rate_zero.ini": "frameRate=0 is not positive",
    "no_section.ini": "not a valid seqinfo.ini: File contains no section headers",
    "missing_key.ini": "seqinfo.ini lacks the key imHeight",
}


def test_every_corpus_file_has_a_case():
    tables = {
        "coco": COCO,
        "mot": MOT,
        "trackrcnn": TRACKRCNN,
        "mots_unbounded": MOTS_UNBOUNDED,
        "seqinfo": SEQINFO,
    }
    for folder, cases in tables.items():
        assert {p.name for p in (BAD / folder).iterdir()} == set(cases), folder
    assert {p.name for p in (BAD / "frames").iterdir()} == {"truncated.jpg", "truncated.png"}


def one_line(err: InputError, path: Path) -> str:
    text = str(err)
    assert "\n" not in text
    assert err.path == str(path)
    assert text.startswith(str(path))
    return text


@pytest.mark.parametrize("name", sorted(COCO))
def test_bad_coco_results(name):
    where, fragment = COCO[name]
    path = BAD / "coco" / name
    with pytest.raises(InputError) as info:
        read_coco_results(path, image_size=(4, 6), num_frames=3)
    text = one_line(info.value, path)
    assert fragment in text
    if where == "line 4":
        assert info.value.line == 4
    elif where is not None:
        assert info.value.frame == where
    else:
        assert "record" in text or "COCO results JSON" in text


@pytest.mark.parametrize("name", sorted(MOT))
def test_bad_mot_csv(name):
    path = BAD / "mot" / name
    with pytest.raises(InputError) as info:
        read_mot_csv(path, image_size=(40, 60))
    assert MOT[name] in one_line(info.value, path)
    assert info.value.line == 2


def test_a_box_before_the_first_frame_is_outside_the_sequence(tmp_path):
    """The sequence's length unknown, a frame before frame_base is named as before the start
    (it used to be reported as past the longest possible sequence)."""
    path = tmp_path / "det.txt"
    path.write_text("1,-1,1,1,5,5,0.9\n0,-1,1,1,5,5,0.9\n")
    with pytest.raises(InputError) as info:
        read_mot_csv(path, image_size=(40, 60))
    assert "frame 0 is outside the sequence (valid frames: >= 1)" in one_line(info.value, path)
    assert info.value.line == 2


@pytest.mark.parametrize("name", sorted(TRACKRCNN))
def test_bad_trackrcnn_txt(name):
    path = BAD / "trackrcnn" / name
    with pytest.raises(InputError) as info:
        read_detections_txt(path, frame_base=1)
    assert TRACKRCNN[name] in one_line(info.value, path)
    assert info.value.line == 2


@pytest.mark.parametrize("name", sorted(MOTS_UNBOUNDED))
def test_impossible_sizes_in_mots_txt_are_refused_by_line(name):
    line, fragment = MOTS_UNBOUNDED[name]
    path = BAD / "mots_unbounded" / name
    with pytest.raises(InputError) as info:
        mots.read_mots_txt(path, frame_base=0)
    assert fragment in one_line(info.value, path)
    assert info.value.line == line


@pytest.mark.parametrize("name", ["frame_1e23.txt", "frame_1e8.txt"])
def test_kitti_gt_with_an_impossible_frame_fails_fast(tmp_path, name):
    """No seqmap, no images: the GT's last frame would size the sequence."""
    (tmp_path / "instances_txt").mkdir()
    gt = tmp_path / "instances_txt" / "0000.txt"
    shutil.copy(BAD / "mots_unbounded" / name, gt)
    start = time.perf_counter()
    with pytest.raises(InputError, match="is past 1000000 frames") as info:
        layouts.load_kitti_mots(tmp_path)
    assert time.perf_counter() - start < 2.0
    assert info.value.path == str(gt) and info.value.line == 2


def make_sequence(root: Path, n=4, ext=".jpg") -> Path:
    seq_dir = root / "SEQ"
    (seq_dir / "img1").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for t in range(n):
        img = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
        cv2.imwrite(str(seq_dir / "img1" / f"{t + 1:06d}{ext}"), img)
    return seq_dir


@pytest.mark.parametrize("name", sorted(SEQINFO))
def test_bad_seqinfo_is_blamed_on_seqinfo_at_load_time(tmp_path, name):
    seq_dir = make_sequence(tmp_path)
    shutil.copy(BAD / "seqinfo" / name, seq_dir / "seqinfo.ini")
    with pytest.raises(InputError) as info:
        layouts.load_motschallenge(tmp_path)
    assert SEQINFO[name] in one_line(info.value, seq_dir / "seqinfo.ini")


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_a_truncated_frame_is_an_error_naming_file_and_frame(tmp_path, ext):
    seq_dir = make_sequence(tmp_path, ext=ext)
    bad = seq_dir / "img1" / f"000003{ext}"
    shutil.copy(BAD / "frames" / f"truncated{ext}", bad)
    seq = layouts.load_frame_folder(seq_dir / "img1")
    with pytest.raises(InputError) as info:
        list(seq.iter_frames())
    kind = "JPEG" if ext == ".jpg" else "PNG"
    assert f"truncated {kind}" in one_line(info.value, bad)
    assert info.value.frame == 3


def test_a_truncated_jpeg_is_caught_where_opencv_only_warns(tmp_path):
    path = BAD / "frames" / "truncated.jpg"
    assert cv2.imread(str(path)) is not None  # OpenCV decodes it: only libjpeg's warning
    with pytest.raises(InputError, match="truncated JPEG") as info:
        read_image(path, frame=7)
    assert info.value.frame == 7


def test_a_link_to_dev_zero_is_refused_without_reading(tmp_path):
    link = tmp_path / "results.txt"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError, match="not a regular file") as info:
        mots.read_mots_txt(link, frame_base=1)
    one_line(info.value, link)
    with pytest.raises(InputError, match="not a regular file"):
        read_coco_results(link, image_size=(4, 6))


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_bytes(b"1 2001 2 4 6 0\n" * 1000)
    monkeypatch.setattr(mots, "MAX_FILE_BYTES", 10_000)
    with pytest.raises(InputError, match="file is 15000 bytes, more than the 10000 bytes"):
        mots.read_mots_txt(path, frame_base=1)


def test_a_truncated_mots_png_is_an_error_naming_the_file(tmp_path):
    id_map = np.zeros((24, 32), np.uint16)
    id_map[2:9, 3:12] = 2001
    path = tmp_path / "000001.png"
    mots.write_mots_png(path, id_map)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputError, match="truncated PNG") as info:
        mots.read_mots_png_dir(tmp_path, frame_base=1)
    one_line(info.value, path)
