"""The contract between a radiance model and the Trainer: `RadianceModel`, `RenderOutput`, `build_model`.

A model owns everything between rays and pixels: its encodings and MLPs, its sampler (occupancy
grid for `ngp`, stratified + hierarchical for `nerf`) and the volume rendering. The Trainer only
sees `render_rays`, the loss terms it returns, and the hooks below, whose defaults suit a model
with no state outside its parameters and nothing to refresh between steps.

Each model owns its config dataclass (nerf.models.ngp.NGPConfig, nerf.models.vanilla.NeRFConfig),
with its tuned values per device and scene type; nerf.models.registry names them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from nerf.data.crop import CropBox


@dataclass(frozen=True)
class RenderOutput:
    """What rendering rays gives: per ray ([n]) from `render_rays`, per pixel ([H, W]) from an image."""

    rgb: torch.Tensor  # [*batch, 3] composited on the background
    depth: torch.Tensor  # [*batch] expected distance along the unit ray (NDC distance for NDC scenes)
    opacity: torch.Tensor  # [*batch] accumulated alpha, in [0, 1]
    # predictions [n, 3] each supervised by MSE to the target (ngp: [rgb]; nerf: [coarse, fine]);
    # empty for rendered images, which nothing trains on
    rgb_terms: list[torch.Tensor] = field(default_factory=list)
    # samples (MLP evaluations for nerf) per ray: a python float or a 0-d tensor, so the training
    # step's hot path needs no device sync to report it
    samples_per_ray: float | torch.Tensor = 0.0
    # a loss term trained beside the MSE ones (ngp's distortion loss on unbounded scenes), 0 if none
    regularizer: float | torch.Tensor = 0.0


class RadianceModel(nn.Module):
    """Base of every model the Trainer can train: `render_rays` plus hooks with no-op defaults."""

    def render_rays(self, rays_o: torch.Tensor, rays_d: torch.Tensor, background: torch.Tensor, *,
                    stratified: bool, generator: torch.Generator | None,
                    max_samples: int | None = None, crop: CropBox | None = None) -> RenderOutput:
        """rays_o, rays_d [n, 3], rays_d unit length; background [n, 3] or [3] -> RenderOutput [n].

        For `ndc` scenes the caller (the Trainer) has already mapped the rays with
        nerf.data.cameras.to_ndc using the TRAINING intrinsics (one NDC space for all cameras); the
        model then samples each ray's segment inside [-1, 1]^3. `stratified` jitters sample
        positions (training); `generator` drives every random choice so runs are reproducible;
        `max_samples` caps samples per ray (the viewer's fast preview); `crop` (a
        nerf.data.crop.CropBox, rendering only) keeps what lies inside it and nothing else."""
        raise NotImplementedError

    def density(self, pts: torch.Tensor) -> torch.Tensor:
        """Density sigma [n] at points [n, 3] of the model's world, without gradients (nerf-export's
        marching cubes)."""
        raise NotImplementedError(f"{type(self).__name__} cannot export its density")

    def update(self, step: int, should_yield=None, pool=None) -> bool:
        """Called after each optimizer step (ngp refreshes its occupancy grid). May stop part-way when
        should_yield() is true and return False; the next call then finishes the work. May share its
        work out on `pool` (a nerf.train.shards.ShardPool)."""
        return True

    def param_groups(self, lr: float) -> list[dict]:
        """Optimizer parameter groups (ngp: no weight decay on the hash table)."""
        return [{"params": list(self.parameters()), "lr": lr}]

    def extra_state(self) -> dict:
        """Non-parameter state a checkpoint must carry (ngp: its occupancy sampler's generator)."""
        return {}

    def load_extra_state(self, d: dict) -> None:
        """Restores what extra_state() gave."""
