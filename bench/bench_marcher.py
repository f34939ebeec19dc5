"""The occupied-samples marcher against the engine before it (issue 18): the same nerf-train run with
each, one after the other, and the ratio of their rays/s.

    git worktree add /tmp/before COMMIT               # the engine before the marcher
    python bench/bench_marcher.py --before /tmp/before [--minutes 2] [--scene PATH --downscale 8]

Each run is `python -m nerf.commands.train ... --minutes M` in a fresh process with PYTHONPATH set to
that checkout; figures come from its metrics.json. Run it on a quiet machine: they are wall-clock
throughput, and say in BENCHMARKS.md what else was running.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def run(label: str, checkout: Path, args: argparse.Namespace, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "nerf.commands.train"] + ([args.scene] if args.scene else []) + [
        "--minutes", str(args.minutes), "--out", str(out / label), "--video-frames", "0"] + extra
    if args.downscale:
        cmd += ["--downscale", str(args.downscale)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    print(f"$ PYTHONPATH={checkout} " + " ".join(cmd[2:]), file=sys.stderr, flush=True)
    env = dict(os.environ, PYTHONPATH=str(checkout))
    subprocess.run(cmd, check=True, env=env, cwd=checkout)
    return json.loads((out / label / "metrics.json").read_text())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="a checkout of the engine before the marcher")
    p.add_argument("--minutes", type=float, default=2.0)
    p.add_argument("--scene", default=None, help="scene folder (default: the embedded scene)")
    p.add_argument("--downscale", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="nerf-train --threads (1 on a busy CPU)")
    p.add_argument("--out", default=None, help="keep run folders here (default: a temp dir)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        before = run("before", Path(args.before).resolve(), args, out, [])
        after = run("rounds", HERE, args, out, [])
    print("| engine | steps | rays/s | samples/ray | test PSNR | SSIM |")
    print("|---|---|---|---|---|---|")
    for label, m in (("before", before), ("rounds", after)):
        print(f"| {label} | {m['steps']} | {m['rays_per_second']:.0f} | {m['samples_per_ray']:.2f} | "
              f"{m['test_psnr']:.2f} | {m['test_ssim']:.3f} |")
    print(f"\nrays/s ratio {after['rays_per_second'] / before['rays_per_second']:.2f}x, "
          f"test PSNR {after['test_psnr'] - before['test_psnr']:+.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
