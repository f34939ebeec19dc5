"""Progress of the processing stages: what the pipeline reports, and a terminal bar that shows it.

The pipeline only calls `report(StageProgress)`; the terminal bar below and the viewer's status
panel are two readers of the same record, so neither knows about the other.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, TextIO

BAR_WIDTH = 24
REDRAW_SECONDS = 0.2  # fast enough to look live, slow enough not to flood a log


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

    def line(self) -> str:
        """`features  [#######.........]  12/30  4s  ETA 6s`."""
        frac = min(self.done / self.total, 1.0) if self.total else 0.0
        filled = int(round(frac * BAR_WIDTH))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        counts = f"{self.done}/{self.total}" if self.total else f"{self.done}"
        eta = self.eta
        tail = "done" if self.finished else ("ETA --" if eta is None else f"ETA {eta:.0f}s")
        return f"{self.stage:<9} [{bar}] {counts:>9}  {self.elapsed:5.1f}s  {tail}"


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


class TerminalBar:
    """A `report` for a terminal: one line per stage, redrawn in place (\\r) while it runs.

    Not a terminal (a log, a pipe): only each stage's final line is written.
    """

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_draw = 0.0

    def __call__(self, p: StageProgress) -> None:
        now = time.perf_counter()
        if p.finished:
            self.stream.write(("\r" if self.live else "") + p.line() + "\n")
        elif self.live and now - self.last_draw >= REDRAW_SECONDS:
            self.stream.write("\r" + p.line())
        else:
            return
        self.last_draw = now
        self.stream.flush()
