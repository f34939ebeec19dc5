"""Toy lab tab: two coordinate MLPs (A and B) fit one image side by side, live.

All training happens in toy.worker.ToyWorker (a background thread, no GUI code); this panel sends it
commands and, once per frame in update(), uploads the newest snapshot to textures: reconstruction,
error map, the learned 2->2 warp as a deformed grid over the image plus a colour map of the warped
coordinates, the Linear(2->N) embedding's channel maps, and train / held-out PSNR curves.
Only the main thread calls dpg.*. Errors are shown in the panel; the app keeps running.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import dearpygui.dearpygui as dpg

from nerf.errors import InputError
from nerf.runtime.mailbox import Mailbox
from toy import render, views
from toy.model import ACTIVATIONS, ENCODINGS, OUTPUTS, WARPS, ModelConfig
from toy.train import FitConfig
from toy.snapshot import ConfigSnapshot, LabSnapshot
from toy.worker import Setup, ToyWorker
from viewer.textures import Texture

SHOW = 120  # on-screen side of each picture, px
PLOT_WIDTH = 250
SIZES = ("64", "128", "256")
MAX_RECORD_FRAMES = 600
DEFAULTS = {  # the study's saturation case: ReLU vs LeakyReLU after the output layer
    "A": ModelConfig(encoding="sin", hidden=(64, 64, 64), output="relu", warp="affine"),
    "B": ModelConfig(encoding="sin", hidden=(64, 64, 64), output="leaky", warp="affine"),
}


class ToyLabPanel:
    def __init__(self, parent, run_dir: Path, worker: ToyWorker | None = None):
        self.parent = parent
        self.run_dir = Path(run_dir)
        self.worker = worker or ToyWorker()
        self.image_path: str | None = None
        self.running = False
        self.frames: list = []
        self.recording = False
        self._saved = Mailbox()  # (path or None, error or None) from the GIF-writing thread
        self._writer: threading.Thread | None = None
        self._widgets: dict[str, dict[str, int | str]] = {"A": {}, "B": {}}
        self._tex: dict[str, dict[str, Texture]] = {"A": {}, "B": {}}
        self._last_snapshot: LabSnapshot | None = None
        self._frame_times: list[float] = []
        self._last_rate_shown = 0.0
        self._notice = ""
        self._file_dialog = None
        self.fps = 0.0

    # --- building ------------------------------------------------------------------------------
    def build(self) -> None:
        # viewer.textures.Texture: uploaded on change only (DearPyGui re-uploads raw and dynamic
        # textures on every frame, which with ten of them cost half the frame rate under llvmpipe).
        for label in "AB":
            for name in ("recon", "error", "target", "field", "mosaic"):
                self._tex[label][name] = Texture(views.DISPLAY, views.DISPLAY, grey=0.2)
        # Plain groups, not child windows: each child window is a separate clipped draw pass, which
        # halved the frame rate under software OpenGL (Xvfb + llvmpipe).
        with dpg.group(horizontal=True, parent=self.parent):
            with dpg.group(width=110):
                self._build_controls()
            with dpg.group():
                self.status = dpg.add_text("Press Start to train A and B.", wrap=900)
                for label in "AB":
                    self._build_row(label)
        self.worker.start()
        self._apply()

    def _build_controls(self) -> None:
        dpg.add_text("Image")
        with dpg.group(horizontal=True):
            dpg.add_button(label="Open...", width=70, callback=self._open_dialog)
            dpg.add_button(label="Default", width=70, callback=lambda: self._set_image(None))
            self.size_combo = dpg.add_combo(SIZES, default_value="128", width=55, callback=self._apply)
        self.image_text = dpg.add_text("default image", wrap=280)
        with dpg.group(horizontal=True):
            self.run_button = dpg.add_button(label="Start", width=70, callback=self._toggle_run)
            dpg.add_button(label="Reset", width=60, callback=lambda: self.worker.send("reset"))
            self.record_button = dpg.add_button(label="Record GIF", width=100, callback=self._toggle_record)
        self.fraction = dpg.add_slider_float(label="pixels used", default_value=0.5, min_value=0.05, max_value=1.0,
                                             format="%.2f", width=110, callback=self._apply)
        self.lr = dpg.add_input_float(label="learning rate", default_value=5e-3, format="%.1e", step=0, width=110,
                                      on_enter=True, callback=self._lr)
        self.seed = dpg.add_input_int(label="seed", default_value=0, step=0, width=110, on_enter=True,
                                      callback=self._apply)
        self.rate_text = dpg.add_text("")
        for label in "AB":
            cfg = DEFAULTS[label]
            w = self._widgets[label]
            with dpg.collapsing_header(label=f"Configuration {label}", default_open=True):
                w["encoding"] = dpg.add_combo(ENCODINGS, default_value=cfg.encoding, label="encoding", width=110,
                                              callback=self._apply)
                w["frequencies"] = dpg.add_input_int(label="frequencies L", default_value=cfg.frequencies, step=0,
                                                     width=110, on_enter=True, callback=self._apply)
                w["widths"] = dpg.add_input_text(label="hidden widths", default_value="64,64,64", width=110,
                                                 on_enter=True, callback=self._apply)
                w["activation"] = dpg.add_combo(ACTIVATIONS, default_value=cfg.activation, label="activation",
                                                width=110, callback=self._apply)
                w["output"] = dpg.add_combo(OUTPUTS, default_value=cfg.output, label="output act.",
                                            width=110, callback=self._apply)
                w["warp"] = dpg.add_combo(WARPS, default_value=cfg.warp, label="2->2 warp", width=110,
                                          callback=self._apply)

    def _build_row(self, label: str) -> None:
        tex = self._tex[label]
        w = self._widgets[label]
        w["title"] = dpg.add_text(f"{label}:", color=(255, 220, 120))
        with dpg.group(horizontal=True):
            for name, caption in (("recon", "reconstruction"), ("error", "error")):
                with dpg.group():
                    dpg.add_text(caption)
                    tex[name].image(width=SHOW, height=SHOW)
            with dpg.group():
                dpg.add_text("warp grid")
                with dpg.drawlist(width=SHOW, height=SHOW):
                    tex["target"].draw_image((0, 0), (SHOW, SHOW))
                    w["grid_layer"] = dpg.add_draw_layer()
            with dpg.group():
                dpg.add_text("warped (x,y)")
                tex["field"].image(width=SHOW, height=SHOW)
            with dpg.group():
                w["mosaic_caption"] = dpg.add_text("embedding")
                tex["mosaic"].image(width=SHOW, height=SHOW)
            # A narrow plot: ImPlot's cost grows with its area and dominated the frame time under llvmpipe.
            with dpg.plot(height=SHOW + 18, width=PLOT_WIDTH, no_mouse_pos=True, no_menus=True, no_box_select=True):
                dpg.add_plot_legend(location=dpg.mvPlot_Location_SouthEast)
                w["x_axis"] = dpg.add_plot_axis(dpg.mvXAxis, label="step")
                w["y_axis"] = dpg.add_plot_axis(dpg.mvYAxis, label="PSNR dB")
                w["train_series"] = dpg.add_line_series([], [], label="train", parent=w["y_axis"])
                w["held_series"] = dpg.add_line_series([], [], label="held-out", parent=w["y_axis"])

    # --- actions (main thread, from callbacks) -------------------------------------------------
    def _config(self, label: str) -> ModelConfig:
        w = self._widgets[label]
        text = dpg.get_value(w["widths"])
        try:
            widths = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
        except ValueError:
            raise InputError(f"{label} hidden widths", f"expected comma-separated integers, got {text!r}") from None
        if not widths or min(widths) < 1 or max(widths) > 1024:
            raise InputError(f"{label} hidden widths", f"each width must be 1..1024, got {text!r}")
        freqs = dpg.get_value(w["frequencies"])
        if not 1 <= freqs <= 16:
            raise InputError(f"{label} frequencies", f"L must be 1..16, got {freqs}")
        base = DEFAULTS[label]
        return base.with_(encoding=dpg.get_value(w["encoding"]), frequencies=freqs, hidden=widths,
                          activation=dpg.get_value(w["activation"]), output=dpg.get_value(w["output"]),
                          warp=dpg.get_value(w["warp"]))

    def _apply(self, *_args) -> None:
        """Rebuild both trainers from the controls (fresh weights); keeps running if it was."""
        try:
            fit = FitConfig(lr=dpg.get_value(self.lr), fraction=float(dpg.get_value(self.fraction)),
                            seed=int(dpg.get_value(self.seed)))
            configs = ((self._config("A"), fit), (self._config("B"), fit))
        except InputError as exc:
            self._show(f"error: {exc}")
            return
        self._notice = ""
        self.worker.send("setup", Setup(self.image_path, int(dpg.get_value(self.size_combo)), configs))
        if self.running:
            self.worker.send("run", True)

    def _lr(self, _sender, value: float) -> None:
        if value > 0:
            self.worker.send("lr", float(value))
        else:
            self._show("error: learning rate must be positive")

    def _toggle_run(self) -> None:
        self.running = not self.running
        dpg.configure_item(self.run_button, label="Pause" if self.running else "Start")
        self.worker.send("run", self.running)

    def _open_dialog(self) -> None:
        if self._file_dialog is None:
            with dpg.file_dialog(show=False, width=640, height=420, modal=True,
                                 callback=lambda _s, data: self._set_image(data.get("file_path_name"))) as dialog:
                for ext in (".png", ".jpg", ".jpeg", ".*"):
                    dpg.add_file_extension(ext)
            self._file_dialog = dialog
        dpg.show_item(self._file_dialog)

    def _set_image(self, path: str | None) -> None:
        self.image_path = path or None
        dpg.set_value(self.image_text, path or "default image")
        self._apply()

    def _toggle_record(self) -> None:
        if not self.recording:
            self.recording, self.frames = True, []
            dpg.configure_item(self.record_button, label="Stop + save")
            return
        self.recording = False
        dpg.configure_item(self.record_button, label="Record GIF")
        if not self.frames:
            self._show("recording: no frames (start training first)")
            return
        path = self.run_dir / f"toy_lab_{time.strftime('%Y%m%d_%H%M%S')}.gif"
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._show(f"error: cannot create {self.run_dir}: {exc.strerror}")
            return
        frames, self.frames = self.frames, []
        self._show(f"writing {path.name} ({len(frames)} frames)...")
        self._writer = threading.Thread(target=self._write_gif, args=(path, frames), daemon=True)
        self._writer.start()

    def _write_gif(self, path: Path, frames: list) -> None:
        """Runs in its own thread: numpy/imageio only, no dpg."""
        try:
            render.write_gif(path, frames)
            self._saved.put((path, None))
        except (OSError, ValueError) as exc:
            self._saved.put((None, f"could not write {path}: {exc}"))

    def _show(self, text: str) -> None:
        """A notice (error, saved file) that stays beside the training state until the next one."""
        self._notice = text
        dpg.set_value(self.status, text)

    # --- per frame -----------------------------------------------------------------------------
    def update(self) -> None:
        now = time.perf_counter()
        self._frame_times = [t for t in self._frame_times if now - t < 1.0] + [now]
        self.fps = len(self._frame_times) - 1
        saved = self._saved.take()
        if saved is not None:
            self._show(f"saved {saved[0]}" if saved[0] else f"error: {saved[1]}")
        snap = self.worker.snapshots.take()
        if snap is not None:
            self._last_snapshot = snap
        if now - self._last_rate_shown > 0.5:
            rate = self._last_snapshot.steps_per_s if self._last_snapshot and self.running else 0.0
            dpg.set_value(self.rate_text, f"{rate:.1f} steps/s (A+B)   UI {self.fps:.0f} fps")
            self._last_rate_shown = now
        if snap is None:
            return
        if snap.error:
            self._show(f"error: {snap.error}")
            self.running = False  # the worker stopped training
            dpg.configure_item(self.run_button, label="Start")
            return
        if not snap.configs:
            return
        try:
            for label, cfg in zip("AB", snap.configs, strict=False):  # one configuration, or A and B
                self._show_config(label, cfg, snap.image)
            if self.recording and snap.running and len(self.frames) < MAX_RECORD_FRAMES:
                self.frames.append(views.ab_frame(snap.configs))
        except Exception as exc:  # noqa: BLE001 - the app's frame loop must survive any drawing failure
            self._show(f"error: could not show the snapshot: {exc}")
            return
        state = "training" if snap.running else "paused"
        rec = f" | recording {len(self.frames)} frames" if self.recording else ""
        notice = f"  |  {self._notice}" if self._notice else ""
        dpg.set_value(self.status, f"{snap.image_name} {snap.image.shape[1]}x{snap.image.shape[0]}:"
                                   f" {state}{rec}{notice}")

    def _show_config(self, label: str, snap: ConfigSnapshot, image) -> None:
        tex, w = self._tex[label], self._widgets[label]
        held = (" (= train: every pixel trained on)" if snap.heldout_is_train
                else f"  held-out {snap.heldout_psnr:.2f} dB")
        dpg.set_value(w["title"], f"{label}: {snap.title}\n    step {snap.step}  train {snap.train_psnr:.2f} dB{held}")
        side = views.DISPLAY
        tex["recon"].set_flat(views.rgba_texture(snap.recon), side, side)
        tex["error"].set_flat(views.rgba_texture(views.error_rgb(snap.error_map)), side, side)
        tex["target"].set_flat(views.rgba_texture(image), side, side)
        tex["field"].set_flat(views.rgba_texture(views.warp_field_rgb(snap.warp_field)), side, side)
        if snap.embedding is not None:
            tex["mosaic"].set_flat(views.rgba_texture(views.mosaic(snap.embedding)), side, side)
            dpg.set_value(w["mosaic_caption"], f"embedding ({snap.embedding.shape[0]} maps)")
        else:
            tex["mosaic"].set_flat(views.blank_texture(), side, side)
            dpg.set_value(w["mosaic_caption"], "embedding (learned only)")
        dpg.delete_item(w["grid_layer"], children_only=True)
        for line in views.grid_polylines(snap.warp_grid, SHOW):
            dpg.draw_polyline(line, parent=w["grid_layer"], color=(255, 255, 0, 200), thickness=1)
        steps, train, held = snap.history
        dpg.set_value(w["train_series"], [list(map(float, steps)), train])
        dpg.set_value(w["held_series"], [list(map(float, steps)), held])
        dpg.fit_axis_data(w["x_axis"])
        dpg.fit_axis_data(w["y_axis"])

    def shutdown(self) -> None:
        self.worker.stop()
        if self._writer is not None:
            self._writer.join(10.0)
