"""The dense marcher: the slow, obvious reference the production marcher (nerf.volume.occupancy_sampler,
in rounds) is tested against.

It lays every step of every ray out in one tensor, keeps the occupied ones, runs a no-grad density
pass over all of them to find where each ray turns opaque, then the field (with gradients while
training) on the survivors only: nerfacc's two-pass recipe. `dense_render` renders an NGPModel
this way; the rounds marcher must keep exactly the same samples and give the same pixels and
gradients.
"""
from __future__ import annotations

import math

import torch

from nerf.models.base import RenderOutput
from nerf.models.ngp import NGPModel, _sliced
from nerf.volume.aabb import ray_aabb
from nerf.volume.compositing import composite, packed_exclusive_sum, volume_weights_packed
from nerf.volume.occupancy import OccupancyGrid


@torch.no_grad()
def march_grid(grid: OccupancyGrid, rays_o: torch.Tensor, rays_d: torch.Tensor, near: float, far: float,
               step_size: float, *, stratified: bool, generator: torch.Generator | None,
               max_samples: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Occupied sample points along rays [n, 3] through the grid's cube, packed: ray_indices long [m]
    (sorted) and t_mid [m] (each sample stands for [t_mid - step/2, t_mid + step/2]). `stratified`:
    one random offset of the step grid per ray; else step centres. `max_samples` keeps a ray's first
    occupied samples only."""
    n = rays_o.shape[0]
    t0, t1, hit = ray_aabb(rays_o, rays_d, grid.bound, near, far)
    if n == 0 or not bool(hit.any()):
        empty = torch.zeros(0, device=rays_o.device)
        return empty.long(), empty
    longest = float((t1 - t0)[hit].max())
    n_steps = max(int(math.ceil(longest / step_size)), 1)
    if stratified:
        offset = torch.rand(n, 1, generator=generator, device=rays_o.device)
    else:
        offset = torch.full((n, 1), 0.5, device=rays_o.device)
    k = torch.arange(n_steps, device=rays_o.device, dtype=torch.float32)  # [s]
    t = t0[:, None] + (k[None, :] + offset) * step_size  # [n, s]
    keep = t < t1[:, None]
    pts = rays_o[:, None, :] + t[..., None] * rays_d[:, None, :]  # [n, s, 3]
    keep &= grid.occupied[grid.cell_index(pts.reshape(-1, 3))].reshape(n, n_steps)
    if max_samples is not None:
        keep &= torch.cumsum(keep, dim=1) <= max_samples
    ray_indices, step_idx = keep.nonzero(as_tuple=True)  # row-major: sorted by ray, then t
    return ray_indices, t[ray_indices, step_idx]


@torch.no_grad()
def march_edges(grid: OccupancyGrid, rays_o: torch.Tensor, rays_d: torch.Tensor, edges: torch.Tensor,
                to_grid, *, stratified: bool, generator: torch.Generator | None, max_samples: int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Occupied samples along rays [n, 3] on the intervals between `edges` [S + 1] (cone steps of an
    unbounded scene), through to_grid into the grid's coordinates. Sample k of a ray sits at
    e_k + u (e_{k+1} - e_k), u = 0.5 or, with `stratified`, one uniform u per ray. Returns
    ray_indices [m] (sorted), t [m] and deltas [m] (interval lengths)."""
    n, device = rays_o.shape[0], rays_o.device
    e = edges.to(device=device, dtype=torch.float32)
    lo, width = e[:-1], e[1:] - e[:-1]  # [S]
    if stratified:
        u = torch.rand(n, 1, generator=generator, device=device)
    else:
        u = torch.full((n, 1), 0.5, device=device)
    t = lo[None, :] + u * width[None, :]  # [n, S]
    pts = rays_o[:, None, :] + t[..., None] * rays_d[:, None, :]  # [n, S, 3]
    keep = grid.occupied[grid.cell_index(to_grid(pts.reshape(-1, 3)))].reshape(t.shape)
    if max_samples is not None:
        keep &= torch.cumsum(keep, dim=1) <= max_samples
    ray_indices, step_idx = keep.nonzero(as_tuple=True)  # row-major: sorted by ray, then t
    return ray_indices, t[ray_indices, step_idx], width[step_idx]


def _alive(model: NGPModel, sigma, deltas, ray_idx, n: int) -> torch.Tensor:
    """Samples in front of the point where their ray's transmittance drops below early_stop."""
    if sigma.numel() == 0:
        return torch.zeros(0, dtype=torch.bool, device=sigma.device)
    return torch.exp(-packed_exclusive_sum(sigma.float() * deltas, ray_idx, n)) > model.config.early_stop


def dense_render(model: NGPModel, rays_o, rays_d, background, *, stratified: bool,
                 generator: torch.Generator | None, max_samples: int | None = None, crop=None) -> RenderOutput:
    """model.render_rays, by the dense two-pass recipe."""
    n = rays_o.shape[0]
    if model.unbounded:
        ray_idx, t_mid, deltas = march_edges(model.grid, rays_o, rays_d, model.edges, model._to_grid,
                                             stratified=stratified, generator=generator, max_samples=max_samples)
    else:
        ray_idx, t_mid = march_grid(model.grid, rays_o, rays_d, model.near, model.far, model.step_size,
                                    stratified=stratified, generator=generator, max_samples=max_samples)
        deltas = torch.full_like(t_mid, model.step_size)
    if not torch.is_grad_enabled():  # inference: one density pass, colour for survivors only
        world = rays_o[ray_idx] + t_mid[:, None] * rays_d[ray_idx]
        sigma, h = _sliced(model.field.geometry, model._to_grid(world))
        if crop is not None:
            sigma = sigma * crop.contains(world)
        alive = _alive(model, sigma, deltas, ray_idx, n)
        ray_idx, t_mid, deltas, sigma = ray_idx[alive], t_mid[alive], deltas[alive], sigma[alive]
        rgb = model.field.color(h[alive], rays_d[ray_idx])
    else:
        with torch.no_grad():  # pass 1: where does each ray become opaque?
            pts = model._to_grid(rays_o[ray_idx] + t_mid[:, None] * rays_d[ray_idx])
            alive = _alive(model, _sliced(model.field.density, pts), deltas, ray_idx, n)
            ray_idx, t_mid, deltas = ray_idx[alive], t_mid[alive], deltas[alive]
        pts = model._to_grid(rays_o[ray_idx] + t_mid[:, None] * rays_d[ray_idx])  # [m, 3]
        sigma, rgb = model.field(pts, rays_d[ray_idx])  # [m], [m, 3]
    weights, _, _ = volume_weights_packed(sigma, deltas, ray_idx, n)
    rgb_out, depth, opacity = composite(weights, rgb, t_mid, ray_idx, n, background)
    return RenderOutput(rgb_out, depth, opacity, rgb_terms=[rgb_out], samples_per_ray=ray_idx.numel() / max(n, 1),
                        regularizer=model._distortion(weights, t_mid, deltas, ray_idx, n))
