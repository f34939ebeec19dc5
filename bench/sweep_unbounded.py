"""Short unbounded-scene training runs with config overrides, for choosing defaults
(BENCHMARKS.md, "Unbounded CPU defaults").

    python bench/sweep_unbounded.py --set batch_rays=128 model.early_stop=0.01      # fox, 150 s
    python bench/sweep_unbounded.py --trace --seconds 300     # + occupancy and samples every 16 steps
    python bench/sweep_unbounded.py --marchers                # + a test view and 8 steps per marcher

Trains a `Trainer` in this process from the scene type's own CPU defaults (as nerf-train does),
`--set` overriding TrainConfig fields, for a wall-clock budget; then prints one JSON line: steps,
the mean train PSNR and samples per ray of the last 32 steps, the occupied fraction of the grid,
and the test PSNR on the first --eval-views views. Run one at a time on a quiet machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nerf.runtime.allocator import tune_malloc  # noqa: E402
from nerf.train.config import TrainConfig  # noqa: E402
from nerf.train.run import RunSpec, SceneOptions, open_run  # noqa: E402

FOX = "/work/shared/datasets/instant_ngp_fox/fox"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scene", nargs="?", default=FOX)
    p.add_argument("--downscale", type=int, default=8)
    p.add_argument("--seconds", type=float, default=150.0)
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    p.add_argument("--eval-views", type=int, default=3)
    p.add_argument("--trace", action="store_true", help="print the grid's state every 16 steps")
    args = p.parse_args(argv)
    try:
        overrides = TrainConfig.parse_overrides(args.set)
    except ValueError as exc:
        p.error(f"--set {exc}")
    tune_malloc()  # as nerf-train: without it every step page-faults its temporaries in again
    run = open_run(RunSpec(SceneOptions(args.scene, args.downscale), device="cpu", overrides=overrides))
    trainer, config = run.trainer, run.trainer.config
    t0, history = time.perf_counter(), []
    while time.perf_counter() - t0 < args.seconds:
        stats = trainer.step()
        history.append((stats.psnr, float(stats.samples_per_ray)))
        if args.trace and len(history) % 16 == 0:
            grid = trainer.model.grid
            print(f"step {len(history)}  {time.perf_counter() - t0:6.1f} s  occupied {grid.occupied_fraction():.3f}"
                  f"  samples/ray {history[-1][1]:5.1f}  mean stored {float(grid.density.mean()):.3g}",
                  file=sys.stderr, flush=True)
    last = history[-32:]
    result = dict(scene=args.scene, set=args.set, seconds=args.seconds, steps=len(history),
                  batch_rays=config.batch_rays, early_stop=config.model.early_stop,
                  train_psnr=round(sum(h[0] for h in last) / len(last), 2),
                  samples_per_ray=round(sum(h[1] for h in last) / len(last), 1),
                  occupied=round(trainer.model.grid.occupied_fraction(), 3))
    if args.eval_views > 0:
        result["test_psnr"] = round(trainer.evaluate("test", max_views=args.eval_views).psnr, 2)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
