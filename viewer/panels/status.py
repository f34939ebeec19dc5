"""Status line: device, memory in use, UI and renderer frame rates, and the last error."""
from __future__ import annotations

import os
import time
from collections import deque

import dearpygui.dearpygui as dpg
import torch

from nerf.train.loop import NAN_STOP_AFTER


def memory_in_use(device: torch.device) -> str:
    """Resident memory of this process, plus allocated GPU memory on CUDA."""
    text = ""
    try:
        with open("/proc/self/statm") as f:
            rss_pages = int(f.read().split()[1])
        text = f"RAM {rss_pages * os.sysconf('SC_PAGE_SIZE') / 2**30:.2f} GiB"
    except (OSError, ValueError):
        pass
    if device.type == "cuda":
        text += f"  GPU {torch.cuda.memory_allocated(device) / 2**30:.2f} GiB"
    return text or "memory n/a"


class RateMeter:
    """Events per second over the last `window` seconds."""

    def __init__(self, window: float = 2.0):
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float | None = None) -> None:
        self._times.append(time.perf_counter() if now is None else now)

    def rate(self, now: float | None = None) -> float:
        now = time.perf_counter() if now is None else now
        while self._times and self._times[0] < now - self.window:
            self._times.popleft()
        return len(self._times) / self.window


def snap_hint(snap: tuple[str, int] | None) -> str:
    """The status line's word on a snapped view: which one, and how to leave it."""
    if snap is None:
        return ""
    return f"| {snap[0]} view {snap[1]} (drag or R leaves it, [ ] other cameras)"


class StatusLine:
    def __init__(self, device: torch.device):
        self.device = device
        self.renderer = ""  # shown when drawing takes CPU time from training
        self._next = 0.0
        self._error_until = 0.0

    def build(self, parent) -> None:
        with dpg.group(horizontal=True, parent=parent):
            self.text = dpg.add_text("")
            self.error = dpg.add_text("", color=(255, 110, 90))

    def update(self, ui_fps: float, render_fps: float, message: str = "") -> None:
        now = time.perf_counter()
        if now < self._next:
            return
        self._next = now + 0.5  # reading /proc twice a second is plenty
        dpg.set_value(self.text, f"{self.device.type.upper()}  |  {memory_in_use(self.device)}  |  "
                                 f"UI {ui_fps:.0f} fps{self.renderer}  |  renderer {render_fps:.1f} fps  {message}")

    def note_renderer(self, gl_renderer: str) -> None:
        """The window is drawn by a software OpenGL renderer (on the CPU)."""
        self.renderer = f" (software GL: {gl_renderer.split(' (')[0]})"

    def show_nan(self, step: int, paused: bool) -> None:
        """The loss was not finite and training went back to the weights of `step` (nerf.train.worker)."""
        if paused:
            self.show_error(f"loss NaN {NAN_STOP_AFTER} times in a row: training paused at step {step}; "
                            "lower the learning rate, then resume (Space)")
        else:
            self.show_error(f"loss was NaN: back to the weights of step {step}, training goes on")

    def show_error(self, message: str) -> None:
        dpg.set_value(self.error, f"  error: {message}"[:220])
