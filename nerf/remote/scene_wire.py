"""Cameras, render requests and the scene, to and from their wire messages (nerf.remote.wire).

The server describes its scene once per connection (SceneInfo, its sparse points when it has some,
then each split's SplitCameras, and the dataset images when the client asks); the client rebuilds a
nerf.data.scene.Scene from them, so the viewer's dataset views, snapping, error maps and point
overlay work as they do locally. Whatever comes from the other side is checked here: finite
numbers, sizes within bounds.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from nerf.data.crop import CropBox
from nerf.data.formats.pointcloud import scene_points
from nerf.data.scene import Cameras, Scene, Split
from nerf.errors import InputError
from nerf.remote.frames import decode_image, encode_image
from nerf.remote.wire import Render, SceneImage, SceneInfo, ScenePoints, SplitCameras, WireCamera, WireError
from nerf.train.worker_messages import RenderRequest

SIZE_MAX = 4096  # px of a rendered or dataset image side
SAMPLES_MAX = 1 << 16
POINTS_MAX = 20_000  # sparse points sent: the viewer draws a few thousand of them


def wire_camera(cameras: Cameras, index: int) -> WireCamera:
    """Camera `index` of a set, as sent."""
    dist = cameras.distortion
    return WireCamera(tuple(float(v) for v in cameras.c2w[index].reshape(-1).tolist()),
                      float(cameras.fx[index]), float(cameras.fy[index]), float(cameras.cx[index]),
                      float(cameras.cy[index]), int(cameras.width), int(cameras.height),
                      None if dist is None else tuple(float(v) for v in dist[index].tolist()))


def cameras_of(cam: WireCamera) -> Cameras:
    """A set of one camera; WireError when a number is not finite or the size is out of bounds."""
    values = (*cam.c2w, cam.fx, cam.fy, cam.cx, cam.cy, *(cam.distortion or ()))
    if len(cam.c2w) != 16 or not all(math.isfinite(v) for v in values):
        raise WireError("camera: c2w must be 16 finite numbers, intrinsics finite")
    if not (1 <= cam.width <= SIZE_MAX and 1 <= cam.height <= SIZE_MAX) or cam.fx <= 0 or cam.fy <= 0:
        raise WireError(f"camera: size within 1..{SIZE_MAX} and positive focal lengths expected")
    if cam.distortion is not None and len(cam.distortion) != 4:
        raise WireError("camera: distortion has 4 coefficients")
    return Cameras(torch.tensor(cam.c2w, dtype=torch.float32).reshape(1, 4, 4), torch.tensor([cam.fx]),
                   torch.tensor([cam.fy]), torch.tensor([cam.cx]), torch.tensor([cam.cy]), cam.width, cam.height,
                   None if cam.distortion is None else torch.tensor([cam.distortion], dtype=torch.float32))


def wire_render(request_id: int, request: RenderRequest, purpose: str) -> Render:
    crop = None if request.crop is None else (*request.crop.lo, *request.crop.hi)
    return Render(request_id, wire_camera(request.cameras, request.index),
                  tuple(float(v) for v in request.background), request.max_samples, bool(request.interactive),
                  bool(request.prompt), None if crop is None else tuple(float(v) for v in crop), purpose)


def render_request(message: Render) -> RenderRequest:
    """The worker's request for a wire Render (tag None: the dispatcher sets it)."""
    if message.purpose not in ("view", "job"):
        raise WireError(f"render: unknown purpose {message.purpose!r}")
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in message.background):
        raise WireError("render: background must be RGB in [0, 1]")
    if message.max_samples is not None and not 1 <= message.max_samples <= SAMPLES_MAX:
        raise WireError(f"render: max_samples within 1..{SAMPLES_MAX}")
    crop = None
    if message.crop is not None:
        lo, hi = message.crop[:3], message.crop[3:]
        if len(message.crop) != 6 or not all(math.isfinite(v) for v in message.crop) or \
                not all(a < b for a, b in zip(lo, hi, strict=True)):
            raise WireError("render: crop is lo xyz, hi xyz with lo < hi")
        crop = CropBox(tuple(lo), tuple(hi))
    return RenderRequest(cameras_of(message.camera), 0, message.background, message.max_samples,
                         message.interactive, message.prompt, None, crop)


# --- the scene ---------------------------------------------------------------------------------------


