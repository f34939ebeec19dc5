"""The default scene's objects for nerf.data.generated.synthetic: textures, analytic primitives, and their layout.

Each primitive intersects unit rays exactly (a sphere tracer for the torus) and shades from a
texture that is a function of the local hit point, so patterns move with their object. Units are
the scene files' (world z up, everything inside [-1, 1]^3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

Texture = Callable[[np.ndarray], np.ndarray]  # local hit points [n, 3] -> albedo [n, 3]

EPS = 1e-4  # shadow-ray offset and sphere-tracing tolerance, far below a pixel at 128 px


# --- textures: functions of the local hit point, so they move with their object ---------------

def _mix(mask: np.ndarray, a, b) -> np.ndarray:
    return np.where(mask[:, None], np.asarray(a, np.float64), np.asarray(b, np.float64))  # [n, 3]


def _checker_sphere(p: np.ndarray, n_lon: int, n_lat: int, a, b) -> np.ndarray:
    lon = np.arctan2(p[:, 1], p[:, 0]) / (2 * np.pi) + 0.5
    lat = np.arccos(np.clip(p[:, 2] / np.linalg.norm(p, axis=1), -1, 1)) / np.pi
    return _mix((np.floor(lon * n_lon) + np.floor(lat * n_lat)) % 2 == 0, a, b)


def _bands(p: np.ndarray, period: float, a, b) -> np.ndarray:
    return _mix(np.floor(p[:, 2] / period) % 2 == 0, a, b)


def _bricks(p: np.ndarray, half: float, brick, mortar) -> np.ndarray:
    """Bricks on every face of a cube [-half, half]^3; the pattern runs in the face's two in-plane axes."""
    face_axis = np.argmax(np.abs(p) / half, axis=1)
    # in-plane (u along a horizontal edge, v up); the top face uses x / y
    u = np.where(face_axis == 0, p[:, 1], p[:, 0])
    v = np.where(face_axis == 2, p[:, 1], p[:, 2])
    rows = np.floor((v + half) / 0.1)
    u_shift = u + half + 0.05 * (rows % 2)
    in_mortar = ((v + half) % 0.1 < 0.018) | (u_shift % 0.2 < 0.018)
    shade = 0.85 + 0.15 * ((rows * 7 + np.floor(u_shift / 0.2) * 3) % 4) / 3  # brick-to-brick variation
    return _mix(in_mortar, mortar, np.asarray(brick) * shade[:, None])


def _torus_stripes(p: np.ndarray, n: int, a, b) -> np.ndarray:
    return _mix(np.floor((np.arctan2(p[:, 1], p[:, 0]) / (2 * np.pi) + 0.5) * n) % 2 == 0, a, b)


def _barber(p: np.ndarray, turns_per_unit: float, a, b) -> np.ndarray:
    phase = np.arctan2(p[:, 1], p[:, 0]) / (2 * np.pi) + p[:, 2] * turns_per_unit
    return _mix(np.floor(phase * 2) % 2 == 0, a, b)


def _rings_disk(p: np.ndarray, period: float, a, b, c) -> np.ndarray:
    rho = np.hypot(p[:, 0], p[:, 1])
    sector = np.floor((np.arctan2(p[:, 1], p[:, 0]) / (2 * np.pi) + 0.5) * 6) % 2 == 0
    return _mix(np.floor(rho / period) % 2 == 0, _mix(sector, a, c), b)


def _solid(p: np.ndarray, colour) -> np.ndarray:
    return np.broadcast_to(np.asarray(colour, np.float64), p.shape).copy()


# --- primitives: intersect(o, d) -> t [n] (inf on a miss), surface(p) -> (normal, albedo) -------

