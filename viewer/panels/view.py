"""The live view: one texture showing the model from the orbit camera.

Input: left-drag orbits, right/middle-drag pans, the wheel zooms, WASD/QE move (only while the view
is hovered). Rendering: requests go to the worker's newest-wins mailbox, one at a time; which ones
and when is viewer.view_schedule's state machine. This panel turns its requests into cameras and
shows what comes back.
"""
from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Protocol

import dearpygui.dearpygui as dpg
import numpy as np
import torch

from nerf.data.cameras import make_cameras
from nerf.train.worker import RenderRequest
from viewer.dataset_views import DatasetViews
from viewer.depth_view import depth_span
from viewer.orbit import DragDelta, OrbitCamera
from viewer.panels.render import RenderSettings, visualize
from viewer.panels.status import RateMeter
from viewer.split_view import GROUND_TRUTH, OFF, Split, resize_nearest, split_image
from viewer.textures import Texture
from viewer.view_schedule import FULL, ViewSchedule, ViewTag, sample_cap

CLICK_PX = 3.0  # a left press that moves less than this is a click, not an orbit
MOVE_KEYS = {"W": (0, 0, 1), "S": (0, 0, -1), "A": (-1, 0, 0), "D": (1, 0, 0), "E": (0, 1, 0), "Q": (0, -1, 0)}


class RenderWorker(Protocol):
    """What the view needs from nerf.train.worker.TrainingWorker."""

    def request_render(self, request: RenderRequest) -> None: ...

    def set_interacting(self, on: bool) -> None: ...


class Grabber(Protocol):
    """Something drawn over the view that a left drag starting on it moves (viewer.split_view.Split,
    viewer.crop_handles.CropHandles)."""

    def grab(self, xy: tuple[float, float]) -> bool: ...

    def drag(self, xy: tuple[float, float]) -> None: ...

    def release(self) -> None: ...


