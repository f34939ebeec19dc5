"""nerf/data/paths/turntable.py: the orbit generator and the scene turntable."""
import math
from pathlib import Path

import numpy as np
import torch

from nerf.data.cameras import look_at, make_cameras
from nerf.data.paths.turntable import orbit_poses, turntable_poses
from nerf.data.scene import Scene, Split


def test_turntable_poses_circle_the_target():
    c2w = look_at((3.0, 0.0, 1.0), (0, 0, 0)).numpy().astype(np.float64)
    poses = orbit_poses(c2w, np.zeros(3), np.array([0, 0, 1.0]), 4)
    assert np.allclose(poses[0], c2w)
    assert np.allclose(poses[1][:3, 3], [0.0, 3.0, 1.0], atol=1e-9)
    assert np.allclose(np.linalg.norm(poses[:, :3, 3], axis=1), math.sqrt(10))


def _scene_with_cameras(c2w: torch.Tensor, ndc: bool = False) -> Scene:
    cams = make_cameras(c2w, 8, 6, fov_y_deg=40.0)
    split = Split(name="train", images=torch.zeros(len(cams), 6, 8, 3), cameras=cams)
    return Scene(name="s", format="transforms", root=Path("."), splits={"train": split}, bound=1.0, ndc=ndc)


def test_scene_turntable_is_look_at_from_each_point_of_the_cameras_circle():
    eyes = [(3.0, 0.5, 1.0), (-1.0, 2.8, 1.2), (0.2, -3.1, 0.8)]
    scene = _scene_with_cameras(torch.stack([look_at(e, (0.0, 0.0, 0.0)) for e in eyes]))
    poses = turntable_poses(scene, 8).double()
    # the reference, frame by frame: the axis is the cameras' mean up, the circle their mean height and
    # radius about it, starting at the first camera's azimuth, each frame looking at the centre
    c2w = scene.split("train").cameras.c2w.double().numpy()
    up = c2w[:, :3, 1].mean(0)
    up /= np.linalg.norm(up)
    pos = c2w[:, :3, 3]
    height = (pos @ up).mean()
    radius = np.linalg.norm(pos - np.outer(pos @ up, up), axis=1).mean()
    a0 = pos[0] - (pos[0] @ up) * up
    a0 /= np.linalg.norm(a0)
    a1 = np.cross(up, a0)
    assert not np.allclose(up, [0.0, 0.0, 1.0], atol=1e-3)  # a tilted axis: the test sees it
    for k, pose in enumerate(poses):
        a = 2.0 * math.pi * k / 8
        eye = up * height + radius * (math.cos(a) * a0 + math.sin(a) * a1)
        torch.testing.assert_close(pose, look_at(eye, (0.0, 0.0, 0.0), up, dtype=torch.float64), atol=1e-6, rtol=0)


def test_orbit_keeps_a_camera_looking_at_the_centre_and_level():
    centre = np.array([0.5, -0.2, 0.3])
    start = look_at((2.0, 1.0, 1.5), tuple(centre), dtype=torch.float64).numpy()
    poses = orbit_poses(start, centre, (0.0, 0.0, 2.0), 7)  # the axis needs no unit length
    to_centre = centre - poses[:, :3, 3]
    to_centre /= np.linalg.norm(to_centre, axis=1, keepdims=True)
    assert np.allclose(np.einsum("ni,ni->n", -poses[:, :3, 2], to_centre), 1.0)
    assert np.allclose(poses[:, 2, 0], 0.0, atol=1e-12)  # camera x stays horizontal: no roll
    assert np.allclose(np.linalg.norm(poses[:, :3, 3] - centre, axis=1), np.linalg.norm(start[:3, 3] - centre))
