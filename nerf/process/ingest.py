"""Frames for camera recovery: picked from a video, or taken from a folder of photos.

A video gives N frames spread evenly over its length, each the sharpest (largest variance of the
Laplacian, a standard blur measure) of its own stretch of the video, so motion blur from a moving
phone rarely makes it into the capture. Decoding goes through imageio-ffmpeg's bundled ffmpeg, so
no system ffmpeg is needed.

Photos are turned upright by their EXIF orientation (COLMAP ignores it) and must share one size:
one camera model per folder is what makes a small capture solvable.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageOps

from nerf.data.formats.images import image_header
from nerf.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
MIN_FRAMES = 3  # two views fix nothing but the baseline; three is the least that can be checked
SHARPNESS_SIZE = 256  # frames are judged on a copy about this wide: blur shows at any scale, decoding dominates
EXIF_ORIENTATION = 0x0112  # 1: upright; 2-8: mirrored and / or turned
DOWNSCALES = (2, 4, 8)  # images_2/, images_4/, images_8/ as nerfstudio writes them

Tick = Callable[[int, int], None]  # (done, total) after each frame


def is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the grey image [H, W, 3] uint8: low means blurred."""
    grey = rgb.astype(np.float32).mean(axis=2)
    lap = (4.0 * grey[1:-1, 1:-1] - grey[:-2, 1:-1] - grey[2:, 1:-1]
           - grey[1:-1, :-2] - grey[1:-1, 2:])
    return float(lap.var())


def pick_windows(total: int, n: int) -> list[int]:
    """Start index of each of min(n, total) equal stretches of `total` frames, plus the end."""
    n = min(n, total)
    return [(k * total) // n for k in range(n + 1)]


def _count_frames(video: Path) -> int:
    import imageio_ffmpeg
    if video.stat().st_size == 0:
        raise InputError(video, "the video file is empty")
    try:
        count, _ = imageio_ffmpeg.count_frames_and_secs(str(video))
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(video, f"cannot read video: {str(exc).strip().splitlines()[-1]}") from None
    return count


def extract_video_frames(video: Path, out_dir: Path, n_frames: int, tick: Tick | None = None) -> list[Path]:
    """Write the sharpest frame of each of n_frames stretches of `video` as out_dir/frame_00001.png ...

    One decoding pass; only the best frame so far of the current stretch is kept in memory.
    """
    import imageio_ffmpeg
    total = _count_frames(video)
    if total == 0:
        raise InputError(video, "the video has no frames")
    if total < MIN_FRAMES:
        raise InputError(video, f"the video has only {total} frames; need at least {MIN_FRAMES}")
    bounds = pick_windows(total, n_frames)
    out_dir.mkdir(parents=True, exist_ok=True)
    files, window, best, best_score = [], 0, None, -1.0
    reader = imageio_ffmpeg.read_frames(str(video))
    try:
        meta = next(reader)
        width, height = meta["size"]
        step = max(1, width // SHARPNESS_SIZE)
        for index, raw in enumerate(reader):
            if index >= total:
                break
            frame = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
            score = sharpness(frame[::step, ::step])
            if score > best_score:
                best, best_score = frame.copy(), score
            if index + 1 == bounds[window + 1]:
                files.append(out_dir / f"frame_{window + 1:05d}.png")
                Image.fromarray(best).save(files[-1])
                window, best, best_score = window + 1, None, -1.0
            if tick:
                tick(index + 1, total)
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputError(video, f"cannot read video: {str(exc).strip().splitlines()[-1]}") from None
    finally:  # ends the ffmpeg child on an error or a stop signal too, not only at the end
        reader.close()
    if best is not None:  # the container promised more frames than it held
        files.append(out_dir / f"frame_{window + 1:05d}.png")
        Image.fromarray(best).save(files[-1])
    if len(files) < MIN_FRAMES:
        raise InputError(video, f"only {len(files)} frames could be decoded; need at least {MIN_FRAMES}")
    return files


def list_photos(folder: Path) -> list[Path]:
    """The folder's JPG/PNG photos, sorted by name; InputError unless >= 3 share one (upright) size."""
    photos = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    if len(photos) < MIN_FRAMES:
        raise InputError(folder, f"has {len(photos)} photos (JPG/PNG); need at least {MIN_FRAMES}")
    first = image_header(photos[0])[:2]
    for photo in photos[1:]:
        size = image_header(photo)[:2]
        if size != first:
            raise InputError(photo, f"is {size[0]}x{size[1]} but {photos[0].name} is "
                                    f"{first[0]}x{first[1]}; all photos must have one size")
    return photos


def copy_photos(photos: list[Path], out_dir: Path, tick: Tick | None = None) -> list[Path]:
    """Copy photos into out_dir, rotating those whose EXIF orientation says so (others byte for byte)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for i, photo in enumerate(photos):
        target = out_dir / photo.name
        try:
            with Image.open(photo) as img:
                # exif_transpose returns a copy even when nothing turns, so ask the tag itself
                upright = None if img.getexif().get(EXIF_ORIENTATION, 1) == 1 else ImageOps.exif_transpose(img)
        except OSError as exc:
            raise InputError(photo, f"cannot read image: {exc}") from None
        # a failure to write (a full disk) is the output's problem, not the photo's: it propagates
        if upright is None:
            shutil.copyfile(photo, target)
        else:
            upright.save(target, quality=95, **({"exif": upright.info["exif"]} if "exif" in upright.info else {}))
        files.append(target)
        if tick:
            tick(i + 1, len(photos))
    return files


def write_downscaled(images: list[Path], root: Path, tick: Tick | None = None) -> None:
    """root/images_K/<name> for K in DOWNSCALES: box-filtered, cropped to a multiple of K like
    nerf.data.formats.images.area_downscale, so intrinsics divide by K exactly."""
    for k in DOWNSCALES:
        (root / f"images_{k}").mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(images):
        with Image.open(path) as img:
            img.load()
            w, h = img.size
            for k in DOWNSCALES:
                if w // k and h // k:
                    small = img.resize((w // k, h // k), Image.BOX, box=(0, 0, w // k * k, h // k * k))
                    small.save(root / f"images_{k}" / path.name, quality=95)
        if tick:
            tick(i + 1, len(images))
