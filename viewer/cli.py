"""`nerf-viewer`'s command line: parse it, open the session, run the app.

Bad input (a missing scene, a broken checkpoint, a bad flag value) is one line and exit status 2,
before any window opens. SIGINT (Ctrl-C) and SIGTERM stop a loading scene at once, and a running
app after it saved its training (viewer.autosave): exit status 130 / 143.
"""
from __future__ import annotations

import argparse
import sys

from nerf.commands.cli import command_parser
from nerf.runtime.signals import StopSignals, Stopped, exit_soon
from nerf.errors import InputError
from nerf.runtime.allocator import tune_malloc
from viewer.app import ViewerApp
from viewer.autosave import DEFAULT_MINUTES
from viewer.opengl import tune_software_gl
from viewer.processing import process_if_needed
from viewer.session import open_session


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(prog="nerf-viewer", description="Train a NeRF and fly around it live.")
    p.add_argument("source", nargs="?", default=None, metavar="SCENE|CHECKPOINT",
                   help="scene folder, checkpoint (.pt), video or folder of photos (processed "
                        "first, see nerf-process); default: the embedded scene")
    p.add_argument("--model", choices=("ngp", "nerf"), default=None, help="ngp (default) or nerf")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--downscale", type=int, default=1, metavar="K", help="downscale images by K at load")
    p.add_argument("--scene-type", choices=("bounded", "unbounded", "forward"), default=None,
                   help="space to train in (default: chosen from the files, see nerf-train --inspect)")
    p.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/<scene>-<time>)")
    p.add_argument("--autosave", type=float, default=DEFAULT_MINUTES, metavar="MIN",
                   help=f"save checkpoint.pt in the run folder every MIN minutes of training (default "
                        f"{DEFAULT_MINUTES:g}; 0: only when the app closes)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_software_gl()
    tune_malloc()  # keep freed step/render temporaries in the heap (program start only)
    with StopSignals() as stop:
        try:
            with stop.immediate():
                args = process_if_needed(args)  # a video or photos: recover the cameras first
                if args is None:
                    return 0
                session = open_session(args)
        except InputError as exc:
            print(f"nerf-viewer: error: {exc.path}: {exc.problem}", file=sys.stderr)
            return 2
        except Stopped:
            print(f"nerf-viewer: stopped by {stop.name} while loading; nothing written", file=sys.stderr)
            return stop.exit_code
        code = ViewerApp(session, stop, autosave_minutes=args.autosave).run()
    if argv is None:
        exit_soon()
    return code


if __name__ == "__main__":
    sys.exit(main())
