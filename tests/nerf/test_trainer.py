"""nerf/trainer.py and nerf/metrics.py: learning, exact resume, NaN recovery, rendering, metrics."""
import dataclasses
import math

import pytest
import torch

from nerf.errors import InputError
from nerf.train.metrics import gaussian_window, psnr, ssim
from nerf.train.trainer import Trainer, TrainConfig
from tests.support.scenes import TINY


def test_training_raises_psnr(scene):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", **TINY))
    before = trainer.evaluate("test")["psnr"]
    for _ in range(120):
        stats = trainer.step()
    after = trainer.evaluate("test")
    assert set(stats) >= {"step", "loss", "psnr", "rays", "samples_per_ray", "seconds"}
    assert stats["step"] == trainer.step_count == 120
    assert after["psnr"] > before + 5.0, (before, after["psnr"])
    assert 0.0 < after["ssim"] <= 1.0 and after["views"] == 2


def test_save_load_continue_matches_uninterrupted(scene, tmp_path):
    cfg = TrainConfig.for_model("ngp", "cpu", **TINY)
    a = Trainer(scene, cfg)
    for _ in range(20):  # past an occupancy update (every 16 steps)
        a.step()
    a.save(tmp_path / "ck.pt")
    losses_a = [a.step()["loss"] for _ in range(14)]  # crosses the next grid update at 32
    b = Trainer.load(tmp_path / "ck.pt", scene=scene)
    assert b.step_count == 20
    losses_b = [b.step()["loss"] for _ in range(14)]
    assert losses_a == pytest.approx(losses_b, rel=1e-5, abs=1e-7)


def test_nan_step_restores_last_snapshot(scene, monkeypatch):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", nan_snapshot_every=2, **TINY))
    for _ in range(4):
        trainer.step()
    table = trainer.model.field.grid.table.detach().clone()
    real = trainer.model.render_rays

    def poisoned(*args, **kwargs):
        out = real(*args, **kwargs)
        return dataclasses.replace(out, rgb_terms=[t * float("nan") for t in out.rgb_terms])
    monkeypatch.setattr(trainer.model, "render_rays", poisoned)
    stats = trainer.step()
    assert stats["nan_recovered"] is True and trainer.step_count == 4
    torch.testing.assert_close(trainer.model.field.grid.table.detach(), table)
    monkeypatch.setattr(trainer.model, "render_rays", real)
    assert math.isfinite(trainer.step()["loss"])


def test_render_shapes_abort_and_reset(scene):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", render_chunk=100, **TINY))
    cams = scene.split("test").cameras
    out = trainer.render(cams, 1, background=(0.0, 0.0, 0.0))
    assert out["rgb"].shape == (32, 32, 3) and out["depth"].shape == (32, 32)
    assert out["rgb"].dtype == torch.float32 and out["rgb"].device.type == "cpu"
    calls = []
    assert trainer.render(cams, 0, should_abort=lambda: calls.append(1) or len(calls) > 2) is None
    assert len(calls) == 3  # checked between chunks, stopped at the third
    trainer.step()
    trainer.set_lr(1e-3)
    trainer.set_batch_rays(64)
    assert trainer.step()["rays"] == 64
    trainer.reset()
    assert trainer.step_count == 0 and trainer.batch_rays == 256


def test_load_rejects_bad_checkpoint(tmp_path, scene):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError):
        Trainer.load(bad, scene=scene)
    with pytest.raises(InputError):
        Trainer.load(tmp_path / "missing.pt", scene=scene)


def _ssim_direct(x, y, k=11, sigma=1.5):
    """Wang et al.'s formula evaluated window by window (slow, obvious)."""
    w = gaussian_window(k, sigma)
    vals = []
    for c in range(x.shape[2]):
        for i in range(x.shape[0] - k + 1):
            for j in range(x.shape[1] - k + 1):
                a, b = x[i:i + k, j:j + k, c].double(), y[i:i + k, j:j + k, c].double()
                ma, mb = (w * a).sum(), (w * b).sum()
                va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
                cov = (w * (a - ma) * (b - mb)).sum()
                c1, c2 = 0.01 ** 2, 0.03 ** 2
                vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return float(torch.stack(vals).mean())


