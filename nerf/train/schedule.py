"""The learning-rate schedule and the adaptive batch size: pure functions of the config and the run.

"exp" decays the rate by config.lr_decay every config.lr_decay_steps steps, down to a floor; it
needs no idea of how long the run is, which suits an open-ended viewer session. "budget" steps
down at fixed fractions of a known step or time budget (nerfacc's instant-NGP recipe).
"""
from __future__ import annotations

from nerf.train.config import TrainConfig

BUDGET_MILESTONES = (0.5, 0.75, 0.9)  # "budget" schedule: lr x lr_decay at each (nerfacc's recipe)
MIN_BATCH_RAYS = 256  # floor of the adapted batch (early steps march every cell of every ray)


def learning_rate(config: TrainConfig, base_lr: float, step: int, progress: float | None) -> float:
    """The rate at `step` for a base rate `base_lr`. progress: fraction of the run's budget done
    (None when nobody knows it, and then "budget" falls back to "exp")."""
    if config.lr_schedule == "budget" and progress is not None:
        return base_lr * config.lr_decay ** sum(progress >= m for m in BUDGET_MILESTONES)
    factor = max(config.lr_decay ** (step / max(config.lr_decay_steps, 1)), config.lr_min_factor)
    return base_lr * factor


def adapted_batch_rays(config: TrainConfig, samples_per_ray: float) -> int:
    """Rays in the next batch so that it holds about config.target_samples samples (instant-NGP)."""
    wanted = config.target_samples / max(samples_per_ray, 1e-3)
    return int(min(max(wanted, MIN_BATCH_RAYS), config.max_batch_rays))


def budget_progress(steps_run: int, seconds_run: float, steps: int | None, seconds: float | None,
                    steps_before: int = 0, seconds_before: float = 0.0) -> float | None:
    """The fraction of a run's step or time budget done (the larger of the two), None without one.

    A resumed run continues the run it came from: the steps and seconds of its earlier part
    (steps_before, seconds_before) count both to what is done and to the whole, so a run stopped at
    step 400 of 1000 and resumed for 600 more sees the same schedule as one that never stopped."""
    done = []
    if steps is not None:
        done.append((steps_before + steps_run) / max(steps_before + steps, 1))
    if seconds is not None:
        done.append((seconds_before + seconds_run) / max(seconds_before + seconds, 1e-9))
    return max(done) if done else None
