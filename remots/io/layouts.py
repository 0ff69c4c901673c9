"""Dataset layouts: MOTSChallenge, KITTI MOTS, a folder of frames, a video file.

MOTSChallenge: ``<root>/<seq>/{img1/*.jpg, gt/gt.txt, seqinfo.ini}``, frames 1-based.
KITTI MOTS: ``<root>/image_02/<seq>/*.png``, ``<root>/instances_txt/<seq>.txt``,
``<root>/seqmaps/*.seqmap``, frames 0-based.
A folder of frames: the image files ordered by name, numbered 1, 2, ... in that order.
A video: its frames numbered 1, 2, ... in decoding order.

Every loader returns ``Video`` objects; frames are 0-based indices in memory and the file
numbering is kept in ``Video.frame_base``.

Part of a source (``start``, ``stop``, ``stride``, for every layout): the frames
``start, start + stride, ...`` before ``stop``, counted 0-based from the source's first frame
(Python's ``range``; ``stop`` None is the end). Frame numbering stays the source's: frame ``t``
of the sequence is source frame number ``frame_base + t * frame_step``, so results of frames
101..200 of a video are written as frames 101..200 (``Video.frame_label``). The ground truth
is restricted to the selected frames and renumbered alike; precomputed detections are read in
the source's numbering and restricted the same way (``Video.selection``). With ``stride`` 1
every reader and writer that takes ``frame_base`` works unchanged; with ``stride`` > 1 pass
``frame_step=seq.frame_step`` as well.
"""

from __future__ import annotations

import configparser
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from remots.errors import ConfigError, InputError
from remots.io.atomic import atomic_write_text
from remots.io.frames import read_image
from remots.io.instances import Instance, group_by_frame
from remots.io.mots import MAX_FRAMES, read_bytes, read_mots_txt, select_frames

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


@dataclass
class Video:
    """One video: its frames, and its ground truth when it has one.

    ``frame_paths`` (image files, in frame order) or ``video_path`` gives the pixels.
    ``gt`` holds 0-based ``Instance`` objects, or None for a sequence without ground truth.
    ``frame_base`` is the number of frame 0 in this sequence's files (the source's numbering),
    ``frame_step`` the source frames from one frame to the next (1 unless a stride was asked).
    ``source_frame_base`` and ``source_num_frames`` describe the whole source a part was taken
    from (None: the sequence is the whole source).
    ``fps``: the source's frame rate (a video's own, seqinfo.ini's ``frameRate``); the rate of
    the selected frames is ``selected_fps``.
    ``extra["seq_dir"]`` is the sequence's folder (MOTSChallenge) or the dataset root (KITTI),
    where per-sequence side files such as precomputed detections are looked up.
    """

    name: str
    num_frames: int
    height: int
    width: int
    frame_base: int = 1
    frame_paths: list[Path] | None = None
    video_path: Path | None = None
    fps: float = 30.0
    gt: list[Instance] | None = None
    gt_path: Path | None = None
    extra: dict = field(default_factory=dict)
    frame_step: int = 1
    source_frame_base: int | None = None
    source_num_frames: int | None = None

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def selection(self) -> range:
        """The 0-based source indices of the sequence's frames (frame ``t`` is
        ``selection[t]``)."""
        base = self.frame_base if self.source_frame_base is None else self.source_frame_base
        start = self.frame_base - base
        return range(start, start + self.num_frames * self.frame_step, self.frame_step)

    @property
    def source_length(self) -> int:
        """Frames of the whole source (the sequence's own count when it is not a part)."""
        if self.source_num_frames is not None:
            return self.source_num_frames
        return self.selection.stop if self.num_frames else 0

    @property
    def source_base(self) -> int:
        """The number of the source's first frame in its files."""
        return self.frame_base if self.source_frame_base is None else self.source_frame_base

    @property
    def selected_fps(self) -> float:
        """The frame rate of the selected frames: ``fps / frame_step``."""
        return self.fps / self.frame_step

    def source_index(self, t: int) -> int:
        """The 0-based index in the whole source of frame ``t``."""
        return self.selection.start + t * self.frame_step

    def gt_by_frame(self) -> list[list[Instance]]:
        if self.gt is None:
            raise InputError(f"sequence {self.name} has no ground truth")
        return group_by_frame(self.gt, self.num_frames)

    def frame_label(self, t: int) -> int:
        """The frame number as the sequence's files write it."""
        return self.frame_base + t * self.frame_step

    def select(self, instances) -> list[Instance]:
        """Instances numbered in the whole source (0-based source indices), restricted to the
        sequence's frames and renumbered to its 0-based frames."""
        return select_frames(instances, self.selection)

    def read_frame(self, t: int) -> np.ndarray:
        """Frame ``t`` (0-based) as ``(H, W, 3)`` uint8 BGR, checked against the sequence size."""
        from remots.io.frames import read_frame

        return read_frame(self, t)

    def iter_frames(self, start: int = 0, stop: int | None = None):
        """Yield ``(t, frame)`` in order, streaming (a video is decoded once, front to back)."""
        from remots.io.frames import iter_frames

        return iter_frames(self, start, stop)


