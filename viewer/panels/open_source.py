"""File menu and Open panel: another scene folder, checkpoint, video or folder of photos, picked in
a file dialog or typed in, opened in a new session (viewer.reopen). What cannot be opened is said
in the panel, and the current session goes on."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import dearpygui.dearpygui as dpg

from nerf.process.ingest import VIDEO_SUFFIXES
from viewer.reopen import CHECKPOINT_SUFFIX, Carried, relaunch_argv, source_problem

HINT = "scene folder, checkpoint (.pt), video or folder of photos"


class OpenPanel:
    """`run_dir`: the session's run folder (the dialogs open beside it, the new run goes there);
    `carried()`: what the new session keeps of this one. Opening a source stops the window's loop
    and leaves the new session's command in `relaunch` (the app runs it once this session closed)."""

    def __init__(self, run_dir: Path, carried: Callable[[], Carried]):
        self.run_dir, self._carried = Path(run_dir), carried
        self.start_dir = self.run_dir.resolve().parent
        self.relaunch: list[str] | None = None

    def build_menu(self, on_quit: Callable[[], None]) -> None:
        """The File menu, inside the window's menu bar."""
        self._dialogs()
        with dpg.menu(label="File"):
            dpg.add_menu_item(label="Open scene or photo folder...", callback=lambda: dpg.show_item(self.folder_dialog))
            dpg.add_menu_item(label="Open checkpoint or video...", callback=lambda: dpg.show_item(self.file_dialog))
            dpg.add_separator()
            dpg.add_menu_item(label="Quit", shortcut="Esc", callback=on_quit)

    def _dialogs(self) -> None:
        # DearPyGui's dialog picks either folders or files, so one of each
        self.folder_dialog = dpg.add_file_dialog(directory_selector=True, show=False, modal=True, width=640,
                                                 height=400, default_path=str(self.start_dir),
                                                 callback=lambda _s, data: self._picked(data))
        with dpg.file_dialog(directory_selector=False, show=False, modal=True, width=640, height=400,
                             default_path=str(self.start_dir), callback=lambda _s, data: self._picked(data)) as f:
            dpg.add_file_extension(f"Checkpoints and videos{{{CHECKPOINT_SUFFIX},{','.join(VIDEO_SUFFIXES)}}}")
            dpg.add_file_extension(".*")
        self.file_dialog = f

    def build(self, parent) -> None:
        with dpg.collapsing_header(label="Open", default_open=False, parent=parent) as self.header:
            dpg.add_text(f"another {HINT}: this session is saved and closed, the new one opens")
            # a click selects the whole path, so typing another replaces it (and a path that could not be
            # opened stays there to be corrected with the arrow keys)
            self.path = dpg.add_input_text(hint=HINT, width=-1, on_enter=True, auto_select_all=True,
                                           callback=lambda: self.open(dpg.get_value(self.path)))
            with dpg.group(horizontal=True):
                self.open_button = dpg.add_button(label="Open", callback=lambda: self.open(dpg.get_value(self.path)))
                dpg.add_button(label="Browse folders...", callback=lambda: dpg.show_item(self.folder_dialog))
                dpg.add_button(label="Browse files...", callback=lambda: dpg.show_item(self.file_dialog))
            self.status = dpg.add_text("", wrap=380)

    def _picked(self, data) -> None:
        path = data.get("file_path_name") if isinstance(data, dict) else None
        if path:
            dpg.set_value(self.path, path)
            self.open(path)

    def open(self, path: str) -> None:
        problem = source_problem(path)
        if problem:
            dpg.set_value(self.status, problem)
            return
        dpg.set_value(self.status, f"opening {path} ...")
        self.relaunch = relaunch_argv(path, self.run_dir, self._carried())
        dpg.stop_dearpygui()

    def debug(self, _now: float) -> dict:
        items = {"header": self.header, "path": self.path, "open": self.open_button}
        dialogs = {"folder": self.folder_dialog, "file": self.file_dialog}
        return {"open": {"status": dpg.get_value(self.status), "expanded": bool(dpg.get_value(self.header)),
                         "dialog": next((k for k, d in dialogs.items() if dpg.is_item_shown(d)), None),
                         "items": {k: [*dpg.get_item_rect_min(i), *dpg.get_item_rect_size(i),
                                       dpg.is_item_visible(i)] for k, i in items.items()}}}
