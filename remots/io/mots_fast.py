"""The fast path of ``remots.io.mots.read_mots_txt``: a whole file checked at once with numpy.

``parse_columns`` reads a file's bytes into columns (frames, ids, classes, the RLE strings'
characters in one array) when every line has the plain form ``frame obj_id class_id img_height
img_width rle``; the evaluation decodes those columns' masks directly (``remots.masks.columns``).
``parse_checked`` accepts exactly what the line-by-line ``parse_mots_lines`` accepts in that form
(RLE strings, frame range and order, classes, sizes, duplicate ids, overlaps, these two on the
decoded masks) and returns the same instances, about 4.5x faster on the KITTI MOTS GT. Both
return None when a check fails or a line has another form (CR LF line ends, signs, other
spacing); the reader then runs the line-by-line parser, which reads those and words errors
naming the file and the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from remots.io.instances import Instance
from remots.masks.columns import (
    MaskColumns,
    decode_rle_chunk,
    first_overlap,
    frame_bounds,
    rle_chars,
)


def rle_strings_valid(
    counts: Sequence[str | bytes], heights: np.ndarray, widths: np.ndarray, *, chunk: int = 512
) -> bool:
    """Whether every compressed RLE string decodes to non-negative runs covering its mask.

    The batched form of ``remots.masks.rle_counts`` + ``rle_from_string`` (which mirror
    pycocotools' ``rleFrString``): ``counts`` holds N strings, ``heights`` and ``widths`` are
    ``(N,)`` int arrays. True only if all N are valid. Strings go in chunks of ``chunk`` so the
    temporary arrays stay in cache.
    """
    pixels = np.asarray(heights, np.int64) * np.asarray(widths, np.int64)
    for lo in range(0, len(counts), chunk):
        joined = rle_chars(counts[lo : lo + chunk])
        if joined is None or decode_rle_chunk(*joined, pixels[lo : lo + chunk]) is None:
            return False
    return True


@dataclass(frozen=True, eq=False)
class MOTSColumns:
    """The lines of a MOTS txt file as columns: ``frame`` (0-based), ``obj_id``, ``class_id``
    ``(N,)`` int64; the RLE strings as ``rle_chars`` (uint8, all N concatenated) with
    ``rle_lengths`` ``(N,)``; ``height``, ``width`` of every mask."""

    frame: np.ndarray
    obj_id: np.ndarray
    class_id: np.ndarray
    rle_chars: np.ndarray
    rle_lengths: np.ndarray
    height: int
    width: int

    def __len__(self) -> int:
        return len(self.frame)

    def counts(self) -> list[bytes]:
        """The N RLE strings."""
        data = self.rle_chars.tobytes()
        ends = np.cumsum(self.rle_lengths).tolist()
        return [data[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def parse_columns(
    data: bytes, frame_base, num_frames, image_size, allowed_classes
) -> MOTSColumns | None:
    """The lines of a MOTS txt file's ``data`` as columns, or None unless every line is
    ``frame obj_id class_id img_height img_width rle`` with single spaces, the five numbers in
    digits, and keeps the rules of ``parse_mots_lines`` other than the two that need the masks
    (RLE strings that decode to the image size; no overlaps). The line parser reads what this
    leaves (CR LF line ends, other spacing, signs) and words errors."""
    if not data.isascii():
        return None
    buf = np.frombuffer(data, np.uint8)
    newline = np.flatnonzero(buf == 10)
    line_start = np.concatenate(([0], newline + 1))
    line_end = np.concatenate((newline, [len(buf)]))
    nonempty = line_end > line_start
    line_start, line_end = line_start[nonempty], line_end[nonempty]
    n = len(line_start)
    space = np.flatnonzero(buf == 32)
    first_space = np.searchsorted(space, line_start)
    if (np.searchsorted(space, line_end) - first_space != 5).any():
        return None  # not six fields a line (or a field empty, or spaces around)
    spaces = space[first_space[:, None] + np.arange(5)]  # (n, 5)
    field_start = np.column_stack([line_start, spaces + 1])
    field_end = np.column_stack([spaces, line_end])
    length = field_end - field_start
    if n and (length.min() <= 0 or length[:, :5].max() > 18):
        return None
    values = np.zeros((n, 5), np.int64)
    digits = length[:, :5]
    for i in range(int(digits.max()) if n else 0):
        more = digits > i
        digit = buf[np.where(more, field_start[:, :5] + i, 0)].astype(np.int64) - 48
        if (more & ((digit < 0) | (digit > 9))).any():
            return None
        values = np.where(more, values * 10 + digit, values)
    frame, obj_id, class_id, height, width = values.T
    t = frame - frame_base
    if (t < 0).any() or (num_frames is not None and (t >= num_frames).any()):
        return None
    if (np.diff(t) < 0).any():
        return None
    if allowed_classes is not None and not np.isin(class_id, list(allowed_classes)).all():
        return None
    if (height <= 0).any() or (width <= 0).any():
        return None
    if image_size is not None:
        size = tuple(image_size)
    elif n:
        size = (height[0], width[0])
    else:
        size = (0, 0)
    if (height != size[0]).any() or (width != size[1]).any():
        return None
    order = np.lexsort((obj_id, t))
    if ((np.diff(t[order]) == 0) & (np.diff(obj_id[order]) == 0)).any():
        return None  # an obj_id twice in one frame
    # the RLE strings' characters, in one array: all but the line breaks and each line's first
    # five fields with their spaces
    head = field_start[:, 5] - line_start
    rle = np.ones(len(buf), bool)
    rle[newline] = False
    rle[np.repeat(line_start - (np.cumsum(head) - head), head) + np.arange(int(head.sum()))] = False
    chars = buf[rle]
    return MOTSColumns(t, obj_id, class_id, chars, length[:, 5].copy(), int(size[0]), int(size[1]))


def parse_checked(data, frame_base, num_frames, image_size, allowed_classes, check_overlap):
    """Instances of a MOTS txt file's ``data``, or None if the file is not in the form
    ``parse_columns`` reads or breaks a rule of ``parse_mots_lines``."""
    cols = parse_columns(data, frame_base, num_frames, image_size, allowed_classes)
    if cols is None:
        return None
    if not len(cols):
        return []
    t, h, w = cols.frame, cols.height, cols.width
    if check_overlap:
        masks = MaskColumns.from_chars(cols.rle_chars, cols.rle_lengths, h, w)
        if masks is None or first_overlap(masks, frame_bounds(t, int(t[-1]) + 1)) is not None:
            return None
    elif not _chars_valid(cols, h * w):
        return None
    return [
        Instance(f, o, c, {"size": [h, w], "counts": rle})
        for f, o, c, rle in zip(
            t.tolist(), cols.obj_id.tolist(), cols.class_id.tolist(), cols.counts(), strict=True
        )
    ]


def _chars_valid(cols: MOTSColumns, pixels: int, chunk: int = 512) -> bool:
    """Whether every RLE string of ``cols`` decodes to a mask of ``pixels`` pixels."""
    ends = np.cumsum(cols.rle_lengths)
    for lo in range(0, len(ends), chunk):
        hi = min(lo + chunk, len(ends))
        start = ends[lo - 1] if lo else 0
        chars = cols.rle_chars[start : ends[hi - 1]]
        if decode_rle_chunk(chars, cols.rle_lengths[lo:hi], pixels) is None:
            return False
    return True
