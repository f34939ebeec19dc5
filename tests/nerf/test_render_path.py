"""nerf/export/render_path.py: rendering a set of cameras into a file, all or nothing."""
import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from nerf.data.cameras import look_at, make_cameras
from nerf.data.paths.turntable import orbit_poses
from nerf.export.render_path import render_to_file
from tests.support.fakes import FakeTrainer


def _cameras():
    c2ws = orbit_poses(look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy(), np.zeros(3), np.array([0, 0, 1.0]), 4)
    return make_cameras(torch.as_tensor(c2ws, dtype=torch.float32), 9, 7, fov_y_deg=40.0)  # odd sizes


def test_render_to_file_writes_every_frame_and_reports_progress(tmp_path):
    seen = []
    path = render_to_file(FakeTrainer(), _cameras(), tmp_path / "all.mp4", progress=lambda d, n: seen.append((d, n)))
    assert path == tmp_path / "all.mp4" and seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    frames = [f for f in imageio.get_reader(path, format="FFMPEG")]  # not list(): len() is inf
    assert len(frames) == 4 and frames[0].shape[:2] == (8, 10)  # padded to even sizes for H.264
    assert render_to_file(FakeTrainer(), _cameras(), tmp_path / "pngs").is_dir()
    assert len(list((tmp_path / "pngs").iterdir())) == 4


def test_an_abort_or_an_error_leaves_no_file(tmp_path):
    calls = []

    def abort_in_third_frame():
        calls.append(1)
        return len(calls) > 2 * 7  # the fake asks once per row: 7 rows a frame
    assert render_to_file(FakeTrainer(), _cameras(), tmp_path / "cut.gif", should_abort=abort_in_third_frame) is None
    broken = FakeTrainer()
    broken.fail_next_render = True
    with pytest.raises(RuntimeError, match="fake render failure"):
        render_to_file(broken, _cameras(), tmp_path / "err.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no video, no temporary file


def test_keep_partial_closes_the_file_with_the_frames_so_far(tmp_path):
    calls = []

    def abort_in_third_frame():
        calls.append(1)
        return len(calls) > 2 * 7
    out = tmp_path / "part.gif"
    assert render_to_file(FakeTrainer(), _cameras(), out, keep_partial=True, should_abort=abort_in_third_frame) is None
    assert len(imageio.mimread(out)) == 2
