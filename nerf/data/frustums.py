"""A camera's frustum as world points: what the viewer draws over its view and the camera-layout
pictures (nerf.report.camera_plot) draw from above and from the side.

Conventions as nerf.data.scene: camera-to-world in the OpenGL convention (x right, y up, looking
down -z), pixels with y down.
"""
from __future__ import annotations

import numpy as np

# Apex 0, image-plane corners 1..4 (top-left, top-right, bottom-right, bottom-left), and a tick
# above the top edge (5) that tells up from down.
FRUSTUM_EDGES = ((0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (2, 3), (3, 4), (4, 1), (1, 5), (5, 2))


def frustum_points(c2ws: np.ndarray, fx, fy, cx, cy, width: int, height: int, size: float) -> np.ndarray:
    """[N, 6, 3] world points of each camera's frustum drawn `size` deep: apex, the four image
    corners on the plane at depth `size`, and the up tick. c2ws [N, 4, 4]; intrinsics [N] or scalars."""
    c2ws = np.asarray(c2ws, np.float64)
    n = len(c2ws)
    fx, fy, cx, cy = (np.broadcast_to(np.asarray(v, np.float64), (n,)) for v in (fx, fy, cx, cy))
    u = np.array([0.0, width, width, 0.0])
    v = np.array([0.0, 0.0, height, height])
    x = (u[None] - cx[:, None]) / fx[:, None]  # [N, 4] at unit depth
    y = -(v[None] - cy[:, None]) / fy[:, None]
    corners = np.stack([x, y, -np.ones_like(x)], axis=-1) * size  # [N, 4, 3] camera frame
    top = corners[:, :2].mean(axis=1)
    tick = top + np.stack([np.zeros(n), 0.4 * (corners[:, 0, 1] - corners[:, 3, 1]), np.zeros(n)], axis=-1)
    local = np.concatenate([np.zeros((n, 1, 3)), corners, tick[:, None]], axis=1)  # [N, 6, 3]
    return np.einsum("nij,nkj->nki", c2ws[:, :3, :3], local) + c2ws[:, None, :3, 3]
