"""Hostile scene files found by issue 28: PLY point clouds (hand-made cases, a seeded mutation corpus
and paths out of the scene), nerfstudio split lists, LLFF arrays and aabb_scale. Each is an
InputError naming the file, which nerf-train --inspect prints as one line with exit status 2."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import nerf.data.formats.images as images
from nerf.commands.train import main
from nerf.data.formats.pointcloud import read_ply_points
from nerf.data.formats.registry import load_scene
from nerf.errors import InputError
from tests.support.scenes import blender_scene, llff_scene, transforms_scene

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
