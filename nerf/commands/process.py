"""`nerf-process INPUT OUT`: recover the cameras of a video or a folder of photos (pycolmap)."""
from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from nerf.commands.cli import command_parser, fail, guarded_main, number
from nerf.errors import InputError
from nerf.runtime.signals import StopSignals, exit_soon

PROG = "nerf-process"
MAX_FRAMES = 5000  # exhaustive matching of more is days of work; sequential matching of more, hours
MAX_SIZE = 16384  # pixels on a side: SIFT on larger copies only runs out of memory


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        prog=PROG,
        description="Turn a video (mp4, mov, mkv, webm) or a folder of photos (JPG, PNG) into a scene "
                    "with camera poses: images, transforms.json (nerfstudio layout), sparse_pc.ply, "
                    "the COLMAP model and preview.png (the cameras and points, from above and the side).")
    p.add_argument("input", metavar="INPUT", help="video file or folder of photos")
    p.add_argument("out", metavar="OUT", help="scene folder to create")
    p.add_argument("--frames", type=number(int, low=3, high=MAX_FRAMES), default=150, metavar="N",
                   help="video: pick N frames spread over the video, each the sharpest of its "
                        "neighbourhood (default 150)")
    p.add_argument("--matching", choices=("auto", "sequential", "exhaustive"), default="auto",
                   help="which image pairs to match: sequential (neighbours in order; videos), "
                        "exhaustive (every pair; photo sets); default: auto")
    p.add_argument("--camera-model", choices=("OPENCV", "SIMPLE_RADIAL"), default="OPENCV",
                   help="lens model COLMAP fits (default OPENCV: two focals, k1 k2 p1 p2)")
    p.add_argument("--max-size", type=number(int, low=64, high=MAX_SIZE), default=480, metavar="PX",
                   help="find features on copies at most PX pixels on a side (default 480, a quarter of 1080p); "
                        "poses and images stay at full resolution")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with StopSignals() as stop:
        code = guarded_main(PROG, lambda: _process(args, stop))
    exit_soon()
    return code


def _process(args, stop: StopSignals) -> int:
    from nerf.process.pipeline import ProcessOptions, process
    from nerf.report.camera_plot import PREVIEW_FILE
    from nerf.runtime.progress import StageBar
    options = ProcessOptions(frames=args.frames, matching=args.matching, camera_model=args.camera_model,
                             max_image_size=args.max_size, overwrite=args.overwrite)
    try:
        # SIGTERM as Ctrl-C: the COLMAP job is cancelled and the hidden work folder removed
        with stop.immediate():
            result = process(Path(args.input), Path(args.out), options, report=StageBar())
    except InputError as exc:
        return fail(PROG, str(exc))
    except KeyboardInterrupt as exc:
        print(f"{PROG}: interrupted; {args.out} was not written", file=sys.stderr)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    total = sum(result.seconds.values())
    print(f"posed {result.n_posed} of {result.n_frames} frames, mean reprojection error "
          f"{result.mean_reprojection_error:.2f} px, {result.n_points} points, {total:.0f} s")
    print(f"cameras: {result.out / PREVIEW_FILE}")
    print(f"train:  nerf-train {result.out}\nview:   nerf-viewer {result.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
