"""Scene contraction for unbounded scenes (mip-NeRF 360, Barron et al. 2022, eq. 10), L-infinity form.

Points are first measured in units of the region of full detail, the cube [-radius, radius]^3
(y = x / radius). Inside it nothing changes; outside, the point moves along its own direction onto a
shell between the unit cube and the cube of half-size 2:

    contract(y) = y                                  if |y|_inf <= 1
                = (2 - 1 / |y|_inf) * y / |y|_inf     otherwise

so all of space fits in [-2, 2]^3, distances shrink like 1/|y|^2 far away (equal steps in disparity
become equal steps in the shell) and a grid over the contracted cube spends half its cells per axis
on the region of full detail. The L-infinity norm (nerfacto's choice) maps cubes to cubes, which
suits axis-aligned hash and occupancy grids; the L2 form of the paper would leave the grid's corners
unused.
"""
from __future__ import annotations

import torch

CONTRACTED_BOUND = 2.0  # contracted points lie in [-2, 2]^3


def contract(x: torch.Tensor, radius: float) -> torch.Tensor:
    """World points x [..., 3] -> contracted points [..., 3] in [-2, 2]^3 (identity inside the region
    [-radius, radius]^3, up to the division by radius)."""
    y = x / radius
    n = y.abs().amax(dim=-1, keepdim=True)  # [..., 1] L-infinity norm
    # clamp before dividing: inside the region the other branch is taken, so the clamp never shows
    outside = (2.0 - 1.0 / n.clamp_min(1.0)) * y / n.clamp_min(1.0)
    return torch.where(n <= 1.0, y, outside)


def uncontract(z: torch.Tensor, radius: float) -> torch.Tensor:
    """The inverse of `contract`: contracted points z [..., 3] with |z|_inf < 2 -> world points.

    With m = |z|_inf > 1, the world norm is n = 1 / (2 - m) and the direction is z / m. Points on the
    outer face (m = 2) are infinitely far away: they come back as inf (or nan on a zero component).
    """
    m = z.abs().amax(dim=-1, keepdim=True)  # [..., 1]
    scale = 1.0 / ((2.0 - m) * m.clamp_min(1.0))  # n / m
    return torch.where(m <= 1.0, z, z * scale) * radius


def saturation_distance(radius: float, resolution: int) -> float:
    """World distance from the region's centre beyond which contracted points lie within one cell of
    the outer face, for a grid of `resolution` cells across [-2, 2]: nothing past it can be told apart,
    so marching there only costs time. From 2 - 1/n = 2 - 4/resolution: n = resolution / 4."""
    return radius * max(resolution / 4.0, 1.0)