def _rot_z(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _rot_x(deg: float) -> np.ndarray:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


@dataclass(frozen=True)
class Primitive:
    centre: tuple[float, float, float]
    texture: Texture
    rotation: np.ndarray | None = None  # [3, 3] world-from-local; None = identity

    def _to_local(self, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        o = o - np.asarray(self.centre)
        if self.rotation is None:
            return o, d
        return o @ self.rotation, d @ self.rotation  # row vectors: R^T x

    def _to_world(self, n: np.ndarray) -> np.ndarray:
        return n if self.rotation is None else n @ self.rotation.T

    def surface(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit normal [n, 3] and albedo [n, 3] at world points p [n, 3] on the surface."""
        local, _ = self._to_local(p, p)
        n = self._local_normal(local)
        return self._to_world(n / np.linalg.norm(n, axis=1, keepdims=True)), self.texture(local)


@dataclass(frozen=True)
class Sphere(Primitive):
    radius: float = 0.5

    @property
    def bound_radius(self) -> float:
        return self.radius

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        o, d = self._to_local(o, d)
        t0, t1 = sphere_span(o, d, self.radius)
        return np.where(t0 > 0, t0, np.where(t1 > 0, t1, np.inf))

    def _local_normal(self, p: np.ndarray) -> np.ndarray:
        return p


@dataclass(frozen=True)
class Box(Primitive):
    half: float = 0.25  # a cube [-half, half]^3 in local coordinates

    @property
    def half_extents(self) -> np.ndarray:
        return np.full(3, self.half)

    @property
    def bound_radius(self) -> float:
        return float(np.linalg.norm(self.half_extents))

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        o, d = self._to_local(o, d)
        half = self.half_extents
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
            ta, tb = (-half - o) * inv, (half - o) * inv
        t_near = np.nanmax(np.minimum(ta, tb), axis=1)
        t_far = np.nanmin(np.maximum(ta, tb), axis=1)
        hit = (t_near <= t_far) & (t_far > 0)
        return np.where(hit, np.where(t_near > 0, t_near, t_far), np.inf)

    def _local_normal(self, p: np.ndarray) -> np.ndarray:
        axis = np.argmax(np.abs(p) / self.half_extents, axis=1)  # the face the point lies on
        n = np.zeros_like(p)
        n[np.arange(len(p)), axis] = np.sign(p[np.arange(len(p)), axis])
        return n


@dataclass(frozen=True)
class Cuboid(Box):
    """A box with three half sizes [-sx, sx] x [-sy, sy] x [-sz, sz] (local): a wall, a slab, a table top."""

    size: tuple[float, float, float] = (1.0, 0.1, 1.0)  # half extents along local x, y, z

    @property
    def half_extents(self) -> np.ndarray:
        return np.asarray(self.size, np.float64)


@dataclass(frozen=True)
class Cylinder(Primitive):
    """Capped cylinder around the local z axis: x^2 + y^2 <= radius^2, |z| <= half_height."""

    radius: float = 0.1
    half_height: float = 0.5

    @property
    def bound_radius(self) -> float:
        return math.hypot(self.radius, self.half_height)

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        o, d = self._to_local(o, d)
        a = d[:, 0] ** 2 + d[:, 1] ** 2
        b = o[:, 0] * d[:, 0] + o[:, 1] * d[:, 1]
        c = o[:, 0] ** 2 + o[:, 1] ** 2 - self.radius ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            root = np.sqrt(b * b - a * c)
            sides = np.stack([(-b - root) / a, (-b + root) / a], axis=1)  # [n, 2]
            caps = np.stack([(-self.half_height - o[:, 2]) / d[:, 2],
                             (self.half_height - o[:, 2]) / d[:, 2]], axis=1)  # [n, 2]
        z_side = o[:, 2:3] + sides * d[:, 2:3]
        ok_side = (np.abs(z_side) <= self.half_height) & (sides > 0)
        xy_cap = (o[:, None, :2] + caps[..., None] * d[:, None, :2])  # [n, 2, 2]
        ok_cap = (np.sum(xy_cap ** 2, axis=2) <= self.radius ** 2) & (caps > 0)
        t = np.concatenate([np.where(ok_side, sides, np.inf), np.where(ok_cap, caps, np.inf)], axis=1)
        return t.min(axis=1)  # NaNs from rays parallel to a side or a cap compared False above

    def _local_normal(self, p: np.ndarray) -> np.ndarray:
        rho = np.hypot(p[:, 0], p[:, 1])
        on_cap = np.abs(np.abs(p[:, 2]) - self.half_height) < np.abs(rho - self.radius)
        side = np.stack([p[:, 0], p[:, 1], np.zeros_like(rho)], axis=1)
        cap = np.stack([np.zeros_like(rho), np.zeros_like(rho), np.sign(p[:, 2])], axis=1)
        return np.where(on_cap[:, None], cap, side)


@dataclass(frozen=True)
class Torus(Primitive):
    """Torus around the local z axis; hit by sphere tracing its signed distance inside its bounding sphere."""

    major: float = 0.3
    minor: float = 0.08
    max_steps: int = 96

    @property
    def bound_radius(self) -> float:
        return self.major + self.minor

    def _sdf(self, p: np.ndarray) -> np.ndarray:
        return np.hypot(np.hypot(p[:, 0], p[:, 1]) - self.major, p[:, 2]) - self.minor

    def intersect(self, o: np.ndarray, d: np.ndarray) -> np.ndarray:
        o, d = self._to_local(o, d)
        t0, t1 = sphere_span(o, d, self.major + self.minor)
        active = np.flatnonzero(np.isfinite(t0) & (t1 > 0))
        t = np.maximum(t0[active], 0.0)
        for _ in range(self.max_steps):  # a loop over steps, not rays: each step is one vector op
            step = self._sdf(o[active] + t[:, None] * d[active])
            t = t + step
            alive = (step > EPS) & (t < t1[active])
            if not alive.any():
                break
        p = o[active] + t[:, None] * d[active]
        result = np.full(len(o), np.inf)
        result[active] = np.where((np.abs(self._sdf(p)) < 10 * EPS) & (t < t1[active]), t, np.inf)
        return result

    def _local_normal(self, p: np.ndarray) -> np.ndarray:
        ring = p.copy()
        ring[:, 2] = 0.0
        ring *= self.major / np.maximum(np.linalg.norm(ring, axis=1, keepdims=True), 1e-12)
        return p - ring


def sphere_span(o: np.ndarray, d: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit distances of unit rays through a sphere at the origin; inf, inf on a miss."""
    b = np.sum(o * d, axis=1)
    disc = b * b - (np.sum(o * o, axis=1) - radius * radius)
    root = np.sqrt(np.maximum(disc, 0.0))
    miss = disc < 0
    return np.where(miss, np.inf, -b - root), np.where(miss, np.inf, -b + root)


def default_objects() -> tuple[Primitive, ...]:
    """The default scene, in file units (world z up). Everything lies inside [-1, 1]^3."""
    return (
        Cylinder(centre=(0.0, 0.0, -0.62), radius=0.95, half_height=0.03,
                 texture=partial(_rings_disk, period=0.045, a=(0.20, 0.55, 0.60),
                                 b=(0.90, 0.88, 0.80), c=(0.35, 0.38, 0.55))),
        Sphere(centre=(-0.25, -0.15, -0.14), radius=0.45,
               texture=partial(_checker_sphere, n_lon=16, n_lat=8, a=(0.85, 0.15, 0.12), b=(0.95, 0.90, 0.75))),
        Sphere(centre=(-0.58, 0.50, -0.41), radius=0.18,
               texture=partial(_bands, period=0.045, a=(0.95, 0.75, 0.15), b=(0.45, 0.20, 0.60))),
        Box(centre=(0.42, 0.35, -0.34), half=0.25, rotation=_rot_z(30.0),
            texture=partial(_bricks, half=0.25, brick=(0.80, 0.42, 0.18), mortar=(0.88, 0.86, 0.80))),
        Torus(centre=(0.40, -0.48, -0.24), major=0.27, minor=0.075, rotation=_rot_z(-35.0) @ _rot_x(90.0),
              texture=partial(_torus_stripes, n=28, a=(0.15, 0.65, 0.25), b=(0.95, 0.95, 0.95))),
        Cylinder(centre=(0.02, 0.30, -0.12), radius=0.04, half_height=0.48,
                 texture=partial(_barber, turns_per_unit=6.0, a=(0.15, 0.30, 0.85), b=(0.95, 0.95, 0.95))),
        Torus(centre=(0.02, 0.30, 0.28), major=0.20, minor=0.014, rotation=_rot_x(20.0),
              texture=partial(_solid, colour=(0.90, 0.20, 0.65))),
    )