# --------------------------------------------------------------------------- seqinfo / seqmap

MAX_SIDE_FILE_BYTES = 2**20  # seqinfo.ini, a seqmap


def read_seqinfo(path: str | Path) -> dict:
    """Read a MOTSChallenge ``seqinfo.ini`` into a dict with typed fields, checked: a positive
    ``seqLength`` of at most ``MAX_FRAMES``, a positive frame size and frame rate."""
    path = Path(path)
    if not path.exists():
        raise InputError("seqinfo.ini not found", path)
    data = read_bytes(path, limit=MAX_SIDE_FILE_BYTES)
    parser = configparser.ConfigParser()
    try:
        parser.read_string(data.decode("utf-8"), source=str(path))
    except UnicodeDecodeError:
        raise InputError("not a valid seqinfo.ini: not UTF-8 text", path) from None
    except configparser.Error as err:
        line = getattr(err, "lineno", None)
        reason = str(err).splitlines()[0]
        raise InputError(f"not a valid seqinfo.ini: {reason}", path, line) from None
    if "Sequence" not in parser:
        raise InputError("seqinfo.ini has no [Sequence] section", path)
    sec = parser["Sequence"]
    out = {}
    for key, cast in (
        ("name", str),
        ("imDir", str),
        ("frameRate", float),
        ("seqLength", int),
        ("imWidth", int),
        ("imHeight", int),
        ("imExt", str),
    ):
        if key not in sec:
            raise InputError(f"seqinfo.ini lacks the key {key}", path)
        try:
            out[key] = cast(sec[key])
        except ValueError:
            raise InputError(
                f"seqinfo.ini key {key}={sec[key]!r} is not a {cast.__name__}", path
            ) from None
    if not 0 < out["frameRate"] < float("inf"):
        raise InputError(f"seqinfo.ini frameRate={sec['frameRate']} is not positive", path)
    if out["seqLength"] > MAX_FRAMES:
        raise InputError(
            f"seqinfo.ini seqLength={out['seqLength']} is more than any real sequence "
            f"({MAX_FRAMES} frames)",
            path,
        )
    for key in ("imWidth", "imHeight"):
        if not 0 < out[key] <= 65_536:
            raise InputError(f"seqinfo.ini {key}={out[key]} is not in 1..65536", path)
    return out


def format_seqinfo(
    name: str,
    num_frames: int,
    width: int,
    height: int,
    fps: float = 30.0,
    ext: str = ".jpg",
    im_dir: str = "img1",
) -> str:
    fps_text = f"{fps:g}"
    return (
        "[Sequence]\n"
        f"name={name}\n"
        f"imDir={im_dir}\n"
        f"frameRate={fps_text}\n"
        f"seqLength={num_frames}\n"
        f"imWidth={width}\n"
        f"imHeight={height}\n"
        f"imExt={ext}\n"
    )