def test_metrics_against_direct_formulas():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 14, 3, generator=g)
    y = (x + 0.1 * torch.randn(16, 14, 3, generator=g)).clamp(0, 1)
    assert ssim(x, y) == pytest.approx(_ssim_direct(x, y), abs=1e-9)
    assert ssim(x, x) == pytest.approx(1.0)
    assert psnr(torch.zeros(4, 4, 3), torch.full((4, 4, 3), 0.1)) == pytest.approx(20.0)


def test_scene_without_alpha_renders_on_its_training_background(scene):
    import dataclasses
    rgb_splits = {k: dataclasses.replace(v, images=v.images[..., :3]) for k, v in scene.splits.items()}
    trainer = Trainer(dataclasses.replace(scene, splits=rgb_splits), TrainConfig.for_model("ngp", "cpu", **TINY))
    cams = scene.split("test").cameras
    white = trainer.render(cams, 0, background=(1.0, 1.0, 1.0))["rgb"]
    black = trainer.render(cams, 0, background=(0.0, 0.0, 0.0))["rgb"]
    torch.testing.assert_close(white, black)  # trained on black, so always shown on black


def test_adaptive_batch_targets_samples_until_the_user_fixes_it(scene, tmp_path):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", **{**TINY, "target_samples": 4096}))
    stats = trainer.step()
    expected = min(max(int(4096 / stats["samples_per_ray"]), 256), trainer.config.max_batch_rays)
    assert stats["samples_per_ray"] > 0 and trainer.batch_rays == expected
    trainer.save(tmp_path / "ck.pt")
    assert Trainer.load(tmp_path / "ck.pt", scene=scene).adaptive_batch
    trainer.set_batch_rays(300)  # the user's choice wins from now on
    trainer.step()
    assert trainer.batch_rays == 300 and not trainer.adaptive_batch
    trainer.save(tmp_path / "ck.pt")
    assert not Trainer.load(tmp_path / "ck.pt", scene=scene).adaptive_batch


def test_budget_schedule_steps_down_at_its_milestones(scene):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", **{**TINY, "lr_schedule": "budget"}))
    lr, d = trainer.config.lr, trainer.config.lr_decay
    trainer.step_count = 5000  # ignored by "budget" while a progress is known
    got = {}
    for p in (0.0, 0.49, 0.5, 0.8, 0.95):
        trainer.progress = p
        got[p] = trainer._lr_at(trainer.step_count)
    assert got == pytest.approx({0.0: lr, 0.49: lr, 0.5: lr * d, 0.8: lr * d ** 2, 0.95: lr * d ** 3})
    trainer.progress = None  # no budget (an open-ended viewer session): the step schedule
    assert trainer._lr_at(5000) == pytest.approx(lr * d ** (5000 / trainer.config.lr_decay_steps))


def test_headless_loop_reports_progress_to_the_schedule(scene):
    from nerf.commands.train_run import _Progress, train_loop
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", **{**TINY, "lr_schedule": "budget"}))
    seen = []
    real = trainer.step

    def step():
        seen.append(trainer.progress)
        return real()
    trainer.step = step
    train_loop(trainer, 4, None, _Progress(stream=open("/dev/null", "w")))
    assert seen == [0.0, 0.25, 0.5, 0.75]


def test_a_yielded_step_changes_nothing(scene):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", **TINY))
    trainer.step()
    table = trainer.model.field.grid.table.detach().clone()
    stats = trainer.step(should_yield=lambda: True)
    assert stats["yielded"] and stats["rays"] == 0 and stats["step"] == trainer.step_count == 1
    assert torch.equal(trainer.model.field.grid.table, table)
    assert trainer.step(should_yield=lambda: False)["step"] == 2


def test_a_waiting_frame_stops_the_grid_update_and_the_next_step_finishes_it(scene):
    trainer = Trainer(scene, TrainConfig.for_model("ngp", "cpu", **{**TINY, "ngp_grid_res": 48}))
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
    assert stats["yielded"] and int(grid.updates) == 1 and not grid.pending  # the forward yields
    trainer.step()
    assert trainer.step_count == 17
