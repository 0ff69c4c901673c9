"""Each bad MOTS file of tests/data/bad gives its own clear error naming file and line."""

from pathlib import Path

import pytest

from remots.errors import MOTSFormatError
from remots.io.mots import read_mots_txt

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"

# file -> (line named in the error, fragment of the message)
CASES = {
    "wrong_columns.txt": (2, "expected 6 space-separated columns"),
    "truncated_line.txt": (2, "expected 6 space-separated columns"),
    "non_integer.txt": (2, "must be integers"),
    "bad_rle_char.txt": (2, "bad RLE: invalid character '~'"),
    "truncated_rle.txt": (2, "bad RLE: RLE string is truncated"),
    "rle_wrong_length.txt": (2, "bad RLE: RLE covers 30 pixels but the mask is 4x6"),
    "wrong_mask_size.txt": (2, "mask size 5x6 differs from the image size 4x6"),
    "duplicate_id.txt": (2, "obj_id 2001 appears twice in frame 1 (first on line 1)"),
    "overlap.txt": (2, "masks of obj_id 2001 (line 1) and obj_id 2002 overlap in frame 1"),
    "frame_out_of_range.txt": (2, "frame 4 is outside the sequence (valid frames: 1..3)"),
    "frame_zero_one_based.txt": (1, "frame 0 is outside the sequence"),
    "frames_out_of_order.txt": (2, "frame 1 comes after frame 2"),
    "unknown_class.txt": (2, "unknown class_id 3"),
    "binary_garbage.txt": (1, "not a text file"),
}


def test_every_corpus_file_has_a_case():
    assert {p.name for p in BAD.glob("*.txt")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_error_names_file_and_line(name):
    line, fragment = CASES[name]
    path = BAD / name
    with pytest.raises(MOTSFormatError) as info:
        read_mots_txt(path, frame_base=1, num_frames=3, image_size=(4, 6))
    err = info.value
    assert err.path == str(path)
    assert err.line == line
    assert fragment in str(err)
    assert str(err).startswith(f"{path}, line {line}: ")


def test_overlap_is_accepted_where_the_format_allows_it():
    insts = read_mots_txt(BAD / "overlap.txt", frame_base=1, num_frames=3, allow_overlap=True)
    assert [i.obj_id for i in insts] == [2001, 2002]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(MOTSFormatError, match="file not found"):
        read_mots_txt(tmp_path / "nope.txt", frame_base=1)
