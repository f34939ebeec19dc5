"""The Export panel's job on an analytic sphere model: files numbered into the run folder, progress,
abort, and nothing to export reported as a line instead of a failure."""
import numpy as np

from nerf.data.crop import CropBox
from nerf.data.formats.pointcloud import read_ply_points
from nerf.runtime.mailbox import Mailbox
from tests.support.sphere_model import sphere_trainer
from viewer.export_job import ExportOptions, export_job, export_path


def test_files_are_numbered_past_those_in_the_run_folder(tmp_path):
    (tmp_path / "mesh-004.obj").touch()
    assert export_path(tmp_path, ExportOptions(suffix=".obj")).name == "mesh-005.obj"
    assert export_path(tmp_path, ExportOptions(kind="point cloud", suffix=".obj")).name == "points-001.ply"


def test_a_mesh_and_a_point_cloud_are_written_with_progress(tmp_path):
    box = Mailbox()
    out = tmp_path / "mesh-001.glb"
    done = export_job(ExportOptions(resolution=24, threshold=500.0, faces=200, suffix=".glb"), out,
                      CropBox.cube(1.0), box)(sphere_trainer(), lambda: False)
    assert done.path == out and out.stat().st_size > 0
    assert done.line.startswith("mesh: mesh-001.glb (") and "faces)" in done.line
    assert box.take() == 1.0
    out = tmp_path / "points-001.ply"
    done = export_job(ExportOptions(kind="point cloud", points=300), out, CropBox.cube(1.0))(
        sphere_trainer(), lambda: False)
    assert done.path == out and len(read_ply_points(out)) > 250
    assert np.isfinite(read_ply_points(out)).all()


def test_an_abort_is_none_and_nothing_to_export_is_a_line(tmp_path):
    out = tmp_path / "mesh-001.ply"
    assert export_job(ExportOptions(resolution=64), out, CropBox.cube(1.0))(sphere_trainer(), lambda: True) is None
    done = export_job(ExportOptions(resolution=16, threshold=500.0), out, CropBox.cube(1.0))(
        sphere_trainer(radius=0.01), lambda: False)
    assert done.path is None and done.line.startswith("mesh: no surface at density 500 inside the crop box")
    assert list(tmp_path.iterdir()) == []
