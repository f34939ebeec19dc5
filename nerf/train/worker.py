"""TrainingWorker: the one thread that owns a trainer, training it and rendering from it on request.

Its parts: the transport (nerf.train.worker_link: commands in, newest-wins mailboxes out), the
scheduling policy (nerf.train.worker_policy: when to step, render, yield or sleep), the messages
(nerf.train.worker_messages: typed commands, results and stats) and the training loop
(nerf.train.loop: the budget, NaN handling, the run log and autosave, as in nerf-train), which the
worker ticks one step per turn. This module maps each command type to its handler. Nothing
here knows about a GUI. An exception in a step, a render or a job is published to `errors` and the
worker keeps serving (a failed step pauses training).
"""
from __future__ import annotations

import functools
import threading
import time
from pathlib import Path
from typing import Any, Callable

import torch

from nerf.train.loop import Budget, LoopSummary, TrainingLoop
from nerf.train.protocol import TrainerLike
from nerf.train.run_log import RunLog
from nerf.train.shards import ShardPool
from nerf.train.worker_link import WorkerLink
from nerf.train.worker_messages import (
    Command, Commands, EvalScore, Evaluate, Notice, Pause, RenderRequest, RenderResult, Reset, Resume, RunJob,
    SetBatchRays, SetBudget, SetInteracting, SetLr, SetRenderShare, SwapTrainer, WorkerStats,
)
from nerf.train.worker_policy import WorkerPolicy, render_chunk

__all__ = ["TrainingWorker", "RenderRequest", "RenderResult", "Notice", "EvalScore", "WorkerStats"]

HISTORY_MAX = 4000  # plotted points kept; halved by decimation when full


class _History:
    def __init__(self) -> None:
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.psnrs: list[float] = []

    def add(self, step: int, loss: float, psnr: float) -> None:
        self.steps.append(step)
        self.losses.append(loss)
        self.psnrs.append(psnr)
        if len(self.steps) > HISTORY_MAX:
            self.steps, self.losses, self.psnrs = self.steps[::2], self.losses[::2], self.psnrs[::2]

    def frozen(self) -> tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...]]:
        return tuple(self.steps), tuple(self.losses), tuple(self.psnrs)


