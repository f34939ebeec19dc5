"""Camera paths: keyframes joined by splines as nerfstudio's viewer joins them, sampled at a frame rate.

The interpolation is nerfstudio's (viewer/render_panel.py), through the same `splines` package, so a
path gives the frames nerfstudio's viewer would export for it:
- positions follow a Kochanek-Bartels spline (splines.KochanekBartels) with tension `smoothness`
  and zero continuity and bias: tension 0 (nerfstudio's default) is the full Catmull-Rom curve,
  tension 1 stops at every keyframe; rotations follow the quaternion Kochanek-Bartels spline of the
  same package, the vertical fov a scalar one. A loop uses closed end conditions, an open path natural ones;
- keyframe i sits at spline parameter i; seconds map to that parameter through a monotone PCHIP
  interpolant of the keyframes' times (padded by one segment each side on a loop), so uneven
  transitions speed the camera up or slow it down without reordering anything;
- an exported path has int(seconds x fps) frames at i / n of the duration: an open path stops one
  frame short of its last keyframe, a loop one frame short of its start (nerfstudio does the same).

A path read from a file may also carry its own frames (`Frames`, nerfstudio's `camera_path[]`):
they are what nerfstudio renders, so they are rendered as given while the keyframes are unchanged.

Poses are camera-to-world [4, 4] in the OpenGL convention, in whatever world the caller uses (the
viewer and nerf-render keep the scene's normalised world; nerf.data.paths.path_files maps to the file's).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import splines
import splines.quaternion
import torch
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from nerf.data.cameras import CAMERA_TYPES, look_at, nearest_rotation
from nerf.data.crop import CropBox
from nerf.data.paths.turntable import orbit_poses

DEFAULT_FOV = 75.0  # degrees, vertical; nerfstudio's viewer default ("Default FOV")
DEFAULT_DURATION = 2.0  # seconds from a new keyframe to the next; nerfstudio's "Transition (sec)"
MAX_SIDE = 16384  # pixels; a 16K frame is larger than any video encoder takes
MAX_FRAMES = 30 * 3600 * 4  # four hours at 30 fps; more is a typo, and poses alone would fill memory


@dataclass(frozen=True)
class Keyframe:
    c2w: np.ndarray  # [4, 4] float64 camera-to-world, OpenGL convention
    fov: float = DEFAULT_FOV  # vertical field of view in degrees
    duration: float = DEFAULT_DURATION  # seconds from this keyframe to the next (the last one's counts when looping)


@dataclass(frozen=True)
class Frames:
    """Frames given by a file (nerfstudio's camera_path[]): rendered as they are."""

    poses: np.ndarray  # [n, 4, 4] float64 camera-to-world, OpenGL convention
    fovs: np.ndarray  # [n] vertical fov in degrees


@dataclass(frozen=True)
class CameraPath:
    keyframes: tuple[Keyframe, ...] = ()
    loop: bool = False  # the last keyframe leads back to the first
    smoothness: float = 0.0  # Kochanek-Bartels tension in [0, 1]: 0 the full curve, 1 a stop at every keyframe
    fps: float = 30.0
    width: int = 640  # render size; aspect = width / height
    height: int = 480
    camera_type: str = "perspective"  # one of CAMERA_TYPES
    crop: CropBox | None = None  # saved with the path; renders show only what lies inside
    frames: Frames | None = None  # a file's own frames; dropped by any edit of keyframes or timing
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
        """The file's frames when it gave them; else int(seconds x fps) as nerfstudio exports (at least
        one); one still frame for a single keyframe."""
        if self.frames is not None:
            return len(self.frames.poses)
        if len(self.keyframes) <= 1:
            return len(self.keyframes)
        total = self.seconds * self.fps
        return max(int(total), 1) if math.isfinite(total) and total < 2 ** 62 else 2 ** 62

    def with_keyframes(self, keyframes) -> "CameraPath":
        return replace(self, keyframes=tuple(keyframes), frames=None)


def check_path(path: CameraPath) -> str | None:
    """The problem with `path` in words, or None when it can be rendered."""
    if not path.keyframes and path.frames is None:
        return "the camera path has no keyframes"
    for i, k in enumerate(path.keyframes):
        c2w = np.asarray(k.c2w, dtype=np.float64)
        if c2w.shape != (4, 4) or not np.all(np.isfinite(c2w)):
            return f"keyframe {i}: pose is not a finite 4x4 matrix"
        if abs(np.linalg.det(c2w[:3, :3])) < 1e-9:
            return f"keyframe {i}: the pose's rotation is singular"
        if not (math.isfinite(k.fov) and 0.0 < k.fov < 180.0):
            return f"keyframe {i}: field of view {k.fov} is not in (0, 180) degrees"
    for i, d in enumerate(path.segment_durations):
        if not (math.isfinite(d) and d > 0.0):
            return f"keyframe {i}: the transition to the next lasts {d} seconds; it must be a positive number"
    if not (math.isfinite(path.fps) and path.fps > 0):
        return f"fps is {path.fps:g}; it must be a positive number"
    if not (1 <= path.width <= MAX_SIDE and 1 <= path.height <= MAX_SIDE):
        return f"render size {path.width}x{path.height} is not within 1..{MAX_SIDE} pixels a side"
    if path.camera_type not in CAMERA_TYPES:
        return f"camera_type '{path.camera_type}' is not one of {', '.join(CAMERA_TYPES)}"
    if not 0.0 <= path.smoothness <= 1.0:
        return f"smoothness_value {path.smoothness:g} is not a tension in [0, 1]"
    if path.frame_count() > MAX_FRAMES:
        return (f"the path has {path.frame_count():.3g} frames ({path.seconds:.3g} s at {path.fps:g} fps); "
                f"at most {MAX_FRAMES} are rendered")
    return None


def _spline_parameter(path: CameraPath, times: np.ndarray) -> np.ndarray:
    """Seconds -> spline parameter (keyframe i at i), monotone (nerfstudio's spline_t_from_t_sec)."""
    starts = np.concatenate([[0.0], np.cumsum(path.segment_durations)])  # [segments + 1]
    index = np.arange(len(starts), dtype=np.float64)
    if path.loop:  # one more segment each side, so the slopes at the seam match
        x = np.concatenate([[starts[-2] - starts[-1]], starts, [starts[-1] + starts[1]]])
        y = np.concatenate([[-1.0], index, [index[-1] + 1.0]])
    else:
        x, y = starts, index
    return np.clip(PchipInterpolator(x, y)(times), 0.0, index[-1])


def evaluate_path(path: CameraPath, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poses [m, 4, 4] and vertical fovs [m] (degrees) at `times` [m] seconds from the first keyframe,
    interpolated from the keyframes (a file's own frames are not used here).

    Times are clamped to the path; with a single keyframe every time gives it.
    """
    keys = path.keyframes
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    poses = np.tile(np.eye(4), (len(times), 1, 1))
    if len(keys) == 1:
        poses[:] = keys[0].c2w
        return poses, np.full(len(times), float(keys[0].fov))
    ends = "closed" if path.loop else "natural"
    tcb = (float(path.smoothness), 0.0, 0.0)
    u = _spline_parameter(path, times)  # [m]
    xyzw = [Rotation.from_matrix(nearest_rotation(np.asarray(k.c2w, np.float64)[:3, :3])).as_quat() for k in keys]
    with warnings.catch_warnings():  # splines 0.3 calls numpy's deprecated row_stack for closed curves
        warnings.simplefilter("ignore", DeprecationWarning)
        position = splines.KochanekBartels([np.asarray(k.c2w, np.float64)[:3, 3] for k in keys], tcb=tcb,
                                           endconditions=ends)
        fov = splines.KochanekBartels([float(k.fov) for k in keys], tcb=tcb, endconditions=ends)
        rotation = splines.quaternion.KochanekBartels(
            [splines.quaternion.UnitQuaternion.from_unit_xyzw(q) for q in xyzw], tcb=tcb, endconditions=ends)
    quats = [rotation.evaluate(float(t)) for t in u]
    poses[:, :3, :3] = Rotation.from_quat([[*q.vector, q.scalar] for q in quats]).as_matrix()
    poses[:, :3, 3] = position.evaluate(u)
    return poses, np.asarray(fov.evaluate(u), dtype=np.float64).reshape(len(times))


def sample_path(path: CameraPath) -> tuple[np.ndarray, np.ndarray]:
    """The path's frames: poses [n, 4, 4], fovs [n]. The file's own frames when it gave them; else
    int(seconds x fps) frames at i / n of the duration (nerfstudio's export)."""
    if path.frames is not None:
        return path.frames.poses, path.frames.fovs
    n = path.frame_count()
    if len(path.keyframes) <= 1:
        return evaluate_path(path, np.zeros(n))
    return evaluate_path(path, path.seconds * np.arange(n) / n)


def orbit_path(centre, up, radius: float, height: float, seconds: float, fov: float, fps: float,
               width: int, height_px: int) -> CameraPath:
    """A looped circle of keyframes around `centre` at `radius`, `height` above it along `up`,
    looking at `centre`; `seconds` for one turn."""
    centre = np.asarray(centre, np.float64)
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    a0 = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    a0 /= np.linalg.norm(a0)
    n = 16  # a Catmull-Rom spline through 16 evenly spaced points of a circle stays within 0.1 % of its radius
    start = look_at(centre + up * height + radius * a0, centre, up, dtype=torch.float64).numpy()
    keys = [Keyframe(c2w=c2w, fov=fov, duration=seconds / n) for c2w in orbit_poses(start, centre, up, n)]
    return CameraPath(keyframes=tuple(keys), loop=True, smoothness=0.0, fps=fps, width=width,
                      height=height_px)
