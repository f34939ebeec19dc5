"""`nerf-train --serve` over ranks: rank 0 trains with the server's worker and leads, the other ranks follow.

The served worker decides, between renders and the viewers' commands, when the next step happens;
the other ranks cannot know, so before every step rank 0 sends them an order (step, with the learning
rate and batch rank 0 trains with; reset; end) and each rank then takes the step's collectives with it.
The orders go over a gloo group of their own whose collectives wait a long time (a paused run, a long
evaluation or a camera-path render on rank 0 leaves the others waiting for the next order, not failing),
while the step's own collectives keep the run's short timeout (a rank that dies or hangs mid-step ends
the others in bounded time). A rank that is lost leaves rank 0 serving renders of its model with
training stopped and one message saying why.
"""
from __future__ import annotations

import datetime

import torch
import torch.distributed as dist

from nerf.distributed.group import Group, RankLost, collective
from nerf.distributed.rank import RankLoop, join_trainer
from nerf.train.trainer import Trainer

ORDER_WAIT = datetime.timedelta(days=30)  # a follower waits this long for rank 0's next order
STEP, RESET, END = 1.0, 2.0, 3.0


def order_channel() -> dist.ProcessGroup:
    """The group the orders travel in; every rank calls this once, at the same point."""
    return dist.new_group(backend="gloo", timeout=ORDER_WAIT)


class Lead:
    """Rank 0's side: an order before each step, a reset and the end (from the worker's thread only)."""

    def __init__(self, group: Group, channel: dist.ProcessGroup):
        self.group, self.channel = group, channel
        self.lost: str | None = None  # why the other ranks cannot follow any more

    def _send(self, kind: float, trainer: Trainer | None = None) -> None:
        if self.lost is not None:
            raise self._gone()
        fixed = trainer is not None and not trainer.adaptive_batch
        order = torch.tensor([kind, 0.0 if trainer is None else trainer.lr,
                              float(trainer.batch_rays) if fixed else 0.0], dtype=torch.float64)
        try:
            with collective():
                dist.broadcast(order, 0, group=self.channel)
        except RankLost as e:
            raise self.failed(e) from e

    def failed(self, exc: Exception) -> Exception:
        """The error to show for `exc`, raised by a step or an order: a lost rank ends training over
        ranks for good (said in words), anything else is the step's own error."""
        if not isinstance(exc, RankLost):
            return exc
        if self.lost is None:
            self.lost = f"a rank is gone ({exc})"
        return self._gone()

    def _gone(self) -> RankLost:
        return RankLost(f"{self.lost}; training over ranks cannot go on, renders of this model can")

    def before_step(self, trainer: Trainer) -> None:
        self._send(STEP, trainer)

    def reset(self, trainer: Trainer) -> None:
        self._send(RESET)
        trainer.reset()
        join_trainer(trainer, self.group)

    def end(self) -> None:
        """Tell the others the run is over (they leave); nothing to do when they are gone."""
        if self.lost is None:
            try:
                self._send(END)
            except RankLost:
                pass

    def refuse(self, what: str) -> None:
        raise RuntimeError(f"{what}: not while training over {self.group.world} ranks (stop the run and open "
                           "its checkpoint instead)")


def follow(loop: RankLoop, group: Group, channel: dist.ProcessGroup) -> None:
    """A rank other than 0: take each step rank 0 orders, until it orders the end. RankLost when rank
    0 or another rank is gone."""
    trainer = loop.trainer
    while True:
        order = torch.zeros(3, dtype=torch.float64)
        with collective():
            dist.broadcast(order, 0, group=channel)
        kind, lr, batch = order.tolist()
        if kind == END:
            return
        if kind == RESET:
            trainer.reset()
            join_trainer(trainer, group)
            loop.restart(trainer)
            continue
        if lr != trainer.lr:
            trainer.set_lr(lr)
        if batch > 0 and (trainer.adaptive_batch or int(batch) != trainer.batch_rays):
            trainer.set_batch_rays(int(batch))
        loop.tick()
