"""Reading dataset images into float32 arrays, and their sizes from headers alone.

Every image comes back as [H, W, C] float32 in [0, 1] with C = 3 (RGB) or 4 (RGBA, straight
alpha): grey is replicated to RGB, palette images keep their transparency as alpha, 16-bit PNGs
are divided by 65535, and JPGs with an EXIF orientation are turned upright first. The dataset
loaders and the toy lab both decode here, so an image means the same to both.
"""
from __future__ import annotations

import os
import re
import stat
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from nerf.errors import InputError


MAX_PIXELS_ENV = "NERF_MAX_IMAGE_PIXELS"  # raises (or lowers) the limit below
DEFAULT_MAX_PIXELS = 100_000_000  # a 10000 x 10000 image; decoding one takes 1.6 GB as float32 RGBA
# Pillow's own decompression-bomb check stays on for every image the process opens (photos in
# nerf-process, the viewer's files), at our limit or its default, whichever is higher. Its warning
# (a second line on stderr) is silenced only around our own opens, where _check_size says the same
# in one line and how to raise the limit; catch_warnings swaps the process's filter list, so those
# opens take turns (the header only: decoding happens after, in parallel).
_OPEN_LOCK = threading.Lock()
_PILLOW_DEFAULT_PIXELS = Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS
_EXIF_ORIENTATION = 0x0112
_TRANSPOSED_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info)


@contextmanager
def _opened(path: str | Path) -> Iterator[Image.Image]:
    """PIL's image at `path`; every way it can fail becomes InputError(path, ...)."""
    _check_regular(path)
    try:
        limit = max_pixels()
        # raised, never lowered below Pillow's default: a lowered limit would outlive this call
        Image.MAX_IMAGE_PIXELS = max(limit, _PILLOW_DEFAULT_PIXELS)
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(path)  # reads the header only: the pixels wait for load()
        with opened as img:
            _check_size(img, path)
            yield img
    except InputError:
        raise
    except Image.DecompressionBombError as exc:  # over twice Pillow's limit: it refuses before we look
        found = re.search(r"\((\d+) pixels\)", str(exc))
        if found is None:
            raise InputError(path, f"image is over the limit of {limit / 1e6:.0f} megapixels; "
                                   f"set {MAX_PIXELS_ENV} to decode it anyway") from None
        pixels = int(found.group(1))
        raise InputError(path, f"image is {pixels / 1e6:.0f} megapixels, over the limit of {limit / 1e6:.0f}; "
                               f"to decode it anyway (about {pixels * 16 / 2**30:.1f} GiB), "
                               f"set {MAX_PIXELS_ENV}={pixels}") from None
    except FileNotFoundError:
        raise InputError(path, "image file is missing") from None
    except IsADirectoryError:
        raise InputError(path, "is a folder, not an image file") from None
    except UnidentifiedImageError:
        raise InputError(path, "not an image file (PNG or JPG expected)") from None
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for bad files; all mean the same to a user
        raise InputError(path, f"cannot read image: {exc}") from None


def _check_regular(path: str | Path) -> None:
    """InputError unless `path` is a regular file: a scene's file names come from its own metadata, and
    opening a FIFO blocks for ever while a device such as /dev/zero never ends."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(path, "image file is missing") from None
    except (OSError, ValueError) as exc:  # permissions, a name too long, a NUL byte in the name
        raise InputError(path, f"cannot read image: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(path, "is a folder, not an image file")
    if not stat.S_ISREG(mode):
        raise InputError(path, "is not a regular file (a pipe or a device?), not an image file")


def max_pixels() -> int:
    """The largest image (width x height) the loaders decode: $NERF_MAX_IMAGE_PIXELS or the default."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(MAX_PIXELS_ENV, f"is {raw!r}; expected a whole number of pixels, e.g. 400000000")
    return value


def _check_size(img: Image.Image, path: str | Path) -> None:
    width, height = img.size
    limit = max_pixels()
    if width * height > limit:
        raise InputError(path, f"image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over the "
                               f"limit of {limit / 1e6:.0f}; to decode it anyway (about "
                               f"{width * height * 16 / 2**30:.1f} GiB), set {MAX_PIXELS_ENV}={width * height}")


def image_header(path: str | Path) -> tuple[int, int, int]:
    """(width, height, channels) of an image as `read_image` returns it, without decoding pixels.

    PIL reads only the header on open; the EXIF orientation is honoured so sizes match read_image.
    """
    with _opened(path) as img:
        width, height = img.size
        channels = 4 if _has_alpha(img) else 3
        if img.format in ("JPEG", "TIFF", "WEBP", "PNG"):
            if img.getexif().get(_EXIF_ORIENTATION) in _TRANSPOSED_ORIENTATIONS:
                width, height = height, width
    return width, height, channels


