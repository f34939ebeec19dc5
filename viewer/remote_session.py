"""`nerf-viewer --connect HOST:PORT`: the session of a window that drives a model trained elsewhere.

The server (`nerf-train --serve`) owns the run: its scene, weights, checkpoints and log. This side
gets a copy of the scene (cameras and images, for snapping and error maps) and a RemoteWorker
(nerf.remote.client) in place of the local TrainingWorker, and keeps a run folder of its own for
what the window writes: screenshots, recordings, turntables, camera paths and their videos.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from nerf.files import check_output_dir
from nerf.remote.access import parse_address, resolve_token
from nerf.remote.client import RemoteWorker
from nerf.remote.wire import SceneInfo
from viewer.session_actions import SessionActions


@dataclass(frozen=True)
class RemoteConfig:
    """The server's run settings the training panel starts from (nerf.train.config.TrainConfig's names)."""

    model: str
    lr: float
    batch_rays: int
    target_samples: int

    @property
    def model_name(self) -> str:
        return self.model


@dataclass
class RemoteView:
    """What the window reads of a trainer it does not hold: the scene and the starting settings."""

    scene: object  # nerf.data.scene.Scene, rebuilt from the server's messages
    config: RemoteConfig


@dataclass
class RemoteSession:
    worker: RemoteWorker
    trainer: RemoteView
    run_dir: Path  # on this machine
    device: torch.device  # this machine's (the status line's memory figures are the window's)
    server_device: str  # "cpu" | "cuda": the server's, which sets the render quality levels


def open_remote(connect: str, token: str | None, out: str | None, software: str) -> RemoteSession:
    """Connect, fetch the scene and make the local run folder; InputError (one line, exit 2) for a
    refused token, a version mismatch, a server that cannot be reached or a bad --out."""
    address = parse_address(connect, "--connect", default_host=None)
    worker = RemoteWorker(address, resolve_token(token, generate=False), software)
    scene = worker.open(progress=lambda line: print(f"nerf-viewer: {line}", file=sys.stderr, flush=True))
    info: SceneInfo = worker.info
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = check_output_dir(Path(out) if out else Path("runs") / f"{info.name}-remote-{stamp}")
    print(f"nerf-viewer: connected to {address} ({info.name}, model {info.model} on the server's "
          f"{info.device}; server run folder {info.run_dir}); files of this window go to {run_dir}",
          file=sys.stderr, flush=True)
    config = RemoteConfig(info.model, info.lr, info.batch_rays, info.target_samples)
    return RemoteSession(worker, RemoteView(scene, config), run_dir, torch.device("cpu"), info.device)


class RemoteSessionActions(SessionActions):
    """The session's actions when the run is on a server: checkpoints are saved there, in its run
    folder, under the name given here; loading one or switching the model is the server's to do."""

    def save_checkpoint(self, path: str) -> None:
        name = Path(path).name
        self.worker.save_checkpoint(name)
        self.notes.add(f"saving {name} in the server's run folder ...")

    def load_checkpoint(self, path: str) -> None:
        self.notes.add(f"{Path(path).name}: checkpoints load on the server (nerf-train --serve --resume CKPT)")

    def change_model(self, model: str) -> None:
        self.notes.add(f"model {model}: the server's run decides the model (nerf-train --serve --model {model})")
