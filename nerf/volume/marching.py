"""Marching with steps that grow with distance (instant-NGP's cone-proportional steps, Mueller et al.
2022, appendix E.1), through an occupancy grid that may live in contracted space.

A pixel's footprint grows linearly with distance, so a step of `cone_angle * t` keeps the number of
samples per footprint constant: fine steps near the cameras, long ones far away. `min_step` keeps the
region of full detail sampled as finely as a bounded scene would be; `max_step` bounds the length
of any one interval. All rays of a batch start at the same near plane, so the step edges are one
1-D sequence shared by every ray; only the per-ray jitter differs.

Samples are returned packed (flat, sorted by ray then depth), as by
nerf.volume.occupancy.OccupancyGrid.march, with each sample's own interval length.
"""
from __future__ import annotations

import functools
import math
from typing import Callable

import torch

from nerf.volume.occupancy import OccupancyGrid


@functools.lru_cache(maxsize=16)
def _edges(near: float, far: float, cone_angle: float, min_step: float, max_step: float) -> tuple:
    edges = [near]
    while edges[-1] < far:
        t = edges[-1]
        edges.append(t + min(max(cone_angle * t, min_step), max_step))
    edges[-1] = far  # the last interval ends at the far cap
    return tuple(edges)


def cone_step_edges(near: float, far: float, cone_angle: float, min_step: float, max_step: float
                    ) -> torch.Tensor:
    """Interval edges [S + 1] (float64) from near to far: e_{k+1} = e_k + clamp(cone_angle e_k,
    min_step, max_step), the last edge clipped to far. cone_angle 0 gives equal steps of min_step."""
    if not (0.0 <= near < far and math.isfinite(far) and 0.0 < min_step <= max_step):
        raise ValueError(f"bad step schedule: near {near}, far {far}, steps {min_step}..{max_step}")
    return torch.tensor(_edges(float(near), float(far), float(cone_angle), float(min_step),
                               float(max_step)), dtype=torch.float64)


def steps_between(near: float, far: float, cone_angle: float, min_step: float, max_step: float) -> int:
    """How many intervals cone_step_edges makes: the dense marcher's samples per ray."""
    return len(_edges(float(near), float(far), float(cone_angle), float(min_step), float(max_step))) - 1


@torch.no_grad()
def march_edges(grid: OccupancyGrid, rays_o: torch.Tensor, rays_d: torch.Tensor, edges: torch.Tensor,
                to_grid: Callable[[torch.Tensor], torch.Tensor], *, stratified: bool,
                generator: torch.Generator | None, max_samples: int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Occupied samples along rays [n, 3] (unit directions) on the intervals between `edges` [S + 1].

    to_grid maps world points [k, 3] into the grid's coordinates (e.g. nerf.volume.contraction.contract).
    Sample k of a ray sits at e_k + u (e_{k+1} - e_k), u = 0.5, or with `stratified` one uniform u per
    ray (training). Returns ray_indices long [m] (sorted), t [m] (sample positions) and deltas [m]
    (interval lengths); `max_samples` keeps only the first occupied samples of a ray.
    """
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
