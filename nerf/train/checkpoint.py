"""Checkpoint files: one torch.save'd dict holding everything needed to resume a run exactly.

    {"version": CHECKPOINT_VERSION, "config": TrainConfig.to_dict() (the model's config nested in "model"),
     "scene": {"root", "name", "fingerprint", "space"}, "meta": how the scene was read (downscale,
              llff_factor, scene type), so nerf.train.run reloads it the same way,
     "state": the Trainer's state (model, optimizer, model extra state, step, training seconds,
              generators, lr, batch)}

Only tensors, numbers, strings and plain containers go in, and files are read back with
torch.load(weights_only=True): a .pt from anywhere can hold a pickle that runs code when loaded,
and such a file is refused instead. The scene's fingerprint (a hash of its training cameras in the
normalised world) lets a resume onto another scene fail with one line rather than train on
whatever happens to have the same tensor shapes; its space (scene type and region of full detail)
does the same for the same cameras read another way (another aabb_scale or --scene-type), whose
weights would load and mean something else. Writes are atomic (nerf.files.atomic_write): a
crash or a full disk keeps the previous checkpoint.
"""
from __future__ import annotations

import hashlib
import io
import math
import pickle
from pathlib import Path

import numpy as np
import torch

from nerf.data.scene import Scene
from nerf.errors import InputError
from nerf.files import atomic_write
from nerf.train.config import TrainConfig

CHECKPOINT_VERSION = 2  # 2: scene fingerprint, training seconds, weights-only contents
READABLE_VERSIONS = (1, 2)  # 1 lacks the fingerprint: its scene cannot be checked


def scene_fingerprint(scene: Scene) -> str:
    """A short hash of the training cameras (poses in the normalised world and fields of view): the
    same folder gives the same value at any --downscale, another capture a different one."""
    cams = scene.full_cameras("train")  # a distributed rank's scene holds its share of the views: all of them
    fov = torch.stack([cams.fx / cams.width, cams.fy / cams.height], dim=-1)  # [N, 2]: the downscale cancels
    values = np.concatenate([cams.c2w[:, :3, :].reshape(-1).numpy(), fov.reshape(-1).numpy()])
    # 4 decimals: the same files normalise to the same poses up to float noise on any machine
    rounded = np.round(values.astype(np.float64), 4) + 0.0  # + 0.0: no negative zeros
    return hashlib.sha256(rounded.tobytes()).hexdigest()[:16]


def scene_space(scene: Scene) -> dict:
    """The space a model of `scene` is built in: its type and the half-size of its cube (for unbounded
    scenes the region of full detail), in the normalised world."""
    return {"type": scene.scene_type, "bound": float(scene.bound)}


def checkpoint_bytes(model: torch.nn.Module) -> int:
    """Disk a save of `model`'s run needs: its weights and Adam's two moments, twice over (the new
    file is complete before it replaces the old one)."""
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return 2 * 3 * weights


def write_checkpoint(path: str | Path, config: TrainConfig, scene: Scene, meta: dict, state: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": CHECKPOINT_VERSION, "config": config.to_dict(),
               "scene": {"root": str(scene.root), "name": scene.name, "fingerprint": scene_fingerprint(scene),
                         "space": scene_space(scene)},
               "meta": {**meta, "scene_type": scene.scene_type}, "state": state}  # open_run reads it on resume
    buffer = io.BytesIO()  # torch.save turns a failed write into a RuntimeError; a plain write keeps its errno
    torch.save(payload, buffer)
    with atomic_write(path, "wb") as f:
        f.write(buffer.getbuffer())


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint dict at `path`, checked for the keys and version a resume needs; InputError
    (one line naming the file) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such checkpoint file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise InputError(path, "holds objects other than tensors, numbers and strings; refused, since "
                               "loading them could run code (not a nerf-viewer checkpoint)") from None
    except Exception as e:  # noqa: BLE001 - torch raises many types for a corrupt file
        raise InputError(path, f"not a readable checkpoint ({type(e).__name__})") from None
    if not isinstance(payload, dict) or "version" not in payload:
        raise InputError(path, "not a nerf-viewer checkpoint")
    if payload["version"] not in READABLE_VERSIONS:
        raise InputError(path, f"checkpoint format {payload['version']!r}; this version reads formats "
                               f"{', '.join(map(str, READABLE_VERSIONS))}")
    for key in ("config", "state", "scene"):
        if not isinstance(payload.get(key), dict):
            raise InputError(path, f"incomplete checkpoint: no '{key}' (written by an older version?)")
    return payload


def checkpoint_config(payload: dict, path: str | Path) -> TrainConfig:
    """The run's TrainConfig, or InputError when the file's values cannot make one."""
    try:
        return TrainConfig.from_dict(payload["config"])
    except (TypeError, ValueError) as e:
        raise InputError(path, f"its config is not valid: {e}") from None


def check_scene(payload: dict, scene: Scene, path: str | Path) -> None:
    """InputError unless `scene` is the one the checkpoint was trained on (same training cameras) and
    loads into the same space (checkpoints before the space was recorded skip that check)."""
    recorded = payload["scene"]
    fingerprint = recorded.get("fingerprint")
    if fingerprint is None:  # format 1: nothing to compare
        return
    if fingerprint != scene_fingerprint(scene):
        raise InputError(path, f"was trained on scene '{recorded.get('name')}' ({recorded.get('root')}), whose "
                               f"cameras differ from those of {scene.root}; resume on that scene, or start "
                               "a new run without the checkpoint")
    space, now = recorded.get("space"), scene_space(scene)
    if space is not None and (space["type"] != now["type"] or not math.isclose(space["bound"], now["bound"],
                                                                                  rel_tol=1e-4)):
        raise InputError(path, f"was trained on this scene as {space['type']} with bound {space['bound']:.4g}, "
                               f"but it now loads as {now['type']} with bound {now['bound']:.4g} (another "
                               "aabb_scale or --scene-type); resume it the way it was trained")


def check_resume_flags(payload: dict, path: str | Path, *, model: str | None = None, seed: int | None = None,
                       batch_rays: int | None = None, distortion: float | None = None) -> None:
    """InputError(flag, ...) for a flag given on resume that the checkpoint's run does not share: a
    resume continues that run (its weights, generators and batch), so such a flag cannot apply."""
    config, state = checkpoint_config(payload, path), payload["state"]
    batch = "an adaptive batch" if state.get("adaptive_batch") else f"{state.get('batch_rays')} rays"
    recorded_distortion = getattr(config.model, "distortion", None)
    given = {"--model": (model, config.model_name, f"model {config.model_name}"),
             "--seed": (seed, config.seed, f"seed {config.seed}"),
             "--batch-rays": (batch_rays, None if state.get("adaptive_batch") else state.get("batch_rays"), batch),
             "--distortion": (distortion, recorded_distortion,
                              f"distortion loss {recorded_distortion or 0:g}")}
    for flag, (value, recorded, what) in given.items():
        if value is not None and value != recorded:
            raise InputError(flag, f"{value} cannot apply on resume: the checkpoint continues its run with {what}; "
                                   "leave the flag out, or start a new run without --resume")
