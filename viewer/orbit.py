"""OrbitCamera: the viewer's camera, orbiting a target point. Pure numpy, no GUI, unit-tested.

Conventions match nerf.data.scene: camera-to-world matrices in the OpenGL convention (camera x right,
y up, looking down -z). The eye sits at `target + radius * z_axis`, so the camera always looks at
the target. Orbiting turns about the world `up` axis (yaw) and the camera's x axis (pitch), which
keeps the horizon level the way turntable viewers do.
"""
from __future__ import annotations

import numpy as np

from nerf.data.cameras import axis_rotation, focal_length, nearest_rotation


class DragDelta:
    """Turns DearPyGui's cumulative drag delta (since the press) into per-frame motion.

    Feeding the same cumulative delta twice yields (0, 0): the view stops when the mouse stops.
    """

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None

    def update(self, cum_dx: float, cum_dy: float) -> tuple[float, float]:
        last = self._last or (0.0, 0.0)
        self._last = (float(cum_dx), float(cum_dy))
        return self._last[0] - last[0], self._last[1] - last[1]

    def release(self) -> None:
        """The button went up: the next drag starts from zero again."""
        self._last = None

    @property
    def active(self) -> bool:
        return self._last is not None


class OrbitCamera:
    """A pinhole camera orbiting `target` at distance `radius`, with a vertical field of view."""

    ORBIT_RAD_PER_PX = 0.005
    ZOOM_PER_NOTCH = 1.1

    def __init__(self, width: int, height: int, *, target=(0.0, 0.0, 0.0), radius: float = 4.0,
                 rotation=None, up=(0.0, 0.0, 1.0), fov_y_deg: float = 40.0,
                 min_radius: float = 1e-2, max_radius: float = 1e3, pivot=(0.0, 0.0, 0.0)):
        """pivot: the point a newly adopted pose (set_c2w) turns about, e.g. look_point of the
        capture's cameras."""
        self.width, self.height = int(width), int(height)
        self.pivot = np.asarray(pivot, dtype=np.float64).copy()  # [3]
        self.up = np.asarray(up, dtype=np.float64) / np.linalg.norm(up)
        self.target = np.asarray(target, dtype=np.float64).copy()  # [3]
        self.radius = float(radius)
        self.rotation = (np.eye(3) if rotation is None else np.asarray(rotation, np.float64)).copy()  # [3, 3]
        self.fov_y_deg = float(fov_y_deg)
        self.min_radius, self.max_radius = min_radius, max_radius
        self._home = (self.target.copy(), self.radius, self.rotation.copy(), self.fov_y_deg)

    # --- pose and intrinsics -------------------------------------------------------------------

    @property
    def eye(self) -> np.ndarray:
        return self.target + self.radius * self.rotation[:, 2]  # [3]

    @property
    def c2w(self) -> np.ndarray:
        """Camera-to-world [4, 4] float64, OpenGL convention."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.eye
        return m

    @property
    def focal(self) -> float:
        """Focal length in pixels (square pixels)."""
        return focal_length(self.fov_y_deg, self.height)

    @property
    def intrinsics(self) -> tuple[float, float, float, float]:
        """(fx, fy, cx, cy) in pixels for the current width and height."""
        f = self.focal
        return f, f, self.width / 2.0, self.height / 2.0

    def set_c2w(self, c2w, keep_radius: bool = False) -> None:
        """Adopt a camera-to-world pose [4, 4] (e.g. a dataset view).

        The new target is the point on the viewing axis closest to `pivot` (the point the capture's
        cameras look at), so that orbiting turns about what was photographed.
        """
        c2w = np.asarray(c2w, dtype=np.float64)
        rot, eye = nearest_rotation(c2w[:3, :3]), c2w[:3, 3]
        if not keep_radius:
            along = float((eye - self.pivot) @ rot[:, 2])  # distance from the eye to the pivot's foot point
            self.radius = float(np.clip(along, self.min_radius, self.max_radius)) if along > 0 else 1.0
        self.rotation = rot
        self.target = eye - self.radius * rot[:, 2]

    def set_home(self) -> None:
        """Make the current state the one `reset` returns to."""
        self._home = (self.target.copy(), self.radius, self.rotation.copy(), self.fov_y_deg)

    def reset(self) -> None:
        target, self.radius, rotation, self.fov_y_deg = self._home
        self.target, self.rotation = target.copy(), rotation.copy()

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = max(1, int(width)), max(1, int(height))

    # --- interaction ---------------------------------------------------------------------------

    def orbit(self, dx: float, dy: float) -> None:
        """Turn around the target by a mouse motion of (dx, dy) pixels (right, down positive)."""
        if dx == 0 and dy == 0:
            return
        yaw = axis_rotation(self.up, -dx * self.ORBIT_RAD_PER_PX)
        rot = yaw @ self.rotation
        pitch = axis_rotation(rot[:, 0], -dy * self.ORBIT_RAD_PER_PX)
        new = pitch @ rot
        # Stop just short of looking straight along `up`: past it the horizon would flip.
        if abs(float(new[:, 2] @ self.up)) > 0.995:
            new = rot
        self.rotation = nearest_rotation(new)

    def pan(self, dx: float, dy: float) -> None:
        """Slide the target so the content under the mouse follows it (dx, dy pixels)."""
        world_per_px = self.radius / self.focal  # at the target's depth
        self.target = (self.target - self.rotation[:, 0] * dx * world_per_px
                       + self.rotation[:, 1] * dy * world_per_px)

    def zoom(self, notches: float) -> None:
        """Move towards the target (positive notches, the wheel pushed away) or back."""
        self.radius = float(np.clip(self.radius * self.ZOOM_PER_NOTCH ** (-notches),
                                    self.min_radius, self.max_radius))

    def move(self, right: float = 0.0, up: float = 0.0, forward: float = 0.0) -> None:
        """Translate camera and target together, in units of the current radius (WASD/QE)."""
        r = self.rotation
        self.target = self.target + self.radius * (r[:, 0] * right + r[:, 1] * up - r[:, 2] * forward)

    def state(self) -> dict:
        """JSON-friendly snapshot (for debug output and tests)."""
        return {"target": self.target.tolist(), "radius": self.radius,
                "c2w": self.c2w.tolist(), "fov_y_deg": self.fov_y_deg,
                "width": self.width, "height": self.height}


def look_point(c2ws: np.ndarray) -> np.ndarray:
    """The point [3] the cameras c2ws [N, 4, 4] look at: nearest, in least squares, to all their
    viewing axes (as nerfstudio's and LLFF's focus point).

    Sum over cameras of the squared distance |(I - d d^T)(p - o)|^2 is minimised where
    sum(I - d d^T) p = sum(I - d d^T) o. When the axes are near parallel (one camera, a frontal
    capture shot straight on) depth along them is undetermined: a small pull towards the point of
    the mean axis nearest the origin (the normalised scene's centre) settles it there.
    """
    c2ws = np.asarray(c2ws, dtype=np.float64)
    o, d = c2ws[:, :3, 3], -c2ws[:, :3, 2]  # eyes [N, 3], viewing directions [N, 3]
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    proj = np.eye(3)[None] - d[:, :, None] * d[:, None, :]  # [N, 3, 3] onto each axis' normal plane
    a, b = proj.sum(axis=0), np.einsum("nij,nj->i", proj, o)
    mean_o, mean_d = o.mean(axis=0), d.mean(axis=0)
    mean_d = mean_d / max(np.linalg.norm(mean_d), 1e-12)
    fallback = mean_o + max(float(-mean_o @ mean_d), 0.0) * mean_d
    eps = 1e-4 * len(c2ws)  # against a sum of N projections with eigenvalues up to N: a pull only where the axes agree
    return np.linalg.solve(a + eps * np.eye(3), b + eps * fallback)


def central_view(c2ws: np.ndarray) -> int:
    """Index of the camera nearest the mean camera position: the capture's most typical view."""
    eyes = np.asarray(c2ws, dtype=np.float64)[:, :3, 3]
    return int(np.argmin(np.linalg.norm(eyes - eyes.mean(axis=0), axis=1)))


def camera_from_views(c2ws: np.ndarray, width: int, height: int, fov_y_deg: float,
                      index: int | None = None) -> OrbitCamera:
    """An OrbitCamera at dataset view `index` of c2ws [N, 4, 4] (None: the central view),
    turning about the point the views look at, `up` the mean camera y axis."""
    c2ws = np.asarray(c2ws, dtype=np.float64)
    up = c2ws[:, :3, 1].mean(axis=0)
    if np.linalg.norm(up) < 1e-6:
        up = np.array([0.0, 0.0, 1.0])
    cam = OrbitCamera(width, height, up=up, fov_y_deg=fov_y_deg, pivot=look_point(c2ws))
    cam.set_c2w(c2ws[central_view(c2ws) if index is None else index])
    cam.set_home()
    return cam
