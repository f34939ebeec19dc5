"""Hostile scene files found by issue 28: PLY point clouds (hand-made cases, a seeded mutation corpus
and paths out of the scene), nerfstudio split lists, LLFF arrays, aabb_scale, COLMAP text models
(hand-made cases and a seeded mutation corpus) and scenes larger than free memory. Each is an
InputError naming the file, which nerf-train --inspect prints as one line with exit status 2."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch

import nerf.data.formats.images as images
from nerf.commands.train import main
from nerf.data.formats.colmap import check_binary_model
from nerf.data.formats.pointcloud import read_ply_points
from nerf.data.formats.registry import load_scene
from nerf.errors import InputError
from tests.support.scenes import blender_scene, colmap_text_scene, llff_scene, transforms_scene

XYZ = b"property float x\nproperty float y\nproperty float z\n"
BAD_PLY = {
    "property without a name": b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float\nend_header\n1\n",
    "empty property line": b"ply\nformat ascii 1.0\nelement vertex 1\nproperty\n" + XYZ + b"end_header\n1 2 3\n",
    "count not a number": b"ply\nformat ascii 1.0\nelement vertex abc\n" + XYZ + b"end_header\n1 2 3\n",
    "negative count": b"ply\nformat binary_little_endian 1.0\nelement vertex -1\n" + XYZ + b"end_header\n",
    "no newline after end_header": b"ply\nformat ascii 1.0\nelement vertex 1\n" + XYZ + b"end_header",
    "short rows": b"ply\nformat ascii 1.0\nelement vertex 2\n" + XYZ + b"end_header\n1 2\n3 4\n",
    "fewer rows": b"ply\nformat ascii 1.0\nelement vertex 5\n" + XYZ + b"end_header\n1 2 3\n",
    "duplicate names": b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\n" + XYZ
                       + b"end_header\n" + bytes(16),
    "element line too long": b"ply\nformat ascii 1.0\nelement vertex 1 2\n" + XYZ + b"end_header\n1 2 3\n",
}
INSERTS = [b" ", b"\n", b"-", b"9", b"e999", b"nan ", b"property float w\n", b"element face 3\n"]
GOOD_ASCII = b"ply\nformat ascii 1.0\nelement vertex 3\n" + XYZ + b"end_header\n1 2 3\n4 5 6\n-1 0.5 2\n"


def _inspect_fails_in_one_line(root, capsys, needle: str) -> None:
    assert main([str(root), "--inspect"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nerf-train: error: ") and needle in lines[0], lines


@pytest.mark.parametrize("case", list(BAD_PLY))
def test_a_broken_ply_header_or_body_is_one_input_error(tmp_path, case):
    path = tmp_path / "sparse_pc.ply"
    path.write_bytes(BAD_PLY[case])
    with pytest.raises(InputError) as caught:
        read_ply_points(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


def test_a_good_ascii_ply_still_reads(tmp_path):
    (tmp_path / "p.ply").write_bytes(GOOD_ASCII)
    np.testing.assert_array_equal(read_ply_points(tmp_path / "p.ply"), [[1, 2, 3], [4, 5, 6], [-1, 0.5, 2]])


def test_mutated_plys_read_or_are_refused(tmp_path):
    """300 seeded byte flips, insertions and truncations of an ASCII and a binary cloud: each one
    reads (finite points) or is an InputError; nothing else escapes."""
    binary = np.zeros(4, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4")])
    binary["x"] = [1, 2, 3, 4]
    bases = [GOOD_ASCII, b"ply\nformat binary_little_endian 1.0\nelement vertex 4\n" + XYZ + b"end_header\n"
             + binary.tobytes()]
    rng, path, outcomes = np.random.default_rng(28), tmp_path / "m.ply", {"read": 0, "refused": 0}
    for i in range(300):
        data = bytearray(bases[i % 2])
        at = int(rng.integers(len(data)))
        kind = i % 3
        if kind == 0:
            data[at] = int(rng.integers(256))
        elif kind == 1:
            data[at:at] = INSERTS[int(rng.integers(len(INSERTS)))]
        else:
            del data[at:]
        path.write_bytes(bytes(data))
        try:
            points = read_ply_points(path)
        except InputError:
            outcomes["refused"] += 1
        else:
            assert points.ndim == 2 and points.shape[1] == 3 and np.isfinite(points).all()
            outcomes["read"] += 1
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes  # the corpus reaches both outcomes


@pytest.mark.parametrize("target", ["/dev/zero", "../outside.ply", "fifo.ply"])
def test_ply_file_path_outside_the_scene_or_not_a_file_is_refused(tmp_path, target, capsys):
    root = tmp_path / "scene"
    (tmp_path / "outside.ply").write_bytes(GOOD_ASCII)
    transforms_scene(root, ply_file_path=target)
    if target == "fifo.ply":
        os.mkfifo(root / "fifo.ply")  # opening one for reading would wait for a writer for ever
    with pytest.raises(InputError, match="leads out of the scene folder|not a regular file"):
        load_scene(root)
    _inspect_fails_in_one_line(root, capsys, "ply")


@pytest.mark.parametrize("where", ["image", "mask"])
@pytest.mark.parametrize("target", ["fifo", "/dev/zero", "folder"])
def test_an_image_or_mask_that_is_not_a_regular_file_is_refused(tmp_path, where, target, capsys):
    # the sizes are in transforms.json, so nothing looks at the file before it is decoded
    root = tmp_path / "scene"
    transforms_scene(root, per_frame={"mask_path": "images/0000.png"} if where == "mask" else None)
    victim = root / "images" / ("0000.png" if where == "image" else "mask.png")
    if where == "mask":
        meta = json.loads((root / "transforms.json").read_text())
        meta["frames"][3]["mask_path"] = "images/mask.png" if target != "/dev/zero" else target
        (root / "transforms.json").write_text(json.dumps(meta))
    elif target == "/dev/zero":
        meta = json.loads((root / "transforms.json").read_text())
        meta["frames"][0]["file_path"] = target
        (root / "transforms.json").write_text(json.dumps(meta))
    if target == "fifo":
        victim.unlink(missing_ok=True)
        os.mkfifo(victim)  # opening it for reading would wait for a writer for ever
    elif target == "folder":
        victim.unlink(missing_ok=True)
        victim.mkdir()
    with pytest.raises(InputError, match="not a regular file|is a folder"):
        load_scene(root)


@pytest.mark.parametrize("listed", [5, [["a"]], "images/0000.png", [1, 2], {"a": 1}])
def test_nerfstudio_split_lists_of_the_wrong_type_are_refused(tmp_path, listed, capsys):
    transforms_scene(tmp_path, train_filenames=listed)
    with pytest.raises(InputError, match="'train_filenames' must be a list of file paths"):
        load_scene(tmp_path)
    _inspect_fails_in_one_line(tmp_path, capsys, "transforms.json")


@pytest.mark.parametrize("aabb", [1e300, 129, 0.5])
def test_aabb_scale_outside_instant_ngps_range_is_refused(tmp_path, aabb, capsys):
    transforms_scene(tmp_path, aabb_scale=aabb)
    with pytest.raises(InputError, match="aabb_scale"):
        load_scene(tmp_path)
    _inspect_fails_in_one_line(tmp_path, capsys, "aabb_scale")


def test_an_npz_under_the_npy_name_is_refused(tmp_path, capsys):
    root = llff_scene(tmp_path)
    arr = np.load(root / "poses_bounds.npy")
    with open(root / "poses_bounds.npy", "wb") as handle:
        np.savez(handle, poses=arr)
    with pytest.raises(InputError, match="npz archive"):
        load_scene(root)
    _inspect_fails_in_one_line(root, capsys, "poses_bounds.npy")


@pytest.mark.parametrize("column,value", [(14, -40.0), (14, 0.0), (4, 0.0), (9, 0.0)])
def test_llff_focal_and_image_size_must_be_positive(tmp_path, column, value, capsys):
    root = llff_scene(tmp_path)
    arr = np.load(root / "poses_bounds.npy")
    arr[:, column] = value  # hwf is the 5th column of the 3x5: rows 4 (height), 9 (width), 14 (focal)
    np.save(root / "poses_bounds.npy", arr)
    with pytest.raises(InputError, match="must be positive"):
        load_scene(root)
    _inspect_fails_in_one_line(root, capsys, "poses_bounds.npy")


def test_a_scene_larger_than_free_memory_is_refused_before_decoding(tmp_path, monkeypatch, capsys):
    root = blender_scene(tmp_path)  # 4 train images of 8x6 RGBA: 3072 bytes as float32
    decoded = []
    monkeypatch.setattr(images, "read_image", lambda *a, **k: decoded.append(a) or pytest.fail("decoded"))
    monkeypatch.setattr(images, "available_memory", lambda: 1000)  # 3072 / 2**2 = 768 fits: downscale 2x
    with pytest.raises(InputError, match=r"decoding the \d+ 'train' images of 8x6 takes .* only 0.0 GiB of memory "
                                         r"is free; a 2x larger --downscale would fit") as caught:
        load_scene(root)
    assert caught.value.path == str(root / "train") and not decoded
    _inspect_fails_in_one_line(root, capsys, "of memory is free")
    monkeypatch.undo()  # the machine's real free memory: the same scene loads
    assert len(load_scene(root).split("train")) == 4


def test_a_colmap_text_model_loads(tmp_path):
    scene = load_scene(colmap_text_scene(tmp_path))
    assert scene.format == "colmap" and len(scene.split("train")) + len(scene.split("test")) == 10


@pytest.mark.parametrize("camera, problem", [("1 PINHOLE 16 12 -10 10 8 6", "focal length -10 x 10"),
                                             ("1 PINHOLE 16 12 0 10 8 6", "focal length 0 x 10"),
                                             ("1 PINHOLE 16 12 1e308 10 8 6", "intrinsics are not finite numbers")])
def test_colmap_intrinsics_are_checked_as_transforms_ones_are(tmp_path, camera, problem, capsys):
    root = colmap_text_scene(tmp_path)
    (root / "sparse" / "0" / "cameras.txt").write_text(camera + "\n")  # pycolmap accepts each of these
    with pytest.raises(InputError, match=problem):
        load_scene(root)
    _inspect_fails_in_one_line(root, capsys, "sparse/0: image img00.png")


def test_a_colmap_pose_far_beyond_any_capture_is_refused(tmp_path):
    root = colmap_text_scene(tmp_path)
    images = root / "sparse" / "0" / "images.txt"
    first, rest = images.read_text().split("\n", 1)
    words = first.split()
    words[5] = "1e300"  # tx: the loader's normalisation overflowed to inf and a division by zero
    images.write_text(" ".join(words) + "\n" + rest)
    with pytest.raises(InputError, match="pose has values beyond"):
        load_scene(root)


def test_mutated_colmap_text_models_load_sanely_or_are_refused(tmp_path):
    """90 seeded mutations of the three text files (numbers replaced by nan, inf, 0, huge or text;
    tokens dropped or inserted; files cut short): each loads into finite cameras with positive
    focal lengths or is one InputError. pycolmap raised IndexError for an image naming a missing
    rig, which escaped as a traceback."""
    base = colmap_text_scene(tmp_path / "base")
    rng = np.random.default_rng(5)
    specials = ["nan", "inf", "-1", "0", "1e308", "abc", "", "99999999999999999999", "-5", "1e-320"]
    names = ["cameras.txt", "images.txt", "points3D.txt"]
    outcomes = {"loaded": 0, "refused": 0}
    for i in range(90):
        work = tmp_path / f"m{i}"
        shutil.copytree(base, work)
        file = work / "sparse" / "0" / names[i % 3]
        words = file.read_text().split(" ")
        at, how = int(rng.integers(len(words))), i % 4
        if how == 0:
            words[at] = specials[int(rng.integers(len(specials)))]
        elif how == 1:
            del words[at]
        elif how == 2:
            words.insert(at, specials[int(rng.integers(len(specials)))])
        else:
            text = " ".join(words)
            words = [text[:int(rng.integers(len(text)))]]
        file.write_text(" ".join(words))
        try:
            scene = load_scene(work)
        except InputError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
        else:
            for split in scene.splits.values():
                cams = split.cameras
                assert torch.isfinite(cams.c2w).all() and (cams.fx > 0).all() and (cams.fy > 0).all(), i
            assert np.isfinite(scene.bound) and scene.bound > 0
            outcomes["loaded"] += 1
        shutil.rmtree(work)
    assert outcomes["loaded"] > 0 and outcomes["refused"] > 0, outcomes


def _colmap_binary_scene(root):
    """colmap_text_scene written out as COLMAP's binary model (cameras, images, points3D, rigs, frames)."""
    import pycolmap
    colmap_text_scene(root)
    model = root / "sparse" / "0"
    pycolmap.Reconstruction(str(model)).write_binary(str(model))
    for text in model.glob("*.txt"):
        text.unlink()
    return root


def test_a_colmap_binary_model_loads(tmp_path):
    scene = load_scene(_colmap_binary_scene(tmp_path))
    assert sum(len(split.cameras) for split in scene.splits.values()) == 10


@pytest.mark.parametrize("name", ["images.bin", "points3D.bin", "frames.bin", "rigs.bin"])
def test_a_colmap_binary_file_cut_anywhere_is_refused_before_pycolmap_reads_it(tmp_path, name, capsys):
    """A count read past the end of a file cut short kept pycolmap's reader looping for a minute or
    more (most cuts of frames.bin, images.bin and points3D.bin, even an empty points3D.bin): each
    cut and a byte too many are now one InputError naming the file, before pycolmap starts."""
    root = _colmap_binary_scene(tmp_path / "scene")
    file = root / "sparse" / "0" / name
    data = file.read_bytes()
    for cut in [*range(len(data)), "extra"]:
        file.write_bytes(data + b"\0" if cut == "extra" else data[:cut])
        with pytest.raises(InputError, match=f"{name}: the COLMAP model file (is cut short|goes on)"):
            check_binary_model(root / "sparse" / "0")
    file.write_bytes(data[:len(data) // 2])
    _inspect_fails_in_one_line(root, capsys, name)
