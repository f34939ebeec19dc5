"""nerf-process under faults: an OUT that holds the input, an OUT that cannot be made, a full disk,
COLMAP failing, Ctrl-C during matching, SIGTERM part-way; and photos that keep their bytes."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nerf.process.ingest as frames
import nerf.process.pipeline as pipeline
from nerf.colmap_lib import pycolmap as load_pycolmap
from nerf.commands.process import main
from nerf.process.ingest import copy_photos
from nerf.runtime.stages import Stage
from nerf.process.sfm import _with_heartbeat

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _photos(folder: Path, n: int = 4, size: int = 64) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def _one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.replace("\r", "\n").splitlines() if line.strip()]
    errors = [line for line in err if "error" in line or "Traceback" in line]
    assert len(errors) == 1 and errors[0].startswith("nerf-process: error: "), err
    return errors[0]


def test_an_out_that_contains_the_input_is_refused_even_with_overwrite(tmp_path, capsys):
    out = tmp_path / "scene"
    photos = _photos(out / "photos")
    video = out / "clip.mp4"
    video.write_bytes(b"not really a video")
    for source in (photos, video):
        assert main([str(source), str(out), "--overwrite"]) == 2
        assert "contains the input" in _one_error_line(capsys)
    assert sorted(p.name for p in photos.iterdir()) == ["000.png", "001.png", "002.png", "003.png"]
    assert video.read_bytes() == b"not really a video"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene"]


def test_an_out_whose_parent_is_a_file_is_one_line(tmp_path, capsys):
    photos = _photos(tmp_path / "photos")
    (tmp_path / "file").write_text("x")
    assert main([str(photos), str(tmp_path / "file" / "scene")]) == 2
    assert "cannot create the output folder" in _one_error_line(capsys)


def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    photos = _photos(tmp_path / "photos")

    def full(src, dst, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(frames.shutil, "copyfile", full)
    assert main([str(photos), str(tmp_path / "scene")]) == 2
    assert _one_error_line(capsys).endswith("scene: cannot write: No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_a_colmap_failure_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    photos = _photos(tmp_path / "photos")

    def broken(*a, **k):
        raise RuntimeError("[database.cc:123] Check failed: SQLite error\nsqlite: disk I/O error")
    monkeypatch.setattr(pipeline, "recover_cameras", broken)
    assert main([str(photos), str(tmp_path / "scene")]) == 2
    assert _one_error_line(capsys).endswith("photos: COLMAP failed: sqlite: disk I/O error")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_photos_that_need_no_rotation_keep_their_bytes_and_exif(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(src / "plain.jpg", exif=exif)
    exif[0x0112] = 6  # orientation: turned 90 degrees
    Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(src / "turned.jpg", exif=exif)
    out = copy_photos([src / "plain.jpg", src / "turned.jpg"], tmp_path / "out")
    assert out[0].read_bytes() == (src / "plain.jpg").read_bytes()
    with Image.open(out[1]) as turned:
        assert turned.size == (6, 8)
        assert turned.getexif().get(0x010F) == "PhoneMaker"
        assert turned.getexif().get(0x0112, 1) == 1


def test_ctrl_c_while_matching_cancels_the_colmap_job():
    token = load_pycolmap().CancellationToken()
    finished = threading.Event()

    def matching():  # stands in for match_exhaustive: runs until its token is cancelled
        while not token.is_cancelled:
            time.sleep(0.01)
        finished.set()

    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        _with_heartbeat(matching, Stage("matching", None, 1), token, None)
    timer.join()
    assert token.is_cancelled
    assert finished.is_set()  # the job had ended before the interruption reached the caller


def test_sigterm_while_processing_leaves_no_work_folder(tmp_path):
    photos = _photos(tmp_path / "photos", n=40, size=480)
    proc = subprocess.Popen([sys.executable, "-m", "nerf.commands.process", str(photos), str(tmp_path / "scene")],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    # the features stage has begun: COLMAP's database exists in the hidden work folder
    while not list(tmp_path.glob(".scene.*.partial/colmap/database.db")):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_importing_pycolmap_leaves_our_sigterm_handler_in_place():
    script = ("import os, signal, sys\n"
              "signal.signal(signal.SIGTERM, lambda *_: (print('handled'), sys.exit(0)))\n"
              "from nerf.colmap_lib import pycolmap\n"
              "pycolmap()\n"
              "os.kill(os.getpid(), signal.SIGTERM)\n"
              "signal.pause()\n")
    run = subprocess.run([sys.executable, "-c", script], env=ENV, capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout.strip()) == (0, "handled"), run.stderr[-2000:]
