"""Exports read back by TrackEval's own dataset classes (MOTSChallenge, KittiMOTS,
MotChallenge2DBox) and compared with the tracks in memory; MOTS png folders read back pixel by
pixel; the results reader takes txt files and png folders."""

import contextlib
import io
from dataclasses import replace

import cv2
import numpy as np
import pytest
import trackeval

from remots import masks
from remots.errors import ConfigError, MOTSFormatError
from remots.io import layouts
from remots.io.export import (
    export_mot_boxes,
    export_mots_png,
    export_mots_txt,
    find_results,
    mots_tools_name,
    read_results,
)
from remots.io.instances import IGNORE, sort_instances
from tests.support.reference import write_trackeval_layout


@pytest.fixture(scope="module")
def kitti_parts(kitti_root):
    """The first 15 frames of KITTI MOTS 0000 and 0011, their GT without the ignore regions as
    the 'tracks' (TrackEval cannot read a seqmap of one sequence: two it is)."""
    seqs = layouts.load_kitti_mots(kitti_root, sequences=["0000", "0011"], stop=15)
    for seq in seqs:
        seq.gt = sort_instances(i for i in seq.gt if i.class_id != IGNORE)
    return seqs


@pytest.fixture(scope="module")
def kitti_part(kitti_parts):
    return kitti_parts[1]


def dataset_raw(dataset, seq_name):
    with contextlib.redirect_stdout(io.StringIO()):
        return dataset.get_raw_seq_data("remots", seq_name)


def assert_same_masks(raw, seq, tracks):
    by_frame = [[] for _ in range(seq.num_frames)]
    for inst in tracks:
        by_frame[inst.frame].append(inst)
    for t in range(seq.num_frames):
        want = sorted((i.obj_id, i.rle["counts"]) for i in by_frame[t])
        got = sorted(
            (int(k), d["counts"] if isinstance(d["counts"], bytes) else d["counts"].encode())
            for k, d in zip(raw["tracker_ids"][t], raw["tracker_dets"][t], strict=True)
        )
        assert got == want, t


def test_kitti_mots_txt_export_read_by_trackeval(kitti_parts, tmp_path):
    config = write_trackeval_layout(kitti_parts, {}, tmp_path, benchmark="kitti_mots")
    data = tmp_path / "trackers" / "remots" / "data"
    paths = export_mots_txt(data, {s.name: s.gt for s in kitti_parts}, kitti_parts)
    assert paths == [data / "0000.txt", data / "0011.txt"]
    dataset = trackeval.datasets.KittiMOTS(
        {**config, "PRINT_CONFIG": False, "CLASSES_TO_EVAL": ["car", "pedestrian"]}
    )
    for seq in kitti_parts:
        assert_same_masks(dataset_raw(dataset, seq.name), seq, seq.gt)


def test_motschallenge_txt_export_and_mots_tools_names_read_by_trackeval(kitti_parts, tmp_path):
    seqs = []
    for name, part in zip(("MOTS20-09", "MOTS20-11"), kitti_parts, strict=True):
        seq = replace(part, name=name, frame_base=1)  # MOTSChallenge frames are 1-based
        # pedestrians only, ids unique per frame
        gt = [i.with_(class_id=2, obj_id=2000 + i.obj_id % 1000) for i in part.gt]
        seq.gt = sort_instances({(i.frame, i.obj_id): i for i in gt}.values())
        seqs.append(seq)
    tracks = {s.name: s.gt for s in seqs}
    config = write_trackeval_layout(seqs, {}, tmp_path, benchmark="motschallenge")
    data = tmp_path / "trackers" / "remots" / "data"
    export_mots_txt(data, tracks, seqs)
    dataset = trackeval.datasets.MOTSChallenge(
        {**config, "PRINT_CONFIG": False, "SKIP_SPLIT_FOL": True, "SPLIT_TO_EVAL": "train"}
    )
    for seq in seqs:
        assert_same_masks(dataset_raw(dataset, seq.name), seq, seq.gt)
    numbered = export_mots_txt(tmp_path / "mt", tracks, seqs, mots_tools_names=True)
    assert [p.name for p in numbered] == ["0009.txt", "0011.txt"]
    assert numbered[0].read_bytes() == (data / "MOTS20-09.txt").read_bytes()
    assert find_results(tmp_path / "mt", "MOTS20-09") == numbered[0]


def test_mots_tools_names():
    assert [mots_tools_name(n) for n in ("MOTS20-09", "MOTS20-11", "0002", "seq7")] == [
        "0009",
        "0011",
        "0002",
        "0007",
    ]
    with pytest.raises(ConfigError, match="does not end with a number"):
        mots_tools_name("street")


