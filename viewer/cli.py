"""`nerf-viewer`'s command line: parse it, open the session, run the app.

It takes nerf-train's training flags (nerf.commands.train_flags): the same run description, opened
the same way, so a viewer session reproduces a headless run. Bad input (a missing scene, a broken
checkpoint, a bad flag value, an --out that holds another run) is one line and exit status 2, before
any window opens. SIGINT (Ctrl-C) and SIGTERM stop a loading scene at once, and a running app after
it saved its training: exit status 130 / 143.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nerf.commands.cli import command_parser, fail, guarded_main, package_version
from nerf.commands.train_flags import add_training_arguments, run_spec
from nerf.runtime.signals import StopSignals, Stopped, exit_soon
from nerf.errors import InputError
from nerf.remote.access import TOKEN_ENV
from nerf.runtime.allocator import tune_malloc
from viewer.app import ViewerApp
from viewer.opengl import tune_software_gl
from viewer.processing import process_if_needed
from viewer.remote_session import open_remote
from viewer.session import open_session

PROG = "nerf-viewer"


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(prog=PROG, description="Train a NeRF and fly around it live.")
    p.add_argument("source", nargs="?", default=None, metavar="SCENE|CHECKPOINT",
                   help="scene folder, checkpoint (.pt), video or folder of photos (processed "
                        "first, see nerf-process); default: the embedded scene")
    add_training_arguments(p)
    remote = p.add_argument_group("remote (a run trained by nerf-train --serve on another machine)")
    remote.add_argument("--connect", default=None, metavar="HOST:PORT",
                        help="drive the run served there instead of training here (through an SSH tunnel: "
                             "ssh -L PORT:127.0.0.1:PORT server, then --connect 127.0.0.1:PORT); screenshots, "
                             "recordings and camera paths are written here, in --out")
    remote.add_argument("--token", default=None,
                        help=f"the server's token (default: ${TOKEN_ENV})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = guarded_main(PROG, lambda: _run(args))
    if argv is None:
        exit_soon()
    return code


def _run(args: argparse.Namespace) -> int:
    tune_software_gl()
    tune_malloc()  # keep freed step/render temporaries in the heap (program start only)
    if args.connect is None and args.token is not None:
        return fail(PROG, "--token: only with --connect")
    with StopSignals() as stop:
        try:
            with stop.immediate():
                if args.connect is not None:
                    problem = _not_with_connect(args)
                    if problem:
                        return fail(PROG, problem)
                    session = open_remote(args.connect, args.token, args.out, package_version())
                else:
                    args = process_if_needed(args)  # a video or photos: recover the cameras first
                    if args is None:
                        return 0
                    source = Path(args.source) if args.source else None
                    checkpoint = args.source if source is not None and source.is_file() else None
                    spec = run_spec(args, None if checkpoint else args.source, resume=checkpoint)
                    session = open_session(spec, args.threads)
        except InputError as exc:
            return fail(PROG, str(exc))
        except Stopped:
            print(f"{PROG}: stopped by {stop.name} while loading; nothing written", file=sys.stderr)
            return stop.exit_code
        return ViewerApp(session, stop).run()


RUN_FLAGS = ("downscale", "llff_factor", "scene_type", "model", "steps", "minutes", "resume", "seed", "batch_rays",
             "distortion", "threads")  # what describes a run: with --connect the server's run decides them


def _not_with_connect(args: argparse.Namespace) -> str | None:
    """The problem with a --connect command line that also describes a run of its own, or None."""
    if args.source is not None:
        return f"--connect: the server's run is shown; drop '{args.source}'"
    given = [name for name in RUN_FLAGS if getattr(args, name, None) is not None]
    if given:
        flag = "--" + given[0].replace("_", "-")
        return f"{flag}: with --connect the server's run decides it (give it to nerf-train --serve)"
    return None


if __name__ == "__main__":
    sys.exit(main())
