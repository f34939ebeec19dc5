"""Snapshot -> display arrays for the toy-lab panel (pure numpy, no GUI, unit-testable).

Textures are square, DISPLAY x DISPLAY RGBA float32 in [0, 1], flattened as DearPyGui raw textures
expect. Warp grids become polylines in the pixel space of a drawing area.
"""
from __future__ import annotations

import math

import numpy as np

from toy import render
from toy.snapshot import ConfigSnapshot

DISPLAY = 128  # texture side in pixels


def resize_nearest(image: np.ndarray, side: int = DISPLAY) -> np.ndarray:
    """[H, W, ...] -> [side, side, ...] by nearest neighbour (cheap, keeps pixels crisp)."""
    h, w = image.shape[:2]
    rows = np.minimum((np.arange(side) + 0.5) * h / side, h - 1).astype(np.int64)
    cols = np.minimum((np.arange(side) + 0.5) * w / side, w - 1).astype(np.int64)
    return image[rows][:, cols]


def rgba_texture(rgb: np.ndarray, side: int = DISPLAY) -> np.ndarray:
    """[H, W, 3] float in [0, 1] or uint8 -> flat float32 [side * side * 4] RGBA (opaque)."""
    arr = np.asarray(rgb)
    arr = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else np.clip(arr.astype(np.float32), 0, 1)
    small = resize_nearest(arr, side)
    out = np.ones((side, side, 4), dtype=np.float32)
    out[..., :3] = small
    return out.reshape(-1)


def blank_texture(side: int = DISPLAY, grey: float = 0.2) -> np.ndarray:
    out = np.full((side, side, 4), grey, dtype=np.float32)
    out[..., 3] = 1.0
    return out.reshape(-1)


def error_rgb(error: np.ndarray) -> np.ndarray:
    """[H, W] mean absolute error -> [H, W, 3] uint8 with the same colour map as the headless frames."""
    return render.error_colours(error)


def warp_field_rgb(warped: np.ndarray) -> np.ndarray:
    """[h, w, 2] warped coordinates in about [-1, 1] -> [h, w, 3] float: red = x, green = y, blue = 0.5.

    The identity gives a smooth red/green ramp; a learned warp shows up as a bent ramp.
    """
    rg = np.clip((warped + 1.0) * 0.5, 0.0, 1.0)
    return np.concatenate([rg, np.full(rg.shape[:2] + (1,), 0.5, dtype=rg.dtype)], axis=-1)


def mosaic(maps: np.ndarray, side: int = DISPLAY, gap: int = 1) -> np.ndarray:
    """[N, h, w] channel maps -> [side, side, 3] float grey mosaic, each map normalised to its own range.

    Tiles are laid out on a ceil(sqrt(N)) grid; unused tiles stay dark.
    """
    n, h, w = maps.shape
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    canvas = np.full((rows * (h + gap), cols * (w + gap)), 0.1, dtype=np.float32)
    lo = maps.reshape(n, -1).min(axis=1)[:, None, None]
    hi = maps.reshape(n, -1).max(axis=1)[:, None, None]
    norm = (maps - lo) / np.maximum(hi - lo, 1e-8)
    for i in range(n):  # at most a few dozen tiles
        r, c = divmod(i, cols)
        canvas[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = norm[i]
    square = np.full((max(canvas.shape),) * 2, 0.1, dtype=np.float32)
    square[:canvas.shape[0], :canvas.shape[1]] = canvas
    return np.repeat(resize_nearest(square, side)[..., None], 3, axis=-1)


def grid_polylines(warped_grid: np.ndarray, size: float,
                   origin: tuple[float, float] = (0.0, 0.0)) -> list[list[list[float]]]:
    """[L, P, 2] warped grid in [-1, 1] (y down) -> L polylines of [x, y] points in a size x size area.

    Coordinate -1 maps to the area's edge, +1 to the opposite edge, so the identity warp draws a regular
    grid exactly over the image.
    """
    pts = (np.asarray(warped_grid, dtype=np.float64) + 1.0) * 0.5 * size
    pts += np.asarray(origin, dtype=np.float64)
    return pts.tolist()


def ab_frame(snapshots: list[ConfigSnapshot], step_line: bool = True) -> np.ndarray:
    """A|B recording frame: each configuration's reconstruction and error with its title lines."""
    panels = []
    for label, snap in zip("AB", snapshots, strict=False):  # one configuration, or A and B
        held = "= train (100% px)" if snap.heldout_is_train else f"{snap.heldout_psnr:.2f} dB"
        lines = [f"{label}: {snap.title}"]
        if step_line:
            lines.append(f"step {snap.step}  train {snap.train_psnr:.2f} dB  held-out {held}")
        panels.append(render.result_panel(snap.recon, error_rgb(snap.error_map), lines, n_lines=5))
    return render.side_by_side(panels, gap=6)
