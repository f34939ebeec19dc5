"""Checkpoint files: one torch.save'd dict holding everything needed to resume a run exactly.

    {"version": CHECKPOINT_VERSION, "config": TrainConfig.to_dict(),
     "scene": {"root", "name"}, "meta": free-form (the headless run's downscale),
     "state": the Trainer's state (model, optimizer, model extra state, step, generators, lr, batch)}
"""
from __future__ import annotations

from pathlib import Path

import torch

from nerf.data.scene import Scene
from nerf.errors import InputError
from nerf.train.config import TrainConfig

CHECKPOINT_VERSION = 1


def write_checkpoint(path: str | Path, config: TrainConfig, scene: Scene, meta: dict, state: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": CHECKPOINT_VERSION, "config": config.to_dict(),
               "scene": {"root": str(scene.root), "name": scene.name},
               "meta": dict(meta), "state": state}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint under the real name


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict at `path`, or InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types for a corrupt file
        raise InputError(path, f"not a readable checkpoint ({type(e).__name__})")
    if not isinstance(payload, dict) or payload.get("version") != CHECKPOINT_VERSION:
        raise InputError(path, "not a nerf-viewer checkpoint (or from an incompatible version)")
    return payload


def checkpoint_scene(payload: dict) -> Scene:
    """The scene a checkpoint was trained on, reloaded from its recorded root (with the downscale
    in its meta, if any)."""
    from nerf.data.loaders import load_scene  # the loaders (and their image decoders) only when needed
    return load_scene(payload["scene"]["root"], downscale=int(payload.get("meta", {}).get("downscale", 1)))
