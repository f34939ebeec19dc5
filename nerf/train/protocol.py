"""TrainerLike: exactly what the TrainingWorker needs from a trainer, and nothing more.

The real nerf.train.trainer.Trainer and the test fake (tests/support/fakes.py) both satisfy it; a
test compares their members and signatures with this protocol, so the worker never needs a
fallback for an attribute one of them lacks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

import torch

if TYPE_CHECKING:
    from nerf.models.base import RenderOutput
    from nerf.train.evaluation import EvalResult
    from nerf.train.shards import ShardPool


class ConfigLike(Protocol):
    @property
    def model(self) -> str:
        """The model's name ("ngp", "nerf"), shown with the stats."""


@runtime_checkable
class TrainerLike(Protocol):
    config: ConfigLike
    device: torch.device  # the worker renders in smaller chunks on a CPU
    step_count: int
    progress: float | None  # set before each step: the fraction of a time budget used, or None
    pool: ShardPool | None  # set by a worker that splits steps and renders across threads

    def step(self, should_yield: Callable[[], bool] | None = None) -> dict:
        """One training step: {"step", "loss", "psnr", "rays", ...}; {"yielded": True, ...} when
        should_yield() stopped it before anything was learned."""

    def reset(self) -> None:
        """Fresh weights, step 0."""

    def set_lr(self, lr: float) -> None: ...

    def set_batch_rays(self, n: int) -> None: ...

    def render(self, cameras, index: int = 0, *, background=(1.0, 1.0, 1.0), max_samples: int | None = None,
               should_abort: Callable[[], bool] | None = None, chunk: int | None = None) -> RenderOutput | None:
        """The view of cameras[index] (rgb [H, W, 3], depth [H, W], opacity [H, W]) on the CPU, or None
        when should_abort() stopped it."""

    def evaluate(self, split: str = "test", max_views: int | None = None,
                 should_abort: Callable[[], bool] | None = None) -> EvalResult | None:
        """PSNR and SSIM over the split's views (at most max_views), or None when should_abort() stopped it."""
