"""viewer/path_editor.py: keyframe editing, preview poses, the drawn path, and the render job."""
import numpy as np
import pytest

from nerf.data.cameras import look_at
from nerf.data.crop import CropBox
from nerf.errors import InputError
from nerf.runtime.mailbox import Mailbox
from tests.support.fakes import FakeTrainer
from viewer.frustums import NEAR, project
from viewer.path_editor import PathEditor, render_path_job


def _view(angle):
    eye = (3.0 * np.cos(angle), 3.0 * np.sin(angle), 1.0)
    return look_at(eye, (0.0, 0.0, 0.0)).double().numpy()


def _editor(n=3):
    ed = PathEditor(scale=2.0, offset=(1.0, 0.0, 0.0))
    for i in range(n):
        ed.add(_view(i), fov=40.0 + i)
    return ed


def test_add_select_replace_delete_reorder():
    ed = _editor()
    assert [k.fov for k in ed.keyframes] == [40, 41, 42] and ed.selected == 2
    ed.select(0)
    ed.add(_view(5), fov=60)  # inserted after the selection
    assert [k.fov for k in ed.keyframes] == [40, 60, 41, 42] and ed.selected == 1
    ed.move(+2)
    assert [k.fov for k in ed.keyframes] == [40, 41, 42, 60] and ed.selected == 3
    ed.replace(_view(6), fov=33)
    assert ed.keyframes[3].fov == 33 and np.allclose(ed.keyframes[3].c2w, _view(6))
    ed.set_keyframe(duration=0.5, fov=20)
    assert (ed.keyframes[3].duration, ed.keyframes[3].fov) == (0.5, 20)
    ed.delete()
    assert len(ed.keyframes) == 3 and ed.selected == 2
    assert np.allclose(ed.select(1).c2w, _view(1))  # jump to a keyframe


def test_preview_passes_keyframes_and_wraps_a_loop():
    ed = _editor()
    pose, fov = ed.pose_at(2.0)  # durations default to 2 s: the second keyframe
    assert np.allclose(pose, _view(1), atol=1e-6) and fov == pytest.approx(41)
    ed.set_options(loop=True)
    pose, _ = ed.pose_at(6.0 + 2.0)  # one loop (3 x 2 s) later
    assert np.allclose(pose, _view(1), atol=1e-6)
    assert ed.frame_count() == 6 * 30


def test_drawn_path_projects_into_the_view():
    ed = _editor()
    pts = ed.polyline()
    assert len(pts) > 50 and np.allclose(pts[0], _view(0)[:3, 3])
    top = look_at((0.0, 0.0, 8.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0)).double().numpy()
    xy, depth = project(pts, top, 60.0, 200, 100)
    assert np.all(depth > NEAR) and np.all((xy > 0) & (xy < [200, 100]))
    xy0, _ = project(np.zeros((1, 3)), top, 60.0, 200, 100)
    assert np.allclose(xy0, [[100, 50]])  # the point looked at is the centre of the window


def test_save_load_in_file_coordinates(tmp_path):
    ed = _editor()
    ed.set_crop(CropBox((-0.5, -0.5, -0.5), (0.5, 0.5, 0.2)))
    ed.save(tmp_path / "p.json")
    other = PathEditor(scale=2.0, offset=(1.0, 0.0, 0.0))
    other.load(tmp_path / "p.json")
    assert len(other.keyframes) == 3 and np.allclose(other.keyframes[2].c2w, ed.keyframes[2].c2w)
    assert np.allclose(other.path.crop.hi, (0.5, 0.5, 0.2))
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError):
        other.load(tmp_path / "bad.json")
    assert len(other.keyframes) == 3  # a bad file leaves the path as it was


def test_render_job_writes_every_frame_and_aborts(tmp_path):
    ed = _editor(2)
    ed.set_options(fps=4, width=16, height=12)
    progress = Mailbox()
    trainer = FakeTrainer()
    out = render_path_job(ed.path, tmp_path / "v.mp4", progress=progress)(trainer, lambda: False)
    assert out == tmp_path / "v.mp4" and out.stat().st_size > 0
    assert progress.take() == (8, 8)  # 2 s at 4 fps: int(seconds x fps) frames, as nerfstudio exports
    asked = []

    def abort_in_the_fourth_frame():  # the fake asks once per row, 12 rows a frame
        asked.append(1)
        return len(asked) > 40
    frames = tmp_path / "frames"
    assert render_path_job(ed.path, frames)(trainer, abort_in_the_fourth_frame) is None
    assert len(list(frames.glob("*.png"))) == 3  # the frames before the abort stay


def test_loaded_nerfstudio_frames_render_until_an_edit_and_huge_paths_cost_nothing(tmp_path):
    """A loaded nerfstudio file renders its own camera_path[] frames; an edit returns to the splines; an
    absurd fps is counted (not sampled) and refused by check_path before the render job exists."""
    import shutil
    from pathlib import Path
    from nerf.data.paths.keyframes import check_path
    from nerf.export.render_path import path_cameras
    fixture = Path(__file__).parents[1] / "support" / "nerfstudio_paths" / "fisheye_two_keys.json"
    shutil.copy(fixture, tmp_path / "camera_path.json")
    ed = PathEditor()
    ed.load(tmp_path / "camera_path.json")
    assert ed.path.frames is not None and ed.frame_count() == 10
    assert path_cameras(ed.path).camera_type == "fisheye"
    ed.set_options(fps=20)
    assert ed.path.frames is None and ed.frame_count() == 20 and ed.path.camera_type == "fisheye"
    ed.set_options(fps=10 ** 12)
    assert ed.frame_count() == 10 ** 12 and "at most" in check_path(ed.path)
