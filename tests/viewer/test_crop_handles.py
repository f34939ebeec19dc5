"""Crop-box handles: where they are, and how a drag in view pixels moves a face or the box, worked
by hand for a camera looking straight down the z axis."""
import numpy as np
import pytest

from nerf.data.crop import CropBox
from viewer.crop_handles import MIN_SIZE, dragged, handle_points

C2W = np.eye(4)
C2W[2, 3] = 5.0  # at z = 5 looking down -z, x right, y up
FOV, SIZE = 90.0, (200, 200)  # focal = 0.5 * 200 / tan(45 deg) = 100 px
BOX = CropBox((-0.5, -0.5, -0.5), (0.5, 0.5, 0.5))


def _drag(handle, delta, box=BOX):
    return dragged(box, handle, delta, C2W, FOV, SIZE, bound=1.0)


def test_handles_sit_at_the_centre_and_the_face_centres():
    pts = handle_points(CropBox((0.0, 0.0, 0.0), (2.0, 4.0, 6.0)))
    np.testing.assert_allclose(pts, [[1, 2, 3], [0, 2, 3], [2, 2, 3], [1, 0, 3], [1, 4, 3], [1, 2, 0], [1, 2, 6]])


def test_a_face_follows_the_drag_along_its_axis():
    # the x+ face's handle at depth 5: 100 / 5 = 20 px per unit, so 6 px right is 0.3 units
    box = _drag(2, (6.0, 0.0))
    assert box.hi == pytest.approx((0.8, 0.5, 0.5)) and box.lo == BOX.lo
    assert _drag(2, (0.0, 30.0)) == BOX  # across the axis: no movement
    assert _drag(3, (0.0, -6.0)).lo == pytest.approx((-0.5, -0.2, -0.5))  # y- face, dragged up the screen
    assert _drag(6, (10.0, 10.0)) == BOX  # z points at the viewer: the drag cannot say how far


def test_faces_stay_inside_the_scene_and_apart():
    assert _drag(2, (500.0, 0.0)).hi[0] == 1.0
    squeezed = _drag(1, (500.0, 0.0))  # the x- face pushed past the x+ face
    assert squeezed.lo[0] == pytest.approx(0.5 - MIN_SIZE)


def test_the_centre_moves_the_box_in_the_view_plane_and_keeps_it_inside():
    # 4 px at depth 5 with a 100 px focal length: 0.2 units; screen y points down, world y up
    moved = _drag(0, (4.0, 4.0))
    assert moved.lo == pytest.approx((-0.3, -0.7, -0.5)) and moved.hi == pytest.approx((0.7, 0.3, 0.5))
    far = _drag(0, (1000.0, 0.0))
    assert far.hi[0] == pytest.approx(1.0) and far.size == pytest.approx(BOX.size)  # stopped at the wall
