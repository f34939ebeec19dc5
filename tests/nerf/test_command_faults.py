"""nerf-render and nerf-export under faults: SIGTERM part-way, an encoder that fails, outputs that
cannot be what was asked. Nothing half-written is left (no temporary file, no ffmpeg child), and
every failure is one line."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v2 as imageio
import pytest

from nerf.commands.export import main as export_main
from nerf.commands.render import main as render_main
from nerf.media import VideoFile
from nerf.data.formats.registry import load_scene
from nerf.data.generated.synthetic import write_synthetic_scene
from nerf.train.config import TrainConfig
from nerf.train.trainer import Trainer
from tests.support.processes import signal_and_wait
from tests.support.scenes import TINY

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("scene")
    write_synthetic_scene(root, n_train=6, n_test=2, size=16)
    trainer = Trainer(load_scene(root), TrainConfig.tuned("ngp", "cpu", **TINY))
    for _ in range(5):
        trainer.step()
    trainer.save(root / "checkpoint.pt")
    return root / "checkpoint.pt"


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention `text` (an ffmpeg writing a temporary file)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline:
                found.append(cmdline)
    return found


def _start(module: str, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", module, *map(str, args)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode} first: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the condition never came")
        time.sleep(0.05)


def test_sigterm_to_render_closes_the_video_and_leaves_no_encoder(checkpoint, tmp_path):
    out = tmp_path / "orbit.mp4"
    proc = _start("nerf.commands.render", checkpoint, "--orbit", "1,0.2,200", "--fps", "10",
                  "--resolution", "16x16", "--out", out, "--device", "cpu")
    temporary = tmp_path / ".orbit.partial.mp4"
    _wait_for(temporary.exists, proc)  # the encoder runs: frames are going in
    stderr = signal_and_wait(proc, signal.SIGTERM)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert _hidden(tmp_path) == []
    assert _processes_naming(str(temporary)) == []
    assert len(imageio.mimread(out)) >= 1  # the frames so far, under the final name


def test_sigterm_to_export_leaves_nothing(checkpoint, tmp_path):
    out = tmp_path / "mesh.ply"
    proc = _start("nerf.commands.export", "mesh", checkpoint, "--out", out, "--resolution", "384",
                  "--device", "cpu")
    line = proc.stderr.readline()  # "density threshold ..." comes just before the lattice is filled
    assert "density threshold" in line, line
    stderr = signal_and_wait(proc, signal.SIGTERM)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_failing_encoder_is_one_line_and_leaves_no_file(checkpoint, tmp_path, monkeypatch, capsys):
    def full_disk(self, frame):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(VideoFile, "append", full_disk)
    out = tmp_path / "v.mp4"
    assert render_main([str(checkpoint), "--dataset", "test", "--out", str(out), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"nerf-render: error: {out}: cannot write the video: No space left on device", err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_output_type_is_refused(checkpoint, tmp_path, capsys):
    for name in ("x.mkv", "x.png", "frames.v2"):
        assert render_main([str(checkpoint), "--dataset", "test", "--out", str(tmp_path / name),
                            "--device", "cpu"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "unknown output type" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_a_crop_box_outside_the_scene_is_one_line(checkpoint, tmp_path, capsys):
    out = tmp_path / "m.ply"
    assert export_main(["mesh", str(checkpoint), "--out", str(out), "--crop", "5,5,5,6,6,6", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("nerf-export: error: --crop: the box '5,5,5,6,6,6' lies outside"), err
    assert not out.exists()


def test_unexpected_errors_are_one_line_naming_the_trace_file(checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NERF_VIEWER_TRACE_DIR", str(tmp_path))
    import nerf.commands.export as export
    monkeypatch.setattr(export, "export_points", lambda *a: 1 / 0)
    assert export_main(["pointcloud", str(checkpoint), "--out", str(tmp_path / "p.ply"), "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unexpected ZeroDivisionError" in err[0] and str(tmp_path) in err[0], err
    assert [p.name for p in tmp_path.iterdir() if "crash" in p.name]
