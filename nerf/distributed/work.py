"""How the work of a step, a refresh and an evaluation is split between ranks, and put back together.

- rays: the global batch (--batch-rays) is split in proportion to each rank's training views, so the
  union of the ranks' rays is drawn like one process's batch over all views; each rank draws its own
  from a generator seeded from the run's seed and its rank (rank 0's is the run's own, so a run of one
  rank is the single-process run);
- the occupancy refresh: `RankRows` stands in for a thread pool's split_rows, each rank evaluating its
  slice of the cells and all of them gathering the rest, so the grids stay bit-identical;
- frames (evaluation views, turntable frames): each rank renders every world-th one, rank 0 gathers;
- the loop: one small all-reduce per step agrees on stopping (a signal seen by any rank) and on the
  training time, so every rank stops after the same step, a --minutes budget included.
"""
from __future__ import annotations

import time
from itertools import pairwise
from typing import Callable, Sequence

import torch
import torch.distributed as dist

from nerf.data.scene import shard_views
from nerf.distributed.group import collective
from nerf.errors import InputError
from nerf.train.shards import even_bounds

RANK_SEED_STRIDE = 104_729  # rank r draws rays from seed + r * this: apart from shard (7919 i) and grid (+1) seeds


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank `rank`'s ray generator; rank 0 keeps the run's seed."""
    return seed + RANK_SEED_STRIDE * rank


def rank_step_seed(seed: int, rank: int, step: int) -> int:
    """The seed rank `rank` > 0 draws step `step`'s rays from: a function of the step alone, so a run
    resumed from rank 0's checkpoint (which holds only rank 0's generator) draws what the
    uninterrupted run drew on every rank."""
    return (rank_seed(seed, rank) << 32) + step


def batch_shares(batch_rays: int, views_per_rank: Sequence[int]) -> list[int]:
    """Rays of each rank in a global batch of `batch_rays`, in proportion to its training views."""
    total, bounds, seen = sum(views_per_rank), [0], 0
    for views in views_per_rank:
        seen += views
        bounds.append(round(batch_rays * seen / total))
    shares = [b - a for a, b in pairwise(bounds)]
    if min(shares) < 1:
        raise InputError("--batch-rays", f"{batch_rays} rays cannot be shared among {len(shares)} ranks; "
                                         f"use at least {len(shares)}")
    return shares


class RankRows:
    """split_rows(fn, x) as nerf.train.shards.ShardPool has it, across ranks: this rank computes fn
    on its slice of x's rows, every rank gathers the others'. x must be the same on every rank (the
    occupancy refresh draws its cells and jitter from a generator that every rank holds identically)."""

    def __init__(self, rank: int, world: int):
        self.rank, self.world = rank, world
        self.size = 1  # as a pool, it runs one piece at a time on this rank
        self.seconds = 0.0  # spent gathering: the transfer, and waiting for the slowest rank

    def split_rows(self, fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        bounds = even_bounds(x.shape[0], self.world)
        longest = max(b - a for a, b in pairwise(bounds))
        mine = fn(x[bounds[self.rank]:bounds[self.rank + 1]])
        padded = mine.new_zeros((longest, *mine.shape[1:]))
        padded[:mine.shape[0]] = mine
        parts = [torch.empty_like(padded) for _ in range(self.world)]
        t0 = time.perf_counter()
        with collective():
            dist.all_gather(parts, padded.contiguous())
        self.seconds += time.perf_counter() - t0
        return torch.cat([part[:b - a] for part, (a, b) in zip(parts, pairwise(bounds), strict=True)])


def gather_frames(render: Callable[[int], torch.Tensor], n: int, rank: int, world: int,
                  device: torch.device) -> list[torch.Tensor] | None:
    """render(i) for i < n, each rendered on rank i % world: on rank 0 all n frames (CPU, in
    order), None on the others. Every frame must have the same shape and dtype (one split, one size)."""
    if n == 0:
        return [] if rank == 0 else None
    mine = [render(i).to(device) for i in shard_views(n, rank, world)]
    slots = -(-n // world)  # every rank sends as many frames, the last ones padding
    # a rank with no frame of its own (fewer frames than ranks) renders one to learn the shape
    probe = mine[0] if mine else render(0).to(device)
    stack = probe.new_zeros((slots, *probe.shape))
    for k, frame in enumerate(mine):
        stack[k] = frame
    parts = [torch.empty_like(stack) for _ in range(world)] if rank == 0 else None
    with collective():
        dist.gather(stack, parts, dst=0)
    if rank != 0:
        return None
    return [parts[i % world][i // world].cpu() for i in range(n)]


def agree_step(stop: bool, seconds: float, device: torch.device) -> tuple[bool, float]:
    """After each step: whether any rank wants to stop, and the longest training time among the ranks
    (the budget every rank then checks)."""
    flags = torch.tensor([1.0 if stop else 0.0, seconds], dtype=torch.float64, device=device)
    with collective():
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return bool(flags[0] > 0), float(flags[1])
