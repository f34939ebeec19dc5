"""python -m nerf.commands.generate: write the analytic scenes of nerf.data.generated to disk.

    python -m nerf.commands.generate synthetic --out assets/default_scene          # the shipped default scene
    python -m nerf.commands.generate synthetic --toy-image assets/toy_default.png  # the toy lab's default image
    python -m nerf.commands.generate unbounded --out /tmp/outdoor --n-frames 96 --width 160 --height 120
    python -m nerf.commands.generate walls360 --out /tmp/walls    # and ring360, arcs360, backdrop, room

The captures (every kind but synthetic) are listed in nerf.data.generated.registry with their sizes.

The generators stay in the data layer; this is only their command line, so it errs like every
other command (one line, exit 2) and shares its number checks.
"""
from __future__ import annotations

import sys

from nerf.commands.cli import command_parser, guarded_main, number
from nerf.data.generated.registry import GENERATED
from nerf.data.generated.synthetic import write_synthetic_scene, write_toy_image
from nerf.errors import InputError

PROG = "python -m nerf.commands.generate"
MAX_SIDE = 4096  # pixels; the generators ray-cast in numpy, so a larger image is a typo, not a wish
MAX_VIEWS = 10_000


def build_parser():
    p = command_parser(PROG, "Write the analytic scenes (nerf.data.generated) as files.")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="{" + ",".join(["synthetic", *GENERATED]) + "}")
    views, side = number(int, low=1, high=MAX_VIEWS), number(int, low=1, high=MAX_SIDE)
    samples = number(int, low=1, high=16)
    s = kinds.add_parser("synthetic", help="the default scene in the Blender format, and/or the toy image")
    s.add_argument("--out", metavar="DIR", help="write a Blender-format scene here")
    s.add_argument("--toy-image", metavar="PNG", help="write the toy lab's default image here")
    s.add_argument("--n-train", type=views, default=64)
    s.add_argument("--n-test", type=views, default=16)
    s.add_argument("--size", type=side, default=128, help="image width and height in pixels")
    s.add_argument("--supersample", type=samples, default=3, help="rays per pixel along each axis")
    s.add_argument("--seed", type=int, default=0)
    for name, gen in GENERATED.items():
        u = kinds.add_parser(name, help=gen.help)
        u.add_argument("--out", metavar="DIR", required=True, help="write the scene folder here")
        u.add_argument("--n-frames", type=views, default=gen.n_frames)
        u.add_argument("--width", type=side, default=gen.width)
        u.add_argument("--height", type=side, default=gen.height)
        u.add_argument("--supersample", type=samples, default=gen.supersample, help="rays per pixel along each axis")
        u.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.kind == "synthetic" and not args.out and not args.toy_image:
        parser.error("synthetic: give --out DIR and/or --toy-image PNG")

    def body() -> int:
        try:
            if args.kind in GENERATED:
                GENERATED[args.kind].write(args.out, args.n_frames, args.width, args.height, args.seed,
                                           args.supersample)
            if args.kind == "synthetic" and args.out:
                write_synthetic_scene(args.out, args.n_train, args.n_test, args.size, args.seed, args.supersample)
            if args.kind == "synthetic" and args.toy_image:
                write_toy_image(args.toy_image)
        except OSError as exc:  # the generators write plain files: a path that cannot be made is bad input
            raise InputError(exc.filename or args.out, f"cannot write: {exc.strerror or exc}") from None
        return 0

    return guarded_main(PROG, body)


if __name__ == "__main__":
    sys.exit(main())
