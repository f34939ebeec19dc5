"""GUI smoke test: the real `nerf-viewer` under Xvfb, driven by real X events from xdotool.

The app writes its state (camera pose, a hash of the displayed frame, stats, files) to the JSON
file named by NERF_VIEWER_DEBUG_STATE; the test reads it to know where the view is and whether it
changed. Skipped only when Xvfb or xdotool is not installed (CI installs both, and sets
NERF_REQUIRE_GUI so that their absence fails instead).
"""
from __future__ import annotations

import json
import os
import re
import signal
import sys
import subprocess
import time
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest
from nerf.train.run import load_trained

from viewer.opengl import SOFTWARE_WINDOW_SIZE, is_software_renderer
from tests.support.processes import signal_and_wait
from tests.support.xdriver import press, read_state, start_viewer, wait_state, xdo

pytestmark = pytest.mark.gui


def _log_steps(run_dir: Path) -> list[int]:
    log = run_dir / "log.jsonl"
    if not log.exists():
        return []
    return [json.loads(line)["step"] for line in log.read_text().splitlines() if '"loss"' in line]


def test_viewer_trains_orbits_records_and_quits(xdisplay, tmp_path):
    out, debug = tmp_path / "run", tmp_path / "state.json"
    app, env = start_viewer(xdisplay, out, debug)
    try:
        # Opens on the default scene, shows frames and trains (the log's step count rises).
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1 and s["stats"].get("step", 0) >= 1,
                        90, "a first frame and a training step")
        first_steps = _log_steps(out)
        # Mesa's software renderer is recognised: the window opens smaller, to leave the CPU to training.
        assert is_software_renderer(s["gl_renderer"]), s["gl_renderer"]
        assert tuple(s["window"]) == SOFTWARE_WINDOW_SIZE
        wait_state(debug, app, lambda s: _log_steps(out) and _log_steps(out)[-1] > max(first_steps or [0]),
                    60, "log.jsonl steps to rise")

        # A left-drag across the view, as real X events, orbits the camera and changes the frame.
        x, y, w, h = s["view_rect"]
        cx, cy = int(x + w / 2), int(y + h / 2)
        before = read_state(debug)
        xdo(env, "mousemove", cx, cy)
        time.sleep(0.2)
        xdo(env, "mousedown", 1)
        for i in range(1, 9):
            xdo(env, "mousemove", cx + 20 * i, cy + 6 * i)
            time.sleep(0.05)
        xdo(env, "mouseup", 1)
        moved = wait_state(debug, app, lambda s: not np.allclose(s["c2w"], before["c2w"]), 10, "the camera to move")
        wait_state(debug, app, lambda s: s["frames_shown"] > moved["frames_shown"]
                    and s["frame_hash"] != before["frame_hash"], 30, "a new frame after the drag")
        # The mouse rests: the camera must stay put (no drift from cumulative drag deltas) for as
        # long as the app itself runs half a second, however slowly the machine lets it run.
        rest = read_state(debug)
        later = wait_state(debug, app, lambda s: s["time"] >= rest["time"] + 0.5, 30, "the app to run on")
        assert np.allclose(later["c2w"], rest["c2w"])

        # P: a screenshot PNG with its pose JSON, not blank.
        press(env, "p")
        wait_state(debug, app, lambda s: any(f.startswith("screenshot") for f in s["files"]), 60, "the screenshot")
        png = out / "screenshot-001.png"
        assert png.exists() and (out / "screenshot-001.json").exists()
        assert imageio.imread(png).astype(np.float32).std() > 5.0
        pose = json.loads((out / "screenshot-001.json").read_text())
        assert len(pose["frames"][0]["transform_matrix"]) == 4 and pose["w"] > 0

        # G starts and stops a GIF of the live view.
        press(env, "g")
        wait_state(debug, app, lambda s: s["recording"], 10, "recording to start")
        wait_state(debug, app, lambda s: s["recorded_frames"] >= 3, 60, "three recorded frames")
        press(env, "g")
        wait_state(debug, app, lambda s: any(f.startswith("recording:") for f in s["files"]), 20, "the GIF")
        note = next(f for f in read_state(debug)["files"] if f.startswith("recording:"))
        assert int(re.search(r"\((\d+) frames\)", note).group(1)) >= 3
        # Pillow merges identical consecutive frames (a resting view), so the file may hold fewer.
        frames = imageio.mimread(out / "recording-001.gif")
        assert len(frames) >= 1
        assert np.asarray(frames[-1])[..., :3].astype(np.float32).std() > 5.0

        # Escape quits cleanly.
        press(env, "Escape")
        assert app.wait(15) == 0
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_saves_the_session_and_exits(xdisplay, tmp_path, signum, code):
    out, debug = tmp_path / "run", tmp_path / "state.json"
    env = {**os.environ, "DISPLAY": xdisplay, "LIBGL_ALWAYS_SOFTWARE": "1", "NERF_VIEWER_DEBUG_STATE": str(debug)}
    app = subprocess.Popen([sys.executable, "-m", "viewer", "--out", str(out), "--downscale", "4", "--device", "cpu"],
                           env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_state(debug, app, lambda s: s["stats"].get("step", 0) >= 2, 120, "two training steps")
    except BaseException:
        app.kill()
        raise
    # The app would run for ever: an exit within signal_and_wait's guard is the signal's doing.
    stderr = signal_and_wait(app, signum)
    assert app.returncode == code, stderr
    assert stderr.strip().splitlines()[-1].startswith("nerf-viewer: checkpoint saved at step "), stderr
    assert load_trained(out / "checkpoint.pt").step_count >= 2
