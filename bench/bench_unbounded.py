"""Unbounded-scene benchmarks (BENCHMARKS.md, "Unbounded scenes"): one nerf-train run at a time.

    python bench/bench_unbounded.py                      # fox, fox without aabb_scale, outdoor (5 min each)
    python bench/bench_unbounded.py --only fox-bounded   # the fox as before: clipped to its aabb_scale cube
    python bench/bench_unbounded.py --only fox --minutes 2
    python bench/bench_unbounded.py --threads 1          # on a CPU shared with other work
    python bench/bench_unbounded.py --out runs/bench-unbounded   # keep the run folders (test renders)

Each row is one `nerf-train ... --minutes M` in a subprocess, figures from its metrics.json. The fox
runs twice: as shipped (instant-ngp's aabb_scale 4) and from a copy of its transforms.json without
aabb_scale, which is how nerfstudio writes every capture; "fox-bounded" is the engine's old
treatment of the fox (clipped to the aabb_scale cube), for a comparison under the same load.
"outdoor" is the generated unbounded capture (nerf.data.generated.unbounded). The "gain fit" column
is the test PSNR after fitting each view's colours to the ground truth with a per-channel gain and
offset: the most that per-image appearance codes (exposure, white balance) could add. Run it on a
quiet machine.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nerf.data.generated.unbounded import write_unbounded_scene  # noqa: E402
from scene_suite import without_aabb_scale  # noqa: E402  (bench/ is the script's folder, first on sys.path)

FOX = "/work/shared/datasets/instant_ngp_fox/fox"
# name -> (extra flags, target test PSNR or None)
RUNS = {
    "fox": (["--downscale", "8"], 26.0),
    "fox-no-aabb": (["--downscale", "8"], 26.0),
    "fox-bounded": (["--downscale", "8", "--scene-type", "bounded"], None),
    "outdoor": ([], None),
}
OUTDOOR = dict(n_frames=96, width=160, height=120)


def gain_fit_psnr(test_dir: Path) -> float:
    """Mean PSNR of the test renders (prediction | ground truth PNGs) after a per-channel affine fit."""
    psnrs = []
    for png in sorted(test_dir.glob("*.png")):
        both = np.asarray(Image.open(png), dtype=np.float64)[..., :3] / 255.0
        w = both.shape[1] // 2
        pred, gt = both[:, :w].reshape(-1, 3), both[:, w:].reshape(-1, 3)
        fitted = np.empty_like(pred)
        for c in range(3):
            a = np.stack([pred[:, c], np.ones(len(pred))], axis=1)
            coef, *_ = np.linalg.lstsq(a, gt[:, c], rcond=None)
            fitted[:, c] = np.clip(a @ coef, 0.0, 1.0)
        psnrs.append(-10.0 * np.log10(np.mean((fitted - gt) ** 2)))
    return float(np.mean(psnrs))


def run(name: str, scene: Path, flags: list[str], minutes: float, out: Path) -> dict:
    cmd = [sys.executable, "-m", "nerf.commands.train", str(scene)] + flags + [
        "--minutes", str(minutes), "--out", str(out / name), "--video-frames", "0"]
    print("$ " + " ".join(cmd[2:]).replace("nerf.commands.train", "nerf-train"), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)
    metrics = json.loads((out / name / "metrics.json").read_text())
    metrics["gain_fit_psnr"] = gain_fit_psnr(out / name / "test")
    return metrics


def table_row(name: str, target: float | None, minutes: float, m: dict) -> str:
    goal = "" if target is None else f" (>= {target:g}, {'ok' if m['test_psnr'] >= target else 'MISSED'})"
    cells = [f"{name} ({m['image_size'][0]}x{m['image_size'][1]})", f"{minutes:g}", str(m["steps"]),
             f"{m['test_psnr']:.2f}{goal}", f"{m['gain_fit_psnr']:.2f}", f"{m['test_ssim']:.3f}",
             str(m["test_views"]), f"{m['rays_per_second']:.0f}", f"{m['samples_per_ray']:.1f}"]
    return "| " + " | ".join(cells) + " |"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=sorted(RUNS), action="append")
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--fox", default=FOX, help="the instant-ngp fox folder")
    p.add_argument("--out", default=None, help="keep run folders here (default: a temp dir)")
    p.add_argument("--threads", type=int, default=None, help="passed to nerf-train --threads")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        scenes = {"fox": Path(args.fox), "fox-bounded": Path(args.fox)}
        for name in args.only or ["fox", "fox-no-aabb", "outdoor"]:
            if name == "fox-no-aabb":
                scenes[name] = without_aabb_scale(Path(args.fox), out / "fox-no-aabb-scene")
            elif name == "outdoor":
                scenes[name] = out / "outdoor-scene"
                if not (scenes[name] / "transforms.json").is_file():
                    write_unbounded_scene(scenes[name], **OUTDOOR)
            flags, target = RUNS[name]
            flags = flags + (["--threads", str(args.threads)] if args.threads else [])
            rows.append((name, target, run(name, scenes[name], flags, args.minutes, out)))
    print("| run | minutes | steps | test PSNR (target) | gain fit | SSIM | views | rays/s | samples/ray |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(table_row(name, target, args.minutes, m) for name, target, m in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
