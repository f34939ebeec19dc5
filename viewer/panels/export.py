"""Export panel: the model as a mesh (resolution, threshold, decimation, format) or a point cloud,
inside the crop box when one is set, written into the run folder as a job on the training worker
(progress bar, Abort; training waits while it runs), the file's path shown when done."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import dearpygui.dearpygui as dpg

from nerf.data.crop import CropBox
from nerf.export.mesh_files import MESH_SUFFIXES
from nerf.runtime.mailbox import Mailbox
from viewer.export_job import JOB_NAME, KINDS, ExportDone, ExportOptions, export_job, export_path


class ExportPanel:
    """`worker`: runs the job (`submit`, `abort_job`); `run_dir`: where files go; `bound`: the
    scene cube's half size (None: a forward-facing scene, which has no export); `crop()`: the crop
    box the view keeps to (None: the whole scene)."""

    def __init__(self, worker, run_dir: Path, bound: float | None, crop: Callable[[], CropBox | None]):
        self.worker, self.run_dir, self.bound, self._crop = worker, Path(run_dir), bound, crop
        self.options = ExportOptions()
        self.exporting: Path | None = None  # the file being written
        self.last: ExportDone | None = None
        self._progress: Mailbox = Mailbox()

    def build(self, parent) -> None:
        o = self.options
        with dpg.collapsing_header(label="Export", default_open=False, parent=parent) as self.header:
            if self.bound is None:
                dpg.add_text("forward-facing (LLFF) scenes live in NDC space: no export")
                return
            self.kind = dpg.add_radio_button(KINDS, default_value=o.kind, horizontal=True,
                                             callback=lambda _s, v: self._set(kind=v))
            with dpg.group(horizontal=True):
                self.resolution = dpg.add_input_int(label="resolution", default_value=o.resolution, width=80, step=0,
                                                    callback=lambda _s, v: self._set(resolution=min(max(v, 16), 1024)))
                self.suffix = dpg.add_combo(MESH_SUFFIXES, default_value=o.suffix, width=60,
                                            callback=lambda _s, v: self._set(suffix=v))
            with dpg.group(horizontal=True):
                self.threshold = dpg.add_input_float(label="density", default_value=o.threshold, width=80, step=0,
                                                     format="%.3g", callback=lambda _s, v: self._set(threshold=v))
                self.faces = dpg.add_input_int(label="faces (0: all)", default_value=o.faces, width=80, step=0,
                                               callback=lambda _s, v: self._set(faces=max(v, 0)))
            self.points = dpg.add_input_int(label="points", default_value=o.points, width=100, step=0,
                                            callback=lambda _s, v: self._set(points=max(v, 1)))
            with dpg.group(horizontal=True):
                self.export_button = dpg.add_button(label="Export", callback=lambda: self.export())
                self.abort_button = dpg.add_button(label="Abort", callback=lambda: self.worker.abort_job())
                self.progress = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="")
            self.info = dpg.add_text("inside the crop box when one is set (Camera path panel)", wrap=380)
        self._show_kind()

    def _set(self, **changes) -> None:
        # a field left empty or below its floor is clamped here, so the job never sees it
        if changes.get("threshold", 1.0) <= 0:
            changes["threshold"] = self.options.threshold
            dpg.set_value(self.threshold, self.options.threshold)
        self.options = replace(self.options, **changes)
        self._show_kind()

    def _show_kind(self) -> None:
        mesh = self.options.kind == "mesh"
        for item in (self.resolution, self.suffix, self.threshold, self.faces):
            dpg.configure_item(item, show=mesh)
        dpg.configure_item(self.points, show=not mesh)

    def export(self) -> None:
        if self.bound is None or self.exporting is not None:
            return
        crop = self._crop()
        self.exporting = export_path(self.run_dir, self.options)
        box = crop or CropBox.cube(self.bound)
        self.worker.submit(JOB_NAME, export_job(self.options, self.exporting, box, self._progress))
        dpg.set_value(self.progress, 0.0)
        dpg.configure_item(self.progress, overlay="0 %")
        dpg.set_value(self.info, f"writing {self.exporting.name} ({'crop box' if crop else 'whole scene'}) ...")

    def finished(self, result: ExportDone | None) -> str:
        """The job's Notice (None: aborted, or it failed: the status line says why); a line for the notes."""
        out, self.exporting = self.exporting, None
        self._progress.take()  # a late progress report must not cover the result
        self.last = result
        if result is None:
            line = f"export of {out.name} stopped: nothing written"
        else:
            line = result.line
        dpg.set_value(self.info, line if result is None or result.path is None else f"{line}\n{result.path}")
        dpg.configure_item(self.progress, overlay="done" if result and result.path else "")
        return line

    def update(self, _now: float) -> None:
        fraction = self._progress.take()
        if fraction is not None and self.exporting is not None:
            dpg.set_value(self.progress, fraction)
            dpg.configure_item(self.progress, overlay=f"{fraction:.0%}")

    def debug(self, _now: float) -> dict:
        items = {} if self.bound is None else {
            "header": self.header, "kind": self.kind, "resolution": self.resolution, "threshold": self.threshold,
            "points": self.points, "export": self.export_button, "abort": self.abort_button}
        return {"export": {"kind": self.options.kind, "exporting": str(self.exporting) if self.exporting else None,
                           "last": None if self.last is None else [str(self.last.path), self.last.line],
                           "info": dpg.get_value(self.info) if self.bound is not None else "",
                           "items": {k: [*dpg.get_item_rect_min(i), *dpg.get_item_rect_size(i),
                                         dpg.is_item_visible(i)] for k, i in items.items()}}}
