"""COLMAP sparse models, read as a scene of their own (nerf.process.transforms_writer writes them out
as nerfstudio's transforms.json).

A COLMAP scene folder holds `images/` and `sparse/0/` (`cameras`, `images`, `points3D`, as .bin or
.txt); pycolmap reads either form. COLMAP stores world-to-camera poses in the OpenCV convention
(x right, y down, looking down +z); we flip the camera's y and z axes to get OpenGL camera-to-world.

Every 8th image is held out for testing (nerf.data.formats.frames.holdout_split), and the sparse
points size an unbounded scene's region of full detail.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from nerf.colmap_lib import pycolmap as load_pycolmap
from nerf.data.formats.frames import DISTORTION_KEYS, Frame, check_frame, holdout_split
from nerf.errors import InputError

# COLMAP camera model -> names of its parameters in nerfstudio's vocabulary, in COLMAP's order
_PARAMS = {
    "SIMPLE_PINHOLE": ("f", "cx", "cy"),
    "PINHOLE": ("fl_x", "fl_y", "cx", "cy"),
    "SIMPLE_RADIAL": ("f", "cx", "cy", "k1"),
    "RADIAL": ("f", "cx", "cy", "k1", "k2"),
    "OPENCV": ("fl_x", "fl_y", "cx", "cy", "k1", "k2", "p1", "p2"),
    "OPENCV_FISHEYE": ("fl_x", "fl_y", "cx", "cy", "k1", "k2", "k3", "k4"),
}


def model_folder(root: Path) -> Path | None:
    """The folder holding cameras/images/points3D (.bin or .txt) under root/sparse, if any."""
    for folder in (root / "sparse" / "0", root / "sparse"):
        if any((folder / f"cameras.{ext}").is_file() for ext in ("bin", "txt")):
            return folder
    return None


def is_colmap(root: Path) -> bool:
    return model_folder(root) is not None


# The binary model's records, as COLMAP writes them: the fixed part's size and, for a record that ends in
# a list, where that list's count sits and how many bytes each entry takes. A count read past the end
# of a file cut short sends pycolmap's reader looping for minutes (issue 28), so the files are walked
# first: every count must fit in the bytes that are left, and the file must end where its last record does.
_UINT32, _UINT64 = struct.Struct("<I"), struct.Struct("<Q")


def _walk_images(data: bytes, at: int) -> int:
    at += 4 + 56 + 4  # image_id, qvec + tvec, camera_id
    end = data.find(b"\0", at, at + 65536)  # the name, NUL-terminated
    if end < 0:
        raise ValueError("an image name without its end")
    at = end + 1
    (count,) = _UINT64.unpack_from(data, at)
    return at + 8 + _fits(data, at + 8, count, 24)  # x, y, point3D_id per 2-D point


def _walk_points(data: bytes, at: int) -> int:
    at += 8 + 24 + 3 + 8  # point3D_id, xyz, rgb, error
    (count,) = _UINT64.unpack_from(data, at)
    return at + 8 + _fits(data, at + 8, count, 8)  # image_id, point2D_idx per track element


def _walk_frames(data: bytes, at: int) -> int:
    at += 4 + 4 + 56  # frame_id, rig_id, rig_from_world
    (count,) = _UINT32.unpack_from(data, at)
    return at + 4 + _fits(data, at + 4, count, 16)  # sensor type, sensor id, data id per entry


def _walk_rigs(data: bytes, at: int) -> int:
    (count,) = _UINT32.unpack_from(data, at + 4)  # rig_id, then the number of sensors
    at += 8
    if count:
        _fits(data, at, count, 8)
        at += 8  # the reference sensor: type, id
        for _ in range(count - 1):  # the others: type, id, has_pose, the pose when it has one
            has_pose = data[at + 8]
            at += 9 + (56 if has_pose else 0)
    return at


def _fits(data: bytes, at: int, count: int, size: int) -> int:
    if count * size > len(data) - at:
        raise ValueError(f"a list of {count} entries where {max(len(data) - at, 0)} bytes are left")
    return count * size


_WALKERS = {"images.bin": _walk_images, "points3D.bin": _walk_points, "frames.bin": _walk_frames,
            "rigs.bin": _walk_rigs}


def check_binary_model(folder: Path) -> None:
    """InputError naming the file when a binary model's file is cut short, holds a count larger than
    its bytes or goes on past its last record (checked before pycolmap reads it: fern's 0.8 MB
    points3D.bin takes about 5 ms)."""
    for name, walk in _WALKERS.items():
        path = folder / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        try:
            (count,) = _UINT64.unpack_from(data, 0)
            _fits(data, 8, count, 1)  # every record takes at least a byte
            at = 8
            for _ in range(count):
                at = walk(data, at)
                if at > len(data):
                    raise struct.error
        except (struct.error, IndexError):
            raise InputError(path, "the COLMAP model file is cut short") from None
        except ValueError as exc:
            raise InputError(path, f"the COLMAP model file is cut short or damaged: {exc}") from None
        if at != len(data):
            raise InputError(path, f"the COLMAP model file goes on {len(data) - at} bytes past its last record")


def read_model(folder: Path):
    """pycolmap.Reconstruction of a sparse model folder; InputError when it cannot be read."""
    if (folder / "cameras.bin").is_file():  # pycolmap reads the binary files when they are there
        check_binary_model(folder)
    pycolmap = load_pycolmap()
    try:
        rec = pycolmap.Reconstruction(str(folder))
    # pycolmap maps COLMAP's C++ exceptions onto these: a failed check (RuntimeError), an id that
    # refers to nothing (IndexError, KeyError), a bad number (ValueError), a count that cannot be
    # allocated (MemoryError from std::bad_alloc)
    except (ValueError, RuntimeError, OSError, IndexError, KeyError, MemoryError) as exc:
        why = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise InputError(folder, f"cannot read the COLMAP model: {why}") from None
    if rec.num_reg_images() == 0:
        raise InputError(folder, "the COLMAP model has no posed images")
    return rec


def intrinsics(camera, where: Path) -> dict:
    """fl_x fl_y cx cy w h k1 k2 k3 k4 p1 p2 of a pycolmap.Camera (missing distortion terms are 0), and
    camera_model (OPENCV, or OPENCV_FISHEYE whose k1..k4 bend the angle from the axis)."""
    model = camera.model.name
    if model not in _PARAMS:
        raise InputError(where, f"camera model {model} is not supported "
                                f"(supported: {', '.join(_PARAMS)})")
    values = dict(zip(_PARAMS[model], (float(v) for v in camera.params), strict=True))
    if "f" in values:
        values["fl_x"] = values["fl_y"] = values.pop("f")
    out = {"fl_x": values["fl_x"], "fl_y": values["fl_y"], "cx": values["cx"], "cy": values["cy"],
           "w": int(camera.width), "h": int(camera.height)}
    out.update({k: values.get(k, 0.0) for k in DISTORTION_KEYS})
    out["camera_model"] = "OPENCV_FISHEYE" if model == "OPENCV_FISHEYE" else "OPENCV"
    return out


def camera_to_world(image) -> np.ndarray:
    """OpenGL camera-to-world [4, 4] in COLMAP's world of a posed pycolmap.Image."""
    w2c = np.eye(4)
    w2c[:3] = image.cam_from_world().matrix()
    c2w = np.linalg.inv(w2c)
    c2w[:3, 1:3] *= -1.0  # OpenCV (y down, +z forward) -> OpenGL (y up, -z forward)
    return c2w


