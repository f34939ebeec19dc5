"""The gradient all-reduce of a distributed step: every rank's gradients summed, bucket by bucket.

Each rank weights its loss by its share of the global batch (nerf.distributed.work.batch_shares), so
the sum over ranks is the gradient of the mean loss over the global batch: the gradient one process
would get from the union of every rank's rays. The reduction also carries the step's few scalars (the
loss terms, the samples per ray) so every rank sees the same numbers with no extra round trip: the
NaN check, the adaptive batch and the log agree on every rank because they read the same values.

Gradients are copied into a few flat buckets (BUCKET_BYTES each, as DDP does) that are all-reduced
asynchronously, so the transfer of one overlaps the packing of the next; the buckets live as long as
the reducer, nothing is allocated per step. After the reduce each parameter's .grad is a view into
its bucket. A parameter no rank reached keeps .grad None, so Adam skips it as it would in one process.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.distributed as dist

from nerf.distributed.group import collective

BUCKET_BYTES = 25 << 20  # DDP's default: few enough collectives, and the last one starts early


class GradientReducer:
    """Sums .grad of `params` across the ranks of the default group."""

    def __init__(self, params: Sequence[torch.Tensor], bucket_bytes: int = BUCKET_BYTES):
        self.params = list(params)
        self.buckets: list[tuple[list[int], torch.Tensor]] = []  # (param indices, flat buffer)
        current: list[int] = []
        size = 0
        for i, p in enumerate(self.params):
            if current and (size + p.numel() * p.element_size() > bucket_bytes
                            or p.dtype != self.params[current[0]].dtype):
                self._add_bucket(current)
                current, size = [], 0
            current.append(i)
            size += p.numel() * p.element_size()
        if current:
            self._add_bucket(current)
        device = self.params[0].device if self.params else torch.device("cpu")
        self._scalars = torch.zeros(0, dtype=torch.float64, device=device)

    def _add_bucket(self, indices: list[int]) -> None:
        p0 = self.params[indices[0]]
        n = sum(self.params[i].numel() for i in indices)
        self.buckets.append((indices, torch.zeros(n, dtype=p0.dtype, device=p0.device)))

    @property
    def bytes_per_step(self) -> int:
        """Gradient bytes each rank contributes to one reduce."""
        return sum(buf.numel() * buf.element_size() for _, buf in self.buckets)

    def reduce(self, scalars: Sequence[float]) -> list[float]:
        """Sum every parameter's gradient, and `scalars`, over the ranks; returns the summed scalars."""
        reached = torch.tensor([p.grad is not None for p in self.params], dtype=torch.float64)
        scalars = torch.cat([torch.tensor([float(s) for s in scalars], dtype=torch.float64), reached])
        self._scalars = scalars.to(self._scalars.device)
        with collective():
            self._reduce()
        totals = self._scalars.cpu()
        n = len(totals) - len(self.params)
        for indices, buf in self.buckets:
            offset = 0
            for i in indices:
                p = self.params[i]
                p.grad = buf[offset:offset + p.numel()].view_as(p) if totals[n + i] > 0 else None
                offset += p.numel()
        return totals[:n].tolist()

    def _reduce(self) -> None:
        works = [dist.all_reduce(self._scalars, async_op=True)]
        for indices, buf in self.buckets:
            offset = 0
            for i in indices:
                p = self.params[i]
                part = buf[offset:offset + p.numel()]
                if p.grad is None:
                    part.zero_()
                else:
                    part.copy_(p.grad.reshape(-1))
                offset += p.numel()
            works.append(dist.all_reduce(buf, async_op=True))
        for work in works:
            work.wait()
