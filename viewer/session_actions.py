"""What the Training and Record panels ask of the session: pause or resume, evaluate, another
model, save and load checkpoints. Each becomes a worker command; the trainer is never touched here."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nerf.train.worker_messages import Notice
from viewer.notices import Notes


class SessionActions:
    """`worker`: the TrainingWorker; `session`: viewer.session.Session (builds trainers);
    `running()`: whether training runs now (from the newest stats)."""

    def __init__(self, worker, session, notes: Notes, running: Callable[[], bool]):
        self.worker, self.session, self.notes = worker, session, notes
        self._running = running

    def toggle_training(self) -> None:
        (self.worker.pause if self._running() else self.worker.resume)()

    def evaluate(self) -> None:
        self.worker.evaluate("test")
        self.notes.add("evaluating test views ...")

    def save_checkpoint(self, path: str) -> None:
        self.worker.submit("save", lambda t, _abort: (t.save(path), path)[1])

    def load_checkpoint(self, path: str) -> None:
        self.worker.swap_trainer(f"loaded {Path(path).name}", lambda: self.session.load(path))

    def change_model(self, model: str) -> None:
        self.worker.swap_trainer(f"model {model}", lambda: self.session.new_trainer(model))

    @staticmethod
    def swapped(notice: Notice) -> str:
        """A trainer swap (or any other named job) finished."""
        return f"{notice.name} ({notice.seconds:.1f} s)"
