"""The scene overlay's non-drawing parts: the sparse points in the normalised world, the projection
matrix against the pinhole that picking uses, and the field of view of a snapped, letterboxed frame."""
import dataclasses
import math

import numpy as np
import pytest

from nerf.data.cameras import look_at
from tests.support.fakes import make_fake_scene
from viewer.dataset_views import DatasetViews
from viewer.frustums import project
from viewer.orbit import camera_from_views
from viewer.panels.render import RenderSettings
from viewer.panels.view import LiveView
from nerf.data.formats.pointcloud import POINTS_FILE, scene_points
from viewer.scene_overlay import perspective, points_or_note, splat_points


def _write_ply(path, points):
    header = f"ply\nformat ascii 1.0\nelement vertex {len(points)}\nproperty float x\nproperty float y\n" \
             "property float z\nend_header\n"
    path.write_text(header + "".join(f"{x} {y} {z}\n" for x, y, z in points))


def test_points_come_into_the_normalised_world_and_are_thinned(tmp_path):
    scene = dataclasses.replace(make_fake_scene(), root=tmp_path)  # scale 2, offset (0.5, -1, 0.25)
    _write_ply(tmp_path / POINTS_FILE, [(2.5, -1.0, 0.25), (0.5, 3.0, -1.75)])
    # p_normalised = (p_file - offset) / scale
    np.testing.assert_allclose(scene_points(scene), [[1.0, 0.0, 0.0], [0.0, 2.0, -1.0]])
    _write_ply(tmp_path / POINTS_FILE, np.random.default_rng(0).normal(size=(50, 3)))
    assert scene_points(scene, limit=10).shape == (10, 3)
    points, note = points_or_note(scene)
    assert len(points) == 50 and note == "50 sparse points"


def test_a_colmap_model_s_own_points_are_drawn(tmp_path):
    """A COLMAP scene has no sparse_pc.ply: its model's points3D are the sparse points (issue 30)."""
    from nerf.data.formats.registry import load_scene
    from tests.support.scenes import colmap_text_scene
    scene = load_scene(colmap_text_scene(tmp_path))
    expected = (np.array([[0.1, 0.2, 0.3], [-0.1, 0.2, 0.0]]) - np.asarray(scene.offset)) / scene.scale
    found = scene_points(scene)
    np.testing.assert_allclose(found[np.argsort(found[:, 0])], expected[np.argsort(expected[:, 0])])
    assert points_or_note(scene)[1] == "2 sparse points"


def test_no_points_and_bad_points_say_why(tmp_path):
    scene = dataclasses.replace(make_fake_scene(), root=tmp_path)
    assert points_or_note(scene) == (None, f"no sparse points (no {POINTS_FILE} or COLMAP model)")
    _write_ply(tmp_path / POINTS_FILE, [(0, 0, 0)])
    assert points_or_note(dataclasses.replace(scene, ndc=True)) == (None, "no sparse points (forward-facing scene)")
    # a --connect client's scene: the folder named is the server's, the points come over the wire or not at all
    remote = dataclasses.replace(scene, format="remote")
    assert points_or_note(remote) == (None, "no sparse points (the server has none)")
    (tmp_path / POINTS_FILE).write_text("not a ply")
    points, note = points_or_note(scene)
    assert points is None and note == f"{tmp_path / POINTS_FILE}: not a PLY file"


def test_the_projection_matrix_lands_points_where_picking_expects_them():
    c2w = look_at((3.0, -2.0, 1.0), (0.0, 0.2, 0.0)).numpy().astype(np.float64)
    pts = np.random.default_rng(1).uniform(-0.5, 0.5, size=(20, 3))
    w, h, fov = 300, 200, 50.0
    clip = np.c_[pts, np.ones(len(pts))] @ (perspective(fov, w / h) @ np.linalg.inv(c2w)).T
    ndc = clip[:, :3] / clip[:, 3:]
    # OpenGL's viewport transform, y down for pixels
    px = np.stack([(ndc[:, 0] + 1) * w / 2, (1 - ndc[:, 1]) * h / 2], axis=-1)
    xy, depth = project(pts, c2w, fov, w, h)
    np.testing.assert_allclose(px, xy, atol=1e-6)
    assert (depth > 0).all() and (np.abs(ndc[:, 2]) < 1).all()  # in front, inside the clip planes


class _NoWorker:
    def request_render(self, request):
        pass

    def set_interacting(self, on):
        pass


def test_a_snapped_frame_letterboxed_into_a_tall_view_has_a_wider_field_of_view():
    views = DatasetViews(make_fake_scene(16))  # 16 x 16 px images, 40 deg
    view = LiveView(camera_from_views(views.c2ws(), 100, 200, 30.0), RenderSettings(fov_y_deg=30.0),
                    worker=_NoWorker(), views=views, on_screenshot=print,
                    on_snapped_frame=print)
    view.size = (100, 200)
    assert view.display_fov() == pytest.approx(30.0)  # not snapped: the orbit camera's
    view.snap_to("train", 1)
    # the square image fills the width: 100 px on screen for its 16, so its focal length 8 / tan(20 deg)
    # becomes 50 / tan(20 deg), and the view's 200 px of height span 2 atan(100 tan(20 deg) / 50)
    assert view.display_fov() == pytest.approx(math.degrees(2 * math.atan(2 * math.tan(math.radians(20)))))
    view.size = (200, 100)  # the image fills the height: the dataset camera's own 40 deg
    assert view.display_fov() == pytest.approx(40.0)


def test_points_become_2px_dots_cut_to_their_box():
    c2w = np.eye(4)  # at the origin looking down -z
    pts = np.array([[0.0, 0.0, -2.0], [1.0, 0.5, -2.0], [0.0, 0.0, 3.0], [50.0, 0.0, -1.0]])
    # 90 deg in a 200 x 100 view: focal 50 px; the first lands on (100, 50), the second on (125, 37.5);
    # the third is behind the eye and the fourth far outside the view
    image, (x0, y0) = splat_points(pts, c2w, 90.0, (200, 100), colour=(255, 0, 0, 255))
    assert (x0, y0) == (100, 37) and image.shape == (50 - 37 + 2, 125 - 100 + 2, 4)
    alpha = image[..., 3]
    assert alpha.sum() == 8  # two dots of 2 x 2 px
    assert alpha[13:15, 0:2].all() and alpha[0:2, 25:27].all()  # at (100, 50) and (125, 37), box-relative
    assert image[13, 0].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert splat_points(pts[2:3], c2w, 90.0, (200, 100)) is None  # nothing in front
