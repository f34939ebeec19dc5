"""Camera paths and video files: a turntable around a scene, image/MP4 writing.

Used by nerf-train (headless) and reusable by the viewer (e.g. "export video").
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from nerf.data.cameras import look_at, make_cameras
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


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """[H, W, 3] float in [0, 1] -> uint8 numpy."""
    return (image.detach().float().clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)


def write_png(path: str | Path, image: torch.Tensor | np.ndarray) -> None:
    import imageio.v2 as imageio
    arr = image if isinstance(image, np.ndarray) else to_uint8(image)
    imageio.imwrite(str(path), arr)


def write_mp4(path: str | Path, frames: Iterable[np.ndarray], fps: int = 24) -> int:
    """Write uint8 [H, W, 3] frames to an H.264 MP4 (imageio-ffmpeg). Returns the frame count."""
    import imageio.v2 as imageio
    count = 0
    # macro_block_size=1: keep odd sizes as they are instead of resizing with a warning
    with imageio.get_writer(str(path), fps=fps, codec="libx264", quality=8, macro_block_size=1,
                            ffmpeg_log_level="error") as writer:
        for frame in frames:
            writer.append_data(frame)
            count += 1
    return count


def render_turntable(render: Callable[[Cameras, int], torch.Tensor | None], cameras: Cameras,
                     path: str | Path, fps: int = 24) -> int:
    """Render every camera with render(cameras, i) -> [H, W, 3] (None aborts) into an MP4."""
    def frames():
        for i in range(len(cameras)):
            img = render(cameras, i)
            if img is None:
                return
            yield to_uint8(img)
    return write_mp4(path, frames(), fps)
