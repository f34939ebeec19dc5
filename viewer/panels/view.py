"""The live view: one texture showing the model from the orbit camera.

Input: left-drag orbits, right/middle-drag pans, the wheel zooms, WASD/QE move (only while the view
is hovered). Rendering: requests go to the worker's newest-wins mailbox, one at a time; while the
camera moves they are small (at most 1/4 resolution, few samples, smaller still while such a frame
takes longer than MOVING_TARGET_S) and interactive, and once it rests the view refines to 1/2 and
then full resolution, then keeps refreshing while training changes the model. While training, a
level whose frame would take longer than REFINE_MAX_S waits (the current level keeps refreshing
and re-measures) until the model renders faster or training pauses. On a CPU, ngp's full-resolution
frame takes ~4 s before the occupancy grid's first refresh and ~0.4 s after it: waiting for it
brings training to the fast phase sooner. The vanilla model's (~6 s) shows at half resolution
while it trains on a CPU, at full resolution when paused.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import dearpygui.dearpygui as dpg
import numpy as np
import torch

from nerf.data.cameras import make_cameras
from nerf.train.worker import RenderRequest
from viewer.orbit import DragDelta, OrbitCamera
from viewer.panels.render import RenderSettings, visualize
from viewer.textures import Texture

LEVELS = (0.25, 0.5, 1.0)  # resolution of each refinement level, relative to full quality
MOVING_SAMPLES = 64  # sample cap while the camera moves
MOVING_TARGET_S = 0.05  # render time aimed at for a frame while the camera moves
MIN_MOVING_SCALE = 1 / 16  # the smallest resolution a moving frame drops to
REST_AFTER_S = 0.25  # the camera counts as resting this long after the last change (or at once when
#                       the drag's button is released: wheel and keys have no release to wait for)
REFINE_MAX_S = 3.0  # while training, the longest predicted frame a refinement may take
MOVE_KEYS = {"W": (0, 0, 1), "S": (0, 0, -1), "A": (-1, 0, 0), "D": (1, 0, 0), "E": (0, 1, 0), "Q": (0, -1, 0)}


def next_moving_scale(scale: float, seconds: float, target: float = MOVING_TARGET_S) -> float:
    """Resolution for the next moving frame after one at `scale` took `seconds` to render.

    Render time grows with the pixel count, i.e. with scale^2, so sqrt(target / seconds) corrects
    it in one step (at most 2x either way per frame, so one slow outlier cannot collapse it).
    Stays within [MIN_MOVING_SCALE, LEVELS[0]]."""
    ratio = (target / max(seconds, 1e-4)) ** 0.5
    return float(min(max(scale * min(max(ratio, 0.5), 2.0), MIN_MOVING_SCALE), LEVELS[0]))


@dataclass(frozen=True)
class ViewTag:
    version: int  # camera/settings version the frame was requested for
    level: int
    purpose: str = "view"  # "view" | "screenshot"
    snapped: tuple | None = None  # (split, index) when rendering a dataset camera
    scale: float = 1.0  # resolution relative to full quality


class LiveView:
    def __init__(self, app, camera: OrbitCamera, settings: RenderSettings):
        self.app, self.camera, self.settings = app, camera, settings
        self.version = 0
        self.snapped: tuple | None = None  # (split, index, version) while the camera sits on a dataset view
        self.size = (camera.width, camera.height)
        self.texture: Texture | None = None
        self.image = None
        self._drag = {b: DragDelta() for b in (0, 1, 2)}
        self._drag_ok = False  # the press started over the view
        self._inflight: ViewTag | None = None
        self._shown: tuple[int, int, int] | None = None  # (version, level, step) on screen
        self._rest_from = 0.0  # perf_counter time from which the camera counts as resting
        self._interacting = False
        self._pending_move: tuple[int, float] | None = None  # (version, time) of the first unserved move
        self.latencies_ms: list[float] = []
        self.last_outputs: dict | None = None
        self.last_image: np.ndarray | None = None  # [H, W, 3] float, as uploaded
        self.frame_hash = 0
        self.frames_shown = 0
        self.pending_screenshot = False
        self.moving_scale = LEVELS[0]  # resolution of frames while moving, adapted to their render time
        self._level_cost: dict[int, tuple[float, float]] = {}  # level -> (seconds, scale) of its last frame

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
            self.texture = Texture(8, 8)
            self.image = self.texture.image(width=width, height=height, parent=self.holder)
        if self.last_image is not None:
            self._upload(self.last_image)
        self.changed(moved=False)

    def hovered(self) -> bool:
        return self.image is not None and dpg.is_item_hovered(self.image)

    # --- input ---------------------------------------------------------------------------------

    def on_press(self, button: int) -> None:
        self._drag_ok = self.hovered()

    def on_drag(self, button: int, cum_dx: float, cum_dy: float) -> None:
        if button not in self._drag:
            return
        dx, dy = self._drag[button].update(cum_dx, cum_dy)
        if not self._drag_ok or (dx == 0 and dy == 0):
            return
        if button == 0:
            self.camera.orbit(dx, dy)
        else:
            self.camera.pan(dx, dy)
        self.changed()

    def on_release(self, button: int) -> None:
        if button in self._drag:
            self._drag[button].release()
            # the drag is over: refine and train again now, not REST_AFTER_S after the last move
            self._rest_from = min(self._rest_from, time.perf_counter())

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
        """The camera or a render setting changed: the view is stale. moved=False (a resize, the
        window opening): a new frame is due, but nobody is interacting, so training keeps going."""
        self.version += 1
        if moved:
            now = time.perf_counter()
            self._rest_from = now + REST_AFTER_S
            if self._pending_move is None:
                self._pending_move = (self.version, now)
        if keep_snap and self.snapped is not None:
            self.snapped = (*self.snapped[:2], self.version)

    # --- frames --------------------------------------------------------------------------------

    def update(self, now: float, result, step: int, training: bool) -> None:
        """Show `result` (a RenderResult or None), then ask for the next frame if one is due."""
        if result is not None and isinstance(result.request.tag, ViewTag):
            self._receive(result, now)
        resting = now >= self._rest_from
        if resting == self._interacting:
            self._interacting = not resting
            self.app.worker.set_interacting(self._interacting)
        self._schedule(resting, step, training)

    def _receive(self, result, now: float) -> None:
        tag: ViewTag = result.request.tag
        if self._inflight == tag:
            self._inflight = None
        if result.outputs is None:
            return
        if tag.purpose == "view":
            self._level_cost[tag.level] = (result.seconds, tag.scale)
            if result.request.interactive:
                self.moving_scale = next_moving_scale(self.moving_scale, result.seconds)
        outputs = {k: getattr(result.outputs, k).detach().cpu().numpy() for k in ("rgb", "depth", "opacity")}
        if tag.purpose == "screenshot":
            self.pending_screenshot = False
            self.app.save_screenshot(outputs["rgb"], result.request)
        if self._shown is not None and tag.version < self._shown[0]:
            return  # older than what is on screen: showing it would make the view jump back
        self.last_outputs = outputs
        self._shown = (tag.version, tag.level, result.step)
        self.show()
        if self._pending_move is not None and tag.version >= self._pending_move[0]:
            self.latencies_ms.append((now - self._pending_move[1]) * 1000.0)
            self.latencies_ms = self.latencies_ms[-200:]
            self._pending_move = None
        self.app.render_meter.tick(now)
        if tag.snapped is not None and tag.level == len(LEVELS) - 1:
            self.app.render_panel.show_prediction(outputs["rgb"])

    def show(self) -> None:
        """(Re)draw the last outputs in the current mode."""
        if self.last_outputs is None:
            return
        gt = self.app.snapped_ground_truth() if self.snapped else None
        image = visualize(self.last_outputs, self.settings.mode, self.app.scene.near, self.app.scene.far, gt)
        self._upload(image)

    def _upload(self, image: np.ndarray) -> None:
        """Show image [h, w, 3] float: upload at its own size and let the GPU scale it into the view,
        aspect kept (scaling in numpy cost ~10x more CPU than the whole rest of a frame)."""
        h, w = image.shape[:2]
        self.texture.set(image)
        vw, vh = self.size
        s = min(vw / w, vh / h)
        dw, dh = int(w * s), int(h * s)
        dpg.configure_item(self.image, width=dw, height=dh,
                           pos=((vw - dw) // 2, (vh - dh) // 2))
        self.last_image = image
        small = (image[::4, ::4] * 255).astype(np.uint8)
        self.frame_hash = zlib.crc32(small.tobytes())
        self.frames_shown += 1

    def _schedule(self, resting: bool, step: int, training: bool) -> None:
        if self._inflight is not None:
            stale = self._inflight.version != self.version and self._inflight.level > 0
            if not stale:
                return  # one request at a time; a newer one only to abort a slow, stale refinement
        if self.pending_screenshot and resting:
            self._request(len(LEVELS) - 1, purpose="screenshot")
            return
        last = len(LEVELS) - 1
        if self._shown is None or self._shown[0] != self.version:
            level = 0 if not resting or self._shown is None or self._shown[1] == 0 else 1
            # a frame for a user's change is served before training; the window's first is not
            self._request(level, interactive=level == 0 and (not resting or self._pending_move is not None))
        elif not resting:
            return
        elif self._shown[1] < last and (not training or self.snap() or self.refine_seconds() <= REFINE_MAX_S):
            self._request(self._shown[1] + 1)
        elif training and step != self._shown[2]:
            self._request(self._shown[1])  # the model moved on: refresh (the worker paces this by the share)

    def refine_seconds(self) -> float:
        """Predicted render time of the level after the one on screen: the last frame of the
        current level, scaled by the pixel count (0 when nothing is known yet)."""
        if self._shown is None or self._shown[1] not in self._level_cost:
            return 0.0
        seconds, scale = self._level_cost[self._shown[1]]
        return seconds * (LEVELS[min(self._shown[1] + 1, len(LEVELS) - 1)] / scale) ** 2

    def snap(self) -> tuple | None:
        """(split, index) while the camera sits on the dataset view it was snapped to."""
        return self.snapped[:2] if self.snapped and self.snapped[2] == self.version else None

    def _request(self, level: int, purpose: str = "view", interactive: bool = False) -> None:
        s = self.settings
        snapped = self.snap()
        level_scale = self.moving_scale if interactive else LEVELS[level]
        scale = level_scale * s.scale  # a screenshot is the full-quality level, all samples
        if snapped:
            cams = self.app.dataset_camera(*snapped, level_scale)
        else:
            self.camera.fov_y_deg = s.fov_y_deg
            w, h = max(8, int(self.size[0] * scale)), max(8, int(self.size[1] * scale))
            cams = make_cameras(torch.as_tensor(self.camera.c2w, dtype=torch.float32), w, h, fov_y_deg=s.fov_y_deg)
        samples = s.max_samples or None
        if interactive:
            samples = min(samples or MOVING_SAMPLES, MOVING_SAMPLES)
        tag = ViewTag(self.version, level, purpose, snapped, level_scale)
        self._inflight = tag
        self.app.worker.request_render(RenderRequest(cams, 0, background=s.background, max_samples=samples,
                                                     interactive=interactive, tag=tag))
