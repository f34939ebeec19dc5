"""The generated captures of the scene suite (nerf.data.generated: orbits, backdrop, room, capture):
each loads as the capture type it stands for, its cameras are where its docstring says, its lens
model agrees with the loader's projection, and the same seed writes the same bytes."""
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from nerf.data.cameras import project
from nerf.data.formats.registry import load_scene
from nerf.data.generated import backdrop, room
from nerf.data.generated.capture import Intrinsics, orbit, pixel_rays
from nerf.data.generated.orbits import CAPTURES, TARGET
from nerf.data.generated.registry import GENERATED
from nerf.data.scene import Cameras

TINY = dict(n_frames=9, width=24, height=18, seed=0, supersample=1)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("captures")
    return {name: gen.write(root / name, TINY["n_frames"], TINY["width"], TINY["height"], TINY["seed"],
                            TINY["supersample"]) for name, gen in GENERATED.items() if name != "unbounded"}


@pytest.mark.parametrize("name", ["ring360", "walls360", "arcs360", "backdrop", "room"])
def test_each_capture_loads_as_an_unbounded_rgb_scene(written, name):
    root = written[name]
    meta = json.loads((root / "transforms.json").read_text())
    assert meta["camera_model"] == "OPENCV" and len(meta["frames"]) == 9
    assert all(f["file_path"].endswith(".jpg") and "fl_x" in f for f in meta["frames"])
    with Image.open(root / meta["frames"][0]["file_path"]) as im:
        assert im.mode == "RGB" and im.size == (24, 18)
        pixels = np.asarray(im, dtype=np.float64)
    assert pixels.std() > 5  # a picture, not a flat fill
    scene = load_scene(root)
    assert scene.scene_type == "unbounded" and not scene.split("train").has_alpha
    assert len(scene.split("train")) == 7 and len(scene.split("test")) == 2  # frames 0 and 8 held out
    if name == "backdrop":
        assert meta["aabb_scale"] == 1 and scene.bound == 1.0 and "aabb_scale" in scene.scene_type_reason
    else:
        assert "aabb_scale" not in meta and "cameras" in scene.scene_type_reason


def test_same_seed_same_bytes_other_seed_other_cameras(written, tmp_path):
    again = GENERATED["walls360"].write(tmp_path / "again", *TINY.values())
    for rel in ("transforms.json", "images/frame_00003.jpg"):
        assert (again / rel).read_bytes() == (written["walls360"] / rel).read_bytes()
    assert not np.allclose(CAPTURES["walls360"].poses(9, 0), CAPTURES["walls360"].poses(9, 1))


def _eyes_and_forward(poses):
    return poses[:, :3, 3], -poses[:, :3, 2]  # OpenGL: the camera looks down its -z axis


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_360_cameras_circle_the_objects_looking_at_them(name):
    capture = CAPTURES[name]
    assert 30 <= capture.n_frames <= 100
    eyes, forward = _eyes_and_forward(capture.poses(capture.n_frames, 0))
    to_target = np.asarray(TARGET) - eyes
    cos = np.sum(forward * to_target, axis=1) / np.linalg.norm(to_target, axis=1)
    np.testing.assert_allclose(cos, 1.0, atol=1e-6)
    radius = np.hypot(eyes[:, 0], eyes[:, 1])
    assert radius.min() > 2.0 and radius.max() < 4.5
    azimuth = np.degrees(np.arctan2(eyes[:, 1], eyes[:, 0])) % 360
    covered = np.unique(np.floor(azimuth / 30))  # twelve 30-degree sectors around the objects
    assert len(covered) == 12, f"{name}: cameras in {len(covered)} of 12 sectors"


def test_camera_heights_differ_as_described():
    ring = CAPTURES["ring360"].poses(56, 0)[:, 2, 3]
    assert ring.max() - ring.min() > 0.8  # one circle whose height rises and falls
    walls = CAPTURES["walls360"].poses(80, 0)[:, 2, 3]
    assert walls[:40].max() < 0.4 and walls[40:].min() > 1.3  # a low circle, then a high one
    arcs = CAPTURES["arcs360"].poses(36, 0)
    heights = arcs[:, 2, 3].reshape(3, 12).mean(axis=1)
    assert np.all(np.diff(heights) > 0.8)  # ground, head and roof height
    for arc in arcs.reshape(3, 12, 4, 4):  # each arc spans about 140 degrees, not a circle
        az = np.degrees(np.unwrap(np.arctan2(arc[:, 1, 3], arc[:, 0, 3])))
        assert 120 < abs(az[-1] - az[0]) < 160


