"""nerf/data/formats/pointcloud.py: PLY points through trimesh; a broken file is one InputError."""
import numpy as np
import pytest

from nerf.data.formats.pointcloud import read_ply_points, write_ply_points
from nerf.errors import InputError

XYZ = b"property float x\nproperty float y\nproperty float z\n"


def test_written_points_read_back_in_float32(tmp_path):
    pts = np.random.default_rng(1).normal(size=(30, 3)) * 100.0
    write_ply_points(tmp_path / "p.ply", pts, np.full((30, 3), 200, np.uint8))
    assert np.allclose(read_ply_points(tmp_path / "p.ply"), pts.astype(np.float32), rtol=0, atol=0)
    write_ply_points(tmp_path / "e.ply", np.zeros((0, 3)))
    assert read_ply_points(tmp_path / "e.ply").shape == (0, 3)


def test_big_endian_doubles_and_non_finite_rows(tmp_path):
    rows = np.array([[1.0, 2.0, 3.0], [np.nan, 0.0, 0.0], [4.0, 5.0, 6.0]], ">f8")
    head = b"ply\nformat binary_big_endian 1.0\nelement vertex 3\n" + XYZ.replace(b"float", b"double")
    (tmp_path / "b.ply").write_bytes(head + b"end_header\n" + rows.tobytes())
    assert read_ply_points(tmp_path / "b.ply").tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


@pytest.mark.parametrize("data, words", [
    (b"", "not a PLY file"),
    (b"solid stl\n", "not a PLY file"),
    (b"ply\nformat binary_little_endian 1.0\nelement vertex 5\n" + XYZ + b"end_header\n", "unexpected length"),
    (b"ply\nformat binary_little_endian 1.0\nelement vertex 1000000000000\n" + XYZ + b"end_header\n" + bytes(12),
     "unexpected length"),
    (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float a\nend_header\n1\n", "not a readable PLY"),
    (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty quux x\nend_header\n1\n", "not a readable PLY"),
    (b"ply\nformat ascii 1.0\nelement vertex 2\n" + XYZ + b"end_header\n1 2 3\nfoo bar baz\n", "not a readable PLY"),
    (b"ply\nformat ascii 1.0\nelement vertex 1\n", "not a readable PLY"),
    (b"ply\nformat ascii 1.0\nelement vertex many\n" + XYZ + b"end_header\n", "not a readable PLY"),
])
def test_broken_files_are_one_input_error_naming_the_file(tmp_path, data, words):
    (tmp_path / "bad.ply").write_bytes(data)
    with pytest.raises(InputError, match=f"bad.ply: .*{words}"):
        read_ply_points(tmp_path / "bad.ply")


def test_a_missing_file_and_an_unwritable_path(tmp_path):
    with pytest.raises(InputError, match="cannot read the point cloud"):
        read_ply_points(tmp_path / "none.ply")
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        write_ply_points(tmp_path / "blocker" / "p.ply", np.zeros((2, 3)))
