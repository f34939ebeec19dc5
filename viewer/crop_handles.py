"""Handles on the crop box in the live view: a drag on a face's handle moves that face along its
axis, a drag on the centre's moves the whole box in the view's plane (the Camera path panel's
sliders follow).

`handle_points` and `dragged` are pure numpy (tests/viewer/test_crop_handles.py): a drag is
measured from the press, through the projection as it was at the press, so the box follows the
mouse without drift. CropHandles draws the handles and takes the view's left drags that start on one.
"""
from __future__ import annotations

from collections.abc import Callable

import dearpygui.dearpygui as dpg
import numpy as np

from nerf.data.crop import CropBox
from viewer.frustums import NEAR, project

GRAB_PX = 10.0  # a press this close to a handle takes it
MIN_SIZE = 0.02  # of the scene's half size: a face stops this short of the opposite one
AXIS_COLOURS = ((235, 70, 60, 255), (80, 200, 90, 255), (70, 140, 255, 255))  # x, y, z
CENTRE_COLOUR, OUTLINE = (255, 255, 255, 255), (20, 20, 20, 230)


def handle_points(crop: CropBox) -> np.ndarray:
    """[7, 3]: the box's centre, then the centres of its faces x-, x+, y-, y+, z-, z+."""
    lo, hi, c = np.asarray(crop.lo, np.float64), np.asarray(crop.hi, np.float64), crop.centre
    faces = []
    for axis in range(3):
        for end in (lo, hi):
            p = c.copy()
            p[axis] = end[axis]
            faces.append(p)
    return np.vstack([c[None], faces])


def dragged(start: CropBox, handle: int, delta_px, c2w: np.ndarray, fov_y_deg: float, size: tuple[int, int],
            bound: float) -> CropBox:
    """The box after `handle` (an index of handle_points) was dragged by delta_px (dx, dy) since
    the press, seen by camera c2w; it stays inside the scene cube [-bound, bound]^3."""
    lo, hi = np.asarray(start.lo, np.float64), np.asarray(start.hi, np.float64)
    d = np.asarray(delta_px, np.float64)
    p = handle_points(start)[handle]
    if handle == 0:  # in the view's plane at the centre's depth: px / focal * depth world units
        depth = project(p[None], c2w, fov_y_deg, *size)[1][0]
        focal = 0.5 * size[1] / np.tan(np.radians(fov_y_deg) / 2.0)
        if depth <= NEAR:
            return start
        move = (d[0] * c2w[:3, 0] - d[1] * c2w[:3, 1]) * depth / focal
        move = np.clip(move, -bound - lo, bound - hi)
        return CropBox(tuple(lo + move), tuple(hi + move))
    axis, is_hi = (handle - 1) // 2, (handle - 1) % 2 == 1
    step = 1e-3 * bound
    q = p.copy()
    q[axis] += step
    xy, depth = project(np.stack([p, q]), c2w, fov_y_deg, *size)
    per_unit = (xy[1] - xy[0]) / step  # px the face's handle moves per world unit along its axis
    if (depth <= NEAR).any() or per_unit @ per_unit < 1e-6:
        return start  # the axis points at the viewer: a drag cannot say how far
    t = float(d @ per_unit / (per_unit @ per_unit))  # the axis movement that best explains the drag
    gap = MIN_SIZE * bound
    if is_hi:
        hi[axis] = np.clip(hi[axis] + t, lo[axis] + gap, bound)
    else:
        lo[axis] = np.clip(lo[axis] + t, -bound, hi[axis] - gap)
    return CropBox(tuple(lo), tuple(hi))


class CropHandles:
    """Draws the handles of the view's crop box into `layer` and drags them. `crop()`: the box
    (None: no box, no handles); `set_crop(box)`: a dragged box; `camera()`: (c2w, fov_y_deg,
    size) of the view; `bound`: the scene cube's half size."""

    def __init__(self, layer, *, crop: Callable[[], CropBox | None], set_crop: Callable[[CropBox], None],
                 camera: Callable[[], tuple[np.ndarray, float, tuple[int, int]]], bound: float):
        self.layer, self._crop, self._set_crop, self._camera, self.bound = layer, crop, set_crop, camera, bound
        self.held: int | None = None  # the handle being dragged
        self._press: tuple | None = None  # (box, press xy, camera) at the press
        self._drawn: tuple | None = None
        self._xy = np.zeros((0, 2))
        self._depth = np.zeros(0)

    def _project(self) -> None:
        crop = self._crop()
        if crop is None:
            self._xy, self._depth = np.zeros((0, 2)), np.zeros(0)
        else:
            self._xy, self._depth = project(handle_points(crop), *self._camera()[:2], *self._camera()[2])

    def grab(self, xy) -> bool:
        """A left press at view pixel xy: True when it takes a handle (the nearest within GRAB_PX)."""
        self._project()
        if not len(self._xy):
            return False
        dist = np.where(self._depth > NEAR, np.linalg.norm(self._xy - np.asarray(xy), axis=1), np.inf)
        if dist.min() > GRAB_PX:
            return False
        self.held = int(np.argmin(dist))
        self._press = (self._crop(), np.asarray(xy, np.float64), self._camera())
        return True

    def drag(self, xy) -> None:
        box, start, (c2w, fov, size) = self._press
        self._set_crop(dragged(box, self.held, np.asarray(xy) - start, c2w, fov, size, self.bound))

    def release(self) -> None:
        self.held, self._press = None, None

    def update(self, _now: float) -> None:
        c2w, fov, size = self._camera()
        key = (self._crop(), np.asarray(c2w).tobytes(), fov, tuple(size), self.held)
        if key == self._drawn:
            return
        self._drawn = key
        self._project()
        dpg.delete_item(self.layer, children_only=True)
        for i, (p, z) in enumerate(zip(self._xy, self._depth, strict=True)):
            if z <= NEAR:
                continue
            colour = CENTRE_COLOUR if i == 0 else AXIS_COLOURS[(i - 1) // 2]
            r = 7 if i == self.held else 5
            dpg.draw_rectangle((p[0] - r, p[1] - r), (p[0] + r, p[1] + r), color=OUTLINE, fill=colour,
                               thickness=1.5, parent=self.layer)

    def debug(self, _now: float) -> dict:
        crop = self._crop()
        self._project()
        return {"crop_handles": {"crop": None if crop is None else [list(crop.lo), list(crop.hi)],
                                 "handles": np.round(self._xy, 1).tolist(), "depth": np.round(self._depth, 4).tolist(),
                                 "held": self.held}}
