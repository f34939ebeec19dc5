"""viewer/path_overlay.py and the camera-path panel's non-drawing logic (preview clock, list labels,
video names)."""
import numpy as np
import pytest

from nerf.data.cameras import look_at
from nerf.data.crop import CropBox
from viewer.panels.camera_path import Preview, keyframe_label, next_video
from viewer.path_editor import PathEditor
from viewer.path_overlay import box_corners, overlay_geometry


def _view(eye, target=(0.0, 0.0, 0.0)):
    return look_at(eye, target).double().numpy()


def test_box_corners_are_the_eight_combinations():
    corners = box_corners(CropBox((-1.0, -2.0, -3.0), (1.0, 2.0, 3.0)))
    assert corners.shape == (8, 3)
    assert {tuple(c) for c in corners} == {(x, y, z) for x in (-1, 1) for y in (-2, 2) for z in (-3, 3)}


def test_a_box_ahead_projects_symmetrically_about_the_centre():
    # camera on -y looking at the origin (z up): the unit cube's edges are symmetric about the image centre
    g = overlay_geometry(PathEditor(), CropBox.cube(0.5), _view((0.0, -3.0, 0.0)), 60.0, 200, 100)
    assert g.box_edges.shape == (12, 2, 2) and not g.path_runs and not g.keys
    pts = g.box_edges.reshape(-1, 2)
    assert pts[:, 0].min() + pts[:, 0].max() == pytest.approx(200.0)
    assert pts[:, 1].min() + pts[:, 1].max() == pytest.approx(100.0)
    # the near face (y = -0.5, depth 2.5) is larger than the far one (depth 3.5) by 3.5 / 2.5
    f = 0.5 * 100 / np.tan(np.radians(30.0))
    assert pts[:, 0].max() - 100.0 == pytest.approx(f * 0.5 / 2.5)


def test_edges_through_the_camera_are_cut_at_its_near_plane():
    # the camera sits inside the box: every edge is partly behind it or beside it; none may
    # project from behind the eye (which would flip it across the image)
    g = overlay_geometry(PathEditor(), CropBox.cube(1.0), _view((0.0, -0.5, 0.0)), 60.0, 200, 200)
    assert len(g.box_edges) == 8  # the four edges of the face behind the camera (y = -1) are gone
    assert np.all(np.isfinite(g.box_edges))


def test_path_and_keyframes_in_front_are_drawn_and_those_behind_are_not():
    ed = PathEditor()
    ed.add(_view((-1.0, 0.0, 0.0)), 40.0)
    ed.add(_view((1.0, 0.0, 0.0)), 40.0)
    ed.add(_view((0.0, -5.0, 0.0)), 40.0)  # behind the camera below
    g = overlay_geometry(ed, None, _view((0.0, -3.0, 0.0)), 60.0, 200, 200)
    assert [i for i, _ in g.keys] == [0, 1]
    assert g.keys[0][1][0] < 100.0 < g.keys[1][1][0] and g.keys[0][1][1] == pytest.approx(100.0)
    assert len(g.path_runs) == 1 and len(g.path_runs[0]) >= 2  # the run up to where the path goes behind


def test_preview_plays_an_open_path_once_and_a_loop_until_stopped():
    ed = PathEditor()
    ed.add(_view((3.0, 0.0, 1.0)), 40.0)
    ed.add(_view((0.0, 3.0, 1.0)), 50.0)
    p = Preview(ed, start=10.0)
    c2w, fov = p.pose(12.0)  # 2 s in: the second keyframe
    assert np.allclose(c2w, ed.keyframes[1].c2w, atol=1e-6) and fov == pytest.approx(50.0)
    assert p.pose(12.5) is None
    ed.set_options(loop=True)
    assert np.allclose(p.pose(14.0)[0], ed.keyframes[0].c2w, atol=1e-6)  # round the loop in 4 s
    assert Preview(PathEditor(), 0.0).pose(0.0) is None


def test_keyframe_labels_and_video_names(tmp_path):
    assert keyframe_label(0, 40.0, 2.0, last=False, loop=False) == " 1   fov 40   2.0 s to next"
    assert keyframe_label(2, 40.0, 2.0, last=True, loop=False).endswith("end")
    assert keyframe_label(2, 40.0, 1.5, last=True, loop=True).endswith("1.5 s to next")
    assert next_video(tmp_path).name == "camera-path-001.mp4"
    (tmp_path / "camera-path-001.mp4").write_bytes(b"")
    assert next_video(tmp_path).name == "camera-path-002.mp4"