def posed_images(rec) -> list:
    """Registered images of a reconstruction, sorted by name (capture order for frame_00001...)."""
    return sorted((im for im in rec.images.values() if im.has_pose), key=lambda im: im.name)


def colmap_split_frames(root: Path) -> tuple[dict[str, list[Frame]], dict, dict[str, Path]]:
    """Frames per split of a COLMAP folder (every 8th image is test), the sparse points as metadata, and
    the model folder as the file of each split."""
    folder = model_folder(root)
    if folder is None:
        raise InputError(root, "no COLMAP model (sparse/0/cameras.bin or .txt)")
    rec = read_model(folder)
    frames = []
    for image in posed_images(rec):
        k = intrinsics(rec.cameras[image.camera_id], folder)
        dist = np.array([k[name] for name in DISTORTION_KEYS])
        frames.append(frame := Frame(image=root / "images" / image.name, c2w=camera_to_world(image),
                            fx=k["fl_x"], fy=k["fl_y"], cx=k["cx"], cy=k["cy"], width=k["w"],
                            height=k["h"], distortion=dist if dist.any() else None,
                            camera_type="fisheye" if k["camera_model"] == "OPENCV_FISHEYE" else "perspective"))
        check_frame(frame, folder, f"image {image.name}")
    split = holdout_split(frames)
    # the sparse points size an unbounded scene's region of full detail (nerf.data.formats.scene_type)
    points = np.array([p.xyz for p in rec.points3D.values()], dtype=np.float64).reshape(-1, 3)
    return split, {"sparse_points": points}, {name: folder for name in split}
