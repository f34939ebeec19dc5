"""The radiance-model protocol shared by every model the Trainer can train, and `build_model`.

A model owns everything between rays and pixels: its encodings and MLPs, its sampler (occupancy
grid for `ngp`, stratified + hierarchical for `nerf`) and the volume rendering. The Trainer only
sees `render_rays`, the loss terms it returns, and a few hooks:

    class RadianceModel(Protocol):  # an nn.Module
        render_rays(rays_o, rays_d, background, *, stratified, generator, max_samples=None) -> dict
            rays_o, rays_d [n, 3], rays_d unit length. For `ndc` scenes the caller (Trainer) has
            already mapped the rays with nerf.data.cameras.to_ndc using the TRAINING intrinsics (one NDC
            space for all cameras); the model then samples each ray's segment inside [-1, 1]^3.
            background [n, 3] or [3]; returns
              "rgb" [n, 3], "depth" [n], "opacity" [n],
              "rgb_terms": list of [n, 3] predictions, each supervised by MSE to the target
                           (ngp: [rgb]; nerf: [coarse, fine]),
              "samples_per_ray": python float or 0-d tensor (so the hot path needs no sync).
            `stratified` jitters sample positions (training); `generator` drives every random choice
            so runs are reproducible; `max_samples` caps samples per ray (viewer's fast preview).
        update(step, should_yield=None, pool=None) -> bool
                                after each optimizer step (ngp refreshes its occupancy grid); may
                                stop part-way when should_yield() is true and return False, then
                                the next call finishes the work; may share its work out on `pool`
                                (a nerf.train.shards.ShardPool)
        param_groups(lr)        optimizer parameter groups (e.g. no weight decay on the hash table)
        extra_state() / load_extra_state(d)   non-parameter state (occupancy grid) for checkpoints

`config` is the Trainer's TrainConfig (nerf.train.trainer); models read their own fields from it.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from nerf.data.scene import Scene


@runtime_checkable
class RadianceModel(Protocol):
    def render_rays(self, rays_o: torch.Tensor, rays_d: torch.Tensor, background: torch.Tensor, *,
                    stratified: bool, generator: torch.Generator | None,
                    max_samples: int | None = None) -> dict: ...

    def update(self, step: int, should_yield=None, pool=None) -> bool: ...

    def param_groups(self, lr: float) -> list[dict]: ...

    def extra_state(self) -> dict: ...

    def load_extra_state(self, d: dict) -> None: ...


MODEL_NAMES = ("ngp", "nerf")


def build_model(name: str, scene: Scene, config, device: torch.device | str) -> torch.nn.Module:
    """A fresh model `name` ("ngp" | "nerf") for `scene`, on `device`."""
    if name == "ngp":
        from nerf.models.ngp import NGPModel
        model = NGPModel(scene.bound, scene.near, scene.far, scene.ndc, config)
    elif name == "nerf":
        from nerf.models.vanilla import VanillaNeRF  # lazy: written separately, heavy only when used
        model = VanillaNeRF(scene.bound, scene.near, scene.far, scene.ndc, config)
    else:
        raise ValueError(f"unknown model '{name}' (choose from {', '.join(MODEL_NAMES)})")
    return model.to(device)