class LiveView:
    """The view and its render requests. `views`: the scene's dataset views (viewer.dataset_views:
    their cameras to snap to, their images for the error map); `on_screenshot(rgb, request)`
    receives a screenshot's render and `on_snapped_frame(rgb)` each full-quality render of a
    snapped dataset view."""

    def __init__(self, camera: OrbitCamera, settings: RenderSettings, *, worker: RenderWorker,
                 views: DatasetViews, on_screenshot: Callable,
                 on_snapped_frame: Callable, on_snap: Callable[[str, int], None] = lambda _split, _i: None):
        self.camera, self.settings = camera, settings
        self._worker = worker
        self.views = views
        self._on_screenshot, self._on_snapped_frame, self._on_snap = on_screenshot, on_snapped_frame, on_snap
        self.schedule = ViewSchedule()
        self.render_meter = RateMeter()  # frames shown per second
        self.size = (camera.width, camera.height)
        self.texture: Texture | None = None
        self.canvas = self.image = self.overlay = None  # drawlist; the frame in it; a layer drawn over it
        self.crop = None  # nerf.data.crop.CropBox the renders keep to (None: everything)
        self.path_fov: float | None = None  # a previewed camera path's field of view, over the setting's
        self._drag = {b: DragDelta() for b in (0, 1, 2)}
        self._drag_ok = False  # the press started over the view
        self._dragged = 0.0  # px the left button moved since the press
        # A left click that did not drag, at view pixel (x, y): e.g. a training camera's frustum
        self.on_click: Callable[[tuple[float, float]], None] = lambda _xy: None
        self._interacting = False  # as last told to the worker
        self.last_outputs: dict | None = None
        self.last_image: np.ndarray | None = None  # [H, W, 3] float, as uploaded
        self.depth_shown: tuple[float, float] | None = None  # the depth range on screen (None: not depth)
        self.split = Split(on_move=self.show)  # the compare view's divider
        # Things in the view a left drag can hold instead of orbiting (the divider, crop handles),
        # asked in order at each press: grab(xy) -> bool, drag(xy), release()
        self.grabbers: list[Grabber] = [self.split]
        self._grabbed: Grabber | None = None
        self.compare_labels: tuple[str, str] | None = None  # (left, right) while the view is split
        self.compare_note = ""  # why the compare side is not shown
        self.frame_hash = 0
        self.frames_shown = 0

    # --- widgets -------------------------------------------------------------------------------

    def build(self, parent, width: int, height: int) -> None:
        self.holder = parent
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        width, height = max(32, int(width)), max(32, int(height))
        if self.image is not None and (width, height) == self.size:
            return
        self.size = (width, height)
        self.camera.resize(width, height)
        if self.image is None:
            # A drawlist rather than an image item, so that the overlay layer draws over the frame
            # without taking the mouse from it (an overlapping drawlist would).
            self.texture = Texture(8, 8)
            self.canvas = dpg.add_drawlist(width=width, height=height, parent=self.holder)
            self.image = self.texture.draw_image((0, 0), (width, height), parent=self.canvas)
            self.overlay = dpg.add_draw_layer(parent=self.canvas)
        dpg.configure_item(self.canvas, width=width, height=height)
        if self.last_image is not None:
            self._upload(self.last_image)
        self.changed(keep_snap=True, moved=False)  # a dataset camera's frame does not depend on the view's size

    def add_layer(self, **kwargs):
        """A new draw layer over the frame and the layers before it (view pixels; takes no mouse
        input); kwargs as for dpg.add_draw_layer (a perspective layer for 3D shapes)."""
        return dpg.add_draw_layer(parent=self.canvas, **kwargs)

    def hovered(self) -> bool:
        return self.canvas is not None and dpg.is_item_hovered(self.canvas)

    def rect(self) -> list[float]:
        """[x, y, width, height] of the view in the window, px."""
        x, y = dpg.get_item_rect_min(self.canvas)
        return [x, y, *self.size]

    def debug(self, now: float) -> dict:
        """For NERF_VIEWER_DEBUG_STATE: where the camera is and what the screen shows."""
        return {"render_fps": self.render_meter.rate(now), "c2w": self.camera.c2w.tolist(),
                "frame_hash": self.frame_hash, "frames_shown": self.frames_shown, "view_rect": self.rect(),
                "latencies_ms": self.schedule.latencies_ms[-50:],
                "rest_to_full_s": self.schedule.rest_to_full_s[-50:], "snapped": self.snapped(),
                "depth_shown": self.depth_shown,
                "compare": {"labels": self.compare_labels, "fraction": self.split.fraction, "divider_x": self.split.x,
                            "frame": list(self.split.frame), "note": self.compare_note}}

    # --- input ---------------------------------------------------------------------------------

    def on_press(self, button: int) -> None:
        self._drag_ok = self.hovered()
        self._dragged = 0.0
        if button == 0 and self._drag_ok:
            xy = dpg.get_drawing_mouse_pos()
            self._grabbed = next((g for g in self.grabbers if g.grab(xy)), None)

    def on_drag(self, button: int, cum_dx: float, cum_dy: float) -> None:
        if button not in self._drag:
            return
        dx, dy = self._drag[button].update(cum_dx, cum_dy)
        if button == 0 and self._grabbed is not None:
            self._grabbed.drag(dpg.get_drawing_mouse_pos())
            return
        if button == 0:
            self._dragged = max(self._dragged, abs(cum_dx) + abs(cum_dy))
        if not self._drag_ok or (dx == 0 and dy == 0) or (button == 0 and self._dragged < CLICK_PX):
            return  # a click is not an orbit: it may pick a camera
        if button == 0:
            self.camera.orbit(dx, dy)
        else:
            self.camera.pan(dx, dy)
        self.changed()

    def on_release(self, button: int) -> None:
        if button in self._drag:
            self._drag[button].release()
            self.schedule.released(time.perf_counter())
        if button == 0 and self._grabbed is not None:
            self._grabbed.release()
            self._grabbed = None
            return
        if button == 0 and self._drag_ok and self._dragged < CLICK_PX and self.hovered():
            x, y = dpg.get_drawing_mouse_pos()
            self.on_click((float(x), float(y)))

    def on_wheel(self, notches: float) -> None:
        if self.hovered():
            self.camera.zoom(notches)
            self.changed()

    def poll_keys(self, dt: float) -> None:
        """WASD/QE move the camera while held (view hovered, no text field active)."""
        if not self.hovered():
            return
        move = np.zeros(3)
        for key, vec in MOVE_KEYS.items():
            if dpg.is_key_down(getattr(dpg, f"mvKey_{key}")):
                move += vec
        if move.any():
            self.camera.move(*(move * dt * 0.5))
            self.changed()

    def changed(self, *, keep_snap: bool = False, moved: bool = True) -> None:
        """The camera or a render setting changed (see ViewSchedule.changed)."""
        self.schedule.changed(time.perf_counter(), keep_snap=keep_snap, moved=moved)

    def snap_to(self, split: str, index: int, *, moved: bool = True) -> None:
        """Put the camera on dataset view `index` of `split` and render that camera exactly
        (moved=False: nobody moved it, e.g. the first view; training is not held for it)."""
        self.camera.set_c2w(self.views.c2ws(split)[index])
        self.schedule.snap_to(split, index, time.perf_counter(), moved=moved)
        self._on_snap(split, index)

    def snapped(self) -> tuple[str, int] | None:
        """(split, index) while the camera sits on the dataset view it was snapped to."""
        return self.schedule.snap()

    def display_fov(self) -> float:
        """Vertical field of view (deg) of the view's pixels as the frame on screen shows them, for
        what is drawn over it: the orbit camera's, or at a snapped dataset view that camera's, its
        image scaled into the view with its aspect kept (as _upload places it)."""
        snap = self.snapped()
        if snap is None:
            return self.camera.fov_y_deg
        cam = self.views.camera(*snap, 1.0)
        focal = float(cam.fy[0]) * min(self.size[0] / cam.width, self.size[1] / cam.height)  # px on screen
        return float(np.degrees(2.0 * np.arctan(0.5 * self.size[1] / focal)))

    def jump(self, delta: int) -> None:
        """`[` / `]`: to the previous / next training camera (from elsewhere: the nearest one)."""
        snap = self.snapped()
        index = snap[1] if snap and snap[0] == "train" else None
        self.snap_to("train", self.views.jump("train", index, self.camera.eye, delta))

    def reset_camera(self) -> None:
        """Back to the first view (this also leaves a snapped view)."""
        self.camera.reset()
        self.changed()

    def set_settings(self, settings: RenderSettings, rerender: bool) -> None:
        """New render settings; rerender=False (only the display mode changed): redraw the last frame."""
        self.settings = settings
        if rerender:
            self.changed(keep_snap=True)
        else:
            self.show()

    def set_crop(self, crop) -> None:
        """Render only what lies inside `crop` (a CropBox; None: everything)."""
        if crop != self.crop:
            self.crop = crop
            self.changed(keep_snap=True, moved=False)

    def follow(self, c2w: np.ndarray, fov_y_deg: float | None) -> None:
        """Put the camera at c2w [4, 4] (a keyframe, a previewed path's pose) and see it with
        fov_y_deg (None: the render setting's)."""
        self.camera.set_c2w(c2w)
        self.path_fov = fov_y_deg
        self.changed()

    def screenshot(self) -> None:
        """A full-quality render of the view goes to on_screenshot once the camera rests."""
        self.schedule.screenshot_due = True

    # --- frames --------------------------------------------------------------------------------

    def update(self, now: float, result, step: int, training: bool) -> None:
        """Show `result` (a RenderResult or None), then ask for the next frame if one is due."""
        if result is not None and isinstance(result.request.tag, ViewTag):
            self._receive(result, now)
        tag = self.schedule.next_request(now, step, training)
        if self.schedule.interacting != self._interacting:
            self._interacting = self.schedule.interacting
            self._worker.set_interacting(self._interacting)
        if tag is not None:
            self._request(tag)

    def _receive(self, result, now: float) -> None:
        tag: ViewTag = result.request.tag
        self.schedule.finished(tag, None if result.outputs is None else result.seconds)
        if result.outputs is None:
            return
        outputs = {k: getattr(result.outputs, k).detach().cpu().numpy() for k in ("rgb", "depth", "opacity")}
        if tag.purpose == "screenshot":
            self._on_screenshot(outputs["rgb"], result.request)
        if not self.schedule.show(tag, result.step, now):
            return
        self.last_outputs = outputs
        self.show()
        self.render_meter.tick(now)
        if tag.snapped is not None and tag.level == FULL:
            self._on_snapped_frame(outputs["rgb"])

    def show(self) -> None:
        """(Re)draw the last outputs in the current mode."""
        if self.last_outputs is None:
            return
        snap = self.schedule.snap()
        gt = self.views.ground_truth(*snap, self.settings.background) if snap else None
        mode, compare = self.settings.mode, self.settings.compare
        self.depth_shown = depth_span(self.last_outputs, self.settings.depth_span) \
            if "Depth" in (mode, compare) else None
        image = visualize(self.last_outputs, mode, gt, self.depth_shown)
        right, self.compare_note = None, ""
        if compare == GROUND_TRUTH and gt is None:
            self.compare_note = "ground truth: snap to a dataset view ([ / ], a camera, the view slider)"
        elif compare == GROUND_TRUTH:
            right = resize_nearest(gt, *image.shape[:2])  # moving, the frame is smaller than the image
        elif compare != OFF:
            right = visualize(self.last_outputs, compare, gt, self.depth_shown)
        self.compare_labels = None if right is None else (mode, compare)
        self.split.active = right is not None
        self._upload(image if right is None else split_image(image, right, self.split.fraction))

    def _upload(self, image: np.ndarray) -> None:
        """Show image [h, w, 3] float: upload at its own size and let the GPU scale it into the view,
        aspect kept (scaling in numpy cost ~10x more CPU than the whole rest of a frame)."""
        h, w = image.shape[:2]
        self.texture.set(image)
        vw, vh = self.size
        s = min(vw / w, vh / h)
        dw, dh = int(w * s), int(h * s)
        x0, y0 = (vw - dw) // 2, (vh - dh) // 2
        dpg.configure_item(self.image, pmin=(x0, y0), pmax=(x0 + dw, y0 + dh))
        self.split.frame = (x0, y0, dw, dh)
        self.last_image = image
        small = (image[::4, ::4] * 255).astype(np.uint8)
        self.frame_hash = zlib.crc32(small.tobytes())
        self.frames_shown += 1

    def _request(self, tag: ViewTag) -> None:
        s = self.settings
        scale = tag.scale * s.scale  # a screenshot is the full-quality level, all samples
        if tag.snapped:
            cams = self.views.camera(*tag.snapped, tag.scale)
        else:
            self.camera.fov_y_deg = self.path_fov or s.fov_y_deg
            w, h = max(8, int(self.size[0] * scale)), max(8, int(self.size[1] * scale))
            cams = make_cameras(torch.as_tensor(self.camera.c2w, dtype=torch.float32), w, h,
                                fov_y_deg=self.camera.fov_y_deg)
        self._worker.request_render(RenderRequest(cams, 0, background=s.background,
                                                  max_samples=sample_cap(s.max_samples, tag.interactive),
                                                  interactive=tag.interactive, prompt=tag.prompt, tag=tag,
                                                  crop=self.crop))
