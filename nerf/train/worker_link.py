"""How callers and the training worker talk, whatever the worker decides to do.

In: commands through a FIFO queue (none may be lost: a pause sent after a resume must stay a
pause) and render requests through a newest-wins mailbox (a stale camera is not worth rendering).
Out: newest-wins mailboxes for stats, frames and errors, so a slow reader never makes the worker
fall behind, and a queue of notices for one-off events that must not be dropped (an evaluation
finished, a checkpoint was saved). Every message in wakes the worker.
"""
from __future__ import annotations

import queue
import threading
import traceback
from typing import Iterator

from nerf.runtime.mailbox import Backlog, Mailbox
from nerf.train.worker_messages import Command, Notice, RenderRequest, RenderResult, WorkerStats


class WorkerLink:
    def __init__(self) -> None:
        self.stats: Mailbox[WorkerStats] = Mailbox()
        self.frames: Mailbox[RenderResult] = Mailbox()
        self.errors: Backlog[str] = Backlog()  # every error is read: a newer one never hides an older one
        self.notices: queue.Queue[Notice] = queue.Queue()
        self.requests: Mailbox[RenderRequest] = Mailbox()
        self._commands: queue.Queue[Command] = queue.Queue()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._abort = threading.Event()

    # --- the callers' side ---------------------------------------------------------------------

    def send(self, command: Command) -> None:
        self._commands.put(command)
        self._wake.set()

    def request(self, request: RenderRequest) -> None:
        self.requests.put(request)
        self._wake.set()

    def abort_job(self) -> None:
        self._abort.set()
        self._wake.set()

    def close(self) -> None:
        """Ask the worker to end, aborting a render or job in progress."""
        self._closing.set()
        self._abort.set()
        self._wake.set()

    # --- the worker's side ---------------------------------------------------------------------

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def commands(self) -> Iterator[Command]:
        """The commands waiting now, oldest first."""
        while True:
            try:
                yield self._commands.get_nowait()
            except queue.Empty:
                return

    def idle(self, timeout: float) -> None:
        """Sleep until a message arrives or `timeout` passes."""
        if self._wake.wait(timeout):
            self._wake.clear()

    def start_job(self) -> None:
        """A job starts: an abort asked for before it is not meant for it."""
        self._abort.clear()

    def job_aborted(self) -> bool:
        return self._abort.is_set() or self._closing.is_set()

    def render_superseded(self) -> bool:
        """A newer request waits (or the worker is closing): the render in progress is stale."""
        return self.requests.full or self._closing.is_set()

    def error(self, what: str, exc: BaseException) -> None:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.errors.put(f"{what}: {detail}")