def write_seqinfo(seq_dir: str | Path, **kwargs) -> Path:
    """Write ``<seq_dir>/seqinfo.ini`` (keyword arguments as in ``format_seqinfo``)."""
    path = Path(seq_dir) / "seqinfo.ini"
    atomic_write_text(path, format_seqinfo(**kwargs))
    return path


def write_seqinfo_for_frames(seq_dir: str | Path, fps: float = 30.0) -> Path:
    """Generate ``seqinfo.ini`` for a user's own ``<seq_dir>/img1`` folder of frames."""
    seq_dir = Path(seq_dir)
    frames = list_frames(seq_dir / "img1")
    height, width = _image_size(frames[0], frame=1)
    return write_seqinfo(
        seq_dir,
        name=seq_dir.name,
        num_frames=len(frames),
        width=width,
        height=height,
        fps=fps,
        ext=frames[0].suffix,
    )


def read_seqmap(path: str | Path) -> list[tuple[str, int, int]]:
    """Read a seqmap: KITTI style ``seq empty first last`` lines, or a MOTChallenge ``name``
    header with one sequence per line (``first``/``last`` then -1)."""
    path = Path(path)
    if not path.exists():
        raise InputError("seqmap not found", path)
    data = read_bytes(path, limit=MAX_SIDE_FILE_BYTES)
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError("seqmap is not UTF-8 text", path) from None
    out = []
    for lineno, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or (lineno == 1 and fields == ["name"]):
            continue
        if fields[0] in (".", "..") or "/" in fields[0] or "\\" in fields[0]:
            raise InputError(
                f"sequence name {fields[0]!r} is a path, not a folder name of the dataset",
                path,
                lineno,
            )
        if len(fields) == 1:
            out.append((fields[0], -1, -1))
        elif len(fields) == 4:
            try:
                first, last = int(fields[2]), int(fields[3])
            except ValueError:
                raise InputError("seqmap frames must be integers", path, lineno) from None
            if not 0 <= first <= last < MAX_FRAMES:
                raise InputError(
                    f"seqmap frames {first}..{last} are not 0 <= first <= last < {MAX_FRAMES}",
                    path,
                    lineno,
                )
            out.append((fields[0], first, last))
        else:
            raise InputError(
                f"expected 'seq empty first last' or one name, found {len(fields)} columns",
                path,
                lineno,
            )
    return out


def write_seqmap(path: str | Path, sequences: Sequence[Video], style: str = "kitti") -> Path:
    """Write a seqmap: ``kitti`` (``seq empty first last``) or ``motchallenge`` (``name`` list)."""
    if style == "kitti":
        text = "".join(
            f"{s.name} empty {s.frame_base:06d} {s.frame_base + s.num_frames - 1:06d}\n"
            for s in sequences
        )
    elif style == "motchallenge":
        text = "name\n" + "".join(f"{s.name}\n" for s in sequences)
    else:
        raise ValueError(f"unknown seqmap style {style!r}")
    atomic_write_text(path, text)
    return Path(path)


# --------------------------------------------------------------------------- loaders


def frame_range(
    num_frames: int, start: int = 0, stop: int | None = None, stride: int = 1, *, source=None
) -> range:
    """The 0-based source indices ``range(start, stop, stride)`` of a source of ``num_frames``
    frames, checked: ``start`` >= 0 and before the end, ``stop`` after ``start`` (None: the
    end; past the end: the end), ``stride`` >= 1. ``source`` names the source in errors."""
    where = f" of {source}" if source is not None else ""
    for key, value in (("start", start), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"frame range {key}={value!r} is not an integer")
    if stop is not None and (isinstance(stop, bool) or not isinstance(stop, int)):
        raise ConfigError(f"frame range stop={stop!r} is not an integer or None")
    if stride < 1:
        raise ConfigError(f"frame range stride={stride} must be >= 1")
    if start < 0:
        raise ConfigError(f"frame range start={start} must be >= 0 (frames count from 0)")
    if start >= num_frames:
        raise ConfigError(
            f"frame range start={start} is past the last frame{where} ({num_frames} frames, "
            f"indices 0..{num_frames - 1})"
        )
    if stop is not None and stop <= start:
        raise ConfigError(f"frame range stop={stop} must be after start={start}")
    return range(start, num_frames if stop is None else min(stop, num_frames), stride)


