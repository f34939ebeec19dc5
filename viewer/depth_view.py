"""The depth view as `nerf-render --output depth` draws it (nerf.export.frames: turbo, black where
nothing is hit), its range, and a colour bar with that range over the live view.

The range is either fixed (the Render panel's near / far) or the frame's own: the 1st to 99th
percentile of the depth of its opaque pixels, as nerf-render picks one for a video.
"""
from __future__ import annotations

import dearpygui.dearpygui as dpg
import numpy as np
import torch

from nerf.export.frames import depth_range, to_image
from nerf.models.base import RenderOutput

BAR_W, BAR_H, MARGIN = 16, 160, 12  # px
BAR_STEPS = 32  # rectangles of the bar: finer than the map's 9 stops, so it reads as smooth
TEXT_COLOUR, BACKDROP = (235, 235, 235, 255), (20, 20, 24, 190)


def depth_span(outputs: dict, fixed: tuple[float, float] | None) -> tuple[float, float]:
    """The depth range to colour: `fixed` (near, far), or the frame's own (see the module docstring).
    outputs: numpy "depth" [H, W] and "opacity" [H, W]."""
    if fixed is not None:
        return fixed
    return depth_range(torch.from_numpy(outputs["depth"]), torch.from_numpy(outputs["opacity"]))


def depth_image(outputs: dict, span: tuple[float, float]) -> np.ndarray:
    """[H, W, 3] float in [0, 1]: nerf-render's depth image of numpy outputs over `span`."""
    out = RenderOutput(rgb=torch.from_numpy(outputs["rgb"]), depth=torch.from_numpy(outputs["depth"]),
                       opacity=torch.from_numpy(outputs["opacity"]))
    return to_image(out, "depth", span).astype(np.float32) / 255.0


def bar_colours(steps: int = BAR_STEPS) -> list[tuple[int, int, int]]:
    """The bar's colours from far (top) to near (bottom): nerf-render's map at `steps` even points."""
    lo_to_hi = to_image(RenderOutput(rgb=torch.zeros(1, steps, 3), depth=torch.linspace(0.0, 1.0, steps)[None],
                                     opacity=torch.ones(1, steps)), "depth", (0.0, 1.0))[0]
    return [tuple(int(c) for c in rgb) for rgb in lo_to_hi[::-1]]


class DepthBar:
    """A vertical colour bar with its far and near values in the bottom-right corner of the view,
    drawn into `layer` while the view shows depth; it redraws only when something changed."""

    def __init__(self, layer):
        self.layer = layer
        self.span: tuple[float, float] | None = None  # as drawn (None: hidden)
        self._key: tuple | None = None
        self._colours = bar_colours()

    def update(self, span: tuple[float, float] | None, size: tuple[int, int]) -> None:
        """span: the depth range the view shows (None: not depth, no bar); size: the view's px."""
        shown = None if span is None else (round(span[0], 3), round(span[1], 3))
        key = (shown, tuple(size))
        if key == self._key:
            return
        self._key, self.span = key, shown
        dpg.delete_item(self.layer, children_only=True)
        if shown is None:
            return
        w, h = size
        x1, y0 = w - MARGIN - 64, h - MARGIN - BAR_H - 40
        dpg.draw_rectangle((x1 - 8, y0 - 8), (w - MARGIN + 4, h - MARGIN), fill=BACKDROP, color=(0, 0, 0, 0),
                           parent=self.layer)
        step = BAR_H / len(self._colours)
        for i, colour in enumerate(self._colours):
            dpg.draw_rectangle((x1, y0 + 18 + i * step), (x1 + BAR_W, y0 + 18 + (i + 1) * step + 1),
                               fill=(*colour, 255), color=(*colour, 255), parent=self.layer)
        dpg.draw_text((x1, y0 - 2), "depth", color=TEXT_COLOUR, size=14, parent=self.layer)
        dpg.draw_text((x1 + BAR_W + 4, y0 + 14), f"{shown[1]:.3g}", color=TEXT_COLOUR, size=13, parent=self.layer)
        dpg.draw_text((x1 + BAR_W + 4, y0 + 10 + BAR_H), f"{shown[0]:.3g}", color=TEXT_COLOUR, size=13,
                      parent=self.layer)
