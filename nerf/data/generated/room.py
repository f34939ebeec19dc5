"""A capture from inside a room looking out: the cameras stand near the middle of a furnished room and
look outwards at its walls, as a phone panning around a room does (an inside-out capture).

The room is 8 x 6 x 3 units (floor at z = 0): a plank floor, walls of tiles in a different palette
each, a ceiling of light panels, and a window in one wall through which the outdoors (ground, far
landmarks, sky) is seen. A table with a ball and a box on it, a cabinet and a tall post stand between
the cameras and the walls. 60 views on a ring of radius about 1, at eye heights, each looking out
from the ring's centre with a little pan and tilt. The scene centre the loader finds is the middle
of the room (every optical axis passes near it), so the walls lie far outside the cameras' region:
the engine's contracted space has to hold them.

Written to disk by `python -m nerf.commands.generate room --out DIR`.
"""
from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np

from nerf.data.generated.capture import Intrinsics, write_capture
from nerf.data.generated.orbits import cells
from nerf.data.generated.shapes import Box, Cuboid, Cylinder, Sphere, _bricks, _checker_sphere
from nerf.data.generated.synthetic import _shade, pose_at
from nerf.data.generated.unbounded import World, far_objects, shade_rays

HALF = np.array([4.0, 3.0, 1.5])  # the room's half sizes; its centre is CENTRE
CENTRE = np.array([0.0, 0.0, 1.5])
WINDOW = (1.0, 1.0, 2.2)  # in the +x wall: |y| < 1.0, 1.0 < z < 2.2
ROOM_LIGHT = np.array([-0.5, 0.3, -0.8]) / np.linalg.norm([-0.5, 0.3, -0.8])  # from the window, high up
FOV_X = math.radians(70.0)
N_FRAMES = 60
OUTSIDE = World(ground_z=-0.05)  # the outdoors seen through the window, just below the floor
# each face's palette (low, high), in the order -x, +x, -y, +y walls, then the ceiling
PALETTES = (((0.55, 0.45, 0.30), (0.90, 0.80, 0.60)), ((0.30, 0.40, 0.55), (0.70, 0.80, 0.95)),
            ((0.45, 0.55, 0.35), (0.80, 0.90, 0.65)), ((0.55, 0.35, 0.45), (0.95, 0.75, 0.85)),
            ((0.85, 0.85, 0.82), (0.98, 0.98, 0.95)))


def furniture() -> tuple:
    """What stands in the room (file units, z up), all between the camera ring and the walls."""
    return (
        Cuboid(centre=(2.4, -1.6, 0.75), size=(0.6, 0.45, 0.04),
               texture=partial(cells, cell=0.15, low=(0.45, 0.25, 0.12), high=(0.70, 0.45, 0.25))),
        Cylinder(centre=(2.4, -1.6, 0.37), radius=0.08, half_height=0.37,
                 texture=partial(cells, cell=0.05, low=(0.2, 0.2, 0.2), high=(0.4, 0.4, 0.4))),
        Sphere(centre=(2.2, -1.5, 0.97), radius=0.18,
               texture=partial(_checker_sphere, n_lon=12, n_lat=6, a=(0.85, 0.15, 0.12), b=(0.95, 0.90, 0.75))),
        Box(centre=(2.65, -1.75, 0.94), half=0.15,
            texture=partial(_bricks, half=0.15, brick=(0.80, 0.42, 0.18), mortar=(0.88, 0.86, 0.80))),
        Cuboid(centre=(-3.2, 1.8, 0.6), size=(0.4, 0.9, 0.6),
               texture=partial(cells, cell=0.2, low=(0.25, 0.35, 0.30), high=(0.55, 0.70, 0.60))),
        Cylinder(centre=(-1.8, -2.3, 1.1), radius=0.1, half_height=1.1,
                 texture=partial(cells, cell=0.1, low=(0.7, 0.6, 0.2), high=(0.95, 0.85, 0.4))),
    )


