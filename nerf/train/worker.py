"""TrainingWorker: the one thread that owns a Trainer, training it and rendering from it on request.

Commands come in through a queue (pause, resume, reset, learning rate, ...); results go out through
newest-wins mailboxes (`stats`, `frames`, `errors`) and a queue of `notices` for one-off events that
must not be dropped (an evaluation finished, a checkpoint was saved). Nothing here knows about a GUI.

Scheduling: a pending render request is served when it is interactive (the user is moving the
camera), when training is paused, or once the worker has trained for long enough since the last
render that renders take `render_share` of its time. While the user interacts, training waits,
and a step in progress when a camera move arrives is dropped once its forward pass is done.
An exception in a step, a render or a job is published to `errors` and the worker keeps serving
(a failed step pauses training).
"""
from __future__ import annotations

import json
import queue
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from nerf.train.evaluation import EvalResult
from nerf.train.mailbox import Mailbox
from nerf.train.shards import ShardPool

HISTORY_MAX = 4000  # plotted points kept; halved by decimation when full


@dataclass(frozen=True)
class RenderRequest:
    """One image to render. `tag` is the caller's, returned untouched in the result."""

    cameras: Any  # nerf.data.scene.Cameras
    index: int = 0
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    max_samples: int | None = None
    interactive: bool = False  # the camera is moving: serve before training
    tag: Any = None


@dataclass
class RenderResult:
    request: RenderRequest
    outputs: dict | None  # the Trainer.render dict, or None when aborted or failed
    seconds: float
    step: int


@dataclass
class Notice:
    """A finished job: `name` as submitted, `result` its return value (None when aborted)."""

    name: str
    result: Any = None
    seconds: float = 0.0


@dataclass
class _History:
    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    psnr: list = field(default_factory=list)

    def add(self, step: int, loss: float, psnr: float) -> None:
        self.step.append(step)
        self.loss.append(loss)
        self.psnr.append(psnr)
        if len(self.step) > HISTORY_MAX:
            self.step, self.loss, self.psnr = self.step[::2], self.loss[::2], self.psnr[::2]


# Rays per render chunk on a CPU: small enough that a newer camera aborts a stale render within
# ~0.1 s on 2 cores. GPUs keep the trainer's larger chunk (per-chunk overhead would dominate).
CPU_RENDER_CHUNK = 2048


