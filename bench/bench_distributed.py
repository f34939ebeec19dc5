"""Data-parallel training (issue 27): the figures BENCHMARKS.md asks for, and the gradient reduce
against DDP on the hash table.

    python bench/bench_distributed.py runs [--steps 600] [--scene PATH]   # 2 ranks x 1 thread vs 1 x 2
    python bench/bench_distributed.py reduce [--nproc 2] [--steps 20] [--log2-table 19]  # reduce vs DDP

`runs`: nerf-train --nproc 2 --threads 1 and nerf-train --threads 2 on the same scene for the same steps,
one after the other; prints each run's rays/s, test PSNR and (for the ranks) the share of training time
spent in collectives, from metrics.json. `reduce`: N ranks (gloo on CPUs, NCCL with one GPU a rank)
each run a forward and backward of the hash field on random points, then either
nerf.distributed.gradients.GradientReducer or torch's DistributedDataParallel (whose hooks overlap
the reduce with the backward pass) makes the gradients global; prints ms per step and the bytes
reduced. Run either on a quiet machine and say in BENCHMARKS.md what else was running.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))  # this checkout's nerf, not an installed one (imported where needed, below)


def runs(args: argparse.Namespace) -> None:
    env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    scene = [args.scene] if args.scene else []
    with tempfile.TemporaryDirectory() as tmp:
        for label, extra in (("2 ranks x 1 thread", ["--nproc", "2", "--threads", "1"]),
                             ("1 process x 2 threads", ["--threads", "2"])):
            out = Path(tmp) / label.replace(" ", "_")
            subprocess.run([sys.executable, "-m", "nerf.commands.train", *scene, "--steps", str(args.steps),
                            "--video-frames", "0", "--out", str(out), *extra], env=env, check=True)
            m = json.loads((out / "metrics.json").read_text())
            share = f", {m['collective_share']:.1%} of training in collectives" if "collective_share" in m else ""
            print(f"{label}: {m['rays_per_second']:.0f} rays/s, test PSNR {m['test_psnr']:.2f} dB after "
                  f"{m['steps']} steps{share}")


def reduce_worker(args: argparse.Namespace) -> None:
    import torch
    from nerf.distributed.gradients import GradientReducer
    from nerf.distributed.group import join, leave
    from nerf.models.hash_field import HashField

    group = join("auto")
    torch.manual_seed(0)
    field = HashField(1.0, log2_table=args.log2_table).to(group.device)
    gen = torch.Generator(device=group.device).manual_seed(group.rank)
    points = torch.rand(args.points, 3, generator=gen, device=group.device) * 2 - 1
    dirs = torch.nn.functional.normalize(torch.randn(args.points, 3, generator=gen, device=group.device), dim=-1)

    def step(model) -> None:
        sigma, rgb = model(points, dirs)
        (sigma.mean() + rgb.mean()).backward()

    def timed(model, after) -> float:
        for _ in range(3):  # warm-up
            step(model)
            after()
        if group.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            for p in model.parameters():
                p.grad = None
            step(model)
            after()
        if group.device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t0) / args.steps * 1e3

    reducer = GradientReducer(list(field.parameters()))
    ours = timed(field, lambda: reducer.reduce([]))
    alone = timed(field, lambda: None)
    ddp = torch.nn.parallel.DistributedDataParallel(field)
    theirs = timed(ddp, lambda: None)
    if group.is_main:
        print(f"{group.world} ranks ({group.backend}), {reducer.bytes_per_step / 1e6:.1f} MB of gradients a step: "
              f"forward+backward alone {alone:.2f} ms, + GradientReducer {ours:.2f} ms, DDP {theirs:.2f} ms")
    leave()


def reduce(args: argparse.Namespace) -> None:
    from nerf.distributed.launch import rank_environments
    env_path = f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    argv = [sys.executable, __file__, "reduce-worker", "--steps", str(args.steps), "--points", str(args.points),
            "--log2-table", str(args.log2_table)]
    ranks = [subprocess.Popen(argv, env={**env, "PYTHONPATH": env_path}) for env in rank_environments(args.nproc)]
    codes = [r.wait() for r in ranks]
    if any(codes):
        sys.exit(f"bench_distributed: a rank failed ({codes})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("runs")
    r.add_argument("--steps", type=int, default=600)
    r.add_argument("--scene", default=None)
    for name in ("reduce", "reduce-worker"):
        q = sub.add_parser(name)
        q.add_argument("--nproc", type=int, default=2)
        q.add_argument("--steps", type=int, default=20)
        q.add_argument("--points", type=int, default=1 << 16)
        q.add_argument("--log2-table", type=int, default=19)
    args = p.parse_args()
    {"runs": runs, "reduce": reduce, "reduce-worker": reduce_worker}[args.what](args)


if __name__ == "__main__":
    main()
