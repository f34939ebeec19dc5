"""What crosses the network between `nerf-train --serve` and `nerf-viewer --connect`, and how.

One WebSocket message is one typed message: a 4-byte big-endian length, a UTF-8 JSON header of that
length, then an optional binary payload (images, plot history). The header always has the protocol
version `v` and the message `type`; the other keys are the fields of the message's dataclass. Nothing
is ever unpickled: a header decodes into a dataclass registered here, each field checked against its
annotation (`decode_fields`), and anything else is a WireError. Sizes are bounded on both sides: the
WebSocket library refuses a message over its `max_size` before reading it, and `unpack` refuses a
header over HEADER_MAX.
"""
from __future__ import annotations

import dataclasses
import json
import struct
import types
import typing
from typing import Any, Union

from nerf.train.worker_messages import (
    EvalScore, Evaluate, Pause, Reset, Resume, SetBatchRays, SetBudget, SetInteracting, SetLr, SetRenderShare,
)

PROTOCOL = 3  # bump on any change a peer of the previous version would misread
HEADER_MAX = 64 * 1024  # bytes of JSON in one message
CAMERA_PSNRS_MAX = 4096  # training cameras whose PSNRs a stats header carries (~7 bytes each)
CLIENT_MESSAGE_MAX = 256 * 1024  # what a server accepts from a client: commands and camera poses only
SERVER_MESSAGE_MAX = 64 * 1024 * 1024  # what a client accepts: frames and dataset images
_LEN = struct.Struct(">I")


class WireError(ValueError):
    """A message that cannot be read: malformed, oversize, of an unknown type or another version."""


# --- messages that exist only on the wire (the worker's own commands are reused as they are) ---------


@dataclasses.dataclass(frozen=True)
class SaveCheckpoint:
    """Save the weights in the server's run folder under `name` (a bare file name)."""

    name: str = "checkpoint.pt"


@dataclasses.dataclass(frozen=True)
class AbortJob:
    """Abort the server worker's job in progress (an evaluation, a save)."""


@dataclasses.dataclass(frozen=True)
class WireCamera:
    """One pinhole camera (nerf.data.scene.Cameras of one view), world normalised, OpenGL convention."""

    c2w: tuple[float, ...]  # 16 values, row-major [4, 4]
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    distortion: tuple[float, ...] | None = None  # OpenCV k1, k2, p1, p2


@dataclasses.dataclass(frozen=True)
class Render:
    """A render request (nerf.train.worker_messages.RenderRequest without the caller's tag).
    purpose "view": newest wins per client; "job": a frame a client-side job waits for (lossless)."""

    id: int
    camera: WireCamera
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    max_samples: int | None = None
    interactive: bool = False
    prompt: bool = False
    crop: tuple[float, ...] | None = None  # lo xyz, hi xyz
    purpose: str = "view"


@dataclasses.dataclass(frozen=True)
class FrameAck:
    """The client received frame `id`: the server's measure of the link, for the JPEG quality."""

    id: int


@dataclasses.dataclass(frozen=True)
class SceneImagesWanted:
    """The client has no copy of the dataset images yet: send them (ground truth, error maps)."""


@dataclasses.dataclass(frozen=True)
class Frame:
    """A render's outputs. The payload holds rgb (`codec` jpeg|png, `rgb_bytes` long), then depth
    and opacity as zlib-compressed float16 [height, width] (`depth_bytes`, `opacity_bytes`).
    No outputs (aborted or failed): all lengths 0."""

    id: int
    step: int
    seconds: float
    width: int = 0
    height: int = 0
    codec: str = ""
    rgb_bytes: int = 0
    depth_bytes: int = 0
    opacity_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class Stats:
    """nerf.train.worker_messages.WorkerStats without the history, which follows in the payload:
    `history_new` points as int64 steps, float64 losses, float64 psnrs; `history_from` says where
    they go (0: they replace the client's history; n: they follow its first n points)."""

    step: int
    loss: float
    psnr: float
    rays_per_s: float
    train_seconds: float
    running: bool
    interacting: bool
    budget_s: float | None
    share: float
    model: str
    test: EvalScore | None
    render_seconds: float
    render_seconds_total: float
    renders: int
    history_from: int = 0
    history_new: int = 0
    camera_psnrs: tuple[float, ...] = ()  # to 0.01 dB, NaN where not known; () past CAMERA_PSNRS_MAX cameras


@dataclasses.dataclass(frozen=True)
class NoticeMessage:
    """nerf.train.worker_messages.Notice; `result` is JSON (an EvalScore arrives as `score`)."""

    name: str
    result: Union[bool, int, float, str, None] = None
    score: EvalScore | None = None
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class ErrorMessage:
    text: str


@dataclasses.dataclass(frozen=True)
class SceneInfo:
    """The scene the server trains on, without its images (those follow as SceneImage messages when
    asked for), and the run's starting settings for the training panel."""

    name: str
    bound: float
    near: float
    far: float | None  # None: infinite
    ndc: bool
    unbounded: bool
    scale: float
    offset: tuple[float, float, float]
    splits: tuple[str, ...]
    model: str
    lr: float
    batch_rays: int
    target_samples: int
    run_dir: str  # on the server, for messages
    device: str  # the server's torch device type


