"""`nerf-plot RUN [RUN ...]`: the training curves of one or several runs in one picture.

Each RUN is a run folder (nerf-train's --out, or the viewer's session folder) or its log.jsonl. The
runs overlay one colour each: loss and train/test PSNR against steps and against training time
(nerf.report.curves). nerf-train draws the same picture of its own run as curves.png.
"""
from __future__ import annotations

import sys
from pathlib import Path

from nerf.commands.cli import command_parser, guarded_main

PROG = "nerf-plot"


def build_parser():
    p = command_parser(prog=PROG, description="Overlay the training curves (loss, train and test PSNR against "
                                              "steps and training time) of one or several runs.")
    p.add_argument("runs", nargs="+", metavar="RUN", help="a run folder, or the log.jsonl in one")
    p.add_argument("--out", default="curves.png", metavar="FILE", help="the PNG to write (default: curves.png)")
    p.add_argument("--labels", nargs="+", default=None, metavar="NAME",
                   help="one legend label per run (default: each run folder's name)")
    return p


def legend_names(paths: list[Path]) -> list[str]:
    """Each run's folder name; where two runs share a name, their paths as given tell them apart."""
    folders = [p.parent if p.name.endswith(".jsonl") else p for p in paths]
    names = [f.resolve().name for f in folders]
    return [str(f) if names.count(n) > 1 else n for f, n in zip(folders, names, strict=True)]


def run(args) -> int:
    from nerf.errors import InputError
    from nerf.files import check_writable
    from nerf.report.curves import read_run_log, write_curves

    paths = [Path(r) for r in args.runs]
    if args.labels is not None and len(args.labels) != len(paths):
        raise InputError("--labels", f"{len(args.labels)} labels for {len(paths)} runs")
    check_writable(args.out)
    names = args.labels or legend_names(paths)
    runs = [read_run_log(p, name) for p, name in zip(paths, names, strict=True)]
    out = write_curves(runs, args.out)
    for r in runs:
        last = f"train PSNR {r.psnr[-1]:.2f} dB" if len(r.psnr) else "no training records"
        test = f", test PSNR {r.test_psnr[-1]:.2f} dB" if len(r.test_psnr) else ""
        step = int(max(r.steps.max(initial=0), r.eval_steps.max(initial=0)))
        print(f"{PROG}: {r.name}: step {step}, {last}{test}", file=sys.stderr)
    print(f"{PROG}: wrote {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
