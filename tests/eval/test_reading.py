"""read_mots_txt's fast path equals the line parser; bad results files fail naming file and line."""

import numpy as np
import pytest

from remots import masks
from remots.errors import InputError, MOTSFormatError
from remots.eval import evaluate_folder
from remots.io.mots import parse_mots_lines, read_mots_txt
from remots.io.mots_fast import rle_strings_valid

SEQMAP = "seqmaps/train.seqmap"


def _key(instances):
    return [(i.frame, i.obj_id, i.class_id, i.rle["size"], i.rle["counts"]) for i in instances]


@pytest.mark.parametrize("seq", ["0003", "0012"])
def test_fast_reader_equals_read_mots_txt_on_real_gt(kitti_root, seq):
    path = kitti_root / "instances_txt" / f"{seq}.txt"
    fast = read_mots_txt(path, frame_base=0)  # the whole-file fast path
    slow = parse_mots_lines(path.read_text().split("\n"), path, frame_base=0)
    assert _key(fast) == _key(slow)


def test_rle_strings_valid_agrees_with_rle_counts_on_corrupted_strings(kitti_root):
    lines = (kitti_root / "instances_txt" / "0012.txt").read_text().splitlines()[:40]
    strings = [line.split(" ")[5] for line in lines]
    h, w = (int(v) for v in lines[0].split(" ")[3:5])
    rng = np.random.default_rng(0)
    variants = []
    for s in strings:
        k = int(rng.integers(len(s)))
        variants += [
            s,
            s[:-1],
            s + "0",
            s[:k] + chr(int(rng.integers(40, 120))) + s[k + 1 :],
            s[:k] + s[k + 1 :],
        ]
    for v in variants:
        try:
            expected = int(masks.rle_counts(v).sum()) == h * w
        except ValueError:
            expected = False
        got = rle_strings_valid([v], np.array([h]), np.array([w]))
        assert got == expected, v
    valid = [v for v in variants if rle_strings_valid([v], np.array([h]), np.array([w]))]
    n = len(valid)
    assert n >= len(strings)  # the originals; the batch of valid strings is valid ...
    assert rle_strings_valid(valid, np.full(n, h), np.full(n, w))
    bad = [*valid[:5], valid[5][:-1], *valid[6:]]
    assert not rle_strings_valid(bad, np.full(n, h), np.full(n, w))  # ... and one spoils it


@pytest.fixture()
def results_dir(kitti_root, tmp_path):
    """A results folder holding sequence 0012's GT (no ignore regions) as results."""
    lines = (kitti_root / "instances_txt" / "0012.txt").read_text().splitlines()
    kept = [line for line in lines if line.split(" ")[2] != "10"]
    (tmp_path / "0012.txt").write_text("\n".join(kept) + "\n")
    return tmp_path


def _evaluate(kitti_root, results_dir, **kw):
    return evaluate_folder(
        kitti_root,
        results_dir,
        layout="kitti_mots",
        seqmap=SEQMAP,
        sequences=["0012"],
        classes=("car", "pedestrian"),
        **kw,
    )


def test_gt_as_results_scores_perfectly(kitti_root, results_dir):
    res = _evaluate(kitti_root, results_dir)
    for cls in ("car", "pedestrian"):
        assert res.combined[cls]["sMOTSA"] == pytest.approx(1.0)
        assert res.combined[cls]["HOTA"] == pytest.approx(1.0)
        assert res.combined[cls]["FP"] == 0


def _corrupt(results_dir, edit):
    path = results_dir / "0012.txt"
    lines = path.read_text().splitlines()
    lineno = edit(lines)
    path.write_text("\n".join(lines) + "\n")
    return path, lineno


def _same_frame_pair(lines):
    for k in range(1, len(lines)):
        if lines[k].split(" ")[0] == lines[k - 1].split(" ")[0]:
            return k - 1, k
    raise AssertionError


def _overlap(lines):
    a, b = _same_frame_pair(lines)
    fa = lines[a].split(" ")
    fb = lines[b].split(" ")
    lines[b] = " ".join([*fb[:5], fa[5]])  # b gets a's mask
    return b + 1


def _duplicate_id(lines):
    a, b = _same_frame_pair(lines)
    fb = lines[b].split(" ")
    lines[b] = " ".join(fb[:1] + lines[a].split(" ")[1:2] + fb[2:])
    return b + 1


