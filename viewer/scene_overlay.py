"""The training cameras (frustums, coloured by how well the model fits each one) and the capture's
sparse points, drawn over the live view in 3D.

The frustums are made once, in world coordinates, inside a DearPyGui draw node of a perspective
draw layer; when the camera moves only the node's transform changes (the orbit camera's projection
times its world-to-camera matrix), so orbiting costs one call, not one item per line. Picking a
click uses the same projection in numpy (viewer.frustums). The points are one picture, splatted in
numpy when the camera moves: as items, thousands of dots cost DearPyGui most of a 30 fps frame
under a software renderer (one item per dot took the window from about 27 to 10 fps).
"""
from __future__ import annotations

import math

import dearpygui.dearpygui as dpg
import numpy as np

from nerf.data.formats.pointcloud import POINTS_FILE, scene_points
from nerf.data.frustums import FRUSTUM_EDGES, frustum_points
from nerf.errors import InputError
from viewer.dataset_views import DatasetViews
from viewer.frustums import pick, project, psnr_colours
from viewer.orbit import look_point
from viewer.textures import Texture

MAX_POINTS = 3000  # drawn points: enough to show the capture's shape, few enough to build at once
FRUSTUM_SIZE = 0.12  # of the cameras' median distance to the point they look at
NEAR, FAR = 1e-2, 1e4  # the projection's clip planes (no depth buffer: only what lies behind is cut)
SELECTED_COLOUR = (255, 140, 40, 255)
POINT_COLOUR = (230, 70, 200, 235)  # magenta: seen on light and dark backgrounds, unlike the cameras and the box


def perspective(fov_y_deg: float, aspect: float, near: float = NEAR, far: float = FAR) -> np.ndarray:
    """OpenGL's projection matrix [4, 4] (camera looking down -z)."""
    t = 1.0 / math.tan(math.radians(fov_y_deg) / 2.0)
    return np.array([[t / aspect, 0, 0, 0], [0, t, 0, 0],
                     [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)], [0, 0, -1, 0]])


# DearPyGui maps clip-space x and y in [-1, 1] onto twice the clip space's width and height (its
# own perspective demo shows the same), so the matrix halves them: then a point lands on the pixel
# viewer.frustums.project computes.
_DPG_CLIP = np.diag([0.5, 0.5, 1.0, 1.0])


