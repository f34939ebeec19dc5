"""A product shot: the analytic objects on a plain white backdrop, photographed in RGB.

The objects stand on a white studio floor that fades into a white sweep behind them, with their
shadows on the floor; there is no alpha, so the white background has to be modelled, not explained
by floaters in front of the cameras (issue 24 found exactly that: an orange fog). 40 views on two
turntable circles; every frame has its own intrinsics (the zoom, the principal point and the OPENCV
lens distortion k1, k2, p1, p2 drift from frame to frame) and the transforms.json says
`aabb_scale: 1`, as instant-ngp's tools write for an object that fills the cameras' view.

Written to disk by `python -m nerf.commands.generate backdrop --out DIR`.
"""
from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np

from nerf.data.generated.capture import Intrinsics, orbit, write_capture
from nerf.data.generated.shapes import default_objects
from nerf.data.generated.unbounded import World, shade_rays

WHITE = (0.97, 0.97, 0.96)
STUDIO = World(ground_albedo=lambda p: np.full(p.shape, 0.93), haze_distance=8.0, horizon=WHITE, zenith=WHITE)
FOV_X = math.radians(50.0)
N_FRAMES = 40
TARGET = (0.0, 0.0, -0.3)


def backdrop_poses(n: int, seed: int = 0) -> np.ndarray:
    """[n, 4, 4]: half the views on a low turntable circle, half on a high one, jittered by the seed."""
    rng = np.random.default_rng(seed)
    low = orbit(n // 2, 3.2, 0.4, TARGET, 0.0, 360.0, rng, wobble=0.3)
    high = orbit(n - n // 2, 3.0, 1.6, TARGET, 360.0 / max(n, 1), 360.0, rng, wobble=0.3)
    return np.concatenate([low, high])


def backdrop_intrinsics(n: int, width: int, height: int, seed: int = 0) -> list[Intrinsics]:
    """Per-frame intrinsics: a zoom within +-5%, the principal point within 2% of the size, and a barrel
    lens (k1 about -0.1) whose coefficients drift, as a phone's calibration does between frames."""
    rng = np.random.default_rng(seed + 1)
    base = Intrinsics.from_fov(width, height, FOV_X)
    out = []
    for _ in range(n):
        zoom = 1.0 + rng.uniform(-0.05, 0.05)
        out.append(Intrinsics(
            fx=round(base.fx * zoom, 4), fy=round(base.fy * zoom * (1.0 + rng.uniform(-0.003, 0.003)), 4),
            cx=round(base.cx + rng.uniform(-0.02, 0.02) * width, 4),
            cy=round(base.cy + rng.uniform(-0.02, 0.02) * height, 4),
            distortion=(round(rng.uniform(-0.12, -0.08), 5), round(rng.uniform(0.01, 0.03), 5),
                        round(rng.uniform(-1e-3, 1e-3), 6), round(rng.uniform(-1e-3, 1e-3), 6))))
    return out


def write_backdrop_scene(out_dir: str | Path, n_frames: int = N_FRAMES, width: int = 128, height: int = 96,
                         seed: int = 0, supersample: int = 2) -> Path:
    """Render the capture into `out_dir` (nerfstudio layout, RGB JPGs, aabb_scale 1)."""
    shade = partial(shade_rays, default_objects(), world=STUDIO)
    return write_capture(out_dir, shade, backdrop_poses(n_frames, seed),
                         backdrop_intrinsics(n_frames, width, height, seed), width, height, supersample,
                         aabb_scale=1)
