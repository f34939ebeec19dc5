"""nerf/train/evaluation.py through Trainer.render/evaluate: image shapes, aborts, backgrounds, metrics."""
import dataclasses

import pytest
import torch

from nerf.models.base import RenderOutput
from nerf.train.evaluation import EvalResult, evaluate_views
from nerf.train.trainer import Trainer, TrainConfig
from tests.support.scenes import TINY


def test_render_shapes_and_abort(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", render_chunk=100, **TINY))
    cams = scene.split("test").cameras
    out = trainer.render(cams, 1, background=(0.0, 0.0, 0.0))
    assert out.rgb.shape == (32, 32, 3) and out.depth.shape == (32, 32)
    assert out.rgb.dtype == torch.float32 and out.rgb.device.type == "cpu"
    assert out.opacity.shape == (32, 32) and out.rgb_terms == []
    assert out.samples_per_ray > 0  # a fresh grid: every cell still occupied
    calls = []
    assert trainer.render(cams, 0, should_abort=lambda: calls.append(1) or len(calls) > 2) is None
    assert len(calls) == 3  # checked between chunks, stopped at the third


def test_scene_without_alpha_renders_on_its_training_background(scene):
    rgb_splits = {k: dataclasses.replace(v, images=v.images[..., :3]) for k, v in scene.splits.items()}
    trainer = Trainer(dataclasses.replace(scene, splits=rgb_splits), TrainConfig.tuned("ngp", "cpu", **TINY))
    cams = scene.split("test").cameras
    white = trainer.render(cams, 0, background=(1.0, 1.0, 1.0)).rgb
    black = trainer.render(cams, 0, background=(0.0, 0.0, 0.0)).rgb
    torch.testing.assert_close(white, black)  # trained on black, so always shown on black


def _flat(value: float) -> RenderOutput:
    return RenderOutput(torch.full((12, 12, 3), value), torch.zeros(12, 12), torch.ones(12, 12))


def test_evaluate_views_averages_per_view_metrics():
    target = torch.full((12, 12, 3), 0.5)
    # errors 0.1 and 0.01 -> 20 dB and 40 dB
    result = evaluate_views(lambda i: _flat([0.6, 0.51][i]), lambda i: target, 2, torch.device("cpu"),
                            keep_images=True)
    assert isinstance(result, EvalResult) and result.views == 2
    assert result.per_view_psnr == pytest.approx([20.0, 40.0])
    assert result.psnr == pytest.approx(30.0) and 0.0 < result.ssim <= 1.0
    assert len(result.per_view_ssim) == 2 and result.ssim == pytest.approx(sum(result.per_view_ssim) / 2)
    assert len(result.images) == 2 and torch.equal(result.images[1], _flat(0.51).rgb)
    assert evaluate_views(lambda i: _flat(0.6), lambda i: target, 2, torch.device("cpu")).images is None
    assert evaluate_views(lambda i: None, lambda i: target, 2, torch.device("cpu")) is None  # aborted
