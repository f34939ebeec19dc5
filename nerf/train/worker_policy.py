"""When the training worker steps, renders, yields or sleeps: its scheduling policy, apart from the thread.

A pending render request is served at once when it is interactive (the user is moving the camera)
or prompt (the camera came to rest on a view not yet shown at full quality: it refines at once, as
nerfview's does), while the user interacts, or while training is paused; otherwise once the worker
has trained for long enough since the last render that renders take `share` of its time. A step in
progress gives way (yields) to an interactive request once its forward pass is done. (The budget
belongs to the training loop, nerf.train.loop.) The caller passes the clock, so every rule can be
checked without a thread.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from nerf.train.worker_messages import RenderRequest

MIN_SHARE = 0.05  # of the worker's time for renders: below this the view would look frozen
# Rays per render chunk on a CPU: small enough that a newer camera aborts a stale render quickly
# (BENCHMARKS.md, "Viewer"). GPUs keep the trainer's larger chunk (per-chunk overhead would dominate).
CPU_RENDER_CHUNK = 2048
IDLE_WAIT_S = 0.25  # nothing to do: how long to sleep unless woken
RENDER_POLL_S = 0.01  # a render waits for its turn: look again this soon


@dataclass
class WorkerPolicy:
    running: bool = True  # training wanted (not paused)
    interacting: bool = False  # the user is moving the camera: training held
    share: float = 0.3
    last_render_s: float = 0.0  # of the last render that finished
    last_render_end: float = 0.0

    def set_share(self, share: float) -> None:
        self.share = min(1.0, max(MIN_SHARE, float(share)))

    def should_train(self) -> bool:
        return self.running and not self.interacting

    def may_render(self, request: RenderRequest, now: float) -> bool:
        if request.interactive or request.prompt or not self.should_train():
            return True
        wait = self.last_render_s * (1.0 - self.share) / self.share
        return now - self.last_render_end >= wait

    def yields_to(self, request: RenderRequest | None) -> bool:
        """Drop the step in progress for this waiting request: a camera move wants a frame now."""
        return request is not None and request.interactive

    def idle_timeout(self, request: RenderRequest | None) -> float:
        return RENDER_POLL_S if request is not None else IDLE_WAIT_S

    def rendered(self, seconds: float, end: float, finished: bool) -> None:
        """A render ended at `end`; only a finished one says how long renders take."""
        if finished:
            self.last_render_s = seconds
        self.last_render_end = end


def render_chunk(device: torch.device | str) -> int | None:
    """Rays per render chunk for the trainer's device (None: the trainer's own)."""
    return CPU_RENDER_CHUNK if torch.device(device).type == "cpu" else None
