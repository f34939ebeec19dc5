"""Occupancy grid (empty-space skipping) and the occupancy-culled ray marcher (instant-NGP, sec. 5.1).

The grid covers [-bound, bound]^3 with res^3 cells. Each cell keeps an exponential moving average of
the field's density at jittered points inside it; a cell is occupied while that average exceeds
min(threshold, mean density) (instant-NGP's cut; a fraction of the mean for a young field's first
refreshes, when asked). Until the first update every cell counts as occupied.

Marching through it is nerf.volume.occupied_march (a few occupied samples per ray at a time, with
a mip hierarchy of empty blocks to skip), driven by nerf.volume.occupancy_sampler.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn



class OccupancyGrid(nn.Module):
    """res^3 occupancy grid over [-bound, bound]^3. Buffers are saved with the model state."""

    def __init__(self, bound: float, res: int = 128, decay: float = 0.95, threshold: float = 0.01,
                 warmup_steps: int = 256, memory: int = 0, mean_fraction: float = 1.0, young: int = 0):
        super().__init__()
        self.bound, self.res = float(bound), int(res)
        # the cut is min(threshold, mean x mean_fraction) for the first `young` refreshes (0: always), then
        # instant-NGP's min(threshold, mean)
        self.mean_fraction, self.young = float(mean_fraction), int(young)
        self.decay, self.threshold, self.warmup_steps = decay, threshold, warmup_steps
        # memory > 0: a stored value is capped where `memory` refreshes of decay take it below the
        # threshold, so a cell that empties is culled after at most that many refreshes
        self.cap = threshold / decay ** memory if memory > 0 else float("inf")
        n = self.res ** 3
        self.register_buffer("density", torch.zeros(n))  # [res^3] EMA of density per cell
        self.register_buffer("occupied", torch.ones(n, dtype=torch.bool))  # [res^3]
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))  # updates done so far
        self._pending: tuple | None = None  # (cells, values so far, next chunk) of a stopped update

    def cell_index(self, x: torch.Tensor) -> torch.Tensor:
        """World points [n, 3] -> flat cell index [n] (x-major), clamped into the grid."""
        c = ((x + self.bound) * (self.res / (2.0 * self.bound))).long().clamp(0, self.res - 1)
        return (c[:, 0] * self.res + c[:, 1]) * self.res + c[:, 2]

    def _cell_centres(self, idx: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        r = self.res
        c = torch.stack([idx // (r * r), (idx // r) % r, idx % r], dim=-1).float()  # [m, 3]
        jitter = torch.rand(c.shape, generator=generator, device=c.device)  # inside the cell
        return (c + jitter) * (2.0 * self.bound / r) - self.bound

    @torch.no_grad()
    def update(self, step: int, density_fn: Callable[[torch.Tensor], torch.Tensor],
               generator: torch.Generator | None, chunk: int = 1 << 16,
               should_stop: Callable[[], bool] | None = None, pool=None) -> bool:
        """Re-evaluate cells: all of them during warm-up, then a random quarter of all cells plus
        up to a quarter as many occupied ones (instant-NGP's schedule), each occupied cell at most
        once: drawn with replacement, the few occupied cells of an object scene (~5 % of them) were
        each evaluated ~5 times an update, half of all the update's work (BENCHMARKS.md, "Marching
        in rounds").

        Cells are evaluated 2^16 at a time (bounded memory), shared out among the threads of a
        `pool` (nerf.train.shards.ShardPool) if one is given. should_stop() is asked between chunks:
        if true, the update stops there and returns False, keeping its cells and the values so
        far; resume() finishes it later. Returns True once the grid is updated."""
        n = self.res ** 3
        device = self.density.device
        if step < self.warmup_steps:
            idx = torch.arange(n, device=device)
        else:
            uniform = torch.randint(0, n, (n // 4,), generator=generator, device=device)
            occ = self.occupied.nonzero().squeeze(-1)
            pick = torch.randperm(occ.numel(), generator=generator, device=device)[:n // 4]
            idx = torch.cat([uniform, occ[pick]])
        self._pending = (idx, torch.empty(idx.shape[0], device=device), 0)
        return self.resume(density_fn, generator, chunk, should_stop, pool)

    @property
    def pending(self) -> bool:
        """An update was stopped part-way and waits for resume()."""
        return self._pending is not None

    def cancel(self) -> None:
        """Drop a part-done update (the grid keeps its last complete state)."""
        self._pending = None

    def pending_state(self) -> dict | None:
        """A stopped update's progress as plain tensors and numbers (for checkpoints), or None."""
        if self._pending is None:
            return None
        cells, values, start = self._pending
        return {"cells": cells, "values": values, "next": start}

    def restore_pending(self, state: dict | None) -> None:
        """Take up a stopped update from pending_state() (None: there was none)."""
        if state is None:
            self._pending = None
            return
        device = self.density.device
        self._pending = (state["cells"].to(device), state["values"].to(device), int(state["next"]))

    @torch.no_grad()
    def resume(self, density_fn: Callable[[torch.Tensor], torch.Tensor], generator: torch.Generator | None,
               chunk: int = 1 << 16, should_stop: Callable[[], bool] | None = None, pool=None) -> bool:
        """Continue the update stopped by should_stop (see update); at least one chunk per call."""
        idx, fresh, start = self._pending
        for s in range(start, idx.shape[0], chunk):
            if s > start and should_stop is not None and should_stop():
                self._pending = (idx, fresh, s)
                return False
            pts = self._cell_centres(idx[s:s + chunk], generator)
            fresh[s:s + chunk] = (density_fn(pts) if pool is None else pool.split_rows(density_fn, pts)).float()
        self._pending = None
        self.density.mul_(self.decay).scatter_reduce_(0, idx, fresh, "amax", include_self=True).clamp_(max=self.cap)
        fraction = self.mean_fraction if self.young == 0 or int(self.updates) < self.young else 1.0
        thresh = torch.clamp(self.density.mean() * fraction, max=self.threshold)
        self.occupied.copy_(self.density > thresh)
        self.updates += 1
        return True

    def occupied_fraction(self) -> float:
        return float(self.occupied.float().mean())
