"""nerf-process benchmark: camera recovery on the fox's photos, then (optionally) training the result
beside the dataset's own transforms.json.

    python bench/bench_process.py                           # nerf-process on the 67 fox photos
    python bench/bench_process.py --train-minutes 5         # + both trainings, --downscale 8
    python bench/bench_process.py --max-size 480 960        # compare feature sizes

Each nerf-process and nerf-train run is a fresh subprocess. Both trainings use the same test frames
when the processed transforms.json lists the photos in the dataset's order (both hold out every 8th
frame); the script checks that and says so. Run it on a quiet machine: the figures are wall-clock.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FOX = "/work/shared/datasets/instant_ngp_fox/fox"


def process(images: Path, out: Path, max_size: int) -> dict:
    cmd = [sys.executable, "-m", "nerf.commands.process", str(images), str(out), "--max-size", str(max_size)]
    print("$ nerf-process " + " ".join(cmd[3:]), file=sys.stderr, flush=True)
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"nerf-process failed ({run.returncode}): {run.stderr.strip().splitlines()[-1:]}")
    m = re.search(r"posed (\d+) of (\d+) frames, mean reprojection error ([\d.]+) px", run.stdout)
    stages = {s: float(t) for s, t in re.findall(r"^\r?(\w+)\s+\[#+\]\s+\S+\s+([\d.]+)s\s+done", run.stderr, re.M)}
    return {"max_size": max_size, "seconds": seconds, "posed": int(m.group(1)), "frames": int(m.group(2)),
            "reprojection_px": float(m.group(3)), "stages": stages}


def train(scene: Path, minutes: float, out: Path) -> dict:
    cmd = [sys.executable, "-m", "nerf.commands.train", str(scene), "--downscale", "8", "--minutes", str(minutes),
           "--out", str(out), "--video-frames", "0"]
    print("$ nerf-train " + " ".join(cmd[3:]), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)
    return json.loads((out / "metrics.json").read_text())


def test_names(transforms: Path) -> list[str]:
    frames = json.loads(transforms.read_text())["frames"]
    return [Path(f["file_path"]).name for f in frames][::8]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fox", default=FOX, help="the instant-ngp fox folder (images/ and transforms.json)")
    p.add_argument("--max-size", type=int, nargs="+", default=[480], help="nerf-process --max-size values")
    p.add_argument("--train-minutes", type=float, default=0.0, help="also train both scenes (0: skip)")
    p.add_argument("--out", default=None, help="keep outputs here (default: a temp dir)")
    args = p.parse_args(argv)
    fox = Path(args.fox)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        rows = [process(fox / "images", out / f"fox-processed-{s}", s) for s in args.max_size]
        print("| --max-size | posed | mean reprojection error | total s | per stage s |")
        print("|---|---|---|---|---|")
        for r in rows:
            stages = ", ".join(f"{k} {v:.0f}" for k, v in r["stages"].items())
            print(f"| {r['max_size']} | {r['posed']}/{r['frames']} | {r['reprojection_px']:.2f} px | "
                  f"{r['seconds']:.0f} | {stages} |")
        if args.train_minutes > 0:
            processed = out / f"fox-processed-{args.max_size[0]}"
            same = test_names(processed / "transforms.json") == test_names(fox / "transforms.json")
            print(f"\nsame test frames in both scenes: {'yes' if same else 'NO'}")
            for name, scene in (("dataset transforms.json", fox), ("nerf-process", processed)):
                m = train(scene, args.train_minutes, out / f"train-{scene.name}")
                print(f"| {name} | {m['test_psnr']:.2f} dB | {m['test_views']} views | {m['steps']} steps |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
