"""`nerf-viewer`: the desktop app. Trains a NeRF in a worker thread and shows it live.

The main thread owns every dpg.* call and runs a manual, ~30 fps loop: it drains DearPyGui's
callback queue, takes the newest stats/frames/errors from the worker's mailboxes, schedules the
next render and draws. The worker (nerf.train.worker.TrainingWorker) owns the Trainer. The app
only builds the window, runs the loop and wires the parts: panels (viewer/panels/) and small
controllers (record_actions, session_actions, notices, keys), each given only what it uses.
"""
from __future__ import annotations

import os
import sys
import time

import dearpygui.dearpygui as dpg

from nerf.runtime.signals import StopSignals
from nerf.train.run import DEFAULT_AUTOSAVE_MINUTES
from nerf.train.worker import TrainingWorker, WorkerStats
from viewer import notices, textures
from viewer.autosave import Autosave
from viewer.camera_scores import JOB_NAME as SCORES_JOB
from viewer.dataset_views import DatasetViews
from viewer.debug_state import DebugState
from viewer.export_job import JOB_NAME as EXPORT_JOB
from viewer.keys import BINDINGS, KeyMap
from viewer.notices import Notes, NoticeTable
from viewer.opengl import SOFTWARE_WINDOW_SIZE, gl_renderer, is_software_renderer
from viewer.orbit import camera_from_views, central_view
from viewer.panels.camera_path import JOB_NAME, CameraPathPanel
from viewer.panels.export import ExportPanel
from viewer.panels.open_source import OpenPanel
from viewer.panels.overlays import OverlaysPanel
from viewer.panels.record import RecordPanel
from viewer.panels.render import RenderPanel, RenderSettings
from viewer.panels.status import RateMeter, StatusLine, snap_hint
from viewer.panels.toy_lab import ToyLabPanel
from viewer.panels.training import TrainingPanel
from viewer.panels.view import LiveView
from viewer.path_editor import PathEditor
from viewer.record_actions import RecordActions
from viewer.reopen import Carried
from viewer.scene_overlay import SceneOverlay, points_or_note
from viewer.remote_session import RemoteSession, RemoteSessionActions
from viewer.session import Session
from viewer.session_actions import SessionActions
from viewer.view_layers import build_view_layers

FPS_CAP = 32.0  # a little over 30, so that 2 s averages stay at 30 or more despite jitter
WINDOW_SIZE = (1280, 800)  # SOFTWARE_WINDOW_SIZE under a software OpenGL renderer
SIDE_WIDTH = 420  # px of the control column
WINDOW_BG = (37, 37, 38, 255)  # DearPyGui's default window background


