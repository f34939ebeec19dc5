"""Textures that are uploaded when they change, not on every frame.

DearPyGui (2.x) uploads every dynamic and raw texture again on every frame, used or not; under
Mesa's software renderer (Xvfb, VMs, no GPU) that was ~8 ns per texel per frame, several ms of a
30 fps frame for the viewer's textures and the toy lab's. A static texture is uploaded once, so a
`Texture` makes a new static texture on each `set` and points its image items at it; the old one
is deleted a few frames later, when no frame in flight can still draw it.
"""
from __future__ import annotations

import dearpygui.dearpygui as dpg
import numpy as np

_RETIRE_AFTER_FRAMES = 3
_retired: list[tuple[int, int | str]] = []  # (frame at which it may go, texture tag)
_registry: list[int | str] = []  # the texture registry of the current context


def _parent() -> int | str:
    if not _registry or not dpg.does_item_exist(_registry[0]):
        _registry[:] = [dpg.add_texture_registry()]
    return _registry[0]


def rgba_flat(image: np.ndarray) -> np.ndarray:
    """[H, W, 3] floats in [0, 1] -> the flat RGBA float32 buffer DearPyGui textures take."""
    h, w = image.shape[:2]
    out = np.ones((h, w, 4), np.float32)
    out[..., :3] = image
    return out.ravel()


class Texture:
    """One picture shown by any number of image / draw_image items; `set` replaces it."""

    def __init__(self, width: int, height: int, grey: float = 0.0):
        self.width, self.height = int(width), int(height)
        data = np.full(self.width * self.height * 4, grey, np.float32)
        data[3::4] = 1.0
        self.tag = dpg.add_static_texture(self.width, self.height, data, parent=_parent())
        self._users: list[int | str] = []

    def image(self, **kwargs) -> int | str:
        """dpg.add_image showing this texture (kwargs as for add_image)."""
        item = dpg.add_image(self.tag, **kwargs)
        self._users.append(item)
        return item

    def draw_image(self, pmin, pmax, **kwargs) -> int | str:
        item = dpg.draw_image(self.tag, pmin, pmax, **kwargs)
        self._users.append(item)
        return item

    def set(self, image: np.ndarray) -> None:
        """Show `image` [H, W, 3] floats (any size: the texture takes the image's size)."""
        self.set_flat(rgba_flat(image), image.shape[1], image.shape[0])

    def set_flat(self, data: np.ndarray, width: int, height: int) -> None:
        """Show a flat RGBA float32 buffer of width x height."""
        old = self.tag
        self.width, self.height = int(width), int(height)
        self.tag = dpg.add_static_texture(self.width, self.height, np.ascontiguousarray(data, np.float32),
                                          parent=_parent())
        for item in self._users:
            dpg.configure_item(item, texture_tag=self.tag)
        _retired.append((dpg.get_frame_count() + _RETIRE_AFTER_FRAMES, old))


def collect() -> None:
    """Delete replaced textures that no frame can draw any more. Call once per frame."""
    if not _retired:
        return
    now = dpg.get_frame_count()
    keep = []
    for frame, tag in _retired:
        if frame <= now:
            if dpg.does_item_exist(tag):
                dpg.delete_item(tag)
        else:
            keep.append((frame, tag))
    _retired[:] = keep


def forget() -> None:
    """The DearPyGui context is gone: drop the retired tags."""
    _retired.clear()
    _registry.clear()
