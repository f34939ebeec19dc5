"""The Export panel's job: the model's mesh or point cloud written into the run folder by
nerf.export.trained (what nerf-export writes), run on the training worker with progress and abort.
No window here (tests/viewer/test_export_job.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nerf.data.crop import CropBox
from nerf.errors import InputError
from nerf.export.mesh import DEFAULT_THRESHOLD
from nerf.export.mesh_files import MESH_SUFFIXES
from nerf.export.trained import mesh_file, points_file
from nerf.files import next_numbered
from nerf.runtime.mailbox import Mailbox

JOB_NAME = "export"
KINDS = ("mesh", "point cloud")


@dataclass(frozen=True)
class ExportOptions:
    kind: str = "mesh"  # one of KINDS
    resolution: int = 256  # mesh: marching-cubes lattice points along the box's longest side
    threshold: float = DEFAULT_THRESHOLD  # mesh: density of the surface
    faces: int = 0  # mesh: simplify to about this many faces (0: keep them all)
    suffix: str = ".ply"  # mesh: one of MESH_SUFFIXES (a point cloud is always PLY)
    points: int = 100_000  # point cloud: number of points


@dataclass(frozen=True)
class ExportDone:
    """What a finished export left: the file (None: nothing written) and a line saying what happened."""

    path: Path | None
    line: str


def export_path(run_dir: Path, options: ExportOptions) -> Path:
    """mesh-NNN.<suffix> or points-NNN.ply in the run folder, numbered past the ones there."""
    if options.kind == "mesh":
        assert options.suffix in MESH_SUFFIXES, options.suffix
        return next_numbered(run_dir, "mesh-", options.suffix)
    return next_numbered(run_dir, "points-", ".ply")


def export_job(options: ExportOptions, out: Path, crop: CropBox, progress: Mailbox | None = None):
    """Worker job fn(trainer, should_abort) -> ExportDone, or None when aborted (nothing written).
    `progress` (a Mailbox) gets the fraction done. A model with nothing to export inside `crop` is
    an ExportDone without a file, its line saying why (not a failure of the app)."""

    def job(trainer, should_abort):
        report = None if progress is None else progress.put
        try:
            if options.kind == "mesh":
                summary = mesh_file(trainer, crop, out, resolution=options.resolution, threshold=options.threshold,
                                    faces=options.faces or None, source=options.kind,
                                    should_abort=should_abort, progress=report)
            else:
                summary = points_file(trainer, crop, out, n_points=options.points, source=options.kind,
                                      should_abort=should_abort, progress=report)
        except InputError as exc:
            return ExportDone(None, f"{options.kind}: {exc.problem}")
        if summary is None:
            return None
        return ExportDone(out, f"{options.kind}: {out.name} ({summary})")

    return job
