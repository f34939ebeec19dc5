"""Camera-path panel: keyframes from the live view, their field of view and timing, the path's
options, the crop box, save/load of camera_path.json, a real-time preview and a video render.

The editing rules are viewer.path_editor's; this panel turns widgets into its calls. Renders run
as a worker job (nerf-render's code, through render_path_job), so they share the worker's thread
with training and can be aborted like the turntable.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import dearpygui.dearpygui as dpg
import numpy as np

from nerf.data.crop import CropBox
from nerf.data.paths.keyframes import check_path
from nerf.errors import InputError
from nerf.files import next_numbered
from nerf.runtime.mailbox import Mailbox
from viewer.path_editor import PathEditor, render_path_job

JOB_NAME = "camera path"  # the worker's Notice for a finished render carries this name
PATH_FILE = "camera_path.json"
AXES = "xyz"


class JobWorker(Protocol):
    """What the panel needs of nerf.train.worker.TrainingWorker."""

    def submit(self, name: str, fn) -> None: ...

    def abort_job(self) -> None: ...


class Preview:
    """Plays `editor`'s path in real time from `start` (seconds on the caller's clock); an open
    path ends on its last keyframe, a loop plays until stopped."""

    def __init__(self, editor: PathEditor, start: float):
        self.editor, self.start = editor, start

    def pose(self, now: float) -> tuple[np.ndarray, float] | None:
        """(c2w, fov) of the camera at `now`, or None once an open path is over."""
        t = now - self.start
        if not self.editor.keyframes or (not self.editor.path.loop and t > self.editor.path.seconds):
            return None
        return self.editor.pose_at(t)


def keyframe_label(index: int, fov: float, duration: float, last: bool, loop: bool) -> str:
    """One line of the keyframe list; the last keyframe of an open path has no time to a next one."""
    timing = "end" if last and not loop else f"{duration:.1f} s to next"
    return f"{index + 1:2d}   fov {fov:.0f}   {timing}"


def next_video(run_dir: Path) -> Path:
    """camera-path-NNN.mp4 in the run folder, numbered past the ones already there."""
    return next_numbered(run_dir, "camera-path-", ".mp4")


class CameraPathPanel:
    """`current_view()`: the live view's (c2w, vertical fov); `on_pose(c2w, fov)`: put the camera at
    c2w (fov None: the render setting's); `on_crop(box or None)`: the live view's crop box;
    `crop_bound`: the sliders' half-range (None: no crop box for this scene, e.g. forward-facing)."""

    def __init__(self, editor: PathEditor, worker: JobWorker, run_dir: Path, *,
                 current_view: Callable[[], tuple[np.ndarray, float]],
                 on_pose: Callable[[np.ndarray, float | None], None],
                 on_crop: Callable[[CropBox | None], None], crop_bound: float | None):
        self.editor, self.worker, self.run_dir = editor, worker, Path(run_dir)
        self._current_view, self._on_pose, self._on_crop = current_view, on_pose, on_crop
        self.crop_bound = crop_bound
        self.preview: Preview | None = None
        self.rendering: Path | None = None  # the video being written
        self.rendered: Path | None = None  # the last one finished
        self._progress: Mailbox = Mailbox()
        self._crop_sliders: dict[str, int] = {}

    # --- widgets -------------------------------------------------------------------------------

    def build(self, parent) -> None:
        p = self.editor.path
        with dpg.collapsing_header(label="Camera path", default_open=True, parent=parent):
            with dpg.group(horizontal=True):
                self.add_button = dpg.add_button(label="Add view (K)", callback=lambda: self.add_view())
                dpg.add_button(label="Replace",
                               callback=lambda: self._edit(self.editor.replace, *self._view_keep_fov()))
                dpg.add_button(label="Delete", callback=lambda: self._edit(self.editor.delete))
                dpg.add_button(label="Up", callback=lambda: self._edit(self.editor.move, -1))
                dpg.add_button(label="Down", callback=lambda: self._edit(self.editor.move, +1))
                dpg.add_button(label="Go to", callback=lambda: self._jump())
            self.key_list = dpg.add_listbox([], num_items=5, width=-1, callback=lambda _s, v: self._select(v))
            self.key_fov = dpg.add_slider_float(label="keyframe fov", min_value=10.0, max_value=120.0, width=150,
                                                format="%.0f deg",
                                                callback=lambda _s, v: self._edit(self.editor.set_keyframe, fov=v))
            self.key_time = dpg.add_input_float(label="time to next (s)", default_value=2.0, step=0.5, width=150,
                                                callback=lambda _s, v: self._edit(self.editor.set_keyframe,
                                                                                  duration=v))
            with dpg.group(horizontal=True):
                self.loop = dpg.add_checkbox(label="loop", default_value=p.loop,
                                             callback=lambda _s, v: self._option(loop=bool(v)))
                self.smoothness = dpg.add_slider_float(label="tension", default_value=p.smoothness,
                                                       min_value=0.0, max_value=1.0, width=120,
                                                       callback=lambda _s, v: self._option(smoothness=float(v)))
            with dpg.group(horizontal=True):
                self.fps = dpg.add_input_int(label="fps", default_value=int(p.fps), width=80, step=0,
                                             callback=lambda _s, v: self._option(fps=float(max(1, v))))
                self.width = dpg.add_input_int(label="x", default_value=p.width, width=70, step=0,
                                               callback=lambda _s, v: self._option(width=max(8, v)))
                self.height = dpg.add_input_int(label="px", default_value=p.height, width=70, step=0,
                                                callback=lambda _s, v: self._option(height=max(8, v)))
            with dpg.group(horizontal=True):
                self.preview_button = dpg.add_button(label="Preview", width=70, callback=lambda: self.toggle_preview())
                self.render_button = dpg.add_button(label="Render video", callback=lambda: self.render())
                self.abort_button = dpg.add_button(label="Abort", callback=lambda: self.worker.abort_job())
                self.progress = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="")
            self.file = dpg.add_input_text(default_value=str(self.run_dir / PATH_FILE), width=-1)
            with dpg.group(horizontal=True):
                self.save_button = dpg.add_button(label="Save path", callback=lambda: self.save())
                self.load_button = dpg.add_button(label="Load path", callback=lambda: self.load())
            self._build_crop()
            self.info = dpg.add_text("", wrap=380)
        self._refresh()

    def _build_crop(self) -> None:
        if self.crop_bound is None:
            dpg.add_text("crop box: not for forward-facing scenes")
            return
        b = self.crop_bound
        self.crop_on = dpg.add_checkbox(label="crop box", callback=lambda: self._crop_changed())
        for axis in AXES:
            with dpg.group(horizontal=True):
                for end, value in (("min", -b), ("max", b)):
                    self._crop_sliders[axis + end] = dpg.add_slider_float(
                        label=f"{axis} {end}", default_value=value, min_value=-b, max_value=b, width=140,
                        format="%.2f", callback=lambda: self._crop_changed())

    def _refresh(self) -> None:
        """The widgets from the editor's state (after an edit or a load)."""
        ed, p = self.editor, self.editor.path
        n = len(ed.keyframes)
        labels = [keyframe_label(i, k.fov, k.duration, i == n - 1, p.loop) for i, k in enumerate(ed.keyframes)]
        dpg.configure_item(self.key_list, items=labels)
        if ed.selected is not None:
            dpg.set_value(self.key_list, labels[ed.selected])
            dpg.set_value(self.key_fov, ed.keyframes[ed.selected].fov)
            dpg.set_value(self.key_time, ed.keyframes[ed.selected].duration)
        for item, value in ((self.loop, p.loop), (self.smoothness, p.smoothness), (self.fps, int(p.fps)),
                            (self.width, p.width), (self.height, p.height)):
            dpg.set_value(item, value)
        self._show_info()

    def _show_info(self, line: str = "") -> None:
        p = self.editor.path
        text = f"{len(p.keyframes)} keyframes, {p.seconds:.1f} s, {self.editor.frame_count()} frames at " \
               f"{p.width}x{p.height}"
        if self.rendered is not None:
            text += f"\nlast video: {self.rendered.name}"
        dpg.set_value(self.info, text + (f"\n{line}" if line else ""))

    # --- actions -------------------------------------------------------------------------------

    def add_view(self) -> None:
        self._edit(self.editor.add, *self._current_view())

    def _view_keep_fov(self) -> tuple[np.ndarray, float]:
        """The live view's pose with the selected keyframe's own fov (the fov slider sets that)."""
        c2w, fov = self._current_view()
        sel = self.editor.selected
        return c2w, fov if sel is None else self.editor.keyframes[sel].fov

    def _edit(self, fn, *args, **kwargs) -> None:
        fn(*args, **kwargs)
        self._refresh()

    def _option(self, **options) -> None:
        self.editor.set_options(**options)
        self._refresh()

    def _select(self, label: str) -> None:
        self.editor.select(int(label.split()[0]) - 1)
        self._refresh()
        self._jump()

    def _jump(self) -> None:
        if self.editor.selected is not None:
            self.stop_preview()
            self._on_pose(self.editor.keyframes[self.editor.selected].c2w, None)

    def _crop_changed(self) -> None:
        crop = None
        if dpg.get_value(self.crop_on):
            lo = [dpg.get_value(self._crop_sliders[a + "min"]) for a in AXES]
            hi = [dpg.get_value(self._crop_sliders[a + "max"]) for a in AXES]
            hi = [max(h, l_ + 1e-3) for l_, h in zip(lo, hi, strict=True)]  # a box, however the sliders cross
            crop = CropBox(tuple(lo), tuple(hi))
        self.editor.set_crop(crop)
        self._on_crop(crop)

    def set_crop(self, crop: CropBox | None) -> None:
        """A crop box set elsewhere (its handles dragged in the view): the path's, the sliders' and the view's."""
        self.editor.set_crop(crop)
        self._show_crop()

    def _show_crop(self) -> None:
        """The sliders from the editor's crop box (a loaded path's)."""
        crop = self.editor.path.crop
        if self.crop_bound is None:
            return
        dpg.set_value(self.crop_on, crop is not None)
        if crop is not None:
            for i, a in enumerate(AXES):
                dpg.set_value(self._crop_sliders[a + "min"], crop.lo[i])
                dpg.set_value(self._crop_sliders[a + "max"], crop.hi[i])
        self._on_crop(crop)

    def toggle_preview(self) -> None:
        if self.preview is not None:
            self.stop_preview()
        elif self.editor.keyframes:
            self.preview = Preview(self.editor, time.perf_counter())
            dpg.set_item_label(self.preview_button, "Stop")

    def stop_preview(self) -> None:
        if self.preview is not None:
            self.preview = None
            dpg.set_item_label(self.preview_button, "Preview")
            self._on_pose(self._current_view()[0], None)  # back to the render setting's fov

    def render(self) -> None:
        problem = check_path(self.editor.path)
        if problem or self.rendering is not None:
            self._show_info(problem or f"already rendering {self.rendering.name}")
            return
        self.rendering = next_video(self.run_dir)
        self.worker.submit(JOB_NAME, render_path_job(self.editor.path, self.rendering, progress=self._progress))
        self._set_progress(0, self.editor.frame_count())

    def finished(self, result) -> str:
        """The render job's Notice arrived (result: the video, or None when aborted); a line for the log."""
        out, self.rendering = self.rendering, None
        if result is not None:
            self.rendered = Path(result)
        line = f"camera path: {self.rendered.name}" if result else f"camera path: {out.name} aborted"
        self._show_info(line)
        return line

    def save(self) -> None:
        try:
            self._show_info(f"saved {self.editor.save(dpg.get_value(self.file)).name}")
        except (InputError, OSError) as exc:
            self._show_info(str(exc))

    def load(self) -> None:
        try:
            self.editor.load(dpg.get_value(self.file))
        except InputError as exc:
            self._show_info(str(exc))
            return
        self._refresh()
        self._show_crop()

    # --- per frame -----------------------------------------------------------------------------

    def update(self, now: float) -> None:
        """Move the previewed camera; show the render's progress."""
        progress = self._progress.take()
        if progress:
            self._set_progress(*progress)
        if self.preview is not None:
            pose = self.preview.pose(now)
            if pose is None:
                self.stop_preview()
            else:
                self._on_pose(*pose)

    def _set_progress(self, done: int, total: int) -> None:
        dpg.set_value(self.progress, done / max(total, 1))
        dpg.configure_item(self.progress, overlay=f"{done}/{total}" if done < total else "done")

    def debug(self) -> dict:
        """For NERF_VIEWER_DEBUG_STATE: the path's state and where its buttons are (GUI tests click them)."""
        items = {"add": self.add_button, "render": self.render_button, "abort": self.abort_button,
                 "preview": self.preview_button, "fps": self.fps, "width": self.width, "height": self.height,
                 "save": self.save_button, "load": self.load_button}
        if self.crop_bound is not None:
            items.update({"crop": self.crop_on, **self._crop_sliders})
        return {"keyframes": len(self.editor.keyframes), "frames": self.editor.frame_count(),
                "previewing": self.preview is not None, "crop": self.editor.path.crop is not None,
                "rendering": str(self.rendering) if self.rendering else None,
                "rendered": str(self.rendered) if self.rendered else None,
                "items": {name: [*dpg.get_item_rect_min(i), *dpg.get_item_rect_size(i), dpg.is_item_visible(i)]
                          for name, i in items.items()}}
