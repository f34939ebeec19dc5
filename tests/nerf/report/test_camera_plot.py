"""nerf/report/camera_plot.py: the pictures' frame follows the cameras (not the file's axes), and
what is drawn is where the cameras and points are."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from nerf.data.cameras import look_at
from nerf.data.formats.pointcloud import POINTS_FILE, write_ply_points
from nerf.data.formats.registry import load_scene
from nerf.data.frustums import FRUSTUM_EDGES
from nerf.report.camera_plot import (camera_layout_figure, layout_axes, scene_layout_figure, write_camera_layout,
                                     write_scene_layout)
from tests.support.scenes import transforms_scene

INTRINSICS = (40.0, 40.0, 32.0, 24.0, 64, 48)


def ring(n=12, radius=3.0, height=1.0, up=(0.0, 0.0, 1.0), squash=1.0):
    """Cameras on a horizontal ellipse (radius along the first axis, radius*squash along the other)
    about the origin, looking at it; `up` rotates the whole capture."""
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    a = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    a = a - (a @ up) * up
    a /= np.linalg.norm(a)
    b = np.cross(up, a)
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    eyes = [radius * (math.cos(t) * a + squash * math.sin(t) * b) + height * up for t in angles]
    return np.stack([look_at(e, (0.0, 0.0, 0.0), up, dtype=torch.float64).numpy() for e in eyes])


@pytest.mark.parametrize("up", [(0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (0.3, -0.5, 0.8)])
def test_up_is_the_cameras_and_along_their_widest_spread(up):
    c2ws = ring(up=up, squash=0.5)
    frame = layout_axes(c2ws)
    u = np.asarray(up) / np.linalg.norm(up)
    # each camera looks down at the origin from height 1 at distance 3, so its up tilts inwards; the
    # tilts cancel around the ring and the mean up is the ring's axis
    np.testing.assert_allclose(frame.up, u, atol=1e-9)
    np.testing.assert_allclose(np.cross(frame.along, frame.across), frame.up, atol=1e-9)
    top = frame.top(c2ws[:, :3, 3])  # [N, 2]
    assert np.ptp(top[:, 0]) == pytest.approx(6.0) and np.ptp(top[:, 1]) == pytest.approx(3.0, abs=0.1)
    np.testing.assert_allclose(frame.side(c2ws[:, :3, 3])[:, 1], 0.0, atol=1e-9)  # all at one height


def test_a_single_camera_still_has_a_frame():
    frame = layout_axes(ring(n=1))
    assert abs(frame.along @ frame.up) < 1e-9 and np.linalg.norm(frame.along) == pytest.approx(1.0)


def test_the_picture_holds_every_frustum_edge_and_point_where_they_are():
    c2ws = ring(n=8)
    points = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.5], [100.0, 0.0, 0.0]])  # the last one a stray
    fig = camera_layout_figure(c2ws, INTRINSICS, points, title="ring")
    top, side = fig.axes[:2]
    frame = layout_axes(c2ws)
    [lines] = top.collections[1:2]
    assert len(lines.get_segments()) == 8 * len(FRUSTUM_EDGES)
    np.testing.assert_allclose(top.collections[0].get_offsets(), frame.top(points))
    np.testing.assert_allclose(side.collections[2].get_offsets(), frame.side(c2ws[:, :3, 3]))  # the centres
    # the stray point is drawn but does not size the picture: the ring (radius 3) fills it
    assert top.get_xlim()[1] < 10 and top.get_xlim()[1] > 3
    assert fig._suptitle.get_text() == "ring: 8 cameras, 3 sparse points shown"


def test_write_camera_layout_writes_a_png(tmp_path):
    out = write_camera_layout(tmp_path / "preview.png", ring(), INTRINSICS)
    with Image.open(out) as im:
        assert im.size == (1100, 500) and np.asarray(im.convert("L")).std() > 5
    assert [p.name for p in tmp_path.iterdir()] == ["preview.png"]


def test_a_loaded_scene_is_drawn_with_every_split_and_its_points(tmp_path):
    scene_dir = transforms_scene(tmp_path / "scene")  # 10 views: 8 train, 2 test
    scene = load_scene(scene_dir)
    centre = np.asarray(scene.offset)
    write_ply_points(scene_dir / POINTS_FILE, centre[None] + np.eye(3))  # one file unit along each axis
    fig = scene_layout_figure(scene)
    assert fig._suptitle.get_text() == "scene (8 train, 2 test): 10 cameras, 3 sparse points shown"
    top = fig.axes[0]
    frame = layout_axes(torch.cat([scene.split("train").cameras.c2w, scene.split("test").cameras.c2w]).double().numpy())
    # the points arrive in the normalised world: (p_file - offset) / scale
    np.testing.assert_allclose(top.collections[0].get_offsets(), frame.top(np.eye(3) / scene.scale), atol=1e-6)
    out = write_scene_layout(scene, tmp_path / "cams.png")
    assert out.stat().st_size > 0
