"""The camera path, its keyframes and the crop box, drawn over the live view.

`overlay_geometry` is pure numpy (unit-tested): the drawn shapes in view pixels. `PathOverlay`
draws them into the view's draw layer, and only when something changed: lines cost little to
rasterise even under Mesa's software renderer, but rebuilding the items each frame would not be free.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import dearpygui.dearpygui as dpg
import numpy as np

from nerf.data.crop import CropBox
from viewer.frustums import NEAR, project
from viewer.path_editor import PathEditor

BOX_EDGES = [(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (1, 3), (4, 6), (5, 7), (0, 4), (1, 5), (2, 6), (3, 7)]
PATH_COLOUR = (255, 196, 0, 255)
KEY_COLOUR = (255, 255, 255, 255)
SELECTED_COLOUR = (255, 90, 40, 255)
BOX_COLOUR = (40, 170, 255, 255)
OUTLINE = (20, 20, 20, 220)


@dataclass
class Overlay:
    """What to draw, in view pixels (x right, y down)."""

    path_runs: list[np.ndarray] = field(default_factory=list)  # polylines [m, 2]: runs in front of the camera
    keys: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (keyframe index, [2]) in front
    box_edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 2)))  # [k, 2 ends, 2]


def box_corners(crop: CropBox) -> np.ndarray:
    """[8, 3] corners; corner i takes hi on axis a where bit (2 - a) of i is set (x slowest)."""
    lo, hi = np.asarray(crop.lo, np.float64), np.asarray(crop.hi, np.float64)
    bits = (np.arange(8)[:, None] >> np.array([2, 1, 0])[None]) & 1  # [8, 3]
    return np.where(bits == 1, hi, lo)


def _clip_near(a: np.ndarray, b: np.ndarray, w2c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments a-b [k, 3] cut to the part in front of the camera: (a', b', kept [k])."""
    da = -(a @ w2c[:3, :3].T + w2c[:3, 3])[:, 2]  # depths along the view direction
    db = -(b @ w2c[:3, :3].T + w2c[:3, 3])[:, 2]
    kept = (da > NEAR) | (db > NEAR)
    t = np.clip((NEAR - da) / np.where(np.abs(db - da) > 1e-12, db - da, 1e-12), 0.0, 1.0)[:, None]
    a2 = np.where((da < NEAR)[:, None], a + t * (b - a), a)
    b2 = np.where((db < NEAR)[:, None], a + t * (b - a), b)
    return a2, b2, kept


def overlay_geometry(editor: PathEditor, crop: CropBox | None, c2w: np.ndarray, fov_y_deg: float,
                     width: int, height: int) -> Overlay:
    """The path, the keyframe markers and the crop box's edges as camera c2w sees them."""
    out = Overlay()
    if editor.keyframes:
        pts, depth = project(editor.polyline(), c2w, fov_y_deg, width, height)
        front = depth > NEAR
        edges = np.flatnonzero(np.diff(np.concatenate([[0], front.astype(np.int8), [0]])))  # run starts, ends
        out.path_runs = [pts[s:e] for s, e in zip(edges[::2], edges[1::2], strict=True) if e - s >= 2]
        centres = np.array([k.c2w[:3, 3] for k in editor.keyframes])
        xy, depth = project(centres, c2w, fov_y_deg, width, height)
        out.keys = [(i, xy[i]) for i in range(len(xy)) if depth[i] > NEAR]
    if crop is not None:
        corners = box_corners(crop)
        ends = np.array(BOX_EDGES)
        a, b, kept = _clip_near(corners[ends[:, 0]], corners[ends[:, 1]], np.linalg.inv(c2w))
        pa, _ = project(a[kept], c2w, fov_y_deg, width, height)
        pb, _ = project(b[kept], c2w, fov_y_deg, width, height)
        out.box_edges = np.stack([pa, pb], axis=1)
    return out


class PathOverlay:
    """Draws into `layer` (a draw layer of the view's drawlist, whose coordinates are view pixels)."""

    def __init__(self, layer):
        self.layer = layer
        self._path, self._drawn = None, None

    def update(self, editor: PathEditor, crop: CropBox | None, c2w: np.ndarray, fov_y_deg: float,
               size: tuple[int, int], visible: bool = True) -> None:
        # the path by identity (every edit makes a new one, and comparing would compare arrays)
        key = (editor.selected, crop, np.asarray(c2w).tobytes(), fov_y_deg, tuple(size), visible)
        if editor.path is self._path and key == self._drawn:
            return
        self._path, self._drawn = editor.path, key
        dpg.delete_item(self.layer, children_only=True)
        if not visible:
            return
        g = overlay_geometry(editor, crop, c2w, fov_y_deg, *size)
        # Each shape over a dark outline, so that it shows on white and black backgrounds alike.
        for a, b in g.box_edges:
            dpg.draw_line(a.tolist(), b.tolist(), color=BOX_COLOUR, thickness=1, parent=self.layer)
        for run in g.path_runs:
            dpg.draw_polyline(run.tolist(), color=OUTLINE, thickness=4, parent=self.layer)
            dpg.draw_polyline(run.tolist(), color=PATH_COLOUR, thickness=2, parent=self.layer)
        for i, xy in g.keys:
            colour = SELECTED_COLOUR if i == editor.selected else KEY_COLOUR
            dpg.draw_circle(xy.tolist(), 6 if i == editor.selected else 4, color=OUTLINE, fill=colour,
                            thickness=1.5, parent=self.layer)
            for shift, c in ((1, OUTLINE), (0, KEY_COLOUR)):
                dpg.draw_text((xy + (7 + shift, -16 + shift)).tolist(), str(i + 1), color=c, size=14,
                              parent=self.layer)
