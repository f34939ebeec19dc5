"""The help overlay: every control, drawn over the live view. F1 shows and hides it; on the first
start it is shown until dismissed (F1, or a click in the view), and a marker file remembers that.

It is drawn into a draw layer of the view's drawlist, which takes no mouse input: the view still
orbits under it, and a first drag both dismisses the help and moves the camera.
"""
from __future__ import annotations

import os
from pathlib import Path

import dearpygui.dearpygui as dpg

from viewer.keys import help_lines

MARGIN, PAD, ROW = 12, 10, 18  # px
CHAR_W = 7.2  # px per character of DearPyGui's default font at size 14
KEY_COLUMN = 20  # characters
BACKDROP = (20, 20, 24, 215)
KEY_COLOUR, TEXT_COLOUR, TITLE_COLOUR = (255, 205, 90, 255), (235, 235, 235, 255), (150, 200, 255, 255)


def seen_marker() -> Path:
    """Where the first start's dismissal is remembered ($XDG_CONFIG_HOME, else ~/.config)."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "nerf-viewer" / "help-seen"


def help_text() -> list[tuple[str, str]]:
    """(keys, what they do): the mouse, every shortcut, then where the rest lives."""
    return [*help_lines(), ("side panels", "training, render, overlays, record, camera path")]


class HelpOverlay:
    """Draws help_text() into `layer` (view pixels); `marker`: the first-start file (None: never shown
    at start)."""

    def __init__(self, layer, marker: Path | None):
        self.layer, self.marker = layer, marker
        self.visible = marker is not None and not marker.exists()
        self._drawn: tuple | None = None

    def toggle(self) -> None:
        self.visible = not self.visible
        if not self.visible:
            self._remember()

    def dismiss(self) -> None:
        """A click in the view: the help goes (and stays gone at the next start)."""
        if self.visible:
            self.visible = False
            self._remember()

    def _remember(self) -> None:
        if self.marker is None or self.marker.exists():
            return
        try:
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.touch()
        except OSError:
            pass  # a read-only home: the help shows again at the next start, nothing worse

    def update(self, size: tuple[int, int]) -> None:
        """Redraw when shown, hidden or the view resized (drawing items each frame would cost)."""
        key = (self.visible, tuple(size))
        if key == self._drawn:
            return
        self._drawn = key
        dpg.delete_item(self.layer, children_only=True)
        if not self.visible:
            return
        rows = help_text()
        width = min(size[0] - 2 * MARGIN, int(CHAR_W * (KEY_COLUMN + max(len(t) for _, t in rows))) + 2 * PAD)
        height = (len(rows) + 2) * ROW + 2 * PAD
        x0, y0 = MARGIN, MARGIN
        dpg.draw_rectangle((x0, y0), (x0 + width, y0 + height), color=(90, 90, 100, 255), fill=BACKDROP,
                           rounding=4, parent=self.layer)
        dpg.draw_text((x0 + PAD, y0 + PAD), "Controls  (F1 or a click in the view closes this)",
                      color=TITLE_COLOUR, size=14, parent=self.layer)
        for i, (keys, what) in enumerate(rows, start=2):
            y = y0 + PAD + i * ROW
            dpg.draw_text((x0 + PAD, y), keys, color=KEY_COLOUR, size=14, parent=self.layer)
            dpg.draw_text((x0 + PAD + CHAR_W * KEY_COLUMN, y), what, color=TEXT_COLOUR, size=14, parent=self.layer)

    def debug(self, _now: float) -> dict:
        return {"help": self.visible}
