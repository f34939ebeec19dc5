import math

import numpy as np
import pytest

from nerf.data.cameras import look_at
from viewer.orbit import DragDelta, OrbitCamera, axis_rotation, camera_from_views


def _is_rotation(r):
    return np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(r), 1.0)


def test_axis_rotation_quarter_turn_about_z():
    r = axis_rotation((0, 0, 1), math.pi / 2)
    assert np.allclose(r @ [1, 0, 0], [0, 1, 0])


def test_pose_round_trip_through_c2w():
    c2w = look_at((3.0, -2.0, 1.5), (0.0, 0.0, 0.0)).numpy()
    cam = OrbitCamera(64, 48)
    cam.set_c2w(c2w)
    assert np.allclose(cam.c2w, c2w, atol=1e-6)
    # The target is the origin for a camera looking at it, and the radius its distance.
    assert np.allclose(cam.target, 0.0, atol=1e-6)
    assert cam.radius == pytest.approx(math.sqrt(9 + 4 + 2.25), rel=1e-6)
    other = OrbitCamera(64, 48)
    other.set_c2w(cam.c2w)
    assert np.allclose(other.c2w, cam.c2w, atol=1e-9)


def test_orbit_keeps_distance_and_target_and_looks_at_target():
    cam = OrbitCamera(64, 64, up=(0, 0, 1))
    cam.set_c2w(look_at((4.0, 0.0, 1.0), (0, 0, 0)).numpy())
    eye0 = cam.eye.copy()
    cam.orbit(100, 30)
    assert _is_rotation(cam.rotation)
    assert np.linalg.norm(cam.eye - cam.target) == pytest.approx(cam.radius)
    assert not np.allclose(cam.eye, eye0)
    forward = -cam.c2w[:3, 2]
    assert np.allclose(forward, (cam.target - cam.eye) / cam.radius)
    # Yaw about world up (z) keeps the eye's height when there is no vertical motion.
    z0 = cam.eye[2]
    cam.orbit(50, 0)
    assert cam.eye[2] == pytest.approx(z0)


def test_orbit_is_undone_by_the_opposite_motion_in_reverse_order():
    cam = camera_from_views(look_at((4.0, 1.0, 2.0), (0, 0, 0)).numpy()[None], 64, 64, 40.0)
    start = cam.c2w.copy()
    cam.orbit(40, 0)
    cam.orbit(0, 25)
    cam.orbit(0, -25)
    cam.orbit(-40, 0)
    assert np.allclose(cam.c2w, start, atol=1e-9)


def test_camera_from_views_takes_up_from_the_ring_of_views():
    c2ws = np.stack([look_at((4 * math.cos(a), 4 * math.sin(a), 1.0), (0, 0, 0)).numpy()
                     for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)])
    cam = camera_from_views(c2ws, 64, 64, 40.0, index=3)
    assert np.allclose(cam.up, [0, 0, 1], atol=1e-6)
    assert np.allclose(cam.c2w, c2ws[3], atol=1e-6)


def test_pitch_stops_before_flipping_over_the_pole():
    cam = OrbitCamera(64, 64, up=(0, 0, 1))
    cam.set_c2w(look_at((4.0, 0.0, 1.0), (0, 0, 0)).numpy())
    for _ in range(200):
        cam.orbit(0, 20)
    up_dot = cam.c2w[:3, 2] @ cam.up
    assert abs(up_dot) <= 0.995 + 1e-9
    assert cam.c2w[:3, 1] @ cam.up > 0  # camera y still points roughly up: no flip


def test_pan_moves_target_in_the_image_plane_by_pixel_scale():
    cam = OrbitCamera(100, 100, radius=2.0, fov_y_deg=90.0)  # focal = 50 px
    cam.pan(10, 0)  # drag right: content follows, so the camera moves left (-x)
    assert np.allclose(cam.target, [-10 * 2.0 / 50.0, 0, 0])
    cam.pan(0, 5)  # drag down: camera moves up (+y)
    assert cam.target[1] == pytest.approx(5 * 2.0 / 50.0)
    assert cam.radius == 2.0


def test_zoom_in_and_out_and_clamps():
    cam = OrbitCamera(10, 10, radius=4.0, min_radius=1.0)
    cam.zoom(1)
    assert cam.radius == pytest.approx(4.0 / 1.1)
    cam.zoom(-1)
    assert cam.radius == pytest.approx(4.0)
    cam.zoom(100)
    assert cam.radius == 1.0


