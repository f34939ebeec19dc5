"""A rank's part in a run: its trainer joined to the others, and the loop that ends every rank together.

`join_trainer` gives a Trainer its `sync` (nerf.train.protocol.StepSync): the rank's share of each
global batch, the gradient all-reduce, the occupancy refresh split across ranks. Rank 0 keeps the run's
ray generator (so one rank is the single-process run, and a checkpoint resumes on any number of
ranks); rank r > 0 reseeds its generator before every step from the run's seed, its rank and the
step, so a run resumed from rank 0's checkpoint on as many ranks draws the same rays on every rank.

`RankLoop` is the training loop with one small agreement after each step: a stop that any rank saw (a
signal) stops every rank, and the training time is the longest rank's, so a --minutes budget ends every
rank after the same step. A rank never yields inside a step: each must reach the gradient reduce.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from nerf.data.scene import shard_views
from nerf.distributed.gradients import GradientReducer
from nerf.distributed.group import Group
from nerf.distributed.work import RankRows, agree_step, batch_shares, rank_step_seed
from nerf.train.loop import LoopSummary, TrainingLoop
from nerf.train.protocol import StepResult
from nerf.train.trainer import Trainer


@dataclass
class RankStep:
    """nerf.train.protocol.StepSync for one rank."""

    rank: int
    views_per_rank: list[int]  # training views each rank holds: its share of every batch follows them
    reducer: GradientReducer
    rows: RankRows
    seed: int  # the run's
    seconds: float = 0.0  # spent in the gradient reduce: the transfer, and waiting for the slowest rank

    def share(self, batch_rays: int) -> tuple[int, float]:
        mine = batch_shares(batch_rays, self.views_per_rank)[self.rank]
        return mine, mine / batch_rays

    def step_seed(self, step: int) -> int | None:
        return None if self.rank == 0 else rank_step_seed(self.seed, self.rank, step)

    def reduce(self, scalars: list[float]) -> list[float]:
        t0 = time.perf_counter()
        try:
            return self.reducer.reduce(scalars)
        finally:
            self.seconds += time.perf_counter() - t0


def join_trainer(trainer: Trainer, group: Group) -> RankStep:
    """Make `trainer` (built on this rank's share of the scene, new or restored) step as rank
    group.rank of group.world."""
    shard = trainer.scene.shard
    count = len(trainer.scene.split("train")) if shard is None else shard.count
    params = [p for g in trainer.optimizer.param_groups for p in g["params"]]
    sync = RankStep(group.rank, [len(shard_views(count, r, group.world)) for r in range(group.world)],
                    GradientReducer(params), RankRows(group.rank, group.world), trainer.config.seed)
    trainer.sync = sync
    return sync


class RankLoop(TrainingLoop):
    """TrainingLoop for one rank: after each step the ranks agree on stopping and on the time."""

    def __init__(self, trainer: Trainer, group: Group, *args, stop_requested: Callable[[], bool], **kwargs):
        self.group = group
        self._stop_requested = stop_requested
        self.stop_agreed = False
        self.agree_seconds = 0.0
        super().__init__(trainer, *args, **kwargs)

    def tick(self, should_yield: Callable[[], bool] | None = None) -> StepResult:
        result = super().tick(None)  # never yield mid-step (see the module's docstring)
        t0 = time.perf_counter()
        self.stop_agreed, seconds = agree_step(self._stop_requested(), self.trainer.train_seconds,
                                               self.group.device)
        self.agree_seconds += time.perf_counter() - t0
        self.trainer.train_seconds = seconds
        return result

    def collective_seconds(self) -> float:
        """Time this rank spent in collectives while training (gradient reduce, split refreshes, the
        agreement): moving bytes, and waiting for the slowest rank."""
        sync = self.trainer.sync
        return self.agree_seconds + (0.0 if sync is None else sync.seconds + sync.rows.seconds)

    def run(self, should_stop: Callable[[], bool] | None = None,
            show: Callable[[str], None] | None = None) -> LoopSummary:
        """As TrainingLoop.run, stopping where the ranks agreed to (`should_stop` is not asked: the
        stop_requested given at construction is, once a step, by the agreement)."""
        return super().run(should_stop=lambda: self.stop_agreed, show=show)
