"""`nerf-viewer video.mp4` or `nerf-viewer photos/`: recover the cameras first, then train.

nerf-process runs on a background thread while a small window shows each stage's bar; closing it
cancels. The window lives in a child process (`python -m viewer.processing`): DearPyGui cannot
open a second viewport in one process (the first GLFW window's late focus event reaches the
second context and crashes it), and the app's own window follows. Where the processed scene goes
and how the same video is found again is nerf.process.sources, shared with nerf-train.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from pathlib import Path

import dearpygui.dearpygui as dpg

from nerf.errors import InputError
from nerf.process.pipeline import ProcessOptions, process
from nerf.process.sources import CHECKPOINT, SCENE_FOLDER, needs_processing, processed_run
from nerf.runtime.stages import StageProgress
from nerf.process.sfm import Cancelled

STAGES = ("frames", "features", "matching", "mapping", "writing")
FRAME_SECONDS = 1.0 / 30.0
# The child's exit status when the window was closed before the end: not 1, which is Python's for an
# uncaught exception (a crash read as "cancelled" ended nerf-viewer with status 0).
CANCELLED = 3
# The child runs this very package: `python -m viewer.processing` would import a viewer/ folder in the
# current directory first. It gets the parent's package root at the front of its path instead.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
CHILD = ("import runpy, sys; sys.path[0] = sys.argv.pop(1); "
         "runpy.run_module('viewer.processing', run_name='__main__', alter_sys=True)")


def process_if_needed(args: argparse.Namespace) -> argparse.Namespace | None:
    """args with `source` pointing at a posed scene, or at the checkpoint trained on it when the
    video was opened before (and `out` at its run folder); None when the user closed the window
    while processing. Raises InputError when processing fails, or when --out holds a run made from
    something else (unless --overwrite)."""
    if not needs_processing(args.source):
        return args
    run = processed_run(Path(args.source), args.out, getattr(args, "overwrite", False), _process_in_child)
    if run is None:
        return None
    checkpoint = run / CHECKPOINT  # opened before: go on with what was trained, never over it
    opened = checkpoint if checkpoint.is_file() else run / SCENE_FOLDER
    return argparse.Namespace(**{**vars(args), "source": str(opened), "out": str(run)})


def _process_in_child(source: Path, out: Path) -> bool:
    """Run the processing window in a child process; True once `out` is written, False when the
    window was closed. Its InputError comes back as one JSON line and is raised here."""
    child = subprocess.run([sys.executable, "-c", CHILD, str(PACKAGE_ROOT), str(source), str(out)],
                           stdout=subprocess.PIPE, text=True)
    if child.returncode == 2:
        error = json.loads(child.stdout.strip().splitlines()[-1])
        raise InputError(error["path"], error["problem"])
    if child.returncode != 0 and child.returncode != CANCELLED:  # a crash (1) or a signal (< 0)
        raise InputError(source, f"processing failed (exit status {child.returncode}); nothing was trained")
    return child.returncode == 0 and (out / "transforms.json").is_file()


class StageBoard:
    """The newest report of every stage, written by the processing thread, read by the UI thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._latest: dict[str, StageProgress] = {}

    def put(self, progress: StageProgress) -> None:
        with self._lock:
            self._latest[progress.stage] = progress

    def snapshot(self) -> dict[str, StageProgress]:
        with self._lock:
            return dict(self._latest)


class ProcessingWindow:
    """A small window with one bar per stage while `process` runs on its own thread."""

    def __init__(self, source: Path, out: Path):
        self.source, self.out = source, out
        self.board, self.cancel = StageBoard(), threading.Event()
        self.outcome: dict = {}

    def _work(self) -> None:
        try:
            self.outcome["result"] = process(self.source, self.out, ProcessOptions(overwrite=True),
                                             report=self.board.put, cancel=self.cancel)
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, which shows or re-raises it
            self.outcome["error"] = exc

    def run(self) -> bool:
        """True once the scene is written; False if the window was closed first."""
        dpg.create_context()
        dpg.create_viewport(title=f"nerf-viewer - processing {self.source.name}", width=620, height=260)
        bars = {}
        with dpg.window(tag="processing"):
            dpg.add_text(f"Recovering the cameras of {self.source} (COLMAP)")
            for stage in STAGES:
                bars[stage] = dpg.add_progress_bar(default_value=0.0, overlay=stage, width=-1)
            error = dpg.add_text("", color=(255, 110, 90), wrap=580)
        dpg.setup_dearpygui()
        dpg.show_viewport()
        dpg.set_primary_window("processing", True)
        thread = threading.Thread(target=self._work, name="nerf-process", daemon=True)
        thread.start()
        shown_error = False
        while dpg.is_dearpygui_running():
            for stage, p in self.board.snapshot().items():
                dpg.set_value(bars[stage], 1.0 if p.finished else (p.done / p.total if p.total else 0.0))
                dpg.configure_item(bars[stage], overlay=p.line())
            if not thread.is_alive():
                if not isinstance(self.outcome.get("error"), InputError):
                    break
                if not shown_error:  # keep the window until it is read and closed
                    dpg.set_value(error, f"error: {self.outcome['error']}")
                    shown_error = True
            dpg.render_dearpygui_frame()
            thread.join(FRAME_SECONDS)
        if thread.is_alive():
            self.cancel.set()
            thread.join()
        dpg.destroy_context()
        err = self.outcome.get("error")
        if err is not None and not isinstance(err, Cancelled):
            raise err
        return "result" in self.outcome


def main(argv: list[str] | None = None) -> int:
    """Child process: SOURCE OUT -> 0 written, 3 (CANCELLED) cancelled, 2 InputError (as JSON on stdout)."""
    source, out = (argv if argv is not None else sys.argv[1:])[:2]
    try:
        return 0 if ProcessingWindow(Path(source), Path(out)).run() else CANCELLED
    except InputError as exc:
        print(json.dumps({"path": exc.path, "problem": exc.problem}))
        return 2


if __name__ == "__main__":
    sys.exit(main())
