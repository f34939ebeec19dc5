"""nerf/data/paths/keyframes.py: the spline passes through every keyframe and is smooth between them."""
import math

import numpy as np
import pytest

from nerf.data.paths.keyframes import CameraPath, Keyframe, check_path, evaluate_path, orbit_path, sample_path
from nerf.data.cameras import look_at


def _keys(points, fovs=None, durations=None):
    fovs = fovs or [50.0] * len(points)
    durations = durations or [1.0] * len(points)
    return tuple(Keyframe(c2w=look_at(p, (0.0, 0.0, 0.0)).double().numpy(), fov=f, duration=d)
                 for p, f, d in zip(points, fovs, durations, strict=True))


POINTS = [(3.0, 0.0, 1.0), (0.0, 2.0, 0.5), (-3.0, 0.5, 1.5), (0.0, -4.0, 0.2), (2.0, -2.0, 2.0)]


@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("smoothness", [0.0, 0.5, 1.0])
def test_passes_through_every_keyframe(loop, smoothness):
    keys = _keys(POINTS, fovs=[40, 50, 60, 45, 55], durations=[1.0, 2.0, 0.5, 1.5, 1.0])
    path = CameraPath(keys, loop=loop, smoothness=smoothness)
    starts = np.concatenate([[0.0], np.cumsum(path.segment_durations)])[:len(keys)]
    poses, fovs = evaluate_path(path, starts)
    for k, pose, fov in zip(keys, poses, fovs, strict=True):
        np.testing.assert_allclose(pose, k.c2w, atol=1e-6)
        assert fov == pytest.approx(k.fov)
    if loop:  # the closing time gives the first keyframe again
        end, _ = evaluate_path(path, [path.seconds])
        np.testing.assert_allclose(end[0], keys[0].c2w, atol=1e-6)


def test_smooth_between_keyframes():
    path = CameraPath(_keys(POINTS, durations=[1.0] * 5), loop=True, smoothness=1.0, fps=1000)
    poses, _ = sample_path(path)
    pos = poses[:, :3, 3]
    vel = np.diff(pos, axis=0) * path.fps  # [n-1, 3] units per second
    jump = np.linalg.norm(np.diff(vel, axis=0), axis=1) / path.fps  # velocity change per frame
    # C1: the velocity changes by O(1/fps) per frame everywhere, keyframes included (a corner would jump by O(1))
    assert jump.max() < 50 * np.median(jump) + 1e-3
    assert np.linalg.norm(vel, axis=1).min() > 0.1  # never stops at a keyframe
    rot = poses[:, :3, :3]
    angle = np.arccos(np.clip((np.einsum("nij,nij->n", rot[1:], rot[:-1]) - 1) / 2, -1, 1)) * path.fps
    assert np.abs(np.diff(angle)).max() < 0.05  # angular speed changes smoothly too
    # the rotation stays a rotation
    np.testing.assert_allclose(np.einsum("nji,njk->nik", rot, rot), np.broadcast_to(np.eye(3), rot.shape), atol=1e-6)


def test_straight_at_zero_smoothness():
    path = CameraPath(_keys(POINTS[:3]), smoothness=0.0)
    poses, _ = evaluate_path(path, np.linspace(0.0, 1.0, 11))
    a, b = POINTS[0], POINTS[1]
    expect = np.asarray(a) + np.linspace(0, 1, 11)[:, None] * (np.asarray(b) - np.asarray(a))
    np.testing.assert_allclose(poses[:, :3, 3], expect, atol=1e-6)


def test_frame_counts_and_single_keyframe():
    keys = _keys(POINTS[:3], durations=[1.0, 1.0, 1.0])
    assert CameraPath(keys, fps=30).frame_count() == 61  # open: ends on the last keyframe
    assert CameraPath(keys, loop=True, fps=30).frame_count() == 90  # loop: 3 segments, no repeated frame
    one = CameraPath(keys[:1])
    poses, _ = sample_path(one)
    assert len(poses) == 1 and np.allclose(poses[0], keys[0].c2w)


def test_orbit_stays_on_its_circle():
    path = orbit_path((0, 0, 0), (0, 0, 1), radius=2.0, height=0.5, seconds=2.0, fov=40, fps=50, width=8,
                      height_px=8)
    poses, _ = sample_path(path)
    assert len(poses) == 100
    r = np.linalg.norm(poses[:, :2, 3], axis=1)
    assert np.abs(r - 2.0).max() < 0.01 and np.allclose(poses[:, 2, 3], 0.5)
    fwd = -poses[:, :3, 2]  # looks at the centre
    to_centre = -poses[:, :3, 3] / np.linalg.norm(poses[:, :3, 3], axis=1, keepdims=True)
    assert np.einsum("ni,ni->n", fwd, to_centre).min() > math.cos(math.radians(1.0))


def test_check_path_reports_problems():
    assert check_path(CameraPath()) == "the camera path has no keyframes"
    bad = Keyframe(c2w=np.full((4, 4), np.nan))
    assert "not a finite" in check_path(CameraPath((bad,)))
    keys = _keys(POINTS[:2], durations=[0.0, 0.0])
    assert "0 seconds" in check_path(CameraPath(keys))
