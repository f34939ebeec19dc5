"""`nerf-process` as a function: a video or a folder of photos -> a posed scene folder.

OUT gets images/ (and images_2/4/8/), transforms.json in nerfstudio's layout, sparse_pc.ply and
the COLMAP model under colmap/sparse/0, so nerf-train, nerf-viewer and nerfstudio all open it; and
preview.png, the recovered cameras and points from above and from the side, to judge the poses at
a glance before training on them.
Everything is written to a hidden folder beside OUT and renamed into place only once complete:
a failure or an interruption leaves no half-written scene, and an existing OUT is replaced only
with `overwrite`.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nerf.data.formats.pointcloud import read_ply_points
from nerf.data.formats.transforms import parse_frames
from nerf.files import read_json
from nerf.process.transforms_writer import write_points_ply, write_transforms
from nerf.report.camera_plot import PREVIEW_FILE, write_camera_layout
from nerf.process.ingest import (VIDEO_SUFFIXES, copy_photos, extract_video_frames, is_video,
                              list_photos, write_downscaled)
from nerf.errors import InputError
from nerf.runtime.stages import Report, Stage
from nerf.process.sfm import SfmOptions, recover_cameras

EXHAUSTIVE_UP_TO = 200  # photo sets up to this size compare every pair (~20k pairs); larger ones go in order


@dataclass(frozen=True)
class ProcessOptions:
    frames: int = 150  # frames picked from a video (photos: all are used)
    matching: str = "auto"  # "auto" | "sequential" | "exhaustive"; auto: sequential for video
    camera_model: str = "OPENCV"  # "OPENCV" | "SIMPLE_RADIAL"
    # features on copies at most this big (a quarter of 1080p): exhaustive matching costs grow with
    # the square of the features per image, and ~1 px of error there is well under a training pixel
    # at the usual --downscale 4-8
    max_image_size: int = 480
    overwrite: bool = False  # replace an existing OUT


@dataclass(frozen=True)
class ProcessResult:
    out: Path
    n_frames: int  # images that went into camera recovery
    n_posed: int
    mean_reprojection_error: float  # pixels
    n_points: int  # sparse points in sparse_pc.ply
    seconds: dict[str, float] = field(default_factory=dict)  # per stage


def check_paths(source: Path, out: Path, overwrite: bool) -> str:
    """-> "video" | "photos"; InputError for a missing or unusable INPUT, or an OUT in the way."""
    if not source.exists():
        raise InputError(source, "no such file or folder")
    if source.is_file() and not is_video(source):
        raise InputError(source, f"not a video ({', '.join(s[1:] for s in VIDEO_SUFFIXES)}) "
                                 "or a folder of photos")
    if source.resolve().is_relative_to(out.resolve()):  # --overwrite would delete the input with OUT
        raise InputError(out, "OUT must differ from INPUT" if out.resolve() == source.resolve()
                         else f"contains the input {source}; choose another OUT")
    if out.exists() and not overwrite:
        raise InputError(out, "already exists; pass --overwrite to replace it")
    return "video" if source.is_file() else "photos"


def process(source: str | Path, out: str | Path, options: ProcessOptions = ProcessOptions(),
            report: Report | None = None, cancel: threading.Event | None = None) -> ProcessResult:
    """Recover the cameras of a video or photo folder into the scene folder `out`.

    Raises InputError for bad input or a reconstruction that poses fewer than half of the frames,
    and nerf.process.sfm.Cancelled when `cancel` is set; either way `out` is left as it was.
    """
    source, out = Path(source), Path(out)
    kind = check_paths(source, out, options.overwrite)
    photos = list_photos(source) if kind == "photos" else []
    matching = options.matching
    if matching == "auto":
        matching = "exhaustive" if kind == "photos" and len(photos) <= EXHAUSTIVE_UP_TO else "sequential"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    except OSError as exc:  # a parent that is a file, a read-only folder
        raise InputError(out, f"cannot create the output folder: {exc.strerror or exc}") from None
    try:
        result = _process_into(source, work, kind, photos, matching, options, report, cancel)
        _move_into_place(work, out)
    except OSError as exc:  # a full disk while writing frames or the image pyramid, minutes in
        shutil.rmtree(work, ignore_errors=True)
        raise InputError(out, f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ProcessResult(out=out, **result)


def _process_into(source: Path, work: Path, kind: str, photos: list[Path], matching: str,
                  options: ProcessOptions, report: Report | None, cancel) -> dict:
    seconds = {}
    images = work / "images"
    stage = Stage("frames", report)
    if kind == "video":
        files = extract_video_frames(source, images, options.frames, stage.tick)
    else:
        files = copy_photos(photos, images, stage.tick)
    seconds["frames"] = stage.finish()

    colmap = work / "colmap"
    colmap.mkdir()
    # one camera for photos too: they share one size, and COLMAP's per-EXIF grouping gives every
    # PNG (no EXIF) a camera of its own, which leaves small sets underconstrained
    sfm = SfmOptions(matching=matching, camera_model=options.camera_model,
                     max_image_size=options.max_image_size)
    try:
        rec = recover_cameras(images, [f.name for f in files], colmap, sfm, _timed(report, seconds), cancel)
    except RuntimeError as exc:  # COLMAP's own failures (a corrupt image, a failed solve), minutes in
        last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise InputError(source, f"COLMAP failed: {last}") from None
    posed = rec.num_reg_images() if rec is not None else 0
    if posed * 2 < len(files):
        hints = ["more overlap between views (move slower, or take more photos)"]
        hints += ["--matching exhaustive"] if matching != "exhaustive" else []
        hints += ["more --frames"] if kind == "video" else []
        raise InputError(source, f"posed only {posed} of {len(files)} frames; try {', '.join(hints)}")

    stage = Stage("writing", report, len(files))
    shutil.rmtree(colmap / "sparse")
    (colmap / "sparse" / "0").mkdir(parents=True)
    rec.write(str(colmap / "sparse" / "0"))
    (colmap / "database.db").unlink(missing_ok=True)  # matches for a rerun of the mapper; large
    write_transforms(rec, work / "transforms.json")
    n_points = write_points_ply(rec, work / "sparse_pc.ply")
    write_preview(work, source.name)
    write_downscaled(files, work, stage.tick)
    seconds["writing"] = stage.finish()
    return {"n_frames": len(files), "n_posed": posed, "n_points": n_points,
            "mean_reprojection_error": float(rec.compute_mean_reprojection_error()),
            "seconds": seconds}


def write_preview(folder: Path, title: str) -> None:
    """preview.png from the transforms.json and sparse_pc.ply just written, read back as nerf-train
    reads them: the picture shows what training will use, not what COLMAP held before writing."""
    file = folder / "transforms.json"
    frames = parse_frames(read_json(file), file)
    intrinsics = tuple(np.array([getattr(f, k) for f in frames]) for k in ("fx", "fy", "cx", "cy"))
    write_camera_layout(folder / PREVIEW_FILE, np.stack([f.c2w for f in frames]),
                        (*intrinsics, frames[0].width, frames[0].height),
                        read_ply_points(folder / "sparse_pc.ply"), title)


def _timed(report: Report | None, seconds: dict[str, float]) -> Report:
    """Wrap `report` to also note each stage's final duration in `seconds`."""
    def wrapped(p):
        if p.finished:
            seconds[p.stage] = p.elapsed
        if report:
            report(p)
    return wrapped


def _move_into_place(work: Path, out: Path) -> None:
    """Rename the finished folder to `out`; an old `out` (overwrite) is removed only afterwards."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{work.name}")
        out.rename(old)
    work.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()