class TrainingWorker:
    """Background thread around a Trainer. Call methods from any thread; only it touches the trainer."""

    def __init__(self, trainer, *, log_path: str | Path | None = None, start_paused: bool = False,
                 render_share: float = 0.3, num_threads: int | None = None, shards: bool = False,
                 stats_interval: float = 0.25):
        """num_threads: torch threads of the worker (None: leave as is). shards: instead of one
        team of num_threads torch threads, num_threads threads of one torch thread each, which
        split every step and render into independent pieces (nerf.train.shards: a CPU shared with a
        window)."""
        self._trainer = trainer
        self._log_path = Path(log_path) if log_path else None
        self._num_threads = num_threads
        self._shards = shards and (num_threads or 0) > 1
        self._pool: ShardPool | None = None
        self._stats_interval = stats_interval
        self.stats: Mailbox[dict] = Mailbox()
        self.frames: Mailbox[RenderResult] = Mailbox()
        self.errors: Mailbox[str] = Mailbox()
        self.notices: queue.Queue[Notice] = queue.Queue()
        self._requests: Mailbox[RenderRequest] = Mailbox()
        self._commands: queue.Queue = queue.Queue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._abort_job = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nerf-worker", daemon=True)
        # State below is touched by the worker thread only (after start).
        self._running = not start_paused
        self._interacting = False
        self._share = render_share
        self._budget_s: float | None = None
        self._train_s = 0.0  # seconds spent in step() since the last reset
        self._last_render_end = 0.0
        self._last_render_s = 0.0
        self._history = _History()
        self._last = {"loss": float("nan"), "psnr": float("nan")}
        self._window_rays, self._window_s = 0, 0.0  # for rays/s since the last publish
        self._rays_per_s = 0.0
        self._test: dict | None = None
        self._next_publish = 0.0
        self._last_logged_step = -1
        self._render_s_total = 0.0
        self._renders = 0

    # --- control (any thread) ------------------------------------------------------------------

    def start(self) -> "TrainingWorker":
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> bool:
        """Ask the thread to end (aborting a render or job) and join it. True if it ended in time."""
        self._stop.set()
        self._abort_job.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _send(self, name: str, *args) -> None:
        self._commands.put((name, args))
        self._wake.set()

    def pause(self) -> None:
        self._send("pause")

    def resume(self) -> None:
        self._send("resume")

    def reset(self) -> None:
        """Fresh weights, step 0, empty history."""
        self._send("reset")

    def set_lr(self, lr: float) -> None:
        self._send("set_lr", float(lr))

    def set_batch_rays(self, n: int) -> None:
        self._send("set_batch_rays", int(n))

    def set_render_share(self, share: float) -> None:
        """Fraction of the worker's time given to rendering while training (0.05 .. 1)."""
        self._send("share", min(1.0, max(0.05, float(share))))

    def set_budget(self, seconds: float | None) -> None:
        """Pause training once it has run `seconds` in total (None: no limit)."""
        self._send("budget", seconds)

    def set_interacting(self, interacting: bool) -> None:
        """The user is moving the camera: hold training so frames come back quickly."""
        self._send("interacting", bool(interacting))

    def request_render(self, request: RenderRequest) -> None:
        """Ask for a frame; replaces an older request that was not started yet."""
        self._requests.put(request)
        self._wake.set()

    def submit(self, name: str, fn: Callable) -> None:
        """Run fn(trainer, should_abort) in the worker; its result comes back as a Notice."""
        self._send("job", name, fn)

    def swap_trainer(self, name: str, factory: Callable) -> None:
        """Replace the trainer by factory() built in the worker (a new model, a loaded checkpoint)."""
        self._send("swap", name, factory)

    def abort_job(self) -> None:
        self._abort_job.set()
        self._wake.set()

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
        finally:
            if self._pool is not None:
                self._pool.close()

    def _serve(self) -> None:
        self._publish(force=True)
        while not self._stop.is_set():
            self._wake.clear()
            if self._drain_commands():
                continue  # a job ran: look at commands again before anything else
            request = self._requests.peek()
            if request is not None and self._may_render(request):
                self._render(self._requests.take())
            elif self._should_train():
                self._step()
            else:
                self._wake.wait(self._idle_timeout(request))
        self._publish(force=True)

    def _may_render(self, request: RenderRequest) -> bool:
        if request.interactive or self._interacting or not self._should_train():
            return True
        wait = self._last_render_s * (1.0 - self._share) / self._share
        return time.perf_counter() - self._last_render_end >= wait

    def _should_train(self) -> bool:
        return self._running and not self._interacting

    def _idle_timeout(self, request) -> float:
        return 0.01 if request is not None else 0.25

    def _drain_commands(self) -> bool:
        ran_job = False
        while True:
            try:
                name, args = self._commands.get_nowait()
            except queue.Empty:
                return ran_job
            try:
                ran_job |= self._apply(name, args)
            except Exception as exc:  # noqa: BLE001 - any failure is shown to the user, not fatal
                self._error(f"{name} failed", exc)

    def _apply(self, name: str, args: tuple) -> bool:
        t = self._trainer
        if name == "pause":
            self._running = False
        elif name == "resume":
            self._running = True
        elif name == "reset":
            t.reset()
            self._after_new_weights()
        elif name == "set_lr":
            t.set_lr(*args)
        elif name == "set_batch_rays":
            t.set_batch_rays(*args)
        elif name == "share":
            self._share = args[0]
        elif name == "budget":
            self._budget_s = args[0]
        elif name == "interacting":
            self._interacting = args[0]
        elif name in ("job", "swap"):
            self._job(name, *args)
            return True
        self._publish(force=True)
        return False

    def _job(self, kind: str, name: str, fn: Callable) -> None:
        self._abort_job.clear()
        start = time.perf_counter()

        def should_abort() -> bool:
            return self._abort_job.is_set() or self._stop.is_set()

        try:
            if kind == "swap":
                self._trainer = fn()
                if self._pool is not None:
                    self._trainer.pool = self._pool
                self._after_new_weights()
                result = name
            else:
                result = fn(self._trainer, should_abort)
                if name == "evaluate" and isinstance(result, EvalResult) and not should_abort():
                    self._test = {"step": self._trainer.step_count, **asdict(result)}
                    self._log({"step": self._trainer.step_count, "seconds": round(self._train_s, 3),
                               "test_psnr": result.psnr, "test_ssim": result.ssim})
            self.notices.put(Notice(name, None if should_abort() else result,
                                    time.perf_counter() - start))
        except Exception as exc:  # noqa: BLE001
            self._error(f"{name} failed", exc)
            self.notices.put(Notice(name, None, time.perf_counter() - start))
        self._publish(force=True)

    def _after_new_weights(self) -> None:
        self._history = _History()
        self._train_s = 0.0
        self._test = None
        self._last = {"loss": float("nan"), "psnr": float("nan")}
        self._last_logged_step = -1

    def _step(self) -> None:
        start = time.perf_counter()
        # the time budget, when set, drives a "budget" learning-rate schedule
        self._trainer.progress = None if not self._budget_s else self._train_s / self._budget_s
        try:
            out = self._trainer.step(should_yield=self._render_waiting)
        except Exception as exc:  # noqa: BLE001
            self._running = False
            self._error("training step failed; training paused", exc)
            self._publish(force=True)
            return
        seconds = time.perf_counter() - start
        self._train_s += seconds
        if out.get("yielded"):  # dropped half-way for a camera move: nothing learned, nothing to log
            return
        self._window_rays += int(out.get("rays", 0))
        self._window_s += seconds
        self._last = {"loss": float(out["loss"]), "psnr": float(out["psnr"])}
        self._history.add(int(out["step"]), self._last["loss"], self._last["psnr"])
        if self._budget_s is not None and self._train_s >= self._budget_s:
            self._running = False
            self.notices.put(Notice("budget", self._train_s))
            self._publish(force=True)
        else:
            self._publish()

    def _render_waiting(self) -> bool:
        """A camera move is waiting for a frame (or the app is closing): drop the step in progress."""
        request = self._requests.peek()
        return self._stop.is_set() or (request is not None and request.interactive)

    def _render(self, request: RenderRequest) -> None:
        start = time.perf_counter()

        def should_abort() -> bool:
            return self._requests.full or self._stop.is_set()

        outputs = None
        try:
            outputs = self._trainer.render(request.cameras, request.index, background=request.background,
                                           max_samples=request.max_samples, should_abort=should_abort,
                                           chunk=self._render_chunk())
        except Exception as exc:  # noqa: BLE001
            self._error("render failed", exc)
        end = time.perf_counter()
        if outputs is not None:
            self._last_render_s = end - start
            self._render_s_total += end - start
            self._renders += 1
        self._last_render_end = end
        self.frames.put(RenderResult(request, outputs, end - start, self._trainer.step_count))

    def _render_chunk(self) -> int | None:
        device = getattr(self._trainer, "device", None)
        return CPU_RENDER_CHUNK if device is None or torch.device(device).type == "cpu" else None

    def _error(self, what: str, exc: BaseException) -> None:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.errors.put(f"{what}: {detail}")

    def _publish(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now < self._next_publish:
            return
        self._next_publish = now + self._stats_interval
        if self._window_s > 0:
            self._rays_per_s = self._window_rays / self._window_s
        self._window_rays, self._window_s = 0, 0.0
        t = self._trainer
        step = int(t.step_count)
        h = self._history
        # the log line first: whoever has seen these stats can read them in log.jsonl too
        if step != self._last_logged_step and h.step:
            self._last_logged_step = step
            self._log({"step": step, "seconds": round(self._train_s, 3), "time": round(time.time(), 3),
                       "loss": self._last["loss"],
                       "psnr": self._last["psnr"], "rays_per_s": round(self._rays_per_s, 1)})
        self.stats.put({
            "step": step, "loss": self._last["loss"], "psnr": self._last["psnr"],
            "rays_per_s": self._rays_per_s, "train_seconds": self._train_s,
            "running": self._running, "interacting": self._interacting,
            "budget_s": self._budget_s, "share": self._share,
            "model": getattr(getattr(t, "config", None), "model", "?"),
            "test": dict(self._test) if self._test else None,
            "render_seconds": self._last_render_s, "render_seconds_total": self._render_s_total,
            "renders": self._renders,
            "history": (list(h.step), list(h.loss), list(h.psnr)),
        })

    def _log(self, record: dict) -> None:
        if self._log_path is None:
            return
        try:
            with open(self._log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as exc:
            self._error(f"cannot write {self._log_path}", exc)
            self._log_path = None
