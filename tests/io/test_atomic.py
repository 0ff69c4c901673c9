"""Atomic artifacts under a failing file system: a full disk or a read-only folder raises one
``StorageError`` naming the artifact and leaves no temporary file; files (crops included) get
the usual mode."""

import errno
import os

import numpy as np
import pytest

from remots.errors import StorageError
from remots.io import atomic
from remots.io.atomic import atomic_memmap, atomic_open, atomic_write_text

UMASK_MODE = atomic._FILE_MODE


def no_temp_files(folder):
    return not [p for p in folder.rglob("*") if ".tmp" in p.name]


def test_artifacts_get_the_usual_file_mode(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "x\n")
    with atomic_memmap(tmp_path / "c.npy", np.uint8, (2, 3)) as out:
        out[:] = 7
    for name in ("a.txt", "c.npy"):
        assert (tmp_path / name).stat().st_mode & 0o777 == UMASK_MODE
    assert np.load(tmp_path / "c.npy").tolist() == [[7, 7, 7], [7, 7, 7]]


def test_the_crop_cache_gets_the_mode_of_other_artifacts(tmp_path):
    from remots.data.crops import build_crop_cache
    from remots.io.instances import Instance

    class Seq:
        name, num_frames = "S", 1

        def iter_frames(self, start, stop):
            yield 0, np.zeros((8, 8, 3), np.uint8)

    from remots import masks

    rle = masks.encode(np.ones((8, 8), np.uint8))[0]
    build_crop_cache(Seq(), [Instance(0, 1, 2, rle)], tmp_path / "c.npy", tmp_path / "c.index.npy",
                     size=(8, 8), progress=False)  # fmt: skip
    for name in ("c.npy", "c.index.npy", "c.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == UMASK_MODE, name


@pytest.mark.parametrize("where", ["write", "fsync", "mkstemp"])
def test_a_full_disk_is_one_error_naming_the_artifact_and_leaves_nothing(
    tmp_path, monkeypatch, where
):
    path = tmp_path / "sub" / "results.txt"
    path.parent.mkdir()
    path.write_text("old\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "fsync":
        monkeypatch.setattr(atomic.os, "fsync", full)
    elif where == "mkstemp":
        monkeypatch.setattr(atomic.tempfile, "mkstemp", full)
    with pytest.raises(StorageError) as info:
        with atomic_open(path) as f:
            f.write("new\n")
            if where == "write":
                full()
    assert str(info.value) == (
        f"{path}: No space left on device: free some space (or raise the limit) and run the "
        "same command again"
    )
    assert path.read_text() == "old\n"  # the artifact as it was
    assert no_temp_files(tmp_path)


def test_a_memory_map_on_a_full_disk_fails_before_any_page_is_written(tmp_path, monkeypatch):
    """A sparse memory map on a full disk would fail with SIGBUS on the first page written:
    its space is reserved first, where ENOSPC is an ordinary error."""
    calls = []

    def no_space(fd, offset, length):
        calls.append(length)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "posix_fallocate", no_space)
    with pytest.raises(StorageError, match=r"crops\.npy: No space left on device"):
        with atomic_memmap(tmp_path / "crops.npy", np.uint8, (10, 32, 16, 3)):
            pytest.fail("the block must not run")
    assert calls and calls[0] >= 10 * 32 * 16 * 3
    assert no_temp_files(tmp_path) and not (tmp_path / "crops.npy").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_one_error_naming_the_artifact(tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(StorageError, match="Permission denied"):
            atomic_write_text(tmp_path / "x.txt", "x")
    finally:
        tmp_path.chmod(0o755)
