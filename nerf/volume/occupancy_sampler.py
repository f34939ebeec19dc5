"""The occupancy sampler: each ray's samples in occupied cells, in front of the point where it turns
opaque, packed (nerfacc's estimator over an occupancy grid, with instant-NGP's early stop).

It knows nothing about the field: the model hands it `field_fn(world points, ray indices) ->
(sigma, payload)` and its settings as arguments, and gets packed samples back to composite. Bounded
scenes step at a constant size inside the cube [-bound, bound]^3; unbounded ones step on the cone
edges (nerf.volume.marching.cone_step_edges) from near to far, through `to_grid` (the contraction)
into the grid's coordinates. The samples are marched in rounds (nerf.volume.rounds); the dense
reference that tests every step of every ray lives in the tests (tests/support/dense_marcher.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from nerf.volume.aabb import ray_aabb
from nerf.volume.occupancy import OccupancyGrid
from nerf.volume.occupied_march import RayMarcher, Samples
from nerf.volume.rounds import march_to_opacity
from nerf.volume.steps import ConstantSteps, EdgeSteps


@dataclass(frozen=True)
class OccupancySampler:
    bound: float  # bounded scenes: rays are clipped to the cube [-bound, bound]^3
    near: float  # distances along the unit ray
    far: float
    step_size: float  # bounded scenes: every step; unbounded: the smallest
    early_stop: float  # a ray stops once its transmittance falls below this
    first_round: int  # samples per ray of the batch in each marching round
    edges: torch.Tensor | None = None  # unbounded: cone-step interval edges [S + 1]
    to_grid: Callable[[torch.Tensor], torch.Tensor] | None = None  # unbounded: world -> grid coordinates

    def marcher(self, grid: OccupancyGrid, rays_o: torch.Tensor, rays_d: torch.Tensor, *, stratified: bool,
                generator: torch.Generator | None, max_samples: int | None = None,
                levels: torch.Tensor | None = None) -> RayMarcher:
        """A RayMarcher over `grid` for rays_o, rays_d [n, 3]: one jitter u per ray drawn from
        `generator` when `stratified` (and the batch can hit anything), else step centres."""
        n, device = rays_o.shape[0], rays_o.device
        u = torch.full((n,), 0.5, device=device)
        if self.edges is not None:  # every ray from the near plane to the far cap, on the shared cone steps
            if stratified and n > 0:
                u = torch.rand(n, 1, generator=generator, device=device)[:, 0]
            t0, t1 = torch.full((n,), self.near, device=device), torch.full((n,), self.far, device=device)
            return RayMarcher(grid, rays_o, rays_d, t0, t1, EdgeSteps(self.edges), u, to_grid=self.to_grid,
                              max_samples=max_samples)
        t0, t1, hit = ray_aabb(rays_o, rays_d, self.bound, self.near, self.far)
        if stratified and n > 0 and bool(hit.any()):  # a batch that misses the cube draws nothing
            u = torch.rand(n, 1, generator=generator, device=device)[:, 0]
        return RayMarcher(grid, rays_o, rays_d, t0, t1, ConstantSteps(self.step_size), u,
                          max_samples=max_samples, levels=levels)

    def sample(self, grid: OccupancyGrid, rays_o: torch.Tensor, rays_d: torch.Tensor, field_fn: Callable, *,
               stratified: bool, generator: torch.Generator | None, max_samples: int | None = None,
               levels: torch.Tensor | None = None) -> tuple[Samples, torch.Tensor, torch.Tensor]:
        """The kept samples (ray-sorted) with field_fn's sigma [m] and payload [m, ...] there; see
        nerf.volume.rounds.march_to_opacity."""
        marcher = self.marcher(grid, rays_o, rays_d, stratified=stratified, generator=generator,
                               max_samples=max_samples, levels=levels)
        return march_to_opacity(marcher, field_fn, self.early_stop, self.first_round)
