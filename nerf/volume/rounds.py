"""Volume rendering in rounds over a RayMarcher (instant-NGP's and torch-ngp's inference loop):
march each live ray a few more occupied samples, evaluate them, composite, stop the rays whose
transmittance fell below `early_stop`. No field evaluation happens behind the point where a ray
turned opaque, except inside the round that crossed it.

- `march_to_opacity` (training): the no-grad rounds find each ray's samples in front of that point,
  the samples the gradient pass then evaluates once with gradients.
- `render_in_rounds` (inference): one pass; colour only for the samples that count.

A sample is kept when the transmittance in front of it exceeds early_stop, the rule of the dense
path's cull, so both keep the same samples. Round sizes grow as rays die so that each round holds
about `first_round` samples per ray of the batch (instant-NGP's rule), at most MAX_ROUND per ray.
"""
from __future__ import annotations

from typing import Callable

import torch

from nerf.volume.compositing import composite, packed_exclusive_sum
from nerf.volume.occupied_march import RayMarcher, Samples

MAX_ROUND = 64  # samples per live ray in one round, at most


def round_size(first_round: int, n_rays: int, alive: int) -> int:
    """Samples per live ray for the next round: the batch's budget of first_round per ray, shared."""
    return int(min(max(first_round * n_rays // max(alive, 1), first_round), MAX_ROUND))


def _transmittance(tau_before: torch.Tensor, samples: Samples, tau: torch.Tensor) -> torch.Tensor:
    """T in front of each sample of a round: its ray's optical depth before the round plus the
    round's own exclusive sum. tau_before [n_rays] float64, tau [m] -> [m]."""
    excl = tau_before[samples.ray_indices] + packed_exclusive_sum(tau.double(), samples.ray_indices, samples.n_rays)
    return torch.exp(-excl)


@torch.no_grad()
def march_to_opacity(marcher: RayMarcher, density_fn: Callable[[torch.Tensor], torch.Tensor],
                     early_stop: float, first_round: int) -> Samples:
    """The samples of every ray in front of the point where its transmittance falls below
    early_stop. density_fn(world points [m, 3]) -> sigma [m]."""
    n, device = marcher.n_rays, marcher.rays_o.device
    tau_before = torch.zeros(n, dtype=torch.float64, device=device)  # [n] optical depth so far
    kept = []
    while marcher.alive:
        samples = marcher.next(round_size(first_round, n, marcher.alive))
        if samples.t.numel() == 0:
            continue
        tau = density_fn(marcher.points(samples)).float() * samples.deltas
        kept.append(samples.select(_transmittance(tau_before, samples, tau) > early_stop))
        tau_before.index_add_(0, samples.ray_indices, tau.double())
        marcher.stop(torch.exp(-tau_before) <= early_stop)
    return Samples.cat(kept, n, device)


@torch.no_grad()
def render_in_rounds(marcher: RayMarcher, geometry_fn: Callable, color_fn: Callable, background: torch.Tensor | None,
                     early_stop: float, first_round: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Colour, depth and opacity per ray ([n, 3], [n], [n]) and the number of samples that counted.

    geometry_fn(world points [m, 3]) -> (sigma [m], features [m, f]); color_fn(features [m', f],
    ray indices [m']) -> rgb [m', 3], called only for samples in front of the opacity point.
    background as nerf.volume.compositing.composite's."""
    n, device = marcher.n_rays, marcher.rays_o.device
    tau_before = torch.zeros(n, dtype=torch.float64, device=device)
    rgb = torch.zeros(n, 3, device=device)
    depth_sum = torch.zeros(n, device=device)
    opacity = torch.zeros(n, device=device)  # sum of the kept weights, as the dense path's
    used = 0
    while marcher.alive:
        samples = marcher.next(round_size(first_round, n, marcher.alive))
        if samples.t.numel() == 0:
            continue
        sigma, h = geometry_fn(marcher.points(samples))
        tau = sigma.float() * samples.deltas
        trans = _transmittance(tau_before, samples, tau)
        keep = trans > early_stop
        tau_before.index_add_(0, samples.ray_indices, tau.double())
        marcher.stop(torch.exp(-tau_before) <= early_stop)
        kept = samples.select(keep)
        weights = (trans[keep] * -torch.expm1(-tau[keep].double())).float()  # T_i alpha_i
        colour, depth, round_opacity = composite(weights, color_fn(h[keep], kept.ray_indices), kept.t,
                                                 kept.ray_indices, n, None)
        rgb += colour
        depth_sum += depth * round_opacity
        opacity += round_opacity
        used += kept.t.numel()
    if background is not None:
        rgb = rgb + (1.0 - opacity)[:, None] * background.to(rgb.dtype)
    return rgb, depth_sum / opacity.clamp_min(1e-10), opacity, used
