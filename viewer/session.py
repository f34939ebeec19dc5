"""What one viewer session works on: the trainer (from a scene or a checkpoint), the device and
the run folder. Input errors become one SessionError carrying the file and the problem."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from assets import default_scene_path
from nerf.config import TrainConfig
from nerf.loaders import load_scene
from nerf.scene import SceneError
from nerf.trainer import CheckpointError, Trainer


class SessionError(Exception):
    def __init__(self, path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


@dataclass
class Session:
    trainer: object  # nerf.trainer.Trainer (or a stand-in with its API)
    device: torch.device
    run_dir: Path
    downscale: int = 1

    def new_trainer(self, model: str):
        """A fresh trainer for `model` on the same scene (built in the worker thread)."""
        t = Trainer(self.trainer.scene, TrainConfig.for_model(model, self.device.type), self.device)
        t.meta["downscale"] = self.downscale
        return t

    def load(self, path):
        return Trainer.load(path, scene=self.trainer.scene, device=self.device)


def pick_device(name: str) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise SessionError("--device", "cuda requested but no CUDA device is available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def open_session(args: argparse.Namespace) -> Session:
    """Load the scene or checkpoint named on the command line and make the run folder."""
    device = pick_device(args.device)
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2 if device.type == "cpu" else 4)))
    source = Path(args.source) if args.source else None
    if source is not None and args.downscale < 1:
        raise SessionError("--downscale", "must be >= 1")
    try:
        if source is not None and source.is_file():
            trainer = Trainer.load(source, device=device)
        else:
            if source is None:
                source = default_scene_path()
            scene = load_scene(source, downscale=args.downscale)
            trainer = Trainer(scene, TrainConfig.for_model(args.model, device.type), device)
            trainer.meta["downscale"] = args.downscale
    except (SceneError, CheckpointError) as exc:
        raise SessionError(exc.path, exc.problem) from None
    except OSError as exc:
        raise SessionError(exc.filename or source, exc.strerror or str(exc)) from None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.out) if args.out else Path("runs") / f"{trainer.scene.name}-{stamp}"
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SessionError(run_dir, f"cannot create the run folder ({exc.strerror})") from None
    return Session(trainer, device, run_dir, args.downscale)
