"""Worker pools (remots/parallel.py): task order, bounded look-ahead, one thread per worker, and
the premise that makes any number of workers give the same bytes: OpenCV's flow and remapping do
not depend on its thread count."""

import os
import time

import cv2
import numpy as np
import pytest

from remots import masks
from remots.parallel import WorkerPool, available_cores, resolve_workers
from remots.tracking.flow import compute_flow, warp_masks


def _sleep_then_return(task):
    delay, value = task
    time.sleep(delay)
    return value


def _threads_of_a_worker(_):
    return cv2.getNumThreads(), os.environ.get("OMP_NUM_THREADS"), os.getpid()


def test_resolve_workers():
    assert resolve_workers(None) == resolve_workers(0) == available_cores() >= 1
    assert resolve_workers(3) == 3
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="workers must be"):
            resolve_workers(bad)


def test_map_ordered_gives_results_in_task_order_when_later_tasks_finish_first():
    tasks = [(0.3, "a"), (0.0, "b"), (0.0, "c"), (0.1, "d"), (0.0, "e")]
    with WorkerPool(2) as pool:
        assert list(pool.map_ordered(_sleep_then_return, tasks)) == list("abcde")
    with WorkerPool(1) as pool:
        assert list(pool.map_ordered(_sleep_then_return, tasks)) == list("abcde")


def test_map_ordered_submits_a_bounded_number_of_tasks_ahead():
    pulled = []

    def tasks():
        for i in range(20):
            pulled.append(i)
            yield (0.0, i)

    with WorkerPool(2) as pool:
        for i, value in enumerate(pool.map_ordered(_sleep_then_return, tasks(), ahead=3)):
            assert value == i
            assert len(pulled) <= i + 1 + 3  # never more than `ahead` beyond the one consumed


def test_map_unordered_yields_every_task_once_with_its_index():
    tasks = [(0.2, "slow"), (0.0, "fast"), (0.05, "middle")]
    with WorkerPool(3) as pool:
        got = list(pool.map_unordered(_sleep_then_return, tasks))
    assert sorted(got) == [(0, "slow"), (1, "fast"), (2, "middle")]
    assert got[0] != (0, "slow")  # the slow one does not hold the others back


def test_workers_run_one_thread_each_in_their_own_processes(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    with WorkerPool(2) as pool:
        got = list(pool.map_ordered(_threads_of_a_worker, range(4)))
    assert {(n, omp) for n, omp, _ in got} == {(1, "1")}
    assert os.getpid() not in {pid for _, _, pid in got}
    assert os.environ["OMP_NUM_THREADS"] == "7"  # the caller's own setting is left alone


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [("dis", {"downscale": 0.5}), ("dis", {"downscale": 1.0}), ("farneback", {"downscale": 0.5})],
)
def test_flow_and_warp_do_not_depend_on_opencv_threads(method, kwargs):
    rng = np.random.default_rng(0)
    world = cv2.GaussianBlur(rng.integers(0, 255, (260, 420, 3), np.uint8), (0, 0), 3)
    prev, curr = world[20:200, 20:340], world[26:206, 31:351]
    dense = np.zeros((3, 180, 320), np.uint8)
    dense[0, 40:90, 50:80] = dense[1, 100:170, 200:260] = dense[2, 60:120, 70:150] = 1
    rles = masks.encode(dense)
    threads = cv2.getNumThreads()
    out = []
    try:
        for n in (1, 2, 3):
            cv2.setNumThreads(n)
            flow = compute_flow(curr, prev, method=method, **kwargs)
            warped = warp_masks(rles, flow)
            out.append((flow.tobytes(), [masks.rle_to_string(r) for r in warped]))
    finally:
        cv2.setNumThreads(threads)
    assert out[0] == out[1] == out[2]
