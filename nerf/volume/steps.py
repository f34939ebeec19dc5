"""Where a marcher puts the samples of a ray: step rules indexed by a per-ray step number k.

A rule places sample k of a ray at t_k with interval length delta_k; k only grows along a ray, so a
marcher can skip empty space by jumping to `first_at(t)` and still land on exactly the samples a
dense marcher would take (nerf.volume.occupied_march). Each ray has its own start t0 (where it enters
the grid) and jitter u in [0, 1) (0.5 without stratification).

- `ConstantSteps`: the bounded grid's equal steps, t_k = t0 + (k + u) step, the samples of
  nerf.volume.occupancy.OccupancyGrid.march.
- `EdgeSteps`: one sequence of interval edges shared by all rays (e.g. cone steps that grow with
  distance for contracted, unbounded scenes), t_k = e_k + u (e_{k+1} - e_k), for k < S.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


class StepRule(Protocol):
    def sample(self, k: torch.Tensor, t0: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(t, delta) of step k (float, any shape) for rays starting at t0 with jitter u (broadcast).
        Steps past the rule's last one give t = inf."""

    def first_at(self, t: torch.Tensor, t0: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The smallest step k >= 0 (float) whose sample lies at or after t."""


@dataclass(frozen=True)
class ConstantSteps:
    """Steps of one length along every ray, counted from each ray's own start."""

    step: float

    def sample(self, k, t0, u):
        t = t0 + (k + u) * self.step
        return t, torch.full_like(t, self.step)

    def first_at(self, t, t0, u):
        return torch.ceil((t - t0) / self.step - u).clamp_min(0.0)


@dataclass(frozen=True)
class EdgeSteps:
    """Steps between shared edges [S + 1] (sorted); every ray starts at edges[0] (t0 is ignored)."""

    edges: torch.Tensor

    def sample(self, k, t0, u):
        last = self.edges.shape[0] - 2
        i = k.long().clamp(0, last)
        lo, hi = self.edges[i], self.edges[i + 1]
        t = lo + u * (hi - lo)
        return torch.where(k > last, torch.full_like(t, torch.inf), t), hi - lo

    def first_at(self, t, t0, u):
        # the interval holding t; its sample may still lie before t, then the next one is first
        i = (torch.searchsorted(self.edges, t.contiguous(), right=True) - 1).clamp_min(0)
        k = i.to(t.dtype)
        before = self.sample(k, t0, u)[0] < t
        return k + before.to(t.dtype)
