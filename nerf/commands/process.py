"""`nerf-process INPUT OUT`: recover the cameras of a video or a folder of photos (pycolmap)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nerf.commands.cli import command_parser
from nerf.errors import InputError

PROG = "nerf-process"


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        prog=PROG,
        description="Turn a video (mp4, mov, mkv, webm) or a folder of photos (JPG, PNG) into a scene "
                    "with camera poses: images, transforms.json (nerfstudio layout), sparse_pc.ply "
                    "and the COLMAP model.")
    p.add_argument("input", metavar="INPUT", help="video file or folder of photos")
    p.add_argument("out", metavar="OUT", help="scene folder to create")
    p.add_argument("--frames", type=int, default=150, metavar="N",
                   help="video: pick N frames spread over the video, each the sharpest of its "
                        "neighbourhood (default 150)")
    p.add_argument("--matching", choices=("auto", "sequential", "exhaustive"), default="auto",
                   help="which image pairs to match: sequential (neighbours in order; videos), "
                        "exhaustive (every pair; photo sets); default: auto")
    p.add_argument("--camera-model", choices=("OPENCV", "SIMPLE_RADIAL"), default="OPENCV",
                   help="lens model COLMAP fits (default OPENCV: two focals, k1 k2 p1 p2)")
    p.add_argument("--max-size", type=int, default=480, metavar="PX",
                   help="find features on copies at most PX pixels on a side (default 480, a quarter of 1080p); "
                        "poses and images stay at full resolution")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nerf.process.pipeline import ProcessOptions, process
    from nerf.runtime.progress import StageBar
    if args.frames < 3:
        return _fail(InputError("--frames", f"must be at least 3, got {args.frames}"))
    if args.max_size < 64:
        return _fail(InputError("--max-size", f"must be at least 64 pixels, got {args.max_size}"))
    options = ProcessOptions(frames=args.frames, matching=args.matching, camera_model=args.camera_model,
                             max_image_size=args.max_size, overwrite=args.overwrite)
    try:
        result = process(Path(args.input), Path(args.out), options, report=StageBar())
    except InputError as exc:
        return _fail(exc)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    total = sum(result.seconds.values())
    print(f"posed {result.n_posed} of {result.n_frames} frames, mean reprojection error "
          f"{result.mean_reprojection_error:.2f} px, {result.n_points} points, {total:.0f} s")
    print(f"train:  nerf-train {result.out}\nview:   nerf-viewer {result.out}")
    return 0


def _fail(exc: InputError) -> int:
    print(f"{PROG}: error: {exc}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
