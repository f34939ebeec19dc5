"""Orbits: one generator (`orbit_poses`: a pose turned about an axis), and the turntable of a scene
that picks the axis, radius and height from its training views.

Used by nerf-train (headless), by the viewer's turntable button (around the current view) and by
nerf-render's --orbit (nerf.data.paths.keyframes.orbit_path); the videos are rendered by
nerf.export.render_path.render_to_file.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from nerf.data.cameras import fov_deg, look_at, make_cameras
from nerf.data.scene import Cameras, Scene


def turntable_poses(scene: Scene, n_frames: int, split: str = "train") -> torch.Tensor:
    """Camera-to-world matrices [n_frames, 4, 4] on a circle around the scene centre.

    The circle's axis is the mean "up" of the training cameras, its radius and height are their
    mean distance and elevation, so the path sees what the training views saw. For forward-facing
    (NDC) scenes the cameras instead circle the mean camera position in its image plane, looking
    along its mean viewing direction (a full orbit would leave the captured frustum).
    """
    c2w = scene.full_cameras(split).c2w.double()  # [N, 4, 4]: all views, on a distributed rank too
    pos = c2w[:, :3, 3]
    up = c2w[:, :3, 1].mean(0)
    up = up / up.norm()
    if scene.ndc:
        centre = pos.mean(0)
        fwd = -c2w[:, :3, 2].mean(0)
        fwd = fwd / fwd.norm()
        right = torch.linalg.cross(fwd, up)
        right = right / right.norm()
        up2 = torch.linalg.cross(right, fwd)
        radius = float((pos - centre).norm(dim=-1).mean()) or 0.1
        poses = []
        for a in (2.0 * math.pi * i / n_frames for i in range(n_frames)):
            eye = centre + radius * (math.cos(a) * right + math.sin(a) * up2)
            poses.append(look_at(eye.float(), (eye + fwd).float(), up.float()))
        return torch.stack(poses)
    height = float((pos @ up).mean())
    radius = float((pos - (pos @ up)[:, None] * up).norm(dim=-1).mean())
    # the orbit starts at the first training camera's azimuth
    a0 = pos[0] - (pos[0] @ up) * up
    a0 = a0 / a0.norm() if a0.norm() > 1e-9 else torch.linalg.cross(up, torch.tensor([1.0, 0, 0]).double())
    start = look_at(up * height + radius * a0, (0.0, 0.0, 0.0), up, dtype=torch.float64).numpy()
    return torch.as_tensor(orbit_poses(start, np.zeros(3), up.numpy(), n_frames), dtype=torch.float32)


def turntable_cameras(scene: Scene, n_frames: int, max_size: int = 256) -> Cameras:
    """Turntable cameras with the training field of view, at most max_size pixels on a side."""
    cams = scene.full_cameras("train")
    s = min(1.0, max_size / max(cams.width, cams.height))
    w, h = max(1, round(cams.width * s)), max(1, round(cams.height * s))
    fov = fov_deg(float(cams.fy[0]), cams.height)  # the same at any size
    return make_cameras(turntable_poses(scene, n_frames), w, h, fov_y_deg=fov)


def orbit_poses(c2w: np.ndarray, centre, axis, n_frames: int) -> np.ndarray:
    """[n_frames, 4, 4] float64: the pose c2w [4, 4] turned once around the line through `centre`
    along `axis`, in equal steps; the first is c2w itself. A camera looking at the centre keeps
    looking at it, and one whose up is `axis` keeps the horizon level."""
    axis = np.asarray(axis, np.float64)
    centre = np.asarray(centre, np.float64)
    c2w = np.asarray(c2w, np.float64)
    angles = 2.0 * math.pi * np.arange(n_frames) / n_frames
    turns = Rotation.from_rotvec(angles[:, None] * (axis / np.linalg.norm(axis))).as_matrix()  # [n, 3, 3]
    poses = np.tile(np.eye(4), (n_frames, 1, 1))
    poses[:, :3, :3] = turns @ c2w[:3, :3]
    poses[:, :3, 3] = (turns @ (c2w[:3, 3] - centre)) + centre
    return poses
