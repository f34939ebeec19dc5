"""Progress of a counted job in stages: the record a job reports, and its one bar line.

nerf-process's pipeline only calls `report(StageProgress)`; its terminal bar
(nerf/runtime/progress.StageBar) and the viewer's processing window are two readers of the same
record, so neither knows about the other. nerf-render shows its frames with the same line.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

BAR_WIDTH = 24


@dataclass(frozen=True)
class StageProgress:
    """One stage's progress at one moment."""

    stage: str  # "frames" | "features" | "matching" | "mapping" | "writing"
    done: int  # items finished (frames decoded, images, pairs, images registered)
    total: int  # items in the stage; 0 while not known
    elapsed: float  # seconds since the stage started
    finished: bool = False  # the stage's last report

    @property
    def eta(self) -> float | None:
        """Seconds left at the rate so far; None until something is done."""
        if self.finished:
            return 0.0
        if self.done <= 0 or self.total <= 0:
            return None
        return self.elapsed * max(self.total - self.done, 0) / self.done

    @property
    def rate(self) -> float:
        """Items per second so far (0 before any time has passed)."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    def line(self) -> str:
        """`features  [#######.........]     12/30    4.0s  3.0/s  ETA 6s`."""
        frac = min(self.done / self.total, 1.0) if self.total else 0.0
        filled = int(round(frac * BAR_WIDTH))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        counts = f"{self.done}/{self.total}" if self.total else f"{self.done}"
        eta = self.eta
        tail = "done" if self.finished else ("ETA --" if eta is None else f"ETA {eta:.0f}s")
        return f"{self.stage:<9} [{bar}] {counts:>9}  {self.elapsed:5.1f}s  {self.rate:.1f}/s  {tail}"


Report = Callable[[StageProgress], None]


class Stage:
    """Times one stage and turns (done, total) ticks into StageProgress reports."""

    def __init__(self, name: str, report: Report | None, total: int = 0):
        self.name, self.report, self.total = name, report, total
        self.start = time.perf_counter()
        self.done = 0
        self.tick(0, total)

    def tick(self, done: int, total: int | None = None) -> None:
        self.done = done
        self.total = self.total if total is None else total
        if self.report:
            self.report(StageProgress(self.name, done, self.total, time.perf_counter() - self.start))

    def finish(self, done: int | None = None) -> float:
        """Last report of the stage; returns its duration in seconds."""
        elapsed = time.perf_counter() - self.start
        done = self.done if done is None else done
        if self.report:
            self.report(StageProgress(self.name, done, self.total or done, elapsed, finished=True))
        return elapsed