@dataclasses.dataclass(frozen=True)
class SplitCameras:
    """The cameras of one split: payload float32 [n, 4, 4] c2w, then [n, 4] fx fy cx cy, then (when
    `distorted`) [n, 4] k1 k2 p1 p2."""

    split: str
    count: int
    width: int
    height: int
    distorted: bool
    files: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class SceneImage:
    """One dataset image as PNG in the payload (RGBA when the dataset has alpha)."""

    split: str
    index: int


@dataclasses.dataclass(frozen=True)
class ScenePoints:
    """The scene's sparse points for the viewer's overlay: payload float32 [count, 3], normalised world
    (a subset when the capture has more). Sent after SceneInfo when the scene has points."""

    count: int


COMMANDS = (Pause, Resume, Reset, SetLr, SetBatchRays, SetRenderShare, SetBudget, SetInteracting, Evaluate)
FROM_CLIENT = COMMANDS + (SaveCheckpoint, AbortJob, Render, FrameAck, SceneImagesWanted)
FROM_SERVER = (Frame, Stats, NoticeMessage, ErrorMessage, SceneInfo, ScenePoints, SplitCameras, SceneImage)
TYPES: dict[str, type] = {cls.__name__: cls for cls in FROM_CLIENT + FROM_SERVER}


def pack(message: Any, payload: bytes = b"") -> bytes:
    """One wire message from a registered dataclass and its payload."""
    name = type(message).__name__
    assert TYPES.get(name) is type(message), f"{name} is not a wire message"
    header = {"v": PROTOCOL, "type": name, **_plain(message)}
    text = json.dumps(header, separators=(",", ":"), allow_nan=True).encode("utf-8")
    if len(text) > HEADER_MAX:
        raise WireError(f"{name} header of {len(text)} bytes is over {HEADER_MAX}")
    return _LEN.pack(len(text)) + text + payload


def unpack(data: bytes | str, allowed: tuple[type, ...]) -> tuple[Any, bytes]:
    """(message, payload) of one wire message whose type is one of `allowed`; WireError otherwise."""
    if isinstance(data, str):
        raise WireError("text message (this protocol sends binary messages)")
    if len(data) < _LEN.size:
        raise WireError("message shorter than its length prefix")
    (n,) = _LEN.unpack_from(data)
    if n > HEADER_MAX or _LEN.size + n > len(data):
        raise WireError(f"header length {n} does not fit the message of {len(data)} bytes")
    try:
        header = json.loads(data[_LEN.size:_LEN.size + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"header is not JSON ({exc.__class__.__name__})") from None
    if not isinstance(header, dict):
        raise WireError("header is not a JSON object")
    if header.get("v") != PROTOCOL:
        raise WireError(f"protocol version {header.get('v')!r}, expected {PROTOCOL}")
    cls = TYPES.get(header.get("type")) if isinstance(header.get("type"), str) else None
    if cls is None or cls not in allowed:
        raise WireError(f"unexpected message type {header.get('type')!r}")
    fields = {k: v for k, v in header.items() if k not in ("v", "type")}
    return decode_fields(cls, fields), data[_LEN.size + n:]


def _plain(message: Any) -> dict:
    """The fields of a dataclass as JSON values (tuples become lists, nested dataclasses dicts)."""
    return {f.name: _plain_value(getattr(message, f.name)) for f in dataclasses.fields(message)}


def _plain_value(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return _plain(value)
    if isinstance(value, (tuple, list)):
        return [_plain_value(v) for v in value]
    return value


def decode_fields(cls: type, fields: Any) -> Any:
    """cls(**fields) after checking every field against cls's annotations: missing fields take their
    defaults, unknown ones are refused, a float may come as an int, a tuple as a JSON list."""
    if not isinstance(fields, dict):
        raise WireError(f"{cls.__name__}: expected an object")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(fields) - set(known)
    if unknown:
        raise WireError(f"{cls.__name__}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    values = {}
    for name, f in known.items():
        if name not in fields:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise WireError(f"{cls.__name__}: missing field {name}")
            continue
        values[name] = _check(hints[name], fields[name], f"{cls.__name__}.{name}")
    return cls(**values)


_MAX_ITEMS = 4096  # a tuple field longer than this is not one this protocol sends


def _check(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is Union or origin is types.UnionType:
        for option in typing.get_args(hint):
            try:
                return _check(option, value, where)
            except WireError:
                continue
        raise WireError(f"{where}: {type(value).__name__} does not fit {hint}")
    if hint is type(None):
        if value is None:
            return None
        raise WireError(f"{where}: expected null")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise WireError(f"{where}: expected a boolean")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**53:
            return value
        raise WireError(f"{where}: expected an integer")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise WireError(f"{where}: expected a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise WireError(f"{where}: expected a string")
    if origin is tuple:
        if not isinstance(value, list) or len(value) > _MAX_ITEMS:
            raise WireError(f"{where}: expected a list of at most {_MAX_ITEMS}")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_check(args[0], v, where) for v in value)
        if len(value) != len(args):
            raise WireError(f"{where}: expected {len(args)} items, got {len(value)}")
        return tuple(_check(a, v, where) for a, v in zip(args, value, strict=True))
    if dataclasses.is_dataclass(hint):
        return decode_fields(hint, value)
    raise WireError(f"{where}: no decoder for {hint}")  # a message type this module forgot to cover

