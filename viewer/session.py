"""What one viewer session works on: the opened run (its scene, trainer, device, budget and run
folder, from nerf.train.run.open_run, as nerf-train opens it) and how the worker threads it.
Input errors become one InputError carrying the file and the problem."""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from nerf.files import check_output_dir
from nerf.train.checkpoint import checkpoint_bytes
from nerf.train.loop import Budget
from nerf.train.run import Run, RunSpec, open_run, start_run_files


@dataclass
class Session:
    run: Run
    train_threads: int | None = None  # torch CPU threads of the training worker (None: leave as is)
    shards: bool = False  # those threads split steps and renders into pieces (see nerf.train.shards)
    _downscale: int = 1  # kept from the trainer once handed over

    @property
    def trainer(self):
        """The trainer the session opened with, until hand_over() gave it to the worker."""
        return self.run.trainer

    @property
    def downscale(self) -> int:
        """The factor the scene's images were read at (the flag's, or the checkpoint's)."""
        return int(self.run.trainer.meta.get("downscale") or 1) if self.run.trainer is not None else self._downscale

    def hand_over(self):
        """The opened trainer, for the worker, which owns it from now on. The session keeps no
        reference, so a trainer the worker replaces (another model, a loaded checkpoint) is freed."""
        trainer, self._downscale = self.run.trainer, self.downscale
        self.run = dataclasses.replace(self.run, trainer=None)
        return trainer

    @property
    def device(self) -> torch.device:
        return self.run.device

    @property
    def run_dir(self) -> Path:
        return self.run.out

    @property
    def budget(self) -> Budget:
        return self.run.budget

    @property
    def spec(self) -> RunSpec:
        return self.run.spec

    def new_trainer(self, model: str):
        """A fresh trainer for `model` on the same scene and flags (built in the worker thread)."""
        spec = self.spec.replace(model=model, resume=None, distortion=None if model != "ngp" else self.spec.distortion)
        return open_run(spec, scene=self.run.scene, device=self.device).trainer

    def load(self, path):
        """The run saved in checkpoint `path`, on the scene shown (built in the worker thread)."""
        spec = self.spec.replace(resume=str(path), model=None, seed=None, batch_rays=None, distortion=None)
        return open_run(spec, scene=self.run.scene, device=self.device).trainer


def training_threads() -> tuple[int, bool]:
    """torch CPU threads for the training worker, and whether they work in shards: every core on
    a 2-core machine (the window needs well under one), all but one on larger ones. Where no core
    is left for the window, its drawing keeps taking a core from one torch thread, which stalls
    an OpenMP team at every op; independent shards lose only that thread's share."""
    n = torch.get_num_threads()
    return (n, n > 1) if n <= 2 else (n - 1, False)


def open_session(spec: RunSpec, threads: int | None = None) -> Session:
    """Open the run `spec` describes and make the run folder.

    Call from the UI thread: from here on it runs torch ops on one thread. OpenMP (libgomp) keeps
    a team of helper threads for each thread that ever ran a parallel op, for as long as that
    thread lives, and once there are more such threads than cores it stops spin-waiting and puts
    them to sleep after every op: the training worker's steps then ran 20-25 % slower. So only the
    worker runs multi-threaded, and loading runs on a short-lived thread whose team ends with it.
    threads: the worker's torch threads (--threads; None: chosen by training_threads).
    """
    auto_threads, shards = training_threads()
    threads = threads or auto_threads
    shards = shards and threads == auto_threads
    torch.set_num_threads(1)
    run = _in_own_thread(lambda: open_run(spec), threads)
    check_output_dir(run.out, checkpoint_bytes(run.trainer.model))  # before the window opens, not at the first save
    start_run_files(run)
    return Session(run, threads, shards and run.device.type == "cpu")


def _in_own_thread(fn, threads: int):
    """fn() on a new thread with `threads` torch threads; returns its result or raises its error."""
    box: dict = {}

    def run() -> None:
        torch.set_num_threads(threads)
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=run, name="nerf-load", daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
