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
from pathlib import Path

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


def _notice(client, name: str, deadline: float) -> list[str]:
    seen = []
    while name not in seen and time.monotonic() < deadline:
        try:
            seen.append(client.notices.get(timeout=1).name)
        except Exception:  # noqa: BLE001 - queue.Empty: keep waiting
            pass
    assert name in seen, seen
    return seen


@pytest.mark.slow  # ~40 s: two ranks, a reset and a second budget
def test_serve_over_two_ranks_rank_0_serves_and_the_others_follow_its_steps(scene_dir, tmp_path):
    """Issue 27: --serve attaches to rank 0. The viewer's commands (a learning rate, a reset, resume)
    reach every rank: each step is a gradient all-reduce, so a rank that did not follow would hang
    rank 0 until the collective timeout, and training reaching its budget twice says they followed."""
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "NERF_VIEWER_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "nerf.commands.train", str(scene_dir), "--serve", "127.0.0.1:0",
                             "--nproc", "2", "--threads", "1", "--steps", "5", "--batch-rays", "64", "--device", "cpu",
                             "--out", str(out), "--video-frames", "2", "--eval-views", "1"],
                            stderr=subprocess.PIPE, env=env, text=True)
    client = None
    try:
        err = read_stderr_until(proc, lambda line: "token " in line, HANG)
        assert "2 ranks (gloo)" in err and err.count("serving on") == 1  # rank 0 alone serves
        port = int(re.search(r"serving on 127\.0\.0\.1:(\d+)", err).group(1))
        client = RemoteWorker(Address("127.0.0.1", port), Token(re.search(r"token (\S+)", err).group(1), False),
                              "test")
        client.open()
        client.start()
        client.set_lr(0.005)
        deadline = time.monotonic() + HANG
        _notice(client, "budget", deadline)
        _notice(client, "run outputs", deadline)  # rank 0 evaluates alone while the other rank waits
        metrics = json.loads((out / "metrics.json").read_text())
        assert (metrics["steps"], metrics["world_size"]) == (5, 2)
        client.reset()  # every rank starts again from the same weights
        client.resume()
        _notice(client, "budget", deadline)
        cams = make_cameras(look_at((3.0, 0.0, 1.0), (0, 0, 0)), 16, 16, fov_y_deg=40.0)
        assert _frame(client, RenderRequest(cams, 0)).step == 5
    finally:
        if client is not None:
            client.stop(5.0)
        stderr = signal_and_wait(proc, signal.SIGINT, HANG)
    assert proc.returncode == 130, stderr
    assert "stopped by SIGINT at step 5" in stderr and "Traceback" not in stderr and "error" not in stderr, stderr
    assert (out / "checkpoint.pt").is_file()


def _rank_pid(launcher: int, rank: int) -> int:
    """The pid of --nproc's rank `rank` among the launcher's children (Linux /proc)."""
    for pid in Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split():
        if f"RANK={rank}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            return int(pid)
    raise AssertionError(f"no rank {rank} among the children of {launcher}")


@pytest.mark.slow  # ~30 s
def test_a_lost_rank_stops_training_but_rank_0_goes_on_serving(scene_dir, tmp_path):
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "NERF_VIEWER_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "nerf.commands.train", str(scene_dir), "--serve", "127.0.0.1:0",
                             "--nproc", "2", "--threads", "1", "--steps", "100000", "--batch-rays", "64",
                             "--device", "cpu", "--out", str(out), "--autosave", "0.001"],
                            stderr=subprocess.PIPE, env=env, text=True)
    client = None
    try:
        err = read_stderr_until(proc, lambda line: "token " in line, HANG)
        port = int(re.search(r"serving on 127\.0\.0\.1:(\d+)", err).group(1))
        client = RemoteWorker(Address("127.0.0.1", port), Token(re.search(r"token (\S+)", err).group(1), False),
                              "test")
        client.open()
        client.start()
        deadline = time.monotonic() + HANG
        while (stats := client.stats.peek()) is None or stats.step < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(_rank_pid(proc.pid, 1), signal.SIGKILL)
        errors: list[str] = []
        while not any("training over ranks cannot go on" in e for e in errors):  # one message; training pauses
            assert time.monotonic() < deadline, errors
            errors += client.errors.take_all()
            time.sleep(0.1)
        cams = make_cameras(look_at((3.0, 0.0, 1.0), (0, 0, 0)), 16, 16, fov_y_deg=40.0)
        assert _frame(client, RenderRequest(cams, 0)).outputs is not None  # the model is still served
        client.resume()  # training cannot go on without the other rank: said again, nothing hangs
        while len([e for e in errors if "training over ranks cannot go on" in e]) < 2:
            assert time.monotonic() < deadline, errors
            errors += client.errors.take_all()
            time.sleep(0.1)
    finally:
        if client is not None:
            client.stop(5.0)
        stderr = signal_and_wait(proc, signal.SIGINT, HANG)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert (out / "checkpoint.pt").is_file()
