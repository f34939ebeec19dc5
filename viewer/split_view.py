"""The split view: the frame in one render mode left of a draggable divider and another mode, or the
snapped view's ground truth, right of it (nerfstudio's and instant-ngp's compare views).

Composing is pure numpy (tests/viewer/test_split_view.py); Divider draws the line, its handle and
the two sides' names into a draw layer over the view.
"""
from __future__ import annotations

from collections.abc import Callable

import dearpygui.dearpygui as dpg
import numpy as np

GROUND_TRUTH = "ground truth"
OFF = "off"
GRAB_PX = 8.0  # a press this close to the divider moves it instead of orbiting
LINE_COLOUR, TEXT_COLOUR, BACKDROP = (255, 255, 255, 230), (235, 235, 235, 255), (20, 20, 24, 190)


def resize_nearest(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """image [h, w, C] to [height, width, C], nearest pixel (a ground truth to a smaller frame's size)."""
    h, w = image.shape[:2]
    ys = np.minimum(((np.arange(height) + 0.5) * h / height).astype(np.int64), h - 1)
    xs = np.minimum(((np.arange(width) + 0.5) * w / width).astype(np.int64), w - 1)
    return image[ys[:, None], xs[None, :]]


def split_image(left: np.ndarray, right: np.ndarray, fraction: float) -> np.ndarray:
    """left [H, W, 3] up to column round(fraction * W), right [H, W, 3] from there on."""
    assert left.shape == right.shape, (left.shape, right.shape)
    column = int(round(np.clip(fraction, 0.0, 1.0) * left.shape[1]))
    out = left.copy()
    out[:, column:] = right[:, column:]
    return out


class Split:
    """Where the divider is: `fraction` of the frame's width, the frame's rect in view pixels
    (x, y, w, h) as last drawn, whether the view is split now (`active`) and whether a drag holds
    the divider. As a grabber of the view (grab, drag, release) it calls on_move() when it moved."""

    def __init__(self, on_move: Callable[[], None] = lambda: None, fraction: float = 0.5):
        self.on_move = on_move
        self.fraction = fraction
        self.frame = (0.0, 0.0, 1.0, 1.0)
        self.active = False
        self.dragging = False

    @property
    def x(self) -> float:
        """The divider's view x, px."""
        return self.frame[0] + self.fraction * self.frame[2]

    def grab(self, xy) -> bool:
        """A left press at view pixel xy: on the divider of a split view, it holds the divider (True)."""
        self.dragging = self.active and abs(xy[0] - self.x) <= GRAB_PX
        return self.dragging

    def drag(self, xy) -> None:
        self.move_to(xy[0])
        self.on_move()

    def release(self) -> None:
        self.dragging = False

    def move_to(self, x: float) -> None:
        """Put the divider at view x (kept inside the frame)."""
        self.fraction = float(np.clip((x - self.frame[0]) / max(self.frame[2], 1.0), 0.0, 1.0))


class Divider:
    """Draws a Split into `layer`: a line over the frame, a handle, the names of both sides; or a
    note when the right side cannot be shown (ground truth away from a dataset view)."""

    def __init__(self, layer):
        self.layer = layer
        self._key: tuple | None = None

    def update(self, split: Split, labels: tuple[str, str] | None, note: str = "") -> None:
        """labels: (left, right) names (None: no split shown)."""
        key = (labels, note, split.frame, round(split.fraction, 4))
        if key == self._key:
            return
        self._key = key
        dpg.delete_item(self.layer, children_only=True)
        x0, y0, w, h = split.frame
        if note:
            dpg.draw_rectangle((x0 + 8, y0 + 8), (x0 + 16 + 7.2 * len(note), y0 + 30), fill=BACKDROP,
                               color=(0, 0, 0, 0), parent=self.layer)
            dpg.draw_text((x0 + 12, y0 + 11), note, color=TEXT_COLOUR, size=14, parent=self.layer)
        if labels is None:
            return
        x = split.x
        # a dark edge under the white line: seen on a white background as on a black one
        dpg.draw_line((x, y0), (x, y0 + h), color=(0, 0, 0, 150), thickness=4, parent=self.layer)
        dpg.draw_line((x, y0), (x, y0 + h), color=LINE_COLOUR, thickness=2, parent=self.layer)
        dpg.draw_circle((x, y0 + h / 2), 7, color=LINE_COLOUR, fill=(60, 60, 70, 230), parent=self.layer)
        for text, tx in ((labels[0], x - 10 - 7.2 * len(labels[0])), (labels[1], x + 10)):
            dpg.draw_rectangle((tx - 4, y0 + 8), (tx + 4 + 7.2 * len(text), y0 + 28), fill=BACKDROP,
                               color=(0, 0, 0, 0), parent=self.layer)
            dpg.draw_text((tx, y0 + 10), text, color=TEXT_COLOUR, size=14, parent=self.layer)
