"""What crosses the thread boundary of the TrainingWorker, as types rather than string-keyed dicts.

Commands go in (settings that apply at once, and jobs that run on the worker's thread with the
trainer); requests, results, stats and notices come out. Every message is immutable once sent: the
sender and the worker never share a mutable object.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, ClassVar, Union

from nerf.train.protocol import TrainerLike

# --- in: commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    name: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Resume:
    name: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Reset:
    """Fresh weights, step 0, empty history."""

    name: ClassVar[str] = "reset"


@dataclass(frozen=True)
class SetLr:
    lr: float
    name: ClassVar[str] = "set_lr"


@dataclass(frozen=True)
class SetBatchRays:
    n: int
    name: ClassVar[str] = "set_batch_rays"


@dataclass(frozen=True)
class SetRenderShare:
    """Fraction of the worker's time given to rendering while training."""

    share: float
    name: ClassVar[str] = "share"


@dataclass(frozen=True)
class SetBudget:
    """Pause training once it has run `seconds` in total (None: no limit)."""

    seconds: float | None
    name: ClassVar[str] = "budget"


@dataclass(frozen=True)
class SetInteracting:
    """The user is moving the camera: hold training so frames come back quickly."""

    interacting: bool
    name: ClassVar[str] = "interacting"


@dataclass(frozen=True)
class RunJob:
    """Run fn(trainer, should_abort) on the worker; its return value comes back as a Notice."""

    name: str
    fn: Callable[[TrainerLike, Callable[[], bool]], Any]


@dataclass(frozen=True)
class Evaluate:
    """Evaluate `split`; the result goes to the stats (`test`), the run log and a Notice."""

    split: str = "test"
    max_views: int | None = None
    name: ClassVar[str] = "evaluate"


@dataclass(frozen=True)
class SwapTrainer:
    """Replace the trainer by factory() built on the worker (a new model, a loaded checkpoint)."""

    name: str
    factory: Callable[[], TrainerLike]


Setting = Union[Pause, Resume, Reset, SetLr, SetBatchRays, SetRenderShare, SetBudget, SetInteracting]
Job = Union[RunJob, Evaluate, SwapTrainer]
Command = Union[Setting, Job]

# --- out: requests answered, results and stats -------------------------------------------------


class Commands:
    """The commands as methods, for anything with a send(command): the TrainingWorker, and the
    RemoteWorker that sends them to one on a server. Each is a shorthand for send(Command(...))."""

    def send(self, command: Command) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        self.send(Pause())

    def resume(self) -> None:
        self.send(Resume())

    def reset(self) -> None:
        """Fresh weights, step 0, empty history."""
        self.send(Reset())

    def set_lr(self, lr: float) -> None:
        self.send(SetLr(float(lr)))

    def set_batch_rays(self, n: int) -> None:
        self.send(SetBatchRays(int(n)))

    def set_render_share(self, share: float) -> None:
        """Fraction of the worker's time given to rendering while training (0.05 .. 1)."""
        self.send(SetRenderShare(float(share)))

    def set_budget(self, seconds: float | None) -> None:
        """Pause training once the run has `seconds` of training in all (None: no limit)."""
        self.send(SetBudget(seconds))

    def set_interacting(self, interacting: bool) -> None:
        """The user is moving the camera: hold training so frames come back quickly."""
        self.send(SetInteracting(bool(interacting)))

    def evaluate(self, split: str = "test", max_views: int | None = None) -> None:
        """Evaluate on the worker: an EvalScore in the stats' `test`, the run log and a Notice."""
        self.send(Evaluate(split, max_views))


@dataclass(frozen=True)
class RenderRequest:
    """One image to render. `tag` is the caller's, returned untouched in the result."""

    cameras: Any  # nerf.data.scene.Cameras
    index: int = 0
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    max_samples: int | None = None
    interactive: bool = False  # the camera is moving: serve before training
    prompt: bool = False  # a new view at rest, still below full quality: serve after the step, whatever the share
    tag: Any = None
    crop: Any = None  # nerf.data.crop.CropBox: show only what lies inside (None: everything)


@dataclass(frozen=True)
class RenderResult:
    request: RenderRequest
    outputs: dict | None  # the trainer's render dict, or None when aborted or failed
    seconds: float
    step: int


@dataclass(frozen=True)
class EvalScore:
    """The worker's record of an evaluation: mean metrics of the weights at `step` (the trainer's
    EvalResult without its per-view figures and images)."""

    step: int
    psnr: float
    ssim: float
    views: int


@dataclass(frozen=True)
class Notice:
    """A finished job or a one-off event: `name` as submitted, `result` its value (None when aborted)."""

    name: str
    result: Any = None
    seconds: float = 0.0


@dataclass(frozen=True)
class WorkerStats:
    """The worker's state as last published. The defaults describe a worker that has not spoken yet."""

    step: int = 0
    loss: float = math.nan  # of the last step (NaN before the first)
    psnr: float = math.nan
    rays_per_s: float = 0.0  # training throughput since the previous stats
    train_seconds: float = 0.0  # time spent in steps since the weights were new
    running: bool = False  # training (not paused); may still be held while `interacting`
    interacting: bool = False
    budget_s: float | None = None
    share: float = 0.0  # of the worker's time for renders while training
    model: str = "?"
    test: EvalScore | None = None  # the last evaluation of these weights
    render_seconds: float = 0.0  # of the last finished render
    render_seconds_total: float = 0.0
    renders: int = 0
    # (steps, losses, psnrs), decimated to a bounded length
    history: tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...]] = ((), (), ())
    camera_psnrs: tuple[float, ...] = ()  # each training camera's recent training PSNR (NaN: not known)

    def summary(self) -> dict:
        """JSON-ready, without the history and the per-camera figures (what a debug snapshot wants
        four times a second)."""
        d = asdict(self)
        del d["history"], d["camera_psnrs"]
        return d
