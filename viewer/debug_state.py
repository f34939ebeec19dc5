"""NERF_VIEWER_DEBUG_STATE=path: the app's state as JSON, four times a second.

For the GUI tests and bench/bench_viewer.py, which drive the real app from outside and read this
file (tests/support/xdriver.read_state) to know where the view is and whether its frame changed.
Each part of the app that has something to say gives a `section(now) -> dict`; the file is their union.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

ENV = "NERF_VIEWER_DEBUG_STATE"
INTERVAL_S = 0.25

Section = Callable[[float], dict]


class DebugState:
    """Writes the union of `sections` to `path` (None: never), replacing the file whole so that a
    reader never sees half of one."""

    def __init__(self, path: str | None, sections: list[Section] | None = None):
        self.path = path
        self.sections: list[Section] = list(sections or [])
        self._next = 0.0

    @classmethod
    def from_env(cls, sections: list[Section] | None = None) -> DebugState:
        return cls(os.environ.get(ENV), sections)

    def write(self, now: float) -> None:
        if not self.path or now < self._next:
            return
        self._next = now + INTERVAL_S
        state: dict = {"time": time.time()}
        for section in self.sections:
            state.update(section(now))
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.path)