class ViewerApp:
    """The window, its loop and the wiring. Each panel and controller gets at construction only
    what it uses (the worker it commands, callables for the actions it offers) and never sees the app."""

    def __init__(self, session: Session, stop: StopSignals | None = None):
        """stop: SIGINT/SIGTERM as installed by the command line (None: only the window closes the app)."""
        self.session = session
        self.stop = stop or StopSignals()
        self.autosave = Autosave(session.run_dir)
        # the worker owns the trainer from here on (the session forgets it: a swapped one is freed)
        trainer = session.trainer if isinstance(session, RemoteSession) else session.hand_over()
        scene, device = trainer.scene, session.device
        # nerf-viewer --connect: the worker is the server's, behind a RemoteWorker (viewer.remote_session)
        self.remote = isinstance(session, RemoteSession)
        on_gpu = (session.server_device if self.remote else device.type) == "cuda"
        # Share of the worker's time for view refreshes while training: on a CPU a refresh costs a
        # few steps and the window already takes a third of a core; on a GPU both are cheap.
        render_share = 0.3 if on_gpu else 0.1
        self.worker = session.worker if self.remote else TrainingWorker(
            trainer, log_path=session.run_dir / "log.jsonl", render_share=render_share,
            num_threads=session.train_threads, shards=session.shards, budget=session.budget,
            autosave_path=self.autosave.path, autosave_s=session.spec.autosave_minutes * 60.0)
        self.views = views = DatasetViews(scene)
        fov = views.fov_y_deg("train")
        self._first_view = central_view(views.c2ws("train"))  # instant-ngp starts at a training camera
        camera = camera_from_views(views.c2ws("train"), 640, 640, fov, self._first_view)
        # CPU: full quality is the training resolution (more pixels cost seconds, add little); GPU: the view's.
        cpu_scale = min(1.0, max(0.05, scene.split("train").cameras.height / 720.0))
        settings = RenderSettings(fov_y_deg=round(fov, 1), scale=1.0 if on_gpu else cpu_scale)
        self.stats: WorkerStats | None = None  # the newest the worker sent (None: nothing yet)
        self.ui_meter = RateMeter()
        self.notes = Notes(lambda lines: self.record_panel.show_files(lines))
        self.status = StatusLine(device)
        self.view = LiveView(camera, settings, worker=self.worker, views=views,
                             on_screenshot=lambda rgb, req: self.record.save_screenshot(rgb, req),
                             on_snapped_frame=lambda rgb: self.render_panel.show_prediction(rgb),
                             on_snap=lambda split, i: self.render_panel.show_view(split, i))
        self.actions = (RemoteSessionActions if self.remote else SessionActions)(
            self.worker, session, self.notes, running=lambda: self.stats.running if self.stats else True)
        self.render_panel = RenderPanel(settings, views_in=views.count,
                                        ground_truth=lambda split, i: views.ground_truth(
                                            split, i, self.view.settings.background),
                                        on_change=self.view.set_settings, on_snap=self.view.snap_to)
        self.training_panel = TrainingPanel(self.worker, trainer.config, render_share,
                                            on_toggle=self.actions.toggle_training,
                                            on_evaluate=self.actions.evaluate, on_model=self.actions.change_model,
                                            scene_type=scene.scene_type)
        self.record_panel = RecordPanel(session.run_dir, on_screenshot=lambda: self.record.screenshot(),
                                        on_record=lambda: self.record.toggle_recording(),
                                        on_turntable=lambda: self.record.turntable(),
                                        on_save=self.actions.save_checkpoint, on_load=self.actions.load_checkpoint)
        self.record = RecordActions(session.run_dir, scene, view=self.view, worker=self.worker,
                                    panel=self.record_panel, notes=self.notes, step=lambda: self._step)
        self.path_panel = CameraPathPanel(PathEditor(scene.scale, scene.offset), self.worker, session.run_dir,
                                          current_view=lambda: (camera.c2w, self.view.settings.fov_y_deg),
                                          on_pose=self.view.follow, on_crop=self.view.set_crop,
                                          crop_bound=None if scene.ndc else scene.bound)
        points, points_note = points_or_note(scene)
        self.overlays_panel = OverlaysPanel(SceneOverlay(views, points), points_note, worker=self.worker,
                                            view=self.view, stats=lambda: self.stats)
        self.view.on_click = self.overlays_panel.click
        # after a server's run (--connect) a local session opens: the defaults, on this machine's device
        self.open_panel = OpenPanel(session.run_dir, carried=lambda: Carried(
            device.type, 1 if self.remote else session.downscale, self.stats.model if self.stats else None,
            DEFAULT_AUTOSAVE_MINUTES if self.remote else session.spec.autosave_minutes))
        self.export_panel = ExportPanel(self.worker, session.run_dir, None if scene.ndc else scene.bound,
                                        crop=lambda: self.view.crop)
        self.notices = NoticeTable({
            "evaluate": notices.evaluated,
            "turntable": self.record.turntable_done,
            JOB_NAME: lambda n: self.path_panel.finished(n.result),
            SCORES_JOB: lambda n: self.overlays_panel.finished(n.result),
            EXPORT_JOB: lambda n: self.export_panel.finished(n.result),
            "save": notices.saved,
            "autosave": self._autosaved,
            "nan_recovered": lambda n: self.status.show_nan(n.result, paused=False),
            "nan_paused": lambda n: self.status.show_nan(n.result, paused=True),
            "budget": notices.budget_reached,
        }, default=self._trainer_swapped, notes=self.notes)
        self.toy: ToyLabPanel | None = None
        self._early_frame = None  # a render result that arrived while the loop waited
        self._window_size = (0, 0)
        self._last_error = ""
        self.gl_renderer = ""
        self.debug = DebugState.from_env([self.view.debug, self.record.debug, self._debug])

    # --- building ------------------------------------------------------------------------------

    def build(self) -> None:
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        width, height = WINDOW_SIZE
        dpg.create_viewport(title=f"nerf-viewer - {self.views.scene.name}", width=width, height=height,
                            x_pos=0, y_pos=0, vsync=False)
        # Not a DearPyGui "primary window": that one always paints its background, a full-viewport
        # quad that costs a large share of each frame under Mesa's software renderer (BENCHMARKS.md, "Viewer").
        # A plain borderless window without background over the viewport's clear colour looks the same.
        with dpg.window(tag="main", no_scrollbar=True, no_title_bar=True, no_move=True, no_resize=True,
                        no_collapse=True, no_background=True, no_bring_to_front_on_focus=True,
                        pos=(0, 0), width=width, height=height, menubar=True) as main:
            with dpg.menu_bar():
                self.open_panel.build_menu(on_quit=dpg.stop_dearpygui)
            with dpg.tab_bar() as self.tab_bar:
                with dpg.tab(label="NeRF") as nerf_tab:
                    with dpg.group(horizontal=True):
                        self.view_holder = dpg.add_child_window(width=-SIDE_WIDTH - 8, height=-30,
                                                                no_scrollbar=True, border=False)
                        side = dpg.add_child_window(width=SIDE_WIDTH, height=-30)
                    for panel in (self.training_panel, self.render_panel, self.overlays_panel, self.record_panel,
                                  self.export_panel, self.path_panel, self.open_panel):
                        panel.build(side)
                    self.status.build(nerf_tab)
                self.nerf_tab = nerf_tab
                with dpg.tab(label="Toy lab") as toy_tab:
                    self.toy = ToyLabPanel(toy_tab, self.session.run_dir / "toy")
                    self.toy.build()
        self.main_window = main
        dpg.set_viewport_clear_color(WINDOW_BG)
        dpg.bind_theme(_cheap_theme())
        keys = KeyMap(BINDINGS, {
            "help": lambda: self.help.toggle(), "train": self.actions.toggle_training,
            "screenshot": self.record.screenshot, "record": self.record.toggle_recording,
            "keyframe": self.path_panel.add_view,
            "evaluate": self.actions.evaluate, "reset_camera": self.view.reset_camera, "quit": dpg.stop_dearpygui,
            "prev_camera": lambda: self.view.jump(-1), "next_camera": lambda: self.view.jump(+1),
        }, code_of=lambda name: getattr(dpg, f"mvKey_{name}"))
        with dpg.handler_registry():
            dpg.add_mouse_click_handler(callback=lambda _s, a: self._press(a))
            dpg.add_mouse_drag_handler(threshold=0.0, callback=lambda _s, a: self.view.on_drag(a[0], a[1], a[2]))
            dpg.add_mouse_release_handler(callback=lambda _s, a: self.view.on_release(a))
            dpg.add_mouse_wheel_handler(callback=lambda _s, a: self.view.on_wheel(a))
            dpg.add_key_press_handler(callback=lambda _s, a: _typing() or keys.handle(
                a, ctrl=dpg.is_key_down(dpg.mvKey_LControl) or dpg.is_key_down(dpg.mvKey_RControl),
                on_nerf_tab=self._on_nerf_tab()))
            dpg.add_key_release_handler(callback=lambda _s, a: keys.release(a))
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
        self.view.snap_to("train", self._first_view, moved=False)
        layers = build_view_layers(self.view, path_panel=self.path_panel, scene_overlay=self.overlays_panel.overlay,
                                   render_panel=self.render_panel,
                                   crop_bound=None if self.views.scene.ndc else self.views.scene.bound)
        self.help = layers.help
        self.debug.sections += [*layers.debug, self.overlays_panel.debug, self.render_panel.debug,
                                self.export_panel.debug, self.open_panel.debug]
        self._per_frame = [
            self.path_panel.update,
            *layers.updates,
            self.record.update,
            self.overlays_panel.update,
            self.export_panel.update,
            lambda now: self.status.update(self.ui_meter.rate(now), self.view.render_meter.rate(now),
                                           (f"| {self.worker.link} " if self.remote else "")
                                           + ("| recording " if self.record.recorder else "")
                                           + snap_hint(self.view.snapped())),
            lambda now: self.toy.update(),
        ]

    def _fit_view(self) -> None:
        size = (dpg.get_viewport_client_width(), dpg.get_viewport_client_height())
        if size != self._window_size and min(size) > 0:
            self._window_size = size
            dpg.configure_item(self.main_window, width=size[0], height=size[1])
        w, h = dpg.get_item_rect_size(self.view_holder)
        if w > 0 and h > 0:
            self.view.resize(w, h)

    def _press(self, button: int) -> None:
        if self.view.hovered():
            self.help.dismiss()
        self.view.on_press(button)

    def _on_nerf_tab(self) -> bool:
        return dpg.get_value(self.tab_bar) == self.nerf_tab

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
                self._show_error(f"{type(exc).__name__}: {exc}")
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
        relaunch = self.open_panel.relaunch
        if relaunch and not self.stop.requested:
            sys.stderr.flush()
            os.execv(relaunch[0], relaunch)  # File > Open's session, a fresh process (see viewer.reopen)
        return self.stop.exit_code if self.stop.requested else 0

    def _frame(self, now: float) -> None:
        stats = self.worker.stats.take()
        if stats is not None:
            self.stats = stats
        self.training_panel.update(stats)
        for error in self.worker.errors.take_all():  # each one: a render error never hides a training error
            self._show_error(error)
        while not self.worker.notices.empty():
            self.notices.dispatch(self.worker.notices.get_nowait())
        frame = self.worker.frames.take() or self._early_frame
        self._early_frame = None
        on_nerf = self._on_nerf_tab()
        if on_nerf or frame is not None:
            # Behind the toy lab tab no new frames are asked for: the CPU goes to training.
            self.view.update(now, frame, self._step, bool(self.stats and self.stats.running) and on_nerf)
        for update in self._per_frame:
            update(now)
        self.debug.write(now)

    def shutdown(self) -> None:
        """Stop the worker (a step in progress gives way), close the window, then save the training."""
        stopped = self.worker.stop(1.0)
        self.record.stop_recording()
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
        if self.remote:
            return  # the server keeps and saves the run
        try:
            line = self.autosave.final(self.worker.trainer)
        except OSError as exc:
            line = f"error: cannot save {self.autosave.path} ({exc.strerror or exc}); the previous checkpoint is kept"
        if line:
            print(f"nerf-viewer: {line}", file=sys.stderr)

    # --- notices and state -----------------------------------------------------------------------

    @property
    def _step(self) -> int:
        return self.stats.step if self.stats else 0

    def _show_error(self, message: str) -> None:
        self._last_error = message
        self.status.show_error(message)

    def _autosaved(self, notice) -> str:
        self.autosave.saved(notice.result)
        return f"autosaved at step {notice.result}" if notice.result is not None else "autosave failed"

    def _trainer_swapped(self, notice) -> str:
        self.view.changed()
        return self.actions.swapped(notice)

    def _debug(self, now: float) -> dict:
        return {"ui_fps": self.ui_meter.rate(now), "stats": self.stats.summary() if self.stats else {},
                "window": list(self._window_size), "gl_renderer": self.gl_renderer, "files": self.notes.lines,
                "error": self._last_error, "run_dir": str(self.session.run_dir), "path": self.path_panel.debug(),
                "test": dpg.get_value(self.training_panel.test_text),
                "typing": _typing(),
                **({"link": self.worker.link, "frame_bytes": self.worker.frame_bytes} if self.remote else {})}


def _cheap_theme():
    """Child windows without a painted background: the window behind them has the same colour, and
    under Mesa's software renderer the two panel backgrounds cost a quarter of a 30 fps frame
    (BENCHMARKS.md, "Viewer")."""
    with dpg.theme() as theme:
        with dpg.theme_component(dpg.mvAll):
            dpg.add_theme_color(dpg.mvThemeCol_ChildBg, (0, 0, 0, 0), category=dpg.mvThemeCat_Core)
    return theme


def _typing() -> bool:
    """A text field has the keyboard: shortcuts must not fire. Each text field is asked, since
    DearPyGui 2's get_focused_item names an enclosing group rather than the field being edited."""
    return any(dpg.get_item_type(item).endswith(("InputText", "InputFloat", "InputInt")) and dpg.is_item_active(item)
               for item in dpg.get_all_items())
