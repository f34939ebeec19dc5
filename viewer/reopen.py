"""File > Open: another scene folder, checkpoint, video or folder of photos, in a new session.

The session closes as it does on quit (training stopped, checkpoint.pt saved, the window and the
model freed), then the process replaces itself (os.execv) with `python -m viewer SOURCE`, keeping
the device and the autosave interval, and for a scene the downscale and the model; its run folder sits
beside the old one. A fresh process is the one state nothing of the old session can leak into (a
trainer, a worker thread, the GL context, torch's thread pools). What cannot be opened is said in
one line before anything closes. No window here (tests/viewer/test_reopen.py).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nerf.data.formats.registry import detect_format
from nerf.errors import InputError
from nerf.process.ingest import PHOTO_SUFFIXES, VIDEO_SUFFIXES, is_video

CHECKPOINT_SUFFIX = ".pt"


def source_problem(path: str | Path) -> str | None:
    """Why `path` cannot be opened (one line), or None: a scene folder, a folder of photos, a
    checkpoint (.pt) or a video."""
    path = Path(path).expanduser()
    if not str(path).strip() or not path.exists():
        return f"{path}: no such file or folder"
    if path.is_file():
        if path.suffix.lower() == CHECKPOINT_SUFFIX or is_video(path):
            return None
        return f"{path}: not a checkpoint (.pt) or a video ({', '.join(s[1:] for s in VIDEO_SUFFIXES)})"
    try:
        detect_format(path)
        return None
    except InputError as exc:
        if any(p.suffix.lower() in PHOTO_SUFFIXES for p in path.iterdir()):
            return None  # photos: processed first, as on the command line
        return f"{path}: {exc.problem}, nor a folder of photos"


@dataclass(frozen=True)
class Carried:
    """What the new session keeps of the old one."""

    device: str  # cpu | cuda
    downscale: int | None  # the scene's images are shrunk by this (None: the default); a checkpoint keeps its own
    model: str | None  # the model trained now; a checkpoint keeps its own
    autosave_minutes: float


def relaunch_argv(source: str | Path, run_dir: Path, carried: Carried, now: datetime | None = None) -> list[str]:
    """The command that opens `source` in a new session, its run folder beside run_dir."""
    source = Path(source).expanduser().resolve()
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    is_checkpoint = source.is_file() and source.suffix.lower() == CHECKPOINT_SUFFIX
    name = source.parent.name if is_checkpoint else source.stem  # a checkpoint is named for its run
    out = Path(run_dir).resolve().parent / f"{name}-{stamp}"
    argv = [sys.executable, "-m", "viewer", str(source), "--out", str(out), "--device", carried.device,
            "--autosave", f"{carried.autosave_minutes:g}"]
    if not is_checkpoint:  # a checkpoint continues its run: its model and its scene's resolution
        argv += ["--downscale", str(carried.downscale)] if carried.downscale else []
        argv += ["--model", carried.model] if carried.model else []
    return argv
