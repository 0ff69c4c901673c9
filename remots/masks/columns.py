"""Masks as one-column pieces: exact pixel intersections of many pairs of RLE masks at once.

pycocotools computes mask IoUs one call per frame: each call decodes the RLE strings again,
walks them for bounding boxes, then walks the runs of every pair whose boxes overlap. Here the
strings of a whole file or sequence are decoded once, in numpy (the decoding that checks them),
each mask's foreground is cut into pieces that lie within one image column (COCO RLEs run down
the columns, top to bottom, left to right), and the intersection of two masks is summed column
by column over the columns both span, for all pairs of a sequence in a few array operations.

The counts are exact integers, so ``intersection / (area_a + area_b - intersection)`` is the
double pycocotools' ``rleIou`` returns, bit for bit, and ``intersection / area_a`` its
``iscrowd`` intersection over area.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_MAX_RLE_CHARS_PER_COUNT = 7  # as remots.masks: 35 bits, more than any image of < 2**32 pixels


def rle_chars(counts: Sequence[str | bytes]) -> tuple[np.ndarray, np.ndarray] | None:
    """N RLE strings as one array of their characters (uint8) and ``(N,)`` their lengths;
    None if one is not ASCII."""
    lengths = np.fromiter(map(len, counts), np.int64, count=len(counts))
    try:
        if counts and isinstance(counts[0], bytes):
            chars = b"".join(counts)
        else:
            chars = "".join(counts).encode("ascii", errors="strict")
    except (UnicodeError, TypeError):
        return None
    return np.frombuffer(chars, np.uint8), lengths


def decode_rle_chunk(
    chars: np.ndarray, lengths: np.ndarray, pixels: np.ndarray | int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The run lengths of N compressed RLE strings (``rle_chars``), or None if any is invalid.

    Decodes as pycocotools' ``rleFrString`` does and accepts exactly what ``remots.masks.
    rle_counts`` + ``rle_from_string`` accept: characters of the 6-bit alphabet, no number left
    unfinished, at most 7 characters a number, non-negative runs summing to the mask's
    ``pixels`` (a scalar, or ``(N,)``). Meant for a few hundred strings at a time.

    Returns ``(background, foreground, num_pairs, empty_runs)``: each string's runs in pairs, a
    background run and the foreground run after it (an empty one closing a string of an odd
    number of runs), all strings' pairs concatenated (int64), ``(N,)`` how many pairs each has,
    and whether a string has an empty run after its first (see ``MaskColumns.empty_runs``).
    """
    if len(lengths) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), False
    if not lengths.all():
        return None
    raw = chars
    c = raw - np.uint8(48)
    if c.max() > 63:
        return None  # outside the 6-bit alphabet '0'..'o' (below '0' wraps above 63)
    last = c < 32  # the last character of a number (no continuation bit 0x20)
    string_ends = np.cumsum(lengths) - 1
    if not last[string_ends].all():
        return None  # truncated: the last number would run into the next string
    ends = np.flatnonzero(last)
    # A number's characters carry 5 bits each, least significant first; bit 0x10 of its last
    # character is the sign. Most numbers are one character: its 5 bits, sign-extended. A longer
    # one is its last character's value shifted up by 5 bits per character before it, plus
    # theirs: built from the end while the character before still continues the number (for
    # the first number, index -1 is the chunk's last character, which ends a number).
    top = c[ends].view(np.int8)
    x = (top - ((top & 16) << 1)).astype(np.int64)
    number = np.flatnonzero(~last[ends - 1])  # numbers of two characters or more
    position = ends[number] - 1  # the character before the last one added
    for _ in range(_MAX_RLE_CHARS_PER_COUNT - 1):
        if len(number) == 0:
            break
        x[number] = (x[number] << 5) + (c[position] & np.uint8(0x1F))
        more = np.flatnonzero(~last[position - 1])
        number, position = number[more], position[more] - 1
    else:
        if len(number):
            return None  # a number of more than 7 characters
    # Strings of an odd number of runs get an empty foreground run at the end (below), so every
    # string starts at an even index: the background runs are the even indices, foreground
    # the odd ones. rleFrString: for j > 2, cnts[j] = x[j] + cnts[j - 2] (j: the run's position
    # in its string): cumulative sums over the even and over the odd indices, restarted at each
    # string (the even ones at j = 2: cnts[0] = x[0]).
    string_runs = np.searchsorted(ends, string_ends, side="right")
    num_runs = np.diff(string_runs, prepend=0)
    padded = np.flatnonzero(num_runs & 1)
    if len(padded):
        x = np.insert(x, string_runs[padded], 0)
    num_pairs = (num_runs + 1) >> 1
    first = np.cumsum(num_pairs) - num_pairs  # each string's first pair
    background, foreground = np.cumsum(x[0::2]), np.cumsum(x[1::2])
    foreground_before = np.concatenate(([0], foreground))[first]
    background_at_first = background[first]
    foreground -= np.repeat(foreground_before, num_pairs)
    background -= np.repeat(background_at_first, num_pairs)
    background[first] = x[2 * first]
    if len(padded):
        foreground[first[padded] + num_pairs[padded] - 1] = 0
    if (background < 0).any() or (foreground < 0).any():
        return None
    if not (np.add.reduceat(background + foreground, first) == pixels).all():
        return None
    empty = np.count_nonzero(background == 0) - np.count_nonzero(background[first] == 0)
    empty += np.count_nonzero(foreground == 0) - len(padded)
    return background, foreground, num_pairs, empty > 0


