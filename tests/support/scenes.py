"""Small scenes written by the tests themselves (8x6 pixel images) and a tiny ngp configuration."""
import json
import math
import struct
import zlib

import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation

from nerf.data.cameras import look_at

# a small, fast ngp field for tests that train it for a few dozen steps
TINY_MODEL = dict(levels=8, log2_table=12, max_res=64, grid_res=16, march_steps=96, grid_warmup=64)
TINY = dict(batch_rays=256, lr_decay_steps=10_000, model=TINY_MODEL)


def tiny(model: dict | None = None, **training) -> dict:
    """TrainConfig.tuned keywords: TINY with other training fields and model fields."""
    return {**TINY, **training, "model": {**TINY_MODEL, **(model or {})}}

W, H = 8, 6


def png(path, mode="RGBA", size=(W, H), seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = {"RGBA": 4, "RGB": 3}[mode]
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8), mode).save(path)


def ring(n, centre=(0.0, 0.0, 0.0), radius=4.0):
    """Cameras on a tilted ring looking at `centre`: list of [4, 4] lists."""
    c = np.asarray(centre)
    out = []
    for i in range(n):
        a = 2 * math.pi * i / n
        eye = c + radius * np.array([math.cos(a) * 0.8, math.sin(a) * 0.8, 0.6])
        out.append(look_at(eye.tolist(), c.tolist(), (0.0, 0.0, 1.0)).tolist())
    return out


def blender_scene(root, counts=None, angle=0.9):
    counts = counts or {"train": 4, "test": 2}
    for split, n in counts.items():
        frames = []
        for i, pose in enumerate(ring(n)):
            png(root / split / f"r_{i}.png", seed=i)
            frames.append({"file_path": f"./{split}/r_{i}", "transform_matrix": pose})
        (root / f"transforms_{split}.json").write_text(json.dumps({"camera_angle_x": angle, "frames": frames}))
    return root


def transforms_scene(root, n=10, per_frame=None, **meta):
    frames = []
    for i, pose in enumerate(ring(n, centre=(1.0, 2.0, 3.0), radius=5.0)):
        png(root / "images" / f"{i:04d}.png", mode="RGB", seed=i)
        frames.append({"file_path": f"images/{i:04d}.png", "transform_matrix": pose, **(per_frame or {})})
    base = {"fl_x": 7.0, "fl_y": 6.5, "cx": 4.1, "cy": 2.9, "w": W, "h": H}
    (root / "transforms.json").write_text(json.dumps({**base, **meta, "frames": frames}))
    return root


def llff_scene(root, n=9, factor=4):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        t = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), 0.0]) + np.array([5.0, 0.0, 0.0])
        right, up, back = np.eye(3)
        pose = np.stack([-up, right, back, t, [H * factor, W * factor, 40.0]], axis=1)  # [down, right, back]
        rows.append(np.concatenate([pose.reshape(-1), [2.0 + i, 50.0]]))
        png(root / f"images_{factor}" / f"image{i:03d}.png", mode="RGB", seed=i)
    np.save(root / "poses_bounds.npy", np.asarray(rows))
    return root


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height RGB pixels but holds one row of data: the header of a
    decompression bomb, a few hundred bytes on disk."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * (3 * width + 1))) \
        + chunk(b"IEND", b"")


def huge_png_header() -> bytes:
    """A PNG that declares 100000 x 100000 pixels (a decompression bomb's header) with one row of data."""
    return png_header(100_000, 100_000)


def colmap_text_scene(root, n=10):
    """A COLMAP text model (sparse/0/cameras.txt, images.txt, points3D.txt) of n cameras on a ring
    round the origin, looking at it, with their images: what nerf-process leaves, in text form."""
    (root / "sparse" / "0").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        a = 2 * math.pi * i / n
        centre = np.array([4 * math.cos(a), 4 * math.sin(a), 0.0])
        z = -centre / np.linalg.norm(centre)  # OpenCV: +z looks at the origin, y points down
        x = np.cross([0.0, 0.0, 1.0], z)
        x /= np.linalg.norm(x)
        w2c = np.stack([x, np.cross(z, x), z])  # rows: the camera's axes in the world
        t = -w2c @ centre
        qx, qy, qz, qw = Rotation.from_matrix(w2c).as_quat()
        lines.append(f"{i + 1} {qw} {qx} {qy} {qz} {t[0]} {t[1]} {t[2]} 1 img{i:02d}.png\n\n")
        png(root / "images" / f"img{i:02d}.png", mode="RGB", size=(16, 12), seed=i)
    (root / "sparse" / "0" / "cameras.txt").write_text("1 PINHOLE 16 12 10 10 8 6\n")
    (root / "sparse" / "0" / "images.txt").write_text("".join(lines))
    (root / "sparse" / "0" / "points3D.txt").write_text("1 0.1 0.2 0.3 255 0 0 0.5\n2 -0.1 0.2 0.0 0 255 0 0.5\n")
    return root


def gap_capture(root, test_noise: bool):
    """Ten 16x12 RGB frames (transforms.json; the loader holds out frames 0 and 8). Training frames are
    flat grey, which a fresh model already fits; held-out frames are noise when `test_noise`, which no
    model can predict: a run on it shows a large train/held-out gap at once."""
    rng = np.random.default_rng(0)
    frames = []
    for i, pose in enumerate(ring(10)):
        grey = np.full((12, 16, 3), 128, np.uint8)
        pixels = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) if test_noise and i % 8 == 0 else grey
        (root / "images").mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / "images" / f"{i:02d}.png")
        frames.append({"file_path": f"images/{i:02d}.png", "transform_matrix": pose})
    (root / "transforms.json").write_text(json.dumps({"fl_x": 14.0, "w": 16, "h": 12, "frames": frames}))
    return root