def _part(seq: Video, frames: range) -> Video:
    """``seq`` (a whole source) cut to the source indices ``frames``; GT selected alike."""
    if frames == range(seq.num_frames):
        return seq
    seq.source_frame_base = seq.frame_base
    seq.source_num_frames = seq.num_frames
    seq.frame_base = seq.frame_base + frames.start
    seq.frame_step = frames.step
    seq.num_frames = len(frames)
    if seq.frame_paths is not None:
        seq.frame_paths = [seq.frame_paths[k] for k in frames]
    if seq.gt is not None:
        seq.gt = select_frames(seq.gt, frames)
    return seq


def list_frames(folder: str | Path) -> list[Path]:
    """Image files of a frame folder, ordered by name (frames are zero-padded numbers)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("frame folder not found", folder)
    frames = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not frames:
        raise InputError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in the folder", folder)
    _refuse_empty(frames, base=1)
    return frames


def _refuse_empty(frame_paths: list[Path], base: int) -> None:
    """An empty frame file is refused when the sequence is loaded, not when (or if) a stage
    reads it: a stat per frame."""
    for k, path in enumerate(frame_paths):
        with contextlib.suppress(OSError):  # a missing frame is reported by its own check
            if path.stat().st_size == 0:
                number = int(path.stem) if path.stem.isdigit() else k + base
                raise InputError("cannot read the frame (empty file)", path, frame=number)


def _image_size(path: Path, frame: int | None = None) -> tuple[int, int]:
    img = read_image(path, frame=frame, flags=cv2.IMREAD_UNCHANGED)
    return int(img.shape[0]), int(img.shape[1])


def _check_frames_present(seq_dir: Path, info: dict, frame_paths: list[Path]) -> None:
    """A MOTSChallenge sequence's ``img1/`` against its ``seqinfo.ini``: every frame the seqinfo
    promises is there, none beyond, the first has the seqinfo's size. A sequence without the
    image folder (ground truth for evaluation only) is not checked."""
    seqinfo = seq_dir / "seqinfo.ini"
    im_dir = seq_dir / info["imDir"]
    if not im_dir.is_dir():
        return
    present = {p.name for p in im_dir.iterdir()}
    n = info["seqLength"]
    missing = [p for p in frame_paths if p.name not in present]
    if missing:
        later = [p for p in frame_paths if p.name in present and p.name > missing[0].name]
        if later:  # a hole in the sequence
            raise InputError("frame image is missing", missing[0], frame=int(missing[0].stem))
        numbers = sorted(int(p.stem) for p in im_dir.glob(f"*{info['imExt']}") if p.stem.isdigit())
        held = f"frames {numbers[0]}..{numbers[-1]}" if numbers else "no frames"
        raise InputError(
            f"seqLength={n} but {info['imDir']}/{missing[0].name} is missing "
            f"({info['imDir']}/ holds {held}): fix seqLength, or take part of the sequence "
            "with stop",
            seqinfo,
        )
    _refuse_empty(frame_paths, base=1)
    beyond = im_dir / f"{n + 1:06d}{info['imExt']}"
    if beyond.name in present:
        raise InputError(
            f"seqLength={n} but {info['imDir']}/ holds more frames ({beyond.name} and on): the "
            "seqinfo.ini is too short",
            seqinfo,
        )
    height, width = _image_size(frame_paths[0], frame=int(frame_paths[0].stem))
    if (height, width) != (info["imHeight"], info["imWidth"]):
        raise InputError(
            f"imWidth={info['imWidth']} imHeight={info['imHeight']} but "
            f"{info['imDir']}/{frame_paths[0].name} is {width}x{height} (width x height)",
            seqinfo,
        )


def load_motschallenge_sequence(
    seq_dir: str | Path,
    *,
    with_gt: bool = True,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
) -> Video:
    """Load ``<seq_dir>/{seqinfo.ini, img1/, gt/gt.txt}`` (frames 1-based), or the part
    ``start``/``stop``/``stride`` of it. The frames of the part must all be in ``img1/`` (when
    the folder exists), and the first of them must have the seqinfo's size."""
    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir / "seqinfo.ini")
    n = info["seqLength"]
    if n <= 0:
        raise InputError(f"seqLength is {n}: the sequence is empty", seq_dir / "seqinfo.ini")
    frames = frame_range(n, start, stop, stride, source=seq_dir)
    im_dir = seq_dir / info["imDir"]
    frame_paths = [im_dir / f"{t + 1:06d}{info['imExt']}" for t in range(n)]
    _check_frames_present(seq_dir, info, [frame_paths[k] for k in frames])
    seq = Video(
        name=seq_dir.name,
        num_frames=n,
        height=info["imHeight"],
        width=info["imWidth"],
        frame_base=1,
        frame_paths=frame_paths,
        fps=info["frameRate"],
        extra={"seq_dir": seq_dir},
    )
    gt_path = seq_dir / "gt" / "gt.txt"
    if with_gt and gt_path.is_file():
        seq.gt = read_mots_txt(gt_path, frame_base=1, num_frames=n, image_size=seq.image_size)
        seq.gt_path = gt_path
    return _part(seq, frames)


