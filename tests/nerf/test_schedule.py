"""nerf/train/schedule.py: the learning-rate schedules and the adapted batch, worked out by hand."""
import pytest

from nerf.train.config import TrainConfig
from nerf.train.schedule import MIN_BATCH_RAYS, adapted_batch_rays, learning_rate


def test_budget_schedule_steps_down_at_its_milestones():
    cfg = TrainConfig(lr_schedule="budget")
    lr, d = cfg.lr, cfg.lr_decay
    got = {p: learning_rate(cfg, lr, 5000, p) for p in (0.0, 0.49, 0.5, 0.8, 0.95)}  # the step is ignored
    assert got == pytest.approx({0.0: lr, 0.49: lr, 0.5: lr * d, 0.8: lr * d ** 2, 0.95: lr * d ** 3})
    # no budget (an open-ended viewer session): the step schedule
    assert learning_rate(cfg, lr, 5000, None) == pytest.approx(lr * d ** (5000 / cfg.lr_decay_steps))


def test_exp_schedule_decays_to_its_floor():
    cfg = TrainConfig(lr_schedule="exp", lr_decay=0.5, lr_decay_steps=100, lr_min_factor=0.1)
    assert learning_rate(cfg, 2.0, 0, 0.9) == 2.0  # progress means nothing to "exp"
    assert learning_rate(cfg, 2.0, 100, None) == pytest.approx(1.0)
    assert learning_rate(cfg, 2.0, 250, None) == pytest.approx(2.0 * 0.5 ** 2.5)
    assert learning_rate(cfg, 2.0, 10_000, None) == pytest.approx(0.2)  # 2.0 x lr_min_factor


def test_adapted_batch_holds_the_target_samples_within_its_bounds():
    cfg = TrainConfig(target_samples=4096, max_batch_rays=1000)
    assert adapted_batch_rays(cfg, 8.0) == 512
    assert adapted_batch_rays(cfg, 1000.0) == MIN_BATCH_RAYS == 256
    assert adapted_batch_rays(cfg, 0.5) == 1000  # rays that mostly miss: capped
    assert adapted_batch_rays(cfg, 0.0) == 1000
