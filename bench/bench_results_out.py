"""Results-out benchmarks (issue 17): a 5 s, 30 fps path at 256x256, and a mesh at 256^3.

    python bench/bench_results_out.py                       # trains the default scene first (nerf-train)
    python bench/bench_results_out.py --checkpoint CKPT     # or times an existing checkpoint
    python bench/bench_results_out.py --scene PATH --downscale 8 --minutes 5   # e.g. lego /8

Runs exactly `nerf-render CKPT --orbit R,H,5 --fps 30 --resolution 256x256 --out video.mp4` and
`nerf-export mesh CKPT --resolution 256 --out mesh.ply`, each in a fresh process, and prints one JSON
object with their wall-clock seconds. Run it on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(cmd: list[str]) -> float:
    print("$ " + " ".join(cmd[2:]), file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--scene", default=None, help="scene to train first (default: the embedded one)")
    p.add_argument("--downscale", type=int, default=1)
    p.add_argument("--minutes", type=float, default=3.0, help="training before the timings")
    p.add_argument("--orbit", default="4,1.5,5", help="R,H,S in the scene file's units (default scene: radius 4)")
    p.add_argument("--resolution", default="256x256")
    p.add_argument("--mesh-resolution", type=int, default=256)
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    py = [sys.executable, "-m"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        ckpt = args.checkpoint
        result = {}
        if ckpt is None:
            result["train_seconds"] = timed(py + ["nerf.commands.train"] + ([args.scene] if args.scene else []) + [
                "--downscale", str(args.downscale), "--minutes", str(args.minutes), "--out", str(out / "run"),
                "--video-frames", "0", "--eval-views", "1", "--device", args.device])
            ckpt = str(out / "run" / "checkpoint.pt")
        result["render_seconds"] = timed(py + ["nerf.commands.render", ckpt, "--orbit", args.orbit, "--fps", "30",
                                               "--resolution", args.resolution, "--out", str(out / "path.mp4"),
                                               "--device", args.device])
        result["frames"] = int(round(float(args.orbit.split(",")[2]) * 30))
        result["mesh_seconds"] = timed(py + ["nerf.commands.export", "mesh", ckpt, "--resolution",
                                             str(args.mesh_resolution), "--out", str(out / "mesh.ply"),
                                             "--device", args.device])
        result["mesh_bytes"] = (out / "mesh.ply").stat().st_size
    result.update(resolution=args.resolution, mesh_resolution=args.mesh_resolution)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
