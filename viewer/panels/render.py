"""Render panel: what the live view shows (mode, background, field of view, resolution, samples)
and a slider that snaps the camera to any dataset view, with its ground truth beside it."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import dearpygui.dearpygui as dpg
import numpy as np

from nerf.media import colormap
from viewer.depth_view import depth_image
from viewer.split_view import GROUND_TRUTH, OFF
from viewer.textures import Texture

MODES = ("RGB", "Depth", "Opacity", "Error")
GT_SIZE = 160  # px of the ground-truth thumbnail

# A short perceptual ramp (dark blue -> teal -> yellow), interpolated for the error map.
_RAMP = np.array([[0.05, 0.03, 0.25], [0.15, 0.35, 0.6], [0.15, 0.65, 0.55], [0.6, 0.85, 0.3],
                  [0.99, 0.91, 0.15]], dtype=np.float32)


def visualize(outputs: dict, mode: str, gt: np.ndarray | None, depth: tuple[float, float] | None = None
              ) -> np.ndarray:
    """The render outputs (numpy) as an image [H, W, 3] float32 for `mode`; `depth`: the depth range
    to colour (viewer.depth_view.depth_span; needed for "Depth")."""
    if mode == "Depth":
        return depth_image(outputs, depth)
    if mode == "Opacity":
        return np.repeat(outputs["opacity"][..., None], 3, axis=-1)
    if mode == "Error" and gt is not None and gt.shape == outputs["rgb"].shape:
        return colormap(np.abs(outputs["rgb"] - gt).mean(axis=-1) * 4.0, _RAMP)  # x4: errors are small
    return outputs["rgb"]


def fit_into(image: np.ndarray, width: int, height: int, fill=0.1) -> np.ndarray:
    """Nearest-neighbour scale of image [h, w, 3] into [height, width, 3], letterboxed, aspect kept."""
    h, w = image.shape[:2]
    s = min(width / w, height / h)
    nw, nh = max(1, int(round(w * s))), max(1, int(round(h * s)))
    ys = np.minimum((np.arange(nh) + 0.5) / s, h - 1).astype(np.int64)
    xs = np.minimum((np.arange(nw) + 0.5) / s, w - 1).astype(np.int64)
    out = np.full((height, width, 3), fill, dtype=np.float32)
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    out[y0:y0 + nh, x0:x0 + nw] = image[ys[:, None], xs[None, :]]
    return out


@dataclass(frozen=True)
class RenderSettings:
    mode: str = "RGB"
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    fov_y_deg: float = 40.0
    scale: float = 0.5  # full-quality resolution relative to the view's size
    max_samples: int = 0  # 0: the model's own number
    depth_span: tuple[float, float] | None = None  # (near, far) the depth view colours; None: each frame's own
    compare: str = OFF  # right of the split view's divider: OFF, a mode, or GROUND_TRUTH


class RenderPanel:
    """Widgets for RenderSettings and the dataset-view slider.

    `views_in(split)`: the number of dataset views in a split; `ground_truth(split, index)`: one of
    their images [H, W, 3]; `on_change(settings, rerender)`: new settings (rerender=False: only the
    display mode changed); `on_snap(split, index)`: put the camera on a dataset view (and call
    show_view)."""

    def __init__(self, settings: RenderSettings, *, views_in: Callable[[str], int],
                 ground_truth: Callable[[str, int], np.ndarray],
                 on_change: Callable[[RenderSettings, bool], None], on_snap: Callable[[str, int], None]):
        self.settings = settings
        self._views_in, self._ground_truth = views_in, ground_truth
        self._on_change, self._on_snap = on_change, on_snap
        self._gt_texture = self._pred_texture = None
        self._split = "train"
        self._depth_key: tuple | None = None  # what show_depth_span last showed

    def build(self, parent) -> None:
        s = self.settings
        with dpg.collapsing_header(label="Render", default_open=True, parent=parent):
            self.mode_combo = dpg.add_combo(MODES, default_value=s.mode, label="mode", width=150,
                          callback=lambda _s, v: self._set(mode=v))
            self.compare_combo = dpg.add_combo((OFF, GROUND_TRUTH, *MODES), default_value=s.compare,
                                               label="compare (right of a divider)", width=150,
                                               callback=lambda _s, v: self._set(compare=v))
            with dpg.group(horizontal=True):
                self.depth_auto = dpg.add_checkbox(label="auto", default_value=s.depth_span is None,
                                                   callback=lambda _s, v: self._depth_fields())
                self.depth_near = dpg.add_input_float(width=70, step=0, format="%.3g", on_enter=True,
                                                      callback=lambda *_: self._depth_fields())
                self.depth_far = dpg.add_input_float(width=70, step=0, format="%.3g", on_enter=True,
                                                     callback=lambda *_: self._depth_fields())
                dpg.add_text("depth near / far")
            dpg.add_color_edit([int(c * 255) for c in s.background] + [255], label="background",
                               no_alpha=True, width=150,
                               callback=lambda _s, v: self._set(background=_rgb(v)))
            dpg.add_slider_float(label="field of view", default_value=s.fov_y_deg, min_value=15.0,
                                 max_value=100.0, format="%.0f deg", width=150,
                                 callback=lambda _s, v: self._set(fov_y_deg=float(v)))
            dpg.add_slider_float(label="resolution", default_value=s.scale, min_value=0.05,
                                 max_value=1.0, format="%.2f x view", width=150,
                                 callback=lambda _s, v: self._set(scale=float(v)))
            dpg.add_slider_int(label="samples/ray", default_value=s.max_samples, min_value=0,
                               max_value=1024, width=150, format="%d (0 = model's)",
                               callback=lambda _s, v: self._set(max_samples=int(v)))
            dpg.add_separator()
            dpg.add_text("Dataset view (snaps the camera):")
            self.split_radio = dpg.add_radio_button(("train", "test"), default_value="train", horizontal=True,
                                                    callback=lambda _s, v: self._set_split(v))
            n = self._views_in("train")
            self.view_slider = dpg.add_slider_int(label="view", min_value=0, max_value=max(n - 1, 0),
                                                  width=150, callback=lambda _s, v: self._snap(int(v)))
            self._gt_texture = Texture(GT_SIZE, GT_SIZE)
            self._pred_texture = Texture(GT_SIZE, GT_SIZE)
            with dpg.group(horizontal=True):
                with dpg.group():
                    dpg.add_text("ground truth")
                    self._gt_texture.image(width=GT_SIZE, height=GT_SIZE)
                with dpg.group():
                    dpg.add_text("model (snapped view)")
                    self._pred_texture.image(width=GT_SIZE, height=GT_SIZE)
        self._gt_texture.set(fit_into(self._ground_truth("train", 0), GT_SIZE, GT_SIZE))

    def debug(self, _now: float) -> dict:
        """For NERF_VIEWER_DEBUG_STATE: the settings and where the view's controls are."""
        items = {"mode": self.mode_combo, "compare": self.compare_combo, "auto": self.depth_auto,
                 "near": self.depth_near, "far": self.depth_far}
        return {"render": {"mode": self.settings.mode, "compare": self.settings.compare,
                           "depth_span": self.settings.depth_span,
                           "depth_fields": [dpg.get_value(self.depth_near), dpg.get_value(self.depth_far)],
                           "items": {k: [*dpg.get_item_rect_min(i), *dpg.get_item_rect_size(i),
                                         dpg.is_item_visible(i)] for k, i in items.items()}}}

    def _set(self, **changes) -> None:
        self.settings = replace(self.settings, **changes)
        self._on_change(self.settings, not set(changes) <= {"mode", "depth_span", "compare"})  # those only redraw

    def _depth_fields(self) -> None:
        """auto: each frame's own range; else the near / far fields (unticking auto keeps the range
        shown, so the colours stop changing as the camera moves)."""
        if dpg.get_value(self.depth_auto):
            self._set(depth_span=None)
            return
        near, far = dpg.get_value(self.depth_near), dpg.get_value(self.depth_far)
        if far <= near:
            far = near + 1e-3
            dpg.set_value(self.depth_far, far)
        self._set(depth_span=(near, far))

    def show_depth_span(self, span: tuple[float, float] | None) -> None:
        """The range the view colours now (None: not depth): shown in the fields while auto."""
        key = (span, dpg.get_value(self.depth_auto))
        if key == self._depth_key:
            return
        self._depth_key = key
        for item in (self.depth_near, self.depth_far):
            dpg.configure_item(item, enabled=span is not None and not dpg.get_value(self.depth_auto))
        if span is not None and dpg.get_value(self.depth_auto):
            dpg.set_value(self.depth_near, span[0])
            dpg.set_value(self.depth_far, span[1])

    def _set_split(self, split: str) -> None:
        self._split = split
        n = self._views_in(split)
        dpg.configure_item(self.view_slider, max_value=max(n - 1, 0))
        dpg.set_value(self.view_slider, min(dpg.get_value(self.view_slider), n - 1))
        self._snap(dpg.get_value(self.view_slider))

    def _snap(self, index: int) -> None:
        self._on_snap(self._split, index)  # which calls show_view back

    def show_view(self, split: str, index: int) -> None:
        """The camera went to dataset view `index` of `split` from elsewhere ([ / ], a click on a
        camera, the first view): show it on the slider and its ground truth."""
        if split != self._split:
            self._split = split
            dpg.set_value(self.split_radio, split)
            dpg.configure_item(self.view_slider, max_value=max(self._views_in(split) - 1, 0))
        dpg.set_value(self.view_slider, index)
        self._gt_texture.set(fit_into(self._ground_truth(split, index), GT_SIZE, GT_SIZE))

    def show_prediction(self, image: np.ndarray) -> None:
        """The model's render of the snapped view, beside the ground truth."""
        self._pred_texture.set(fit_into(image, GT_SIZE, GT_SIZE))


def _rgb(value) -> tuple[float, float, float]:
    """DearPyGui colour (0..255 or 0..1 floats, 3 or 4 values) -> RGB in [0, 1]."""
    v = [float(x) for x in value[:3]]
    if max(v) > 1.0:
        v = [x / 255.0 for x in v]
    return v[0], v[1], v[2]
