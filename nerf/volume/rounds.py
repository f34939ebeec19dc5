"""Volume rendering in rounds over a RayMarcher (instant-NGP's and torch-ngp's inference loop):
march each live ray a few more occupied samples, evaluate them, composite, stop the rays whose
transmittance fell below `early_stop`. No field evaluation happens behind the point where a ray
turned opaque, except inside the round that crossed it.

The field is evaluated once per sample, in the round that marched it: with gradients while
training (the dense path runs a no-grad density pass over every occupied sample first, then the
gradient pass on the survivors), without them for rendering, where colour can then run on the kept
samples alone.

A sample is kept when the transmittance in front of it exceeds early_stop, the rule of the dense
path's cull, so both keep the same samples. Round sizes grow as rays die so that each round holds
about `first_round` samples per ray of the batch (instant-NGP's rule) and double at least each round,
up to MAX_ROUND per ray.
"""
from __future__ import annotations

import itertools
from typing import Callable

import torch

from nerf.volume.compositing import packed_exclusive_sum
from nerf.volume.occupied_march import RayMarcher, Samples

MAX_ROUND = 64  # samples per live ray in one round, at most


def round_size(first_round: int, n_rays: int, alive: int, index: int) -> int:
    """Samples per live ray in round `index` (0, 1, ...): the batch's budget of first_round per ray
    shared among the live rays, and at least first_round * 2^index, so that transparent rays (a
    young model's) cross the grid in a few rounds, not dozens."""
    shared = first_round * n_rays // max(alive, 1)
    return int(min(max(shared, first_round << min(index, 16)), MAX_ROUND))


def _transmittance(tau_before: torch.Tensor, samples: Samples, tau: torch.Tensor) -> torch.Tensor:
    """T in front of each sample of a round: its ray's optical depth before the round plus the
    round's own exclusive sum. tau_before [n_rays] float64, tau [m] -> [m]."""
    excl = tau_before[samples.ray_indices] + packed_exclusive_sum(tau.double(), samples.ray_indices, samples.n_rays)
    return torch.exp(-excl)


def march_to_opacity(marcher: RayMarcher, field_fn: Callable, early_stop: float, first_round: int
                     ) -> tuple[Samples, torch.Tensor, torch.Tensor]:
    """Every ray's samples in front of the point where its transmittance falls below early_stop,
    with what the field said there.

    field_fn(world points [m, 3], ray indices [m]) -> (sigma [m], payload [m, ...]) (e.g. colour
    with gradients while training, features for a later colour pass while rendering). Returns the
    kept Samples (ray-sorted) and their sigma and payload, rows matching; gradients flow through
    them. Transmittance is computed from sigma detached: the cut is not differentiated, as in the
    dense path's no-grad pass."""
    n, device = marcher.n_rays, marcher.rays_o.device
    tau_before = torch.zeros(n, dtype=torch.float64, device=device)  # [n] optical depth so far
    kept, sigmas, payloads = [], [], []
    for index in itertools.count():
        if not marcher.alive:
            break
        samples = marcher.next(round_size(first_round, n, marcher.alive, index))
        if samples.t.numel() == 0:
            continue
        sigma, payload = field_fn(marcher.points(samples), samples.ray_indices)
        tau = sigma.detach().float() * samples.deltas
        keep = _transmittance(tau_before, samples, tau) > early_stop
        kept.append(samples.select(keep))
        sigmas.append(sigma[keep])
        payloads.append(payload[keep])
        tau_before.index_add_(0, samples.ray_indices, tau.double())
        marcher.stop(torch.exp(-tau_before) <= early_stop)
    if not kept:  # the field on no points gives the right shapes (and a graph to backpropagate)
        empty = Samples.cat([], n, device)
        return (empty, *field_fn(torch.zeros(0, 3, device=device), empty.ray_indices))
    ray = torch.cat([k.ray_indices for k in kept])
    order = torch.sort(ray, stable=True).indices  # stable: a ray's rounds stay in depth order
    return Samples.cat(kept, n, device), torch.cat(sigmas)[order], torch.cat(payloads)[order]
