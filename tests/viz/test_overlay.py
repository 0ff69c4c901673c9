"""Overlay videos: the source's frame rate, and every row of a frame of odd height."""

import cv2
import numpy as np
import pytest

from remots import masks
from remots.io import layouts
from remots.io.instances import Instance
from remots.viz.overlay import write_overlays


def test_overlay_video_plays_at_the_videos_rate_over_a_strided_part(shared_data, tmp_path):
    seq = layouts.load_video(shared_data / "videos" / "vtest.avi", stop=12, stride=2)
    written = write_overlays(seq, [], tmp_path, keep_frames=1)
    video = tmp_path / "vtest.mp4"
    assert video in written and (tmp_path / "vtest_000001.jpg") in written
    cap = cv2.VideoCapture(str(video))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(5.0)
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 6
    cap.release()


def test_overlay_video_of_odd_height_keeps_the_last_row(tmp_path):
    h, w = 75, 121  # odd, like KITTI's 375 x 1241
    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(3):
        img = np.zeros((h, w, 3), np.uint8)
        img[-1, :] = 255  # the last row and column are white
        img[:, -1] = 255
        cv2.imwrite(str(folder / f"{k:06d}.png"), img)
    seq = layouts.load_frame_folder(folder, fps=10)
    mask = np.zeros((h, w), np.uint8)
    mask[10:30, 20:40] = 1
    tracks = [Instance(t, 2001, 2, masks.encode(mask)[0]) for t in range(3)]
    write_overlays(seq, tracks, tmp_path / "out", keep_frames=0)
    cap = cv2.VideoCapture(str(tmp_path / "out" / "frames.mp4"))
    ok, img = cap.read()
    cap.release()
    assert ok and img.shape == (h + 1, w + 1, 3)
    assert img[h - 1, 40:100].mean() > 200  # the frame's last row is there
    assert img[h, 40:100].mean() < 60  # the padding row is black
