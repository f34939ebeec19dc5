"""log.jsonl, the run log: one JSON object per line, appended.

The viewer's worker and nerf-train write it through this one class, so a headless curve and a
viewer session compare step for step. Two kinds of record:

    training    {"step", "seconds" (training time), "time" (Unix wall clock), "loss", "psnr", "rays_per_s"}
    evaluation  {"step", "seconds", "test_psnr", "test_ssim"}

Non-finite numbers are written as null: NaN is not JSON, and strict readers refuse the whole file.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from nerf.files import finite


class RunLog:
    """Appends records to `path` (None: a log that writes nothing). A write that fails (disk full, a
    folder in the way) is reported once through on_error(path, exc) and logging stops: training
    goes on without it. Each record is flushed, so a reader sees it as soon as it is written."""

    def __init__(self, path: str | Path | None, on_error: Callable[[Path, OSError], None] | None = None):
        self.path = Path(path) if path else None
        self._on_error = on_error
        self._file = None
        if self.path is not None:
            try:
                self._file = open(self.path, "a")
            except OSError as exc:
                self._fail(exc)

    def training(self, step: int, seconds: float, loss: float, psnr: float, rays_per_s: float) -> None:
        self.write({"step": step, "seconds": round(seconds, 3), "time": round(time.time(), 3), "loss": loss,
                    "psnr": psnr, "rays_per_s": round(rays_per_s, 1)})

    def evaluation(self, step: int, seconds: float, psnr: float, ssim: float) -> None:
        self.write({"step": step, "seconds": round(seconds, 3), "test_psnr": psnr, "test_ssim": ssim})

    def write(self, record: dict) -> None:
        if self._file is None:
            return
        try:
            self._file.write(json.dumps(finite(record), allow_nan=False) + "\n")
            self._file.flush()
        except OSError as exc:
            self._fail(exc)

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
        self._file = None

    def _fail(self, exc: OSError) -> None:
        self.close()
        if self._on_error is not None:
            self._on_error(self.path, exc)


class Throughput:
    """Training rays per second over a window that each reading closes. While no step ran since the
    last reading, the reading repeats the previous rate instead of dividing by zero."""

    def __init__(self) -> None:
        self._rays, self._seconds, self._rate = 0, 0.0, 0.0

    def add(self, rays: int, seconds: float) -> None:
        self._rays += rays
        self._seconds += seconds

    def read(self) -> float:
        if self._seconds > 0:
            self._rate = self._rays / self._seconds
        self._rays, self._seconds = 0, 0.0
        return self._rate