def test_orbit_arc_ends_on_its_span_and_a_circle_does_not_repeat():
    arc = orbit(5, 2.0, 1.0, (0, 0, 0), start_deg=10, span_deg=90)
    az = np.degrees(np.arctan2(arc[:, 1, 3], arc[:, 0, 3]))
    np.testing.assert_allclose(az[[0, -1]], [10.0, 100.0], atol=1e-5)
    circle = orbit(4, 2.0, 1.0, (0, 0, 0))
    np.testing.assert_allclose(np.degrees(np.arctan2(circle[:, 1, 3], circle[:, 0, 3])), [0, 90, 180, -90], atol=1e-5)
    assert orbit(0, 2.0, 1.0, (0, 0, 0)).shape == (0, 4, 4)


def test_room_cameras_stand_inside_and_look_out():
    eyes, forward = _eyes_and_forward(room.room_poses(room.N_FRAMES))
    assert np.all(np.abs(eyes - room.CENTRE) < room.HALF * 0.5)
    outward = np.sum(forward[:, :2] * eyes[:, :2], axis=1) / np.linalg.norm(eyes[:, :2], axis=1)
    assert outward.min() > 0.8  # within ~35 degrees of straight out, counting the tilt


def test_room_sees_its_walls_and_the_window():
    # from the middle of the room, looking straight at the window: its middle is the outdoor sky,
    # its surroundings the +x wall at 4 units
    c2w = np.eye(4)
    c2w[:3, :3] = [[0, 0, -1], [-1, 0, 0], [0, 1, 0]]  # x right = -y, y up = z, looking down -z = +x
    c2w[:3, 3] = [0.0, 0.0, 1.6]
    o, d = pixel_rays(c2w, Intrinsics.from_fov(33, 33, math.radians(90)), 33, 33, 1)
    rgb = room.shade_room(o, d).reshape(33, 33, 3)
    assert rgb[16, 16, 2] > rgb[16, 16, 0]  # sky blue through the window
    t, face = room._room_hit(o, d)
    assert face.reshape(33, 33)[16, 16] == 1 and t.reshape(33, 33)[16, 16] == pytest.approx(4.0)
    assert set(np.unique(face)) >= {1, 4, 5}  # the +x wall, the floor and the ceiling in view


def test_backdrop_has_per_frame_intrinsics_and_a_lens_the_loader_undoes(written):
    intr = backdrop.backdrop_intrinsics(40, 128, 96)
    assert len({i.fx for i in intr}) == 40 and all(i.distortion[0] < -0.05 for i in intr)
    scene = load_scene(written["backdrop"])
    cams = scene.split("train").cameras
    assert cams.distortion is not None and len(torch.unique(cams.fx)) == len(cams)
    # the generator's ray through a pixel, projected back with the loader's forward lens model
    # (nerf.data.cameras.project distorts; the generator undistorts), lands on the same pixel
    k = intr[3]
    c2w = backdrop.backdrop_poses(40)[3]
    o, d = pixel_rays(c2w, k, 128, 96, 1)
    k1, k2, p1, p2 = k.distortion
    f64 = dict(dtype=torch.float64)
    one = Cameras(torch.tensor(c2w[None], **f64), torch.tensor([k.fx], **f64), torch.tensor([k.fy], **f64),
                  torch.tensor([k.cx], **f64), torch.tensor([k.cy], **f64), 128, 96,
                  torch.tensor([[k1, k2, 0.0, 0.0, p1, p2]], **f64))
    corners = np.array([0, 127, 96 * 128 - 128, 96 * 128 - 1, 48 * 128 + 64])  # 4 corners and the middle
    points = torch.tensor(o[corners] + 3.0 * d[corners])
    px, py, depth = project(one, torch.zeros(len(corners), dtype=torch.long), points)
    np.testing.assert_allclose(px.numpy(), corners % 128 + 0.5, atol=1e-4)
    np.testing.assert_allclose(py.numpy(), corners // 128 + 0.5, atol=1e-4)
    assert np.all(depth.numpy() > 0)
