"""Frustums of the training cameras: geometry, projection through the orbit camera, picking a click."""
import numpy as np
import pytest

from nerf.data.cameras import look_at
from nerf.data.frustums import FRUSTUM_EDGES, frustum_points
from viewer.frustums import UNKNOWN_COLOUR, frustum_segments, pick, project, psnr_colours


def test_a_frustum_has_its_apex_at_the_eye_and_its_image_plane_at_depth_size():
    c2w = look_at((0.0, -4.0, 0.0), (0.0, 0.0, 0.0)).numpy()[None]
    # 100 x 50 px, f = 50: the image plane at depth 1 spans x in [-1, 1] and y in [-0.5, 0.5]
    pts = frustum_points(c2w, 50.0, 50.0, 50.0, 25.0, 100, 50, size=1.0)[0]
    np.testing.assert_allclose(pts[0], [0, -4, 0], atol=1e-6)
    # looking along +y with z up: the image's top-left corner is at x = -1, z = +0.5, one unit ahead
    np.testing.assert_allclose(pts[1], [-1.0, -3.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(pts[3], [1.0, -3.0, -0.5], atol=1e-6)
    assert pts[5][2] > 0.5  # the up tick sits above the top edge


def test_projection_matches_a_pinhole_worked_by_hand():
    c2w = np.eye(4)  # at the origin looking down -z
    xy, depth = project(np.array([[1.0, 0.5, -2.0], [0.0, 0.0, 3.0]]), c2w, 90.0, 200, 100)
    # f = 0.5 * 100 / tan(45 deg) = 50: x = 100 + 50 * 1 / 2, y = 50 - 50 * 0.5 / 2
    np.testing.assert_allclose(xy[0], [125.0, 37.5])
    assert depth[0] == pytest.approx(2.0) and depth[1] < 0  # behind the eye
    segs, ok = frustum_segments(np.zeros((1, 6, 2)), np.array([[1, 1, 1, 1, 1, -1.0]]))
    assert segs.shape == (1, len(FRUSTUM_EDGES), 2, 2)
    assert ok[0].sum() == len(FRUSTUM_EDGES) - 2  # the two edges to the tick behind the eye are dropped


def _ring_seen_from_above(n=6):
    c2ws = np.stack([look_at((3 * np.cos(a), 3 * np.sin(a), 0.0), (0, 0, 0)).numpy()
                     for a in np.linspace(0, 2 * np.pi, n, endpoint=False)])
    view = look_at((0.0, 0.0, 8.0), (0, 0, 0), up=(0, 1, 0)).numpy()
    pts = frustum_points(c2ws, 50.0, 50.0, 50.0, 50.0, 100, 100, size=0.5)
    return pts, project(pts, view, 50.0, 400, 400)


def test_a_click_on_a_frustum_picks_it_and_a_click_on_nothing_picks_none():
    pts, (xy, depth) = _ring_seen_from_above()
    for i in range(len(xy)):
        apex = xy[i, 0]
        assert pick(tuple(apex + [1.5, -1.0]), xy, depth) == i  # near its apex
        mid_edge = (xy[i, 1] + xy[i, 2]) / 2
        assert pick(tuple(mid_edge), xy, depth) == i
    assert pick((200.0, 200.0), xy, depth) is None  # the ring's empty middle
    assert pick((5.0, 5.0), xy, depth) is None


def test_of_two_frustums_under_the_click_the_nearer_wins():
    near = look_at((0.0, 0.0, 2.0), (0, 0, 0), up=(0, 1, 0)).numpy()
    far = look_at((0.0, 0.0, 1.0), (0, 0, -1), up=(0, 1, 0)).numpy()
    pts = frustum_points(np.stack([far, near]), 50.0, 50.0, 50.0, 50.0, 100, 100, size=0.3)
    view = look_at((0.0, 0.0, 5.0), (0, 0, 0), up=(0, 1, 0)).numpy()
    xy, depth = project(pts, view, 40.0, 200, 200)
    assert pick((100.0, 100.0), xy, depth) == 1  # both image quads contain the centre


def test_psnr_colours_run_from_red_to_green_and_grey_when_unknown():
    low, mid, high, unknown = psnr_colours([10.0, 25.0, 40.0, float("nan")])
    assert low[0] > 200 and low[1] < 100  # red
    assert high[1] > 200 and high[0] < 100  # green
    assert mid[0] > 200 and mid[1] > 180  # amber
    assert unknown == UNKNOWN_COLOUR
