"""Autosave: no session's training is lost to a crash, a closed window or a stop signal.

The checkpoint goes to the run folder (checkpoint.pt, the name nerf-train uses) every few minutes of
training, as a job on the worker's thread (which owns the trainer), and once more when the app
closes, from the main thread after the worker has stopped. nerf.train.checkpoint writes it
atomically, so a crash during a save keeps the previous one.
"""
from __future__ import annotations

from pathlib import Path

from nerf.train.worker import TrainingWorker
from nerf.train.worker_messages import WorkerStats

DEFAULT_MINUTES = 5.0
NAME = "checkpoint.pt"


class Autosave:
    """Saves to run_dir/checkpoint.pt each `minutes` of training time (0: only on close)."""

    def __init__(self, run_dir: Path, minutes: float = DEFAULT_MINUTES):
        self.path = Path(run_dir) / NAME
        self.every_s = max(0.0, minutes) * 60.0
        self._next_s = self.every_s
        self._saved_step: int | None = None  # of the last save; the close skips a save with nothing new

    def poll(self, stats: WorkerStats | None, worker: TrainingWorker) -> None:
        """After each frame: ask the worker for a save when enough training time went by. New
        weights (a reset, another model) restart the worker's count, and so the autosave's."""
        if not self.every_s or stats is None:
            return
        if stats.train_seconds < self._next_s - self.every_s:
            self._next_s = self.every_s
        if stats.train_seconds >= self._next_s:
            self._next_s = stats.train_seconds + self.every_s
            path = self.path
            worker.submit("autosave", lambda trainer, _abort: (trainer.save(path), trainer.step_count)[1])

    def saved(self, step: int | None) -> None:
        """The worker's autosave job finished (step None: it failed or was aborted)."""
        if step is not None:
            self._saved_step = step

    def final(self, trainer) -> str | None:
        """Save `trainer` now (the worker has stopped); a line for the terminal, None when nothing
        was trained since the last save."""
        step = int(trainer.step_count)
        if step == 0 or step == self._saved_step:
            return None
        trainer.save(self.path)
        self._saved_step = step
        return f"checkpoint saved at step {step}: {self.path}"
