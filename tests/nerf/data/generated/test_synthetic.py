"""The analytic default scene: renderer values, the written folder, and the committed assets."""
import json
import math

import numpy as np
import pytest
from PIL import Image

import assets
from nerf.data.generated import synthetic
from nerf.data.generated.synthetic import (CAMERA_ANGLE_X, CAMERA_RADIUS, held_out_poses, render_depth,
                                           render_view, train_poses, write_synthetic_scene)

# Camera 3 units above the box's top-face centre, looking straight down (identity rotation: OpenGL
# looks down -z, which is world -z here). With an odd image size the centre pixel's ray is vertical.
BOX_TOP = np.array([0.42, 0.35, -0.09])
ABOVE_BOX = np.eye(4)
ABOVE_BOX[:3, 3] = BOX_TOP + [0.0, 0.0, 3.0]


@pytest.fixture(scope="module")
def small_scene(tmp_path_factory):
    return write_synthetic_scene(tmp_path_factory.mktemp("scene"), n_train=8, n_test=4, size=32)


def test_render_is_deterministic():
    a = render_view(train_poses(4)[1], 24, 20, CAMERA_ANGLE_X, 2)
    b = render_view(train_poses(4)[1], 24, 20, CAMERA_ANGLE_X, 2)
    assert a[0].shape == (20, 24, 3) and a[1].shape == (20, 24)
    assert a[0].dtype == np.float32 and a[1].dtype == np.float32
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_box_top_centre_pixel_matches_hand_computed_shading():
    rgb, alpha = render_view(ABOVE_BOX, 33, 33, CAMERA_ANGLE_X, supersample=3)
    # Top face, local (0, 0): brick row 2, column 1 -> shade 0.85 + 0.15 * ((2*7 + 1*3) % 4) / 3 = 0.9,
    # albedo (0.80, 0.42, 0.18) * 0.9. Normal +z, lit: n.l = 0.82 / |(0.45, -0.35, 0.82)| = 0.82107,
    # so ambient + diffuse = 0.38 + 0.62 * 0.82107 = 0.88906. Half vector z = 0.95422, specular
    # 0.12 * 0.95422^40 = 0.01841.
    expected = np.array([0.72, 0.378, 0.162]) * 0.88906 + 0.01841  # [0.65854, 0.35447, 0.16244]
    assert alpha[16, 16] == 1.0
    np.testing.assert_allclose(rgb[16, 16], expected, atol=2e-4)


def test_depth_of_box_top_and_background():
    depth = render_depth(ABOVE_BOX, 33, 33, CAMERA_ANGLE_X)
    assert depth.shape == (33, 33)
    assert depth[16, 16] == pytest.approx(3.0, abs=1e-5)
    assert np.isinf(depth[0, 0])


def test_alpha_is_coverage_with_soft_edges_and_transparent_corners():
    for c2w in train_poses(6):
        rgb, alpha = render_view(c2w, 48, 48, CAMERA_ANGLE_X, 3)
        assert alpha.min() == 0.0 and alpha.max() == 1.0
        assert ((alpha > 0) & (alpha < 1)).any()  # anti-aliased silhouettes
        assert np.all(alpha[[0, 0, -1, -1], [0, -1, 0, -1]] == 0.0)
        assert np.all(rgb[alpha == 0] == 0.0)
        assert 0.0 <= rgb.min() and rgb.max() <= 1.0


def test_supersampling_partial_coverage_is_a_multiple_of_one_ninth():
    _, alpha = render_view(train_poses(3)[0], 32, 32, CAMERA_ANGLE_X, 3)
    np.testing.assert_allclose(alpha * 9, np.round(alpha * 9), atol=1e-5)


def test_every_surface_lies_inside_the_unit_cube():
    for c2w in np.concatenate([train_poses(12), held_out_poses(4)]):
        depth = render_depth(c2w, 40, 40, CAMERA_ANGLE_X)
        rays_d = synthetic.camera_rays(c2w, 40, 40, CAMERA_ANGLE_X, np.array([0.5]))[1]
        hit = np.isfinite(depth.ravel())
        points = c2w[:3, 3] + depth.ravel()[hit, None] * rays_d[hit]  # [n_hits, 3]
        assert hit.any() and np.abs(points).max() < 1.0


def test_cameras_look_at_the_origin_from_radius_four():
    for c2w in np.concatenate([train_poses(64), held_out_poses(16)]):
        rot = c2w[:3, :3]
        np.testing.assert_allclose(rot.T @ rot, np.eye(3), atol=1e-7)
        assert np.linalg.norm(c2w[:3, 3]) == pytest.approx(CAMERA_RADIUS, abs=1e-6)
        forward = -rot[:, 2]
        np.testing.assert_allclose(forward, -c2w[:3, 3] / CAMERA_RADIUS, atol=1e-7)
        assert rot[2, 0] == pytest.approx(0.0, abs=1e-7)  # no roll: x stays horizontal