@dataclass(frozen=True, eq=False)
class MaskColumns:
    """N masks of one ``height x width`` image, each cut into one-column pieces.

    area: ``(N,)`` int64 pixel counts.
    col_lo, col_hi: ``(N,)`` the first and the last column holding foreground
        (``col_hi = col_lo - 1`` for an empty mask).
    row_lo, row_hi: ``(N,)`` the first row holding foreground and one past the last.
    slot_base: ``(N,)`` where the mask's columns ``col_lo..col_hi`` start in the slot arrays.
    slot_top, slot_bottom: ``(S,)`` int32, one slot per column of each mask's column range:
        the rows ``[top, bottom)`` of the column's one piece, ``0, 0`` for a column without
        foreground, and for a column of several pieces ``-1 - first, -2**30 - count``: where
        they are in ``piece_top``, ``piece_bottom`` (int32, the rows of those pieces only).
    empty_runs: whether a mask has an empty run after its first. Such strings are valid, but
        pycocotools' IoU stops counting where two masks both reach an empty run at one pixel
        (its walk over the runs ends there), so IoUs differ from pycocotools' only for pairs of
        masks that both have them.
    """

    height: int
    width: int
    area: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    slot_base: np.ndarray
    slot_top: np.ndarray
    slot_bottom: np.ndarray
    piece_top: np.ndarray
    piece_bottom: np.ndarray
    empty_runs: bool = False

    def __len__(self) -> int:
        return len(self.area)

    @classmethod
    def decode(cls, counts: Sequence[bytes | str], height: int, width: int) -> MaskColumns | None:
        """The masks of compressed RLE strings of one image size; None if a string is invalid
        (see ``decode_rle_chunk``)."""
        joined = rle_chars(counts)
        return None if joined is None else cls.from_chars(*joined, height, width)

    @classmethod
    def from_chars(
        cls, chars: np.ndarray, lengths: np.ndarray, height: int, width: int, *, chunk: int = 512
    ) -> MaskColumns | None:
        """``decode`` of strings given as ``rle_chars``. Strings go ``chunk`` at a time, so
        the temporary arrays stay in cache."""
        parts = []
        num_slots = num_pieces = 0
        empty_runs = False
        ends = np.cumsum(lengths)
        for lo in range(0, len(lengths), chunk):
            hi = min(lo + chunk, len(lengths))
            start = ends[lo - 1] if lo else 0
            decoded = decode_rle_chunk(chars[start : ends[hi - 1]], lengths[lo:hi], height * width)
            if decoded is None:
                return None
            background, foreground, num_pairs, empty = decoded
            empty_runs = empty_runs or empty
            part = _chunk_columns(
                background, foreground, num_pairs, height, width, num_slots, num_pieces
            )
            num_slots += len(part["slot_top"])
            num_pieces += len(part["piece_top"])
            if num_pieces >= _SEVERAL // 2:  # slots point at pieces with int32 below -_SEVERAL
                raise ValueError("too many masks for one MaskColumns")
            parts.append(part)
        fields = {
            name: np.concatenate([part[name] for part in parts])
            if parts
            else np.zeros(
                0, np.int32 if name.startswith(("slot_t", "slot_bo", "piece")) else np.int64
            )
            for name in _FIELDS
        }
        return cls(height=height, width=width, **fields, empty_runs=bool(empty_runs))

    def take(self, index: np.ndarray) -> MaskColumns:
        """The masks ``index`` (any order, repeats allowed), sharing this one's columns."""
        index = np.asarray(index, np.int64)
        per_mask = {name: getattr(self, name)[index] for name in _PER_MASK}
        shared = {name: getattr(self, name) for name in _FIELDS if name not in _PER_MASK}
        return MaskColumns(
            height=self.height,
            width=self.width,
            **per_mask,
            **shared,
            empty_runs=self.empty_runs,
        )


