"""Ray / axis-aligned box intersection: the segment of each ray inside the scene cube.

One definition for every sampler: the stratified sampler of nerf.models.vanilla and the occupancy
marcher of nerf.volume.occupancy both start from this segment, so they agree on where the scene is.
"""
from __future__ import annotations

import math

import torch

# stands in for direction components closer to zero than this: keeps the slab distances finite
# (no 0 * inf = nan for origins on a slab plane); such an axis then never limits the segment
_TINY_DIRECTION = 1e-12


def ray_aabb(rays_o: torch.Tensor, rays_d: torch.Tensor, bound: float, near: float = 0.0,
             far: float = math.inf) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slab test of rays against the cube [-bound, bound]^3, kept to the range [near, far].

    rays_o, rays_d: [n, 3] (any direction length; t is in units of rays_d).
    Returns (t_near [n], t_far [n], hit [n] bool): t_near is where the ray enters the cube, at least
    `near` (0 by default: the part in front of the origin), t_far where it leaves, at most `far`.
    Rays that miss, or whose cube segment lies outside [near, far], have hit False and
    t_far == t_near (an empty segment, so samples placed on it stay in place).
    """
    d = torch.where(rays_d.abs() < _TINY_DIRECTION, torch.full_like(rays_d, _TINY_DIRECTION), rays_d)
    inv = 1.0 / d  # [n, 3]
    t_a = (-bound - rays_o) * inv  # [n, 3] distances to the three lower slab planes
    t_b = (bound - rays_o) * inv
    t_near = torch.minimum(t_a, t_b).amax(dim=-1).clamp_min(near)  # [n]
    t_exit = torch.maximum(t_a, t_b).amin(dim=-1).clamp_max(far)  # [n]
    hit = t_exit > t_near
    return t_near, torch.where(hit, t_exit, t_near), hit
