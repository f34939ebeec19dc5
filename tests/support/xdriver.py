"""Drive the real `nerf-viewer` on a virtual X display: Xvfb start-up and xdotool input.

Shared by the GUI tests and the bench/ scripts so they start displays and send keys the same way.
No dearpygui here: this only runs Xvfb and xdotool as subprocesses.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_display(first: int = 120, last: int = 400) -> int:
    """A display number with neither a lock file nor a socket."""
    for n in range(first, last):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@contextlib.contextmanager
def virtual_display(screen: str = "1280x800x24", timeout: float = 10.0) -> Iterator[str]:
    """Run Xvfb on a free display for the duration of the block; yields ":N"."""
    n = free_display()
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", screen, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Xvfb :{n} did not start")
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def xdo(env: dict, *args) -> None:
    """One xdotool command on env's DISPLAY."""
    subprocess.run(["xdotool", *map(str, args)], env=env, check=True, timeout=10)


def press(env: dict, key: str) -> None:
    # Held for a few frames: a press and release inside one frame can be missed by the app.
    xdo(env, "keydown", key)
    time.sleep(0.15)
    xdo(env, "keyup", key)


def drag(env: dict, x: int, y: int, dx: int, dy: int, steps: int = 8, button: int = 1) -> None:
    """Press `button` at (x, y), move by (dx, dy) in `steps` paced moves (the app sees each), release."""
    xdo(env, "mousemove", x, y)
    time.sleep(0.2)
    xdo(env, "mousedown", button)
    for i in range(1, steps + 1):
        xdo(env, "mousemove", x + dx * i // steps, y + dy * i // steps)
        time.sleep(0.05)
    xdo(env, "mouseup", button)


def click_item(env: dict, rect, dy: float = 0.0) -> None:
    """Left click on a widget by its debug-state rect [x, y, w, h, ...] (near its left end, where a
    checkbox's box is), `dy` px below its middle."""
    x, y, w, h = rect[:4]
    xdo(env, "mousemove", int(x + min(w / 2, 10)), int(y + h / 2 + dy))
    time.sleep(0.2)
    xdo(env, "click", 1)


def scroll_to(env: dict, debug: Path, app: subprocess.Popen, section: str, item: str) -> dict:
    """Scroll the side column (at the window's right edge) until the debug state's
    section["items"][item] is on screen; the state then."""
    last = None
    for _ in range(40):
        time.sleep(0.3)  # the last wheel event's scroll shows in a state written after it
        s = read_state(debug)
        _x, y, _w, h, visible = s[section]["items"][item]
        if visible and 40 < y and y + h < s["window"][1] - 40:
            if last == s[section]["items"][item]:
                return s  # the same place twice running: the column has stopped scrolling
            last = s[section]["items"][item]
            continue
        # over the column's scrollbar: a plot under the mouse would take the wheel for itself
        xdo(env, "mousemove", int(s["window"][0] - 16), 300)
        xdo(env, "click", 5 if y > 40 else 4)  # the wheel, down or up
    pytest.fail(f"{section} {item} never came on screen: {read_state(debug)[section]}")


def type_into(env: dict, debug: Path, app: subprocess.Popen, rect, text: str) -> None:
    """Click the text field at `rect`, and once it has the keyboard (else the keys would be the
    app's shortcuts) replace its text by `text` and press Return."""
    click_item(env, rect)
    wait_state(debug, app, lambda s: s["typing"], 10, "a text field to take the keyboard")
    xdo(env, "key", "ctrl+a")
    xdo(env, "type", text)
    press(env, "Return")


def read_state(path: Path) -> dict | None:
    """The app's NERF_VIEWER_DEBUG_STATE snapshot, or None while it is missing or half-written."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def start_viewer(display: str, out: Path, debug_state: Path, extra_env: dict | None = None,
                 argv: list[str] | None = None) -> tuple[subprocess.Popen, dict]:
    """`nerf-viewer` under software GL, writing its state to debug_state: (the process, its environment
    for xdo). argv None: the default scene with the vanilla model at half resolution: on a busy 2-core
    CPU its steps and small renders take about a second, which keeps a GUI test under a minute."""
    env = {**os.environ, "DISPLAY": display, "LIBGL_ALWAYS_SOFTWARE": "1",
           "NERF_VIEWER_DEBUG_STATE": str(debug_state), **(extra_env or {})}
    argv = ["--downscale", "2", "--device", "cpu", "--model", "nerf"] if argv is None else argv
    app = subprocess.Popen([sys.executable, "-m", "viewer", "--out", str(out), *argv], env=env,
                           stderr=subprocess.PIPE, text=True)
    return app, env


@contextlib.contextmanager
def viewer_without_help(display: str, tmp_path: Path, argv: list[str] | None = None
                        ) -> Iterator[tuple[subprocess.Popen, dict, Path]]:
    """start_viewer (with `argv`) in tmp_path with the help overlay already seen (not over the view):
    yields (the process, its environment, its debug state file); the block ends with Escape, which
    must quit cleanly; a viewer still running after the block is killed."""
    config = tmp_path / "config"
    (config / "nerf-viewer").mkdir(parents=True, exist_ok=True)
    (config / "nerf-viewer" / "help-seen").touch()
    debug = tmp_path / "state.json"
    app, env = start_viewer(display, tmp_path / "run", debug, extra_env={"XDG_CONFIG_HOME": str(config)}, argv=argv)
    try:
        yield app, env, debug
        press(env, "Escape")
        assert app.wait(30) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def wait_state(path: Path, app: subprocess.Popen, predicate, timeout: float, what: str) -> dict:
    """The app's debug state once `predicate` holds; fails the test if the app exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.poll() is not None:
            pytest.fail(f"the viewer exited ({app.returncode}) while waiting for {what}: {app.stderr.read()}")
        s = read_state(path)
        if s is not None and predicate(s):
            return s
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; last state: {read_state(path)}")