def test_move_and_reset():
    cam = OrbitCamera(10, 10, radius=2.0)
    home = cam.c2w.copy()
    cam.move(forward=0.5)
    assert np.allclose(cam.target, [0, 0, -1.0])  # camera looks down -z: forward is -z
    cam.move(right=1.0)
    assert np.allclose(cam.target, [2.0, 0, -1.0])
    cam.reset()
    assert np.allclose(cam.c2w, home)


def test_intrinsics_follow_size_and_fov():
    cam = OrbitCamera(200, 100, fov_y_deg=90.0)
    fx, fy, cx, cy = cam.intrinsics
    assert (fx, fy, cx, cy) == pytest.approx((50.0, 50.0, 100.0, 50.0))
    cam.resize(400, 200)
    assert cam.intrinsics == pytest.approx((100.0, 100.0, 200.0, 100.0))


def test_drag_delta_differences_cumulative_motion():
    drag = DragDelta()
    assert drag.update(10, 5) == (10, 5)
    assert drag.update(15, 5) == (5, 0)
    # The mouse rests: DearPyGui keeps reporting the same cumulative delta -> no motion.
    assert drag.update(15, 5) == (0, 0)
    assert drag.update(15, 5) == (0, 0)
    drag.release()
    assert not drag.active
    assert drag.update(3, -2) == (3, -2)  # a new press starts from zero


def test_resting_mouse_does_not_keep_rotating_the_camera():
    cam = OrbitCamera(64, 64, radius=3.0)
    cam.set_c2w(look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy())
    drag = DragDelta()
    cam.orbit(*drag.update(30, 0))
    after_move = cam.c2w.copy()
    for _ in range(10):
        cam.orbit(*drag.update(30, 0))
    assert np.allclose(cam.c2w, after_move)


def test_unbounded_capture_orbits_the_scene_centre_and_zooms_out_past_the_cameras(tmp_path):
    from nerf.data.formats.registry import load_scene
    from nerf.data.generated.unbounded import write_unbounded_scene
    scene = load_scene(write_unbounded_scene(tmp_path, n_frames=8, width=8, height=6, supersample=1))
    c2ws = scene.split("train").cameras.c2w.numpy()
    cam = camera_from_views(c2ws, 64, 48, 50.0)
    distance = float(np.linalg.norm(c2ws[:, :3, 3], axis=1).mean())
    assert np.linalg.norm(cam.target) < 0.15 * distance  # the region's centre, not a point on the ground
    cam.zoom(-30)
    assert np.linalg.norm(cam.eye) > 5 * distance


def test_look_point_is_where_the_viewing_axes_meet():
    from viewer.orbit import look_point
    target = np.array([1.0, 2.0, 3.0])
    c2ws = np.stack([look_at(tuple(target + off), tuple(target)).numpy()
                     for off in ([4, 0, 1], [0, -3, 2], [-2, 2, 0.5])])
    np.testing.assert_allclose(look_point(c2ws), target, atol=1e-3)


def test_look_point_of_parallel_cameras_lies_on_their_axis_level_with_the_origin():
    # A frontal capture shot straight on: three cameras side by side at z = 3, all looking down -z.
    from viewer.orbit import look_point
    c2ws = np.stack([look_at((x, 0.0, 3.0), (x, 0.0, 0.0), up=(0, 1, 0)).numpy() for x in (-0.5, 0.0, 0.5)])
    np.testing.assert_allclose(look_point(c2ws), [0.0, 0.0, 0.0], atol=1e-6)


def test_a_snapped_pose_turns_about_the_pivot_not_the_origin():
    # A frontal capture whose content sits 2 units in front of the cameras, far from the origin.
    from viewer.orbit import central_view
    c2ws = np.stack([look_at((x, 5.0, 0.0), (x, 5.0, -2.0), up=(0, 1, 0)).numpy() for x in (-0.6, 0.1, 0.2, 0.7)])
    c2ws[:, :3, :3] = c2ws[1, :3, :3]  # shot straight on
    cam = camera_from_views(c2ws, 64, 64, 40.0)
    assert central_view(c2ws) == 1
    np.testing.assert_allclose(cam.c2w, c2ws[1], atol=1e-9)  # the first view is a training camera's
    cam.pivot = np.array([0.1, 5.0, -2.0])
    cam.set_c2w(c2ws[1])
    np.testing.assert_allclose(cam.target, [0.1, 5.0, -2.0], atol=1e-9)
    assert cam.radius == pytest.approx(2.0)
    cam.orbit(80, 0)
    assert np.linalg.norm(cam.eye - cam.pivot) == pytest.approx(2.0)
