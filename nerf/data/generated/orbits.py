"""360-degree captures of the analytic objects outdoors, the kind that collapses under badly chosen
unbounded defaults (issue 24): textured objects on a ground that runs to the horizon, walls at
different distances, sky; cameras on circles and arcs at different heights, 30-100 views.

Each capture is a `Capture360`: the far things standing around the objects, the camera paths and the
lens; `write_orbit_capture(name, out)` renders it in nerfstudio's layout (nerf.data.generated.capture:
JPGs, per-frame intrinsics, no aabb_scale, no alpha, no splits). Everything is a function of the
seed, so the same call writes the same files. Written to disk by
`python -m nerf.commands.generate ring360|walls360|arcs360 --out DIR`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from nerf.data.generated.capture import Intrinsics, orbit, write_capture
from nerf.data.generated.shapes import Cuboid, Primitive, default_objects
from nerf.data.generated.unbounded import FOV_X, GROUND_Z, far_objects, shade_rays

TARGET = (0.0, 0.0, -0.3)  # the cameras look at the middle of the objects


def cells(p: np.ndarray, cell: float, low, high) -> np.ndarray:
    """Albedo [n, 3] of cubes of side `cell` with a hashed colour each between `low` and `high`: on a
    plane, a patchwork of tiles whose edges give every wall features at any distance."""
    k = np.floor(p / cell).astype(np.int64)
    h = (k[:, 0] * 73856093) ^ (k[:, 1] * 19349663) ^ (k[:, 2] * 83492791)
    mix = (h[:, None] * np.array([2654435761, 2246822519, 3266489917])) % 1000 / 1000.0  # [n, 3] in [0, 1)
    return np.asarray(low) + (np.asarray(high) - np.asarray(low)) * mix


def wall(x: float, y: float, length: float, height: float, along_x: bool, cell: float, low, high) -> Cuboid:
    """A wall 0.3 thick standing on the ground, centred at (x, y), running along x or y."""
    size = (length / 2, 0.15, height / 2) if along_x else (0.15, length / 2, height / 2)
    return Cuboid(centre=(x, y, GROUND_Z + height / 2), size=size,
                  texture=partial(cells, cell=cell, low=low, high=high))


@dataclass(frozen=True)
class Ring:
    """A camera path: `share` of the views on an arc of `span_deg` (360: a circle) around the objects."""

    radius: float  # distance from the z axis through the objects
    height: float  # world z (the ground is at GROUND_Z)
    start_deg: float = 0.0  # azimuth of the first camera
    span_deg: float = 360.0
    share: float = 1.0
    swing: float = 0.0  # the height rises and falls by this much twice per turn


@dataclass(frozen=True)
class Capture360:
    """One 360-degree capture of the default objects on the outdoor ground (nerf.data.generated.unbounded)."""

    description: str  # for `python -m nerf.commands.generate --help`
    far: tuple[Primitive, ...]  # what stands around the objects, on the ground
    rings: tuple[Ring, ...]  # the camera paths, walked one after the other
    n_frames: int  # views by default
    fov_x: float = FOV_X  # horizontal field of view, radians

    def poses(self, n_frames: int, seed: int) -> np.ndarray:
        """[n_frames, 4, 4]: each ring's share of the views, ring after ring, jittered by the seed."""
        rng = np.random.default_rng(seed)
        counts = [max(1, round(r.share * n_frames)) for r in self.rings[:-1]]
        counts.append(max(1, n_frames - sum(counts)))
        out = []
        for ring, n in zip(self.rings, counts, strict=True):
            out.append(orbit(n, ring.radius, ring.height, TARGET, ring.start_deg, ring.span_deg, rng,
                             wobble=0.3, swing=ring.swing))
        return np.concatenate(out)[:n_frames]


def _long_wall() -> tuple[Primitive, ...]:
    return (wall(-4.0, 25.0, 40.0, 6.0, True, 1.2, (0.45, 0.35, 0.30), (0.85, 0.75, 0.65)),)


def _courtyard() -> tuple[Primitive, ...]:
    return (
        wall(0.5, 4.5, 7.0, 2.2, True, 0.35, (0.55, 0.25, 0.20), (0.95, 0.70, 0.55)),  # near, behind the objects
        wall(-9.0, -1.0, 14.0, 4.0, False, 0.7, (0.25, 0.35, 0.45), (0.70, 0.85, 0.90)),  # middle distance
        wall(2.0, -18.0, 30.0, 7.0, True, 1.4, (0.35, 0.40, 0.25), (0.80, 0.85, 0.60)),  # far
    )


CAPTURES = {
    "ring360": Capture360(
        "56 views on one circle whose height rises and falls; a long wall far behind, landmarks, sky",
        _long_wall() + far_objects(), (Ring(3.0, 0.6, swing=0.5),), 56),
    "walls360": Capture360(
        "80 views on two circles (low and wide, high and close); walls at 4.5, 9 and 18 units, sky",
        _courtyard(), (Ring(2.6, 0.1, share=0.5), Ring(3.6, 1.6, start_deg=4.5)), 80),
    "arcs360": Capture360(
        "36 views on three overlapping 140-degree arcs at ground, head and roof height; landmarks, a wall",
        (wall(14.0, 2.0, 16.0, 3.0, False, 0.9, (0.40, 0.30, 0.45), (0.85, 0.75, 0.90)),)
        + far_objects(),
        (Ring(3.0, -0.3, 0.0, 140.0, share=1 / 3), Ring(3.3, 0.9, 110.0, 140.0, share=1 / 3),
         Ring(2.6, 2.2, 220.0, 140.0)), 36),
}


def write_orbit_capture(name: str, out_dir: str | Path, n_frames: int | None = None, width: int = 128,
                        height: int = 96, seed: int = 0, supersample: int = 2) -> Path:
    """Render capture `name` (a key of CAPTURES) into `out_dir`; `n_frames` None: the capture's own count."""
    capture = CAPTURES[name]
    n = capture.n_frames if n_frames is None else n_frames
    shade = partial(shade_rays, default_objects() + capture.far)
    intrinsics = [Intrinsics.from_fov(width, height, capture.fov_x)] * n
    return write_capture(out_dir, shade, capture.poses(n, seed), intrinsics, width, height, supersample)

