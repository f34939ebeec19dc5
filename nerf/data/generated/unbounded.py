"""An unbounded capture of the analytic scene: what a phone video of objects outdoors looks like.

The default scene's objects (nerf.data.generated.shapes) stand on an endless checkered ground; a tower, a
block and a big ball stand tens of units away, and a sky fills every ray that hits nothing. Cameras
walk a wobbly circle around the objects at head height, looking slightly down, so every image holds
near objects, far ones, the ground to the horizon and the sky. The files are what nerfstudio's
processing writes: RGB JPGs and one transforms.json with per-frame intrinsics, no `aabb_scale` and
no splits (the loader holds out every 8th frame), so the scene tests the engine's unbounded path.

Far away the ground fades into a haze of the horizon's colour (aerial perspective); that also keeps
the checkers from aliasing into moire where they get smaller than a pixel.

Written to disk by `python -m nerf.commands.generate unbounded --out DIR`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from nerf.data.generated.capture import Intrinsics, render_frame, write_capture
from nerf.data.generated.synthetic import AMBIENT, DIFFUSE, LIGHT_DIR, _shade, _trace, pose_at
from nerf.data.generated.shapes import EPS, Box, Cylinder, Sphere, default_objects

GROUND_Z = -0.65  # the default scene's disk rests on it
FOV_X = math.radians(65.0)  # a phone's wide lens: sky and ground share every frame
HAZE_DISTANCE = 30.0  # e-folding distance of the ground's fade into the horizon colour
HORIZON, ZENITH = np.array([0.82, 0.87, 0.92]), np.array([0.30, 0.48, 0.78])


def _flat(colour):
    return lambda p: np.broadcast_to(np.asarray(colour, np.float64), p.shape).copy()


def _stripes(p: np.ndarray) -> np.ndarray:
    light = np.floor(p[:, 2] / 0.5) % 2 == 0
    return np.where(light[:, None], [0.85, 0.82, 0.75], [0.55, 0.30, 0.25])


def far_objects() -> tuple:
    """Landmarks well outside the objects' unit cube, standing on the ground (file units, z up)."""
    return (
        Cylinder(centre=(6.0, -22.0, GROUND_Z + 4.0), radius=1.2, half_height=4.0, texture=_stripes),
        Box(centre=(17.0, 8.0, GROUND_Z + 2.0), half=2.0, texture=_flat((0.35, 0.45, 0.60))),
        Sphere(centre=(-24.0, 10.0, GROUND_Z + 3.5), radius=3.5, texture=_flat((0.25, 0.55, 0.30))),
    )


def _ground_albedo(p: np.ndarray) -> np.ndarray:
    checker = (np.floor(p[:, 0] / 0.4) + np.floor(p[:, 1] / 0.4)) % 2 == 0
    tint = 0.9 + 0.1 * np.sin(0.7 * p[:, 0]) * np.cos(0.5 * p[:, 1])  # breaks the grid's regularity
    return np.where(checker[:, None], [0.72, 0.68, 0.55], [0.40, 0.45, 0.32]) * tint[:, None]


@dataclass(frozen=True)
class World:
    """What a ray meets when it misses every object: a lit ground plane that fades with distance into
    the horizon's colour (aerial perspective), and a sky from `horizon` to `zenith` above it."""

    ground_albedo: Callable[[np.ndarray], np.ndarray] = _ground_albedo  # ground points [n, 3] -> albedo [n, 3]
    haze_distance: float = HAZE_DISTANCE  # e-folding distance of the ground's fade
    horizon: tuple[float, float, float] = tuple(HORIZON)
    zenith: tuple[float, float, float] = tuple(ZENITH)
    ground_z: float = GROUND_Z

    def sky(self, d: np.ndarray) -> np.ndarray:
        """Colour [n, 3] of unit directions d [n, 3]: horizon to zenith, the same below the horizon."""
        up = np.clip(d[:, 2], 0.0, 1.0)[:, None] ** 0.6
        return np.asarray(self.horizon) * (1.0 - up) + np.asarray(self.zenith) * up


OUTDOORS = World()


def shade_rays(objects, o: np.ndarray, d: np.ndarray, world: World = OUTDOORS) -> np.ndarray:
    """Colour [n, 3] of unit rays o, d [n, 3]: objects, else the lit and hazed ground, else the sky."""
    colour, hit, t_obj = _shade(objects, o, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(d[:, 2] < 0, (world.ground_z - o[:, 2]) / d[:, 2], np.inf)
    ground = np.flatnonzero(~hit & (t_ground > 0) & np.isfinite(t_ground))
    out = np.where(hit[:, None], colour, world.sky(d))
    t = t_ground[ground]
    p = o[ground] + t[:, None] * d[ground]
    shadow_t, _ = _trace(objects, p + np.array([0.0, 0.0, 10 * EPS]), np.repeat(LIGHT_DIR[None], len(p), 0))
    lit = (~np.isfinite(shadow_t)) * LIGHT_DIR[2]
    lambert = world.ground_albedo(p) * (AMBIENT + DIFFUSE * lit)[:, None]
    fade = np.exp(-t / world.haze_distance)[:, None]
    out[ground] = lambert * fade + np.asarray(world.horizon) * (1.0 - fade)
    return np.clip(out, 0.0, 1.0)


def render_outdoor(c2w: np.ndarray, width: int, height: int, fov_x: float = FOV_X,
                   supersample: int = 3, objects=None) -> np.ndarray:
    """RGB [H, W, 3] float32 in [0, 1] of the outdoor scene from c2w [4, 4] (OpenGL convention)."""
    objects = default_objects() + far_objects() if objects is None else objects
    return render_frame(partial(shade_rays, objects), c2w, Intrinsics.from_fov(width, height, fov_x),
                        width, height, supersample)


def capture_poses(n: int, seed: int = 0) -> np.ndarray:
    """n cameras [n, 4, 4] on a wobbly circle around the objects, at head height, looking at them."""
    rng = np.random.default_rng(seed)
    a = 2 * math.pi * (np.arange(n) + rng.uniform(-0.3, 0.3, n)) / n
    radius = 3.0 + 0.4 * np.sin(3 * a) + rng.uniform(-0.1, 0.1, n)
    z = 0.5 + 0.25 * np.cos(2 * a) + rng.uniform(-0.05, 0.05, n)
    targets = np.stack([0.2 * np.cos(a), 0.2 * np.sin(a), np.full(n, -0.15)], axis=1)
    poses = [pose_at(np.array([r * math.cos(t), r * math.sin(t), h]), tgt)
             for r, t, h, tgt in zip(radius, a, z, targets, strict=True)]
    return np.round(np.stack(poses), 8)  # as written to the json, so images match the stored poses


def write_unbounded_scene(out_dir: str | Path, n_frames: int = 48, width: int = 96, height: int = 72,
                          seed: int = 0, supersample: int = 3, quality: int = 95) -> Path:
    """Render the capture into `out_dir`: images/frame_NNNNN.jpg and a nerfstudio transforms.json."""
    shade = partial(shade_rays, default_objects() + far_objects())
    intrinsics = [Intrinsics.from_fov(width, height, FOV_X)] * n_frames
    return write_capture(out_dir, shade, capture_poses(n_frames, seed), intrinsics, width, height, supersample,
                         quality=quality)
