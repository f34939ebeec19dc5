"""Engine acceptance benchmarks: runs exactly the BENCHMARKS.md commands and prints one table.

    python bench/bench_engine.py                 # both targets (~3 + 5 minutes of training + eval)
    python bench/bench_engine.py --only default  # or --only lego
    python bench/bench_engine.py --lego PATH     # lego elsewhere than /work/shared/datasets/...

Each row is one `nerf-train ... --minutes M` run in a subprocess (a fresh process, so peak memory
is that run's); figures come from its metrics.json. Run it on a quiet machine: the figures are
wall-clock throughput.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

LEGO = "/work/shared/datasets/nerf_synthetic/lego"

# name -> (scene argument or None for the embedded scene, extra flags, minutes, target test PSNR)
RUNS = {
    "default": (None, [], 3.0, 28.0),
    "lego": (LEGO, ["--downscale", "8"], 5.0, 24.0),
}


def run(name: str, scene: str | None, flags: list[str], minutes: float, out: Path) -> dict:
    cmd = [sys.executable, "-m", "nerf.commands.train"] + ([scene] if scene else []) + flags + [
        "--model", "ngp", "--minutes", str(minutes), "--out", str(out / name), "--video-frames", "0"]
    print("$ " + " ".join(cmd[2:]).replace("nerf.commands.train", "nerf-train"), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)
    return json.loads((out / name / "metrics.json").read_text())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=sorted(RUNS), action="append")
    p.add_argument("--lego", default=LEGO, help="the nerf_synthetic lego folder")
    p.add_argument("--threads", type=int, default=None, help="passed to nerf-train --threads")
    p.add_argument("--out", default=None, help="keep run folders here (default: a temp dir)")
    args = p.parse_args(argv)
    names = args.only or list(RUNS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        for name in names:
            scene, flags, minutes, target = RUNS[name]
            if name == "lego":
                scene = args.lego
            extra = ["--threads", str(args.threads)] if args.threads else []
            m = run(name, scene, flags + extra, minutes, out)
            rows.append((name, minutes, target, m))
    print("| run | minutes | steps | test PSNR (target) | SSIM | views | rays/s | samples/ray | peak MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, minutes, target, m in rows:
        ok = "ok" if m["test_psnr"] >= target else "MISSED"
        print(f"| {name} ({m['image_size'][0]}x{m['image_size'][1]}) | {minutes:g} | {m['steps']} | "
              f"{m['test_psnr']:.2f} (>= {target:g}, {ok}) | {m['test_ssim']:.3f} | {m['test_views']} | "
              f"{m['rays_per_second']:.0f} | {m['samples_per_ray']:.1f} | {m['peak_memory_bytes'] / 2**20:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