def test_mot_box_export_read_by_trackeval(kitti_parts, tmp_path):
    folder = tmp_path / "trackers" / "remots" / "data"
    paths = export_mot_boxes(folder, {s.name: s.gt for s in kitti_parts}, kitti_parts)
    for seq, path in zip(kitti_parts, paths, strict=True):
        # the boxes as ground truth too (class 1, consider flag 1), in MOTChallenge's layout
        gt_dir = tmp_path / "gt" / seq.name
        (gt_dir / "gt").mkdir(parents=True)
        rows = [line.split(",")[:6] for line in path.read_text().splitlines()]
        (gt_dir / "gt" / "gt.txt").write_text("".join(",".join(r) + ",1,1,1\n" for r in rows))
        layouts.write_seqinfo(
            gt_dir, name=seq.name, num_frames=seq.num_frames, width=seq.width, height=seq.height
        )
    seqmap = tmp_path / "seqmap.txt"
    seqmap.write_text("name\n" + "".join(f"{s.name}\n" for s in kitti_parts))
    seq = kitti_part = kitti_parts[1]  # 0-based KITTI frames: MOTChallenge frame = index + 1
    peds = [i for i in seq.gt if i.class_id == 2]
    assert peds and kitti_part.frame_base == 0
    dataset = trackeval.datasets.MotChallenge2DBox(
        {
            "GT_FOLDER": str(tmp_path / "gt"),
            "TRACKERS_FOLDER": str(tmp_path / "trackers"),
            "SEQMAP_FILE": str(seqmap),
            "SKIP_SPLIT_FOL": True,
            "TRACKERS_TO_EVAL": ["remots"],
            "PRINT_CONFIG": False,
        }
    )
    raw = dataset_raw(dataset, seq.name)
    boxes = masks.bbox([i.rle for i in peds])
    for t in range(seq.num_frames):
        want = sorted(
            (i.obj_id, b[0] + 1, b[1] + 1, b[2], b[3])
            for i, b in zip(peds, boxes, strict=True)
            if i.frame == t
        )
        got = sorted(
            (int(k), *d) for k, d in zip(raw["tracker_ids"][t], raw["tracker_dets"][t], strict=True)
        )
        assert got == pytest.approx(want), t


def test_mots_png_export_read_back(kitti_part, tmp_path):
    seq = kitti_part
    (folder,) = export_mots_png(tmp_path, {seq.name: seq.gt}, [seq])
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"{t:06d}.png" for t in range(15)]  # every frame, KITTI numbering
    first = cv2.imread(str(folder / "000000.png"), cv2.IMREAD_UNCHANGED)
    assert first.dtype == np.uint16 and first.shape == (seq.height, seq.width)
    for inst in (i for i in seq.gt if i.frame == 0):
        m = masks.decode_one(inst.rle).astype(bool)
        assert (first[m] == inst.obj_id).all()
    back = read_results(find_results(tmp_path, seq.name), seq)
    assert [(i.frame, i.obj_id, i.class_id, i.rle["counts"]) for i in back] == [
        (i.frame, i.obj_id, i.class_id, i.rle["counts"]) for i in seq.gt
    ]


def test_png_export_of_a_strided_part_keeps_the_source_numbers(kitti_root, tmp_path):
    (seq,) = layouts.load_kitti_mots(kitti_root, sequences=["0005"], start=4, stop=12, stride=4)
    tracks = [i for i in seq.gt if i.class_id != IGNORE]
    (folder,) = export_mots_png(tmp_path, {seq.name: tracks}, [seq])
    assert sorted(p.name for p in folder.iterdir()) == ["000004.png", "000008.png"]
    back = read_results(folder, seq)
    assert sorted((i.frame, i.obj_id) for i in back) == sorted((i.frame, i.obj_id) for i in tracks)
    (folder / "000005.png").write_bytes((folder / "000004.png").read_bytes())
    with pytest.raises(MOTSFormatError, match="frame 5 is not a frame of sequence 0005"):
        read_results(folder, seq)


def test_a_png_that_is_not_16_bit_is_refused(kitti_part, tmp_path):
    seq = kitti_part
    folder = tmp_path / seq.name
    folder.mkdir()
    cv2.imwrite(str(folder / "000003.png"), np.zeros((seq.height, seq.width), np.uint8))
    with pytest.raises(MOTSFormatError, match="16-bit single-channel") as info:
        read_results(folder, seq)
    assert info.value.frame == 3