class SceneOverlay:
    """`views`: the dataset views (cameras); `points`: sparse points [n, 3] or None."""

    def __init__(self, views: DatasetViews, points: np.ndarray | None):
        self.views, self.points = views, points
        c2ws = views.c2ws("train")
        self._c2ws = c2ws
        cams = views.scene.split("train").cameras
        self._intrinsics = (cams.fx.numpy(), cams.fy.numpy(), cams.cx.numpy(), cams.cy.numpy(), cams.width,
                            cams.height)
        reach = np.median(np.linalg.norm(c2ws[:, :3, 3] - look_point(c2ws), axis=1))
        self._world = frustum_points(c2ws, *self._intrinsics, size=FRUSTUM_SIZE * max(float(reach), 1e-3))
        self.psnrs = [math.nan] * len(c2ws)
        self.show_cameras, self.show_points = True, points is not None
        self.selected: int | None = None
        self._layer = self._cams = self._dots = None
        self._drawn: tuple | None = None
        self._view: tuple | None = None  # (c2w, fov_y_deg, size) as last followed
        self.dots_drawn = 0  # points drawn as the camera last saw them (about: dots may overlap)

    def build(self, layer, points_layer) -> None:
        """`layer`: a draw layer made with perspective_divide and depth_clipping, for the cameras;
        `points_layer`: a plain one (view pixels), for the points' picture."""
        self._layer = layer
        self._cams = dpg.add_draw_node(parent=layer)
        self._dots = Texture(1, 1)
        self._dots_image = self._dots.draw_image((0, 0), (1, 1), parent=points_layer, show=False)
        self._draw_cameras()

    def _draw_cameras(self) -> None:
        dpg.delete_item(self._cams, children_only=True)
        for i, (pts, colour) in enumerate(zip(self._world, psnr_colours(self.psnrs), strict=True)):
            selected = i == self.selected
            c = SELECTED_COLOUR if selected else (*colour, 255)
            for a, b in FRUSTUM_EDGES:
                dpg.draw_line(pts[a].tolist(), pts[b].tolist(), color=c, thickness=3 if selected else 1,
                              parent=self._cams)

    def set_psnrs(self, psnrs) -> None:
        """New per-camera scores (NaN: not known yet): the frustums change colour."""
        if list(psnrs) != self.psnrs:
            self.psnrs = list(psnrs)
            self._draw_cameras()

    def select(self, index: int | None) -> None:
        """Highlight training camera `index` (the view snapped to it; None: none)."""
        if index != self.selected:
            self.selected = index
            self._draw_cameras()

    def update(self, c2w: np.ndarray, fov_y_deg: float, size: tuple[int, int]) -> None:
        """Follow the orbit camera: one transform for each node, only when something changed."""
        key = (np.asarray(c2w).tobytes(), fov_y_deg, tuple(size), self.show_cameras, self.show_points)
        if key == self._drawn or self._layer is None:
            return
        self._drawn, self._view = key, (np.array(c2w, np.float64), fov_y_deg, tuple(size))
        w, h = size
        dpg.set_clip_space(self._layer, 0, 0, w, h, -1.0, 1.0)
        m = _DPG_CLIP @ perspective(fov_y_deg, w / h) @ np.linalg.inv(np.asarray(c2w, np.float64))
        dpg.configure_item(self._cams, show=self.show_cameras)
        dpg.apply_transform(self._cams, dpg.mvMat4(*m.flatten().tolist()))
        dots = splat_points(self.points, c2w, fov_y_deg, size) if self.show_points and self.points is not None else None
        if dots is not None:
            image, (x0, y0) = dots
            self._dots.set_flat(image.ravel(), image.shape[1], image.shape[0])
            dpg.configure_item(self._dots_image, pmin=(x0, y0), pmax=(x0 + image.shape[1], y0 + image.shape[0]))
        dpg.configure_item(self._dots_image, show=dots is not None)
        self.dots_drawn = 0 if dots is None else int(dots[0][..., 3].astype(bool).sum()) // 4

    def pick(self, click: tuple[float, float], c2w: np.ndarray, fov_y_deg: float, size: tuple[int, int]) -> int | None:
        """The training camera whose frustum is under a click at view pixel `click` (None: none, or
        the cameras are hidden)."""
        if not self.show_cameras:
            return None
        xy, depth = project(self._world, c2w, fov_y_deg, *size)
        return pick(click, xy, depth)


    def debug(self, _now: float) -> dict:
        """For NERF_VIEWER_DEBUG_STATE: each frustum's image centre in view pixels and its depth
        (what a GUI test clicks), as the overlay last drew them."""
        if self._view is None:
            return {"frustums": None}
        xy, depth = project(self._world[:, 1:5].mean(axis=1), *self._view[:2], *self._view[2])
        return {"frustums": {"centres": np.round(xy, 1).tolist(), "depth": np.round(depth, 4).tolist(),
                             "selected": self.selected, "shown": self.show_cameras},
                "dots_drawn": self.dots_drawn}


def splat_points(points: np.ndarray, c2w: np.ndarray, fov_y_deg: float, size: tuple[int, int],
                 colour=POINT_COLOUR) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The points [n, 3] seen by camera c2w as a picture: RGBA [h, w, 4] float32, transparent but
    for a 2 x 2 px dot at each point in front of the camera and inside the view, cut to the dots'
    bounding box, and its top-left corner (x0, y0) in view pixels; None: no point to draw."""
    w, h = size
    xy, depth = project(points, c2w, fov_y_deg, w, h)
    px = np.floor(xy[depth > NEAR]).astype(np.int64)
    px = px[(px[:, 0] >= 0) & (px[:, 0] < w - 1) & (px[:, 1] >= 0) & (px[:, 1] < h - 1)]
    if not len(px):
        return None
    (x0, y0), (x1, y1) = px.min(axis=0), px.max(axis=0) + 2
    image = np.zeros((y1 - y0, x1 - x0, 4), np.float32)
    rel = px - (x0, y0)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        image[rel[:, 1] + dy, rel[:, 0] + dx] = np.asarray(colour, np.float32) / 255.0
    return image, (int(x0), int(y0))


def points_or_note(scene) -> tuple[np.ndarray | None, str]:
    """The scene's sparse points (at most MAX_POINTS), and a line for the overlays panel saying what was found."""
    try:
        points = scene_points(scene, MAX_POINTS)
    except InputError as exc:
        return None, f"{exc.path}: {exc.problem}"
    if points is None:
        why = "forward-facing scene" if scene.ndc else "the server has none" if scene.format == "remote" \
            else f"no {POINTS_FILE} or COLMAP model"
        return None, f"no sparse points ({why})"
    return points, f"{len(points)} sparse points"
