"""nerf-viewer on a video: processed in the background with its stages shown, then trained; and
the processed scene reused from the run folder instead of processed twice."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.support.captures import render_capture, write_video
from tests.support.xdriver import virtual_display
from nerf.errors import InputError
from nerf.process.sources import needs_processing, source_fingerprint
from viewer.processing import _process_in_child, process_if_needed


def _args(source, out=None):
    return argparse.Namespace(source=str(source), out=None if out is None else str(out), model="nerf",
                              device="cpu", downscale=1)


def test_what_needs_processing(tmp_path):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(b"x")
    (tmp_path / "scene").mkdir()
    (tmp_path / "scene" / "transforms.json").write_text("{}")
    (tmp_path / "scene" / "a.jpg").write_bytes(b"x")
    assert needs_processing(str(tmp_path / "clip.mp4"))
    assert needs_processing(str(tmp_path / "photos"))
    assert not needs_processing(str(tmp_path / "scene"))
    assert not needs_processing(None)


def test_a_processed_run_is_reused(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded: the run folder already holds its scene")
    run = tmp_path / "run"
    (run / "scene").mkdir(parents=True)
    (run / "scene" / "transforms.json").write_text("{}")
    (run / "source.json").write_text(json.dumps(source_fingerprint(video)))
    args = process_if_needed(_args(video, run))
    assert (args.source, args.out, args.model) == (str(run / "scene"), str(run), "nerf")


@pytest.mark.gui
@pytest.mark.slow  # ~40 s: renders the capture, processes it and waits for training
def test_viewer_processes_a_video_then_trains(tmp_path):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is needed for GUI tests (apt-get install xvfb)")
    frames, _ = render_capture(24)
    video = write_video(frames, tmp_path / "walk.mp4", repeat=2)
    out = tmp_path / "run"
    with virtual_display() as display:
        env = {**os.environ, "DISPLAY": display, "LIBGL_ALWAYS_SOFTWARE": "1"}
        app = subprocess.Popen([sys.executable, "-m", "viewer", str(video), "--out", str(out),
                                "--device", "cpu", "--model", "nerf", "--downscale", "2"],
                               env=env, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 150
            log = out / "log.jsonl"
            while time.monotonic() < deadline and not (log.exists() and '"loss"' in log.read_text()):
                assert app.poll() is None, app.stderr.read()
                time.sleep(0.5)
            assert (out / "scene" / "transforms.json").is_file()
            assert len(json.loads((out / "scene" / "transforms.json").read_text())["frames"]) >= 12
            assert '"loss"' in log.read_text(), "no training step after processing"
        finally:
            app.terminate()
            app.wait(20)


def test_the_processing_child_is_this_package_and_its_crash_is_an_error(tmp_path, monkeypatch):
    """A viewer/ folder in the current directory is not what the child runs, and a child that dies
    (here: no display to open its window on) is an error, never "the user closed the window"."""
    decoy = tmp_path / "cwd" / "viewer"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text("")
    marker = tmp_path / "decoy-ran"
    (decoy / "processing.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\0" * 1024)
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(InputError) as exc:
        _process_in_child(video, tmp_path / "run" / "scene")
    assert not marker.exists()
    assert "processing failed (exit status" in str(exc.value) or exc.value.path == str(video), exc.value