class TrainingWorker(Commands):
    """Background thread around a trainer. Call its methods from any thread; only the thread touches
    the trainer, so whoever hands one over stops using it."""

    def __init__(self, trainer: TrainerLike, *, log_path: str | Path | None = None, start_paused: bool = False,
                 render_share: float = 0.3, num_threads: int | None = None, shards: bool = False,
                 stats_interval: float = 0.25, budget: Budget | None = None,
                 autosave_path: str | Path | None = None, autosave_s: float = 0.0,
                 loop_factory: Callable[..., TrainingLoop] = TrainingLoop, lead: Any = None):
        """num_threads: torch threads of the worker (None: leave as is). shards: instead of one
        team of num_threads torch threads, num_threads threads of one torch thread each, which
        split every step and render into independent pieces (nerf.train.shards: a CPU shared with a
        window). budget: where training pauses; autosave_path / autosave_s: the checkpoint every
        autosave_s of training time (a Notice "autosave" carries the step, or None when it failed).
        loop_factory and lead: a rank 0 that serves (nerf.distributed.follow): its RankLoop, and the
        Lead that orders the other ranks before each step and reset; steps are then never dropped
        half-way (every rank must reach the gradient reduce) and the trainer cannot be swapped."""
        self._link = WorkerLink()
        self.stats, self.frames, self.errors = self._link.stats, self._link.frames, self._link.errors
        self.notices = self._link.notices
        log = RunLog(log_path, on_error=lambda path, exc: self._link.error(f"cannot write {path}", exc))
        self._loop = loop_factory(trainer, budget, log, autosave_path=autosave_path, autosave_s=autosave_s,
                                  on_autosave=self._autosaved)
        self._lead = lead
        self._num_threads = num_threads
        self._shards = shards and (num_threads or 0) > 1
        self._pool: ShardPool | None = None
        self._stats_interval = stats_interval
        self._thread = threading.Thread(target=self._run, name="nerf-worker", daemon=True)
        # State below is touched by the worker thread only (after start).
        self._policy = WorkerPolicy(running=not start_paused, share=render_share)
        self._settings: dict[type, Callable[[Any], None]] = {
            Pause: lambda c: setattr(self._policy, "running", False),
            Resume: lambda c: setattr(self._policy, "running", True),
            Reset: self._reset,
            SetLr: lambda c: self._trainer.set_lr(c.lr),
            SetBatchRays: lambda c: self._trainer.set_batch_rays(c.n),
            SetRenderShare: lambda c: self._policy.set_share(c.share),
            SetBudget: lambda c: self._loop.set_budget(Budget(self._loop.budget.steps, c.seconds)),
            SetInteracting: lambda c: setattr(self._policy, "interacting", c.interacting),
        }
        self._jobs: dict[type, Callable[[Any, Callable[[], bool]], Any]] = {
            RunJob: lambda c, should_abort: c.fn(self._trainer, should_abort),
            Evaluate: self._evaluate,
            SwapTrainer: self._swap,
        }
        self._history = _History()
        self._test: EvalScore | None = None
        self._next_publish = 0.0
        self._render_s_total = 0.0
        self._renders = 0

    # --- control (any thread) ------------------------------------------------------------------

    def start(self) -> "TrainingWorker":
        self._thread.start()
        return self

    def summary(self) -> LoopSummary:
        """The training loop's figures so far; call it from a job (the worker's thread)."""
        return self._loop.summary()

    @property
    def loop(self) -> TrainingLoop:
        """The training loop; use it only from a job (the worker's thread)."""
        return self._loop

    @property
    def run_log(self) -> RunLog:
        """The run's log.jsonl; write to it only from a job (the worker's thread)."""
        return self._loop.log

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to end (aborting a render or job) and join it. True if it ended in time."""
        self._link.close()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def trainer(self) -> TrainerLike:
        """The trainer the thread holds now (a swap may have replaced the first). Use it only once
        stop() returned True: until then the thread owns it."""
        return self._loop.trainer

    @property
    def _trainer(self) -> TrainerLike:
        return self._loop.trainer

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def send(self, command: Command) -> None:
        """Any command of nerf.train.worker_messages (Commands gives each a method)."""
        self._link.send(command)

    def request_render(self, request: RenderRequest) -> None:
        """Ask for a frame; replaces an older request that was not started yet."""
        self._link.request(request)

    def submit(self, name: str, fn: Callable[[TrainerLike, Callable[[], bool]], Any]) -> None:
        """Run fn(trainer, should_abort) in the worker; its result comes back as a Notice."""
        self.send(RunJob(name, fn))

    def swap_trainer(self, name: str, factory: Callable[[], TrainerLike]) -> None:
        """Replace the trainer by factory() built in the worker (a new model, a loaded checkpoint)."""
        self.send(SwapTrainer(name, factory))

    def abort_job(self) -> None:
        self._link.abort_job()

    # --- the thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        if self._shards:
            torch.set_num_threads(1)
            self._pool = ShardPool(self._num_threads)
            self._trainer.pool = self._pool
        elif self._num_threads:
            torch.set_num_threads(self._num_threads)
        try:
            self._serve()
        except Exception as exc:  # noqa: BLE001 - a bug in the loop itself: say so, never die in silence
            self._policy.running = False
            self._link.error("the training thread stopped; save with the Save button and restart", exc)
            self._publish(force=True)
        finally:
            if self._lead is not None:
                self._lead.end()
            self._loop.write_record()
            self._loop.log.close()
            if self._pool is not None:
                self._pool.close()

    def _serve(self) -> None:
        self._publish(force=True)
        while not self._link.closing:
            if self._drain_commands():
                continue  # a job ran: look at commands again before anything else
            request = self._link.requests.peek()
            if request is not None and self._policy.may_render(request, time.perf_counter()):
                self._render(self._link.requests.take())
            elif self._policy.should_train():
                self._step()
            else:
                self._link.idle(self._policy.idle_timeout(request))
        self._publish(force=True)

    def _drain_commands(self) -> bool:
        ran_job = False
        for command in self._link.commands():
            job = self._jobs.get(type(command))
            if job is not None:
                self._job(command.name, functools.partial(job, command))
                ran_job = True
                continue
            try:
                self._settings[type(command)](command)
            except Exception as exc:  # noqa: BLE001 - any failure is shown to the user, not fatal
                self._link.error(f"{command.name} failed", exc)
            self._publish(force=True)
        return ran_job

    def _job(self, name: str, body: Callable[[Callable[[], bool]], Any]) -> None:
        self._link.start_job()
        aborted = self._link.job_aborted
        start = time.perf_counter()
        try:
            result = body(aborted)
            self.notices.put(Notice(name, None if aborted() else result, time.perf_counter() - start))
        except Exception as exc:  # noqa: BLE001
            self._link.error(f"{name} failed", exc)
            self.notices.put(Notice(name, None, time.perf_counter() - start))
        self._publish(force=True)

    def _evaluate(self, command: Evaluate, should_abort: Callable[[], bool]) -> EvalScore | None:
        out = self._trainer.evaluate(command.split, max_views=command.max_views, should_abort=should_abort)
        if out is None or should_abort():
            return None
        self._test = EvalScore(int(self._trainer.step_count), float(out.psnr), float(out.ssim), int(out.views))
        self._loop.log.evaluation(self._test.step, self._trainer.train_seconds, self._test.psnr, self._test.ssim)
        return self._test

    def _swap(self, command: SwapTrainer, _should_abort: Callable[[], bool]) -> str:
        if self._lead is not None:
            self._lead.refuse(command.name)
        trainer = command.factory()
        if self._pool is not None:
            trainer.pool = self._pool
        self._loop.restart(trainer)
        self._new_weights()
        return command.name

    def _reset(self, _command: Reset) -> None:
        if self._lead is not None:
            self._lead.reset(self._trainer)  # every rank starts again from the same weights
        else:
            self._trainer.reset()
        self._loop.restart(self._trainer)
        self._new_weights()

    def _new_weights(self) -> None:
        self._history = _History()
        self._test = None

    def _autosaved(self, step: int, error: Exception | None) -> None:
        if error is not None:
            self._link.error("autosave failed; the previous checkpoint is kept", error)
        self.notices.put(Notice("autosave", None if error is not None else step))

    def _step(self) -> None:
        if self._loop.done:  # a budget set below what the run has: nothing to train
            self._policy.running = False
            self.notices.put(Notice("budget", self._trainer.train_seconds))
            self._publish(force=True)
            return
        try:
            if self._lead is not None:
                self._lead.before_step(self._trainer)
            out = self._loop.tick(should_yield=self._yield_step)  # a RankLoop never yields mid-step
        except Exception as exc:  # noqa: BLE001
            if self._lead is not None:
                exc = self._lead.failed(exc)
            self._policy.running = False
            self._link.error("training step failed; training paused", exc)
            self._publish(force=True)
            return
        if out.outcome == "yielded":  # dropped half-way for a camera move: nothing learned
            return
        if out.outcome == "nan_recovered":
            self._nan_recovered(out.step)
            return
        self._history.add(out.step, out.loss, out.psnr)
        if self._loop.done:
            self._policy.running = False
            self.notices.put(Notice("budget", self._trainer.train_seconds))
            self._publish(force=True)
        else:
            self._publish()

    def _nan_recovered(self, step: int) -> None:
        """The loss was not finite and the trainer went back to its last snapshot (at `step`). Say
        so each time (Notice "nan_recovered"); once the loop says the run diverges (several in a
        row), it is not unlucky: pause and say what to change (Notice "nan_paused")."""
        if self._loop.diverged:
            self._policy.running = False
            self.notices.put(Notice("nan_paused", step))
            self._loop.nan_streak = 0
        else:
            self.notices.put(Notice("nan_recovered", step))
        self._publish(force=True)

    def _yield_step(self) -> bool:
        """Drop the step in progress: a camera move waits for a frame, or the worker is closing."""
        return self._link.closing or self._policy.yields_to(self._link.requests.peek())

    def _render(self, request: RenderRequest) -> None:
        start = time.perf_counter()
        outputs = None
        try:
            outputs = self._trainer.render(request.cameras, request.index, background=request.background,
                                           max_samples=request.max_samples,
                                           should_abort=self._link.render_superseded,
                                           chunk=render_chunk(self._trainer.device),
                                           **({} if request.crop is None else {"crop": request.crop}))
        except Exception as exc:  # noqa: BLE001
            self._link.error("render failed", exc)
        end = time.perf_counter()
        self._policy.rendered(end - start, end, finished=outputs is not None)
        if outputs is not None:
            self._render_s_total += end - start
            self._renders += 1
        self.frames.put(RenderResult(request, outputs, end - start, self._trainer.step_count))

    def _publish(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now < self._next_publish:
            return
        self._next_publish = now + self._stats_interval
        trainer, loop, p = self._trainer, self._loop, self._policy
        last = loop.last
        loss, psnr = (last.loss, last.psnr) if last is not None else (float("nan"), float("nan"))
        self.stats.put(WorkerStats(
            step=int(trainer.step_count), loss=loss, psnr=psnr, rays_per_s=loop.rays_per_second(),
            train_seconds=trainer.train_seconds, running=p.running, interacting=p.interacting,
            budget_s=loop.budget.seconds, share=p.share, model=trainer.config.model_name, test=self._test,
            render_seconds=p.last_render_s, render_seconds_total=self._render_s_total, renders=self._renders,
            history=self._history.frozen(), camera_psnrs=trainer.camera_psnrs()))
