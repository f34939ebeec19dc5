"""`nerf-export mesh|pointcloud CHECKPOINT --out FILE`: a coloured mesh or point cloud of a trained NeRF.

    nerf-export mesh run/checkpoint.pt --out mesh.ply --resolution 256 --faces 200000
    nerf-export pointcloud run/checkpoint.pt --out points.ply --points 200000

Both are written in the scene file's own coordinates (p_file = p * scale + offset), like the
screenshots' transforms.json and the camera paths, so they line up with the input cameras.
"""
from __future__ import annotations

import argparse
import sys


from nerf.commands.cli import add_device_argument, command_parser, fail, guarded_main, number
from nerf.train.run import load_trained
from nerf.device import pick_device
from nerf.data.crop import CropBox
from nerf.errors import InputError
from nerf.export.mesh import DEFAULT_THRESHOLD
from nerf.export.trained import mesh_file, points_file
from nerf.runtime.signals import StopSignals, exit_soon

PROG = "nerf-export"
# Upper limits that keep a typo from allocating until the machine runs out of memory: a 2048^3
# lattice is 8.6 G density queries, 10^8 points a 2.4 GB PLY.
MAX_RESOLUTION = 2048
MAX_POINTS = 100_000_000


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(prog=PROG, description="Export a mesh or a point cloud from a trained NeRF.")
    p.add_argument("kind", choices=("mesh", "pointcloud"))
    p.add_argument("checkpoint", help="checkpoint.pt written by nerf-train or the viewer")
    p.add_argument("--out", required=True, help="mesh: .ply, .obj or .glb; point cloud: .ply")
    p.add_argument("--resolution", type=number(int, low=8, high=MAX_RESOLUTION), default=256,
                   help="mesh: marching-cubes lattice points along the crop box's longest side (default 256)")
    p.add_argument("--threshold", type=number(float, low=0, low_open=True), default=None,
                   help=f"mesh: density of the surface, per normalised unit (default {DEFAULT_THRESHOLD:g})")
    p.add_argument("--faces", type=number(int, low=4), default=None, help="mesh: simplify to about this many faces")
    p.add_argument("--points", type=number(int, low=1, high=MAX_POINTS), default=100_000,
                   help="point cloud: number of points (default 100000)")
    p.add_argument("--crop", metavar="X0,Y0,Z0,X1,Y1,Z1",
                   help="export only this box (normalised world, as the viewer's sliders; default the scene cube)")
    p.add_argument("--scene", default=None, help="scene folder, if it moved since training")
    add_device_argument(p)
    return p


def export_mesh(args, trainer, crop: CropBox) -> str:
    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if args.threshold is None:
        print(f"{PROG}: density threshold {threshold:g} (the default; --threshold to change)", file=sys.stderr)
    return mesh_file(trainer, crop, args.out, resolution=args.resolution, threshold=threshold, faces=args.faces,
                     source=args.checkpoint, threshold_name="--threshold")


def export_points(args, trainer, crop: CropBox) -> str:
    return points_file(trainer, crop, args.out, n_points=args.points, source=args.checkpoint)


def crop_box(text: str | None, bound: float) -> CropBox:
    """The scene cube, or the --crop box within it; InputError when the box misses the scene."""
    cube = CropBox.cube(bound)
    if not text:
        return cube
    crop = CropBox.parse(text).intersect(cube)
    if not (crop.size > 0).all():  # an empty box has no lattice: marching cubes would divide by zero
        raise InputError("--crop", f"the box '{text}' lies outside the scene, which spans "
                                   f"-{bound:g}..{bound:g} on each axis (normalised world)")
    return crop


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM as Ctrl-C: the output is written under a temporary name, which the interruption removes
    with StopSignals() as stop:
        code = guarded_main(PROG, lambda: _export(args, stop))
    exit_soon()
    return code


def _export(args, stop: StopSignals) -> int:
    from nerf.files import check_writable
    try:
        with stop.immediate():
            check_writable(args.out)
            trainer = load_trained(args.checkpoint, pick_device(args.device), args.scene)
            if trainer.scene.ndc:
                raise InputError(trainer.scene.root, "forward-facing (LLFF) scenes live in NDC space; no export")
            crop = crop_box(args.crop, trainer.scene.bound)
            summary = (export_mesh if args.kind == "mesh" else export_points)(args, trainer, crop)
    except InputError as e:
        return fail(PROG, str(e))
    print(f"{PROG}: {summary} -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
