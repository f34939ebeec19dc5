"""Record panel: screenshots with poses, live recording to GIF/MP4, a turntable video, checkpoints.
Shows where each file went."""
from __future__ import annotations

import dearpygui.dearpygui as dpg


class RecordPanel:
    def __init__(self, app):
        self.app = app
        self._recording = None

    def build(self, parent) -> None:
        app = self.app
        with dpg.collapsing_header(label="Record", default_open=True, parent=parent):
            with dpg.group(horizontal=True):
                dpg.add_button(label="Screenshot (P)", callback=app.screenshot)
                self.format_combo = dpg.add_combo(("gif", "mp4"), default_value="gif", width=55)
                self.record_button = dpg.add_button(label="Record (G)", callback=lambda: app.toggle_recording())
            with dpg.group(horizontal=True):
                dpg.add_button(label="Turntable video", callback=app.turntable)
                self.progress = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="")
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save checkpoint", callback=lambda: dpg.show_item(self.save_dialog))
                dpg.add_button(label="Load checkpoint", callback=lambda: dpg.show_item(self.load_dialog))
            self.files = dpg.add_text(f"run folder: {app.run_dir}", wrap=380)
        for kind in ("save", "load"):
            with dpg.file_dialog(directory_selector=False, show=False, width=640, height=400,
                                 default_path=str(app.run_dir), modal=True,
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
            self.app.save_checkpoint(path if path.endswith(".pt") else path + ".pt")
        else:
            self.app.load_checkpoint(path)

    def set_recording(self, recording: bool) -> None:
        if recording != self._recording:
            self._recording = recording
            dpg.set_item_label(self.record_button, "Stop (G)" if recording else "Record (G)")

    def set_progress(self, done: int, total: int) -> None:
        dpg.set_value(self.progress, done / max(total, 1))
        dpg.configure_item(self.progress, overlay=f"{done}/{total}" if done < total else "done")

    def show_files(self, lines: list[str]) -> None:
        dpg.set_value(self.files, "\n".join([f"run folder: {self.app.run_dir}"] + lines[-6:]))
