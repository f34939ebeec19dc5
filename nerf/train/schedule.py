"""The learning-rate schedule and the adaptive batch size: pure functions of the config and the run.

"exp" decays the rate by config.lr_decay every config.lr_decay_steps steps, down to a floor; it
needs no idea of how long the run is, which suits an open-ended viewer session. "budget" steps
down at fixed fractions of a known step or time budget (nerfacc's instant-NGP recipe); the
training loop (nerf.train.loop.Budget) says how much of it is done.
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
