"""DatasetViews: cameras at a scale keep the principal point's place, images follow the background."""
import numpy as np
import pytest
import torch

from nerf.data.scene import Split
from tests.support.fakes import make_fake_scene
from viewer.dataset_views import DatasetViews


def test_a_scaled_camera_keeps_the_field_of_view_and_pose():
    views = DatasetViews(make_fake_scene(32))
    full, half = views.camera("train", 1, 1.0), views.camera("train", 1, 0.5)
    assert (half.width, half.height) == (16, 16)
    assert float(half.fy[0]) == pytest.approx(float(full.fy[0]) / 2)
    assert float(half.cx[0]) == pytest.approx(float(full.cx[0]) / 2)
    np.testing.assert_allclose(half.c2w[0].numpy(), views.c2ws("train")[1], atol=1e-6)
    assert views.fov_y_deg() == pytest.approx(40.0, abs=1e-3)
    assert views.count("train") == 4 and views.count("test") == 2


def test_ground_truth_is_the_image_on_the_background():
    views = DatasetViews(make_fake_scene(16))
    gt = views.ground_truth("test", 0, (0.0, 0.0, 0.0))
    assert gt.shape == (16, 16, 3)
    np.testing.assert_allclose(gt, views.scene.split("test").images[0, ..., :3].numpy(), atol=1e-6)


def test_ground_truth_composites_only_the_view_shown(monkeypatch):
    """It runs for every displayed frame: compositing the whole split there cost a copy of all of it."""
    views = DatasetViews(make_fake_scene(16))
    split = views.scene.split("train")
    alpha = torch.linspace(0, 1, 16 * 16).reshape(1, 16, 16, 1).expand(len(split), -1, -1, -1)
    split.images = torch.cat([split.images, alpha], dim=-1)  # RGBA: the background shows through
    whole = split.rgb(torch.tensor([0.2, 0.4, 0.6]))
    composited = []
    real_rgb = Split.rgb

    def spy(self, *args, **kwargs):
        out = real_rgb(self, *args, **kwargs)
        composited.append(tuple(out.shape))
        return out
    monkeypatch.setattr(Split, "rgb", spy)
    gt = views.ground_truth("train", 2, (0.2, 0.4, 0.6))
    np.testing.assert_allclose(gt, whole[2].numpy(), atol=1e-6)
    assert composited == [(16, 16, 3)]  # one image, not [4, 16, 16, 3]


def test_brackets_step_through_the_cameras_from_a_snapped_view_or_start_at_the_nearest():
    views = DatasetViews(make_fake_scene(8))  # 4 train cameras on a circle
    eyes = views.c2ws("train")[:, :3, 3]
    assert views.nearest("train", eyes[2] * 1.1) == 2
    assert views.jump("train", None, eyes[2] * 1.1, +1) == 2  # from elsewhere: the nearest first
    assert views.jump("train", 2, eyes[2], +1) == 3
    assert views.jump("train", 3, eyes[3], +1) == 0  # wraps round
    assert views.jump("train", 0, eyes[0], -1) == 3


def test_the_status_line_says_how_to_leave_a_snapped_view():
    from viewer.panels.status import snap_hint
    assert snap_hint(None) == ""
    hint = snap_hint(("train", 7))
    assert "train view 7" in hint and "drag" in hint and "R" in hint