_SEVERAL = 2**30  # the bottom of a slot of several pieces is -_SEVERAL - count

_PER_MASK = ("area", "col_lo", "col_hi", "row_lo", "row_hi", "slot_base")
_FIELDS = (*_PER_MASK, "slot_top", "slot_bottom", "piece_top", "piece_bottom")


def _chunk_columns(
    background, foreground, num_pairs, height, width, slots_before, pieces_before
) -> dict:
    """``MaskColumns`` fields of N masks from their decoded runs (``decode_rle_chunk``; masks
    run down the columns), their slots and pieces numbered after ``slots_before`` and
    ``pieces_before``."""
    n = len(num_pairs)
    # where each foreground run starts over the chunk: mask k covers pixels k*h*w ...
    # (k+1)*h*w - 1, so its column c is column k * width + c of the chunk
    start = np.cumsum(background + foreground) - foreground
    length = foreground
    num_pieces = num_pairs
    empty = length == 0
    num_empty = np.count_nonzero(empty)
    if num_empty:  # empty runs hold no pixel: mostly those closing a string (its last pair)
        closing = length[np.cumsum(num_pairs) - 1] == 0
        if num_empty == np.count_nonzero(closing):
            num_pieces = num_pairs - closing
        else:
            num_pieces = np.bincount(np.repeat(np.arange(n), num_pairs)[~empty], minlength=n)
        start, length = start[~empty], length[~empty]
    # start // height, exactly, in float arithmetic (faster than integer division): the float
    # quotient of start + 0.5 is at least 0.5 / height away from an integer, and its error is
    # below start / height * 2**-52, far less for any chunk of masks
    col = ((start + 0.5) * (1.0 / height)).astype(np.int64)
    top = start - col * height
    bottom = top + length
    if (bottom > height).any():  # runs past the bottom row go on in the next column
        col, top, bottom, num_pieces = _split_at_columns(col, top, bottom, num_pieces, height)
    piece_first = np.cumsum(num_pieces) - num_pieces
    nonempty = np.flatnonzero(num_pieces)
    at = piece_first[nonempty]
    col_lo_chunk = np.zeros(n, np.int64)  # columns of the chunk
    col_lo_chunk[nonempty] = col[at]
    col_lo = col_lo_chunk - np.arange(n) * width
    col_hi = col_lo - 1
    col_hi[nonempty] = col[at + num_pieces[nonempty] - 1] - nonempty * width
    row_lo = np.zeros(n, np.int64)
    row_hi = np.zeros(n, np.int64)
    area = np.zeros(n, np.int64)
    if len(nonempty):
        row_lo[nonempty] = np.minimum.reduceat(top, at)
        row_hi[nonempty] = np.maximum.reduceat(bottom, at)
        area[nonempty] = np.add.reduceat(bottom - top, at)
    span = col_hi - col_lo + 1
    slot_base = np.cumsum(span) - span
    slot = np.repeat(slot_base - col_lo_chunk, num_pieces) + col
    slot_top = np.zeros(int(span.sum()), np.int32)
    slot_bottom = np.zeros(len(slot_top), np.int32)
    slot_top[slot] = top
    slot_bottom[slot] = bottom
    repeated = np.flatnonzero(slot[1:] == slot[:-1])
    if len(repeated):  # columns of several pieces: keep those pieces, point the slot at them
        # k pieces of one column at p..p+k-1: repeated holds p..p+k-2
        new = np.ones(len(repeated), bool)
        np.not_equal(repeated[1:], repeated[:-1] + 1, out=new[1:])
        group = np.flatnonzero(new)
        first = repeated[group]
        count = np.empty(len(group), np.int64)
        count[:-1] = group[1:] - group[:-1]
        count[-1] = len(repeated) - group[-1]
        count += 1
        before = np.cumsum(count) - count
        kept = np.repeat(first - before, count) + np.arange(int(count.sum()))
        slot_top[slot[first]] = -1 - (before + pieces_before)
        slot_bottom[slot[first]] = -_SEVERAL - count
        piece_top, piece_bottom = top[kept], bottom[kept]
    else:
        piece_top = piece_bottom = np.zeros(0, np.int32)
    return {
        "area": area,
        "col_lo": col_lo,
        "col_hi": col_hi,
        "row_lo": row_lo,
        "row_hi": row_hi,
        "slot_base": slot_base + slots_before,
        "slot_top": slot_top,
        "slot_bottom": slot_bottom,
        "piece_top": piece_top.astype(np.int32),
        "piece_bottom": piece_bottom.astype(np.int32),
    }


