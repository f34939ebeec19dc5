"""The progress display of the commands (no tqdm): on a terminal one status line rewritten in place
with \\r; to a log file or a pipe a plain line now and then, so a server's log stays readable."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from nerf.runtime.stages import StageProgress

REFRESH_SECONDS = 0.5  # faster than anyone reads it; each refresh is a write to the terminal
LOG_SECONDS = 10.0  # between the lines written to a log or a pipe


class Progress:
    """Shows at most one line every REFRESH_SECONDS on a terminal, every LOG_SECONDS elsewhere
    (unless forced); `done` ends the line. `live`: the stream is a terminal (None: ask it)."""

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) if live is None else live
        self._last, self._width = float("-inf"), 0

    def show(self, text: str, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last < (REFRESH_SECONDS if self.live else LOG_SECONDS):
            return
        self._last = now
        if not self.live:
            self.stream.write(text + "\n")
        else:
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

    def __call__(self, p: StageProgress) -> None:
        if p.finished:
            self.progress.show(p.line(), force=True)
            self.progress.done()
        elif self.progress.live:
            self.progress.show(p.line())
