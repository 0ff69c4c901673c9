"""FrameDetector batching over real frames (a video), and the ensemble's concatenation."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from remots import masks
from remots.detection.base import Ensemble, FrameDetector
from remots.io.instances import Instance
from remots.io.layouts import load_video


class BrightPixels(FrameDetector):
    """A stand-in model with a checkable answer: one mask of the pixels brighter than 128."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.batches: list[list[int]] = []

    def detect_batch(self, images, frames):
        self.batches.append(list(frames))
        out = []
        for t, img in zip(frames, images, strict=True):
            bright = (cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) > 128).astype(np.uint8)
            out.append(Instance(t, 99, 2, masks.encode(bright)[0], 0.5))
        return out


@pytest.fixture(scope="module")
def video(shared_data):
    seq = load_video(shared_data / "videos" / "vtest.avi")
    return dataclasses.replace(seq, num_frames=5)


def test_frames_of_a_video_are_streamed_in_batches(video):
    detector = BrightPixels(batch_size=2, progress=False)
    dets = detector(video)
    assert detector.batches == [[0, 1], [2, 3], [4]]
    assert [d.frame for d in dets] == [0, 1, 2, 3, 4]
    assert [d.obj_id for d in dets] == [0, 1, 2, 3, 4]
    for d in dets:
        assert d.rle["size"] == [576, 768]
        expected = cv2.cvtColor(video.read_frame(d.frame), cv2.COLOR_BGR2GRAY) > 128
        np.testing.assert_array_equal(masks.decode_one(d.rle).astype(bool), expected)


def test_ensemble_concatenates_members_in_order_with_running_ids(video):
    ensemble = Ensemble(
        members=[BrightPixels(batch_size=3, progress=False), BrightPixels(progress=False)]
    )
    dets = ensemble(video)
    assert [d.frame for d in dets] == [0, 1, 2, 3, 4] * 2
    assert [d.obj_id for d in dets] == list(range(10))
    assert masks.rle_to_string(dets[0].rle) == masks.rle_to_string(dets[5].rle)
    with pytest.raises(ValueError, match="at least one"):
        Ensemble(members=[])
    with pytest.raises(ValueError, match="batch_size"):
        BrightPixels(batch_size=0)
