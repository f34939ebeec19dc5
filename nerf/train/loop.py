"""The training loop: one core for every caller.

`nerf-train` runs it to the end (`TrainingLoop.run`); the viewer's worker calls `tick` once per
turn between renders. Either way the loop owns what a run means beyond a single step:

- the budget (`Budget`): a target step count and training time for the whole run, so a resumed
  run's earlier steps and seconds count once, the same way everywhere, and the "budget" learning-rate
  schedule sees the same progress whether or not the run stopped in between;
- NaN handling: the trainer restores its last snapshot on a non-finite loss; NAN_STOP_AFTER in a row
  mean the run diverges (`diverged`), and the caller stops or pauses with a hint;
- the log schedule: a training record in log.jsonl each LOG_SECONDS of training time, with the
  rays/s since the one before, and one at the end;
- autosave: the checkpoint every `autosave_s` of training time, so a crash loses minutes at most.

A distributed run changes this one place (the step's gradients are averaged inside the trainer).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from nerf.train.protocol import StepResult, TrainerLike
from nerf.train.run_log import RunLog, Throughput

LOG_SECONDS = 0.25  # training time between two log.jsonl records (the viewer's stats interval)
NAN_STOP_AFTER = 3  # non-finite losses in a row (each restoring the last snapshot) before the run counts as diverged


@dataclass(frozen=True)
class Budget:
    """Where a run stops: when it has `steps` steps or `seconds` of training time in all (resumed
    parts included), whichever comes first; None: no such limit."""

    steps: int | None = None
    seconds: float | None = None

    @classmethod
    def more(cls, trainer: TrainerLike, steps: int | None = None, seconds: float | None = None) -> "Budget":
        """`steps` more steps or `seconds` more training time than `trainer` has now (nerf-train's
        --steps / --minutes, which on --resume count from the checkpoint)."""
        return cls(None if steps is None else trainer.step_count + steps,
                   None if seconds is None else trainer.train_seconds + seconds)

    def progress(self, step: int, seconds: float) -> float | None:
        """The fraction done (the larger of the two), None without a budget."""
        done = []
        if self.steps is not None:
            done.append(step / max(self.steps, 1))
        if self.seconds is not None:
            done.append(seconds / max(self.seconds, 1e-9))
        return max(done) if done else None

    def spent(self, step: int, seconds: float) -> bool:
        return ((self.steps is not None and step >= self.steps)
                or (self.seconds is not None and seconds >= self.seconds))


@dataclass
class LoopSummary:
    """What `run` did: its own part of the run (a resumed run's earlier part excluded)."""

    steps_run: int
    train_seconds: float
    rays: int
    rays_per_second: float
    samples_per_ray: float
    nan_recovered: int
    interrupted: bool  # should_stop() ended it before the budget
    diverged: bool  # NAN_STOP_AFTER non-finite losses in a row ended it
    final_train_psnr: float


class TrainingLoop:
    """Steps `trainer` within a budget, writing `log`; calls `save(path)` on the trainer every
    `autosave_s` of training time (0: never) to `autosave_path`."""

    def __init__(self, trainer: TrainerLike, budget: Budget | None = None, log: RunLog | None = None, *,
                 autosave_path: str | Path | None = None, autosave_s: float = 0.0,
                 on_autosave: Callable[[int, Exception | None], None] | None = None):
        self.budget = budget or Budget()
        self.log = log or RunLog(None)
        self.autosave_path = Path(autosave_path) if autosave_path else None
        self.autosave_s = max(0.0, float(autosave_s))
        self._on_autosave = on_autosave
        self.restart(trainer)

    def restart(self, trainer: TrainerLike) -> None:
        """Go on with `trainer` (the same after a reset, or a new one): counts, streaks and the log
        schedule start again from its state."""
        self.trainer = trainer
        self.nan_streak = self.nan_total = 0
        self.steps_run = self.rays = 0
        self.seconds_run = self.samples = 0.0
        self.last: StepResult | None = None
        self._throughput = Throughput()
        self._logged_seconds = trainer.train_seconds  # training time of the last log record
        self._next_log = trainer.train_seconds
        self._next_save = trainer.train_seconds + self.autosave_s

    def set_budget(self, budget: Budget) -> None:
        self.budget = budget

    @property
    def done(self) -> bool:
        return self.budget.spent(self.trainer.step_count, self.trainer.train_seconds)

    @property
    def diverged(self) -> bool:
        return self.nan_streak >= NAN_STOP_AFTER

    def progress(self) -> float | None:
        return self.budget.progress(self.trainer.step_count, self.trainer.train_seconds)

    def tick(self, should_yield: Callable[[], bool] | None = None) -> StepResult:
        """One step with the budget's progress set; then the bookkeeping its outcome asks for."""
        trainer = self.trainer
        trainer.progress = self.progress()
        result = trainer.step(should_yield=should_yield)
        self.seconds_run += result.seconds
        if result.outcome == "yielded":  # dropped for a frame or a stop: the step left no trace
            return result
        self.steps_run += 1
        if result.outcome == "nan_recovered":
            self.nan_streak += 1
            self.nan_total += 1
            self._throughput.add(0, result.seconds)  # time spent, nothing learned
            return result
        self.nan_streak = 0
        self.last = result
        self._throughput.add(result.rays, result.seconds)
        self.rays += result.rays
        self.samples += result.samples_per_ray * result.rays
        if trainer.train_seconds >= self._next_log:
            self.write_record()
        if self.autosave_s and self.autosave_path is not None and trainer.train_seconds >= self._next_save:
            self._next_save = trainer.train_seconds + self.autosave_s
            self._autosave()
        return result

    def write_record(self) -> None:
        """A training record for the last step, if training time went on since the one before."""
        seconds = self.trainer.train_seconds
        if self.last is None or seconds <= self._logged_seconds:
            return
        self.log.training(self.trainer.step_count, seconds, self.last.loss, self.last.psnr, self._throughput.read())
        self._logged_seconds, self._next_log = seconds, seconds + LOG_SECONDS

    def rays_per_second(self) -> float:
        """Rays per second of training time since the last log record."""
        return self._throughput.read()

    def _autosave(self) -> None:
        try:
            self.trainer.save(self.autosave_path)
            error = None
        except OSError as exc:  # a full disk: training goes on, the previous checkpoint stays
            error = exc
        if self._on_autosave is not None:
            self._on_autosave(self.trainer.step_count, error)

    def run(self, should_stop: Callable[[], bool] | None = None,
            show: Callable[[str], None] | None = None) -> LoopSummary:
        """Train until the budget is spent, the run diverges or should_stop() says so (asked before
        each step and, through the trainer's should_yield, inside a long occupancy refresh).
        show(line) gets a progress line after each step. A KeyboardInterrupt ends it as a stop."""
        interrupted = False
        try:
            while not self.done and not self.diverged:
                if should_stop is not None and should_stop():
                    interrupted = True
                    break
                result = self.tick(should_yield=should_stop)
                if show is not None and result.trained:
                    show(self.status_line())
        except KeyboardInterrupt:
            interrupted = True
        self.write_record()
        return self.summary(interrupted)

    def summary(self, interrupted: bool = False) -> LoopSummary:
        """What the loop did so far (this session's part of the run)."""
        seconds = max(self.seconds_run, 1e-9)
        return LoopSummary(self.steps_run, self.seconds_run, self.rays, self.rays / seconds,
                           self.samples / max(self.rays, 1), self.nan_total, interrupted, self.diverged,
                           self.last.psnr if self.last is not None else float("nan"))

    def status_line(self) -> str:
        """step, budget, loss, PSNR, rays/s and samples per ray of the run so far."""
        b, t = self.budget, self.trainer
        budget = f"/{b.steps}" if b.steps is not None else ""
        if b.seconds is not None:
            budget += f" {t.train_seconds:5.0f}/{b.seconds:.0f}s"
        last = self.last
        loss, psnr = (last.loss, last.psnr) if last is not None else (float("nan"), float("nan"))
        return (f"step {t.step_count}{budget}  loss {loss:.5f}  psnr {psnr:5.2f}"
                f"  {self.rays / max(self.seconds_run, 1e-9):7.0f} rays/s  {self.samples / max(self.rays, 1):5.1f}"
                " samples/ray")
