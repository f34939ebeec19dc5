"""Turntable poses: a circle around a scene's training views, or around the current view.

Used by nerf-train (headless) and by the viewer's turntable button; both render the poses with
nerf.export.render_path.render_video.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from nerf.data.cameras import axis_rotation, look_at, make_cameras
from nerf.data.scene import Cameras, Scene


def turntable_poses(scene: Scene, n_frames: int, split: str = "train") -> torch.Tensor:
    """Camera-to-world matrices [n_frames, 4, 4] on a circle around the scene centre.

    The circle's axis is the mean "up" of the training cameras, its radius and height are their
    mean distance and elevation, so the path sees what the training views saw. For forward-facing
    (NDC) scenes the cameras instead circle the mean camera position in its image plane, looking
    along its mean viewing direction (a full orbit would leave the captured frustum).
    """
    c2w = scene.split(split).cameras.c2w.double()  # [N, 4, 4]
    pos = c2w[:, :3, 3]
    up = c2w[:, :3, 1].mean(0)
    up = up / up.norm()
    angles = [2.0 * math.pi * i / n_frames for i in range(n_frames)]
    poses = []
    if scene.ndc:
        centre = pos.mean(0)
        fwd = -c2w[:, :3, 2].mean(0)
        fwd = fwd / fwd.norm()
        right = torch.linalg.cross(fwd, up)
        right = right / right.norm()
        up2 = torch.linalg.cross(right, fwd)
        radius = float((pos - centre).norm(dim=-1).mean()) or 0.1
        for a in angles:
            eye = centre + radius * (math.cos(a) * right + math.sin(a) * up2)
            poses.append(look_at(eye.float(), (eye + fwd).float(), up.float()))
        return torch.stack(poses)
    height = float((pos @ up).mean())
    radius = float((pos - (pos @ up)[:, None] * up).norm(dim=-1).mean())
    # two axes perpendicular to up, starting at the first training camera's azimuth
    a0 = pos[0] - (pos[0] @ up) * up
    a0 = a0 / a0.norm() if a0.norm() > 1e-9 else torch.linalg.cross(up, torch.tensor([1.0, 0, 0]).double())
    a1 = torch.linalg.cross(up, a0)
    for a in angles:
        eye = up * height + radius * (math.cos(a) * a0 + math.sin(a) * a1)
        poses.append(look_at(eye.float(), (0.0, 0.0, 0.0), up.float()))
    return torch.stack(poses)


def turntable_cameras(scene: Scene, n_frames: int, max_size: int = 256) -> Cameras:
    """Turntable cameras with the training field of view, at most max_size pixels on a side."""
    cams = scene.split("train").cameras
    s = min(1.0, max_size / max(cams.width, cams.height))
    w, h = max(1, round(cams.width * s)), max(1, round(cams.height * s))
    fy = float(cams.fy[0]) * h / cams.height
    fov_y = math.degrees(2.0 * math.atan(0.5 * h / fy))
    return make_cameras(turntable_poses(scene, n_frames), w, h, fov_y_deg=fov_y)


def turntable_c2ws(c2w: np.ndarray, target: np.ndarray, up: np.ndarray, n_frames: int) -> np.ndarray:
    """[n, 4, 4] poses turning `c2w` [4, 4] once around the axis through `target` along `up`.

    The viewer's turntable: it starts from the current view instead of the training cameras."""
    poses = []
    for k in range(n_frames):
        r = np.eye(4)
        r[:3, :3] = axis_rotation(up, 2.0 * math.pi * k / n_frames)
        t = np.eye(4)
        t[:3, 3] = target
        t_inv = np.eye(4)
        t_inv[:3, 3] = -np.asarray(target)
        poses.append(t @ r @ t_inv @ c2w)
    return np.stack(poses)
