"""nerf/export/render_path.py: rendering a set of cameras straight into a video file."""
import imageio.v2 as imageio
import numpy as np
import torch

from nerf.data.cameras import look_at, make_cameras
from nerf.data.paths.turntable import orbit_poses
from nerf.export.render_path import render_video


def test_render_video_writes_every_frame_and_stops_on_none(tmp_path):
    c2ws = orbit_poses(look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy(), np.zeros(3), np.array([0, 0, 1.0]), 4)
    cameras = make_cameras(torch.as_tensor(c2ws, dtype=torch.float32), 9, 7, fov_y_deg=40.0)  # odd sizes

    def grey(cams, i):
        return torch.full((cams.height, cams.width, 3), i / 4)

    assert render_video(grey, cameras, tmp_path / "all.mp4") == 4
    frames = [f for f in imageio.get_reader(tmp_path / "all.mp4", format="FFMPEG")]  # not list(): len() is inf
    assert len(frames) == 4 and frames[0].shape[:2] == (8, 10)  # padded to even sizes for H.264
    # an abort is not a (shorter) video: nothing under the name, and no temporary file left
    assert render_video(lambda c, i: None if i == 2 else grey(c, i), cameras, tmp_path / "cut.gif") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.mp4"]