def _to_float(img: Image.Image) -> np.ndarray:
    """PIL image (any common mode) -> [H, W, 3 or 4] float32 in [0, 1]."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grey PNGs open as I;16 (or I); scale by the 16-bit range
        grey = np.asarray(img, dtype=np.float32) / 65535.0
        return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=-1)
    if mode == "F":
        grey = np.asarray(img, dtype=np.float32)
        return np.repeat(np.clip(grey, 0.0, 1.0)[..., None], 3, axis=-1)
    target = "RGBA" if _has_alpha(img) else "RGB"
    return np.asarray(img.convert(target), dtype=np.float32) / 255.0


def area_downscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter [H, W, C] by an integer factor -> [H // factor, W // factor, C].

    Rows/columns beyond a multiple of `factor` are dropped (the right and bottom edge), so pixel
    (0, 0) keeps its top-left corner and intrinsics simply divide by `factor`. RGBA is averaged
    with premultiplied colour, so compositing the result onto any background equals the average
    of the composited originals (no dark fringes from transparent pixels).
    """
    if factor == 1:
        return image
    h, w, c = image.shape
    hh, ww = h // factor, w // factor
    if hh == 0 or ww == 0:
        raise ValueError(f"image of {w}x{h} is smaller than the downscale factor {factor}")
    x = image[:hh * factor, :ww * factor]
    if c == 4:
        x = x.copy()
        x[..., :3] *= x[..., 3:]  # premultiplied colour
    # two strided sums are far faster than one mean over a 5-d view
    x = x.reshape(hh, factor, ww * factor, c).sum(axis=1)
    x = x.reshape(hh, ww, factor, c).sum(axis=2)
    x *= 1.0 / (factor * factor)
    if c == 4:
        alpha = np.broadcast_to(x[..., 3:], x[..., :3].shape)
        rgb = np.zeros_like(x[..., :3])  # fully transparent blocks: colour never seen once composited
        np.divide(x[..., :3], alpha, out=rgb, where=alpha > 0)
        x[..., :3] = rgb
    return x.astype(np.float32, copy=False)


def read_image(path: str | Path, downscale: int = 1) -> np.ndarray:
    """Decode an image file -> [H // downscale, W // downscale, C] float32 in [0, 1], C = 3 or 4.

    Raises InputError(path, ...) when the file is missing, truncated or not an image.
    """
    with _opened(path) as img:
        img.load()
        array = _to_float(ImageOps.exif_transpose(img))
    try:
        return area_downscale(array, downscale)
    except ValueError as exc:
        raise InputError(path, str(exc)) from None


def available_memory() -> int | None:
    """Bytes this process can still allocate without failing: Linux's MemAvailable (free memory plus
    reclaimable caches) plus free swap; None where /proc/meminfo is not there (no check then)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info = {k: int(v.split()[0]) * 1024 for k, _, v in (line.partition(":") for line in f) if v.strip()}
    except (OSError, ValueError):
        return None
    if "MemAvailable" not in info:
        return None
    return info["MemAvailable"] + info.get("SwapFree", 0)


def read_images(files: list[Path], downscale: int, split: str) -> torch.Tensor:
    """Decode a split's images into one [N, H, W, C] float32 tensor, all the same size.

    Sizes are checked from headers before anything is decoded, so a mismatched image fails fast,
    and so is the memory the tensor needs, so a scene too large for the machine is one line, not an
    out-of-memory kill half-way through decoding;
    the tensor is allocated once and filled in place (no second copy from stacking). Decoding runs
    on a few threads: PIL releases the GIL while it inflates PNG/JPEG data.
    """
    headers = [image_header(f) for f in files]
    width, height, channels = headers[0]
    for f, (w, h, _) in zip(files, headers, strict=True):
        if (w, h) != (width, height):
            raise InputError(f, f"image is {w}x{h} but the first image of split '{split}' "
                                f"({files[0].name}) is {width}x{height}")
    channels = max(c for _, _, c in headers)  # any RGBA image -> keep alpha for all (RGB gets 1)
    if width // downscale == 0 or height // downscale == 0:
        raise InputError(files[0], f"image of {width}x{height} is smaller than downscale {downscale}")
    need = len(files) * (height // downscale) * (width // downscale) * channels * 4  # float32
    free = available_memory()
    if free is not None and need > free:  # torch.empty would succeed (overcommit); filling it gets us killed
        factor = next((k for k in (2, 4, 8, 16, 32) if need / k ** 2 <= free), None)
        raise InputError(files[0].parent, f"decoding the {len(files)} '{split}' images of {width}x{height} takes "
                                          f"{need / 2**30:.1f} GiB, but only {free / 2**30:.1f} GiB of memory is free"
                                          + (f"; a {factor}x larger --downscale would fit" if factor else ""))
    out = torch.empty(len(files), height // downscale, width // downscale, channels)

    def fill(i: int) -> None:
        img = read_image(files[i], downscale)
        if img.shape[-1] < channels:
            img = np.concatenate([img, np.ones_like(img[..., :1])], axis=-1)
        out[i] = torch.from_numpy(img)

    pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1))
    try:
        list(pool.map(fill, range(len(files))))
    finally:  # a bad image or Ctrl-C: drop the images not started instead of decoding them all first
        pool.shutdown(wait=True, cancel_futures=True)
    return out
