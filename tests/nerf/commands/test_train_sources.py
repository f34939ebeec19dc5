"""nerf-train on a folder of photos (nerf/commands/train.py with nerf/process/sources.py): the cameras
are recovered first into the run folder, once; the same photos again continue that run."""
from __future__ import annotations

import json

from nerf.commands import train
from tests.support.captures import render_capture, write_folder

FAST = ["--batch-rays", "64", "--video-frames", "0", "--eval-views", "1", "--device", "cpu"]


def test_photos_are_processed_once_then_the_run_goes_on(tmp_path, monkeypatch, capsys):
    frames, _ = render_capture(24)
    photos = write_folder(frames, tmp_path / "walk")
    monkeypatch.chdir(tmp_path)  # the run folder goes to runs/walk-<time>, where the next run finds it
    assert train.main([str(photos), "--steps", "2", *FAST]) == 0
    [run] = (tmp_path / "runs").iterdir()
    assert run.name.startswith("walk-") and (run / "scene" / "transforms.json").is_file()
    assert json.loads((run / "source.json").read_text())["path"] == str(photos.resolve())
    assert json.loads((run / "metrics.json").read_text())["steps"] == 2
    assert "recovering the cameras of" in capsys.readouterr().err

    assert train.main([str(photos), "--steps", "3", *FAST]) == 0  # 3 more, from the run's checkpoint
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run.name]
    assert json.loads((run / "metrics.json").read_text())["steps"] == 5
    assert "recovering the cameras" not in capsys.readouterr().err
