"""Where a CUDA training step spends its time, and how long an 800x800 render takes.

    python bench/gpu_breakdown.py CHECKPOINT [--out FILE.json] [--steps 20]

Loads a trained ngp checkpoint (with its scene) and times, with a device synchronisation around
each phase, the phases of `NGPModel.render_rays` + `Trainer.step` on the checkpoint's adaptive
batch: ray sampling, marching in rounds with the field's forward pass (one phase: the rounds
interleave them), compositing + loss, backward, the optimizer step and the occupancy-grid update
(amortised over its 16-step period). The synchronisations make the phases sum to more than a real step, which has
fewer; the real step time is measured too. Then renders test views at several chunk sizes.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nerf.train.run import load_trained  # noqa: E402
from nerf.train.trainer import Trainer  # noqa: E402


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class Timer:
    """timer(name) as a context: adds the phase's synchronised wall time to total[name]."""

    def __init__(self):
        self.total = defaultdict(float)

    @contextmanager
    def __call__(self, name):
        sync()
        start = time.perf_counter()
        yield
        sync()
        self.total[name] += time.perf_counter() - start


def phased_step(trainer: Trainer, t: Timer) -> None:
    """One training step, phase by phase (mirrors Trainer.step + NGPModel.render_rays)."""
    m, field = trainer.model, trainer.model.field
    with t("sample rays"):
        rays_o, rays_d, target, bg = trainer.sample_batch(trainer.batch_rays)
    with m._autocast(rays_o.device):
        with t("march in rounds + field (fwd)"):
            samples, sigma, rgb = m.sampler().sample(
                m.grid, rays_o, rays_d, lambda pts, ray_idx: field(m._to_grid(pts), rays_d[ray_idx]),
                stratified=True, generator=trainer.generator, levels=None if m.unbounded else m._empty_levels())
    with t("compositing + loss (fwd)"):
        loss = torch.mean((m.composite(samples, sigma, rgb, bg).rgb - target) ** 2)
    with t("backward (all)"):
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
    with t("optimizer"):
        trainer.optimizer.step()
    with t("occupancy update (1/16)"):
        if trainer.step_count % 16 == 0:
            m.grid.update(trainer.step_count + 10_000, field.density, m.grid_generator)
    trainer.step_count += 1


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("--out", default=None)
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--device", default="cuda")
    p.add_argument("--chunks", default=f"{1 << 16},{1 << 18},0", help="render chunks to time (0: whole image)")
    args = p.parse_args()
    trainer = load_trained(args.checkpoint, args.device)
    trainer.progress = 1.0  # the final learning rate; timing does not depend on it
    result = {"batch_rays": trainer.batch_rays,
              "device": torch.cuda.get_device_name() if args.device == "cuda" else args.device}

    for _ in range(5):  # warm: allocator pools, cuBLAS
        trainer.step()
    sync()
    t0 = time.perf_counter()
    rays = samples = 0.0
    for _ in range(args.steps):
        stats = trainer.step()
        rays += stats.rays
        samples += stats.rays * stats.samples_per_ray
    sync()
    step_s = (time.perf_counter() - t0) / args.steps
    result.update(step_ms=step_s * 1e3, rays_per_step=rays / args.steps, samples_per_step=samples / args.steps,
                  samples_per_second=samples / args.steps / step_s, rays_per_second=rays / args.steps / step_s)

    timer = Timer()
    for _ in range(args.steps):
        phased_step(trainer, timer)
    result["phases_ms"] = {k: v / args.steps * 1e3 for k, v in timer.total.items()}
    result["phases_sum_ms"] = sum(result["phases_ms"].values())

    cams = trainer.scene.split("test").cameras
    renders = {}
    for chunk in [int(c) or cams.width * cams.height for c in args.chunks.split(",")]:
        try:
            trainer.render(cams, 0, chunk=chunk)  # warm
            times = []
            for i in range(5):
                sync()
                t0 = time.perf_counter()
                trainer.render(cams, i % len(cams.fx), chunk=chunk)
                sync()
                times.append(time.perf_counter() - t0)
            renders[str(chunk)] = sorted(times)[len(times) // 2] * 1e3
        except torch.cuda.OutOfMemoryError:
            renders[str(chunk)] = "out of memory"
            torch.cuda.empty_cache()
    result["render_800_ms_by_chunk"] = renders
    if args.device == "cuda":
        result["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2 ** 30
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
