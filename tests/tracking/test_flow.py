import glob
from pathlib import Path

import cv2
import numpy as np
import pytest

from remots import masks
from remots.tracking.flow import compute_flow, split_label_map, warp_masks


def _texture(rng, height, width, blur=3):
    noise = rng.integers(0, 256, (height, width), dtype=np.uint8)
    img = cv2.GaussianBlur(noise, (0, 0), blur)
    img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


def _moving_square(shift=(7, 3), size=40, top_left=(50, 40), shape=(160, 200), seed=0):
    """Two frames: a textured square moving by ``shift`` (dx, dy) over a static background."""
    rng = np.random.default_rng(seed)
    background = _texture(rng, *shape)
    patch = _texture(rng, size, size, blur=2)
    frames, square_masks = [], []
    for k in range(2):
        x, y = top_left[0] + k * shift[0], top_left[1] + k * shift[1]
        img = background.copy()
        img[y : y + size, x : x + size] = patch
        m = np.zeros(shape, np.uint8)
        m[y : y + size, x : x + size] = 1
        frames.append(img)
        square_masks.append(masks.encode(m)[0])
    return frames, square_masks


def _iou(a, b):
    return float(masks.iou_matrix([a], [b])[0, 0])


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_warp_moves_the_mask_with_the_object_and_the_wrong_direction_moves_it_back(method):
    (f0, f1), (m0, m1) = _moving_square()
    plain = _iou(m0, m1)  # 40x40 shifted by (7, 3): 33*37 / (2*1600 - 33*37)
    assert plain == pytest.approx(33 * 37 / (3200 - 33 * 37))
    forward = warp_masks([m0], compute_flow(f1, f0, method=method))[0]
    assert _iou(forward, m1) > 0.85 > plain
    # remapping with the flow from t to t+1 carries the mask against the motion
    wrong = warp_masks([m0], compute_flow(f0, f1, method=method))[0]
    assert _iou(wrong, m1) < plain
    ys, xs = np.nonzero(masks.decode_one(wrong))
    assert xs.mean() < 50 + 20 - 1.5 and ys.mean() < 40 + 20 - 0.5  # centroid moved back


def test_downscaled_flow_is_in_full_size_pixels():
    (f0, f1), _ = _moving_square(shift=(8, 4), shape=(200, 240))
    full = compute_flow(f1, f0, method="dis", downscale=1.0)
    half = compute_flow(f1, f0, method="dis", downscale=0.5)
    assert half.shape == full.shape == (200, 240, 2)
    # inside the moving square (now at 58..98, 44..84) the flow to the previous frame is (-8, -4)
    inner = half[52:76, 66:90]
    assert np.median(inner[..., 0]) == pytest.approx(-8, abs=1.0)
    assert np.median(inner[..., 1]) == pytest.approx(-4, abs=1.0)


def test_compute_flow_rejects_bad_arguments():
    img = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="unknown flow method"):
        compute_flow(img, img, method="lucas")
    with pytest.raises(ValueError, match="downscale"):
        compute_flow(img, img, downscale=0)
    with pytest.raises(ValueError, match="differ in size"):
        compute_flow(img, np.zeros((16, 32, 3), np.uint8))


def test_warp_with_a_constant_flow_is_an_exact_shift_also_for_overlapping_masks():
    dense = np.zeros((3, 30, 40), np.uint8)
    dense[0, 5:15, 3:12] = 1
    dense[1, 10:20, 8:20] = 1  # overlaps mask 0: warped in its own layer
    dense[2, 22:30, 30:40] = 1  # touches the border: the part carried in from outside is empty
    flow = np.zeros((30, 40, 2), np.float32)
    flow[..., 0] = -5  # warped(y, x) = mask(y, x - 5): a shift by +5 in x
    flow[..., 1] = 2  # and by -2 in y
    warped = masks.decode(warp_masks(masks.encode(dense), flow))
    expected = np.zeros_like(dense)
    expected[:, :28, 5:] = dense[:, 2:, :35]
    np.testing.assert_array_equal(warped, expected)
    assert warp_masks([], flow) == []


