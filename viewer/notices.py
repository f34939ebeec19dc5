"""What the app does with the worker's notices (finished jobs, one-off events): a table from the
notice's name to a handler, and the list of lines the user is shown about them.

No window here: tests/viewer/test_notices.py drives the table with made-up notices.
"""
from __future__ import annotations

from collections.abc import Callable

from nerf.train.worker_messages import Notice

Handler = Callable[[Notice], "str | None"]  # a line for the user, or None: nothing to say


class Notes:
    """Lines the user is shown about files written and jobs finished; `show(lines)` displays them."""

    def __init__(self, show: Callable[[list[str]], None] = lambda _lines: None):
        self.lines: list[str] = []
        self._show = show

    def add(self, line: str) -> None:
        self.lines.append(line)
        self._show(self.lines)


class NoticeTable:
    """`handlers[name](notice)` for each notice by its name; `default(notice)` for any other (a
    trainer swap carries its own name: "model ngp", "loaded checkpoint.pt"). The line a handler
    returns goes to `notes`."""

    def __init__(self, handlers: dict[str, Handler], default: Handler, notes: Notes):
        self.handlers, self.default, self.notes = dict(handlers), default, notes

    def dispatch(self, notice: Notice) -> None:
        line = self.handlers.get(notice.name, self.default)(notice)
        if line:
            self.notes.add(line)


def evaluated(notice: Notice) -> str:
    r = notice.result
    return f"test PSNR {r.psnr:.2f} dB ({notice.seconds:.1f} s)" if r else "evaluation aborted"


def saved(notice: Notice) -> str:
    return f"checkpoint: {notice.result}" if notice.result else "checkpoint not saved"


def budget_reached(notice: Notice) -> str:
    return f"time budget reached after {notice.result / 60:.1f} min: training paused"
