"""Record panel: screenshots with poses, live recording to GIF/MP4, a turntable video, checkpoints.
Shows where each file went."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dearpygui.dearpygui as dpg


class RecordPanel:
    """Buttons for the actions, given as callables: `on_save(path)` / `on_load(path)` take the
    checkpoint file picked in a dialog; the others take no argument."""

    def __init__(self, run_dir: Path, *, on_screenshot: Callable[[], None], on_record: Callable[[], None],
                 on_turntable: Callable[[], None], on_save: Callable[[str], None], on_load: Callable[[str], None]):
        self.run_dir = run_dir
        self._on_screenshot, self._on_record, self._on_turntable = on_screenshot, on_record, on_turntable
        self._on_save, self._on_load = on_save, on_load
        self._recording = None

    def build(self, parent) -> None:
        with dpg.collapsing_header(label="Record", default_open=True, parent=parent):
            with dpg.group(horizontal=True):
                dpg.add_button(label="Screenshot (P)", callback=lambda: self._on_screenshot())
                self.format_combo = dpg.add_combo(("gif", "mp4"), default_value="gif", width=55)
                self.record_button = dpg.add_button(label="Record (G)", callback=lambda: self._on_record())
            with dpg.group(horizontal=True):
                dpg.add_button(label="Turntable video", callback=lambda: self._on_turntable())
                self.progress = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="")
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save checkpoint", callback=lambda: dpg.show_item(self.save_dialog))
                dpg.add_button(label="Load checkpoint", callback=lambda: dpg.show_item(self.load_dialog))
            self.files = dpg.add_text(f"run folder: {self.run_dir}", wrap=380)
        for kind in ("save", "load"):
            with dpg.file_dialog(directory_selector=False, show=False, width=640, height=400,
                                 default_path=str(self.run_dir), modal=True,
                                 default_filename="checkpoint" if kind == "save" else "",
                                 callback=self._on_dialog, user_data=kind) as dialog:
                dpg.add_file_extension(".pt")
                dpg.add_file_extension(".*")
            setattr(self, f"{kind}_dialog", dialog)

    def record_format(self) -> str:
        return dpg.get_value(self.format_combo)

    def _on_dialog(self, _sender, app_data, kind) -> None:
        path = app_data.get("file_path_name") if isinstance(app_data, dict) else None
        if not path:
            return
        if kind == "save":
            self._on_save(path if path.endswith(".pt") else path + ".pt")
        else:
            self._on_load(path)

    def set_recording(self, recording: bool) -> None:
        if recording != self._recording:
            self._recording = recording
            dpg.set_item_label(self.record_button, "Stop (G)" if recording else "Record (G)")

    def set_progress(self, done: int, total: int) -> None:
        dpg.set_value(self.progress, done / max(total, 1))
        dpg.configure_item(self.progress, overlay=f"{done}/{total}" if done < total else "done")

    def show_files(self, lines: list[str]) -> None:
        dpg.set_value(self.files, "\n".join([f"run folder: {self.run_dir}"] + lines[-6:]))
