"""A video or a folder of unposed photos where a scene is expected (`nerf-viewer clip.mp4`,
`nerf-train clip.mp4`): its cameras are recovered once, into <run folder>/scene, and
<run folder>/source.json records what it came from (path, size, modification time). Opening the
same source again, with the same --out or without one, finds the newest matching run under runs/
instead of processing it twice, and continues the model trained there (its checkpoint.pt).

How the processing runs is the caller's: the viewer in a small window of its own, nerf-train with
progress lines on the terminal.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from nerf.data.formats.registry import detect_format
from nerf.errors import InputError
from nerf.files import new_run_folder, read_json
from nerf.process.ingest import PHOTO_SUFFIXES, is_video

RUNS = Path("runs")
SOURCE_FILE = "source.json"
SCENE_FOLDER = "scene"
CHECKPOINT = "checkpoint.pt"


def needs_processing(source: str | None) -> bool:
    """A video, or a folder of photos that is not already a scene."""
    if source is None:
        return False
    path = Path(source)
    if is_video(path):
        return True
    if not path.is_dir():
        return False
    try:
        detect_format(path)
        return False
    except InputError:
        return any(p.suffix.lower() in PHOTO_SUFFIXES for p in path.iterdir())


def source_fingerprint(source: Path) -> dict:
    stat = source.stat()
    return {"path": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def reusable_run(source: Path, out: str | None) -> Path | None:
    """A run folder whose scene was processed from this very source, if there is one."""
    candidates = [Path(out)] if out else sorted(RUNS.glob(f"{source.stem}-*"), reverse=True)
    for run in candidates:
        try:
            same = read_json(run / SOURCE_FILE) == source_fingerprint(source)
        except (InputError, OSError):
            continue
        if same and (run / SCENE_FOLDER / "transforms.json").is_file():
            return run
    return None


def processed_run(source: Path, out: str | None, overwrite: bool,
                  run_process: Callable[[Path, Path], bool]) -> Path | None:
    """The run folder holding `source` processed into its scene folder: one found by reusable_run,
    else --out or a new runs/<source>-<time>, where run_process(source, scene folder) recovers the
    cameras (False: the user cancelled; then None). InputError when processing fails, or when --out
    holds a run made from something else (unless `overwrite`)."""
    run = reusable_run(source, out)
    if run is not None:
        return run
    run = Path(out) if out else new_run_folder(source.stem)
    if run.is_dir() and any(run.iterdir()) and not overwrite:
        raise InputError(run, f"holds another run, not one made from {source.name}; choose another --out, "
                              "or pass --overwrite to replace it")
    if not run_process(source, run / SCENE_FOLDER):
        return None
    (run / SOURCE_FILE).write_text(json.dumps(source_fingerprint(source)) + "\n")
    return run