def scene_messages(scene: Scene, config, run_dir: Path, device: str,
                   warn=lambda line: None) -> list[tuple[object, bytes]]:
    """SceneInfo, ScenePoints when the scene has sparse points, and each split's SplitCameras, with
    their payloads. warn(line): told why points the scene names could not be read (none are sent)."""
    info = SceneInfo(scene.name, float(scene.bound), float(scene.near),
                     None if math.isinf(scene.far) else float(scene.far), bool(scene.ndc), bool(scene.unbounded),
                     float(scene.scale), tuple(float(v) for v in scene.offset), tuple(scene.splits),
                     _model_name(config), float(config.lr), int(config.batch_rays),
                     int(getattr(config, "target_samples", 0)), str(run_dir), device)
    out: list[tuple[object, bytes]] = [(info, b"")]
    try:
        points = scene_points(scene, POINTS_MAX)
    except InputError as e:
        points = None
        warn(f"warning: {e.path}: {e.problem}; the viewers get no sparse points")
    if points is not None:
        out.append((ScenePoints(len(points)), np.ascontiguousarray(points, dtype="<f4").tobytes()))
    for name, split in scene.splits.items():
        c = split.cameras
        arrays = [c.c2w.float().numpy(), torch.stack([c.fx, c.fy, c.cx, c.cy], 1).float().numpy()]
        if c.distortion is not None:
            arrays.append(c.distortion.float().numpy())
        files = tuple(split.files) if len(split.files) == len(split) else ()
        out.append((SplitCameras(name, len(split), c.width, c.height, c.distortion is not None, files),
                    b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in arrays)))
    return out


def _model_name(config) -> str:
    name = getattr(config, "model_name", None) or getattr(config, "model", "?")
    return name if isinstance(name, str) else type(name).__name__


def image_message(scene: Scene, split: str, index: int) -> tuple[SceneImage, bytes]:
    return SceneImage(split, index), encode_image(scene.splits[split].images[index].numpy(), "png")


def split_cameras(message: SplitCameras, payload: bytes) -> Cameras:
    n = message.count
    expected = n * (16 + 4 + (4 if message.distorted else 0)) * 4
    if n < 0 or len(payload) != expected or not (1 <= message.width <= SIZE_MAX and 1 <= message.height <= SIZE_MAX):
        raise WireError(f"cameras of split {message.split!r}: payload of {len(payload)} bytes, expected {expected}")
    values = np.frombuffer(payload, dtype="<f4")
    c2w = torch.from_numpy(values[:n * 16].reshape(n, 4, 4).copy())
    intr = torch.from_numpy(values[n * 16:n * 20].reshape(n, 4).copy())
    dist = torch.from_numpy(values[n * 20:].reshape(n, 4).copy()) if message.distorted else None
    return Cameras(c2w, intr[:, 0], intr[:, 1], intr[:, 2], intr[:, 3], message.width, message.height, dist)


class SceneBuilder:
    """The client's copy of the server's scene, put together from the messages as they come."""

    def __init__(self, info: SceneInfo):
        self.info = info
        self.cameras: dict[str, Cameras] = {}
        self.files: dict[str, tuple[str, ...]] = {}
        self.images: dict[str, list[np.ndarray | None]] = {}
        self.points: np.ndarray | None = None  # [n, 3] normalised world, when the server has sparse points

    def add_points(self, message: ScenePoints, payload: bytes) -> None:
        n = message.count
        if not 0 <= n <= POINTS_MAX or len(payload) != n * 12:
            raise WireError(f"sparse points: {len(payload)} bytes for {n} points (at most {POINTS_MAX})")
        points = np.frombuffer(payload, dtype="<f4").reshape(n, 3).astype(np.float64)
        if not np.isfinite(points).all():
            raise WireError("sparse points: not all finite")
        self.points = points

    def add_cameras(self, message: SplitCameras, payload: bytes) -> None:
        if message.split not in self.info.splits:
            raise WireError(f"cameras of an unannounced split {message.split!r}")
        self.cameras[message.split] = split_cameras(message, payload)
        self.files[message.split] = message.files
        self.images[message.split] = [None] * message.count

    @property
    def has_cameras(self) -> bool:
        return set(self.cameras) == set(self.info.splits)

    def add_image(self, message: SceneImage, payload: bytes) -> None:
        slots = self.images.get(message.split)
        if slots is None or not 0 <= message.index < len(slots):
            raise WireError(f"image {message.split}/{message.index} of no announced view")
        c = self.cameras[message.split]
        slots[message.index] = decode_image(payload, c.width, c.height)

    @property
    def images_missing(self) -> int:
        return sum(v is None for slots in self.images.values() for v in slots)

    def scene(self) -> Scene:
        """The Scene (all images must have arrived; views whose images share no channel count are
        brought to RGB)."""
        info = self.info
        splits = {}
        for name in info.splits:
            images = self.images[name]
            c = self.cameras[name]
            channels = min((img.shape[-1] for img in images), default=3)
            stack = np.stack([img[..., :channels] for img in images]).astype(np.float32) / 255.0 if images \
                else np.zeros((0, c.height, c.width, 3), np.float32)
            splits[name] = Split(name, torch.from_numpy(stack), c, list(self.files[name]))
        points = None if self.points is None else self.points * info.scale + np.asarray(info.offset)
        return Scene(info.name, "remote", Path(info.run_dir), splits, bound=info.bound, near=info.near,
                     far=math.inf if info.far is None else info.far, ndc=info.ndc, scale=info.scale,
                     offset=info.offset, unbounded=info.unbounded, sparse_points=points)
