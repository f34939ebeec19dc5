"""`nerf-eval CHECKPOINT`: judge a trained model on its held-out views, as `ns-eval` does.

Writes one JSON file (default: eval.json beside the checkpoint; nerf.report.views describes it) with
each view's PSNR, SSIM and LPIPS under its image's name and a summary (the means, the worst view),
and prints the summary. LPIPS needs AlexNet's weights on disk (--lpips-weights FILE, or torch.hub's
cache) and the lpips package's heads; without them it is skipped with one line. Nothing is
downloaded. The numbers are those nerf-train's own evaluation wrote for the same checkpoint.
"""
from __future__ import annotations

import sys
from pathlib import Path

from nerf.commands.cli import add_device_argument, command_parser, guarded_main, number

PROG = "nerf-eval"


def build_parser():
    p = command_parser(prog=PROG, description="Score a trained NeRF on its test views: per-view PSNR, SSIM and "
                                              "LPIPS, written as JSON beside a summary.")
    p.add_argument("checkpoint", help="checkpoint.pt written by nerf-train or the viewer")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="the JSON file (default: eval.json beside the checkpoint)")
    p.add_argument("--split", choices=("test", "train"), default=None,
                   help="views to score (default: test when the scene has one, else train)")
    p.add_argument("--views", type=number(int, low=1), default=None, metavar="N",
                   help="score only the first N views (default: all)")
    p.add_argument("--lpips-weights", default=None, metavar="FILE",
                   help="torchvision AlexNet weights (default: torch.hub's cache, alexnet-owt-7be5be79.pth)")
    p.add_argument("--lpips-heads", default=None, metavar="FILE",
                   help="LPIPS v0.1 AlexNet heads (default: the lpips package's, pip install --no-deps lpips)")
    p.add_argument("--scene", default=None, metavar="DIR", help="scene folder, if it moved since training")
    add_device_argument(p)
    return p


def run(args) -> int:
    # torch and the model load in seconds: after argparse, so --help and bad flags answer at once
    from nerf.train.run import load_trained
    from nerf.device import pick_device
    from nerf.errors import InputError
    from nerf.files import check_writable
    from nerf.report.lpips import open_lpips
    from nerf.report.views import EVAL_FILE, eval_split, score_views

    out = Path(args.out) if args.out else Path(args.checkpoint).parent / EVAL_FILE
    check_writable(out)
    device = pick_device(args.device)
    lpips, note = open_lpips(args.lpips_weights, args.lpips_heads, device)  # a named bad file fails before loading
    trainer = load_trained(args.checkpoint, device, args.scene)
    split = args.split or eval_split(trainer)
    if split not in trainer.scene.splits or len(trainer.scene.split(split)) == 0:
        raise InputError(trainer.scene.root, f"the scene has no {split} views")
    scores = score_views(trainer, split, args.views, lpips, note)
    scores.write(out)
    summary = scores.to_json()["summary"]
    if scores.lpips_note.startswith("skipped"):
        print(f"{PROG}: LPIPS {scores.lpips_note}", file=sys.stderr)
    lpips_text = "" if summary["lpips"] is None else f", LPIPS {summary['lpips']:.4f}"
    worst = summary["worst_view"]
    print(f"{PROG}: {split} PSNR {summary['psnr']:.2f} dB, SSIM {summary['ssim']:.4f}{lpips_text} over "
          f"{summary['views']} views at step {scores.step}; worst view {worst['name']} ({worst['psnr']:.2f} dB); "
          f"per view in {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded_main(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