def _looks_like_a_sequence(folder: Path) -> bool:
    return any((folder / sub).exists() for sub in ("img1", "gt", "det"))


def load_motschallenge(
    root: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    with_gt: bool = True,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
) -> list[Video]:
    """Every ``<root>/<seq>`` holding a ``seqinfo.ini``, or the named ``sequences``, by name.

    A folder of the split that looks like a sequence (it has ``img1/``, ``gt/`` or ``det/``) but
    no ``seqinfo.ini`` is an error, not skipped: the run would cover fewer sequences than the
    split holds. ``start``/``stop``/``stride`` take the same part of every sequence.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("MOTSChallenge folder not found", root)
    if sequences:
        names = list(sequences)
    else:
        names = []
        for p in sorted(root.iterdir()):
            if not p.is_dir() or p.name.startswith("."):
                continue
            if (p / "seqinfo.ini").is_file():
                names.append(p.name)
            elif _looks_like_a_sequence(p):
                raise InputError(
                    "sequence folder without seqinfo.ini (write one, e.g. with "
                    "remots.io.layouts.write_seqinfo_for_frames, or move the folder out of the "
                    "split)",
                    p / "seqinfo.ini",
                )
    if not names:
        raise InputError("no sequence folders (with seqinfo.ini) found", root)
    return [
        load_motschallenge_sequence(
            root / n, with_gt=with_gt, start=start, stop=stop, stride=stride
        )
        for n in names
    ]


def load_kitti_mots(
    root: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    seqmap: str | Path | None = None,
    image_dir: str = "image_02",
    instances_dir: str = "instances_txt",
    with_gt: bool = True,
    fps: float = 10.0,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
) -> list[Video]:
    """KITTI MOTS layout (frames 0-based). Sequences come from ``sequences``, else the seqmap,
    else ``image_02/``, else ``instances_txt/``. Without images the frame count and size come
    from the seqmap and the GT (enough for evaluation); without a seqmap either, the GT's last
    frame ends the sequence (frames past ``MAX_FRAMES`` are refused as not real).
    ``start``/``stop``/``stride`` take the same part of every sequence."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("KITTI MOTS folder not found", root)
    ranges: dict[str, tuple[int, int]] = {}
    if seqmap is not None:
        seqmap = Path(seqmap) if Path(seqmap).is_absolute() else root / seqmap
        for name, first, last in read_seqmap(seqmap):
            ranges[name] = (first, last)
    if sequences:
        names = list(sequences)
    elif ranges:
        names = list(ranges)
    elif (root / image_dir).is_dir():
        names = sorted(p.name for p in (root / image_dir).iterdir() if p.is_dir())
    else:
        names = sorted(p.stem for p in (root / instances_dir).glob("*.txt"))
    if not names:
        raise InputError("no KITTI MOTS sequences found", root)
    out = []
    for name in names:
        img_folder = root / image_dir / name
        frame_paths = list_frames(img_folder) if img_folder.is_dir() else None
        gt_path = root / instances_dir / f"{name}.txt"
        if frame_paths is not None:
            n = len(frame_paths)
            height, width = _image_size(frame_paths[0], frame=0)
        elif name in ranges and ranges[name][1] >= 0:
            n = ranges[name][1] + 1
            height = width = None
        else:
            n = None
            height = width = None
        gt = None
        if with_gt and gt_path.is_file():
            size = (height, width) if height is not None else None
            gt = read_mots_txt(gt_path, frame_base=0, num_frames=n, image_size=size)
            if n is None:
                n = max((i.frame for i in gt), default=-1) + 1
            if height is None and gt:
                height, width = gt[0].height, gt[0].width
        if n is None or n <= 0 or height is None:
            raise InputError(
                "cannot tell the sequence's length and image size (no frames, seqmap or GT)",
                img_folder,
            )
        seq = Video(
            name=name,
            num_frames=n,
            height=height,
            width=width,
            frame_base=0,
            frame_paths=frame_paths,
            fps=fps,
            gt=gt,
            gt_path=gt_path if gt is not None else None,
            extra={"seq_dir": root, "image_dir": root / image_dir / name},
        )
        out.append(_part(seq, frame_range(n, start, stop, stride, source=img_folder)))
    return out


