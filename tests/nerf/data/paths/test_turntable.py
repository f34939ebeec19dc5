"""nerf/data/paths/turntable.py: turntable poses and rendering a camera path into a video."""
import math

import imageio.v2 as imageio
import numpy as np
import torch

from nerf.data.paths.turntable import render_turntable, turntable_c2ws
from nerf.data.cameras import look_at, make_cameras


def test_turntable_poses_circle_the_target():
    c2w = look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy().astype(np.float64)
    poses = turntable_c2ws(c2w, np.zeros(3), np.array([0, 0, 1.0]), 4)
    assert np.allclose(poses[0], c2w)
    assert np.allclose(poses[1][:3, 3], [0.0, 3.0, 1.0], atol=1e-9)
    assert np.allclose(np.linalg.norm(poses[:, :3, 3], axis=1), math.sqrt(10))


def test_render_turntable_writes_every_frame_and_stops_on_none(tmp_path):
    c2ws = turntable_c2ws(look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy(), np.zeros(3), np.array([0, 0, 1.0]), 4)
    cameras = make_cameras(torch.as_tensor(c2ws, dtype=torch.float32), 9, 7, fov_y_deg=40.0)  # odd sizes

    def grey(cams, i):
        return torch.full((cams.height, cams.width, 3), i / 4)

    assert render_turntable(grey, cameras, tmp_path / "all.mp4") == 4
    frames = [f for f in imageio.get_reader(tmp_path / "all.mp4", format="FFMPEG")]  # not list(): len() is inf
    assert len(frames) == 4 and frames[0].shape[:2] == (8, 10)  # padded to even sizes for H.264
    assert render_turntable(lambda c, i: None if i == 2 else grey(c, i), cameras, tmp_path / "cut.gif") == 2
    assert len(imageio.mimread(tmp_path / "cut.gif")) == 2
