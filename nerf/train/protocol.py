"""TrainerLike: exactly what the training loop and the TrainingWorker need from a trainer, and nothing more.

The real nerf.train.trainer.Trainer and the test fake (tests/support/fakes.py) both satisfy it; a
test compares their members and signatures with this protocol, so the worker never needs a
fallback for an attribute one of them lacks. StepResult is what a step returns, for both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal, Protocol, runtime_checkable

import torch

if TYPE_CHECKING:
    from nerf.data.crop import CropBox
    from nerf.data.scene import Cameras
    from nerf.models.base import RenderOutput
    from nerf.train.evaluation import EvalResult
    from nerf.train.shards import ShardPool


@dataclass(frozen=True)
class StepResult:
    """One call of step(): what happened and what it measured."""

    outcome: Literal["trained", "yielded", "nan_recovered"]  # yielded: dropped for a frame, nothing learned
    step: int  # the trainer's step count after the call
    seconds: float  # spent in the call
    rays: int = 0  # rays of the batch (0 when yielded)
    loss: float = float("nan")
    psnr: float = float("nan")  # of the finest loss term
    samples_per_ray: float = 0.0
    lr: float = float("nan")  # the rate the next step uses

    @property
    def trained(self) -> bool:
        return self.outcome == "trained"


class StepSync(Protocol):
    """How a step takes part in a distributed run (nerf.distributed.rank.RankStep): the trainer draws
    its share of the batch, and sums its gradients and the step's scalars with the other ranks'."""

    rows: object  # split_rows(fn, x) across ranks, for the model's update (the occupancy refresh)

    def share(self, batch_rays: int) -> tuple[int, float]:
        """This rank's rays of a global batch of `batch_rays`, and its share of the batch (their ratio)."""

    def reduce(self, scalars: list[float]) -> list[float]:
        """Sum every parameter's gradient and `scalars` over the ranks; the summed scalars."""

    def step_seed(self, step: int) -> int | None:
        """The seed this rank's ray generator takes before step `step`; None: it goes on drawing (rank
        0, whose generator the checkpoint keeps)."""


class ConfigLike(Protocol):
    @property
    def model_name(self) -> str:
        """The model's name ("ngp", "nerf"), shown with the stats."""


@runtime_checkable
class TrainerLike(Protocol):
    config: ConfigLike
    device: torch.device  # the worker renders in smaller chunks on a CPU
    step_count: int
    train_seconds: float  # spent in step() over the whole run, resumed runs included
    progress: float | None  # set before each step: the fraction of a time budget used, or None
    pool: ShardPool | None  # set by a worker that splits steps and renders across threads

    def step(self, should_yield: Callable[[], bool] | None = None) -> StepResult:
        """One training step; a "yielded" result when should_yield() stopped it before anything
        was learned."""

    def reset(self) -> None:
        """Fresh weights, step 0."""

    def set_lr(self, lr: float) -> None: ...

    def set_batch_rays(self, n: int) -> None: ...

    def camera_psnrs(self) -> tuple[float, ...]:
        """Each training image's PSNR over the rays recently trained on it (NaN: not known yet)."""

    def save(self, path) -> None: ...

    def render(self, cameras: Cameras, index: int = 0, *, background=(1.0, 1.0, 1.0),
               max_samples: int | None = None, should_abort: Callable[[], bool] | None = None,
               chunk: int | None = None, crop: CropBox | None = None) -> RenderOutput | None:
        """A RenderOutput of [H, W] maps on the CPU, or None when aborted; `crop` shows only what lies
        inside the box."""

    def evaluate(self, split: str = "test", max_views: int | None = None,
                 should_abort: Callable[[], bool] | None = None) -> EvalResult | None:
        """Mean scores over the split, or None when aborted."""
