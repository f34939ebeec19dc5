"""SIGINT and SIGTERM as a request to stop, so that a command saves its work before it exits.

A signal arriving in the middle of a training step would leave the trainer half-updated (weights
stepped, the step count not), and a checkpoint of that state would not resume exactly. So while
training, a signal only sets a flag that the loop reads between steps; the command then saves and
exits with 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as a shell expects. Where
nothing is lost by stopping at once (loading a scene, evaluating after the checkpoint is saved),
`immediate()` turns the signal into a `Stopped` exception raised where the main thread is.

Python runs signal handlers on the main thread between bytecodes, so the flag is read at the next
step boundary and `Stopped` is raised once the current torch op returns.
"""
from __future__ import annotations

import contextlib
import gc
import signal
import threading
from collections.abc import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)
NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class Stopped(KeyboardInterrupt):
    """Raised by `StopSignals.immediate` (a KeyboardInterrupt, so Ctrl-C handling catches it too)."""

    def __init__(self, signum: int):
        super().__init__(NAMES.get(signum, str(signum)))
        self.signum = signum


class StopSignals:
    """Context manager: SIGINT and SIGTERM set `requested` (and the `event`) instead of killing the
    process; the previous handlers come back on exit. Install from the main thread only."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.event = threading.Event()  # for threads that wait on it instead of polling
        self._immediate = 0
        self._previous: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        """128 + the signal's number: 130 for SIGINT, 143 for SIGTERM (130 when none came)."""
        return 128 + (self.signum or signal.SIGINT)

    @property
    def name(self) -> str:
        return NAMES.get(self.signum or signal.SIGINT, "signal")

    def __enter__(self) -> "StopSignals":
        for s in SIGNALS:
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous.clear()

    @contextlib.contextmanager
    def immediate(self) -> Iterator[None]:
        """Inside the block a signal raises `Stopped` at once (and one that came before the block
        raises on entry): for work that can be dropped without losing anything."""
        self._immediate += 1
        try:
            if self.requested:
                raise Stopped(self.signum)
            yield
        finally:
            self._immediate -= 1

    def request(self, signum: int = signal.SIGINT) -> None:
        """As if `signum` had arrived (a window's close button, a test)."""
        if self.signum is None:
            self.signum = signum
        self.event.set()

    def _handle(self, signum: int, _frame) -> None:
        self.request(signum)
        if self._immediate:
            raise Stopped(signum)


def exit_soon() -> None:
    """Call when the process ends next and everything is written (a command's console entry):
    the interpreter's final garbage collection over every torch object takes a second or more on
    a busy CPU, half of the 2 s a stop signal allows. Frozen objects are left to the OS."""
    gc.freeze()