def test_warp_equals_remapping_each_decoded_mask_on_a_random_flow():
    """Every warped mask is the decoded mask remapped alone, nearest pixel, with two float maps
    ``x + Fx`` and ``y + Fy`` (the definition), on a smooth random flow with fractional vectors of
    up to 20 px: the label map painted from the RLE runs, the cached pixel grid and the one
    two-channel map change nothing. Odd frame size, overlapping masks, masks on the border, an
    empty mask, a one-pixel mask in the last pixel."""
    rng = np.random.default_rng(3)
    height, width = 37, 53
    dense = np.zeros((6, height, width), np.uint8)
    dense[0, 3:20, 4:30] = 1
    dense[1, 15:37, 20:41] = 1  # overlaps mask 0, touches the bottom border
    dense[2, :9, 40:] = 1  # the top-right corner
    dense[3] = rng.random((height, width)) < 0.1  # scattered pixels, overlapping the others
    dense[5, -1, -1] = 1  # mask 4 stays empty
    flow = cv2.GaussianBlur(rng.uniform(-20, 20, (height, width, 2)).astype(np.float32), (0, 0), 3)
    grid_x, grid_y = np.meshgrid(
        np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    )
    expected = [
        cv2.remap(
            m,
            grid_x + flow[..., 0],
            grid_y + flow[..., 1],
            cv2.INTER_NEAREST,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        for m in dense
    ]
    for _ in range(2):  # the second call reads the cached grid
        warped = masks.decode(warp_masks(masks.encode(dense), flow))
        np.testing.assert_array_equal(warped, np.stack(expected))


def test_split_label_map_matches_dense_encoding():
    rng = np.random.default_rng(3)
    label_map = rng.integers(0, 5, (23, 17)).astype(np.uint16)
    label_map[label_map == 3] = 0  # label 3 absent: empty mask
    rles = split_label_map(label_map, 4)
    expected = masks.encode(label_map[None] == np.arange(1, 5)[:, None, None])
    for got, want in zip(rles, expected, strict=True):
        np.testing.assert_array_equal(masks.decode_one(got), masks.decode_one(want))
    assert masks.area([rles[2]])[0] == 0


def _box_mask(row, height, width):
    m = np.zeros((height, width), np.uint8)
    x, y, w, h = (round(v) for v in row[2:6])
    m[max(y - 1, 0) : y + h - 1, max(x - 1, 0) : x + w - 1] = 1
    return m


@pytest.mark.parametrize(
    "seq", ["MOT17-02-FRCNN", "MOT17-05-FRCNN", "MOT17-09-FRCNN", "MOT17-11-FRCNN"]
)
def test_warped_box_masks_overlap_the_object_better_on_real_mot17_frames(shared_data, seq):
    """Box-derived masks of moving pedestrians, carried frame by frame with the computed flow
    from the first to the last available frame, overlap the object's GT box there better than
    the unwarped mask does."""
    folder = Path(shared_data) / "mot17_mini_frames" / seq
    gt = np.loadtxt(folder / "gt" / "gt.txt", delimiter=",")
    gt = gt[(gt[:, 6] == 1) & (gt[:, 7] == 1) & (gt[:, 8] > 0.5)]  # visible pedestrians
    frames = [cv2.imread(p) for p in sorted(glob.glob(str(folder / "img1" / "*.jpg")))]
    last = len(frames)
    height, width = frames[0].shape[:2]
    first_rows, last_rows = [], []
    for obj in np.unique(gt[:, 1]):
        rows = gt[gt[:, 1] == obj]
        a, b = rows[rows[:, 0] == 1], rows[rows[:, 0] == last]
        if len(a) and len(b) and np.hypot(*(b[0, 2:4] - a[0, 2:4])) >= 5:  # moving objects
            first_rows.append(a[0])
            last_rows.append(b[0])
    assert len(first_rows) >= 2
    start = masks.encode(np.stack([_box_mask(r, height, width) for r in first_rows]))
    target = masks.encode(np.stack([_box_mask(r, height, width) for r in last_rows]))
    warped = start
    for t in range(1, last):
        warped = warp_masks(warped, compute_flow(frames[t], frames[t - 1], downscale=0.5))
    plain_iou = np.diag(masks.iou_matrix(start, target))
    warped_iou = np.diag(masks.iou_matrix(warped, target))
    assert warped_iou.mean() > plain_iou.mean() + 0.04
    assert (warped_iou > plain_iou).mean() >= 0.75


def test_paint_label_map_from_runs_matches_decoded_masks(kitti_root):
    """Real KITTI MOTS masks of one frame (exclusive), painted from their RLE runs."""
    from remots.io.mots import read_mots_txt
    from remots.tracking.flow import paint_label_map

    gt = read_mots_txt(kitti_root / "instances_txt" / "0019.txt", frame_base=0)
    frame = [g for g in gt if g.frame == 30]
    assert len(frame) >= 4
    h, w = frame[0].height, frame[0].width
    expected = np.zeros((h, w), np.uint16)
    for n, g in enumerate(frame, start=1):
        expected[masks.decode_one(g.rle).astype(bool)] = n
    np.testing.assert_array_equal(paint_label_map([g.rle for g in frame], h, w), expected)