def _frame_past_end(lines):
    lines.append("78 " + " ".join(lines[-1].split(" ")[1:]))
    return len(lines)


def _wrong_size(lines):
    f = lines[3].split(" ")
    m = np.zeros((376, 1241), np.uint8)
    m[10:20, 10:20] = 1
    lines[3] = " ".join([*f[:3], "376", "1241", masks.rle_to_string(masks.encode(m)[0])])
    return 4


def _unknown_class(lines):
    f = lines[5].split(" ")
    lines[5] = " ".join([f[0], "7001", "7", *f[3:]])
    return 6


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_overlap, "overlap"),
        (_duplicate_id, "appears twice"),
        (_frame_past_end, "frame 78 is outside the sequence"),
        (_wrong_size, "376x1241 differs from the image size 375x1242"),
        (_unknown_class, "unknown class_id 7"),
    ],
)
def test_bad_results_file_names_file_and_line(kitti_root, results_dir, edit, match):
    path, lineno = _corrupt(results_dir, edit)
    with pytest.raises(MOTSFormatError, match=match) as err:
        _evaluate(kitti_root, results_dir)
    assert err.value.path == str(path)
    assert err.value.line == lineno


def test_missing_results_file(kitti_root, tmp_path):
    with pytest.raises(InputError, match="no results file for sequence 0012") as err:
        _evaluate(kitti_root, tmp_path)
    assert err.value.path == str(tmp_path / "0012.txt")
    res = _evaluate(kitti_root, tmp_path, missing="empty")
    assert res.combined["car"]["TP"] == 0 and res.combined["car"]["FN"] > 0


def _to_string(cnts):
    """pycocotools' rleToString: run lengths -> compressed string (deltas after the third)."""
    out = []
    for i, c in enumerate(cnts):
        x = c - cnts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            out.append(chr((ch | 0x20 if more else ch) + 48))
    return "".join(out)


@pytest.mark.parametrize(
    ("cnts", "valid"),
    [
        ([5, 3, 2], True),
        ([4, 3, 2, 1], True),  # the fourth is coded as 1 - 3 = -2
        ([0, 10], True),
        ([5, -1, 6], False),  # a negative run, though the total is 10
        ([4, 3, 2, 2], False),  # 11 pixels
        ([1, 2, 3, 4, -2, 2], False),
    ],
)
def test_rle_strings_valid_on_hand_made_runs(cnts, valid):
    s = _to_string(cnts)
    assert rle_strings_valid([s], np.array([2]), np.array([5])) is valid
    # the same string at every offset within a batch of valid strings (parities of the
    # chunk-wide running sums change with the offset)
    good = [_to_string(c) for c in ([10], [2, 8], [1, 1, 1, 7], [3, 3, 3, 1])]
    for k in range(len(good) + 1):
        batch = [*good[:k], s, *good[k:]]
        assert rle_strings_valid(batch, np.full(5, 2), np.full(5, 5)) is valid


def test_lines_in_other_forms_read_by_the_line_parser_give_the_same_numbers(
    kitti_root, results_dir
):
    # CR LF line ends and a '+' sign: not the form the columns reader takes; read_mots_txt is
    # (the numbers must not change)
    plain = _evaluate(kitti_root, results_dir)
    path = results_dir / "0012.txt"
    lines = path.read_text().splitlines()
    lines[0] = "+" + lines[0]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    assert _evaluate(kitti_root, results_dir).to_rows() == plain.to_rows()


def test_gt_in_memory_and_a_results_folder(kitti_root, results_dir):
    from remots.eval import evaluate, evaluate_results_folder, load_gt, read_results_folder
    from remots.eval.metrics import gt_table

    gt = load_gt(kitti_root, layout="kitti_mots", seqmap=SEQMAP, sequences=["0012"])
    table = gt_table(gt[0])  # decoded when read, kept with the sequence
    kw = dict(classes=("car", "pedestrian"), benchmark="kitti_mots")
    ours = evaluate_results_folder(gt, results_dir, **kw)
    assert gt_table(gt[0]) is table
    assert ours.to_rows() == _evaluate(kitti_root, results_dir).to_rows()
    results, paths = read_results_folder(results_dir, gt)
    same = evaluate(gt, results, validate=False, results_paths=paths, **kw)
    assert same.to_rows() == ours.to_rows()
    gt[0].gt = gt[0].gt[:-1]  # other instances: decoded again
    assert gt_table(gt[0]) is not table
