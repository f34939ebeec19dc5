"""The training cameras as frustums over the live view: their projection and picking (the frustums'
geometry is nerf.data.frustums, shared with the camera-layout pictures).

Pure numpy, no window (tests/viewer/test_frustums.py). Conventions as nerf.data.scene: camera-to-
world in the OpenGL convention (x right, y up, looking down -z), pixels with y down.
"""
from __future__ import annotations

import numpy as np

from nerf.data.cameras import focal_length
from nerf.data.frustums import FRUSTUM_EDGES
from nerf.media import colormap

NEAR = 1e-2  # camera-space depth in front of the viewer below which a point does not project
PSNR_RANGE = (15.0, 35.0)  # dB mapped from red to green
# red -> amber -> green: how well the model fits each camera's image
_PSNR_RAMP = np.array([[230, 60, 50], [240, 200, 60], [70, 210, 90]], np.float64)
UNKNOWN_COLOUR = (120, 120, 135)  # mid grey: seen on a white background and on a dark one


def project(points: np.ndarray, c2w: np.ndarray, fov_y_deg: float, width: int, height: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """View pixels [..., 2] of world points [..., 3] seen by the orbit camera c2w, and depth [...]
    (camera-space distance along the view direction; <= NEAR: behind the eye, not drawable)."""
    w2c = np.linalg.inv(np.asarray(c2w, np.float64))
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    depth = -cam[..., 2]
    f = focal_length(fov_y_deg, height)
    safe = np.where(depth > NEAR, depth, 1.0)
    xy = np.stack([width / 2.0 + f * cam[..., 0] / safe, height / 2.0 - f * cam[..., 1] / safe], axis=-1)
    return xy, depth


def frustum_segments(xy: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drawable edges of projected frustums xy [N, 6, 2], depth [N, 6]: segments [N, E, 2, 2] and a
    mask [N, E] of those with both ends in front of the viewer."""
    ends = np.array(FRUSTUM_EDGES)
    segs = np.stack([xy[:, ends[:, 0]], xy[:, ends[:, 1]]], axis=2)
    ok = (depth[:, ends[:, 0]] > NEAR) & (depth[:, ends[:, 1]] > NEAR)
    return segs, ok


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from point p [2] to segments a-b [..., 2]."""
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0.0, 1.0)
    return np.linalg.norm(a + t[..., None] * ab - p, axis=-1)


def pick(click: tuple[float, float], xy: np.ndarray, depth: np.ndarray, radius: float = 8.0) -> int | None:
    """The frustum a click at view pixel `click` hits: the nearest to the viewer among those with a
    drawn edge within `radius` px of it, or whose image quad contains it; None: none."""
    p = np.asarray(click, np.float64)
    segs, ok = frustum_segments(xy, depth)
    dist = np.where(ok, _point_segment_distance(p, segs[..., 0, :], segs[..., 1, :]), np.inf).min(axis=1)  # [N]
    hit = (dist <= radius) | _inside_quads(p, xy[:, 1:5], (depth[:, 1:5] > NEAR).all(axis=1))
    if not hit.any():
        return None
    candidates = np.flatnonzero(hit)
    return int(candidates[np.argmin(depth[candidates, 0])])


def _inside_quads(p: np.ndarray, quads: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Whether p [2] lies inside each convex quad [N, 4, 2] (either winding), for the ok [N] ones."""
    edges = np.roll(quads, -1, axis=1) - quads  # [N, 4, 2]
    to_p = p - quads
    cross = edges[..., 0] * to_p[..., 1] - edges[..., 1] * to_p[..., 0]  # [N, 4]
    return ok & ((cross >= 0).all(axis=1) | (cross <= 0).all(axis=1))


def psnr_colours(psnrs) -> list[tuple[int, int, int]]:
    """An RGB colour per camera: red at PSNR_RANGE[0] dB or less, green at PSNR_RANGE[1] or more;
    a NaN (not known yet) is grey."""
    lo, hi = PSNR_RANGE
    v = np.asarray(psnrs, np.float64)
    rgb = colormap((np.nan_to_num(v, nan=lo) - lo) / (hi - lo), _PSNR_RAMP)
    return [UNKNOWN_COLOUR if np.isnan(x) else tuple(int(c) for c in col) for x, col in zip(v, rgb, strict=True)]
