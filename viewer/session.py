"""What one viewer session works on: the trainer (from a scene or a checkpoint), the device and
the run folder. Input errors become one InputError carrying the file and the problem."""
from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from assets import default_scene_path
from nerf.train.config import TrainConfig
from nerf.data.formats.registry import load_scene
from nerf.device import pick_device
from nerf.errors import InputError
from nerf.files import check_output_dir
from nerf.train.checkpoint import check_resume_flags, checkpoint_bytes, read_checkpoint
from nerf.train.trainer import Trainer




@dataclass
class Session:
    trainer: object  # nerf.train.trainer.Trainer (or a stand-in with its API)
    device: torch.device
    run_dir: Path
    downscale: int = 1
    train_threads: int | None = None  # torch CPU threads of the training worker (None: leave as is)
    shards: bool = False  # those threads split steps and renders into pieces (see nerf.train.shards)

    def new_trainer(self, model: str):
        """A fresh trainer for `model` on the same scene (built in the worker thread)."""
        scene = self.trainer.scene
        t = Trainer(scene, TrainConfig.for_model(model, self.device.type, scene.scene_type), self.device)
        t.meta["downscale"] = self.downscale
        return t

    def load(self, path):
        return Trainer.load(path, scene=self.trainer.scene, device=self.device)


def training_threads() -> tuple[int, bool]:
    """torch CPU threads for the training worker, and whether they work in shards: every core on
    a 2-core machine (the window needs well under one), all but one on larger ones. Where no core
    is left for the window, its drawing keeps taking a core from one torch thread, which stalls
    an OpenMP team at every op; independent shards lose only that thread's share."""
    n = torch.get_num_threads()
    return (n, n > 1) if n <= 2 else (n - 1, False)


def open_session(args: argparse.Namespace) -> Session:
    """Load the scene or checkpoint named on the command line and make the run folder.

    Call from the UI thread: from here on it runs torch ops on one thread. OpenMP (libgomp) keeps
    a team of helper threads for each thread that ever ran a parallel op, for as long as that
    thread lives, and once there are more such threads than cores it stops spin-waiting and puts
    them to sleep after every op: the training worker's steps then ran 20-25 % slower. So only the
    worker runs multi-threaded, and loading runs on a short-lived thread whose team ends with it.
    """
    device = pick_device(args.device)
    threads, shards = training_threads()
    torch.set_num_threads(1)
    if args.source is not None and args.downscale < 1:
        raise InputError("--downscale", "must be >= 1")
    trainer = _in_own_thread(lambda: _load_trainer(args, device), threads)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.out) if args.out else Path("runs") / f"{trainer.scene.name}-{stamp}"
    check_output_dir(run_dir, checkpoint_bytes(trainer.model))  # before the window opens, not at the first save
    return Session(trainer, device, run_dir, args.downscale, threads, shards and device.type == "cpu")


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


def _load_trainer(args: argparse.Namespace, device: torch.device):
    source = Path(args.source) if args.source else None
    try:
        if source is not None and source.is_file():
            check_resume_flags(read_checkpoint(source), model=args.model)
            trainer = Trainer.load(source, device=device)
        else:
            if source is None:
                source = default_scene_path()
            scene = load_scene(source, downscale=args.downscale, scene_type=getattr(args, "scene_type", None))
            trainer = Trainer(scene, TrainConfig.for_model(args.model or "ngp", device.type, scene.scene_type), device)
            trainer.meta["downscale"] = args.downscale
    except InputError as exc:
        raise InputError(exc.path, exc.problem) from None
    except OSError as exc:
        raise InputError(exc.filename or source, exc.strerror or str(exc)) from None
    return trainer
