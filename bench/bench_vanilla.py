"""Benchmark the original NeRF model (`--model nerf`) with the Trainer API: train for a wall-clock
budget on a scene, then evaluate on the test split. Prints one JSON line with rays/s, samples/ray,
peak memory and test PSNR (the numbers recorded in BENCHMARKS.md).

    python bench/bench_vanilla.py --minutes 10 --downscale 2
    python bench/bench_vanilla.py --minutes 3 --set model.coarse_samples=32 --set batch_rays=128
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import torch

from nerf.train.config import TrainConfig
from nerf.train.run import RunSpec, SceneOptions, open_run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scene", nargs="?", default=None, help="scene folder (default: the embedded scene)")
    p.add_argument("--minutes", type=float, default=10.0, help="training wall-clock budget")
    p.add_argument("--downscale", type=int, default=2)
    p.add_argument("--threads", type=int, default=2, help="torch threads (<= 2 on the shared machine)")
    p.add_argument("--eval-views", type=int, default=None,
                   help="test views to evaluate (default all; 0 skips evaluation)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a TrainConfig field (repeatable)")
    args = p.parse_args(argv)
    try:
        overrides = TrainConfig.parse_overrides(args.set, model="nerf")
    except ValueError as exc:
        p.error(f"--set {exc}")
    torch.set_num_threads(args.threads)
    run = open_run(RunSpec(SceneOptions(args.scene, args.downscale), model="nerf", device="cpu", overrides=overrides))
    trainer, config = run.trainer, run.trainer.config

    t0 = time.perf_counter()
    rays, samples, log = 0, 0.0, []
    while time.perf_counter() - t0 < args.minutes * 60:
        s = trainer.step()
        rays += s.rays
        samples += s.samples_per_ray * s.rays
        if s.step % 50 == 0:
            log.append((s.step, round(time.perf_counter() - t0, 1), round(s.psnr, 2)))
            print(f"step {s.step} t={log[-1][1]}s train psnr {s.psnr:.2f}", file=sys.stderr)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    ev = None  # --eval-views 0: throughput only
    if args.eval_views != 0:
        ev = trainer.evaluate("test", max_views=args.eval_views)
    result = {
        "scene": str(run.scene.root), "downscale": args.downscale, "threads": args.threads,
        "config": {k: v for k, v in config.to_dict().items() if k in
                   ("model", "lr", "batch_rays", "lr_decay_steps", "lr_decay", "lr_min_factor")},
        "steps": trainer.step_count, "train_s": round(train_s, 1),
        "rays_per_s": round(rays / train_s, 1), "samples_per_ray": round(samples / max(rays, 1), 1),
        "test_psnr": ev and round(ev.psnr, 2), "test_ssim": ev and round(ev.ssim, 3),
        "eval_views": ev.views if ev else 0,
        "eval_s": round(time.perf_counter() - t1, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "log": log,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
