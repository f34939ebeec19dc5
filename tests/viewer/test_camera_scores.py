"""Per-camera scores: PSNR worked by hand, area shrinking, and the job over the fake trainer."""
import math

import pytest
import torch

from nerf.runtime.mailbox import Mailbox
from tests.support.fakes import FakeTrainer, make_fake_scene
from viewer.camera_scores import camera_scores_job, psnr, shrink
from viewer.dataset_views import DatasetViews


def test_psnr_and_shrink_by_hand():
    a = torch.zeros(2, 2, 3)
    assert psnr(a, a + 0.1) == pytest.approx(20.0)  # mse 0.01 -> 20 dB
    assert psnr(a, a) == math.inf
    img = torch.tensor([[0.0, 1.0], [1.0, 0.0]])[..., None].expand(2, 2, 3)
    assert shrink(img, 1, 1).flatten().tolist() == pytest.approx([0.5] * 3)


def test_the_job_scores_every_training_camera_and_reports_progress():
    scene = make_fake_scene(16)
    trainer = FakeTrainer(scene)
    box = Mailbox()
    scores = camera_scores_job(DatasetViews(scene), (1.0, 1.0, 1.0), scale=0.5, progress=box)(trainer, lambda: False)
    assert len(scores) == 4 and all(s > 15 for s in scores)  # the fake renders what it painted
    assert box.take() == scores  # the last progress holds them all
    assert camera_scores_job(DatasetViews(scene), (1.0, 1.0, 1.0))(trainer, lambda: True) is None
