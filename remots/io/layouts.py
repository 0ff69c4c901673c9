"""Dataset layouts: MOTSChallenge, KITTI MOTS, a folder of frames, a video file.

MOTSChallenge: ``<root>/<seq>/{img1/*.jpg, gt/gt.txt, seqinfo.ini}``, frames 1-based.
KITTI MOTS: ``<root>/image_02/<seq>/*.png``, ``<root>/instances_txt/<seq>.txt``,
``<root>/seqmaps/*.seqmap``, frames 0-based.

Every loader returns ``Video`` objects; frames are 0-based indices in memory and the file
numbering is kept in ``Video.frame_base``.
"""

from __future__ import annotations

import configparser
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from remots.errors import InputError
from remots.io.atomic import atomic_write_text
from remots.io.instances import Instance, group_by_frame
from remots.io.mots import read_mots_txt

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")


@dataclass
class Video:
    """One video: its frames, and its ground truth when it has one.

    ``frame_paths`` (image files, in frame order) or ``video_path`` gives the pixels.
    ``gt`` holds 0-based ``Instance`` objects, or None for a sequence without ground truth.
    ``frame_base`` is the number of the first frame in this sequence's files.
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

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.height, self.width)

    def gt_by_frame(self) -> list[list[Instance]]:
        if self.gt is None:
            raise InputError(f"sequence {self.name} has no ground truth")
        return group_by_frame(self.gt, self.num_frames)

    def frame_label(self, t: int) -> int:
        """The frame number as the sequence's files write it."""
        return t + self.frame_base

    def read_frame(self, t: int) -> np.ndarray:
        """Frame ``t`` (0-based) as ``(H, W, 3)`` uint8 BGR, checked against the sequence size."""
        from remots.io.frames import read_frame

        return read_frame(self, t)

    def iter_frames(self, start: int = 0, stop: int | None = None):
        """Yield ``(t, frame)`` in order, streaming (a video is decoded once, front to back)."""
        from remots.io.frames import iter_frames

        return iter_frames(self, start, stop)


# --------------------------------------------------------------------------- seqinfo / seqmap


def read_seqinfo(path: str | Path) -> dict:
    """Read a MOTSChallenge ``seqinfo.ini`` into a dict with typed fields."""
    path = Path(path)
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise InputError("seqinfo.ini not found", path) from None
    except configparser.Error as err:
        raise InputError(f"not a valid seqinfo.ini: {err}", path) from None
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
    height, width = _image_size(frames[0])
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
    if not path.is_file():
        raise InputError("seqmap not found", path)
    out = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or (lineno == 1 and fields == ["name"]):
            continue
        if len(fields) == 1:
            out.append((fields[0], -1, -1))
        elif len(fields) == 4:
            try:
                out.append((fields[0], int(fields[2]), int(fields[3])))
            except ValueError:
                raise InputError("seqmap frames must be integers", path, lineno) from None
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


def list_frames(folder: str | Path) -> list[Path]:
    """Image files of a frame folder, ordered by name (frames are zero-padded numbers)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("frame folder not found", folder)
    frames = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not frames:
        raise InputError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) in the folder", folder)
    return frames


def _image_size(path: Path) -> tuple[int, int]:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError("cannot read image (missing, empty or corrupt)", path)
    return int(img.shape[0]), int(img.shape[1])


def load_motschallenge_sequence(seq_dir: str | Path, *, with_gt: bool = True) -> Video:
    """Load ``<seq_dir>/{seqinfo.ini, img1/, gt/gt.txt}`` (frames 1-based)."""
    seq_dir = Path(seq_dir)
    info = read_seqinfo(seq_dir / "seqinfo.ini")
    n = info["seqLength"]
    if n <= 0:
        raise InputError(f"seqLength is {n}: the sequence is empty", seq_dir / "seqinfo.ini")
    im_dir = seq_dir / info["imDir"]
    frame_paths = [im_dir / f"{t + 1:06d}{info['imExt']}" for t in range(n)]
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
    return seq


def load_motschallenge(
    root: str | Path, *, sequences: Sequence[str] | None = None, with_gt: bool = True
) -> list[Video]:
    """Every ``<root>/<seq>`` holding a ``seqinfo.ini``, or the named ``sequences``, by name."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("MOTSChallenge folder not found", root)
    names = (
        list(sequences)
        if sequences
        else sorted(p.name for p in root.iterdir() if (p / "seqinfo.ini").is_file())
    )
    if not names:
        raise InputError("no sequence folders (with seqinfo.ini) found", root)
    return [load_motschallenge_sequence(root / n, with_gt=with_gt) for n in names]


def load_kitti_mots(
    root: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    seqmap: str | Path | None = None,
    image_dir: str = "image_02",
    instances_dir: str = "instances_txt",
    with_gt: bool = True,
    fps: float = 10.0,
) -> list[Video]:
    """KITTI MOTS layout (frames 0-based). Sequences come from ``sequences``, else the seqmap,
    else ``image_02/``, else ``instances_txt/``. Without images the frame count and size come
    from the seqmap and the GT (enough for evaluation)."""
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
            height, width = _image_size(frame_paths[0])
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
        out.append(
            Video(
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
        )
    return out


def load_frame_folder(folder: str | Path, *, name: str | None = None, fps: float = 30.0) -> Video:
    """A plain folder of frames (ordered by file name), no ground truth."""
    folder = Path(folder)
    frames = list_frames(folder)
    height, width = _image_size(frames[0])
    return Video(
        name=name or folder.name,
        num_frames=len(frames),
        height=height,
        width=width,
        frame_base=1,
        frame_paths=frames,
        fps=fps,
    )


def load_video(path: str | Path, *, name: str | None = None) -> Video:
    """A video file, decoded with OpenCV; no ground truth."""
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
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    finally:
        cap.release()
    if n <= 0 or width <= 0 or height <= 0:
        raise InputError("the video has no frames", path)
    return Video(
        name=name or path.stem,
        num_frames=n,
        height=height,
        width=width,
        frame_base=1,
        video_path=path,
        fps=fps,
    )


def load_sequences(
    layout: str,
    root: str | Path,
    *,
    sequences: Sequence[str] | None = None,
    with_gt: bool = True,
    **kwargs,
) -> list[Video]:
    """Dispatch on ``layout``: ``motschallenge``, ``kitti_mots``, ``frames`` or ``video``."""
    if layout == "motschallenge":
        return load_motschallenge(root, sequences=sequences, with_gt=with_gt)
    if layout == "kitti_mots":
        return load_kitti_mots(root, sequences=sequences, with_gt=with_gt, **kwargs)
    if layout == "frames":
        return [load_frame_folder(root, **kwargs)]
    if layout == "video":
        return [load_video(root, **kwargs)]
    raise InputError(
        f"unknown data layout {layout!r} (expected motschallenge, kitti_mots, frames or video)"
    )
