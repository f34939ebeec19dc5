"""File > Open's checks and the command of the new session (no window)."""
import sys
from datetime import datetime
from pathlib import Path

from assets import default_scene_path
from viewer.reopen import Carried, relaunch_argv, source_problem

CARRIED = Carried(device="cpu", downscale=2, model="nerf", autosave_minutes=2.5)
NOW = datetime(2026, 1, 2, 3, 4, 5)


def test_what_can_be_opened(tmp_path):
    assert source_problem(default_scene_path()) is None  # a scene folder
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.JPG").touch()
    assert source_problem(tmp_path / "photos") is None  # processed first
    for name in ("run.pt", "clip.mp4"):
        (tmp_path / name).touch()
        assert source_problem(tmp_path / name) is None
    (tmp_path / "notes.txt").touch()
    assert source_problem(tmp_path / "notes.txt") == f"{tmp_path / 'notes.txt'}: not a checkpoint (.pt) or a " \
                                                     "video (mp4, mov, mkv, webm, avi, m4v)"
    assert source_problem(tmp_path / "missing") == f"{tmp_path / 'missing'}: no such file or folder"
    (tmp_path / "empty").mkdir()
    assert source_problem(tmp_path / "empty").startswith(f"{tmp_path / 'empty'}: not a scene folder: expected ")
    assert source_problem(tmp_path / "empty").endswith(", nor a folder of photos")


def test_a_scene_opens_with_the_sessions_settings_beside_the_old_run(tmp_path):
    argv = relaunch_argv(default_scene_path(), tmp_path / "runs" / "old", CARRIED, NOW)
    assert argv[:4] == [sys.executable, "-m", "viewer", str(Path(default_scene_path()).resolve())]
    flags = dict(zip(argv[4::2], argv[5::2], strict=True))
    assert flags == {"--out": str(tmp_path.resolve() / "runs" / "default_scene-20260102-030405"), "--device": "cpu",
                     "--downscale": "2", "--autosave": "2.5", "--model": "nerf"}


def test_a_checkpoint_names_its_own_model_and_its_run(tmp_path):
    ckpt = tmp_path / "lego-run" / "checkpoint.pt"
    ckpt.parent.mkdir()
    ckpt.touch()
    argv = relaunch_argv(ckpt, tmp_path / "old", CARRIED, NOW)
    assert "--model" not in argv and "--downscale" not in argv  # a resume continues the checkpoint's run
    assert argv[argv.index("--out") + 1] == str(tmp_path.resolve() / "lego-run-20260102-030405")
