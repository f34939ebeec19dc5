"""What nerf-render and nerf-export start from: a trained model restored from its checkpoint, and the
one-line error every command prints for bad input."""
from __future__ import annotations

import sys

import torch


def fail(prog: str, message: str) -> int:
    """Print `prog: error: message` on one line and return the exit status 2."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def load_trained(checkpoint: str, device: torch.device, scene_dir: str | None = None):
    """The Trainer saved in `checkpoint`, its scene reloaded from `scene_dir` or the recorded root."""
    from nerf.train.trainer import Trainer
    scene = None
    if scene_dir is not None:
        from nerf.data.formats.registry import load_scene
        from nerf.train.checkpoint import read_checkpoint
        meta = read_checkpoint(checkpoint).get("meta", {})
        scene = load_scene(scene_dir, downscale=int(meta.get("downscale", 1)))
    return Trainer.load(checkpoint, scene=scene, device=device)
