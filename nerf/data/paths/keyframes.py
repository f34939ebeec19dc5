"""Camera paths: keyframes joined by a spline, sampled at a frame rate.

Positions follow a centripetal Catmull-Rom spline (alpha = 1/2, Yuksel et al. 2011: no cusps or
self-intersections within a segment, unlike the uniform variant when keyframes are unevenly spaced);
rotations follow Shoemake's squad, the spherical counterpart of a cubic spline. `smoothness` in [0, 1]
blends from straight lines and plain slerp (0) to the full splines (1); the path passes through every
keyframe for any smoothness, since every blended term does. The field of view is interpolated linearly.

Poses are camera-to-world [4, 4] in the OpenGL convention, in whatever world the caller uses (the
viewer and nerf-render keep the scene's normalised world; nerf.data.paths.path_files maps to the file's).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.spatial.transform import Rotation

from nerf.data.cameras import look_at, nearest_rotation
from nerf.data.crop import CropBox

CENTRIPETAL = 0.5  # Catmull-Rom knot exponent
DEFAULT_FOV = 50.0  # degrees, vertical; nerfstudio's default
DEFAULT_DURATION = 2.0  # seconds from a new keyframe to the next


@dataclass(frozen=True)
class Keyframe:
    c2w: np.ndarray  # [4, 4] float64 camera-to-world, OpenGL convention
    fov: float = DEFAULT_FOV  # vertical field of view in degrees
    duration: float = DEFAULT_DURATION  # seconds from this keyframe to the next (the last one's counts when looping)


@dataclass(frozen=True)
class CameraPath:
    keyframes: tuple[Keyframe, ...] = ()
    loop: bool = False  # the last keyframe leads back to the first
    smoothness: float = 0.5  # 0: straight lines and slerp, 1: full Catmull-Rom / squad
    fps: float = 30.0
    width: int = 640  # render size; aspect = width / height
    height: int = 480
    crop: CropBox | None = None  # saved with the path; renders show only what lies inside
    extra: dict = field(default_factory=dict)  # keys of a loaded file this code does not use, kept on save

    @property
    def segment_durations(self) -> list[float]:
        """Seconds of each segment: n - 1 of them, or n when looping."""
        n = len(self.keyframes)
        count = n if self.loop and n > 1 else max(n - 1, 0)
        return [float(self.keyframes[i].duration) for i in range(count)]

    @property
    def seconds(self) -> float:
        return float(sum(self.segment_durations))

    def frame_count(self) -> int:
        """Frames at `fps` over the path: an open path ends on its last keyframe (one frame more than
        seconds x fps), a loop stops one frame short of its start; one still frame for one keyframe."""
        if len(self.keyframes) <= 1:
            return len(self.keyframes)
        return max(int(round(self.seconds * self.fps)), 1) + (0 if self.loop else 1)

    def with_keyframes(self, keyframes) -> "CameraPath":
        return replace(self, keyframes=tuple(keyframes))


def check_path(path: CameraPath) -> str | None:
    """The problem with `path` in words, or None when it can be rendered."""
    if not path.keyframes:
        return "the camera path has no keyframes"
    for i, k in enumerate(path.keyframes):
        c2w = np.asarray(k.c2w, dtype=np.float64)
        if c2w.shape != (4, 4) or not np.all(np.isfinite(c2w)):
            return f"keyframe {i}: pose is not a finite 4x4 matrix"
        if not (math.isfinite(k.fov) and 0.0 < k.fov < 180.0):
            return f"keyframe {i}: field of view {k.fov} is not in (0, 180) degrees"
        if not (math.isfinite(k.duration) and k.duration >= 0.0):
            return f"keyframe {i}: duration {k.duration} is not a non-negative number"
    if len(path.keyframes) > 1 and path.seconds <= 0.0:
        return "the camera path lasts 0 seconds"
    if path.width < 1 or path.height < 1 or not path.fps > 0:
        return "render size and fps must be positive"
    return None


def _catmull_rom(p0, p1, p2, p3, u: np.ndarray) -> np.ndarray:
    """Centripetal Catmull-Rom between p1 and p2 at u in [0, 1] (Barry-Goldman pyramid): [len(u), 3]."""
    def knot(a, b):  # a minimum step keeps coincident keyframes from dividing by zero
        return max(float(np.linalg.norm(b - a)) ** CENTRIPETAL, 1e-6)

    t0, t1 = 0.0, knot(p0, p1)
    t2 = t1 + knot(p1, p2)
    t3 = t2 + knot(p2, p3)
    t = (t1 + (t2 - t1) * u)[:, None]  # [m, 1]
    a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
    a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
    a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
    b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
    b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
    return (t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2


def _slerp(q0: Rotation, q1: Rotation, u: np.ndarray) -> Rotation:
    """Rotations from q0 (u = 0) to q1 (u = 1) along the shorter arc, one per u."""
    step = (q0.inv() * q1).as_rotvec()  # [3]; as_rotvec takes the shorter arc
    return q0 * Rotation.from_rotvec(u[:, None] * step[None])


def _squad_control(q_prev: Rotation, q: Rotation, q_next: Rotation, smoothness: float) -> Rotation:
    """Shoemake's inner control rotation at q; smoothness 0 makes it q itself (plain slerp)."""
    log_next = (q.inv() * q_next).as_rotvec()
    log_prev = (q.inv() * q_prev).as_rotvec()
    return q * Rotation.from_rotvec(-smoothness * (log_next + log_prev) / 4.0)