def _split_at_columns(col, top, bottom, num_pieces, height):
    """Cut pieces running past the bottom row into one piece per column."""
    num = (bottom - 1) // height + 1
    at = np.repeat(np.arange(len(col)), num)
    k = np.arange(len(at)) - np.repeat(np.cumsum(num) - num, num)
    new_top = np.where(k == 0, top[at], 0)
    new_bottom = np.minimum(bottom[at] - k * height, height)
    mask = np.repeat(np.arange(len(num_pieces)), num_pieces)[at]
    return col[at] + k, new_top, new_bottom, np.bincount(mask, minlength=len(num_pieces))


def intersections(a: MaskColumns, ia: np.ndarray, b: MaskColumns, ib: np.ndarray) -> np.ndarray:
    """Pixels shared by masks ``a[ia[k]]`` and ``b[ib[k]]``: ``(K,)`` int64.

    Pairs whose boxes do not overlap share nothing; for the others, the pieces of the two masks
    in each column both span are intersected, one column at a time for columns of one piece
    each (almost all), piece by piece for the rest.
    """
    ia = np.asarray(ia, np.int64)
    ib = np.asarray(ib, np.int64)
    out = np.zeros(len(ia), np.int64)
    lo = np.maximum(a.col_lo[ia], b.col_lo[ib])
    hi = np.minimum(a.col_hi[ia], b.col_hi[ib])
    overlap = (lo <= hi) & (
        np.maximum(a.row_lo[ia], b.row_lo[ib]) < np.minimum(a.row_hi[ia], b.row_hi[ib])
    )
    pairs = np.flatnonzero(overlap)
    if len(pairs) == 0:
        return out
    span = hi[pairs] - lo[pairs] + 1
    # pairs in batches of about _BATCH columns, so the temporary arrays stay in cache
    ends = np.cumsum(span)
    cuts = np.searchsorted(ends, np.arange(_BATCH, int(ends[-1]), _BATCH), side="right")
    for k, m in zip([0, *cuts.tolist()], [*cuts.tolist(), len(pairs)], strict=True):
        if m > k:
            batch = pairs[k:m]
            out[batch] = _shared(a, ia[batch], b, ib[batch], lo[batch], span[k:m])
    return out


_BATCH = 1 << 15


