"""nerf/data/paths/keyframes.py: nerfstudio's Kochanek-Bartels paths through every keyframe, smooth between
them, timed by the transitions; the frames a file gives are kept; impossible paths are refused in words."""
import math

import numpy as np
import pytest

from nerf.data.cameras import look_at
from nerf.data.paths.keyframes import (MAX_FRAMES, MAX_SIDE, CameraPath, Frames, Keyframe, check_path, evaluate_path,
                                      orbit_path, sample_path)


def _keys(points, fovs=None, durations=None):
    fovs = fovs or [50.0] * len(points)
    durations = durations or [1.0] * len(points)
    return tuple(Keyframe(c2w=look_at(p, (0.0, 0.0, 0.0)).double().numpy(), fov=f, duration=d)
                 for p, f, d in zip(points, fovs, durations, strict=True))


POINTS = [(3.0, 0.0, 1.0), (0.0, 2.0, 0.5), (-3.0, 0.5, 1.5), (0.0, -4.0, 0.2), (2.0, -2.0, 2.0)]


@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("tension", [0.0, 0.5, 1.0])
def test_passes_through_every_keyframe(loop, tension):
    keys = _keys(POINTS, fovs=[40, 50, 60, 45, 55], durations=[1.0, 2.0, 0.5, 1.5, 1.0])
    path = CameraPath(keys, loop=loop, smoothness=tension)
    starts = np.concatenate([[0.0], np.cumsum(path.segment_durations)])[:len(keys)]
    poses, fovs = evaluate_path(path, starts)
    for k, pose, fov in zip(keys, poses, fovs, strict=True):
        np.testing.assert_allclose(pose, k.c2w, atol=1e-6)
        assert fov == pytest.approx(k.fov)
    if loop:  # the closing time gives the first keyframe again
        end, _ = evaluate_path(path, [path.seconds])
        np.testing.assert_allclose(end[0], keys[0].c2w, atol=1e-6)


def _speeds(path):
    poses, _ = sample_path(path)
    return np.linalg.norm(np.diff(poses[:, :3, 3], axis=0), axis=1) * path.fps, poses


def test_tension_zero_is_the_full_smooth_curve():
    path = CameraPath(_keys(POINTS), loop=True, smoothness=0.0, fps=1000)
    vel, poses = _speeds(path)
    pos = poses[:, :3, 3]
    jump = np.linalg.norm(np.diff(np.diff(pos, axis=0), axis=0), axis=1) * path.fps  # velocity change per frame
    # C1: the velocity changes by O(1/fps) per frame everywhere, keyframes included (a corner would jump by O(1))
    assert jump.max() < 50 * np.median(jump) + 1e-3
    assert vel.min() > 0.1  # never stops at a keyframe
    # and it is a curve: the midpoint of a segment leaves the chord between its keyframes
    mid, _ = evaluate_path(path, [0.5])
    chord = 0.5 * (np.asarray(POINTS[0]) + np.asarray(POINTS[1]))
    assert np.linalg.norm(mid[0, :3, 3] - chord) > 0.1
    rot = poses[:, :3, :3]
    np.testing.assert_allclose(np.einsum("nji,njk->nik", rot, rot), np.broadcast_to(np.eye(3), rot.shape), atol=1e-9)


def test_tension_one_stops_at_each_keyframe():
    path = CameraPath(_keys(POINTS[:4], durations=[1.0] * 4), smoothness=1.0, fps=1000)
    vel, _ = _speeds(path)
    at_key = vel[[999, 1999]]  # the frames into keyframes 1 and 2
    assert at_key.max() < 0.02 * vel.max()


def test_uneven_transitions_set_the_time_at_each_keyframe():
    path = CameraPath(_keys(POINTS[:3], durations=[0.5, 3.0, 1.0]), fps=10)
    assert path.seconds == pytest.approx(3.5) and path.frame_count() == 35
    poses, _ = evaluate_path(path, [0.5, 3.5])
    np.testing.assert_allclose(poses[0], path.keyframes[1].c2w, atol=1e-6)
    np.testing.assert_allclose(poses[1], path.keyframes[2].c2w, atol=1e-6)


def test_frame_counts_follow_nerfstudio_and_single_keyframe():
    keys = _keys(POINTS[:3], durations=[1.0, 1.0, 1.0])
    assert CameraPath(keys, fps=30).frame_count() == 60  # int(seconds x fps): stops short of the last keyframe
    assert CameraPath(keys, loop=True, fps=30).frame_count() == 90
    assert CameraPath(keys, fps=29.97).frame_count() == 59
    one = CameraPath(keys[:1])
    poses, _ = sample_path(one)
    assert len(poses) == 1 and np.allclose(poses[0], keys[0].c2w)


def test_given_frames_are_rendered_as_they_are_until_an_edit():
    keys = _keys(POINTS[:3])
    given = Frames(poses=np.stack([np.eye(4)] * 7), fovs=np.full(7, 33.0))
    path = CameraPath(keys, frames=given, fps=24)
    poses, fovs = sample_path(path)
    assert path.frame_count() == 7 and np.array_equal(poses, given.poses) and np.all(fovs == 33.0)
    edited = path.with_keyframes(keys[:2])
    assert edited.frames is None and edited.frame_count() == 24


def test_orbit_stays_on_its_circle():
    path = orbit_path((0, 0, 0), (0, 0, 1), radius=2.0, height=0.5, seconds=2.0, fov=40, fps=50, width=8,
                      height_px=8)
    poses, _ = sample_path(path)
    assert len(poses) == 100
    r = np.linalg.norm(poses[:, :2, 3], axis=1)
    assert np.abs(r - 2.0).max() < 0.002 and np.allclose(poses[:, 2, 3], 0.5)
    fwd = -poses[:, :3, 2]  # looks at the centre
    to_centre = -poses[:, :3, 3] / np.linalg.norm(poses[:, :3, 3], axis=1, keepdims=True)
    assert np.einsum("ni,ni->n", fwd, to_centre).min() > math.cos(math.radians(1.0))


@pytest.mark.parametrize("change, problem", [
    ({"keyframes": ()}, "no keyframes"),
    ({"fps": 0.0}, "fps is 0"),
    ({"fps": float("nan")}, "fps is nan"),
    ({"fps": 1e308}, "frames"),  # seconds x fps overflows: refused before any frame exists
    ({"fps": 1e10}, f"at most {MAX_FRAMES}"),
    ({"width": 10 ** 12}, f"1..{MAX_SIDE}"),
    ({"height": 0}, "render size"),
    ({"camera_type": "vr180"}, "camera_type 'vr180'"),
    ({"smoothness": 2.0}, "tension"),
])
def test_check_path_reports_problems(change, problem):
    from dataclasses import replace
    path = replace(CameraPath(_keys(POINTS[:3])), **change)
    assert problem in check_path(path)


def test_check_path_bad_keyframes():
    bad = Keyframe(c2w=np.full((4, 4), np.nan))
    assert "not a finite" in check_path(CameraPath((bad,)))
    assert "lasts 0.0 seconds" in check_path(CameraPath(_keys(POINTS[:2], durations=[0.0, 0.0])))
    assert check_path(CameraPath(_keys(POINTS[:2], durations=[1.0, 0.0]))) is None  # the unused closing one