def test_train_views_cover_below_the_horizon_and_test_views_are_new():
    train, test = train_poses(64)[:, :3, 3], held_out_poses(16)[:, :3, 3]
    assert train[:, 2].min() < -0.5 and train[:, 2].max() > 3.9
    cos = (test / CAMERA_RADIUS) @ (train / CAMERA_RADIUS).T  # [16, 64]
    assert np.degrees(np.arccos(cos.max())) > 2.0


def test_written_scene_layout(small_scene):
    for split, n in (("train", 8), ("test", 4)):
        meta = json.loads((small_scene / f"transforms_{split}.json").read_text())
        assert meta["camera_angle_x"] == pytest.approx(CAMERA_ANGLE_X)
        assert [f["file_path"] for f in meta["frames"]] == [f"./{split}/r_{i}" for i in range(n)]
        assert np.asarray(meta["frames"][0]["transform_matrix"]).shape == (4, 4)
        assert sorted(p.name for p in (small_scene / split).iterdir()) == sorted(f"r_{i}.png" for i in range(n))
        with Image.open(small_scene / split / "r_0.png") as im:
            assert im.mode == "RGBA" and im.size == (32, 32)
            alpha = np.asarray(im)[..., 3]
        assert alpha.min() == 0 and alpha.max() == 255


def test_rewrite_is_byte_identical_and_removes_stale_views(small_scene, tmp_path):
    again = write_synthetic_scene(tmp_path / "again", n_train=8, n_test=4, size=32)
    for split_file in ("transforms_train.json", "transforms_test.json", "train/r_7.png", "test/r_3.png"):
        assert (again / split_file).read_bytes() == (small_scene / split_file).read_bytes()
    write_synthetic_scene(again, n_train=3, n_test=2, size=8, supersample=1)
    assert sorted(p.name for p in (again / "train").iterdir()) == ["r_0.png", "r_1.png", "r_2.png"]


def test_loader_reads_the_generated_scene(small_scene):
    from nerf.data.formats.registry import load_scene

    scene = load_scene(small_scene)
    train = scene.split("train")
    assert train.images.shape == (8, 32, 32, 4) and len(scene.split("test")) == 4
    png = np.asarray(Image.open(small_scene / "train" / "r_0.png"), dtype=np.float32) / 255
    np.testing.assert_allclose(train.images[0].numpy(), png, atol=1e-6)
    # the scene's surfaces, mapped to normalised space, lie inside [-bound, bound]^3
    c2w = train_poses(8)[0]
    depth = render_depth(c2w, 32, 32, CAMERA_ANGLE_X).ravel()
    rays_d = synthetic.camera_rays(c2w, 32, 32, CAMERA_ANGLE_X, np.array([0.5]))[1]
    points = c2w[:3, 3] + depth[np.isfinite(depth), None] * rays_d[np.isfinite(depth)]
    normalised = (points - np.asarray(scene.offset)) / scene.scale
    assert np.abs(normalised).max() < scene.bound


def test_committed_scene_matches_the_generator():
    root = assets.default_scene_path()
    assert (root / "transforms_train.json").is_file()
    for split, poses in (("train", train_poses(64)), ("test", held_out_poses(16))):
        meta = json.loads((root / f"transforms_{split}.json").read_text())
        assert meta["camera_angle_x"] == CAMERA_ANGLE_X
        np.testing.assert_allclose([f["transform_matrix"] for f in meta["frames"]], poses, atol=1e-9)
        assert len(list((root / split).glob("r_*.png"))) == len(poses)
    with Image.open(root / "train" / "r_0.png") as im:
        assert im.mode == "RGBA" and im.size == (128, 128)
        stored = np.asarray(im, dtype=np.float32) / 255
    rgb, alpha = render_view(train_poses(64)[0], 128, 128, CAMERA_ANGLE_X, 3)
    diff = np.abs(np.concatenate([rgb, alpha[..., None]], axis=-1) - stored)
    # a few boundary pixels may round differently on another CPU or numpy build
    assert (diff > 1.5 / 255).mean() < 1e-3


def test_committed_toy_image_is_a_detailed_rgb_render():
    with Image.open(assets.default_image_path()) as im:
        assert im.mode == "RGB" and im.size == (256, 256)
        pixels = np.asarray(im, dtype=np.float32) / 255
    edges = np.abs(np.diff(pixels, axis=1)).max(axis=-1)  # [256, 255]
    assert (edges > 0.2).mean() > 0.02  # many strong edges: stripes, checks, bricks, rings
    np.testing.assert_allclose(pixels[0, 0], synthetic.TOY_BACKGROUND, atol=1 / 255)


def test_bad_supersample_is_rejected():
    with pytest.raises(ValueError, match="supersample"):
        render_view(np.eye(4), 8, 8, math.radians(40), supersample=0)
