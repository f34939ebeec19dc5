"""The automatic choice of bounded / unbounded / forward for each format, its overrides, the region of
full detail (cameras, aabb_scale, sparse points) and how --inspect shows it."""
import json

import numpy as np
import pytest

from nerf.commands.train import main
from nerf.data.formats.registry import load_scene
from nerf.data.formats.pointcloud import read_ply_points, scene_points
from nerf.errors import InputError
from tests.support.scenes import blender_scene, llff_scene, png, transforms_scene


def _write_ply(path, points, binary=True):
    head = (f"ply\nformat {'binary_little_endian' if binary else 'ascii'} 1.0\nelement vertex {len(points)}\n"
            "property float x\nproperty float y\nproperty float z\nproperty uchar red\n"
            "property uchar green\nproperty uchar blue\nend_header\n")
    if binary:
        rows = np.zeros(len(points), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("r", "u1"), ("g", "u1"),
                                            ("b", "u1")])
        rows["x"], rows["y"], rows["z"] = points.T
        path.write_bytes(head.encode() + rows.tobytes())
    else:
        path.write_text(head + "".join(f"{x} {y} {z} 10 20 30\n" for x, y, z in points))


def test_blender_with_alpha_stays_bounded(tmp_path):
    scene = load_scene(blender_scene(tmp_path))
    assert scene.scene_type == "bounded" and not scene.unbounded and scene.bound == 1.0
    assert "alpha" in scene.scene_type_reason


def test_rgb_transforms_become_unbounded_with_the_cameras_inside_the_region(tmp_path):
    scene = load_scene(transforms_scene(tmp_path))  # cameras at radius 2.7 (normalised), z = 0.6 * 2.7
    assert scene.scene_type == "unbounded" and scene.far == float("inf") and not scene.ndc
    positions = np.concatenate([s.cameras.c2w[:, :3, 3].numpy() for s in scene.splits.values()])
    assert scene.bound == pytest.approx(np.abs(positions).max(), rel=1e-5)
    assert scene.near == pytest.approx(0.075 * 2.7, rel=1e-4)  # from the cameras' distance
    assert "RGB" in scene.scene_type_reason and "cameras" in scene.scene_type_reason


def test_aabb_scale_is_the_region_size(tmp_path):
    scene = load_scene(transforms_scene(tmp_path, aabb_scale=8))
    assert scene.scene_type == "unbounded" and scene.bound == 8.0
    assert "aabb_scale" in scene.scene_type_reason


def test_transforms_with_alpha_stay_bounded(tmp_path):
    transforms_scene(tmp_path)
    for i in range(10):
        png(tmp_path / "images" / f"{i:04d}.png", mode="RGBA", seed=i)
    scene = load_scene(tmp_path)
    assert scene.scene_type == "bounded" and scene.bound == 1.0 and scene.far < 10


def test_llff_is_forward_facing(tmp_path):
    scene = load_scene(llff_scene(tmp_path))
    assert scene.scene_type == "forward" and scene.ndc and "LLFF" in scene.scene_type_reason


def test_overrides(tmp_path):
    rgb = transforms_scene(tmp_path / "t")
    bounded = load_scene(rgb, scene_type="bounded")
    assert bounded.scene_type == "bounded" and bounded.bound == 1.0
    assert bounded.scene_type_reason == "chosen with --scene-type"
    assert load_scene(blender_scene(tmp_path / "b"), scene_type="unbounded").scene_type == "unbounded"
    llff = load_scene(llff_scene(tmp_path / "l"), scene_type="unbounded")
    assert llff.scene_type == "unbounded" and not llff.ndc
    with pytest.raises(InputError, match="forward needs"):
        load_scene(rgb, scene_type="forward")
    with pytest.raises(InputError, match="bounded is not supported"):
        load_scene(tmp_path / "l", scene_type="bounded")


@pytest.mark.parametrize("binary", [True, False])
def test_sparse_points_widen_the_region(tmp_path, binary):
    # file units: cameras at radius 5 around (1, 2, 3), so 1 normalised unit = 5 / 2.7 file units
    rng = np.random.default_rng(0)
    points = np.array([1.0, 2.0, 3.0]) + rng.uniform(-6.0, 6.0, (200, 3))
    _write_ply(tmp_path / "sparse_pc.ply", points, binary)
    torch_points = read_ply_points(tmp_path / "sparse_pc.ply")
    np.testing.assert_allclose(torch_points, points, rtol=1e-6)
    plain = load_scene(transforms_scene(tmp_path / "plain"))
    scene = load_scene(transforms_scene(tmp_path, ply_file_path="sparse_pc.ply"))
    reach = np.quantile(np.abs((points - [1.0, 2.0, 3.0]) * 2.7 / 5.0).max(axis=1), 0.8)
    assert scene.bound == pytest.approx(min(reach, 2 * plain.bound), rel=1e-4) and scene.bound > plain.bound
    assert "sparse points" in scene.scene_type_reason


def test_a_bounded_scene_reads_its_ply_file_path_when_the_points_are_drawn(tmp_path):
    # a name other than sparse_pc.ply: only the transforms file says where the points are
    points = np.array([1.0, 2.0, 3.0]) + np.random.default_rng(1).uniform(-1.0, 1.0, (50, 3))
    (tmp_path / "sfm").mkdir()
    _write_ply(tmp_path / "sfm" / "points3D.ply", points)
    scene = load_scene(transforms_scene(tmp_path, ply_file_path="sfm/points3D.ply"), scene_type="bounded")
    assert scene.scene_type == "bounded" and scene.sparse_points is None  # not read while loading
    drawn = scene_points(scene)
    np.testing.assert_allclose(drawn * scene.scale + np.asarray(scene.offset), points, rtol=1e-5, atol=1e-5)
    (tmp_path / "sfm" / "points3D.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n")
    with pytest.raises(InputError, match="points3D.ply"):  # the overlay shows this line; the scene still loads
        scene_points(load_scene(tmp_path, scene_type="bounded"))


def test_a_broken_point_cloud_is_an_input_error(tmp_path):
    (tmp_path / "sparse_pc.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 5\n"
                                             b"property float x\nproperty float y\nproperty float z\nend_header\n")
    with pytest.raises(InputError, match="sparse_pc.ply: not a readable PLY .*unexpected length"):
        load_scene(transforms_scene(tmp_path, ply_file_path="sparse_pc.ply"))


def test_inspect_says_which_and_why(tmp_path, capsys):
    transforms_scene(tmp_path)
    assert main([str(tmp_path), "--inspect", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["scene_type"] == "unbounded" and "RGB" in info["scene_type_reason"] and info["far"] is None
    assert main([str(tmp_path), "--inspect", "--scene-type", "bounded"]) == 0
    assert "type:     bounded (chosen with --scene-type)" in capsys.readouterr().out
    assert main([str(tmp_path), "--inspect", "--scene-type", "forward"]) == 2
