"""nerf-train --serve as a subprocess on the loopback address, and a RemoteWorker driving it: the
token printed once, frames, a command, the budget's end with the model still served, a wrong token,
Ctrl-C saving the checkpoint. Every wait is bounded (a hang fails, slowness does not)."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from nerf.commands.train import main
from nerf.data.cameras import look_at, make_cameras
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.errors import InputError
from nerf.remote.access import Address, Token
from nerf.remote.client import RemoteWorker
from nerf.train.worker_messages import RenderRequest
from tests.support.processes import read_stderr_until, signal_and_wait

HANG = 120.0


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=4, n_test=2, size=16)
    return root


def _frame(client, request):
    client.request_render(request)
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        r = client.frames.wait(0.5)
        if r is not None and r.request is request and r.outputs is not None:
            return r
    raise AssertionError("no frame")


def test_serve_trains_serves_the_final_model_and_saves_on_ctrl_c(scene_dir, tmp_path):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "NERF_VIEWER_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "nerf.commands.train", str(scene_dir), "--serve", "127.0.0.1:0",
                             "--steps", "4", "--batch-rays", "64", "--device", "cpu", "--out", str(out),
                             "--video-frames", "2", "--eval-views", "1"],
                            stderr=subprocess.PIPE, env=env, text=True)
    client = None
    try:
        err = read_stderr_until(proc, lambda line: "token " in line, HANG)
        port = int(re.search(r"serving on 127\.0\.0\.1:(\d+)", err).group(1))
        token = re.search(r"token (\S+)", err).group(1)
        assert err.count(token) == 1  # printed once
        address = Address("127.0.0.1", port)
        with pytest.raises(InputError, match="refused the token"):
            RemoteWorker(address, Token("not-it", False)).open()
        client = RemoteWorker(address, Token(token, False), "test")
        scene = client.open()
        client.start()
        assert len(scene.split("train")) == 4
        deadline = time.monotonic() + HANG
        notices = []
        while "budget" not in notices and time.monotonic() < deadline:  # 4 steps, then training pauses
            try:
                notices.append(client.notices.get(timeout=1).name)
            except Exception:  # noqa: BLE001 - queue.Empty: keep waiting
                pass
        assert "budget" in notices
        while "run outputs" not in notices and time.monotonic() < deadline:  # then nerf-train's outputs
            try:
                notices.append(client.notices.get(timeout=1).name)
            except Exception:  # noqa: BLE001 - queue.Empty: keep waiting
                pass
        assert (out / "metrics.json").is_file() and (out / "eval.json").is_file()
        assert json.loads((out / "metrics.json").read_text())["steps"] == 4
        cams = make_cameras(look_at((3.0, 0.0, 1.0), (0, 0, 0)), 16, 16, fov_y_deg=40.0)
        result = _frame(client, RenderRequest(cams, 0))  # the final model is still served
        assert result.step == 4 and result.outputs.rgb.shape == (16, 16, 3)
        client.save_checkpoint("mine.pt")
        deadline = time.monotonic() + HANG
        while not (out / "mine.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (out / "mine.pt").exists()
    finally:
        if client is not None:
            client.stop(5.0)
        stderr = signal_and_wait(proc, signal.SIGINT, HANG)
    assert proc.returncode == 130, stderr
    assert (out / "checkpoint.pt").is_file() and (out / "log.jsonl").is_file()
    assert "budget reached" in err + stderr and "stopped by SIGINT at step 4" in stderr


def test_serve_refuses_a_bad_address_and_a_lone_token(capsys, tmp_path):
    assert main(["--serve", "host:99999", "--out", str(tmp_path / "o")]) == 2
    assert main(["--token", "x", "--out", str(tmp_path / "o")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("nerf-train: error: ") for line in lines)