def _neighbours(points: np.ndarray, i: int, loop: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four points around segment i; open ends are extended by reflection (a straight start/end)."""
    n = len(points)
    if loop:
        return points[(i - 1) % n], points[i], points[(i + 1) % n], points[(i + 2) % n]
    p1, p2 = points[i], points[i + 1]
    p0 = points[i - 1] if i > 0 else 2.0 * p1 - p2
    p3 = points[i + 2] if i + 2 < n else 2.0 * p2 - p1
    return p0, p1, p2, p3


def _rotation_neighbours(rots: list[Rotation], i: int, loop: bool) -> tuple[Rotation, Rotation, Rotation, Rotation]:
    n = len(rots)
    if loop:
        return rots[(i - 1) % n], rots[i], rots[(i + 1) % n], rots[(i + 2) % n]
    r1, r2 = rots[i], rots[i + 1]
    r0 = rots[i - 1] if i > 0 else r1 * (r2.inv() * r1)  # reflected: the same turn before r1 as after it
    r3 = rots[i + 2] if i + 2 < n else r2 * (r1.inv() * r2)
    return r0, r1, r2, r3


def evaluate_path(path: CameraPath, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses [m, 4, 4] and vertical fovs [m] (degrees) at `times` [m] seconds from the first keyframe.

    Times are clamped to the path; with a single keyframe every time gives it.
    """
    keys = path.keyframes
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    poses = np.tile(np.eye(4), (len(times), 1, 1))
    fovs = np.full(len(times), float(keys[0].fov))
    if len(keys) == 1:
        poses[:] = keys[0].c2w
        return poses, fovs
    positions = np.stack([np.asarray(k.c2w, np.float64)[:3, 3] for k in keys])  # [n, 3]
    rots = [Rotation.from_matrix(nearest_rotation(np.asarray(k.c2w, np.float64)[:3, :3])) for k in keys]
    starts = np.concatenate([[0.0], np.cumsum(path.segment_durations)])  # [segments + 1]
    seg = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(starts) - 2)
    s = float(np.clip(path.smoothness, 0.0, 1.0))
    for i in np.unique(seg):
        sel = np.flatnonzero(seg == i)
        dur = starts[i + 1] - starts[i]
        u = np.clip((times[sel] - starts[i]) / dur, 0.0, 1.0) if dur > 0 else np.ones(len(sel))
        p0, p1, p2, p3 = _neighbours(positions, i, path.loop)
        straight = p1 + u[:, None] * (p2 - p1)
        poses[sel, :3, 3] = (1.0 - s) * straight + s * _catmull_rom(p0, p1, p2, p3, u)
        r0, r1, r2, r3 = _rotation_neighbours(rots, i, path.loop)
        a1, a2 = _squad_control(r0, r1, r2, s), _squad_control(r1, r2, r3, s)
        outer, inner = _slerp(r1, r2, u), _slerp(a1, a2, u)  # squad: between these by 2u(1 - u)
        bend = (outer.inv() * inner).as_rotvec()  # [m, 3]
        poses[sel, :3, :3] = (outer * Rotation.from_rotvec((2.0 * u * (1.0 - u))[:, None] * bend)).as_matrix()
        f1, f2 = keys[i].fov, keys[(i + 1) % len(keys)].fov
        fovs[sel] = f1 + u * (f2 - f1)
    return poses, fovs


def sample_path(path: CameraPath) -> tuple[np.ndarray, np.ndarray]:
    """The path's frames at path.fps: poses [n, 4, 4], fovs [n]. A loop leaves out the closing frame
    (it equals the first), so a looped video repeats seamlessly."""
    return evaluate_path(path, np.arange(path.frame_count()) / path.fps)


def orbit_path(centre, up, radius: float, height: float, seconds: float, fov: float, fps: float,
               width: int, height_px: int) -> CameraPath:
    """A looped circle of keyframes around `centre` at `radius`, `height` above it along `up`,
    looking at `centre`; `seconds` for one turn."""
    centre = np.asarray(centre, np.float64)
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    a0 = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    a0 /= np.linalg.norm(a0)
    a1 = np.cross(up, a0)
    n = 16  # a centripetal spline through 16 points of a circle stays within 0.06 % of its radius
    keys = []
    for k in range(n):
        a = 2.0 * math.pi * k / n
        eye = centre + up * height + radius * (math.cos(a) * a0 + math.sin(a) * a1)
        c2w = look_at(eye.tolist(), centre.tolist(), up.tolist()).double().numpy()
        keys.append(Keyframe(c2w=c2w, fov=fov, duration=seconds / n))
    return CameraPath(keyframes=tuple(keys), loop=True, smoothness=1.0, fps=fps, width=width,
                      height=height_px)
