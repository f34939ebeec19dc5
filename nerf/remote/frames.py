"""Rendered frames and dataset images as bytes, and the JPEG quality that suits the link.

A frame of a moving camera goes as JPEG (small; the next one replaces it in a moment), a frame at
rest or for a video job as PNG (lossless: what the viewer shows at rest and what a recording writes
is the model's own output). Depth and opacity travel as float16, zlib-compressed: they are smooth,
and the viewer only maps them to colours.
"""
from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from nerf.remote.wire import Frame, WireError

QUALITY_MIN, QUALITY_MAX, QUALITY_START = 35, 90, 80
TARGET_S = 0.030  # a moving frame's time on the link (send to acknowledgement) that we aim below
PIXELS_MAX = 4096 * 4096  # of one frame or image: more than any view or dataset image here


def encode_image(rgb: np.ndarray, codec: str, quality: int = QUALITY_START) -> bytes:
    """rgb [H, W, 3|4] float in [0, 1] (or uint8) -> JPEG or PNG bytes (JPEG drops alpha)."""
    img = rgb if rgb.dtype == np.uint8 else (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    if codec == "jpeg":
        Image.fromarray(np.ascontiguousarray(img[..., :3])).save(buf, "JPEG", quality=int(quality))
    elif codec == "png":
        Image.fromarray(np.ascontiguousarray(img)).save(buf, "PNG", compress_level=1)
    else:
        raise ValueError(f"unknown codec {codec}")
    return buf.getvalue()


def decode_image(data: bytes, width: int | None = None, height: int | None = None) -> np.ndarray:
    """JPEG/PNG bytes -> uint8 [H, W, C]; WireError when they are not an image of the size announced."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("JPEG", "PNG") or img.width * img.height > PIXELS_MAX:
                raise WireError(f"not a JPEG/PNG of at most {PIXELS_MAX} pixels")
            if img.mode not in ("RGB", "RGBA"):
                img = img.convert("RGB")
            out = np.asarray(img)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, WireError):
            raise
        raise WireError(f"undecodable image ({exc})") from None
    if width is not None and out.shape[:2] != (height, width):
        raise WireError(f"image is {out.shape[1]}x{out.shape[0]}, announced {width}x{height}")
    return out


def encode_plane(values: np.ndarray) -> bytes:
    """[H, W] float -> zlib'd float16 bytes."""
    return zlib.compress(np.ascontiguousarray(values, dtype=np.float16).tobytes(), 1)


def decode_plane(data: bytes, width: int, height: int) -> np.ndarray:
    """The inverse of encode_plane: float32 [height, width]; WireError on the wrong size."""
    n = width * height * 2
    try:
        raw = zlib.decompressobj().decompress(data, n + 1)  # bounded: a zip bomb stops here
    except zlib.error as exc:
        raise WireError(f"undecodable plane ({exc})") from None
    if len(raw) != n:
        raise WireError(f"plane of {len(raw)} bytes, expected {n}")
    return np.frombuffer(raw, dtype=np.float16).astype(np.float32).reshape(height, width)


@dataclass(frozen=True)
class DecodedFrame:
    rgb: np.ndarray  # [H, W, 3] float32 in [0, 1]
    depth: np.ndarray  # [H, W] float32
    opacity: np.ndarray  # [H, W] float32


def encode_frame(frame_id: int, step: int, seconds: float, outputs, codec: str,
                 quality: int = QUALITY_START) -> tuple[Frame, bytes]:
    """The wire Frame and its payload for a render's outputs (a RenderOutput, or None when the
    render was aborted or failed)."""
    if outputs is None:
        return Frame(frame_id, step, seconds), b""
    rgb = outputs.rgb.detach().cpu().numpy()
    h, w = rgb.shape[:2]
    parts = (encode_image(rgb, codec, quality), encode_plane(outputs.depth.detach().cpu().numpy()),
             encode_plane(outputs.opacity.detach().cpu().numpy()))
    header = Frame(frame_id, step, seconds, w, h, codec, *(len(p) for p in parts))
    return header, b"".join(parts)


def decode_frame(header: Frame, payload: bytes) -> DecodedFrame | None:
    """The outputs of a Frame (None for an aborted render); WireError when they do not match it."""
    if header.rgb_bytes == 0:
        return None
    sizes = (header.rgb_bytes, header.depth_bytes, header.opacity_bytes)
    if min(sizes) < 0 or sum(sizes) != len(payload) or header.width * header.height > PIXELS_MAX:
        raise WireError("frame payload does not match its header")
    a, b = header.rgb_bytes, header.rgb_bytes + header.depth_bytes
    rgb = decode_image(payload[:a], header.width, header.height)[..., :3].astype(np.float32) / 255.0
    return DecodedFrame(rgb, decode_plane(payload[a:b], header.width, header.height),
                        decode_plane(payload[b:], header.width, header.height))


class JpegQuality:
    """The JPEG quality of moving frames, adapting to the link: each acknowledged frame's time on
    the link above TARGET_S lowers it, one well below raises it (a congested SSH tunnel gets
    smaller frames rather than a growing lag; a fast link gets sharper ones)."""

    def __init__(self, quality: int = QUALITY_START):
        self.quality = quality

    def acknowledged(self, seconds: float) -> None:
        if seconds > TARGET_S:
            self.quality = max(QUALITY_MIN, self.quality - 10)
        elif seconds < TARGET_S / 3:
            self.quality = min(QUALITY_MAX, self.quality + 5)
