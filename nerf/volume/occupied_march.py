"""A marcher that emits only samples in occupied cells, a few per ray at a time (instant-NGP, sec. 5.1
and appendix E.1; torch-ngp's and nerfacc's marching loops), in pure PyTorch.

The dense marcher (nerf.volume.occupancy.OccupancyGrid.march) tests every step of every ray in one
[rays, steps] tensor and culls afterwards. `RayMarcher` keeps a step number k per ray instead and
hands out the next occupied samples of the rays still alive on each call to `next`, so a caller can
evaluate them, drop the rays that turned opaque and march only the rest (nerf.volume.rounds). Its
samples are exactly the dense marcher's, in the same packed layout (ray-sorted, no padding).

Empty space is skipped two ways. Each round tests a block of candidate steps against the occupancy
bits, which costs a lookup per step and no field evaluation. When the grid lies in world space
unchanged (bounded scenes: `to_grid` None) the marcher first walks a mip pyramid of the bits as a
DDA: a ray standing in an empty cell of some level jumps to that cell's exit, then snaps to its next
step (`StepRule.first_at`). Through a contracted grid cells are not boxes in world space, so only
the candidate blocks skip; there the steps grow with distance and are few.

Every function here works on whole batches of rays: a fused kernel can replace `RayMarcher.next`
alone later.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from nerf.volume.occupancy import OccupancyGrid
from nerf.volume.steps import StepRule

SKIP_JUMPS = 6  # DDA jumps per round before the candidate block
_TINY_DIRECTION = 1e-12  # as nerf.volume.aabb: keeps slab distances finite


@dataclass(frozen=True)
class Samples:
    """Packed samples of n_rays rays: ray-sorted, samples of one ray contiguous and in depth order."""

    ray_indices: torch.Tensor  # long [m]
    t: torch.Tensor  # [m] sample positions along the unit direction
    deltas: torch.Tensor  # [m] interval lengths; the interval is t +- delta / 2
    n_rays: int

    @property
    def t_starts(self) -> torch.Tensor:
        return self.t - 0.5 * self.deltas

    @property
    def t_ends(self) -> torch.Tensor:
        return self.t + 0.5 * self.deltas

    def counts(self) -> torch.Tensor:
        """Samples per ray, long [n_rays]."""
        return torch.bincount(self.ray_indices, minlength=self.n_rays)

    def offsets(self) -> torch.Tensor:
        """Index of each ray's first sample, long [n_rays] (its count tells whether there is one)."""
        counts = self.counts()
        return torch.cumsum(counts, 0) - counts

    def select(self, keep: torch.Tensor) -> "Samples":
        return Samples(self.ray_indices[keep], self.t[keep], self.deltas[keep], self.n_rays)

    @staticmethod
    def cat(parts: list["Samples"], n_rays: int, device: torch.device) -> "Samples":
        """Rounds of samples (each ray-sorted, later rounds deeper) -> one ray-sorted Samples."""
        if not parts:
            empty = torch.zeros(0, device=device)
            return Samples(empty.long(), empty, empty, n_rays)
        ray = torch.cat([p.ray_indices for p in parts])
        order = torch.sort(ray, stable=True).indices  # stable: a ray's rounds stay in depth order
        return Samples(ray[order], torch.cat([p.t for p in parts])[order],
                       torch.cat([p.deltas for p in parts])[order], n_rays)


def empty_levels(occupied: torch.Tensor, res: int) -> torch.Tensor:
    """For each cell of the bits [res^3] (x-major): the coarsest level l of their mip pyramid whose
    cell around it is empty (a level-l cell spans 2^l cells per axis and is occupied when any cell
    inside is), or -1 for an occupied cell. int8 [res^3]: one lookup tells a ray how far it may jump.
    Levels are built while the resolution halves evenly (down to one cell for a power of two)."""
    levels = torch.where(occupied, -1, 0).to(torch.int8).reshape(res, res, res)
    grid, lv = occupied.reshape(res, res, res), 0
    while grid.shape[0] % 2 == 0:
        r, lv = grid.shape[0] // 2, lv + 1
        grid = grid.reshape(r, 2, r, 2, r, 2).any(dim=5).any(dim=3).any(dim=1)  # [r, r, r]
        size = res // r
        up = grid.repeat_interleave(size, 0).repeat_interleave(size, 1).repeat_interleave(size, 2)
        levels = torch.where(up, levels, torch.full_like(levels, lv))
    return levels.reshape(-1)


