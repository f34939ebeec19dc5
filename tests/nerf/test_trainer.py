"""nerf/train/trainer.py: learning, NaN recovery, yielding to a frame, settings and the adaptive batch."""
import dataclasses
import math

import pytest
import torch

from nerf.train.trainer import Trainer, TrainConfig
from nerf.train.loop import Budget, TrainingLoop
from nerf.train.run import load_trained
from tests.support.scenes import TINY, tiny


def test_training_raises_psnr(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    before = trainer.evaluate("test").psnr
    for _ in range(120):
        stats = trainer.step()
    after = trainer.evaluate("test")
    assert stats.outcome == "trained" and stats.rays > 0 and stats.samples_per_ray > 0 and stats.seconds > 0
    assert stats.step == trainer.step_count == 120
    assert after.psnr > before + 5.0, (before, after.psnr)
    assert 0.0 < after.ssim <= 1.0 and after.views == 2


def test_nan_step_restores_last_snapshot(scene, monkeypatch):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", nan_snapshot_every=2, **TINY))
    for _ in range(4):
        trainer.step()
    table = trainer.model.field.grid.table.detach().clone()
    real = trainer.model.render_rays

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        return dataclasses.replace(out, rgb_terms=[t * float("nan") for t in out.rgb_terms])
    monkeypatch.setattr(trainer.model, "render_rays", poisoned)
    stats = trainer.step()
    assert stats.outcome == "nan_recovered" and trainer.step_count == 4
    torch.testing.assert_close(trainer.model.field.grid.table.detach(), table)
    monkeypatch.setattr(trainer.model, "render_rays", real)
    assert math.isfinite(trainer.step().loss)


def test_settings_and_reset(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    trainer.step()
    trainer.set_lr(1e-3)
    trainer.set_batch_rays(64)
    assert trainer.step().rays == 64
    trainer.reset()
    assert trainer.step_count == 0 and trainer.batch_rays == 256


def test_adaptive_batch_targets_samples_until_the_user_fixes_it(scene, tmp_path):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **{**TINY, "target_samples": 4096}))
    stats = trainer.step()
    expected = min(max(int(4096 / stats.samples_per_ray), 256), trainer.config.max_batch_rays)
    assert stats.samples_per_ray > 0 and trainer.batch_rays == expected
    trainer.save(tmp_path / "ck.pt")
    assert load_trained(tmp_path / "ck.pt", scene=scene).adaptive_batch
    trainer.set_batch_rays(300)  # the user's choice wins from now on
    trainer.step()
    assert trainer.batch_rays == 300 and not trainer.adaptive_batch
    trainer.save(tmp_path / "ck.pt")
    assert not load_trained(tmp_path / "ck.pt", scene=scene).adaptive_batch


def test_the_trainer_follows_the_progress_its_owner_reports(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **{**TINY, "lr_schedule": "budget"}))
    lr, d = trainer.config.lr, trainer.config.lr_decay
    trainer.progress = 0.8
    assert trainer.current_lr() == pytest.approx(lr * d ** 2)
    assert trainer.step().lr == pytest.approx(lr * d ** 2)
    trainer.progress = None  # no budget (an open-ended viewer session): the step schedule
    assert trainer.current_lr() == pytest.approx(lr * d ** (1 / trainer.config.lr_decay_steps))


def test_the_loop_reports_progress_to_the_schedule(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **{**TINY, "lr_schedule": "budget"}))
    seen = []
    real = trainer.step

    def step(should_yield=None):
        seen.append(trainer.progress)
        return real(should_yield)
    trainer.step = step
    TrainingLoop(trainer, Budget(steps=4)).run()
    assert seen == [0.0, 0.25, 0.5, 0.75]


def test_a_yielded_step_changes_nothing(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    trainer.step()
    table = trainer.model.field.grid.table.detach().clone()
    stats = trainer.step(should_yield=lambda: True)
    assert stats.outcome == "yielded" and stats.rays == 0 and stats.step == trainer.step_count == 1
    assert torch.equal(trainer.model.field.grid.table, table)
    assert trainer.step(should_yield=lambda: False).step == 2


def test_a_waiting_frame_stops_the_grid_update_and_the_next_step_finishes_it(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **tiny(dict(grid_res=48))))
    for _ in range(15):
        trainer.step()
    asked = []

    def after_forward_no_then_yes():  # asked after the forward pass, then between grid chunks
        asked.append(1)
        return len(asked) >= 2
    trainer.step(should_yield=after_forward_no_then_yes)
    grid = trainer.model.grid
    assert trainer.step_count == 16 and int(grid.updates) == 0 and grid.pending  # 48^3 cells: 2 chunks
    stats = trainer.step(should_yield=lambda: True)  # the last chunk runs (one at least), then
    assert stats.outcome == "yielded" and int(grid.updates) == 1 and not grid.pending  # the forward yields
    trainer.step()
    assert trainer.step_count == 17
