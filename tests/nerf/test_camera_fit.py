"""nerf/train/camera_fit.py: each training camera's recent training PSNR, from the steps' own rays."""
import math

import torch

from nerf.train.camera_fit import MIN_RAYS, CameraFit
from nerf.train.shards import ShardPool
from nerf.train.trainer import Trainer, TrainConfig
from tests.support.scenes import TINY


def test_each_image_gets_the_psnr_of_its_own_rays():
    fit = CameraFit(3, half_life=1e9)  # no decay: plain means
    images = torch.tensor([0, 0, 1, 1] * 4)
    errors = torch.tensor([0.01, 0.01, 0.001, 0.001] * 4)
    fit.add(images, errors)
    psnrs = fit.psnrs()
    assert math.isclose(psnrs[0], 20.0, abs_tol=1e-6) and math.isclose(psnrs[1], 30.0, abs_tol=1e-6)
    assert math.isnan(psnrs[2])  # no ray from image 2 yet


def test_too_few_rays_say_nothing_and_recent_rays_count_most():
    fit = CameraFit(1, half_life=10)
    fit.add(torch.zeros(int(MIN_RAYS) - 1, dtype=torch.long), torch.full((int(MIN_RAYS) - 1,), 0.01))
    assert math.isnan(fit.psnrs()[0])
    for _ in range(100):  # the image got better: 30 dB rays for ten half-lives
        fit.add(torch.zeros(4, dtype=torch.long), torch.full((4,), 0.001))
    assert 29.9 < fit.psnrs()[0] <= 30.0


def test_training_measures_every_camera_as_it_goes(scene):
    trainer = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    n = len(scene.split("train"))
    assert len(trainer.camera_psnrs()) == n and all(math.isnan(p) for p in trainer.camera_psnrs())
    step_mses = [10.0 ** (-trainer.step().psnr / 10.0) for _ in range(40)]
    psnrs = trainer.camera_psnrs()
    assert all(math.isfinite(p) for p in psnrs)  # 256 rays a step over 10 images: every one seen
    # the per-camera figures are of the same rays as the steps' PSNRs, each step weighted by its decay
    decay = trainer.camera_fit.decay
    weights = [decay ** (len(step_mses) - 1 - i) for i in range(len(step_mses))]
    expected = -10.0 * math.log10(sum(w * m for w, m in zip(weights, step_mses, strict=True)) / sum(weights))
    cameras = -10.0 * math.log10(sum(10.0 ** (-p / 10.0) for p in psnrs) / n)
    assert abs(cameras - expected) < 1.0, (cameras, expected)
    trainer.reset()
    assert all(math.isnan(p) for p in trainer.camera_psnrs())  # new weights: nothing known


def test_a_pooled_step_measures_the_same_rays(scene):
    """The shard pool's passes return their rays' errors in batch order, so the figures match."""
    one = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    pooled = Trainer(scene, TrainConfig.tuned("ngp", "cpu", **TINY))
    pooled.pool = ShardPool(2)
    try:
        for _ in range(5):
            one.step()
            pooled.step()
    finally:
        pooled.pool.close()
    # shards draw from their own generators (nerf.train.batching), so only the shape of the result agrees
    assert len(one.camera_psnrs()) == len(pooled.camera_psnrs())
    assert all(math.isfinite(p) for p in pooled.camera_psnrs())