class RayMarcher:
    """The occupied samples of rays_o, rays_d [n, 3] (unit directions) between t_near and t_far [n],
    handed out a few per ray at a time by `next`; `stop` ends rays early (e.g. opaque ones).

    to_grid maps world points into the grid's coordinates (None: they are the same); u [n] is each
    ray's jitter (see nerf.volume.steps); max_samples caps the samples of a ray, as the dense
    marcher's. levels: empty_levels(grid.occupied, grid.res), passed in so callers can reuse them.
    """

    def __init__(self, grid: OccupancyGrid, rays_o: torch.Tensor, rays_d: torch.Tensor, t_near: torch.Tensor,
                 t_far: torch.Tensor, steps: StepRule, u: torch.Tensor, *,
                 to_grid: Callable[[torch.Tensor], torch.Tensor] | None = None, max_samples: int | None = None,
                 levels: torch.Tensor | None = None):
        assert rays_o.shape == rays_d.shape and rays_o.ndim == 2, (rays_o.shape, rays_d.shape)
        self.grid, self.steps, self.to_grid, self.max_samples = grid, steps, to_grid, max_samples
        self.rays_o, self.rays_d, self.t0, self.t_far, self.u = rays_o, rays_d, t_near, t_far, u
        self.n_rays = rays_o.shape[0]
        self.levels = None
        if to_grid is None:
            self.levels = empty_levels(grid.occupied, grid.res) if levels is None else levels
        self.ids = torch.nonzero(t_far > t_near).squeeze(-1)  # rays still marching, ascending
        self.k = steps.first_at(t_near[self.ids], t_near[self.ids], u[self.ids])  # [a] next step
        self.emitted = torch.zeros_like(self.ids)  # [a]

    @property
    def alive(self) -> int:
        return self.ids.shape[0]

    def points(self, samples: Samples) -> torch.Tensor:
        """World positions [m, 3] of samples."""
        return self.rays_o[samples.ray_indices] + samples.t[:, None] * self.rays_d[samples.ray_indices]

    def stop(self, done: torch.Tensor) -> None:
        """Ends the rays with done [n_rays] (bool) true."""
        self._keep(~done[self.ids])

    def _keep(self, keep: torch.Tensor) -> None:
        self.ids, self.k, self.emitted = self.ids[keep], self.k[keep], self.emitted[keep]

    def _occupied(self, pts: torch.Tensor) -> torch.Tensor:
        x = pts if self.to_grid is None else self.to_grid(pts)
        return self.grid.occupied[self.grid.cell_index(x)]

    @torch.no_grad()
    def next(self, per_ray: int) -> Samples:
        """Up to per_ray next occupied samples of each live ray (Samples over all n_rays rays); rays
        that reach their end are dropped."""
        device = self.rays_o.device
        if self.alive and self.levels is not None:
            self._skip()
        a = self.alive
        if a == 0:
            return Samples.cat([], self.n_rays, device)
        ids = self.ids
        t0, u, far = self.t0[ids, None], self.u[ids, None], self.t_far[ids, None]
        quota = torch.full_like(self.emitted, per_ray)
        if self.max_samples is not None:
            quota = quota.clamp_max(self.max_samples - self.emitted)
        n_cand = max(2 * per_ray, 8)
        k = self.k[:, None] + torch.arange(n_cand, device=device, dtype=self.k.dtype)  # [a, c]
        t, deltas = self.steps.sample(k, t0, u)  # [a, c]
        inside = t < far
        pts = self.rays_o[ids, None] + t[..., None] * self.rays_d[ids, None]  # [a, c, 3]
        occ = self._occupied(pts.reshape(-1, 3)).reshape(a, n_cand) & inside
        before = torch.cumsum(occ, dim=1)  # occupied candidates up to and including each
        take = occ & (before <= quota[:, None])
        n_taken = take.sum(dim=1)
        # steps used: through the quota-th occupied candidate when the quota is met, else the block
        used = torch.where(n_taken >= quota, (before < quota[:, None]).sum(dim=1) + 1, n_cand)
        self.k = self.k + used.to(self.k.dtype)
        self.emitted = self.emitted + n_taken
        rows, cols = take.nonzero(as_tuple=True)
        out = Samples(ids[rows], t[rows, cols], deltas[rows, cols], self.n_rays)
        t_next = self.steps.sample(self.k, self.t0[ids], self.u[ids])[0]
        live = t_next < self.t_far[ids]
        if self.max_samples is not None:
            live &= self.emitted < self.max_samples
        self._keep(live)
        return out

    def _skip(self) -> None:
        """DDA over the mip pyramid: rays whose next step lies in an empty cell of some level jump
        past the coarsest such cell, up to SKIP_JUMPS times (the grid is in world space)."""
        grid, res = self.grid, self.grid.res
        scale = res / (2.0 * grid.bound)  # world -> cell units, as OccupancyGrid.cell_index
        o, d = self.rays_o[self.ids], self.rays_d[self.ids]
        d = torch.where(d.abs() < _TINY_DIRECTION, torch.full_like(d, _TINY_DIRECTION), d) * scale
        t0, u = self.t0[self.ids], self.u[self.ids]
        for _ in range(SKIP_JUMPS):
            t = self.steps.sample(self.k, t0, u)[0]  # [a]
            cells = (o + t[:, None] * self.rays_d[self.ids] + grid.bound) * scale  # [a, 3]
            c = cells.long().clamp(0, res - 1)
            level = self.levels[(c[:, 0] * res + c[:, 1]) * res + c[:, 2]].long()  # [a]
            jump = (level >= 0) & torch.isfinite(t)
            if not bool(jump.any()):
                return
            size = torch.bitwise_left_shift(torch.ones_like(level), level.clamp_min(0))[:, None]  # [a, 1]
            lo = torch.div(c, size, rounding_mode="floor") * size
            wall = torch.where(d > 0, lo + size, lo).to(cells.dtype)
            t_exit = t + ((wall - cells) / d).amin(dim=-1).clamp_min(0.0)
            k_new = torch.maximum(self.steps.first_at(t_exit, t0, u), self.k + 1)
            self.k = torch.where(jump, k_new, self.k)
