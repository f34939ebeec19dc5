"""`nerf-viewer`: the desktop app. Trains a NeRF in a worker thread and shows it live.

The main thread owns every dpg.* call and runs a manual, ~30 fps loop: it drains DearPyGui's
callback queue, takes the newest stats/frames/errors from the worker's mailboxes, schedules the
next render and draws. The worker (nerf.train.worker.TrainingWorker) owns the Trainer.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import dearpygui.dearpygui as dpg
import numpy as np
import torch

from nerf.commands.signals import StopSignals
from nerf.data.camera_paths import turntable_c2ws
from nerf.data.cameras import make_cameras
from nerf.train.mailbox import Mailbox
from nerf.train.worker import TrainingWorker, WorkerStats
from viewer.autosave import DEFAULT_MINUTES, Autosave
from viewer.debug_state import DebugState
from viewer.opengl import SOFTWARE_WINDOW_SIZE, gl_renderer, is_software_renderer
from viewer.orbit import camera_from_views
from viewer.panels.record import RecordPanel
from viewer.panels.camera_path import JOB_NAME, CameraPathPanel
from viewer.panels.render import RenderPanel, RenderSettings, fit_into
from viewer.panels.status import RateMeter, StatusLine
from viewer.panels.toy_lab import ToyLabPanel
from viewer.panels.training import TrainingPanel
from viewer.panels.view import LiveView
from viewer.path_editor import PathEditor
from viewer.path_overlay import PathOverlay
from viewer.recording import Recorder, render_turntable, save_screenshot
from viewer.session import Session
from viewer import textures

FPS_CAP = 32.0  # a little over 30, so that 2 s averages stay at 30 or more despite jitter
WINDOW_SIZE = (1280, 800)  # SOFTWARE_WINDOW_SIZE under a software OpenGL renderer
SIDE_WIDTH = 420  # px of the control column
RECORD_FPS = 10.0
TURNTABLE_FRAMES = 60
WINDOW_BG = (37, 37, 38, 255)  # DearPyGui's default window background


class ViewerApp:
    """The window, its loop and the actions. Each panel gets at construction only what it uses
    (the worker it commands, callables for the actions it offers) and never sees the app."""

    def __init__(self, session: Session, stop: StopSignals | None = None, autosave_minutes: float = DEFAULT_MINUTES):
        """stop: SIGINT/SIGTERM as installed by the command line (None: only the window closes the app)."""
        self.session = session
        self.stop = stop or StopSignals()
        self.autosave = Autosave(session.run_dir, autosave_minutes)
        self.scene, self.config, self.device = session.trainer.scene, session.trainer.config, session.device
        self.run_dir = session.run_dir
        # Share of the worker's time for view refreshes while training: on a CPU a refresh costs a
        # few steps and the window already takes a third of a core; on a GPU both are cheap.
        self.render_share = 0.3 if self.device.type == "cuda" else 0.1
        self.worker = TrainingWorker(session.trainer, log_path=self.run_dir / "log.jsonl",
                                     render_share=self.render_share, num_threads=session.train_threads,
                                     shards=session.shards)
        train = self.scene.split("train")
        fov = float(np.degrees(2 * np.arctan(0.5 * train.cameras.height / float(train.cameras.fy[0]))))
        self.camera = camera_from_views(train.cameras.c2w.numpy(), 640, 640, fov)
        # CPU: full quality is the training resolution (more pixels cost seconds, add little); GPU: the view's.
        cpu_scale = min(1.0, max(0.05, train.cameras.height / 720.0))
        self.settings = RenderSettings(fov_y_deg=round(fov, 1), scale=1.0 if self.device.type == "cuda" else cpu_scale)
        self.ui_meter = RateMeter()
        self.files: list[str] = []
        self.recorder: Recorder | None = None
        self._next_record, self._shots = 0.0, 0
        self._stats: WorkerStats | None = None
        self._last_error = ""
        self._progress: Mailbox = Mailbox()
        self._debug = DebugState.from_env()
        self.toy = None
        self._early_frame = None  # a render result that arrived while the loop waited
        self._window_size = (0, 0)
        self.gl_renderer = ""

    # --- building ------------------------------------------------------------------------------

    def build(self) -> None:
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        width, height = WINDOW_SIZE
        dpg.create_viewport(title=f"nerf-viewer - {self.scene.name}", width=width, height=height,
                            x_pos=0, y_pos=0, vsync=False)
        self.render_panel = RenderPanel(self.settings, views_in=lambda split: len(self.scene.split(split)),
                                        ground_truth=self.ground_truth, on_change=self.on_render_settings,
                                        on_snap=self.snap_to_view)
        self.view = LiveView(self.camera, self.settings, worker=self.worker, dataset_camera=self.dataset_camera,
                             ground_truth=self.ground_truth, depth_range=(self.scene.near, self.scene.far),
                             on_screenshot=self.save_screenshot, on_snapped_frame=self.render_panel.show_prediction)
        self.training_panel = TrainingPanel(self.worker, self.config, self.render_share, on_toggle=self.toggle_training,
                                            on_evaluate=self.evaluate, on_model=self.change_model)
        self.record_panel = RecordPanel(self.run_dir, on_screenshot=self.screenshot, on_record=self.toggle_recording,
                                        on_turntable=self.turntable, on_save=self.save_checkpoint,
                                        on_load=self.load_checkpoint)
        self.path_panel = CameraPathPanel(PathEditor(self.scene.scale, self.scene.offset), self.worker, self.run_dir,
                                          current_view=lambda: (self.camera.c2w, self.settings.fov_y_deg),
                                          on_pose=self.view.follow, on_crop=self.view.set_crop,
                                          crop_bound=None if self.scene.ndc else self.scene.bound)
        self.status = StatusLine(self.device)
        # Not a DearPyGui "primary window": that one always paints its background, a full-viewport
        # quad that costs a large share of each frame under Mesa's software renderer (BENCHMARKS.md, "Viewer").
        # A plain borderless window without background over the viewport's clear colour looks the same.
        with dpg.window(tag="main", no_scrollbar=True, no_title_bar=True, no_move=True, no_resize=True,
                        no_collapse=True, no_background=True, no_bring_to_front_on_focus=True,
                        pos=(0, 0), width=width, height=height) as main:
            with dpg.tab_bar() as self.tab_bar:
                with dpg.tab(label="NeRF") as nerf_tab:
                    with dpg.group(horizontal=True):
                        self.view_holder = dpg.add_child_window(width=-SIDE_WIDTH - 8, height=-30,
                                                                no_scrollbar=True, border=False)
                        side = dpg.add_child_window(width=SIDE_WIDTH, height=-30)
                    self.training_panel.build(side)
                    self.render_panel.build(side)
                    self.record_panel.build(side)
                    self.path_panel.build(side)
                    self.status.build(nerf_tab)
                self.nerf_tab = nerf_tab
                with dpg.tab(label="Toy lab") as toy_tab:
                    self._build_toy(toy_tab)
        self.main_window = main
        dpg.set_viewport_clear_color(WINDOW_BG)
        dpg.bind_theme(_cheap_theme())
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(callback=lambda _s, a: self.view.on_press(a))
            dpg.add_mouse_drag_handler(threshold=0.0, callback=lambda _s, a: self.view.on_drag(a[0], a[1], a[2]))
            dpg.add_mouse_release_handler(callback=lambda _s, a: self.view.on_release(a))
            dpg.add_mouse_wheel_handler(callback=lambda _s, a: self.view.on_wheel(a))
            dpg.add_key_press_handler(callback=lambda _s, a: self.on_key(a))
        dpg.set_viewport_resize_callback(lambda *_: self._fit_view())
        dpg.setup_dearpygui()
        dpg.show_viewport()
        self.gl_renderer = gl_renderer()
        if is_software_renderer(self.gl_renderer):  # before the first frame: no visible jump
            width, height = SOFTWARE_WINDOW_SIZE
            dpg.set_viewport_width(width)
            dpg.set_viewport_height(height)
            self.status.note_renderer(self.gl_renderer)
        self.view.build(self.view_holder, width - SIDE_WIDTH - 24, height - 80)
        self.overlay = PathOverlay(self.view.overlay)

    def _build_toy(self, tab) -> None:
        self.toy = ToyLabPanel(tab, self.run_dir / "toy")
        self.toy.build()

    def _fit_view(self) -> None:
        size = (dpg.get_viewport_client_width(), dpg.get_viewport_client_height())
        if size != self._window_size and min(size) > 0:
            self._window_size = size
            dpg.configure_item(self.main_window, width=size[0], height=size[1])
        w, h = dpg.get_item_rect_size(self.view_holder)
        if w > 0 and h > 0:
            self.view.resize(w, h)

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        self.build()
        self.worker.start()
        frame_s = 1.0 / FPS_CAP
        last = deadline = time.perf_counter()
        while dpg.is_dearpygui_running() and not self.stop.requested:  # a signal: save and go within 2 s
            now = time.perf_counter()
            # Frames are paced on a fixed clock, so a slow frame is made up by a shorter wait
            # after it; after a long stall the clock restarts instead of bursting to catch up.
            deadline = max(deadline + frame_s, now)
            try:
                dpg.run_callbacks(dpg.get_callback_queue())
                self._fit_view()
                self.view.poll_keys(now - last)
                self._frame(now)
            except Exception as exc:  # noqa: BLE001 - a failed action (disk full, ...) must not close the window
                self._last_error = f"{type(exc).__name__}: {exc}"
                self.status.show_error(self._last_error)
            dpg.render_dearpygui_frame()
            textures.collect()
            self.ui_meter.tick(now)
            last = now
            spare = deadline - time.perf_counter()
            if spare > 0 and self._early_frame is None:
                # Frame pacing (an uncapped loop starves the training thread), but a finished
                # render ends the wait at once: it goes on screen without waiting out the frame.
                self._early_frame = self.worker.frames.wait(spare)
        self.shutdown()
        return self.stop.exit_code if self.stop.requested else 0

    def _frame(self, now: float) -> None:
        stats = self.worker.stats.take()
        if stats is not None:
            self._stats = stats
        self.training_panel.update(stats)
        error = self.worker.errors.take()
        if error:
            self._last_error = error
            self.status.show_error(error)
        while not self.worker.notices.empty():
            self._on_notice(self.worker.notices.get_nowait())
        progress = self._progress.take()
        if progress:
            self.record_panel.set_progress(*progress)
        s = self._stats or WorkerStats()
        frame = self.worker.frames.take() or self._early_frame
        self._early_frame = None
        if dpg.get_value(self.tab_bar) == self.nerf_tab or frame is not None:
            # Behind the toy lab tab no new frames are asked for: the CPU goes to training.
            self.view.update(now, frame, s.step, s.running and dpg.get_value(self.tab_bar) == self.nerf_tab)
        self.path_panel.update(now)
        self.overlay.update(self.path_panel.editor, self.view.crop, self.camera.c2w, self.camera.fov_y_deg,
                            self.view.size, visible=self.path_panel.preview is None)
        self._record_frame(now)
        self.autosave.poll(self._stats, self.worker)
        self.status.update(self.ui_meter.rate(now), self.view.render_meter.rate(now),
                           "| recording" if self.recorder else "")
        if self.toy is not None:
            self.toy.update()
        self._debug.write(now, view=self.view, camera=self.camera, stats=self._stats, ui_fps=self.ui_meter.rate(now),
                          recording=self.recorder is not None, window=self._window_size,
                          gl_renderer=self.gl_renderer, files=self.files, error=self._last_error,
                          run_dir=self.run_dir, path=self.path_panel.debug())

    def shutdown(self) -> None:
        """Stop the worker (a step in progress gives way), close the window, then save the training."""
        stopped = self.worker.stop(1.0)
        if self.recorder is not None:
            self.stop_recording()
        if self.toy is not None:
            self.toy.shutdown()
        dpg.destroy_context()  # the window goes away now, whatever the worker is doing
        textures.forget()
        if not stopped:
            # A training step or one render chunk cannot be interrupted; on a slow CPU one can
            # outlast the second. Exiting under a running torch op aborts the process, so wait.
            print("nerf-viewer: waiting for the current training step / render chunk to finish",
                  file=sys.stderr)
            if not self.worker.stop(120.0):
                print("nerf-viewer: warning: the training thread did not stop; nothing saved", file=sys.stderr)
                return
        try:
            line = self.autosave.final(self.worker.trainer)
        except OSError as exc:
            line = f"error: cannot save {self.autosave.path} ({exc.strerror or exc}); the previous checkpoint is kept"
        if line:
            print(f"nerf-viewer: {line}", file=sys.stderr)

    # --- actions (main thread) -----------------------------------------------------------------

    def on_key(self, key: int) -> None:
        if _typing():
            return
        ctrl = dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl)
        if key == dpg.mvKey_Escape or (ctrl and key == dpg.mvKey_Q):
            dpg.stop_dearpygui()
        elif dpg.get_value(self.tab_bar) != self.nerf_tab:
            return  # the NeRF shortcuts belong to the NeRF tab; the toy lab has its own controls
        elif key in (dpg.mvKey_P, dpg.mvKey_F12):
            self.screenshot()
        elif key == dpg.mvKey_G:
            self.toggle_recording()
        elif key == dpg.mvKey_Spacebar:
            self.toggle_training()
        elif key == dpg.mvKey_K:
            self.path_panel.add_view()
        elif key == dpg.mvKey_T:
            self.evaluate()
        elif key == dpg.mvKey_R and not ctrl:
            self.camera.reset()
            self.view.changed()

    def toggle_training(self) -> None:
        running = self._stats.running if self._stats else True
        (self.worker.pause if running else self.worker.resume)()

    def on_render_settings(self, settings: RenderSettings, rerender: bool) -> None:
        self.settings = settings
        self.view.set_settings(settings, rerender)

    def snap_to_view(self, split: str, index: int) -> None:
        """Put the camera on dataset view `index` of `split`."""
        self.camera.set_c2w(self.scene.split(split).cameras.c2w[index].numpy())
        self.view.snap_to(split, index)

    def ground_truth(self, split: str, index: int) -> np.ndarray:
        """Dataset image `index` of `split` [H, W, 3] on the current background."""
        return self.scene.split(split).rgb(torch.tensor(self.settings.background))[index].numpy()

    def dataset_camera(self, split: str, index: int, scale: float):
        """Camera `index` of a split at `scale` x its resolution (full scale keeps distortion)."""
        c = self.scene.split(split).cameras
        if scale >= 1.0:
            return c.one(index)
        w, h = max(8, int(c.width * scale)), max(8, int(c.height * scale))
        sx, sy = w / c.width, h / c.height
        return make_cameras(c.c2w[index], w, h, fx=float(c.fx[index]) * sx, fy=float(c.fy[index]) * sy,
                            cx=float(c.cx[index]) * sx, cy=float(c.cy[index]) * sy)

    def screenshot(self) -> None:
        self.view.screenshot()

    def save_screenshot(self, rgb: np.ndarray, request) -> None:
        self._shots += 1
        cams = request.cameras
        intr = (float(cams.fx[0]), float(cams.fy[0]), float(cams.cx[0]), float(cams.cy[0]))
        png, pose = save_screenshot(self.run_dir / f"screenshot-{self._shots:03d}.png", rgb,
                                    cams.c2w[0].numpy(), intr, scale=self.scene.scale, offset=self.scene.offset,
                                    normalised=self.scene.ndc)
        self._note(f"screenshot: {png.name} (+ {pose.name})")

    def toggle_recording(self) -> None:
        if self.recorder is None:
            ext = self.record_panel.record_format()
            n = len(list(self.run_dir.glob(f"recording-*.{ext}"))) + 1
            self.recorder = Recorder(self.run_dir / f"recording-{n:03d}.{ext}", fps=RECORD_FPS)
            self._note(f"recording to {self.recorder.path.name} ...")
        else:
            self.stop_recording()
        self.record_panel.set_recording(self.recorder is not None)

    def stop_recording(self) -> None:
        rec, self.recorder = self.recorder, None
        path = rec.close()
        self._note(f"recording: {path.name} ({rec.frames_written} frames)" + (f" {rec.error}" if rec.error else ""))

    def _record_frame(self, now: float) -> None:
        if self.recorder is not None and self.view.last_image is not None and now >= self._next_record:
            self._next_record = now + 1.0 / RECORD_FPS
            w, h = (int(v * self.settings.scale) for v in self.view.size)
            self.recorder.add(fit_into(self.view.last_image, max(w, 16), max(h, 16)))

    def turntable(self) -> None:
        path = self.run_dir / f"turntable-step{self._stats.step if self._stats else 0}.mp4"
        w, h = (max(16, int(v * self.settings.scale) // 2 * 2) for v in self.view.size)
        c2ws = turntable_c2ws(self.camera.c2w, self.camera.target, self.camera.up, TURNTABLE_FRAMES)
        settings, progress = self.settings, self._progress
        self.worker.submit("turntable", lambda t, abort: render_turntable(
            t, abort, c2ws=c2ws, width=w, height=h, fov_y_deg=settings.fov_y_deg,
            background=settings.background, path=path, progress=progress))
        self._note(f"turntable: rendering {TURNTABLE_FRAMES} frames ...")

    def evaluate(self) -> None:
        self.worker.evaluate("test")
        self._note("evaluating test views ...")

    def save_checkpoint(self, path: str) -> None:
        self.worker.submit("save", lambda t, _abort: (t.save(path), path)[1])

    def load_checkpoint(self, path: str) -> None:
        self.worker.swap_trainer(f"loaded {Path(path).name}", lambda: self.session.load(path))

    def change_model(self, model: str) -> None:
        self.worker.swap_trainer(f"model {model}", lambda: self.session.new_trainer(model))

    def _on_notice(self, notice) -> None:
        if notice.name == "evaluate":
            r = notice.result
            self._note(f"test PSNR {r.psnr:.2f} dB ({notice.seconds:.1f} s)" if r else "evaluation aborted")
        elif notice.name == "turntable":
            self._note(f"turntable: {Path(notice.result).name}" if notice.result else "turntable aborted")
        elif notice.name == JOB_NAME:
            self._note(self.path_panel.finished(notice.result))
        elif notice.name == "save":
            self._note(f"checkpoint: {notice.result}" if notice.result else "checkpoint not saved")
        elif notice.name == "autosave":
            self.autosave.saved(notice.result)
            self._note(f"autosaved at step {notice.result}" if notice.result is not None else "autosave failed")
        elif notice.name in ("nan_recovered", "nan_paused"):
            self.status.show_nan(notice.result, paused=notice.name == "nan_paused")
        elif notice.name == "budget":
            self._note(f"time budget reached after {notice.result / 60:.1f} min: training paused")
        else:
            self._note(f"{notice.name} ({notice.seconds:.1f} s)")
            self.view.changed()

    def _note(self, line: str) -> None:
        self.files.append(line)
        self.record_panel.show_files(self.files)


def _cheap_theme():
    """Child windows without a painted background: the window behind them has the same colour, and
    under Mesa's software renderer the two panel backgrounds cost a quarter of a 30 fps frame
    (BENCHMARKS.md, "Viewer")."""
    with dpg.theme() as theme:
        with dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (0, 0, 0, 0), category=dpg.mvThemeCat_Core)
    return theme


def _typing() -> bool:
    """A text field has the keyboard: shortcuts must not fire."""
    item = dpg.get_focused_item() if hasattr(dpg, "get_focused_item") else 0
    return bool(item) and dpg.get_item_type(item).endswith(("InputText", "InputFloat", "InputInt")) \
        and dpg.is_item_active(item)

