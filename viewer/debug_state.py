"""NERF_VIEWER_DEBUG_STATE=path: the app's state as JSON, four times a second.

For the GUI tests and bench/bench_viewer.py, which drive the real app from outside and read this
file (tests/support/xdriver.read_state) to know where the view is and whether its frame changed.
"""
from __future__ import annotations

import json
import os
import time

from nerf.train.worker_messages import WorkerStats

ENV = "NERF_VIEWER_DEBUG_STATE"
INTERVAL_S = 0.25


class DebugState:
    """Writes the snapshot to `path` (None: never), replacing the file whole so that a reader
    never sees half of one."""

    def __init__(self, path: str | None):
        self.path = path
        self._next = 0.0

    @classmethod
    def from_env(cls) -> DebugState:
        return cls(os.environ.get(ENV))

    def write(self, now: float, *, view, camera, stats: WorkerStats | None, ui_fps: float, recording: bool,
              window: tuple[int, int], gl_renderer: str, files: list[str], error: str, run_dir,
              path: dict | None = None) -> None:
        """`view`: the LiveView; `camera`: its OrbitCamera; `path`: the camera-path panel's
        debug(); the rest as the app knows them."""
        if not self.path or now < self._next:
            return
        self._next = now + INTERVAL_S
        state = {"time": time.time(), "ui_fps": ui_fps, "render_fps": view.render_meter.rate(now),
                 "stats": stats.summary() if stats else {},
                 "c2w": camera.c2w.tolist(), "frame_hash": view.frame_hash,
                 "frames_shown": view.frames_shown, "view_rect": view.rect(),
                 "latencies_ms": view.schedule.latencies_ms[-50:], "recording": recording,
                 "window": list(window), "gl_renderer": gl_renderer,
                 "files": files, "error": error, "run_dir": str(run_dir), "path": path or {}}
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.path)
