"""One status line rewritten in place with \\r (no tqdm): the progress display of the commands."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from nerf.process.progress import StageProgress

REFRESH_SECONDS = 0.5  # faster than anyone reads it; each refresh is a write to the terminal


class Progress:
    """Shows at most one line every REFRESH_SECONDS (unless forced); `done` ends the line."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self._last, self._width = 0.0, 0

    def show(self, text: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < REFRESH_SECONDS:
            return
        self._last = now
        self.stream.write("\r" + text.ljust(self._width))  # pads over a longer previous line
        self._width = len(text)
        self.stream.flush()

    def done(self) -> None:
        if self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0  # a new line: nothing left to pad over


class StageBar:
    """nerf-process's `report`: one line per stage, redrawn in place while it runs on a terminal;
    to a log or a pipe only each stage's final line is written."""

    def __init__(self, stream: TextIO | None = None):
        self.progress = Progress(stream)
        self.live = bool(getattr(self.progress.stream, "isatty", lambda: False)())

    def __call__(self, p: StageProgress) -> None:
        if not self.live:
            if p.finished:
                self.progress.stream.write(p.line() + "\n")
                self.progress.stream.flush()
        elif p.finished:
            self.progress.show(p.line(), force=True)
            self.progress.done()
        else:
            self.progress.show(p.line())
