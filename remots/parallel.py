"""Worker processes for the CPU-bound parts of the chain: the frame pairs of a sequence (optical
flow, warping, ``W_short``) and the sequences of a per-sequence stage.

What the workers compute never depends on how many there are: a task is a pure function of
what it is sent, ``map_ordered`` hands results back in task order, and callers that take results
as they finish (``map_unordered``) put them in order themselves. OpenCV's flow, resizing and
remapping give the same bytes on any number of threads (``tests/test_parallel.py``), so a worker
running one thread computes what the caller would.

Workers are forked from a clean server process (multiprocessing's ``forkserver``), not from the
caller, which may hold torch's OpenMP threads, OpenCV's thread pool or a CUDA context (none of
them survive a fork). The server imports the caller's main module and ``WORKER_MODULES`` once, so
a worker starts in milliseconds. Each worker runs one OpenCV, OpenMP and BLAS thread: W workers
keep W cores busy, not W times the cores.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

log = logging.getLogger(__name__)

# Imported by the fork server before it forks any worker.
WORKER_MODULES = ("remots.tracking.short_term",)
_ONE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_server_started = False


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | None) -> int:
    """``workers`` as a count: None or 0 is every available core, n >= 1 is n."""
    if workers is None or workers == 0:
        return available_cores()
    if isinstance(workers, bool) or int(workers) != workers or workers < 0:
        raise ValueError(f"workers must be an integer >= 0 or None, got {workers!r}")
    return int(workers)


def _context():
    """The forkserver context, its server started once with one thread per library."""
    global _server_started
    ctx = multiprocessing.get_context("forkserver")
    if not _server_started:
        from multiprocessing import forkserver

        ctx.set_forkserver_preload(["__main__", *WORKER_MODULES])
        saved = {k: os.environ.get(k) for k in _ONE_THREAD_ENV}
        os.environ.update({k: "1" for k in _ONE_THREAD_ENV})
        try:
            forkserver.ensure_running()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        _server_started = True
    return ctx


def _init_worker() -> None:
    """One thread per library in a worker (the environment covers OpenMP and BLAS)."""
    import cv2

    cv2.setNumThreads(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


class WorkerPool:
    """``workers`` processes (started on first use), or this process alone when ``workers`` is 1.

    Use as a context manager; ``close`` waits for running tasks and drops queued ones.
    """

    def __init__(self, workers: int | None = 1):
        self.workers = resolve_workers(workers)
        self._executor: ProcessPoolExecutor | None = None

    @property
    def parallel(self) -> bool:
        return self.workers > 1

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_init_worker
            )
        return self._executor

    def map_ordered(
        self, fn: Callable[[Any], Any], tasks: Iterable, *, ahead: int | None = None
    ) -> Iterator:
        """``fn(task)`` for each task, in task order. Tasks are submitted while results are
        consumed, at most ``ahead`` (default: twice the workers) beyond the one being waited
        for, so a long sequence is never held in memory at once."""
        if not self.parallel:
            for task in tasks:
                yield fn(task)
            return
        pool = self._pool()
        ahead = max(1, ahead or 2 * self.workers)
        window: deque[Future] = deque()
        try:
            for task in tasks:
                window.append(pool.submit(fn, task))
                if len(window) > ahead:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Iterable) -> Iterator[tuple[int, Any]]:
        """``(i, fn(tasks[i]))`` as each task finishes (in task order in this process)."""
        if not self.parallel:
            for i, task in enumerate(tasks):
                yield i, fn(task)
            return
        pool = self._pool()
        pending = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.get):
                    yield pending.pop(future), future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
