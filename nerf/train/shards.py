"""ShardPool: the independent pieces of one job (ray shards of a training step, chunks of an image
or of occupancy cells) worked through by several threads, each running one torch thread.

Why not torch's own threads: torch splits every CPU op statically between its OpenMP threads, which
then meet at a barrier after each op. When something else wants the cores too (the viewer's window:
software OpenGL and the UI thread wake ~900 times a second on a 2-core machine), whichever torch
thread loses its core holds up the others at every op; inside the viewer, 2 torch threads trained
no faster than 1. Threads that each own whole pieces only wait for each other once, at the end of
the job, and a thread that loses its core delays only its own piece. torch ops release the GIL, so
the pieces run in parallel.

Call `map` from a thread that runs one torch thread itself (`torch.set_num_threads(1)`): the calling
thread works on pieces too. Grad mode is the caller's on every thread (it is thread-local in torch).
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, TypeVar

import torch

from nerf.device import flush_denormals

T = TypeVar("T")


def even_bounds(n: int, k: int) -> list[int]:
    """Where k near-equal consecutive parts of range(n) start, then n: [0, ..., n]."""
    return [round(i * n / k) for i in range(k + 1)]


class _Job:
    """fn(0..n-1) shared out one index at a time to whichever thread asks next."""

    def __init__(self, fn: Callable[[int], object], n: int, grad: bool):
        self.fn, self.n, self.grad = fn, n, grad
        self.results: list = [None] * n
        self.error: BaseException | None = None
        self._taken = self._done = 0
        self._lock = threading.Lock()
        self.finished = threading.Event()

    def work(self) -> None:
        with torch.set_grad_enabled(self.grad):
            while True:
                with self._lock:
                    if self._taken >= self.n or self.error is not None:
                        return
                    i = self._taken
                    self._taken += 1
                try:
                    result, error = self.fn(i), None
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    result, error = None, exc
                with self._lock:
                    self.results[i] = result
                    self.error = self.error or error
                    self._done += 1
                    if self._done == self._taken and (self._taken >= self.n or self.error is not None):
                        self.finished.set()


class ShardPool:
    """`threads` workers: the calling thread plus threads - 1 helpers that live until close()."""

    def __init__(self, threads: int):
        self.size = max(1, int(threads))
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._helpers = [threading.Thread(target=self._serve, name=f"nerf-shard-{i + 1}", daemon=True)
                         for i in range(self.size - 1)]
        for t in self._helpers:
            t.start()

    def _serve(self) -> None:
        torch.set_num_threads(1)
        flush_denormals()  # the pool trains too (nerf.device)
        while (job := self._jobs.get()) is not None:
            job.work()

    def map(self, fn: Callable[[int], T], n: int) -> list[T]:
        """[fn(0), ..., fn(n - 1)], computed on the pool's threads. The first exception raised by
        fn is raised here once every piece already started has finished (no new piece starts)."""
        job = _Job(fn, n, torch.is_grad_enabled())
        if n == 0:
            return []
        for _ in range(min(n, self.size) - 1):
            self._jobs.put(job)
        job.work()
        job.finished.wait()
        if job.error is not None:
            raise job.error
        return job.results

    def split_rows(self, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """fn(x) for an fn that maps each row of x to a row of its result, computed on one slice
        of rows per thread."""
        if x.shape[0] < 2 * self.size:
            return fn(x)
        bounds = even_bounds(x.shape[0], self.size)
        return torch.cat(self.map(lambda i: fn(x[bounds[i]:bounds[i + 1]]), self.size))

    def close(self) -> None:
        """End the helper threads (after the piece each one is working on)."""
        for _ in self._helpers:
            self._jobs.put(None)
        for t in self._helpers:
            t.join()
        self._helpers = []
