"""The save when the app closes: no session's training is lost to a closed window or a stop signal.

While the app runs, the training loop on the worker's thread saves checkpoint.pt in the run folder
every few minutes of training (nerf.train.loop, as nerf-train does) and reports each save as a
Notice "autosave"; this class remembers the last one and saves once more on close, from the main
thread after the worker has stopped, drawing the session's curves.png beside it.
nerf.train.checkpoint writes atomically, so a crash during a save keeps the previous one.
"""
from __future__ import annotations

from pathlib import Path

from nerf.errors import InputError
from nerf.report.curves import CURVES_FILE, LOG_FILE, read_run_log, write_curves

NAME = "checkpoint.pt"


class Autosave:
    """The run folder's checkpoint: what the loop last saved, and the final save."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / NAME
        self._saved_step: int | None = None  # of the last save; the close skips a save with nothing new

    def saved(self, step: int | None) -> None:
        """The loop's autosave finished (step None: it failed)."""
        if step is not None:
            self._saved_step = step

    def final(self, trainer) -> str | None:
        """Save `trainer` now (the worker has stopped) and draw the session's curves.png from its
        log.jsonl, as nerf-train leaves one; a line for the terminal, None when nothing was trained
        since the last save."""
        step = int(trainer.step_count)
        if step == 0 or step == self._saved_step:
            return None
        trainer.save(self.path)
        self._saved_step = step
        return f"checkpoint saved at step {step}: {self.path}" + self._draw_curves()

    def _draw_curves(self) -> str:
        """'; curves in <file>', or why not: a log that cannot be read costs the picture, never the save."""
        log = self.path.parent / LOG_FILE
        if not log.is_file():
            return ""
        try:
            return f"; curves in {write_curves([read_run_log(log)], self.path.parent / CURVES_FILE)}"
        except InputError as exc:
            return f"; curves not drawn ({exc.path}: {exc.problem})"
