"""nerf-viewer --connect under Xvfb, against a server in this process (a TrainingWorker with the fake
trainer behind nerf.remote.server on the loopback address): the same window shows the remote model,
a drag changes its frame, a screenshot and a GIF are written on this side, a second window killed
outright leaves the server serving the first, the status line says when the server is gone, and a
wrong token is one line and exit 2."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nerf.remote.access import Address, Token
from nerf.remote.server import RemoteServer
from nerf.train.worker import TrainingWorker
from tests.support.fakes import FakeTrainer, make_fake_scene
from tests.support.xdriver import drag, press, read_state, wait_state

pytestmark = pytest.mark.gui
TOKEN = Token("gui-token", generated=False)


def _viewer(display, out, debug, address, token):
    env = {**os.environ, "DISPLAY": display, "LIBGL_ALWAYS_SOFTWARE": "1", "NERF_VIEWER_DEBUG_STATE": str(debug),
           "NERF_VIEWER_TOKEN": token}
    app = subprocess.Popen([sys.executable, "-m", "viewer", "--connect", str(address), "--out", str(out)],
                           env=env, stderr=subprocess.PIPE, text=True)
    return app, env


def test_connect_shows_the_remote_model_and_survives_the_server(xdisplay, tmp_path):
    trainer = FakeTrainer(make_fake_scene(32), step_seconds=0.01)
    worker = TrainingWorker(trainer, log_path=tmp_path / "server" / "log.jsonl", stats_interval=0.1).start()
    server = RemoteServer(worker, trainer.scene, trainer.config, tmp_path / "server", TOKEN,
                          Address("127.0.0.1", 0), software="test", log=lambda _line: None).start()
    out, debug = tmp_path / "client", tmp_path / "state.json"
    app, env = _viewer(xdisplay, out, debug, server.address, TOKEN.value)
    try:
        s = wait_state(debug, app, lambda s: s["frames_shown"] >= 1 and s["stats"].get("step", 0) >= 1
                       and "connected" in s.get("link", ""), 90, "a first remote frame and stats")
        x, y, w, h = s["view_rect"]
        cx, cy = int(x + w / 2), int(y + h / 2)
        before = read_state(debug)
        drag(env, cx, cy, 160, 48)
        wait_state(debug, app, lambda s: not np.allclose(s["c2w"], before["c2w"]) and s["frame_hash"] !=
                   before["frame_hash"], 30, "a new remote frame after the drag")
        press(env, "p")  # a screenshot, written here
        wait_state(debug, app, lambda s: any(f.startswith("screenshot") for f in s["files"]), 60, "the screenshot")
        assert (out / "screenshot-001.png").exists() and not (tmp_path / "server" / "screenshot-001.png").exists()
        press(env, "g")  # a GIF of the live remote view, written here
        wait_state(debug, app, lambda s: s["recorded_frames"] >= 3, 60, "three recorded frames")
        press(env, "g")
        wait_state(debug, app, lambda s: any(f.startswith("recording:") for f in s["files"]), 30, "the GIF")
        assert (out / "recording-001.gif").stat().st_size > 0

        # A second window killed outright while it draws: the server drops it, the first goes on.
        other, _ = _viewer(xdisplay, tmp_path / "other", tmp_path / "other.json", server.address, TOKEN.value)
        wait_state(tmp_path / "other.json", other, lambda s: s["frames_shown"] >= 1, 90, "the second window's frame")
        assert server.clients == 2
        other.send_signal(signal.SIGKILL)
        other.wait(30)
        deadline = time.monotonic() + 30
        while server.clients != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.clients == 1 and worker.alive
        shown = read_state(debug)["frames_shown"]
        drag(env, cx, cy, -120, 0)
        wait_state(debug, app, lambda s: s["frames_shown"] > shown, 30, "frames after the other window died")
        server.close()
        wait_state(debug, app, lambda s: "server gone" in s.get("link", ""), 30, "the status line to say so")
        press(env, "Escape")
        assert app.wait(30) == 0
        assert "Traceback" not in app.stderr.read()
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        server.close()
        worker.stop(10.0)


def test_connect_with_a_wrong_token_is_one_line_exit_2(xdisplay, tmp_path):
    trainer = FakeTrainer()
    worker = TrainingWorker(trainer).start()
    server = RemoteServer(worker, trainer.scene, trainer.config, tmp_path, TOKEN, Address("127.0.0.1", 0),
                          log=lambda _line: None).start()
    try:
        app, _env = _viewer(xdisplay, tmp_path / "c", tmp_path / "s.json", server.address, "wrong")
        _, err = app.communicate(timeout=60)
        assert app.returncode == 2
        assert err.strip().count("\n") == 0 and "refused the token" in err
    finally:
        server.close()
        worker.stop(10.0)