def load_frame_folder(
    folder: str | Path,
    *,
    name: str | None = None,
    fps: float = 30.0,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
) -> Video:
    """A plain folder of frames (ordered by file name, numbered 1, 2, ...), no ground truth;
    ``fps`` is the frames' rate (a folder does not record it)."""
    folder = Path(folder)
    frames = list_frames(folder)
    selection = frame_range(len(frames), start, stop, stride, source=folder)
    height, width = _image_size(frames[selection.start], frame=selection.start + 1)
    seq = Video(
        name=name or folder.name,
        num_frames=len(frames),
        height=height,
        width=width,
        frame_base=1,
        frame_paths=frames,
        fps=fps,
    )
    return _part(seq, selection)


def load_video(
    path: str | Path,
    *,
    name: str | None = None,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
) -> Video:
    """A video file, decoded with OpenCV (frames numbered 1, 2, ...); no ground truth. ``fps``
    is the video's own frame rate."""
    path = Path(path)
    if not path.is_file():
        raise InputError("video file not found", path)
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InputError("OpenCV cannot open the video", path)
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
    if n <= 0 or width <= 0 or height <= 0:
        raise InputError("the video has no frames", path)
    if n > MAX_FRAMES:
        raise InputError(f"the video claims {n} frames, more than {MAX_FRAMES}", path)
    if not 0 < fps < 1000:
        fps = 30.0  # containers without a frame rate
    seq = Video(
        name=name or path.stem,
        num_frames=n,
        height=height,
        width=width,
        frame_base=1,
        video_path=path,
        fps=fps,
    )
    return _part(seq, frame_range(n, start, stop, stride, source=path))


def load_sequences(
    layout: str,
    root: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    with_gt: bool = True,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    **kwargs,
) -> list[Video]:
    """Dispatch on ``layout``: ``motschallenge``, ``kitti_mots``, ``frames`` or ``video``;
    ``start``/``stop``/``stride`` take part of every sequence (see the module's docstring)."""
    part = {"start": start, "stop": stop, "stride": stride}
    if layout == "motschallenge":
        return load_motschallenge(root, sequences=sequences, with_gt=with_gt, **part)
    if layout == "kitti_mots":
        return load_kitti_mots(root, sequences=sequences, with_gt=with_gt, **part, **kwargs)
    if layout == "frames":
        return [load_frame_folder(root, **part, **kwargs)]
    if layout == "video":
        return [load_video(root, **part, **kwargs)]
    raise InputError(
        f"unknown data layout {layout!r} (expected motschallenge, kitti_mots, frames or video)"
    )