def _planks(p: np.ndarray) -> np.ndarray:
    """A wooden floor: planks 0.25 wide along x, 1.2 long, staggered, each its own tint."""
    row = np.floor(p[:, 1] / 0.25)
    col = np.floor((p[:, 0] + 0.4 * row) / 1.2)
    tint = 0.75 + 0.25 * ((row * 7 + col * 3) % 5) / 4
    seam = ((p[:, 1] / 0.25) % 1.0 < 0.06)[:, None]
    return np.where(seam, [0.25, 0.17, 0.10], np.asarray([0.72, 0.52, 0.32]) * tint[:, None])


def _room_hit(o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where rays from inside leave the room's box: distance t [n] and face [n] (0..5 for -x, +x,
    -y, +y, floor, ceiling)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t_axes = np.where(d > 0, (CENTRE + HALF - o) / d,
                          np.where(d < 0, (CENTRE - HALF - o) / d, np.inf))  # [n, 3]; parallel: never
    axis = np.argmin(t_axes, axis=1)
    t = t_axes[np.arange(len(o)), axis]
    positive = d[np.arange(len(o)), axis] > 0
    face = np.where(axis == 2, 4 + positive, 2 * axis + positive)
    return t, face


def shade_room(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Colour [n, 3] of unit rays o, d [n, 3] from inside the room."""
    objects = furniture()
    colour, hit, t_obj = _shade(objects, o, d)
    t_wall, face = _room_hit(o, d)
    walls = np.flatnonzero(~(hit & (t_obj < t_wall)))
    p = o[walls] + t_wall[walls, None] * d[walls]
    f = face[walls]
    window = (f == 1) & (np.abs(p[:, 1]) < WINDOW[0]) & (p[:, 2] > WINDOW[1]) & (p[:, 2] < WINDOW[2])
    albedo = np.empty_like(p)
    for k, (low, high) in zip((0, 1, 2, 3, 5), PALETTES, strict=True):
        sel = f == k
        albedo[sel] = cells(p[sel], 0.5 if k < 4 else 1.0, low, high)
    floor = f == 4
    albedo[floor] = _planks(p[floor])
    axis = np.where(f >= 4, 2, f // 2)
    normal = np.zeros_like(p)
    normal[np.arange(len(p)), axis] = np.where(f % 2 == 1, -1.0, 1.0)  # faces look into the room
    light = 0.55 + 0.45 * np.clip(normal @ -ROOM_LIGHT, 0.0, 1.0)
    out = colour.copy()
    out[walls] = albedo * light[:, None]
    if window.any():
        idx = walls[window]
        out[idx] = shade_rays(far_objects(), o[idx], d[idx], world=OUTSIDE)
    return np.clip(out, 0.0, 1.0)


def room_poses(n: int, seed: int = 0) -> np.ndarray:
    """[n, 4, 4]: cameras on a ring of radius ~1 at eye height, looking outwards with pan and tilt."""
    rng = np.random.default_rng(seed)
    a = 2 * math.pi * (np.arange(n) + rng.uniform(-0.3, 0.3, n)) / max(n, 1)
    radius = 1.0 + rng.uniform(-0.2, 0.2, n)
    height = 1.45 + 0.25 * np.sin(3 * a) + rng.uniform(-0.05, 0.05, n)
    pan = a + rng.uniform(-0.25, 0.25, n)
    tilt = rng.uniform(-0.35, 0.2, n)
    eyes = np.stack([radius * np.cos(a), radius * np.sin(a), height], axis=1)
    looks = np.stack([np.cos(pan) * np.cos(tilt), np.sin(pan) * np.cos(tilt), np.sin(tilt)], axis=1)
    return np.round(np.stack([pose_at(e, e + v) for e, v in zip(eyes, looks, strict=True)]), 8)


def write_room_scene(out_dir: str | Path, n_frames: int = N_FRAMES, width: int = 128, height: int = 96,
                     seed: int = 0, supersample: int = 2) -> Path:
    """Render the capture into `out_dir` (nerfstudio layout, RGB JPGs, no aabb_scale)."""
    intrinsics = [Intrinsics.from_fov(width, height, FOV_X)] * n_frames
    return write_capture(out_dir, shade_room, room_poses(n_frames, seed), intrinsics, width, height, supersample)
