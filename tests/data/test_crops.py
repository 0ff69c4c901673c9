import cv2
import numpy as np
import pytest

from remots import masks
from remots.data.crops import GREY, build_crop_cache, cut_crop, ensure_crop_cache, index_path_of
from remots.io.layouts import Video, load_motschallenge


def test_cut_crop_of_a_rectangle_is_its_colour():
    frame = np.zeros((50, 80, 3), np.uint8)
    frame[10:30, 20:30] = (10, 200, 40)
    m = np.zeros((50, 80), np.uint8)
    m[10:30, 20:30] = 1
    crop = cut_crop(frame, masks.encode(m)[0], size=(16, 8))
    assert crop.shape == (16, 8, 3)
    assert (crop == (10, 200, 40)).all()


def test_mask_background_greys_out_pixels_outside_the_mask():
    frame = np.full((40, 40, 3), 200, np.uint8)
    m = np.zeros((40, 40), np.uint8)
    m[0:20, 0:20] = 1  # box 20x20; only the upper-left triangle is in the mask
    m[np.triu_indices(20, 1)] = 0
    crop = cut_crop(frame, masks.encode(m)[0], size=(20, 20), mask_background=True)
    assert (crop[15, 2] == 200).all()  # below the diagonal: in the mask
    assert (crop[2, 15] == GREY).all()  # above: outside
    assert (cut_crop(frame, masks.empty_rle(40, 40), size=(8, 4)) == GREY).all()


@pytest.fixture(scope="module")
def toy_seq(small_synthetic):
    root = small_synthetic
    return load_motschallenge(root / "test")[0]


def test_cache_rows_are_the_instances_cut_from_their_frames(toy_seq, tmp_path):
    inst = toy_seq.gt[::-1]  # any order: row k is instances[k]
    path = tmp_path / "crops" / "s.npy"
    cache = build_crop_cache(
        toy_seq, inst, path, index_path_of(path), size=(32, 16), progress=False
    )
    assert isinstance(cache.crops, np.memmap) and cache.crops.dtype == np.uint8
    assert cache.crops.shape == (len(inst), 32, 16, 3)
    assert np.array_equal(cache.index, [(i.frame, i.obj_id) for i in inst])
    for k in (0, len(inst) // 2, len(inst) - 1):
        rgb = cv2.cvtColor(toy_seq.read_frame(inst[k].frame), cv2.COLOR_BGR2RGB)
        assert np.array_equal(cache.crops[k], cut_crop(rgb, inst[k].rle, size=(32, 16)))
    assert not list(tmp_path.glob("crops/*.tmp"))


def test_ensure_reuses_a_matching_cache_and_rebuilds_on_change(toy_seq, tmp_path):
    path = tmp_path / "crops" / "s.npy"
    ensure_crop_cache(path, toy_seq, toy_seq.gt, size=(32, 16), progress=False)
    stamp = path.stat().st_mtime_ns
    ensure_crop_cache(path, toy_seq, toy_seq.gt, size=(32, 16), progress=False)
    assert path.stat().st_mtime_ns == stamp
    cache = ensure_crop_cache(path, toy_seq, toy_seq.gt, size=(16, 8), progress=False)
    assert cache.crops.shape[1:3] == (16, 8)
    cache = ensure_crop_cache(path, toy_seq, toy_seq.gt[:3], size=(16, 8), progress=False)
    assert len(cache) == 3
    stamp = path.stat().st_mtime_ns
    masked = ensure_crop_cache(
        path, toy_seq, toy_seq.gt[:3], size=(16, 8), mask_background=True, progress=False
    )
    assert path.stat().st_mtime_ns != stamp and (np.asarray(masked.crops) == GREY).any()


def test_empty_instance_list_gives_an_empty_cache(toy_seq, tmp_path):
    cache = build_crop_cache(toy_seq, [], tmp_path / "e.npy", tmp_path / "e.index.npy", size=(8, 4))
    assert cache.crops.shape == (0, 8, 4, 3) and cache.index.shape == (0, 2)


def test_crops_of_real_mot17_frames_at_full_resolution(shared_data, tmp_path):
    """Boxes of the real MOT17-02 GT as rectangular masks on its real 1920x1080 frames."""
    seq_dir = shared_data / "mot17_mini_frames" / "MOT17-02-FRCNN"
    if not seq_dir.is_dir():
        seq_dir = next(p for p in (shared_data / "mot17_mini_frames").iterdir() if p.is_dir())
    paths = sorted((seq_dir / "img1").glob("*.jpg"))
    h, w = cv2.imread(str(paths[0])).shape[:2]
    seq = Video(name=seq_dir.name, num_frames=len(paths), height=h, width=w, frame_paths=paths)
    first = int(paths[0].stem)
    inst = []
    from remots.io.instances import Instance

    for line in (seq_dir / "gt" / "gt.txt").read_text().splitlines():
        f, i, x, y, bw, bh = (float(v) for v in line.split(",")[:6])
        t = int(f) - first
        if (
            not 0 <= t < len(paths)
            or bw < 8
            or bh < 8
            or x < 0
            or y < 0
            or x + bw > w
            or y + bh > h
        ):
            continue
        m = np.zeros((h, w), np.uint8)
        m[int(y) : int(y + bh), int(x) : int(x + bw)] = 1
        inst.append(Instance(t, int(i), 2, masks.encode(m)[0]))
        if len(inst) == 25:
            break
    inst.sort(key=lambda i: i.frame)
    path = tmp_path / "m.npy"
    cache = build_crop_cache(seq, inst, path, index_path_of(path), size=(256, 128), progress=False)
    for k, i in enumerate(inst):
        x, y, bw, bh = masks.bbox([i.rle])[0].astype(int)
        rgb = cv2.cvtColor(cv2.imread(str(paths[i.frame])), cv2.COLOR_BGR2RGB)
        patch = rgb[y : y + bh, x : x + bw]
        interp = cv2.INTER_AREA if bh > 256 else cv2.INTER_LINEAR
        assert np.array_equal(cache.crops[k], cv2.resize(patch, (128, 256), interpolation=interp))
