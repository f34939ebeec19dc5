"""A small hand-held capture of the analytic scene, with its true cameras, for nerf-process tests.

The default objects alone are mostly stripes, rings and checks: repeating patterns on which SIFT
finds few features it can tell apart at 128 px. The capture therefore stands them on a large
floor and inside a dome, both covered in random colour cells, like the clutter around a real object.
"""
import math
from functools import partial

import numpy as np
from PIL import Image

from nerf.data.generated import synthetic
from nerf.data.generated.shapes import Cylinder, Sphere, default_objects
from nerf import media

SIZE = 128
FOV_X = math.radians(60.0)
ORBIT_RADIUS = 2.6
ARC_DEGREES = 180.0  # a half orbit: 7.5 degrees between neighbouring frames of 24


def _cells(p: np.ndarray, cell: float) -> np.ndarray:
    """Albedo [n, 3] of random-coloured cubes of side `cell`; above 1 so ambient light alone is bright."""
    k = np.floor(p / cell).astype(np.int64)
    h = (k[:, 0] * 73856093) ^ (k[:, 1] * 19349663) ^ (k[:, 2] * 83492791)
    rng = (h[:, None] * np.array([2654435761, 2246822519, 3266489917])) % 1000 / 1000.0
    return (0.15 + 0.85 * rng) * 2.5


def capture_objects():
    return default_objects() + (
        Cylinder(centre=(0.0, 0.0, -0.70), radius=3.5, half_height=0.05,
                           texture=partial(_cells, cell=0.12)),
        Sphere(centre=(0.0, 0.0, 0.0), radius=5.0, texture=partial(_cells, cell=0.3)),
    )


def capture_poses(n: int) -> np.ndarray:
    """Camera-to-world [n, 4, 4] on a half orbit that bobs between 20 and 40 degrees of elevation."""
    poses = []
    for i in range(n):
        a = math.radians(ARC_DEGREES) * i / n
        el = math.radians(30.0 + 10.0 * math.sin(2.0 * math.pi * i / n))
        eye = ORBIT_RADIUS * np.array([math.cos(el) * math.cos(a), math.cos(el) * math.sin(a), math.sin(el)])
        poses.append(synthetic.pose_at(eye, (0.0, 0.0, -0.3)))
    return np.stack(poses)


def render_capture(n: int = 24, size: int = SIZE) -> tuple[list[np.ndarray], np.ndarray]:
    """-> (uint8 RGB frames [size, size, 3], true camera-to-world [n, 4, 4])."""
    objects, poses, frames = capture_objects(), capture_poses(n), []
    for c2w in poses:
        rgb, _ = synthetic.render_view(c2w, size, size, FOV_X, 2, objects)  # the dome: alpha is 1
        frames.append((rgb * 255 + 0.5).astype(np.uint8))
    return frames, poses


def write_folder(frames, folder, suffix=".png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"view_{i:03d}{suffix}")
    return folder


def write_video(frames, path, repeat: int = 1):
    """MP4 with each frame shown `repeat` times, as a slow hand-held pass would give."""
    media.write_video(path, (f for f in frames for _ in range(repeat)), fps=24)
    return path


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Similarity (s, R, t) minimising |s R src + t - dst|^2 over points [n, 3] (Umeyama 1991)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ d @ vt
    scale = np.trace(np.diag(sig) @ d) / (a ** 2).sum(axis=1).mean()
    return scale, rot, mu_d - scale * rot @ mu_s


def centre_errors(recovered: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Distance [n] of each recovered camera centre from the truth after the best similarity."""
    s, rot, t = umeyama(recovered, truth)
    return np.linalg.norm((s * recovered @ rot.T + t) - truth, axis=1)
