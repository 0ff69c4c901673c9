import numpy as np

from remots import masks
from remots.io.instances import Instance
from remots.io.layouts import Video

H, W = 4, 8  # tiny frames: a mask is a band of whole columns, so IoUs are easy by hand


def cols(frame: int, obj_id: int, c0: int, c1: int, class_id: int | None = None) -> Instance:
    """An instance covering columns c0..c1-1 of a 4x8 frame (4 pixels per column)."""
    m = np.zeros((H, W), np.uint8)
    m[:, c0:c1] = 1
    return Instance(frame, obj_id, class_id or obj_id // 1000, masks.encode(m)[0])


def tiny_sequence(gt: list[Instance], num_frames: int, name: str = "tiny") -> Video:
    return Video(name=name, num_frames=num_frames, height=H, width=W, frame_base=1, gt=gt)