def _shared(a: MaskColumns, ia, b: MaskColumns, ib, lo, span) -> np.ndarray:
    """``intersections`` of pairs whose boxes overlap: ``lo`` is the first column both span,
    ``span`` how many they span."""
    offset = np.cumsum(span) - span
    steps = np.arange(int(offset[-1] + span[-1]))
    # the slot of column lo + k of each pair's masks, k = 0..span - 1
    slot_a = np.repeat(a.slot_base[ia] - a.col_lo[ia] + lo - offset, span)
    slot_a += steps
    slot_b = np.repeat(b.slot_base[ib] - b.col_lo[ib] + lo - offset, span)
    slot_b += steps
    top_a, top_b = a.slot_top[slot_a], b.slot_top[slot_b]
    shared = np.minimum(a.slot_bottom[slot_a], b.slot_bottom[slot_b])
    shared -= np.maximum(top_a, top_b)
    several = np.flatnonzero(shared < -_SEVERAL // 2)  # a column of several pieces
    np.maximum(shared, 0, out=shared)
    if len(several):
        bottom_a = a.slot_bottom[slot_a[several]]
        bottom_b = b.slot_bottom[slot_b[several]]
        shared[several] = _piecewise(a, top_a[several], bottom_a, b, top_b[several], bottom_b)
    return np.add.reduceat(shared, offset)


def _piecewise(a: MaskColumns, top_a, bottom_a, b: MaskColumns, top_b, bottom_b):
    """Shared rows of columns where a mask has several pieces (``top_*``, ``bottom_*``: the
    columns' slot values): every piece of one mask's column against every piece of the other's.
    """
    column, piece_top_a, piece_bottom_a = _column_pieces(a, top_a, bottom_a)
    row, piece_top_b, piece_bottom_b = _column_pieces(b, top_b[column], bottom_b[column])
    rows = np.minimum(piece_bottom_a[row], piece_bottom_b) - np.maximum(
        piece_top_a[row], piece_top_b
    )
    return np.bincount(column[row], weights=np.maximum(rows, 0), minlength=len(top_a)).astype(
        np.int64
    )


def _column_pieces(columns: MaskColumns, top, bottom):
    """One row per piece of each column (given by its slot values ``top``, ``bottom``):
    ``(index of the column, top, bottom)``."""
    several = top < 0
    if not several.any():
        return np.arange(len(top)), top, bottom
    count = np.where(several, -_SEVERAL - bottom, 1)
    index = np.repeat(np.arange(len(top)), count)
    j = np.arange(len(index)) - np.repeat(np.cumsum(count) - count, count)
    top, bottom = top[index], bottom[index]
    listed = np.flatnonzero(top < 0)
    piece = j[listed] - 1 - top[listed]
    top[listed] = columns.piece_top[piece]
    bottom[listed] = columns.piece_bottom[piece]
    return index, top, bottom


def iou(intersection: np.ndarray, area_a: np.ndarray, area_b: np.ndarray) -> np.ndarray:
    """pycocotools' mask IoU from exact counts: ``i / (area_a + area_b - i)``, 0 where i = 0."""
    union = area_a + area_b - intersection
    return np.divide(intersection, union, out=np.zeros(len(intersection)), where=intersection > 0)


def over_area(intersection: np.ndarray, area_a: np.ndarray) -> np.ndarray:
    """pycocotools' ``iscrowd`` IoU: the intersection over the first mask's area, 0 where i = 0."""
    return np.divide(intersection, area_a, out=np.zeros(len(intersection)), where=intersection > 0)


# ------------------------------------------------------------------ pairs within frames


def frame_bounds(frames: np.ndarray, num_frames: int) -> np.ndarray:
    """``(num_frames + 1,)``: the masks of frame t are ``bounds[t]:bounds[t + 1]`` of masks
    ordered by frame (``frames`` non-decreasing)."""
    return np.searchsorted(frames, np.arange(num_frames + 1))


def frame_pairs(bounds_a: np.ndarray, bounds_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)`` of mask i of ``a`` and mask j of ``b`` in one frame, by frame,
    then i, then j: frame t's pairs are its ``(G_t, T_t)`` matrix, row by row."""
    size_a, size_b = np.diff(bounds_a), np.diff(bounds_b)
    per_frame = size_a * size_b
    frame = np.repeat(np.arange(len(per_frame)), per_frame)
    k = np.arange(int(per_frame.sum())) - np.repeat(np.cumsum(per_frame) - per_frame, per_frame)
    cols = size_b[frame]
    return bounds_a[:-1][frame] + k // cols, bounds_b[:-1][frame] + k % cols


def pairs_within(bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every pair ``(i, j)``, i < j, of masks of one frame, by frame, then i, then j."""
    i, j = frame_pairs(bounds, bounds)
    upper = i < j
    return i[upper], j[upper]


def first_overlap(columns: MaskColumns, bounds: np.ndarray) -> tuple[int, int] | None:
    """The first pair ``(i, j)`` (by frame, then i, then j) of masks of one frame that share a
    pixel, or None. ``bounds`` from ``frame_bounds``."""
    i, j = pairs_within(bounds)
    shared = np.flatnonzero(intersections(columns, i, columns, j))
    if len(shared) == 0:
        return None
    return int(i[shared[0]]), int(j[shared[0]])
